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
            Some(text) => {
                let upkeep = UpkeepConfig::parse(&text, &upkeep_path)?;
                check_rule_names(&upkeep, &text, &upkeep_path)?;
                upkeep
            }
            None if config_file.is_some() => {
                return Err(ConfigError::new(&upkeep_path, "file not found"));
            }
            None => UpkeepConfig::default(),
        };
        Ok(Self { tooling, upkeep })
    }
}

/// Every rule name of `upkeep.toml` (`rules`, `exclude-rules`, `[gate.severity]` keys) must
/// name a rule or category; an unknown one is reported with the file, its line and key path.
fn check_rule_names(config: &UpkeepConfig, text: &str, path: &Path) -> Result<(), ConfigError> {
    let gate = &config.gate;
    let lists = [
        ("gate.rules", gate.rules.as_deref().unwrap_or_default()),
        ("gate.exclude-rules", gate.exclude_rules.as_slice()),
    ];
    let listed = lists.into_iter().flat_map(|(key, ids)| {
        ids.iter()
            .enumerate()
            .map(move |(index, id)| (format!("{key}[{index}]"), id, false))
    });
    let severity = gate
        .severity
        .keys()
        .map(|id| (format!("gate.severity.{id}"), id, true));
    for (key_path, id, is_key) in listed.chain(severity) {
        if let Err(unknown) = crate::registry::expand(std::slice::from_ref(id)) {
            let line = line_of(text, id, is_key)
                .map(|line| format!("line {line}, "))
                .unwrap_or_default();
            return Err(ConfigError::new(
                path,
                format!("{line}key `{key_path}`: {unknown}"),
            ));
        }
    }
    Ok(())
}

/// The 1-based line where `id` is written: as a quoted string, or as a key (`id =`).
fn line_of(text: &str, id: &str, is_key: bool) -> Option<usize> {
    let quoted = [format!("\"{id}\""), format!("'{id}'")];
    text.lines()
        .position(|line| {
            let trimmed = line.trim_start();
            quoted.iter().any(|quoted| {
                if is_key {
                    trimmed.starts_with(quoted.as_str())
                } else {
                    line.contains(quoted.as_str())
                }
            }) || (is_key
                && trimmed
                    .strip_prefix(id)
                    .is_some_and(|rest| rest.trim_start().starts_with('=')))
        })
        .map(|index| index + 1)
}

fn read_optional(path: &Path) -> Result<Option<String>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(ConfigError::new(path, format!("cannot read: {error}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(toml: &str) -> String {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("upkeep.toml"), toml).unwrap();
        ProjectConfig::read(root.path(), None)
            .expect_err("unknown rule")
            .to_string()
            .replace(&root.path().display().to_string(), "<root>")
    }

    /// Reproducer `upkeep-toml/unknown-rule-unnamed-file`: the error named neither the file nor
    /// the line nor the key.
    #[test]
    fn an_unknown_rule_names_the_file_line_and_key() {
        assert_eq!(
            error_of("[gate]\nexclude-rules = [\"npm-advisorx\"]\n"),
            "<root>/upkeep.toml: line 2, key `gate.exclude-rules[0]`: unknown rule `npm-advisorx` \
             (did you mean `npm-advisory`?)"
        );
        assert_eq!(
            error_of("[gate]\nrules = [\n  \"packages\",\n  \"php-versio\",\n]\n"),
            "<root>/upkeep.toml: line 4, key `gate.rules[1]`: unknown rule `php-versio` \
             (did you mean `php-version`?)"
        );
        assert_eq!(
            error_of(
                "[gate]\n\n[gate.severity]\nphp-version = \"warning\"\nphp-vrsion = \"error\"\n"
            ),
            "<root>/upkeep.toml: line 5, key `gate.severity.php-vrsion`: unknown rule `php-vrsion` \
             (did you mean `php-version`?)"
        );
    }

    /// A 2 MB rule name took 10 s in the did-you-mean search (`registry::closest_name` now
    /// skips names too far off in length; the speed itself is not asserted here, only that
    /// the name is reported without a suggestion).
    #[test]
    fn a_huge_unknown_rule_name_is_reported_without_a_suggestion() {
        let name = "x".repeat(2 * 1024 * 1024);
        let error = error_of(&format!("[gate]\nexclude-rules = [\"{name}\"]\n"));
        assert!(!error.contains("did you mean"));
        assert!(error.starts_with(
            "<root>/upkeep.toml: line 2, key `gate.exclude-rules[0]`: unknown rule `xxx"
        ));
        assert!(!error.contains("did you mean"));
    }
}
