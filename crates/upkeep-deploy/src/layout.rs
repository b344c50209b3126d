//! A local OCI image layout store: the directory format of the OCI image-spec
//! (`image-layout.md`) that `skopeo`, `podman` and `buildah` read and write too.
//!
//! ```text
//! store/
//!   oci-layout          {"imageLayoutVersion":"1.0.0"}
//!   index.json          the tagged manifests (annotation `org.opencontainers.image.ref.name`)
//!   blobs/sha256/<hex>  content-addressed blobs: layers, configs, manifests
//! ```
//!
//! Blobs are written to a temporary file and renamed into place, so a reader never sees half a
//! blob, and writing the same content twice is a no-op. `index.json` is rewritten the same way,
//! under a lock file, so two processes tagging at once do not lose each other's tags.
//!
//! ```no_run
//! # fn main() -> Result<(), upkeep_deploy::layout::LayoutError> {
//! use upkeep_deploy::layout::ImageStore;
//! let store = ImageStore::open_or_create("/var/lib/upkeep/images")?;
//! let image = store.resolve("my-shop:4f2a9c1")?;
//! println!("{} has {} layers", image.manifest_digest, image.manifest.layers.len());
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest as _, Sha256};

/// Media type of an OCI image manifest.
pub const MEDIA_TYPE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Media type of an OCI image index (a list of manifests, e.g. one per platform).
pub const MEDIA_TYPE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Media type of an OCI image config.
pub const MEDIA_TYPE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// Media type of a gzip-compressed OCI layer.
pub const MEDIA_TYPE_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// Docker's name for a gzip-compressed layer; base images pulled by Docker tools use it.
pub const MEDIA_TYPE_DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// The annotation that names a manifest in `index.json`.
pub const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";

const LAYOUT_FILE: &str = "oci-layout";
const LAYOUT_VERSION: &str = "1.0.0";
const INDEX_FILE: &str = "index.json";
const LOCK_FILE: &str = "index.json.lock";

/// Something wrong with the image store or an image in it.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    /// File system errors; `fs-err` puts the path into the message.
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error("{path}: {source}", path = path.display())]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(
        "{path} is not an OCI image layout: {reason}",
        path = path.display()
    )]
    NotALayout { path: PathBuf, reason: String },
    #[error(transparent)]
    InvalidDigest(#[from] DigestError),
    #[error(
        "blob {digest} is missing from the image store {store}",
        store = store.display()
    )]
    MissingBlob { store: PathBuf, digest: Digest },
    #[error(
        "blob {expected} in {store} has content with digest {actual}: the store is damaged",
        store = store.display()
    )]
    DigestMismatch {
        store: PathBuf,
        expected: Digest,
        actual: Digest,
    },
    #[error(
        "unknown image `{reference}` in {store}; available tags: {available}",
        store = store.display(),
        available = if available.is_empty() { "none".to_string() } else { available.join(", ") }
    )]
    UnknownImage {
        store: PathBuf,
        reference: String,
        available: Vec<String>,
    },
    #[error("`{reference}` is not a valid image tag: {reason}")]
    InvalidTag {
        reference: String,
        reason: &'static str,
    },
    #[error("image index {digest} has no manifest for linux/{architecture}")]
    NoMatchingPlatform {
        digest: Digest,
        architecture: String,
    },
}

impl upkeep_hint::Hint for LayoutError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::NotALayout { .. } => {
                Some("point the image store at an empty or new directory".to_string())
            }
            Self::DigestMismatch { .. } => {
                Some("delete the blob file and build or pull the image again".to_string())
            }
            Self::UnknownImage { .. } => Some(
                "build the image first, or pass one of these tags or a sha256:<digest>".to_string(),
            ),
            Self::InvalidTag { .. } => Some(
                "use letters, digits and `.-_:+@/`, starting and ending with a letter or digit"
                    .to_string(),
            ),
            Self::NoMatchingPlatform { .. } => Some("pull the image for this platform".to_string()),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Digest

/// A content digest, `sha256:<64 lowercase hex>`: the only algorithm we write, and the one every
/// registry accepts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest {
    hex: String,
}

/// A string that is not a `sha256:<64 hex>` digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a digest: {reason} (expected sha256:<64 lowercase hex digits>)")]
pub struct DigestError {
    pub value: String,
    pub reason: &'static str,
}

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self::from_hasher(Sha256::new_with_prefix(bytes))
    }

    pub(crate) fn from_hasher(hasher: Sha256) -> Self {
        Self {
            hex: to_hex(&hasher.finalize()),
        }
    }

    /// The 64 hex digits, without `sha256:`.
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// The first 12 hex digits, as `docker images` shows them.
    pub fn short(&self) -> &str {
        &self.hex[..12]
    }
}

fn to_hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    let mut hex = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let error = |reason| DigestError {
            value: value.to_string(),
            reason,
        };
        let hex = value
            .strip_prefix("sha256:")
            .ok_or_else(|| error("it does not start with `sha256:`"))?;
        if hex.len() != 64 {
            return Err(error("it does not have 64 hex digits"));
        }
        // Upper case would name a different blob file, so it is rejected rather than folded.
        if !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(error("it has characters other than 0-9 and a-f"));
        }
        Ok(Self {
            hex: hex.to_string(),
        })
    }
}

impl TryFrom<String> for Digest {
    type Error = DigestError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Digest> for String {
    fn from(digest: Digest) -> Self {
        digest.to_string()
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex)
    }
}

// ---------------------------------------------------------------------------------------------
// OCI documents. Field order is the serialization order, which keeps our JSON canonical: the
// same image always serializes to the same bytes, hence the same digest.

/// A reference to a blob: what it is, its digest and size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType")]
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Fields we do not interpret (`platform`, `urls`, ...), kept so that rewriting
    /// `index.json` does not drop what other tools wrote.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

impl Descriptor {
    pub fn new(media_type: &str, digest: Digest, size: u64) -> Self {
        Self {
            media_type: media_type.to_string(),
            digest,
            size,
            annotations: BTreeMap::new(),
            other: BTreeMap::new(),
        }
    }

    /// The tag of an `index.json` entry.
    pub fn ref_name(&self) -> Option<&str> {
        self.annotations
            .get(REF_NAME_ANNOTATION)
            .map(String::as_str)
    }
}

/// `index.json`, and also the blob of a multi-platform image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageIndex {
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Default for ImageIndex {
    fn default() -> Self {
        Self {
            schema_version: 2,
            media_type: Some(MEDIA_TYPE_INDEX.to_string()),
            manifests: Vec::new(),
            annotations: BTreeMap::new(),
        }
    }
}

/// An image manifest: the config and the layers, bottom first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageManifest {
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An image config: platform, run-time defaults, and the digests of the uncompressed layers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub config: ContainerConfig,
    pub rootfs: RootFs,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub history: Vec<HistoryEntry>,
}

/// The `config` object of an image config: what a container of the image starts with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContainerConfig {
    #[serde(rename = "User", default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// `NAME=value` entries, in order.
    #[serde(
        rename = "Env",
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub env: Vec<String>,
    #[serde(
        rename = "Entrypoint",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub entrypoint: Option<Vec<String>>,
    #[serde(rename = "Cmd", default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(
        rename = "WorkingDir",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub working_dir: Option<String>,
    #[serde(
        rename = "Labels",
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: BTreeMap<String, String>,
    /// `ExposedPorts`, `Volumes`, `StopSignal`, ...: carried over from a base image untouched.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RootFs {
    /// Always `layers`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Digests of the uncompressed layer tars, bottom first.
    pub diff_ids: Vec<Digest>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
}

/// Docker writes `null` for empty lists and maps; read it as empty.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// An image found in the store, with its manifest and config read and verified.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedImage {
    pub manifest_digest: Digest,
    pub manifest: ImageManifest,
    pub config: ImageConfig,
}

/// A tagged entry of `index.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct TaggedImage {
    pub name: String,
    pub manifest: Descriptor,
}

// ---------------------------------------------------------------------------------------------
// The store

/// An OCI image layout directory.
#[derive(Debug, Clone)]
pub struct ImageStore {
    root: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct LayoutMarker {
    #[serde(rename = "imageLayoutVersion")]
    image_layout_version: String,
}

impl ImageStore {
    /// Opens the layout in `dir`, creating it when `dir` is missing or empty. A non-empty
    /// directory without `oci-layout` is refused rather than written into.
    pub fn open_or_create(dir: impl AsRef<Path>) -> Result<Self, LayoutError> {
        let root = dir.as_ref().to_path_buf();
        let store = Self { root };
        let marker_path = store.root.join(LAYOUT_FILE);
        match fs_err::read(&marker_path) {
            Ok(bytes) => {
                let marker: LayoutMarker = parse_json(&marker_path, &bytes)?;
                if marker.image_layout_version != LAYOUT_VERSION {
                    return Err(LayoutError::NotALayout {
                        path: store.root,
                        reason: format!(
                            "unsupported imageLayoutVersion {}",
                            marker.image_layout_version
                        ),
                    });
                }
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                if store.root.is_dir() && fs_err::read_dir(&store.root)?.next().is_some() {
                    return Err(LayoutError::NotALayout {
                        path: store.root,
                        reason: "it is not empty and has no `oci-layout` file".to_string(),
                    });
                }
                fs_err::create_dir_all(&store.root)?;
                let marker = LayoutMarker {
                    image_layout_version: LAYOUT_VERSION.to_string(),
                };
                write_atomically(&marker_path, &to_canonical_json(&marker))?;
            }
            Err(error) => return Err(error.into()),
        }
        fs_err::create_dir_all(store.blob_dir())?;
        if !store.root.join(INDEX_FILE).exists() {
            // Under the lock: another process may be creating the store and tagging already.
            let _lock = store.lock()?;
            if !store.root.join(INDEX_FILE).exists() {
                store.write_index(&ImageIndex::default())?;
            }
        }
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn blob_dir(&self) -> PathBuf {
        self.root.join("blobs").join("sha256")
    }

    /// Where the blob with `digest` lives (whether or not it exists).
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.blob_dir().join(digest.hex())
    }

    pub fn has_blob(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    /// Stores `bytes` and returns their digest; storing the same bytes again changes nothing.
    pub fn put_blob(&self, bytes: &[u8]) -> Result<Digest, LayoutError> {
        let mut writer = self.blob_writer()?;
        writer.write_all(bytes)?;
        Ok(writer.finish()?.0)
    }

    /// Serializes `value` canonically, stores it, and returns its descriptor.
    pub fn put_json<T: Serialize>(
        &self,
        value: &T,
        media_type: &str,
    ) -> Result<Descriptor, LayoutError> {
        let bytes = to_canonical_json(value);
        let digest = self.put_blob(&bytes)?;
        Ok(Descriptor::new(media_type, digest, bytes.len() as u64))
    }

    /// A writer for a blob too large to hold in memory (a layer); its digest is known when
    /// [`BlobWriter::finish`] puts it into place.
    pub fn blob_writer(&self) -> Result<BlobWriter, LayoutError> {
        let dir = self.blob_dir();
        let temp_path = dir.join(format!(".tmp-{}", unique_suffix()));
        let file = fs_err::File::create(&temp_path)?;
        Ok(BlobWriter {
            dir,
            temp_path: Some(temp_path),
            file: Some(io::BufWriter::new(file)),
            hasher: Sha256::new(),
            size: 0,
        })
    }

    /// The whole blob, checked against its digest.
    pub fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>, LayoutError> {
        let mut reader = self.open_blob(digest)?;
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes)?;
        reader.finish()?;
        Ok(bytes)
    }

    /// A reader of the blob that hashes what passes through; [`BlobReader::finish`] checks
    /// the digest.
    pub fn open_blob(&self, digest: &Digest) -> Result<BlobReader, LayoutError> {
        let path = self.blob_path(digest);
        let file = match fs_err::File::open(&path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Err(LayoutError::MissingBlob {
                    store: self.root.clone(),
                    digest: digest.clone(),
                });
            }
            Err(error) => return Err(error.into()),
        };
        Ok(BlobReader {
            store: self.root.clone(),
            expected: digest.clone(),
            file: BufReader::new(file),
            hasher: Sha256::new(),
        })
    }

    fn read_json_blob<T: serde::de::DeserializeOwned>(
        &self,
        digest: &Digest,
    ) -> Result<T, LayoutError> {
        let bytes = self.read_blob(digest)?;
        parse_json(&self.blob_path(digest), &bytes)
    }

    /// Names the manifest `manifest` as `reference` in `index.json`, replacing what carried
    /// that name before.
    pub fn tag(&self, reference: &str, manifest: &Descriptor) -> Result<(), LayoutError> {
        validate_tag(reference)?;
        if !self.has_blob(&manifest.digest) {
            return Err(LayoutError::MissingBlob {
                store: self.root.clone(),
                digest: manifest.digest.clone(),
            });
        }
        let _lock = self.lock()?;
        let mut index = self.read_index()?;
        index
            .manifests
            .retain(|entry| entry.ref_name() != Some(reference));
        let mut entry = manifest.clone();
        entry
            .annotations
            .insert(REF_NAME_ANNOTATION.to_string(), reference.to_string());
        index.manifests.push(entry);
        self.write_index(&index)
    }

    /// The tagged images, in `index.json` order.
    pub fn list(&self) -> Result<Vec<TaggedImage>, LayoutError> {
        Ok(self
            .read_index()?
            .manifests
            .into_iter()
            .filter_map(|manifest| {
                let name = manifest.ref_name()?.to_string();
                Some(TaggedImage { name, manifest })
            })
            .collect())
    }

    /// Finds an image by tag or by `sha256:` manifest digest, and reads its manifest and
    /// config. A multi-platform index resolves to its `linux/<this machine>` manifest.
    pub fn resolve(&self, reference: &str) -> Result<ResolvedImage, LayoutError> {
        let digest = if reference.starts_with("sha256:") {
            let digest: Digest = reference.parse()?;
            if !self.has_blob(&digest) {
                return Err(self.unknown_image(reference)?);
            }
            digest
        } else {
            let tagged = self.list()?;
            match tagged
                .into_iter()
                .rev()
                .find(|image| image.name == reference)
            {
                Some(image) => image.manifest.digest,
                None => return Err(self.unknown_image(reference)?),
            }
        };
        self.resolve_digest(digest, 0)
    }

    /// Copies the image `reference` of `source`, another OCI layout (the one `buildah` wrote),
    /// into this store: its config and layers, then its manifest, each checked against its
    /// digest on the way, so this store never holds a manifest whose blobs it lacks. Blobs the
    /// store has are not copied again. Returns the manifest's descriptor; the caller tags it.
    pub fn import(&self, source: &ImageStore, reference: &str) -> Result<Descriptor, LayoutError> {
        let image = source.resolve(reference)?;
        let blobs = std::iter::once(&image.manifest.config).chain(&image.manifest.layers);
        for descriptor in blobs {
            self.copy_blob_from(source, &descriptor.digest)?;
        }
        self.copy_blob_from(source, &image.manifest_digest)?;
        let size = fs_err::metadata(self.blob_path(&image.manifest_digest))?.len();
        let media_type = image
            .manifest
            .media_type
            .as_deref()
            .unwrap_or(MEDIA_TYPE_MANIFEST);
        Ok(Descriptor::new(media_type, image.manifest_digest, size))
    }

    fn copy_blob_from(&self, source: &ImageStore, digest: &Digest) -> Result<(), LayoutError> {
        if self.has_blob(digest) {
            return Ok(());
        }
        let mut reader = source.open_blob(digest)?;
        let mut writer = self.blob_writer()?;
        io::copy(&mut reader, &mut writer)?;
        // Checked before the copy is moved into place; a mismatch drops (removes) it.
        reader.finish()?;
        writer.finish()?;
        Ok(())
    }

    fn resolve_digest(&self, digest: Digest, depth: u8) -> Result<ResolvedImage, LayoutError> {
        let bytes = self.read_blob(&digest)?;
        let path = self.blob_path(&digest);
        let value: serde_json::Value = parse_json(&path, &bytes)?;
        // An index of an index is legal but unheard of; one level of nesting is enough.
        if value.get("manifests").is_some() && depth < 2 {
            let index: ImageIndex = parse_json(&path, &bytes)?;
            let architecture = oci_architecture();
            let chosen = index.manifests.into_iter().find(|entry| {
                let platform = entry.other.get("platform");
                let field = |name| {
                    platform
                        .and_then(|platform| platform.get(name))
                        .and_then(serde_json::Value::as_str)
                };
                field("os") == Some("linux") && field("architecture") == Some(architecture)
            });
            return match chosen {
                Some(entry) => self.resolve_digest(entry.digest, depth + 1),
                None => Err(LayoutError::NoMatchingPlatform {
                    digest,
                    architecture: architecture.to_string(),
                }),
            };
        }
        let manifest: ImageManifest = parse_json(&path, &bytes)?;
        let config: ImageConfig = self.read_json_blob(&manifest.config.digest)?;
        Ok(ResolvedImage {
            manifest_digest: digest,
            manifest,
            config,
        })
    }

    fn unknown_image(&self, reference: &str) -> Result<LayoutError, LayoutError> {
        Ok(LayoutError::UnknownImage {
            store: self.root.clone(),
            reference: reference.to_string(),
            available: self.list()?.into_iter().map(|image| image.name).collect(),
        })
    }

    fn read_index(&self) -> Result<ImageIndex, LayoutError> {
        let path = self.root.join(INDEX_FILE);
        let bytes = fs_err::read(&path)?;
        parse_json(&path, &bytes)
    }

    fn write_index(&self, index: &ImageIndex) -> Result<(), LayoutError> {
        write_atomically(&self.root.join(INDEX_FILE), &to_canonical_json(index))?;
        Ok(())
    }

    /// Held around every read-modify-write of `index.json`; released when dropped.
    fn lock(&self) -> Result<fs_err::File, LayoutError> {
        Ok(lock_file(&self.root.join(LOCK_FILE))?)
    }
}

/// Tags follow the OCI `ref.name` grammar loosely; a tag must not look like a digest, or
/// `resolve` could not tell them apart.
fn validate_tag(reference: &str) -> Result<(), LayoutError> {
    let invalid = |reason| LayoutError::InvalidTag {
        reference: reference.to_string(),
        reason,
    };
    let alphanumeric = |c: char| c.is_ascii_alphanumeric();
    if reference.is_empty() {
        return Err(invalid("it is empty"));
    }
    if reference.starts_with("sha256:") {
        return Err(invalid("it looks like a digest"));
    }
    if !reference
        .chars()
        .all(|c| alphanumeric(c) || ".-_:+@/".contains(c))
    {
        return Err(invalid("it contains a character that is not allowed"));
    }
    if !reference.starts_with(alphanumeric) || !reference.ends_with(alphanumeric) {
        return Err(invalid("it must start and end with a letter or digit"));
    }
    Ok(())
}

/// The OCI name of this machine's architecture (Go's `GOARCH` names).
pub fn oci_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        "loongarch64" => "loong64",
        other => other,
    }
}

/// Compact JSON in struct field order (maps are `BTreeMap`s): stable bytes, stable digests.
pub(crate) fn to_canonical_json<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing our own plain structs to a Vec cannot fail: no non-string map keys, no IO.
    serde_json::to_vec(value).unwrap_or_default()
}

fn parse_json<T: serde::de::DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<T, LayoutError> {
    serde_json::from_slice(bytes).map_err(|source| LayoutError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// `<pid>-<n>`: unique among the threads of this process and among processes.
pub(crate) fn unique_suffix() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Opens (creating) the lock file at `path` and waits for its exclusive lock, which lasts until
/// the returned file is dropped; it works between processes, not only threads.
pub(crate) fn lock_file(path: &Path) -> io::Result<fs_err::File> {
    let file = fs_err::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    file.lock()?;
    Ok(file)
}

/// Writes `bytes` to a temporary file beside `path` and renames it over `path`, so readers see
/// the old content or the new, never a mix.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let file_name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp_path = path.with_file_name(format!(".{file_name}.tmp-{}", unique_suffix()));
    let result = (|| {
        let mut file = fs_err::File::create(&temp_path)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs_err::rename(&temp_path, path)
    })();
    if result.is_err() {
        let _ = fs_err::remove_file(&temp_path);
    }
    result
}

// ---------------------------------------------------------------------------------------------
// Streaming blob IO

/// Writes a blob to a temporary file while hashing it; dropped without `finish`, it removes
/// the temporary file.
pub struct BlobWriter {
    dir: PathBuf,
    temp_path: Option<PathBuf>,
    file: Option<io::BufWriter<fs_err::File>>,
    hasher: Sha256,
    size: u64,
}

impl BlobWriter {
    /// Moves the blob into place and returns its digest and size. When the store has the blob
    /// already, the copy is discarded.
    pub fn finish(mut self) -> io::Result<(Digest, u64)> {
        let temp_path = self.temp_path.take().unwrap_or_default();
        let result = (|| {
            if let Some(file) = self.file.take() {
                let file = file.into_inner().map_err(io::IntoInnerError::into_error)?;
                file.sync_all()?;
            }
            let digest = Digest::from_hasher(std::mem::take(&mut self.hasher));
            let final_path = self.dir.join(digest.hex());
            if final_path.is_file() {
                fs_err::remove_file(&temp_path)?;
            } else {
                fs_err::rename(&temp_path, &final_path)?;
            }
            Ok((digest, self.size))
        })();
        if result.is_err() {
            let _ = fs_err::remove_file(&temp_path);
        }
        result
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("blob writer already finished"))?;
        let written = file.write(buf)?;
        self.hasher.update(&buf[..written]);
        self.size += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().map_or(Ok(()), Write::flush)
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if let Some(temp_path) = self.temp_path.take() {
            self.file.take();
            let _ = fs_err::remove_file(temp_path);
        }
    }
}

/// Reads a blob while hashing it.
pub struct BlobReader {
    store: PathBuf,
    expected: Digest,
    file: BufReader<fs_err::File>,
    hasher: Sha256,
}

impl BlobReader {
    /// Reads what is left and checks the digest of the whole blob.
    pub fn finish(mut self) -> Result<(), LayoutError> {
        io::copy(&mut self, &mut io::sink())?;
        let actual = Digest::from_hasher(self.hasher);
        if actual == self.expected {
            Ok(())
        } else {
            Err(LayoutError::DigestMismatch {
                store: self.store,
                expected: self.expected,
                actual,
            })
        }
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.file.read(buf)?;
        self.hasher.update(&buf[..read]);
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn store() -> (tempfile::TempDir, ImageStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = ImageStore::open_or_create(dir.path().join("images")).unwrap();
        (dir, store)
    }

    /// A minimal image: an empty config and no layers.
    fn put_image(store: &ImageStore, architecture: &str) -> Descriptor {
        let config = ImageConfig {
            created: None,
            architecture: architecture.to_string(),
            os: "linux".to_string(),
            variant: None,
            config: ContainerConfig::default(),
            rootfs: RootFs {
                kind: "layers".to_string(),
                diff_ids: Vec::new(),
            },
            history: Vec::new(),
        };
        let config = store.put_json(&config, MEDIA_TYPE_CONFIG).unwrap();
        let manifest = ImageManifest {
            schema_version: 2,
            media_type: Some(MEDIA_TYPE_MANIFEST.to_string()),
            config,
            layers: Vec::new(),
            annotations: BTreeMap::new(),
        };
        store.put_json(&manifest, MEDIA_TYPE_MANIFEST).unwrap()
    }

    #[test]
    fn digest_parses_and_displays() {
        let text = format!("sha256:{EMPTY_SHA256}");
        let digest: Digest = text.parse().unwrap();
        assert_eq!(digest, Digest::of(b""));
        assert_eq!(digest.to_string(), text);
        assert_eq!(digest.hex(), EMPTY_SHA256);
        assert_eq!(digest.short(), "e3b0c44298fc");
        assert_eq!(
            serde_json::to_string(&digest).unwrap(),
            format!("\"{text}\"")
        );
    }

    #[test]
    fn digest_rejects_malformed_values() {
        let reason = |value: &str| value.parse::<Digest>().unwrap_err().reason;
        assert_eq!(reason(EMPTY_SHA256), "it does not start with `sha256:`");
        assert_eq!(reason("sha256:abc"), "it does not have 64 hex digits");
        assert_eq!(
            reason(&format!("sha256:{}", EMPTY_SHA256.to_uppercase())),
            "it has characters other than 0-9 and a-f"
        );
        assert!(serde_json::from_str::<Digest>("\"sha512:00\"").is_err());
    }

    #[test]
    fn creates_the_layout_files() {
        let (_dir, store) = store();
        assert_eq!(
            fs_err::read_to_string(store.root().join("oci-layout")).unwrap(),
            r#"{"imageLayoutVersion":"1.0.0"}"#
        );
        assert_eq!(
            fs_err::read_to_string(store.root().join("index.json")).unwrap(),
            r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#
        );
        assert!(store.root().join("blobs/sha256").is_dir());
        // Opening again keeps what is there.
        let digest = store.put_blob(b"kept").unwrap();
        let again = ImageStore::open_or_create(store.root()).unwrap();
        assert_eq!(again.read_blob(&digest).unwrap(), b"kept");
    }

    #[test]
    fn refuses_a_non_empty_directory_that_is_not_a_layout() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(dir.path().join("notes.txt"), "mine").unwrap();
        let error = ImageStore::open_or_create(dir.path()).unwrap_err();
        assert!(matches!(error, LayoutError::NotALayout { .. }), "{error}");
        assert!(
            error.to_string().contains("has no `oci-layout` file"),
            "{error}"
        );
    }

    #[test]
    fn put_blob_is_content_addressed_and_idempotent() {
        let (_dir, store) = store();
        let first = store.put_blob(b"hello").unwrap();
        let second = store.put_blob(b"hello").unwrap();
        assert_eq!(first, second);
        assert_eq!(
            first.to_string(),
            "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(fs_err::read(store.blob_path(&first)).unwrap(), b"hello");
        // No temporary files are left behind.
        let names: Vec<String> = fs_err::read_dir(store.root().join("blobs/sha256"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec![first.hex().to_string()]);
    }

    #[test]
    fn read_blob_detects_damage() {
        let (_dir, store) = store();
        let digest = store.put_blob(b"original").unwrap();
        fs_err::write(store.blob_path(&digest), b"tampered").unwrap();
        let error = store.read_blob(&digest).unwrap_err();
        match error {
            LayoutError::DigestMismatch {
                expected, actual, ..
            } => {
                assert_eq!(expected, digest);
                assert_eq!(actual, Digest::of(b"tampered"));
            }
            other => panic!("unexpected error: {other}"),
        }
    }

    #[test]
    fn read_blob_reports_a_missing_blob() {
        let (_dir, store) = store();
        let error = store.read_blob(&Digest::of(b"absent")).unwrap_err();
        assert!(matches!(error, LayoutError::MissingBlob { .. }), "{error}");
    }

    #[test]
    fn tag_and_resolve_by_name_and_digest() {
        let (_dir, store) = store();
        let manifest = put_image(&store, oci_architecture());
        store.tag("my-shop:abc123", &manifest).unwrap();

        let by_name = store.resolve("my-shop:abc123").unwrap();
        assert_eq!(by_name.manifest_digest, manifest.digest);
        assert_eq!(by_name.config.os, "linux");
        let by_digest = store.resolve(&manifest.digest.to_string()).unwrap();
        assert_eq!(by_digest, by_name);

        let listed = store.list().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].name, "my-shop:abc123");
        assert_eq!(listed[0].manifest.digest, manifest.digest);
    }

    #[test]
    fn import_copies_an_image_of_another_layout_and_refuses_damaged_blobs() {
        let (_source_dir, source) = store();
        let layer = source.put_blob(b"a layer").unwrap();
        let bare = put_image(&source, oci_architecture());
        let mut manifest: ImageManifest = source.read_json_blob(&bare.digest).unwrap();
        manifest
            .layers
            .push(Descriptor::new(MEDIA_TYPE_LAYER_GZIP, layer.clone(), 7));
        let manifest = source.put_json(&manifest, MEDIA_TYPE_MANIFEST).unwrap();
        source.tag("built", &manifest).unwrap();

        let (_other_dir, other) = store();
        let (_dir, target) = store();
        let imported = target.import(&source, "built").unwrap();
        assert_eq!(imported, manifest);
        target.tag("staging-abc", &imported).unwrap();
        let resolved = target.resolve("staging-abc").unwrap();
        assert_eq!(resolved.manifest.layers[0].digest, layer);
        assert_eq!(target.read_blob(&layer).unwrap(), b"a layer");
        // Importing again copies nothing and gives the same descriptor.
        assert_eq!(target.import(&source, "built").unwrap(), manifest);

        fs_err::write(source.blob_path(&layer), b"tampered").unwrap();
        let error = other.import(&source, "built").unwrap_err();
        assert!(
            matches!(error, LayoutError::DigestMismatch { .. }),
            "{error}"
        );
        assert!(!other.has_blob(&layer) && !other.has_blob(&manifest.digest));
    }

    #[test]
    fn retagging_replaces_the_older_entry() {
        let (_dir, store) = store();
        let old = put_image(&store, "amd64");
        let new = put_image(&store, "arm64");
        store.tag("latest", &old).unwrap();
        store.tag("stable", &old).unwrap();
        store.tag("latest", &new).unwrap();
        let listed: Vec<(String, Digest)> = store
            .list()
            .unwrap()
            .into_iter()
            .map(|image| (image.name, image.manifest.digest))
            .collect();
        assert_eq!(
            listed,
            vec![
                ("stable".to_string(), old.digest.clone()),
                ("latest".to_string(), new.digest.clone())
            ]
        );
    }

    #[test]
    fn unknown_reference_lists_the_available_tags() {
        let (_dir, store) = store();
        let manifest = put_image(&store, "amd64");
        store.tag("one", &manifest).unwrap();
        store.tag("two", &manifest).unwrap();
        let error = store.resolve("three").unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with("unknown image `three` in "),
            "{message}"
        );
        assert!(message.ends_with("available tags: one, two"), "{message}");
        assert!(
            upkeep_hint::Hint::hint(&error)
                .is_some_and(|hint| hint.starts_with("build the image first"))
        );

        let unknown_digest = Digest::of(b"nothing").to_string();
        let error = store.resolve(&unknown_digest).unwrap_err();
        assert!(matches!(error, LayoutError::UnknownImage { .. }), "{error}");
    }

    #[test]
    fn invalid_tags_are_refused() {
        let (_dir, store) = store();
        let manifest = put_image(&store, "amd64");
        for (tag, reason) in [
            ("", "it is empty"),
            ("has space", "it contains a character that is not allowed"),
            ("-dash", "it must start and end with a letter or digit"),
            ("sha256:0000", "it looks like a digest"),
        ] {
            match store.tag(tag, &manifest).unwrap_err() {
                LayoutError::InvalidTag { reason: actual, .. } => assert_eq!(actual, reason),
                other => panic!("unexpected error for {tag:?}: {other}"),
            }
        }
    }

    #[test]
    fn tagging_a_missing_manifest_is_refused() {
        let (_dir, store) = store();
        let descriptor = Descriptor::new(MEDIA_TYPE_MANIFEST, Digest::of(b"none"), 4);
        let error = store.tag("ghost", &descriptor).unwrap_err();
        assert!(matches!(error, LayoutError::MissingBlob { .. }), "{error}");
        assert!(store.list().unwrap().is_empty());
    }

    #[test]
    fn concurrent_tagging_keeps_every_tag() {
        let (_dir, store) = store();
        let manifest = put_image(&store, "amd64");
        std::thread::scope(|scope| {
            for thread in 0..4 {
                let store = store.clone();
                let manifest = manifest.clone();
                scope.spawn(move || {
                    for n in 0..10 {
                        store.tag(&format!("t{thread}-{n}"), &manifest).unwrap();
                    }
                });
            }
        });
        assert_eq!(store.list().unwrap().len(), 40);
    }

    #[test]
    fn resolve_picks_this_platform_from_an_index() {
        let (_dir, store) = store();
        let ours = put_image(&store, oci_architecture());
        let theirs = put_image(&store, "s390x-elsewhere");
        let with_platform = |descriptor: &Descriptor, architecture: &str| {
            let mut descriptor = descriptor.clone();
            descriptor.other.insert(
                "platform".to_string(),
                serde_json::json!({"architecture": architecture, "os": "linux"}),
            );
            descriptor
        };
        let index = ImageIndex {
            manifests: vec![
                with_platform(&theirs, "s390x-elsewhere"),
                with_platform(&ours, oci_architecture()),
            ],
            ..ImageIndex::default()
        };
        let index = store.put_json(&index, MEDIA_TYPE_INDEX).unwrap();
        store.tag("multi", &index).unwrap();
        let resolved = store.resolve("multi").unwrap();
        assert_eq!(resolved.manifest_digest, ours.digest);

        let only_theirs = ImageIndex {
            manifests: vec![with_platform(&theirs, "s390x-elsewhere")],
            ..ImageIndex::default()
        };
        let only_theirs = store.put_json(&only_theirs, MEDIA_TYPE_INDEX).unwrap();
        let error = store.resolve(&only_theirs.digest.to_string()).unwrap_err();
        assert!(
            matches!(error, LayoutError::NoMatchingPlatform { .. }),
            "{error}"
        );
    }

    #[test]
    fn reads_docker_style_configs_with_nulls_and_keeps_unknown_fields() {
        let config: ImageConfig = serde_json::from_str(
            r#"{"architecture":"amd64","os":"linux",
                "config":{"Env":null,"Labels":null,"Cmd":["php-fpm"],"ExposedPorts":{"9000/tcp":{}}},
                "rootfs":{"type":"layers","diff_ids":[]},"history":null}"#,
        )
        .unwrap();
        assert!(config.config.env.is_empty());
        assert_eq!(config.config.cmd, Some(vec!["php-fpm".to_string()]));
        assert_eq!(
            String::from_utf8(to_canonical_json(&config.config)).unwrap(),
            r#"{"Cmd":["php-fpm"],"ExposedPorts":{"9000/tcp":{}}}"#
        );
    }
}
