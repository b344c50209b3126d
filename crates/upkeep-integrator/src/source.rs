//! Where the manifests come from: a directory laid out `<Org>/<Module>/<version>/
//! installer-manifest.json`, or an archive of one (`.tar.gz`, `.tar` or `.zip`) at an http(s)
//! URL, a `file://` URL or a path — such as GitHub's archive of spryker/integrator-manifests,
//! whose single top folder (`integrator-manifests-master/`) holds the tree.
//!
//! A URL is fetched through the Composer metadata's HTTP cache ([`download`]): revalidated on
//! every run with its `ETag` / `Last-Modified` (`304` → the cached copy), and the cached copy
//! used, with a warning, when the server cannot be reached. An archive is unpacked once per
//! content, into `<cache>/integrator-manifests/<sha256>/`: first into a temporary folder, which
//! is renamed when complete, so that a run killed halfway never leaves half a tree to a later
//! run. Unpacking refuses the whole archive when an entry's path would leave its folder
//! (absolute, or with `..`), creates no symbolic or hard links (they are skipped, so nothing
//! written can be redirected outside), and stops past a size limit.
//!
//! ```no_run
//! use upkeep_composer::repository::DownloadOptions;
//! use upkeep_integrator::source::{ManifestSource, load};
//!
//! let source: ManifestSource =
//!     "https://github.com/spryker/integrator-manifests/archive/refs/heads/master.tar.gz".parse()?;
//! let loaded = load(&source, &DownloadOptions::default())?;
//! for warning in &loaded.warnings {
//!     eprintln!("warning: {warning}");
//! }
//! println!("{} manifests", loaded.set.manifests().count());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::io::{Cursor, Read};
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};
use upkeep_composer::repository::{
    DownloadOptions, DownloadOrigin, FetchError, download, url_without_credentials,
};

use crate::manifest::{MANIFEST_FILE, ManifestSet, ReadError, read_dir};

/// The folder of unpacked archives inside the cache directory.
pub const TREES_DIR: &str = "integrator-manifests";

/// Unpacked bytes at most: Spryker's whole repository unpacks to a few MB.
const MAX_UNPACKED_BYTES: u64 = 512 * 1024 * 1024;

/// Entries at most (files, folders and skipped links): the repository has a few thousand.
const MAX_ENTRIES: usize = 200_000;

/// An unpacked tree not used for this long is removed when another is unpacked.
const UNUSED_TREE_AGE: Duration = Duration::from_hours(30 * 24);

/// A temporary folder this old belongs to a run that was killed; it is removed.
const ABANDONED_AGE: Duration = Duration::from_hours(1);

/// Where the manifests are: a directory or an archive on disk, or an archive at a URL.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub enum ManifestSource {
    /// A directory of manifests, or an archive file (told apart when it is read).
    Path(PathBuf),
    /// An `http://` or `https://` URL of an archive.
    Url(String),
}

impl ManifestSource {
    /// A relative path taken from `base` (the directory of the file that named it).
    #[must_use]
    pub fn relative_to(self, base: &Path) -> Self {
        match self {
            Self::Path(path) if path.is_relative() => Self::Path(base.join(path)),
            other => other,
        }
    }
}

/// What `--manifests` or `[upgrade] manifests` cannot name.
#[derive(Debug, thiserror::Error)]
#[error("`{value}` is neither a directory, an archive's path nor an http(s) or file:// URL")]
pub struct InvalidSource {
    value: String,
}

impl FromStr for ManifestSource {
    type Err = InvalidSource;

    fn from_str(text: &str) -> Result<Self, InvalidSource> {
        let text = text.trim();
        let invalid = || InvalidSource {
            value: url_without_credentials(text),
        };
        let scheme = text
            .split_once("://")
            .map(|(scheme, _)| scheme.to_ascii_lowercase());
        match scheme.as_deref() {
            _ if text.is_empty() => Err(invalid()),
            Some("http" | "https") => Ok(Self::Url(text.to_string())),
            Some("file") => {
                let rest = &text["file://".len()..];
                // `file://localhost/path` and `file:///path` name the same file.
                let path = rest.strip_prefix("localhost").unwrap_or(rest);
                if path.starts_with('/') {
                    Ok(Self::Path(PathBuf::from(path)))
                } else {
                    Err(invalid())
                }
            }
            Some(_) => Err(invalid()),
            None => Ok(Self::Path(PathBuf::from(text))),
        }
    }
}

impl TryFrom<String> for ManifestSource {
    type Error = InvalidSource;

    fn try_from(text: String) -> Result<Self, InvalidSource> {
        text.parse()
    }
}

impl fmt::Display for ManifestSource {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Path(path) => write!(formatter, "{}", path.display()),
            Self::Url(url) => formatter.write_str(&url_without_credentials(url)),
        }
    }
}

/// As [`fmt::Display`]: a URL's credentials stay out of debug output too.
impl fmt::Debug for ManifestSource {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Path(path) => formatter.debug_tuple("Path").field(path).finish(),
            Self::Url(_) => formatter
                .debug_tuple("Url")
                .field(&self.to_string())
                .finish(),
        }
    }
}

/// Where the manifests of a [`load`] were read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A directory.
    Directory,
    /// An archive on disk.
    Archive,
    /// An archive downloaded now.
    Downloaded,
    /// The cached archive, which the server confirmed (`304 Not Modified`).
    NotModified,
    /// The cached archive, offline.
    Cached,
    /// The cached archive, because the server could not be reached (see the warnings).
    Stale,
}

/// The manifests of a source.
#[derive(Debug)]
pub struct LoadedManifests {
    pub set: ManifestSet,
    /// The directory they were read from (for an archive, inside the cache).
    pub root: PathBuf,
    pub origin: Origin,
    /// About the source, e.g. that the cached copy is used since the server could not be
    /// reached. The manifests' own warnings are in `set.warnings`.
    pub warnings: Vec<String>,
}

/// Why manifests could not be had from a source.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot download the manifests archive {url}: {source}")]
    Download {
        url: String,
        #[source]
        source: FetchError,
    },
    #[error("cannot read the manifests archive {}", path.display())]
    ReadArchive {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the manifests archive {origin} is not a .tar.gz, .tar or .zip archive: it starts with {start}"
    )]
    NotAnArchive { origin: String, start: String },
    #[error("cannot unpack the manifests archive {origin}: {message}")]
    Unpack { origin: String, message: String },
    #[error(
        "the manifests archive {origin} has the entry `{entry}`, whose path leads outside the archive's folder; nothing of it is used"
    )]
    UnsafeEntry { origin: String, entry: String },
    #[error("the manifests archive {origin} unpacks to more than {limit}")]
    TooLarge { origin: String, limit: String },
    #[error(
        "the manifests archive {origin} holds no manifests (`<Org>/<Module>/<version>/{MANIFEST_FILE}`); at its top: {found}"
    )]
    NoManifests { origin: String, found: String },
    #[error("no cache directory to unpack the manifests archive {origin} into")]
    NoCacheDirectory { origin: String },
    #[error("cannot write the manifests cache {}", path.display())]
    Cache {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Directory(#[from] ReadError),
}

/// An archive the integrator-manifests repository can be had as.
const EXAMPLE_URL: &str =
    "https://github.com/spryker/integrator-manifests/archive/refs/heads/master.tar.gz";

impl upkeep_hint::Hint for SourceError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Download { source, .. } => Some(match source {
                FetchError::Transport { .. } | FetchError::Status { status: 500.. } => {
                    "check the URL and the network; once downloaded, the archive is cached and \
                     used when the server cannot be reached"
                        .to_string()
                }
                FetchError::NotCached => "run once without --offline to download it".to_string(),
                FetchError::Status { .. } => {
                    format!(
                        "check the URL: it must name an archive of the manifests, such as {EXAMPLE_URL}"
                    )
                }
                other => upkeep_hint::Hint::hint(other)?,
            }),
            Self::NotAnArchive { .. } => Some(format!(
                "give the URL or path of a .tar.gz or .zip of the manifests, such as {EXAMPLE_URL}"
            )),
            Self::Unpack { .. } | Self::TooLarge { .. } => Some(
                "download the archive again, or check that it is an archive of \
                 spryker/integrator-manifests"
                    .to_string(),
            ),
            Self::UnsafeEntry { .. } => Some(
                "use an archive made by GitHub or `git archive`; this one tries to write \
                 elsewhere"
                    .to_string(),
            ),
            Self::NoManifests { .. } => Some(format!(
                "the archive must hold `<Org>/<Module>/<version>/{MANIFEST_FILE}` at its top or \
                 in its single top folder, as {EXAMPLE_URL} does"
            )),
            Self::NoCacheDirectory { .. } => Some(
                "set XDG_CACHE_HOME (or HOME), or unpack the archive and give its directory"
                    .to_string(),
            ),
            Self::Cache { .. } => Some("check that the cache directory is writable".to_string()),
            Self::ReadArchive { .. } => None,
            Self::Directory(error) => upkeep_hint::Hint::hint(error),
        }
    }
}

/// Reads the manifests of `source`; an archive is fetched and unpacked as the module says,
/// into `options.cache_dir`.
pub fn load(
    source: &ManifestSource,
    options: &DownloadOptions,
) -> Result<LoadedManifests, SourceError> {
    let mut warnings = Vec::new();
    let (root, origin) = match source {
        ManifestSource::Path(path) if path.is_file() => {
            let label = path.display().to_string();
            let bytes = fs_err::read(path).map_err(|source| SourceError::ReadArchive {
                path: path.clone(),
                source,
            })?;
            let trees = trees_dir(options, &label)?;
            (unpacked(&trees, &label, &bytes)?, Origin::Archive)
        }
        ManifestSource::Path(path) => (path.clone(), Origin::Directory),
        ManifestSource::Url(url) => {
            let label = url_without_credentials(url);
            let trees = trees_dir(options, &label)?;
            let fetched = download(url, options).map_err(|source| SourceError::Download {
                url: label.clone(),
                source,
            })?;
            let origin = match &fetched.origin {
                DownloadOrigin::Downloaded => Origin::Downloaded,
                DownloadOrigin::NotModified => Origin::NotModified,
                DownloadOrigin::Cached => Origin::Cached,
                DownloadOrigin::Stale { error, age } => {
                    warnings.push(format!(
                        "cannot reach {label} ({error}); using the copy cached {}",
                        ago(*age)
                    ));
                    Origin::Stale
                }
            };
            // A tree unpacked from this very content needs not the body read again.
            let known = fetched
                .digest
                .as_deref()
                .and_then(|digest| existing_tree(&trees, digest));
            let root = if let Some(root) = known {
                root
            } else {
                let bytes = fetched.bytes().map_err(|source| SourceError::Download {
                    url: label.clone(),
                    source,
                })?;
                unpacked(&trees, &label, &bytes)?
            };
            (root, origin)
        }
    };
    let set = read_dir(&root)?;
    Ok(LoadedManifests {
        set,
        root,
        origin,
        warnings,
    })
}

fn trees_dir(options: &DownloadOptions, label: &str) -> Result<PathBuf, SourceError> {
    options
        .cache_dir
        .as_ref()
        .map(|dir| dir.join(TREES_DIR))
        .ok_or_else(|| SourceError::NoCacheDirectory {
            origin: label.to_string(),
        })
}

/// "3 days ago", for the age of a cached copy.
fn ago(age: Option<Duration>) -> String {
    let Some(age) = age else {
        return "earlier".to_string();
    };
    let minutes = age.as_secs() / 60;
    match minutes {
        0..=1 => "a minute ago".to_string(),
        2..=119 => format!("{minutes} minutes ago"),
        120..=2879 => format!("{} hours ago", minutes / 60),
        _ => format!("{} days ago", minutes / (60 * 24)),
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    use fmt::Write as _;
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut text, byte| {
            let _ = write!(text, "{byte:02x}");
            text
        })
}

/// The manifest root of the tree unpacked from the content with `digest`, if there is one.
fn existing_tree(trees: &Path, digest: &str) -> Option<PathBuf> {
    let tree = trees.join(digest);
    tree.is_dir().then(|| {
        mark_used(&tree);
        manifest_root(&tree)
    })
}

/// The manifest root of an unpacked archive: its single top folder, or the archive's top.
fn manifest_root(tree: &Path) -> PathBuf {
    let entries: Vec<PathBuf> = fs_err::read_dir(tree)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .collect()
        })
        .unwrap_or_default();
    match entries.as_slice() {
        [single] if single.is_dir() && !holds_manifests(tree) => single.clone(),
        _ => tree.to_path_buf(),
    }
}

/// Whether `root` has at least one `<Org>/<Module>/<version>/installer-manifest.json`.
fn holds_manifests(root: &Path) -> bool {
    let directories = |path: &Path| -> Vec<PathBuf> {
        fs_err::read_dir(path)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
                    .map(|entry| entry.path())
                    .collect()
            })
            .unwrap_or_default()
    };
    directories(root).iter().any(|organisation| {
        directories(organisation).iter().any(|module| {
            directories(module)
                .iter()
                .any(|version| version.join(MANIFEST_FILE).is_file())
        })
    })
}

/// Records that a tree was used now, so that tidying keeps it.
fn mark_used(tree: &Path) {
    if let Ok(directory) = std::fs::File::open(tree) {
        // Failing only makes the tree look older: it may be unpacked again later.
        let _ = directory.set_modified(SystemTime::now());
    }
}

/// Makes temporary folder names unique within the process.
static TEMPORARY_TREES: AtomicU64 = AtomicU64::new(0);

/// The manifest root of `bytes` unpacked into `trees/<sha256>`, unpacking it unless that
/// tree exists.
fn unpacked(trees: &Path, label: &str, bytes: &[u8]) -> Result<PathBuf, SourceError> {
    let digest = hex_sha256(bytes);
    if let Some(root) = existing_tree(trees, &digest) {
        return Ok(root);
    }
    let cache_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SourceError::Cache { path, source }
    };
    fs_err::create_dir_all(trees).map_err(cache_error(trees))?;
    let temporary = trees.join(format!(
        ".unpack-{}-{}-{}",
        &digest[..16],
        std::process::id(),
        TEMPORARY_TREES.fetch_add(1, Ordering::Relaxed)
    ));
    let result = unpack(bytes, &temporary, label).and_then(|()| {
        let root = manifest_root(&temporary);
        if holds_manifests(&root) {
            Ok(())
        } else {
            Err(SourceError::NoManifests {
                origin: label.to_string(),
                found: top_names(&root),
            })
        }
    });
    if let Err(error) = result {
        let _ = std::fs::remove_dir_all(&temporary);
        return Err(error);
    }
    let tree = trees.join(&digest);
    if let Err(error) = std::fs::rename(&temporary, &tree) {
        let _ = std::fs::remove_dir_all(&temporary);
        // Another run unpacked the same content first: its tree is as good.
        if !tree.is_dir() {
            return Err(SourceError::Cache {
                path: tree,
                source: error,
            });
        }
    }
    tidy(trees, &tree);
    Ok(manifest_root(&tree))
}

/// What the top of an archive holds, for the error that finds no manifests there.
fn top_names(root: &Path) -> String {
    let mut names: Vec<String> = fs_err::read_dir(root)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    if names.is_empty() {
        return "nothing".to_string();
    }
    names.sort();
    let more = names.len().saturating_sub(5);
    names.truncate(5);
    let mut text = names.join(", ");
    if more > 0 {
        use fmt::Write as _;
        let _ = write!(text, " and {more} more");
    }
    text
}

/// Removes trees unused for a month and the temporary folders of killed runs.
fn tidy(trees: &Path, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(trees) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path == keep {
            continue;
        }
        let age = entry
            .metadata()
            .and_then(|metadata| metadata.modified())
            .ok()
            .and_then(|modified| SystemTime::now().duration_since(modified).ok())
            .unwrap_or_default();
        let temporary = entry.file_name().to_string_lossy().starts_with(".unpack-");
        if age
            > if temporary {
                ABANDONED_AGE
            } else {
                UNUSED_TREE_AGE
            }
        {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArchiveFormat {
    TarGz,
    Tar,
    Zip,
}

/// The format by the content's magic bytes: a server may call any of them
/// `application/octet-stream`, and an error page `.tar.gz`.
fn format_of(bytes: &[u8]) -> Option<ArchiveFormat> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        Some(ArchiveFormat::TarGz)
    } else if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        Some(ArchiveFormat::Zip)
    } else if bytes.get(257..262) == Some(b"ustar") || has_tar_checksum(bytes) {
        Some(ArchiveFormat::Tar)
    } else {
        None
    }
}

/// Whether the first 512 bytes are a tar header by its checksum: the sum of the header's bytes,
/// the checksum field counted as spaces, written in octal at 148. Old (v7) tars have no
/// `ustar` magic to tell them by.
fn has_tar_checksum(bytes: &[u8]) -> bool {
    let Some(header) = bytes.get(..512) else {
        return false;
    };
    let field = String::from_utf8_lossy(&header[148..156]);
    let Ok(written) = u32::from_str_radix(field.trim_matches(|c: char| c == '\0' || c == ' '), 8)
    else {
        return false;
    };
    let sum: u32 = header
        .iter()
        .enumerate()
        .map(|(index, byte)| {
            if (148..156).contains(&index) {
                u32::from(b' ')
            } else {
                u32::from(*byte)
            }
        })
        .sum();
    written == sum
}

/// The first bytes of a file that is no archive, as an error shows them.
fn describe_start(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "nothing (it is empty)".to_string();
    }
    let start: String = String::from_utf8_lossy(&bytes[..bytes.len().min(24)])
        .chars()
        .map(|character| {
            if character.is_control() {
                '.'
            } else {
                character
            }
        })
        .collect();
    let looks_like_html = start.trim_start().starts_with('<');
    format!(
        "`{start}`{}",
        if looks_like_html {
            " (an HTML page?)"
        } else {
            ""
        }
    )
}

/// Unpacks `bytes` into the folder `into` (which must not exist).
fn unpack(bytes: &[u8], into: &Path, label: &str) -> Result<(), SourceError> {
    let Some(format) = format_of(bytes) else {
        return Err(SourceError::NotAnArchive {
            origin: label.to_string(),
            start: describe_start(bytes),
        });
    };
    fs_err::create_dir(into).map_err(|source| SourceError::Cache {
        path: into.to_path_buf(),
        source,
    })?;
    let mut writer = TreeWriter {
        root: into,
        label,
        entries: 0,
        bytes: 0,
    };
    match format {
        ArchiveFormat::TarGz => writer.tar(flate2::read::GzDecoder::new(bytes)),
        ArchiveFormat::Tar => writer.tar(bytes),
        ArchiveFormat::Zip => writer.zip(bytes),
    }
}

/// Writes an archive's entries under `root`, counting what it wrote against the limits.
struct TreeWriter<'a> {
    root: &'a Path,
    label: &'a str,
    entries: usize,
    bytes: u64,
}

impl TreeWriter<'_> {
    fn unpack_error(&self, message: impl fmt::Display) -> SourceError {
        SourceError::Unpack {
            origin: self.label.to_string(),
            message: message.to_string(),
        }
    }

    fn cache_error(path: &Path) -> impl FnOnce(std::io::Error) -> SourceError {
        let path = path.to_path_buf();
        move |source| SourceError::Cache { path, source }
    }

    /// The path under `root` of an entry named `name`; `None` for the archive's top itself.
    fn target(&mut self, name: &Path) -> Result<Option<PathBuf>, SourceError> {
        self.entries += 1;
        if self.entries > MAX_ENTRIES {
            return Err(SourceError::TooLarge {
                origin: self.label.to_string(),
                limit: format!("{MAX_ENTRIES} entries"),
            });
        }
        let mut relative = PathBuf::new();
        for component in name.components() {
            match component {
                Component::Normal(part) => relative.push(part),
                Component::CurDir => {}
                Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                    return Err(SourceError::UnsafeEntry {
                        origin: self.label.to_string(),
                        entry: name.display().to_string(),
                    });
                }
            }
        }
        Ok((!relative.as_os_str().is_empty()).then(|| self.root.join(relative)))
    }

    fn directory(&mut self, name: &Path) -> Result<(), SourceError> {
        if let Some(path) = self.target(name)? {
            fs_err::create_dir_all(&path).map_err(Self::cache_error(&path))?;
        }
        Ok(())
    }

    fn file(&mut self, name: &Path, content: &mut dyn Read) -> Result<(), SourceError> {
        let Some(path) = self.target(name)? else {
            return Ok(());
        };
        // No link is ever created under `root`, so these folders are all inside it.
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent).map_err(Self::cache_error(parent))?;
        }
        let mut file = fs_err::File::create(&path).map_err(Self::cache_error(&path))?;
        let allowed = MAX_UNPACKED_BYTES - self.bytes;
        let written = std::io::copy(&mut content.take(allowed + 1), &mut file)
            .map_err(|error| self.unpack_error(format_args!("{}: {error}", name.display())))?;
        self.bytes += written;
        if written > allowed {
            return Err(SourceError::TooLarge {
                origin: self.label.to_string(),
                limit: format!("{} MiB", MAX_UNPACKED_BYTES / (1024 * 1024)),
            });
        }
        Ok(())
    }

    /// A link is counted and skipped: the manifests need none, and one pointing outside would
    /// let a later entry write there.
    fn skip(&mut self, name: &Path) -> Result<(), SourceError> {
        self.target(name).map(drop)
    }

    fn tar(&mut self, reader: impl Read) -> Result<(), SourceError> {
        let mut archive = tar::Archive::new(reader);
        let entries = archive
            .entries()
            .map_err(|error| self.unpack_error(error))?;
        for entry in entries {
            let mut entry = entry.map_err(|error| self.unpack_error(error))?;
            let name = entry
                .path()
                .map_err(|error| self.unpack_error(error))?
                .into_owned();
            match entry.header().entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    self.file(&name, &mut entry)?;
                }
                tar::EntryType::Directory => self.directory(&name)?,
                tar::EntryType::Symlink | tar::EntryType::Link => self.skip(&name)?,
                // Global and per-file pax headers, and other kinds that hold no file.
                _ => {}
            }
        }
        Ok(())
    }

    fn zip(&mut self, bytes: &[u8]) -> Result<(), SourceError> {
        let mut archive =
            zip::ZipArchive::new(Cursor::new(bytes)).map_err(|error| self.unpack_error(error))?;
        for index in 0..archive.len() {
            let mut entry = archive
                .by_index(index)
                .map_err(|error| self.unpack_error(error))?;
            // Zip names separate with `/`; archives made on Windows sometimes use `\`.
            let name = PathBuf::from(entry.name().replace('\\', "/"));
            if entry.is_symlink() {
                self.skip(&name)?;
            } else if entry.is_dir() {
                self.directory(&name)?;
            } else {
                self.file(&name, &mut entry)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_urls_or_paths() {
        let parse = |text: &str| {
            text.parse::<ManifestSource>()
                .map_err(|error| error.to_string())
        };
        assert_eq!(
            parse("https://example.org/m.tar.gz"),
            Ok(ManifestSource::Url("https://example.org/m.tar.gz".into()))
        );
        assert_eq!(
            parse("HTTP://example.org/m.zip"),
            Ok(ManifestSource::Url("HTTP://example.org/m.zip".into()))
        );
        assert_eq!(
            parse("file:///srv/m.zip"),
            Ok(ManifestSource::Path("/srv/m.zip".into()))
        );
        assert_eq!(
            parse("file://localhost/srv/m"),
            Ok(ManifestSource::Path("/srv/m".into()))
        );
        assert_eq!(
            parse("../manifests"),
            Ok(ManifestSource::Path("../manifests".into()))
        );
        assert_eq!(
            parse("ftp://user:secret@example.org/m.zip"),
            Err("`ftp://example.org/m.zip` is neither a directory, an archive's path nor an http(s) or file:// URL".into())
        );
        assert!(parse("file://relative/m.zip").is_err());
        assert!(parse("  ").is_err());
    }

    #[test]
    fn credentials_stay_out_of_display_and_debug() {
        let source: ManifestSource = "https://bot:s3cret@example.org/m.tar.gz".parse().unwrap();
        assert_eq!(source.to_string(), "https://example.org/m.tar.gz");
        assert!(!format!("{source:?}").contains("s3cret"));
    }

    #[test]
    fn relative_paths_are_taken_from_the_base() {
        let base = Path::new("/shop");
        let relative = ManifestSource::Path("manifests".into()).relative_to(base);
        assert_eq!(relative, ManifestSource::Path("/shop/manifests".into()));
        let url = ManifestSource::Url("https://example.org/m.zip".into());
        assert_eq!(url.clone().relative_to(base), url);
    }

    #[test]
    fn formats_are_told_by_content() {
        assert_eq!(format_of(&[0x1f, 0x8b, 8]), Some(ArchiveFormat::TarGz));
        assert_eq!(format_of(b"PK\x03\x04rest"), Some(ArchiveFormat::Zip));
        let mut tar = vec![0; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(format_of(&tar), Some(ArchiveFormat::Tar));
        assert_eq!(format_of(b"<!DOCTYPE html>"), None);
        assert_eq!(
            describe_start(b"<!DOCTYPE html>\n<html>"),
            "`<!DOCTYPE html>.<html>` (an HTML page?)"
        );
        assert_eq!(describe_start(b""), "nothing (it is empty)");
    }

    #[test]
    fn ages_read_as_people_say_them() {
        assert_eq!(ago(None), "earlier");
        assert_eq!(ago(Some(Duration::from_secs(30))), "a minute ago");
        assert_eq!(ago(Some(Duration::from_mins(5))), "5 minutes ago");
        assert_eq!(ago(Some(Duration::from_hours(5))), "5 hours ago");
        assert_eq!(ago(Some(Duration::from_hours(72))), "3 days ago");
    }
}
