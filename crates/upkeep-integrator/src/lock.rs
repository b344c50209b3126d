//! `integrator.lock` at the project root: the version of each module whose manifests the
//! project has integrated (`{"Org.Module": "x.y.z"}`), and which manifests an update calls
//! for: every version `v` with `integrated < v <= installed`, ascending.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use upkeep_composer::Version;

use crate::manifest::{Manifest, ManifestSet, ModuleId};

/// The lock's file name at the project root.
pub const LOCK_FILE: &str = "integrator.lock";

/// The integrated version per module.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntegratorLock {
    /// Module -> version as written.
    pub modules: BTreeMap<ModuleId, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}:{column}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}: {message}", path.display())]
    BadEntry { path: PathBuf, message: String },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl upkeep_hint::Hint for LockError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Invalid { .. } | Self::BadEntry { .. } => Some(
                "integrator.lock is a JSON object of `\"Org.Module\": \"x.y.z\"`; fix it or delete it \
                 (then the locked versions count as integrated)"
                    .to_string(),
            ),
            Self::Read { .. } | Self::Write { .. } => None,
        }
    }
}

impl IntegratorLock {
    /// Reads `integrator.lock` under `root`; an absent file is an empty lock.
    pub fn read(root: &Path) -> Result<Self, LockError> {
        let path = root.join(LOCK_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self::default());
            }
            Err(source) => return Err(LockError::Read { path, source }),
        };
        Self::parse(&text, &path)
    }

    /// Parses the lock's text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, LockError> {
        let entries: BTreeMap<String, String> =
            serde_json::from_str(text).map_err(|error| LockError::Invalid {
                path: path.to_path_buf(),
                line: error.line(),
                column: error.column(),
                message: error.to_string(),
            })?;
        let mut modules = BTreeMap::new();
        for (key, version) in entries {
            let Some(module) = ModuleId::parse(&key) else {
                return Err(LockError::BadEntry {
                    path: path.to_path_buf(),
                    message: format!("`{key}` is not a module name of the form `Org.Module`"),
                });
            };
            if let Err(error) = Version::parse(&version) {
                return Err(LockError::BadEntry {
                    path: path.to_path_buf(),
                    message: format!("`{key}`: `{version}` is not a version ({})", error.reason()),
                });
            }
            modules.insert(module, version);
        }
        Ok(Self { modules })
    }

    /// The lock's text: sorted keys, two spaces, a final newline.
    pub fn render(&self) -> String {
        let map: serde_json::Map<String, serde_json::Value> = self
            .modules
            .iter()
            .map(|(module, version)| (module.to_string(), version.clone().into()))
            .collect();
        let mut text = serde_json::to_string_pretty(&map).unwrap_or_else(|_| "{}".to_string());
        text.push('\n');
        text
    }

    /// Writes `integrator.lock` under `root`.
    pub fn write(&self, root: &Path) -> Result<(), LockError> {
        let path = root.join(LOCK_FILE);
        fs_err::write(&path, self.render()).map_err(|source| LockError::Write { path, source })
    }

    pub fn integrated(&self, module: &ModuleId) -> Option<Version> {
        self.modules
            .get(module)
            .and_then(|version| Version::parse(version).ok())
    }
}

/// One module's update: from the version integrated before to the one installed now.
#[derive(Debug, Clone)]
pub struct ModuleUpdate {
    pub module: ModuleId,
    /// `None` when nothing was integrated (every manifest up to `installed` applies).
    pub integrated: Option<Version>,
    pub installed: Version,
}

/// The manifests `updates` call for: per update, every version `v` with
/// `integrated < v <= installed`, ascending; modules in the order given.
pub fn select<'m>(set: &'m ManifestSet, updates: &[ModuleUpdate]) -> Vec<&'m Manifest> {
    let mut selected = Vec::new();
    for update in updates {
        selected.extend(set.of(&update.module).iter().filter(|manifest| {
            update
                .integrated
                .as_ref()
                .is_none_or(|integrated| manifest.version > *integrated)
                && manifest.version <= update.installed
        }));
    }
    selected
}

/// The updates a project's lock calls for: each installed module (from `composer.lock`,
/// `package -> version`) that has manifests, from the version in `integrator.lock` (absent:
/// `previous`, the version locked before the update, when known) to the installed one.
pub fn updates_from_lock(
    lock: &IntegratorLock,
    installed: &BTreeMap<String, String>,
    previous: &BTreeMap<String, String>,
    set: &ManifestSet,
) -> Vec<ModuleUpdate> {
    let mut updates = Vec::new();
    for (package, version) in installed {
        let Some(module) = ModuleId::of_package(package) else {
            continue;
        };
        if set.of(&module).is_empty() {
            continue;
        }
        let Ok(installed) = Version::parse(version) else {
            continue;
        };
        let integrated = lock.integrated(&module).or_else(|| {
            previous
                .get(package)
                .and_then(|version| Version::parse(version).ok())
        });
        updates.push(ModuleUpdate {
            module,
            integrated,
            installed,
        });
    }
    updates
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Manifest;

    fn set_with(module: &ModuleId, versions: &[&str]) -> ManifestSet {
        let mut set = ManifestSet::default();
        let mut manifests: Vec<Manifest> = versions
            .iter()
            .map(|version| Manifest {
                module: module.clone(),
                version: Version::parse(version).unwrap(),
                path: PathBuf::from(format!("{module}/{version}")),
                steps: Vec::new(),
            })
            .collect();
        manifests.sort_by(|a, b| a.version.cmp(&b.version));
        set.modules.insert(module.clone(), manifests);
        set
    }

    #[test]
    fn selects_versions_above_integrated_up_to_installed_ascending() {
        let acl = ModuleId::new("Spryker", "Acl");
        let set = set_with(&acl, &["3.10.0", "3.2.0", "3.9.1", "4.0.0", "3.9.0"]);
        let versions = |integrated: Option<&str>, installed: &str| -> Vec<String> {
            select(
                &set,
                &[ModuleUpdate {
                    module: acl.clone(),
                    integrated: integrated.map(|v| Version::parse(v).unwrap()),
                    installed: Version::parse(installed).unwrap(),
                }],
            )
            .iter()
            .map(|manifest| manifest.version.pretty().to_string())
            .collect()
        };
        assert_eq!(versions(Some("3.9.0"), "3.10.0"), vec!["3.9.1", "3.10.0"]);
        assert_eq!(versions(None, "3.9.0"), vec!["3.2.0", "3.9.0"]);
        assert_eq!(versions(Some("4.0.0"), "4.0.0"), Vec::<String>::new());
        assert_eq!(versions(Some("3.10.0"), "3.9.1"), Vec::<String>::new());
    }

    #[test]
    fn the_lock_round_trips_and_falls_back_to_the_previous_version() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            IntegratorLock::read(dir.path()).unwrap(),
            IntegratorLock::default()
        );
        let mut lock = IntegratorLock::default();
        lock.modules
            .insert(ModuleId::new("SprykerShop", "CheckoutPage"), "3.1.0".into());
        lock.modules
            .insert(ModuleId::new("Spryker", "Acl"), "3.9.0".into());
        lock.write(dir.path()).unwrap();
        assert_eq!(
            fs_err::read_to_string(dir.path().join(LOCK_FILE)).unwrap(),
            "{\n  \"Spryker.Acl\": \"3.9.0\",\n  \"SprykerShop.CheckoutPage\": \"3.1.0\"\n}\n"
        );
        assert_eq!(IntegratorLock::read(dir.path()).unwrap(), lock);

        let acl = ModuleId::new("Spryker", "Acl");
        let product = ModuleId::new("Spryker", "Product");
        let mut set = set_with(&acl, &["3.10.0"]);
        set.modules.extend(set_with(&product, &["6.1.0"]).modules);
        let installed = BTreeMap::from([
            ("spryker/acl".to_string(), "3.10.0".to_string()),
            ("spryker/product".to_string(), "6.1.0".to_string()),
            ("spryker/kernel".to_string(), "3.1.0".to_string()),
        ]);
        let previous = BTreeMap::from([("spryker/product".to_string(), "6.0.0".to_string())]);
        let updates = updates_from_lock(&lock, &installed, &previous, &set);
        let summary: Vec<(String, Option<String>)> = updates
            .iter()
            .map(|update| {
                (
                    update.module.to_string(),
                    update.integrated.as_ref().map(|v| v.pretty().to_string()),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("Spryker.Acl".to_string(), Some("3.9.0".to_string())),
                ("Spryker.Product".to_string(), Some("6.0.0".to_string())),
            ]
        );
    }

    #[test]
    fn a_malformed_lock_names_the_problem() {
        let error =
            IntegratorLock::parse("{\"Acl\": \"1.0\"}", Path::new("integrator.lock")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "integrator.lock: `Acl` is not a module name of the form `Org.Module`"
        );
        let error =
            IntegratorLock::parse("{\"A.B\": 1}", Path::new("integrator.lock")).unwrap_err();
        assert!(
            error.to_string().starts_with("integrator.lock:1:"),
            "{error}"
        );
    }
}
