//! The project's non-PHP files that project rules read: Composer, deploy files, npm.
//! Each is read once; rules parse what they need from the text.

use std::path::Path;

use upkeep_php::source::LineIndex;

/// A small text file of the project, with its line index for locations.
#[derive(Debug)]
pub struct ManifestFile {
    /// Path relative to the project root.
    pub path: String,
    pub text: Vec<u8>,
    pub lines: LineIndex,
}

impl ManifestFile {
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.text).unwrap_or_default()
    }

    fn read(root: &Path, relative: &str) -> std::io::Result<Option<Self>> {
        match std::fs::read(root.join(relative)) {
            Ok(text) => Ok(Some(Self {
                path: relative.to_string(),
                lines: LineIndex::new(&text),
                text,
            })),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(std::io::Error::new(
                error.kind(),
                format!("cannot read {relative}: {error}"),
            )),
        }
    }
}

#[derive(Debug, Default)]
pub struct ProjectManifests {
    pub composer_json: Option<ManifestFile>,
    pub composer_lock: Option<ManifestFile>,
    /// `deploy*.yml` files at the root, sorted by name.
    pub deploy_files: Vec<ManifestFile>,
    pub package_json: Option<ManifestFile>,
    pub package_lock: Option<ManifestFile>,
}

impl ProjectManifests {
    pub fn read(root: &Path) -> std::io::Result<Self> {
        let mut deploy_names: Vec<String> = std::fs::read_dir(root)?
            .filter_map(Result::ok)
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| {
                name.starts_with("deploy") && (name.ends_with(".yml") || name.ends_with(".yaml"))
            })
            .collect();
        deploy_names.sort();
        let mut deploy_files = Vec::new();
        for name in deploy_names {
            deploy_files.extend(ManifestFile::read(root, &name)?);
        }
        Ok(Self {
            composer_json: ManifestFile::read(root, "composer.json")?,
            composer_lock: ManifestFile::read(root, "composer.lock")?,
            deploy_files,
            package_json: ManifestFile::read(root, "package.json")?,
            package_lock: ManifestFile::read(root, "package-lock.json")?,
        })
    }
}
