//! Configuration of a gate run: Spryker's `tooling.yml` (compatible keys) and our own
//! `upkeep.toml`. Both are optional; an invalid file is an error that names the file, the
//! position and the key path.

pub mod tooling;
pub mod upkeep_toml;

use std::path::{Path, PathBuf};

pub use tooling::{IgnoreError, ToolingConfig};
pub use upkeep_toml::UpkeepConfig;

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ConfigError {
    pub file: PathBuf,
    pub message: String,
}

impl ConfigError {
    pub fn new(file: &Path, message: impl Into<String>) -> Self {
        Self {
            file: file.to_path_buf(),
            message: message.into(),
        }
    }
}

/// Both configuration files of a project, as found at its root.
#[derive(Debug, Default)]
pub struct ProjectConfig {
    pub tooling: ToolingConfig,
    pub upkeep: UpkeepConfig,
}

impl ProjectConfig {
    /// Reads `tooling.yml` and `upkeep.toml` from `root` (either may be missing);
    /// `config_file` replaces `root/upkeep.toml` when given.
    pub fn read(root: &Path, config_file: Option<&Path>) -> Result<Self, ConfigError> {
        let tooling_path = root.join("tooling.yml");
        let tooling = match read_optional(&tooling_path)? {
            Some(text) => ToolingConfig::parse(&text, &tooling_path)?,
            None => ToolingConfig::default(),
        };
        let upkeep_path = config_file.map_or_else(|| root.join("upkeep.toml"), Path::to_path_buf);
        let upkeep = match read_optional(&upkeep_path)? {
            Some(text) => UpkeepConfig::parse(&text, &upkeep_path)?,
            None if config_file.is_some() => {
                return Err(ConfigError::new(&upkeep_path, "file not found"));
            }
            None => UpkeepConfig::default(),
        };
        Ok(Self { tooling, upkeep })
    }
}

fn read_optional(path: &Path) -> Result<Option<String>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(ConfigError::new(path, format!("cannot read: {error}"))),
    }
}
