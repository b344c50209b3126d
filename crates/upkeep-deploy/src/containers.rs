//! Deployment stages in containers (`executor: container`): a release's image is handed to
//! podman from upkeep's image store, and a stage runs in a container of exactly that image.
//!
//! podman gets the image from a throw-away OCI layout next to the store, whose blobs are hard
//! links to the store's (so nothing is copied), and names it by its image ID, the hex of the
//! config digest: what runs is recognisably the release's image, whatever tags say.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use upkeep_pipeline::container::{
    ContainerError, ContainerLimits, ContainerRun, find_podman, podman_host_environment, run_podman,
};
use upkeep_pipeline::project_file::ContainerSettings;

use crate::layout::{
    Descriptor, Digest, ImageStore, LayoutError, MEDIA_TYPE_MANIFEST, REF_NAME_ANNOTATION,
    ResolvedImage, to_canonical_json, unique_suffix,
};

/// The name of the one image in the throw-away layout podman pulls from.
const LOAD_REFERENCE: &str = "image";

#[derive(Debug, thiserror::Error)]
pub enum ContainerImageError {
    #[error(transparent)]
    Container(#[from] ContainerError),
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error("cannot hand image {digest} to podman: {source}")]
    Io { digest: Digest, source: io::Error },
    #[error("podman loaded image {digest} as {loaded}, not as its config digest {expected}")]
    WrongImage {
        digest: Digest,
        expected: String,
        loaded: String,
    },
}

impl upkeep_hint::Hint for ContainerImageError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Container(error) => error.hint(),
            Self::Layout(error) => error.hint(),
            Self::Io { .. } | Self::WrongImage { .. } => None,
        }
    }
}

/// podman, found once per deployment, with the environment's container settings.
#[derive(Debug, Clone)]
pub struct ContainerExecutor {
    pub podman: PathBuf,
    pub settings: ContainerSettings,
    /// What podman runs with ([`podman_host_environment`] unless the caller adds to it).
    pub podman_env: BTreeMap<String, String>,
    /// Images known to be in podman's storage: manifest digest -> image ID. A deployment runs
    /// in two images at most; asking podman once for each saves a call per stage.
    loaded: Arc<Mutex<BTreeMap<Digest, String>>>,
}

impl ContainerExecutor {
    /// Finds podman on the host's `PATH`; missing, it is an error naming the package.
    pub fn new(settings: &ContainerSettings) -> Result<Self, ContainerError> {
        Self::with_env(settings, podman_host_environment())
    }

    /// As [`ContainerExecutor::new`], with the environment podman runs with (tests add their
    /// own `CONTAINERS_CONF`).
    pub fn with_env(
        settings: &ContainerSettings,
        podman_env: BTreeMap<String, String>,
    ) -> Result<Self, ContainerError> {
        let podman = find_podman(podman_env.get("PATH").map(String::as_str))?;
        Ok(Self {
            podman,
            settings: settings.clone(),
            podman_env,
            loaded: Arc::default(),
        })
    }

    /// Makes the image with manifest `digest` available to podman and returns its image ID.
    pub fn load(&self, store: &ImageStore, digest: &Digest) -> Result<String, ContainerImageError> {
        if let Some(image_id) = self.loaded().get(digest) {
            return Ok(image_id.clone());
        }
        let image_id = self.load_into_podman(store, digest)?;
        self.loaded().insert(digest.clone(), image_id.clone());
        Ok(image_id)
    }

    fn loaded(&self) -> std::sync::MutexGuard<'_, BTreeMap<Digest, String>> {
        // A panic while holding it left a map that is still right.
        self.loaded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn load_into_podman(
        &self,
        store: &ImageStore,
        digest: &Digest,
    ) -> Result<String, ContainerImageError> {
        let image = store.resolve(&digest.to_string())?;
        let image_id = image.manifest.config.digest.hex().to_string();
        if self.podman_has(&image_id) {
            return Ok(image_id);
        }
        let suffix = unique_suffix();
        let dir = store.root().join(format!(".podman-load-{suffix}"));
        // podman names an image pulled from a layout after the layout's path, which must then
        // be a valid repository name (lowercase, no leading dots): the store's path need not
        // be, so podman is given a link to it from a path that is.
        let link = load_link_dir().join(format!("upkeep-load-{suffix}"));
        let loaded = write_single_image_layout(store, &image, &dir)
            .and_then(|()| std::os::unix::fs::symlink(&dir, &link))
            .map_err(|source| ContainerImageError::Io {
                digest: digest.clone(),
                source,
            })
            .and_then(|()| {
                let source = format!("oci:{}:{LOAD_REFERENCE}", link.display());
                Ok(run_podman(
                    &self.podman,
                    &self.podman_env,
                    &["pull", "--quiet", &source],
                    "pull",
                )?)
            });
        // The layout is only links; the store keeps the blobs.
        let _ = fs_err::remove_file(&link);
        let _ = fs_err::remove_dir_all(&dir);
        let loaded = loaded?;
        let loaded = loaded.trim().trim_start_matches("sha256:");
        if loaded != image_id {
            return Err(ContainerImageError::WrongImage {
                digest: digest.clone(),
                expected: image_id,
                loaded: loaded.to_string(),
            });
        }
        // A name that says what it is, instead of the link's path.
        let name = format!("localhost/upkeep/image:{}", &image_id[..12]);
        run_podman(
            &self.podman,
            &self.podman_env,
            &["tag", &image_id, &name],
            "tag",
        )?;
        let pulled_as = format!("localhost{}:latest", link.display());
        run_podman(
            &self.podman,
            &self.podman_env,
            &["untag", &image_id, &pulled_as],
            "untag",
        )?;
        Ok(image_id)
    }

    fn podman_has(&self, image_id: &str) -> bool {
        run_podman(
            &self.podman,
            &self.podman_env,
            &["image", "exists", image_id],
            "image exists",
        )
        .is_ok()
    }

    /// A container of `image_id` named `name`, working in `work_dir` (the image's
    /// `WorkingDir` when `None`).
    pub fn container(&self, image_id: &str, name: &str, work_dir: Option<String>) -> ContainerRun {
        ContainerRun {
            podman: self.podman.clone(),
            image: image_id.to_string(),
            name: name.to_string(),
            work_dir,
            network: self.settings.network.clone(),
            limits: ContainerLimits {
                memory: self.settings.memory.clone(),
                cpus: self.settings.cpus.clone(),
                pids: self.settings.pids,
            },
            stop_grace: self.settings.stop_grace,
            podman_env: self.podman_env.clone(),
        }
    }
}

/// A container name from parts chosen by upkeep (a run id, a stage): podman allows
/// `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn container_name(parts: &[&str]) -> String {
    let joined = parts.join("-");
    let cleaned: String = joined
        .chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() || matches!(character, '_' | '.' | '-') {
                character
            } else {
                '-'
            }
        })
        .collect();
    format!("upkeep-{cleaned}")
}

/// A directory whose path podman accepts as a repository name: the temporary directory when
/// it is one (lowercase letters, digits, `-`, `_`, `.` inside components), else `/tmp`.
fn load_link_dir() -> PathBuf {
    let temp = std::env::temp_dir();
    let valid = temp.to_str().is_some_and(|path| {
        path.split('/').filter(|part| !part.is_empty()).all(|part| {
            part.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
        })
    });
    if valid { temp } else { PathBuf::from("/tmp") }
}

/// An OCI layout in `dir` holding only `image`, its blobs hard-linked from the store (copied
/// where links are not possible).
fn write_single_image_layout(
    store: &ImageStore,
    image: &ResolvedImage,
    dir: &Path,
) -> io::Result<()> {
    let blobs = dir.join("blobs/sha256");
    fs_err::create_dir_all(&blobs)?;
    let digests = std::iter::once(&image.manifest_digest)
        .chain(std::iter::once(&image.manifest.config.digest))
        .chain(image.manifest.layers.iter().map(|layer| &layer.digest));
    for digest in digests {
        let from = store.blob_path(digest);
        let to = blobs.join(digest.hex());
        if to.exists() {
            continue;
        }
        if fs_err::hard_link(&from, &to).is_err() {
            fs_err::copy(&from, &to)?;
        }
    }
    let manifest_size = fs_err::metadata(store.blob_path(&image.manifest_digest))?.len();
    let mut descriptor = Descriptor::new(
        image
            .manifest
            .media_type
            .as_deref()
            .unwrap_or(MEDIA_TYPE_MANIFEST),
        image.manifest_digest.clone(),
        manifest_size,
    );
    descriptor
        .annotations
        .insert(REF_NAME_ANNOTATION.to_string(), LOAD_REFERENCE.to_string());
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [descriptor],
    });
    fs_err::write(dir.join("index.json"), to_canonical_json(&index))?;
    fs_err::write(dir.join("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_names_keep_only_what_podman_allows() {
        assert_eq!(
            container_name(&["run 12/a", "pre-deploy"]),
            "upkeep-run-12-a-pre-deploy"
        );
    }
}
