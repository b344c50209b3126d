//! Reproducible OCI images built from a directory tree, without a container daemon, and
//! unpacking images back into a tree.
//!
//! The tree becomes two layers: Composer's `vendor/` (when there is one) and, above it, the
//! rest of the application. Dependencies change less often than the code, so a commit that
//! changes only the code gives an image whose dependency layer is the one the registry and the
//! hosts have already, and only the application layer travels.
//!
//! Each layer is a gzip-compressed tar in which nothing depends on the machine or the moment of
//! the build: entries sorted by path, every mtime set to the commit
//! time, owner root, modes normalised to 0o755/0o644, no gzip file name or time. The config and
//! manifest are canonical JSON. So the same tree, environment, labels and commit time always
//! give the same manifest digest, and a rebuild of a deployed commit is recognisably the same
//! image.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use upkeep_deploy::image::{build_image, ImageInput};
//! use upkeep_deploy::layout::ImageStore;
//! let store = ImageStore::open_or_create("/var/lib/upkeep/images")?;
//! let built = build_image(&store, &ImageInput {
//!     root: std::path::Path::new("/srv/checkout"),
//!     environment: [("APPLICATION_ENV".to_string(), "production".to_string())].into(),
//!     labels: Default::default(),
//!     created: "2024-05-01T12:00:00Z".parse()?,
//!     base: None,
//! })?;
//! store.tag("my-shop:4f2a9c1", &built.manifest_descriptor())?;
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use flate2::{Compression, GzBuilder};
use indexmap::IndexMap;
use jiff::Timestamp;
use sha2::{Digest as _, Sha256};

use crate::layout::{
    ContainerConfig, Descriptor, Digest, HistoryEntry, ImageConfig, ImageManifest, ImageStore,
    LayoutError, MEDIA_TYPE_CONFIG, MEDIA_TYPE_DOCKER_LAYER_GZIP, MEDIA_TYPE_LAYER_GZIP,
    MEDIA_TYPE_MANIFEST, ResolvedImage, RootFs, oci_architecture,
};

/// gzip level 6 (zlib's default). Fixed: another level gives other bytes, hence another digest.
const COMPRESSION_LEVEL: u32 = 6;

/// What an image is built from.
#[derive(Debug, Clone)]
pub struct ImageInput<'a> {
    /// The tree that becomes the application layer, at the image root.
    pub root: &'a Path,
    /// The image environment (`config.Env`), in this order, after the base image's.
    pub environment: IndexMap<String, String>,
    pub labels: BTreeMap<String, String>,
    /// The commit time: every mtime in the layer and the config's `created`.
    pub created: Timestamp,
    /// When given, its layers come first and its environment and labels are overlaid by ours.
    pub base: Option<ResolvedImage>,
}

/// The result of [`build_image`]; every blob is in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltImage {
    pub manifest_digest: Digest,
    /// Size of the manifest blob, for its descriptor.
    pub manifest_size: u64,
    pub config_digest: Digest,
    /// The compressed application layer.
    pub layer_digest: Digest,
    /// The uncompressed application layer (what the config's `rootfs.diff_ids` lists).
    pub diff_id: Digest,
    /// Size of the compressed application layer.
    pub size: u64,
}

impl BuiltImage {
    /// The descriptor to [`ImageStore::tag`] the image with.
    pub fn manifest_descriptor(&self) -> Descriptor {
        Descriptor::new(
            MEDIA_TYPE_MANIFEST,
            self.manifest_digest.clone(),
            self.manifest_size,
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// File system errors; `fs-err` puts the path into the message.
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error(
        "cannot put {path} into the image: it is a {kind}; only files, directories and symlinks can be",
        path = path.display()
    )]
    UnsupportedFileType { path: PathBuf, kind: &'static str },
    #[error("`{name}` cannot be an image environment variable name: {reason}")]
    InvalidEnvironmentName { name: String, reason: &'static str },
    #[error("layer {layer}: refusing entry `{path}`: {reason}")]
    UnsafeEntry {
        layer: Digest,
        path: String,
        reason: String,
    },
    #[error(
        "layer {layer} has media type {media_type}, which cannot be unpacked (only tar and tar+gzip can)"
    )]
    UnsupportedLayer { layer: Digest, media_type: String },
    #[error(
        "cannot unpack into {path}: it exists already",
        path = path.display()
    )]
    DestinationExists { path: PathBuf },
}

impl upkeep_hint::Hint for ImageError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Layout(error) => error.hint(),
            Self::UnsupportedFileType { .. } => {
                Some("remove it from the tree before the build".to_string())
            }
            Self::DestinationExists { .. } => Some("unpack into a new directory".to_string()),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Build

/// Builds the image described by `input` into `store` and returns its digests. The image is
/// not tagged; see [`BuiltImage::manifest_descriptor`].
pub fn build_image(store: &ImageStore, input: &ImageInput<'_>) -> Result<BuiltImage, ImageError> {
    for name in input.environment.keys() {
        validate_environment_name(name)?;
    }
    let created = input.created.to_string();
    let tree_layers = write_layers(store, input.root, input.created)?;
    let layer = tree_layers
        .last()
        .cloned()
        .expect("write_layers always writes the application layer");

    let base = input.base.as_ref();
    let mut layers = Vec::new();
    let mut diff_ids = Vec::new();
    let mut history = Vec::new();
    let mut container = ContainerConfig::default();
    if let Some(base) = base {
        for descriptor in &base.manifest.layers {
            if !store.has_blob(&descriptor.digest) {
                return Err(LayoutError::MissingBlob {
                    store: store.root().to_path_buf(),
                    digest: descriptor.digest.clone(),
                }
                .into());
            }
            let mut descriptor = descriptor.clone();
            // Same bytes under the OCI name: registries refuse manifests that mix the two.
            if descriptor.media_type == MEDIA_TYPE_DOCKER_LAYER_GZIP {
                descriptor.media_type = MEDIA_TYPE_LAYER_GZIP.to_string();
            }
            layers.push(descriptor);
        }
        diff_ids.extend(base.config.rootfs.diff_ids.iter().cloned());
        history.extend(base.config.history.iter().cloned());
        container = base.config.config.clone();
    }

    let mut environment = base.map(image_environment).unwrap_or_default();
    for (name, value) in &input.environment {
        // An existing name keeps its position and takes our value.
        environment.insert(name.clone(), value.clone());
    }
    container.env = environment
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    container
        .labels
        .extend(input.labels.iter().map(|(k, v)| (k.clone(), v.clone())));

    for tree_layer in tree_layers {
        layers.push(Descriptor::new(
            MEDIA_TYPE_LAYER_GZIP,
            tree_layer.digest,
            tree_layer.size,
        ));
        diff_ids.push(tree_layer.diff_id);
        history.push(HistoryEntry {
            created: Some(created.clone()),
            created_by: Some(format!("upkeep build: {}", tree_layer.what)),
            comment: None,
            empty_layer: false,
        });
    }

    let config = ImageConfig {
        created: Some(created),
        // The base image's binaries decide where the image runs; without one, this machine.
        architecture: base.map_or_else(
            || oci_architecture().to_string(),
            |base| base.config.architecture.clone(),
        ),
        os: base.map_or_else(|| "linux".to_string(), |base| base.config.os.clone()),
        variant: base.and_then(|base| base.config.variant.clone()),
        config: container,
        rootfs: RootFs {
            kind: "layers".to_string(),
            diff_ids,
        },
        history,
    };
    let config = store.put_json(&config, MEDIA_TYPE_CONFIG)?;
    let config_digest = config.digest.clone();
    let manifest = ImageManifest {
        schema_version: 2,
        media_type: Some(MEDIA_TYPE_MANIFEST.to_string()),
        config,
        layers,
        annotations: BTreeMap::new(),
    };
    let manifest = store.put_json(&manifest, MEDIA_TYPE_MANIFEST)?;
    Ok(BuiltImage {
        manifest_digest: manifest.digest,
        manifest_size: manifest.size,
        config_digest,
        layer_digest: layer.digest,
        diff_id: layer.diff_id,
        size: layer.size,
    })
}

fn validate_environment_name(name: &str) -> Result<(), ImageError> {
    let invalid = |reason| ImageError::InvalidEnvironmentName {
        name: name.to_string(),
        reason,
    };
    if name.is_empty() {
        return Err(invalid("it is empty"));
    }
    if name.contains('=') {
        return Err(invalid("it contains `=`"));
    }
    if name.contains('\0') {
        return Err(invalid("it contains a NUL byte"));
    }
    Ok(())
}

#[derive(Clone)]
struct Layer {
    digest: Digest,
    diff_id: Digest,
    size: u64,
    /// What it holds, for the image's history.
    what: &'static str,
}

/// The top-level directory that becomes a layer of its own, below the application.
const DEPENDENCIES_DIR: &[u8] = b"vendor/";

enum EntryKind {
    Directory,
    File,
    Symlink,
}

/// One entry of the layer: its archive name (relative, `/`-separated, directories ending in
/// `/`) and where it is on disk.
struct TreeEntry {
    name: Vec<u8>,
    path: PathBuf,
    kind: EntryKind,
    executable: bool,
}

/// Writes the tree at `root` as its layers, bottom first: `vendor/` when the tree has one,
/// then everything else (the last one, always there, is the application layer).
fn write_layers(
    store: &ImageStore,
    root: &Path,
    created: Timestamp,
) -> Result<Vec<Layer>, ImageError> {
    let mut entries = Vec::new();
    collect_tree(root, &[], &mut entries)?;
    // Bytewise order: independent of the order the file system lists a directory in. A
    // parent's name is a prefix of its children's, so it always comes first.
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    let (dependencies, application): (Vec<TreeEntry>, Vec<TreeEntry>) = entries
        .into_iter()
        .partition(|entry| entry.name.starts_with(DEPENDENCIES_DIR));
    let mut layers = Vec::new();
    if !dependencies.is_empty() {
        layers.push(write_layer(
            store,
            &dependencies,
            created,
            "dependencies layer (vendor/)",
        )?);
    }
    layers.push(write_layer(
        store,
        &application,
        created,
        "application layer",
    )?);
    Ok(layers)
}

/// Writes `entries` (sorted) as one layer.
fn write_layer(
    store: &ImageStore,
    entries: &[TreeEntry],
    created: Timestamp,
    what: &'static str,
) -> Result<Layer, ImageError> {
    // Timestamps before 1970 cannot be in a tar header; commits are not that old.
    let mtime = u64::try_from(created.as_second()).unwrap_or(0);
    let blob = store.blob_writer()?;
    // No file name, mtime 0 and an "unknown" OS byte in the gzip header.
    let gzip = GzBuilder::new()
        .mtime(0)
        .write(blob, Compression::new(COMPRESSION_LEVEL));
    let mut tar = tar::Builder::new(HashingWriter::new(gzip));
    for entry in entries {
        let name = Path::new(OsStr::from_bytes(&entry.name));
        // GNU headers: names over 100 bytes get a GNU long-name record, which every runtime
        // reads. uid, gid, user and group names stay zero/empty as `new_gnu` leaves them.
        let mut header = tar::Header::new_gnu();
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(mtime);
        match entry.kind {
            EntryKind::Directory => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                tar.append_data(&mut header, name, io::empty())?;
            }
            EntryKind::File => {
                header.set_entry_type(tar::EntryType::Regular);
                // Only the executable bit is kept: git tracks nothing else, and the rest
                // depends on the umask of whoever checked out the tree.
                header.set_mode(if entry.executable { 0o755 } else { 0o644 });
                // The size of the opened file, and no byte more: the tar header must match
                // what follows it even if the file grows meanwhile.
                let file = fs_err::File::open(&entry.path)?;
                let size = file.metadata()?.len();
                header.set_size(size);
                tar.append_data(&mut header, name, file.take(size))?;
            }
            EntryKind::Symlink => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_mode(0o777);
                header.set_size(0);
                let target = fs_err::read_link(&entry.path)?;
                tar.append_link(&mut header, name, target)?;
            }
        }
    }
    let hashing = tar.into_inner()?;
    let diff_id = Digest::from_hasher(hashing.hasher);
    let blob = hashing.inner.finish()?;
    let (digest, size) = blob.finish()?;
    Ok(Layer {
        digest,
        diff_id,
        size,
        what,
    })
}

/// Names that never go into the image: version control metadata (also inside vendor packages
/// installed from source), and at the root the run state of upkeep itself, whose logs change
/// with every run and would make the image irreproducible.
fn is_excluded(prefix: &[u8], file_name: &OsStr) -> bool {
    file_name == ".git" || (prefix.is_empty() && file_name == ".upkeep")
}

fn collect_tree(dir: &Path, prefix: &[u8], entries: &mut Vec<TreeEntry>) -> Result<(), ImageError> {
    for dir_entry in fs_err::read_dir(dir)? {
        let dir_entry = dir_entry?;
        let file_name = dir_entry.file_name();
        if is_excluded(prefix, &file_name) {
            continue;
        }
        let path = dir_entry.path();
        let metadata = fs_err::symlink_metadata(&path)?;
        let file_type = metadata.file_type();
        let mut name = prefix.to_vec();
        name.extend_from_slice(file_name.as_bytes());
        let kind = if file_type.is_dir() {
            name.push(b'/');
            collect_tree(&path, &name, entries)?;
            EntryKind::Directory
        } else if file_type.is_file() {
            EntryKind::File
        } else if file_type.is_symlink() {
            EntryKind::Symlink
        } else {
            let kind = if file_type.is_fifo() {
                "named pipe"
            } else if file_type.is_socket() {
                "socket"
            } else if file_type.is_char_device() {
                "character device"
            } else if file_type.is_block_device() {
                "block device"
            } else {
                "special file"
            };
            return Err(ImageError::UnsupportedFileType { path, kind });
        };
        entries.push(TreeEntry {
            name,
            path,
            kind,
            executable: metadata.mode() & 0o111 != 0,
        });
    }
    Ok(())
}

/// Hashes the uncompressed tar (the layer's diff id) on its way into the compressor.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W> HashingWriter<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
        }
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

// ---------------------------------------------------------------------------------------------
// Image environment

/// The image environment (`config.Env`) as a map, in order. Entries without `=` are skipped.
pub fn image_environment(image: &ResolvedImage) -> IndexMap<String, String> {
    image
        .config
        .config
        .env
        .iter()
        .filter_map(|entry| entry.split_once('='))
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Unpack

/// Extracts the layers of `image`, bottom first, into `dest`, which must not exist yet.
///
/// Paths with `..` or a leading `/`, and paths that lead through a symlink, are refused: a
/// layer must not write outside `dest`. OCI whiteouts (`.wh.<name>`) delete `<name>` from the
/// lower layers; an opaque whiteout (`.wh..wh..opq`) empties its directory. Device files are
/// skipped, since creating them needs root. Every layer's digest is checked; on error `dest`
/// is left as it is, for the caller to discard.
pub fn unpack(store: &ImageStore, image: &ResolvedImage, dest: &Path) -> Result<(), ImageError> {
    if fs_err::symlink_metadata(dest).is_ok() {
        return Err(ImageError::DestinationExists {
            path: dest.to_path_buf(),
        });
    }
    fs_err::create_dir_all(dest)?;
    for layer in &image.manifest.layers {
        if layer.media_type.contains("zstd") {
            return Err(ImageError::UnsupportedLayer {
                layer: layer.digest.clone(),
                media_type: layer.media_type.clone(),
            });
        }
        let mut blob = store.open_blob(&layer.digest)?;
        {
            // Sniff the gzip magic rather than trust the media type: Docker's and OCI's names
            // differ, and uncompressed layers exist.
            let mut buffered = BufReader::new(&mut blob);
            let is_gzip = buffered.fill_buf()?.starts_with(&[0x1f, 0x8b]);
            let reader: Box<dyn Read + '_> = if is_gzip {
                Box::new(flate2::read::GzDecoder::new(buffered))
            } else {
                Box::new(buffered)
            };
            unpack_layer(&layer.digest, reader, dest)?;
        }
        blob.finish()?;
    }
    Ok(())
}

fn unpack_layer(layer: &Digest, reader: impl Read, dest: &Path) -> Result<(), ImageError> {
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let raw_path = entry.path()?.into_owned();
        let unsafe_entry = |reason: String| ImageError::UnsafeEntry {
            layer: layer.clone(),
            path: raw_path.display().to_string(),
            reason,
        };
        let relative =
            relative_path(&raw_path).map_err(|reason| unsafe_entry(reason.to_string()))?;
        if relative.as_os_str().is_empty() {
            // The root itself (`./`): `dest` exists already.
            continue;
        }
        if let Some(through) = symlink_ancestor(dest, &relative)? {
            return Err(unsafe_entry(format!(
                "it leads through the symlink {}",
                through.display()
            )));
        }
        let target = dest.join(&relative);
        let file_name = relative.file_name().unwrap_or_default().as_bytes();
        if file_name == b".wh..wh..opq" {
            let dir = target.parent().unwrap_or(dest);
            if dir.is_dir() {
                for child in fs_err::read_dir(dir)? {
                    remove_existing(&child?.path())?;
                }
            }
            continue;
        }
        if let Some(hidden) = file_name.strip_prefix(b".wh.") {
            remove_existing(&target.with_file_name(OsStr::from_bytes(hidden)))?;
            continue;
        }

        // Permission bits and the sticky bit only: a release runs as the deploying user, and a
        // setuid or setgid file from an image must not hand its hooks (or anyone on the host)
        // another user's rights.
        let mode = entry.header().mode()? & 0o1777;
        if let Some(parent) = target.parent() {
            fs_err::create_dir_all(parent)?;
        }
        let entry_type = entry.header().entry_type();
        match entry_type {
            tar::EntryType::Directory => {
                let is_dir = fs_err::symlink_metadata(&target).is_ok_and(|m| m.is_dir());
                if !is_dir {
                    remove_existing(&target)?;
                    fs_err::create_dir(&target)?;
                }
                // Owner rwx always: later layers write into it, and pruning a release must be
                // able to delete it (images have 0o555 directories such as /proc).
                fs_err::set_permissions(&target, PermissionsExt::from_mode(mode | 0o700))?;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                remove_existing(&target)?;
                let mut file = fs_err::File::create(&target)?;
                io::copy(&mut entry, &mut file)?;
                fs_err::set_permissions(&target, PermissionsExt::from_mode(mode))?;
            }
            tar::EntryType::Symlink => {
                let link = entry
                    .link_name()?
                    .ok_or_else(|| unsafe_entry("the symlink has no target".to_string()))?;
                remove_existing(&target)?;
                fs_err::os::unix::fs::symlink(link.as_ref(), &target)?;
            }
            tar::EntryType::Link => {
                let link = entry
                    .link_name()?
                    .ok_or_else(|| unsafe_entry("the hard link has no target".to_string()))?;
                let source = relative_path(&link)
                    .map_err(|reason| unsafe_entry(format!("its link target {reason}")))?;
                if symlink_ancestor(dest, &source)?.is_some() {
                    return Err(unsafe_entry(
                        "its link target leads through a symlink".to_string(),
                    ));
                }
                remove_existing(&target)?;
                fs_err::hard_link(dest.join(source), &target)?;
            }
            // Skipped: device nodes and pipes (creating them needs root, and an application
            // never needs them from its image), global pax headers and other records that
            // carry no file.
            _ => {}
        }
    }
    Ok(())
}

/// `path` without `./` parts; an error for `..` and absolute paths.
fn relative_path(path: &Path) -> Result<PathBuf, &'static str> {
    let mut relative = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => relative.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err("it contains `..`"),
            Component::RootDir | Component::Prefix(_) => return Err("it is absolute"),
        }
    }
    Ok(relative)
}

/// The first proper ancestor of `relative` inside `dest` that is a symlink, if any.
fn symlink_ancestor(dest: &Path, relative: &Path) -> io::Result<Option<PathBuf>> {
    let mut current = dest.to_path_buf();
    let mut components = relative.components().peekable();
    while let Some(component) = components.next() {
        if components.peek().is_none() {
            break;
        }
        current.push(component);
        match fs_err::symlink_metadata(&current) {
            Ok(metadata) if metadata.is_symlink() => return Ok(Some(current)),
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        }
    }
    Ok(None)
}

/// Removes a file, symlink or directory tree at `path`, if there is one.
fn remove_existing(path: &Path) -> io::Result<()> {
    match fs_err::symlink_metadata(path) {
        Ok(metadata) if metadata.is_dir() => fs_err::remove_dir_all(path),
        Ok(_) => fs_err::remove_file(path),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::Permissions;

    fn write_file(path: &Path, content: &str, mode: u32) {
        fs_err::create_dir_all(path.parent().unwrap()).unwrap();
        fs_err::write(path, content).unwrap();
        fs_err::set_permissions(path, Permissions::from_mode(mode)).unwrap();
    }

    /// A small application tree; `reverse` creates it in the opposite order.
    fn make_tree(root: &Path, reverse: bool) {
        let mut steps: Vec<Box<dyn Fn()>> = vec![
            Box::new(|| write_file(&root.join("composer.json"), "{}\n", 0o644)),
            Box::new(|| write_file(&root.join("vendor/bin/install"), "#!/bin/sh\n", 0o775)),
            Box::new(|| write_file(&root.join("src/Pyz/Zed/Module.php"), "<?php\n", 0o664)),
            Box::new(|| {
                fs_err::create_dir_all(root.join("public")).unwrap();
                fs_err::os::unix::fs::symlink("../src", root.join("public/src")).unwrap();
            }),
            Box::new(|| write_file(&root.join(".git/HEAD"), "ref: main\n", 0o644)),
            Box::new(|| write_file(&root.join(".upkeep/runs/1/record.json"), "{}", 0o644)),
        ];
        if reverse {
            steps.reverse();
        }
        for step in steps {
            step();
        }
    }

    fn input(root: &Path) -> ImageInput<'_> {
        ImageInput {
            root,
            environment: [
                ("APPLICATION_ENV".to_string(), "production".to_string()),
                ("SPRYKER_HOOK_INSTALL".to_string(), "true".to_string()),
            ]
            .into_iter()
            .collect(),
            labels: [(
                "org.opencontainers.image.revision".to_string(),
                "4f2a9c1".to_string(),
            )]
            .into(),
            created: "2024-05-01T12:00:00Z".parse().unwrap(),
            base: None,
        }
    }

    fn set_mtime(path: &Path, seconds: u64) {
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds);
        fs_err::File::open(path)
            .unwrap()
            .set_modified(time)
            .unwrap();
    }

    /// (name, entry type, mode, mtime, uid, link target or content) of every entry of a layer.
    fn layer_entries(
        store: &ImageStore,
        digest: &Digest,
    ) -> Vec<(String, char, u32, u64, u64, String)> {
        let bytes = store.read_blob(digest).unwrap();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
        archive
            .entries()
            .unwrap()
            .map(|entry| {
                let mut entry = entry.unwrap();
                let header = entry.header().clone();
                let name = entry.path().unwrap().to_string_lossy().into_owned();
                let mut detail = String::new();
                if let Some(link) = entry.link_name().unwrap() {
                    detail = link.to_string_lossy().into_owned();
                } else {
                    entry.read_to_string(&mut detail).unwrap();
                }
                (
                    name,
                    header.entry_type().as_byte() as char,
                    header.mode().unwrap(),
                    header.mtime().unwrap(),
                    header.uid().unwrap(),
                    detail,
                )
            })
            .collect()
    }

    #[test]
    fn the_layers_are_normalised_and_sorted_with_vendor_below_the_application() {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("tree");
        make_tree(&tree, false);
        let store = ImageStore::open_or_create(dir.path().join("store")).unwrap();
        let built = build_image(&store, &input(&tree)).unwrap();

        let mtime = 1_714_564_800;
        let entry = |name: &str, kind, mode, detail: &str| {
            (name.to_string(), kind, mode, mtime, 0, detail.to_string())
        };
        let image = store.resolve(&built.manifest_digest.to_string()).unwrap();
        assert_eq!(image.manifest.layers.len(), 2);
        assert_eq!(
            layer_entries(&store, &image.manifest.layers[0].digest),
            vec![
                entry("vendor/", '5', 0o755, ""),
                entry("vendor/bin/", '5', 0o755, ""),
                entry("vendor/bin/install", '0', 0o755, "#!/bin/sh\n"),
            ]
        );
        assert_eq!(image.manifest.layers[1].digest, built.layer_digest);
        assert_eq!(
            layer_entries(&store, &built.layer_digest),
            vec![
                entry("composer.json", '0', 0o644, "{}\n"),
                entry("public/", '5', 0o755, ""),
                entry("public/src", '2', 0o777, "../src"),
                entry("src/", '5', 0o755, ""),
                entry("src/Pyz/", '5', 0o755, ""),
                entry("src/Pyz/Zed/", '5', 0o755, ""),
                entry("src/Pyz/Zed/Module.php", '0', 0o644, "<?php\n"),
            ]
        );
        let history: Vec<_> = image
            .config
            .history
            .iter()
            .map(|entry| entry.created_by.clone().unwrap_or_default())
            .collect();
        assert_eq!(
            history,
            [
                "upkeep build: dependencies layer (vendor/)",
                "upkeep build: application layer"
            ]
        );
        // The gzip header: no name (flags 0), mtime 0, OS "unknown".
        let blob = store.read_blob(&built.layer_digest).unwrap();
        assert_eq!(&blob[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
        assert_eq!(built.size, blob.len() as u64);
        // The diff id is the digest of the uncompressed tar.
        let mut tar_bytes = Vec::new();
        flate2::read::GzDecoder::new(&blob[..])
            .read_to_end(&mut tar_bytes)
            .unwrap();
        assert_eq!(built.diff_id, Digest::of(&tar_bytes));
    }

    #[test]
    fn the_same_tree_gives_the_same_digest() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("first");
        let second = dir.path().join("second");
        make_tree(&first, false);
        make_tree(&second, true);
        set_mtime(&first.join("composer.json"), 1_000);
        set_mtime(&second.join("composer.json"), 2_000_000);
        fs_err::write(second.join(".git/HEAD"), "ref: other\n").unwrap();
        let store = ImageStore::open_or_create(dir.path().join("store")).unwrap();

        let one = build_image(&store, &input(&first)).unwrap();
        let two = build_image(&store, &input(&second)).unwrap();
        assert_eq!(one, two);

        // One changed byte changes the layer and so the image.
        fs_err::write(second.join("composer.json"), "{ }\n").unwrap();
        let three = build_image(&store, &input(&second)).unwrap();
        assert_ne!(three.layer_digest, one.layer_digest);
        assert_ne!(three.manifest_digest, one.manifest_digest);

        // So does a changed executable bit, environment or commit time.
        let mut other = input(&first);
        other.created = "2024-05-01T12:00:01Z".parse().unwrap();
        assert_ne!(
            build_image(&store, &other).unwrap().manifest_digest,
            one.manifest_digest
        );
        let mut other = input(&first);
        other.environment.insert("X".to_string(), "1".to_string());
        assert_ne!(
            build_image(&store, &other).unwrap().manifest_digest,
            one.manifest_digest
        );
        fs_err::set_permissions(first.join("composer.json"), Permissions::from_mode(0o744))
            .unwrap();
        assert_ne!(
            build_image(&store, &input(&first)).unwrap().layer_digest,
            one.layer_digest
        );
    }

    #[test]
    fn config_and_manifest_are_canonical_oci_documents() {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("tree");
        write_file(&tree.join("index.php"), "<?php\n", 0o644);
        let store = ImageStore::open_or_create(dir.path().join("store")).unwrap();
        let built = build_image(&store, &input(&tree)).unwrap();
        store.tag("shop", &built.manifest_descriptor()).unwrap();

        let config = String::from_utf8(store.read_blob(&built.config_digest).unwrap()).unwrap();
        assert_eq!(
            config,
            format!(
                concat!(
                    r#"{{"created":"2024-05-01T12:00:00Z","architecture":"{arch}","os":"linux","#,
                    r#""config":{{"Env":["APPLICATION_ENV=production","SPRYKER_HOOK_INSTALL=true"],"#,
                    r#""Labels":{{"org.opencontainers.image.revision":"4f2a9c1"}}}},"#,
                    r#""rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}},"#,
                    r#""history":[{{"created":"2024-05-01T12:00:00Z","created_by":"upkeep build: application layer"}}]}}"#
                ),
                arch = oci_architecture(),
                diff_id = built.diff_id
            )
        );
        let manifest = String::from_utf8(store.read_blob(&built.manifest_digest).unwrap()).unwrap();
        assert_eq!(
            manifest,
            format!(
                concat!(
                    r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","#,
                    r#""config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}","size":{config_size}}},"#,
                    r#""layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{layer}","size":{layer_size}}}]}}"#
                ),
                config = built.config_digest,
                config_size = config.len(),
                layer = built.layer_digest,
                layer_size = built.size
            )
        );
        assert_eq!(built.manifest_size, manifest.len() as u64);
        let resolved = store.resolve("shop").unwrap();
        assert_eq!(resolved.manifest_digest, built.manifest_digest);
        assert_eq!(image_environment(&resolved), input(&tree).environment);
    }

    #[test]
    fn a_base_image_comes_first_and_its_environment_is_overlaid() {
        let dir = tempfile::tempdir().unwrap();
        let store = ImageStore::open_or_create(dir.path().join("store")).unwrap();
        let base_tree = dir.path().join("base");
        write_file(&base_tree.join("etc/php.ini"), "memory_limit=1G\n", 0o644);
        write_file(&base_tree.join("index.php"), "base\n", 0o644);
        let mut base_input = input(&base_tree);
        base_input.environment = [
            ("PATH".to_string(), "/usr/bin".to_string()),
            ("APPLICATION_ENV".to_string(), "development".to_string()),
        ]
        .into_iter()
        .collect();
        base_input.labels = [("vendor".to_string(), "spryker".to_string())].into();
        let base = build_image(&store, &base_input).unwrap();
        let base = store.resolve(&base.manifest_digest.to_string()).unwrap();

        let app_tree = dir.path().join("app");
        write_file(&app_tree.join("index.php"), "app\n", 0o644);
        let mut app_input = input(&app_tree);
        app_input.base = Some(base.clone());
        let app = build_image(&store, &app_input).unwrap();
        let app = store.resolve(&app.manifest_digest.to_string()).unwrap();

        assert_eq!(app.manifest.layers.len(), 2);
        assert_eq!(app.manifest.layers[0], base.manifest.layers[0]);
        assert_eq!(
            app.config.rootfs.diff_ids[0],
            base.config.rootfs.diff_ids[0]
        );
        assert_eq!(app.config.history.len(), 2);
        assert_eq!(
            app.config.config.env,
            vec![
                "PATH=/usr/bin",
                "APPLICATION_ENV=production",
                "SPRYKER_HOOK_INSTALL=true"
            ]
        );
        assert_eq!(
            app.config.config.labels.keys().collect::<Vec<_>>(),
            vec!["org.opencontainers.image.revision", "vendor"]
        );

        let dest = dir.path().join("unpacked");
        unpack(&store, &app, &dest).unwrap();
        assert_eq!(
            fs_err::read_to_string(dest.join("index.php")).unwrap(),
            "app\n"
        );
        assert_eq!(
            fs_err::read_to_string(dest.join("etc/php.ini")).unwrap(),
            "memory_limit=1G\n"
        );
    }

    #[test]
    fn unpack_restores_the_tree() {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("tree");
        make_tree(&tree, false);
        let store = ImageStore::open_or_create(dir.path().join("store")).unwrap();
        let built = build_image(&store, &input(&tree)).unwrap();
        let image = store.resolve(&built.manifest_digest.to_string()).unwrap();
        let dest = dir.path().join("out");
        unpack(&store, &image, &dest).unwrap();

        let mode = |path: &str| fs_err::metadata(dest.join(path)).unwrap().mode() & 0o7777;
        assert_eq!(
            fs_err::read_to_string(dest.join("composer.json")).unwrap(),
            "{}\n"
        );
        assert_eq!(mode("composer.json"), 0o644);
        assert_eq!(mode("vendor/bin/install"), 0o755);
        assert_eq!(
            fs_err::read_link(dest.join("public/src")).unwrap(),
            PathBuf::from("../src")
        );
        assert_eq!(
            fs_err::read_to_string(dest.join("public/src/Pyz/Zed/Module.php")).unwrap(),
            "<?php\n"
        );
        assert!(!dest.join(".git").exists());
        assert!(!dest.join(".upkeep").exists());

        let error = unpack(&store, &image, &dest).unwrap_err();
        assert!(
            matches!(error, ImageError::DestinationExists { .. }),
            "{error}"
        );
    }

    #[test]
    fn device_files_are_refused_with_their_path() {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("tree");
        fs_err::create_dir_all(&tree).unwrap();
        let socket_path = tree.join("php-fpm.sock");
        let _socket = std::os::unix::net::UnixListener::bind(&socket_path).unwrap();
        let store = ImageStore::open_or_create(dir.path().join("store")).unwrap();
        let error = build_image(&store, &input(&tree)).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "cannot put {} into the image: it is a socket; only files, directories and symlinks can be",
                socket_path.display()
            )
        );
        assert_eq!(
            upkeep_hint::Hint::hint(&error).as_deref(),
            Some("remove it from the tree before the build")
        );
    }

    #[test]
    fn invalid_environment_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = ImageStore::open_or_create(dir.path().join("store")).unwrap();
        let mut bad = input(dir.path());
        bad.environment.insert("A=B".to_string(), "x".to_string());
        let error = build_image(&store, &bad).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`A=B` cannot be an image environment variable name: it contains `=`"
        );
    }

    /// An image whose single layer holds `entries`, written with raw headers so that unsafe
    /// names and whiteouts can be expressed.
    fn image_with_layers(
        store: &ImageStore,
        layers: &[Vec<(&str, tar::EntryType, &str)>],
    ) -> ResolvedImage {
        let mut descriptors = Vec::new();
        for entries in layers {
            let mut builder = tar::Builder::new(Vec::new());
            for (name, kind, data) in entries {
                let mut header = tar::Header::new_gnu();
                header.set_entry_type(*kind);
                header.set_mode(if *kind == tar::EntryType::Directory {
                    0o755
                } else {
                    0o644
                });
                // Write the name bytes directly: `set_path` refuses `..` and absolute names.
                let raw = &mut header.as_old_mut().name;
                raw[..name.len()].copy_from_slice(name.as_bytes());
                if *kind == tar::EntryType::Symlink {
                    header.set_link_name(data).unwrap();
                    header.set_size(0);
                    header.set_cksum();
                    builder.append(&header, io::empty()).unwrap();
                } else {
                    header.set_size(data.len() as u64);
                    header.set_cksum();
                    builder.append(&header, data.as_bytes()).unwrap();
                }
            }
            let bytes = builder.into_inner().unwrap();
            let digest = store.put_blob(&bytes).unwrap();
            descriptors.push(Descriptor::new(
                "application/vnd.oci.image.layer.v1.tar",
                digest,
                bytes.len() as u64,
            ));
        }
        ResolvedImage {
            manifest_digest: Digest::of(b"test"),
            manifest: ImageManifest {
                schema_version: 2,
                media_type: Some(MEDIA_TYPE_MANIFEST.to_string()),
                config: Descriptor::new(MEDIA_TYPE_CONFIG, Digest::of(b"{}"), 2),
                layers: descriptors,
                annotations: BTreeMap::new(),
            },
            config: ImageConfig {
                created: None,
                architecture: "amd64".to_string(),
                os: "linux".to_string(),
                variant: None,
                config: ContainerConfig::default(),
                rootfs: RootFs {
                    kind: "layers".to_string(),
                    diff_ids: Vec::new(),
                },
                history: Vec::new(),
            },
        }
    }

    #[test]
    fn unpack_drops_setuid_and_setgid_bits() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let store = ImageStore::open_or_create(dir.path().join("store")).unwrap();
        let mut image = image_with_layers(&store, &[vec![("tmp/", tar::EntryType::Directory, "")]]);
        let mut builder = tar::Builder::new(Vec::new());
        for (name, mode, kind) in [
            ("tmp/", 0o1777, tar::EntryType::Directory),
            ("bin/", 0o2755, tar::EntryType::Directory),
            ("bin/su", 0o4755, tar::EntryType::Regular),
            ("bin/wall", 0o2755, tar::EntryType::Regular),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(kind);
            header.set_path(name).unwrap();
            header.set_mode(mode);
            header.set_size(0);
            header.set_cksum();
            builder.append(&header, io::empty()).unwrap();
        }
        let bytes = builder.into_inner().unwrap();
        let digest = store.put_blob(&bytes).unwrap();
        image.manifest.layers = vec![Descriptor::new(
            "application/vnd.oci.image.layer.v1.tar",
            digest,
            bytes.len() as u64,
        )];
        let dest = dir.path().join("app");
        unpack(&store, &image, &dest).unwrap();
        let mode = |path: &str| {
            fs_err::metadata(dest.join(path))
                .unwrap()
                .permissions()
                .mode()
                & 0o7777
        };
        assert_eq!(mode("bin/su"), 0o755);
        assert_eq!(mode("bin/wall"), 0o755);
        assert_eq!(mode("bin"), 0o755);
        assert_eq!(mode("tmp"), 0o1777);
    }

    #[test]
    fn unpack_refuses_paths_outside_the_destination() {
        use tar::EntryType::{Regular, Symlink};
        let dir = tempfile::tempdir().unwrap();
        let store = ImageStore::open_or_create(dir.path().join("store")).unwrap();
        for (n, (entries, reason)) in [
            (vec![("../escape", Regular, "x")], "it contains `..`"),
            (vec![("/etc/passwd", Regular, "x")], "it is absolute"),
            (
                vec![("link", Symlink, "/tmp"), ("link/file", Regular, "x")],
                "it leads through the symlink",
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let image = image_with_layers(&store, &[entries]);
            let error = unpack(&store, &image, &dir.path().join(format!("out{n}"))).unwrap_err();
            match &error {
                ImageError::UnsafeEntry { reason: actual, .. } => {
                    assert!(actual.starts_with(reason), "{error}");
                }
                other => panic!("unexpected error: {other}"),
            }
        }
        assert!(!dir.path().join("escape").exists());
    }

    #[test]
    fn whiteouts_delete_files_of_lower_layers() {
        use tar::EntryType::{Directory, Regular};
        let dir = tempfile::tempdir().unwrap();
        let store = ImageStore::open_or_create(dir.path().join("store")).unwrap();
        let image = image_with_layers(
            &store,
            &[
                vec![
                    ("keep.txt", Regular, "keep"),
                    ("gone.txt", Regular, "gone"),
                    ("cache/", Directory, ""),
                    ("cache/a", Regular, "a"),
                    ("tmp/", Directory, ""),
                    ("tmp/old", Regular, "old"),
                ],
                vec![
                    ("./.wh.gone.txt", Regular, ""),
                    ("cache/.wh..wh..opq", Regular, ""),
                    ("cache/b", Regular, "b"),
                    (".wh.tmp", Regular, ""),
                    ("keep.txt", Regular, "kept, changed"),
                ],
            ],
        );
        let dest = dir.path().join("out");
        unpack(&store, &image, &dest).unwrap();
        let mut names: Vec<String> = Vec::new();
        for entry in fs_err::read_dir(&dest).unwrap() {
            names.push(entry.unwrap().file_name().to_string_lossy().into_owned());
        }
        names.sort();
        assert_eq!(names, vec!["cache", "keep.txt"]);
        assert_eq!(
            fs_err::read_to_string(dest.join("keep.txt")).unwrap(),
            "kept, changed"
        );
        let cache: Vec<_> = fs_err::read_dir(dest.join("cache"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(cache, vec![OsStr::new("b").to_owned()]);
    }

    #[test]
    fn unpack_detects_a_damaged_layer() {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("tree");
        write_file(&tree.join("index.php"), "<?php\n", 0o644);
        let store = ImageStore::open_or_create(dir.path().join("store")).unwrap();
        let built = build_image(&store, &input(&tree)).unwrap();
        let image = store.resolve(&built.manifest_digest.to_string()).unwrap();
        let path = store.blob_path(&built.layer_digest);
        let mut bytes = fs_err::read(&path).unwrap();
        bytes.extend_from_slice(b"trailing garbage");
        fs_err::write(&path, bytes).unwrap();
        let error = unpack(&store, &image, &dir.path().join("out")).unwrap_err();
        assert!(
            matches!(
                error,
                ImageError::Layout(LayoutError::DigestMismatch { .. })
            ),
            "{error}"
        );
    }
}
