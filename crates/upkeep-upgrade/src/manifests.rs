//! The integration manifests an upgrade applies, read from where `--manifests` or
//! `[upgrade] manifests` points (a directory, or an archive's path or URL), fetched with the
//! Composer metadata's cache directory, offline mode and credentials.

use std::path::Path;

use upkeep_composer::repository::{AuthConfig, DownloadOptions, RepositoryOptions};
use upkeep_integrator::manifest::ManifestSet;
use upkeep_integrator::source::{ManifestSource, Origin, SourceError, load};

/// How a manifests archive is fetched for the project at `project`: into the metadata's cache,
/// offline when the metadata is, with the credentials Composer would send (`auth.json`,
/// `COMPOSER_AUTH`, the `config` of composer.json). Credentials that cannot be read are logged
/// and left out.
pub fn download_options(
    project: &Path,
    repositories: &RepositoryOptions,
    log: &mut dyn FnMut(&str),
) -> DownloadOptions {
    let auth = repositories.auth.clone().unwrap_or_else(|| {
        let composer_json =
            upkeep_composer::ComposerJson::from_path(&project.join("composer.json"))
                .map(|manifest| manifest.raw)
                .unwrap_or_default();
        AuthConfig::from_environment(project, &composer_json).unwrap_or_else(|error| {
            log(&format!(
                "warning: the manifests archive is fetched without credentials: {error}"
            ));
            AuthConfig::default()
        })
    });
    DownloadOptions {
        cache_dir: repositories.cache_dir.clone(),
        auth,
        offline: repositories.offline,
        timeout: repositories.timeout,
        ..DownloadOptions::default()
    }
}

/// The manifests of `source`, with a line for where an archive came from and every warning
/// (the cached copy used while the server cannot be reached, manifests that do not read) sent
/// to `log`.
pub fn load_manifests(
    source: &ManifestSource,
    project: &Path,
    repositories: &RepositoryOptions,
    log: &mut dyn FnMut(&str),
) -> Result<ManifestSet, SourceError> {
    let options = download_options(project, repositories, log);
    let loaded = load(source, &options)?;
    let fetched = match loaded.origin {
        Origin::Directory | Origin::Archive | Origin::Stale => None,
        Origin::Downloaded => Some("downloaded"),
        Origin::NotModified => Some("not modified, the cached copy is used"),
        Origin::Cached => Some("offline, the cached copy is used"),
    };
    if let Some(fetched) = fetched {
        log(&format!("manifests: {source}: {fetched}"));
    }
    for warning in &loaded.warnings {
        log(&format!("warning: {warning}"));
    }
    for warning in &loaded.set.warnings {
        log(&format!("warning: {warning}"));
    }
    Ok(loaded.set)
}
