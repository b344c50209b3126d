//! What the gate is given about a project rather than finding out itself: the deploy files,
//! read with their imports by the pipeline's reader (the one deploy-file reader), reduced to the
//! facts the gate checks. The gate cannot read them itself: it does not depend on the pipeline.

use std::path::Path;

use upkeep_gate::inputs::{DeployFileFacts, DeployFileProblem, DeployImage, SourcePosition};
use upkeep_pipeline::deploy_file::{DeployFile, DeployFileError};

/// The facts of every deploy file at the project root (`deploy*.yml`); `None` when the root
/// cannot be listed (the gate reports that with its own message).
pub fn deploy_files(root: &Path) -> Option<Vec<DeployFileFacts>> {
    upkeep_gate::inputs::deploy_file_names(root)
        .ok()
        .map(|names| deploy_file_facts(root, &names))
}

/// Reads each deploy file with its imports (`DeployFile::load`, the reader the pipeline uses)
/// and keeps what the gate checks: the image and where it is defined.
pub fn deploy_file_facts(root: &Path, names: &[String]) -> Vec<DeployFileFacts> {
    names
        .iter()
        .map(|name| DeployFileFacts {
            file: name.clone(),
            image: match DeployFile::load(&root.join(name), root) {
                Ok(deploy) => Ok(deploy_image(&deploy, root)),
                Err(error) => Err(deploy_problem(&error, root, name)),
            },
        })
        .collect()
}

/// `image` as a string, else `image.tag`, with the file and line that defined it.
fn deploy_image(deploy: &DeployFile, root: &Path) -> Option<DeployImage> {
    let image = deploy
        .sourced_value(&["image"])
        .or_else(|| deploy.sourced_value(&["image", "tag"]))?;
    Some(DeployImage {
        reference: image.value,
        defined_at: project_position(
            root,
            &image.origin.file,
            image.origin.line,
            image.origin.column,
        ),
    })
}

fn deploy_problem(error: &DeployFileError, root: &Path, name: &str) -> DeployFileProblem {
    let at = |file: &Path, line: usize, column: usize| {
        (line > 0).then(|| project_position(root, file, line, column))
    };
    match error {
        DeployFileError::Invalid(invalid) => DeployFileProblem {
            at: at(&invalid.file, invalid.line, invalid.column),
            message: if invalid.key_path.is_empty() {
                invalid.message.clone()
            } else {
                format!("at `{}`: {}", invalid.key_path, invalid.message)
            },
        },
        DeployFileError::MissingImport {
            requested_at,
            template,
            searched,
        } => DeployFileProblem {
            at: at(&requested_at.file, requested_at.line, requested_at.column),
            message: format!(
                "imported file `{template}` not found; looked for {}",
                searched
                    .iter()
                    .map(|path| relative_to(root, path))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
        DeployFileError::Read(_) | DeployFileError::ImportCycle { .. } => DeployFileProblem {
            at: None,
            message: format!("cannot read {name}: {error}"),
        },
    }
}

fn project_position(root: &Path, file: &Path, line: usize, column: usize) -> SourcePosition {
    SourcePosition {
        file: relative_to(root, file),
        line,
        column,
    }
}

/// `file` relative to the project root, with `/` separators (as findings name files).
fn relative_to(root: &Path, file: &Path) -> String {
    file.strip_prefix(root)
        .unwrap_or(file)
        .to_string_lossy()
        .replace('\\', "/")
}
