//! Which images an environment may deploy. A build only writes an image; it is **promoted** once
//! its quality gate allowed it under the environment's policy and, where the environment
//! requires it, its approval was given. Promotion tags the image `<environment>-latest` and
//! appends an entry to `<store>/upkeep-promotions/<environment>.json`, which a deployment
//! consults: an image that was never promoted for the environment is not deployed without
//! `--force`.
//!
//! ```
//! # use upkeep_deploy::promotion::{Promotions, latest_tag};
//! let dir = tempfile::tempdir()?;
//! let store = upkeep_deploy::layout::ImageStore::open_or_create(dir.path())?;
//! assert!(Promotions::of(&store, "staging").load()?.is_empty());
//! assert_eq!(latest_tag("staging"), "staging-latest");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::PathBuf;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::build::LABEL_ENVIRONMENT;
use crate::layout::{
    Descriptor, Digest, ImageStore, LayoutError, MEDIA_TYPE_MANIFEST, ResolvedImage,
    write_atomically,
};

/// Where promotions are kept, per environment, beside the OCI layout.
const PROMOTIONS_DIR: &str = "upkeep-promotions";

/// The tag that names the newest image promoted for `environment`.
pub fn latest_tag(environment: &str) -> String {
    format!("{environment}-latest")
}

/// The environment an image was built for (its deploy file's environment is in it), from its
/// label; `None` for an image built elsewhere.
pub fn built_for(image: &ResolvedImage) -> Option<&str> {
    image
        .config
        .config
        .labels
        .get(LABEL_ENVIRONMENT)
        .map(String::as_str)
}

/// One promotion: an image made deployable for an environment by a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promotion {
    /// `sha256:…` of the image's manifest.
    pub digest: String,
    /// The tag it was built as.
    pub reference: String,
    /// The run that promoted it.
    pub run_id: String,
    #[serde(with = "timestamp")]
    pub at: Timestamp,
    /// Why it may be deployed, in words: the gate's verdict and the approval.
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PromotionError {
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error("cannot read the promotions of `{environment}` in {}: {reason}", path.display())]
    Read {
        environment: String,
        path: PathBuf,
        reason: String,
    },
    #[error("cannot record the promotion in {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl upkeep_hint::Hint for PromotionError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Layout(error) => error.hint(),
            Self::Read { .. } => Some(
                "the file lists the images promoted for the environment; restore it, or promote again by running the pipeline".to_string(),
            ),
            Self::Write { .. } => None,
        }
    }
}

/// The promotions of one environment in an image store.
pub struct Promotions<'a> {
    store: &'a ImageStore,
    environment: &'a str,
}

impl<'a> Promotions<'a> {
    pub fn of(store: &'a ImageStore, environment: &'a str) -> Self {
        Self { store, environment }
    }

    fn path(&self) -> PathBuf {
        self.store
            .root()
            .join(PROMOTIONS_DIR)
            .join(format!("{}.json", self.environment))
    }

    /// Every promotion of the environment, oldest first.
    pub fn load(&self) -> Result<Vec<Promotion>, PromotionError> {
        let path = self.path();
        let bytes = match fs_err::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => {
                return Err(PromotionError::Read {
                    environment: self.environment.to_string(),
                    path,
                    reason: error.to_string(),
                });
            }
        };
        serde_json::from_slice(&bytes).map_err(|error| PromotionError::Read {
            environment: self.environment.to_string(),
            path,
            reason: error.to_string(),
        })
    }

    /// The promotion of the image with this manifest digest, when it was promoted.
    pub fn find(&self, digest: &Digest) -> Result<Option<Promotion>, PromotionError> {
        let digest = digest.to_string();
        Ok(self
            .load()?
            .into_iter()
            .rev()
            .find(|promotion| promotion.digest == digest))
    }

    /// Promotes an image: records why, then tags it `<environment>-latest`. The record comes
    /// first, so a tag never names an image without a promotion behind it.
    pub fn promote(
        &self,
        image: &ResolvedImage,
        promotion: Promotion,
    ) -> Result<(), PromotionError> {
        let path = self.path();
        let mut promotions = self.load()?;
        promotions.push(promotion);
        let write = || -> std::io::Result<()> {
            if let Some(parent) = path.parent() {
                fs_err::create_dir_all(parent)?;
            }
            let json = serde_json::to_vec_pretty(&promotions).map_err(std::io::Error::other)?;
            write_atomically(&path, &json)
        };
        write().map_err(|source| PromotionError::Write {
            path: path.clone(),
            source,
        })?;
        let size = fs_err::metadata(self.store.blob_path(&image.manifest_digest))
            .map_err(|source| PromotionError::Write {
                path: self.store.blob_path(&image.manifest_digest),
                source,
            })?
            .len();
        let descriptor = Descriptor::new(MEDIA_TYPE_MANIFEST, image.manifest_digest.clone(), size);
        self.store.tag(&latest_tag(self.environment), &descriptor)?;
        Ok(())
    }
}

mod timestamp {
    use jiff::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}
