//! `upkeep-integrator` applies Spryker's integration manifests to a project, byte-exactly: the
//! code changes a module version asks for (plugins wired into or removed from the project's
//! dependency providers, module configuration, glossary keys, environment configuration)
//! touch only the edited spans of a file, follow its indentation and line endings, add `use`
//! imports in the file's order, and must leave every PHP file parsable. Applying a manifest
//! twice changes nothing.
//!
//! ```no_run
//! use std::path::Path;
//! use upkeep_integrator::{apply, lock, manifest, project::Workspace};
//!
//! let set = manifest::read_dir(Path::new("integrator-manifests"))?;
//! let mut workspace = Workspace::new(Path::new("path/to/shop"));
//! let updates = [lock::ModuleUpdate {
//!     module: manifest::ModuleId::new("Spryker", "Acl"),
//!     integrated: None,
//!     installed: upkeep_composer::Version::parse("3.20.0").unwrap(),
//! }];
//! let reports = apply::apply_manifests(&mut workspace, &lock::select(&set, &updates));
//! print!("{}", String::from_utf8_lossy(&upkeep_integrator::diff(&workspace.changes())));
//! # Ok::<(), manifest::ReadError>(())
//! ```

pub mod apply;
pub mod configure;
pub mod files;
pub mod integrate;
pub mod lock;
pub mod manifest;
pub mod php;
pub mod project;
pub mod source;
pub mod stack;
pub mod values;
pub mod xml;

use std::path::Path;

use project::FileChange;

/// A unified diff of `changes` that `git apply` takes (new files from `/dev/null`).
pub fn diff(changes: &[FileChange]) -> Vec<u8> {
    let mut out = Vec::new();
    for change in changes {
        let before = change.before.as_deref().unwrap_or_default();
        let body = upkeep_gate::fix::unified_diff(
            &change.path,
            before.as_bytes(),
            change.after.as_bytes(),
        );
        if change.before.is_none() {
            // The shared renderer names both sides `a/` and `b/`; a new file comes from nowhere.
            let header = format!("--- a/{0}\n+++ b/{0}\n", change.path);
            let hunks = body.strip_prefix(header.as_bytes()).unwrap_or(&body);
            out.extend_from_slice(
                format!(
                    "diff --git a/{0} b/{0}\nnew file mode 100644\n--- /dev/null\n+++ b/{0}\n",
                    change.path
                )
                .as_bytes(),
            );
            out.extend_from_slice(hunks);
        } else {
            out.extend_from_slice(format!("diff --git a/{0} b/{0}\n", change.path).as_bytes());
            out.extend_from_slice(&body);
        }
    }
    out
}

/// Writes `changes` under `root`, creating directories for new files.
pub fn write(root: &Path, changes: &[FileChange]) -> std::io::Result<()> {
    for change in changes {
        let path = root.join(&change.path);
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent)?;
        }
        fs_err::write(&path, &change.after)?;
    }
    Ok(())
}
