//! Where `upkeep remote` keeps the server and the API token it logged in with:
//! `$XDG_CONFIG_HOME/upkeep/remote.toml` (else `~/.config/upkeep/remote.toml`), readable by its
//! owner only. `UPKEEP_SERVER` and `UPKEEP_TOKEN` override it, for CI jobs that keep no file.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use fs_err::os::unix::fs::OpenOptionsExt as _;
use serde::{Deserialize, Serialize};

use super::RemoteError;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteConfig {
    pub server: String,
    pub token: String,
}

/// The configuration file's path.
pub fn path() -> Result<PathBuf, RemoteError> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))
        .ok_or(RemoteError::NoConfigHome)?;
    Ok(base.join("upkeep").join("remote.toml"))
}

/// The server and token to use: the file, with the environment's overrides.
pub fn load() -> Result<RemoteConfig, RemoteError> {
    let from_env = |name| std::env::var(name).ok().filter(|value| !value.is_empty());
    let (server, token) = (from_env("UPKEEP_SERVER"), from_env("UPKEEP_TOKEN"));
    if let (Some(server), Some(token)) = (&server, &token) {
        return Ok(RemoteConfig {
            server: server.clone(),
            token: token.clone(),
        });
    }
    let path = path()?;
    let text = match fs_err::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(RemoteError::NotLoggedIn);
        }
        Err(error) => return Err(RemoteError::Config(error.to_string())),
    };
    let file: RemoteConfig = toml::from_str(&text)
        .map_err(|error| RemoteError::Config(format!("{}: {error}", path.display())))?;
    Ok(RemoteConfig {
        server: server.unwrap_or(file.server),
        token: token.unwrap_or(file.token),
    })
}

/// Writes the file with mode 0600 (its directory 0700), replacing it atomically: no moment
/// where another user could read the token, and no half-written file.
pub fn save(config: &RemoteConfig) -> Result<PathBuf, RemoteError> {
    let path = path()?;
    let failed = |error: std::io::Error| RemoteError::Config(error.to_string());
    let dir = path.parent().unwrap_or(Path::new("."));
    fs_err::create_dir_all(dir).map_err(failed)?;
    fs_err::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(failed)?;
    let text = toml::to_string(config).map_err(|error| RemoteError::Config(error.to_string()))?;
    let temporary = dir.join(".remote.toml.tmp");
    let _ = fs_err::remove_file(&temporary);
    let mut file = fs_err::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)
        .map_err(failed)?;
    file.write_all(text.as_bytes()).map_err(failed)?;
    file.sync_all().map_err(failed)?;
    fs_err::rename(&temporary, &path).map_err(failed)?;
    Ok(path)
}
