//! The incremental cache: what reading each file produced (its [`FileFacts`] and problems, or
//! its XML definitions), stored on disk and keyed by the file's content, so that a run after a
//! small change parses only the files that changed.
//!
//! A cached entry is used only for a file whose bytes hash (xxh3, 128 bits) to the hash the
//! entry was made from, by a build of this crate with the same sources and parser versions
//! (see `build.rs`), for the same project namespaces (they decide which classes are the
//! project's). Project files are always read, since the rules need their text, so their hash
//! is always checked. Core files are many and change rarely: like git's index, an entry keeps
//! the file's size, modification and change times, inode and device, and when all of them
//! are unchanged the file is not read at all. A file modified within [`RACY_WINDOW_NS`] of
//! the run that recorded it is read and hashed anyway: a second edit in the same timestamp
//! tick would leave its times unchanged ("racy git").
//!
//! Walking the directories is the other half of a run's system calls, so the listing of each
//! directory is kept with the directory's stamp too, and reused while the stamp is unchanged
//! (adding, removing or renaming an entry changes it); a directory with a symbolic link in it
//! is always listed again.
//!
//! Only reading is cached. The rules run on every run: what they find in one file can depend
//! on any other file through the index, and parsing and checking the project's own files is a
//! small part of a run.
//!
//! Three files in the cache directory (by default `<project>/.upkeep/cache`;
//! `.upkeep/.gitignore` keeps it out of git): `project.bin`, `core.bin` and `dirs.bin`. Each is
//! `MAGIC`, the schema version (u32 LE), the header length (u64 LE), the header (bincode: tool
//! fingerprint, namespaces, root, scan time, and per file its path, stamp, content hash, blob
//! range and blob checksum, or per directory its path, stamp and entries), an xxh3 checksum of
//! all that (u64 LE), then the blobs (bincode of each file's [`FileRead`]). A run reads the
//! header and then only the blobs it uses, each checked against its checksum, into a reused
//! buffer: reading all 40 MB of core's blobs into memory first took as long and 40 MB more.
//! Only a file with a changed entry is written again, to a temporary file renamed over the old
//! one, so readers and concurrent runs see a whole old or a whole new file. A file that is
//! damaged, from another version or for other namespaces is ignored and rewritten; a damaged
//! blob costs only its file's parse.
//!
//! ```no_run
//! use upkeep_php::cache::CacheConfig;
//! use upkeep_php::project::{LoadOptions, load_with};
//!
//! let root = std::path::Path::new("path/to/shop");
//! let options = LoadOptions { cache: Some(CacheConfig::in_project(root)) };
//! let project = load_with(root, &options)?;
//! if let Some(cache) = &project.cache {
//!     println!("{} files from the cache, {} parsed", cache.reused, cache.parsed);
//! }
//! # Ok::<(), upkeep_php::project::LoadError>(())
//! ```

use std::collections::HashMap;
use std::io::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::{Xxh3Default, xxh3_64, xxh3_128};

use std::cell::RefCell;

use crate::extract::FileFacts;
use crate::index::{FileOrigin, IndexedFile};
use crate::model::FileId;
use crate::project::{DirEntries, FileRead, list_dir};
use crate::spryker::ProjectNamespaces;

/// The version of the file layout and of what an entry holds; bump it when either changes
/// in a way the build fingerprint does not see.
const SCHEMA_VERSION: u32 = 2;

const MAGIC: &[u8; 8] = b"UPKEEP\xCA\xC7";

/// This build: the crate version and a fingerprint of its sources and parser versions.
const TOOL: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "+",
    env!("UPKEEP_PHP_FINGERPRINT")
);

/// A file whose modification or change time is this close to (or after) the start of the run
/// that recorded it is read and hashed even when its stamp is unchanged. Two seconds cover
/// file systems with one- and two-second timestamps and the coarse kernel clock.
pub const RACY_WINDOW_NS: i64 = 2_000_000_000;

/// Decoding never claims more than this, so a damaged length cannot exhaust memory.
const DECODE_LIMIT: usize = 1 << 28;

fn encoding() -> bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Varint,
    bincode::config::Limit<DECODE_LIMIT>,
> {
    bincode::config::standard().with_limit::<DECODE_LIMIT>()
}

/// Temporary files left behind by a run that was killed mid-write are removed after this.
const STALE_TEMPORARY: Duration = Duration::from_hours(1);

/// Where the cache lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    pub dir: PathBuf,
}

impl CacheConfig {
    /// The default directory under the project root.
    pub const PROJECT_DIR: &'static str = ".upkeep/cache";

    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// `<root>/.upkeep/cache`.
    pub fn in_project(root: &Path) -> Self {
        Self::new(root.join(Self::PROJECT_DIR))
    }
}

/// What the cache did in one load.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheUse {
    /// Files whose facts came from the cache.
    pub reused: usize,
    /// Files parsed: new, changed, or not in the cache.
    pub parsed: usize,
    /// Core files read and hashed because their stamp changed or was too recent to trust
    /// (included in `reused` or `parsed`).
    pub verified: usize,
    /// Cache files written by this load.
    pub written: Vec<PathBuf>,
    /// What went wrong with the cache: a damaged file, a failed write. The load's result is
    /// the same either way.
    pub problems: Vec<String>,
}

/// What the file system says about a file, to tell cheaply that it is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct FileStamp {
    size: u64,
    /// Nanoseconds since the Unix epoch.
    modified: i64,
    changed: i64,
    inode: u64,
    device: u64,
}

impl FileStamp {
    #[cfg(unix)]
    fn of(metadata: &std::fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        Self {
            size: metadata.size(),
            modified: metadata
                .mtime()
                .saturating_mul(1_000_000_000)
                .saturating_add(metadata.mtime_nsec()),
            changed: metadata
                .ctime()
                .saturating_mul(1_000_000_000)
                .saturating_add(metadata.ctime_nsec()),
            inode: metadata.ino(),
            device: metadata.dev(),
        }
    }

    #[cfg(not(unix))]
    fn of(metadata: &std::fs::Metadata) -> Self {
        Self {
            size: metadata.len(),
            modified: metadata.modified().map_or(i64::MAX, nanos_since_epoch),
            changed: 0,
            inode: 0,
            device: 0,
        }
    }

    /// True when a change right after `scanned_at` could have left this stamp as it is.
    fn is_racy(&self, scanned_at: i64) -> bool {
        let limit = scanned_at.saturating_sub(RACY_WINDOW_NS);
        self.modified >= limit || self.changed >= limit
    }
}

fn nanos_since_epoch(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        i64::try_from(since.as_nanos()).unwrap_or(i64::MAX)
    })
}

/// The start of a cache file of file entries, and the index of its entries.
#[derive(Debug, Serialize, Deserialize)]
struct Header {
    tool: String,
    namespaces: Vec<String>,
    /// The canonical project root the stamps were taken in.
    root: String,
    /// When the run that wrote the file started looking at files (ns since the epoch).
    scanned_at: i64,
    entries: Vec<EntryRecord>,
}

#[derive(Debug, Serialize, Deserialize)]
struct EntryRecord {
    /// Relative to the root, as the index lists it.
    path: String,
    stamp: FileStamp,
    hash: u128,
    blob: BlobRef,
}

/// Where a blob is within the blobs section, and its xxh3 checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct BlobRef {
    offset: u64,
    len: u64,
    check: u64,
}

/// A stored entry, found by path.
#[derive(Debug)]
struct StoredEntry {
    stamp: FileStamp,
    hash: u128,
    blob: BlobRef,
}

/// One cache file of file entries: its header read and checked, its blobs still on disk.
#[derive(Debug)]
struct StoredPart {
    path: PathBuf,
    file: std::fs::File,
    blobs_start: u64,
    scanned_at: i64,
    /// Stamps are only comparable for the same root.
    same_root: bool,
    entries: HashMap<String, StoredEntry>,
}

/// `dirs.bin`: the directory listings.
#[derive(Debug, Serialize, Deserialize)]
struct DirsHeader {
    tool: String,
    root: String,
    scanned_at: i64,
    dirs: Vec<DirRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct DirRecord {
    path: String,
    stamp: FileStamp,
    /// Names of the entries that are not directories.
    files: Vec<String>,
    subdirs: Vec<String>,
}

/// How this run saw a directory.
enum SeenDir {
    /// As stored: these positions in the stored listings.
    Stored(Range<usize>),
    Fresh {
        record: DirRecord,
        changed: bool,
    },
}

/// Directory listings: those stored by an earlier run (sorted by path), and how this run saw
/// each directory.
pub(crate) struct DirListings {
    stored: Vec<DirRecord>,
    stored_scanned_at: i64,
    same_root: bool,
    scanned_at: i64,
    seen: Mutex<Vec<SeenDir>>,
}

impl DirListings {
    fn empty(scanned_at: i64) -> Self {
        Self {
            stored: Vec::new(),
            stored_scanned_at: 0,
            same_root: false,
            scanned_at,
            seen: Mutex::default(),
        }
    }

    fn see(&self, seen: SeenDir) {
        if let Ok(mut all) = self.seen.lock() {
            all.push(seen);
        }
    }

    fn position(&self, path: &str) -> Option<usize> {
        self.stored
            .binary_search_by(|record| record.path.as_str().cmp(path))
            .ok()
    }

    /// True when the stored listing is still the directory's: same root, same stamp, and
    /// the stamp was old enough to trust when it was recorded.
    fn is_current(&self, record: &DirRecord, stamp: &FileStamp) -> bool {
        self.same_root && record.stamp == *stamp && !record.stamp.is_racy(self.stored_scanned_at)
    }

    /// All files below `dir` when no directory in it changed since it was stored: one stamp
    /// per directory, checked in parallel, and no listing at all. `None` when anything
    /// differs (or the tree was not stored); the caller then walks it.
    pub(crate) fn unchanged_tree(&self, root: &Path, dir: &Path) -> Option<Vec<PathBuf>> {
        let key = dir.to_str()?;
        let top = self.position(key)?;
        // Paths with the same prefix are next to each other in sorted order.
        let prefix = format!("{key}/");
        let below_start = self
            .stored
            .partition_point(|record| record.path.as_str() < prefix.as_str());
        let below_len =
            self.stored[below_start..].partition_point(|record| record.path.starts_with(&prefix));
        let below = below_start..below_start + below_len;
        let tree: Vec<&DirRecord> = std::iter::once(&self.stored[top])
            .chain(&self.stored[below.clone()])
            .collect();
        let unchanged = tree.par_iter().all(|record| {
            std::fs::metadata(root.join(&record.path))
                .is_ok_and(|metadata| self.is_current(record, &FileStamp::of(&metadata)))
        });
        if !unchanged {
            return None;
        }
        let files = tree
            .par_iter()
            .flat_map_iter(|record| {
                let dir = Path::new(&record.path);
                record.files.iter().map(move |name| dir.join(name))
            })
            .collect();
        self.see(SeenDir::Stored(top..top + 1));
        self.see(SeenDir::Stored(below));
        Some(files)
    }

    /// Lists `dir` (relative to `root`), from the stored listing when the directory's stamp
    /// is the stored one and old enough to trust.
    pub(crate) fn list(&self, root: &Path, dir: &Path) -> std::io::Result<DirEntries> {
        let Some(key) = dir.to_str() else {
            return list_dir(root, dir);
        };
        // Taken before listing, like a file's stamp before reading it.
        let Ok(metadata) = std::fs::metadata(root.join(dir)) else {
            // Missing, or an error `list_dir` reports in its own words.
            return list_dir(root, dir);
        };
        let stamp = FileStamp::of(&metadata);
        let position = self.position(key);
        let stored = position.map(|position| &self.stored[position]);
        if let (Some(position), Some(stored)) = (position, stored)
            && self.is_current(stored, &stamp)
        {
            let listed = DirEntries {
                files: stored.files.iter().map(|name| dir.join(name)).collect(),
                subdirs: stored.subdirs.iter().map(|name| dir.join(name)).collect(),
                has_symlinks: false,
            };
            self.see(SeenDir::Stored(position..position + 1));
            return Ok(listed);
        }
        let listed = list_dir(root, dir)?;
        let names = |paths: &[PathBuf]| -> Option<Vec<String>> {
            paths
                .iter()
                .map(|path| Some(path.file_name()?.to_str()?.to_string()))
                .collect()
        };
        if !listed.has_symlinks
            && let (Some(files), Some(subdirs)) = (names(&listed.files), names(&listed.subdirs))
        {
            let record = DirRecord {
                path: key.to_string(),
                stamp,
                files,
                subdirs,
            };
            let changed = stored.is_none_or(|stored| {
                *stored != record
                    || !self.same_root
                    || stored.stamp.is_racy(self.stored_scanned_at)
                        && !stamp.is_racy(self.scanned_at)
            });
            self.see(SeenDir::Fresh { record, changed });
        }
        Ok(listed)
    }
}

/// Why a cache file was not used.
enum Rejected {
    /// Another version, other namespaces: expected after an upgrade, rewritten silently.
    Outdated,
    Damaged(String),
}

/// A cache file whose framing and header checksum are right; the blobs are left on disk.
struct Container {
    file: std::fs::File,
    header: Vec<u8>,
    blobs_start: u64,
    blobs_len: u64,
}

const PREFIX_LEN: usize = MAGIC.len() + 4 + 8;

/// Reads a cache file's header; `Ok(None)` when there is none (or it is of another schema).
fn read_container(path: &Path) -> Result<Option<Container>, String> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error)
            if matches!(
                error.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(None);
        }
        Err(error) => {
            return Err(format!(
                "cannot read the cache file {}: {error}; files were read without it",
                path.display()
            ));
        }
    };
    match check_container(file) {
        Ok(container) => Ok(Some(container)),
        Err(Rejected::Outdated) => Ok(None),
        Err(Rejected::Damaged(reason)) => Err(damaged(path, &reason)),
    }
}

fn damaged(path: &Path, reason: &str) -> String {
    format!(
        "the cache file {} is damaged ({reason}); it was ignored and will be rewritten",
        path.display()
    )
}

fn check_container(file: std::fs::File) -> Result<Container, Rejected> {
    let damaged = |reason: &str| Rejected::Damaged(reason.to_string());
    let unreadable = |error: std::io::Error| Rejected::Damaged(format!("unreadable: {error}"));
    let file_len = file.metadata().map_err(unreadable)?.len();
    if file_len < (PREFIX_LEN + 8) as u64 {
        return Err(damaged("too short"));
    }
    let mut prefix = [0_u8; PREFIX_LEN];
    read_at(&file, &mut prefix, 0).map_err(unreadable)?;
    if &prefix[..MAGIC.len()] != MAGIC {
        return Err(damaged("not an upkeep cache file"));
    }
    let schema = u32::from_le_bytes(prefix[8..12].try_into().unwrap_or_default());
    if schema != SCHEMA_VERSION {
        return Err(Rejected::Outdated);
    }
    let header_len = u64::from_le_bytes(prefix[12..20].try_into().unwrap_or_default());
    let blobs_start = header_len
        .checked_add((PREFIX_LEN + 8) as u64)
        .filter(|&start| start <= file_len)
        .ok_or_else(|| damaged("truncated header"))?;
    let mut header =
        vec![0_u8; usize::try_from(header_len).map_err(|_| damaged("header too long"))?];
    read_at(&file, &mut header, PREFIX_LEN as u64).map_err(unreadable)?;
    let mut check = [0_u8; 8];
    read_at(&file, &mut check, PREFIX_LEN as u64 + header_len).map_err(unreadable)?;
    let mut hasher = Xxh3Default::new();
    hasher.update(&prefix);
    hasher.update(&header);
    if hasher.digest().to_le_bytes() != check {
        return Err(damaged("header checksum mismatch: truncated or altered"));
    }
    Ok(Container {
        file,
        header,
        blobs_start,
        blobs_len: file_len - blobs_start,
    })
}

#[cfg(unix)]
fn read_at(file: &std::fs::File, buffer: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buffer, offset)
}

#[cfg(windows)]
fn read_at(file: &std::fs::File, mut buffer: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    while !buffer.is_empty() {
        match std::os::windows::fs::FileExt::seek_read(file, buffer, offset)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            read => {
                buffer = &mut buffer[read..];
                offset += read as u64;
            }
        }
    }
    Ok(())
}

#[cfg(not(any(unix, windows)))]
fn read_at(_: &std::fs::File, _: &mut [u8], _: u64) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

/// Writes a cache file to a temporary file and renames it into place.
fn write_container<'b>(
    dir: &Path,
    name: &str,
    header: &[u8],
    blobs: impl Iterator<Item = &'b [u8]>,
) -> std::io::Result<PathBuf> {
    fs_err::create_dir_all(dir)?;
    mark_cache_dir(dir);
    let target = dir.join(name);
    let temporary = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        nanos_since_epoch(SystemTime::now())
    ));
    let written = (|| {
        let file = fs_err::File::create(&temporary)?;
        let mut out = ChecksumWriter {
            inner: std::io::BufWriter::with_capacity(1 << 20, file),
            hasher: Xxh3Default::new(),
        };
        out.write_all(MAGIC)?;
        out.write_all(&SCHEMA_VERSION.to_le_bytes())?;
        out.write_all(&(header.len() as u64).to_le_bytes())?;
        out.write_all(header)?;
        let checksum = out.hasher.digest();
        out.inner.write_all(&checksum.to_le_bytes())?;
        for blob in blobs {
            out.inner.write_all(blob)?;
        }
        out.inner
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)?;
        // No fsync: after a crash a torn file fails a checksum and is rebuilt.
        fs_err::rename(&temporary, &target)
    })();
    if let Err(error) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(error);
    }
    remove_stale_temporaries(dir);
    Ok(target)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Project,
    Core,
}

impl Part {
    fn of(origin: FileOrigin) -> Self {
        match origin {
            FileOrigin::Project => Part::Project,
            FileOrigin::Core => Part::Core,
        }
    }

    fn file_name(self) -> &'static str {
        match self {
            Part::Project => "project.bin",
            Part::Core => "core.bin",
        }
    }
}

const DIRS_FILE: &str = "dirs.bin";

enum Blob {
    /// The old entry's blob, copied as it is.
    Stored(BlobRef),
    Fresh(Vec<u8>),
}

/// What to record for one file.
struct Outcome {
    stamp: FileStamp,
    hash: u128,
    blob: Blob,
    /// The record differs from the stored one (new file, new content, new stamp).
    changed: bool,
}

/// The cache during one load: the stored parts, then what each file turned out to be.
pub(crate) struct CacheSession {
    dir: PathBuf,
    root: String,
    namespaces: Vec<String>,
    scanned_at: i64,
    dirs: DirListings,
    parts: [Option<StoredPart>; 2],
    outcomes: Vec<OnceLock<Outcome>>,
    problems: Mutex<Vec<String>>,
    reused: AtomicUsize,
    parsed: AtomicUsize,
    verified: AtomicUsize,
}

impl CacheSession {
    /// Reads the stored directory listings, then runs `discover` with them while it reads
    /// the stored files. Anything unusable is left out (with a problem when damaged).
    pub(crate) fn open<T: Send>(
        config: &CacheConfig,
        root: &Path,
        namespaces: &ProjectNamespaces,
        discover: impl FnOnce(&DirListings) -> T + Send,
    ) -> (Self, T) {
        // Taken before any file is looked at: see `FileStamp::is_racy`.
        let scanned_at = nanos_since_epoch(SystemTime::now());
        let root = std::fs::canonicalize(root)
            .unwrap_or_else(|_| root.to_path_buf())
            .to_string_lossy()
            .into_owned();
        let mut session = Self {
            dir: config.dir.clone(),
            root,
            namespaces: namespaces.0.clone(),
            scanned_at,
            dirs: DirListings::empty(scanned_at),
            parts: [None, None],
            outcomes: Vec::new(),
            problems: Mutex::default(),
            reused: AtomicUsize::new(0),
            parsed: AtomicUsize::new(0),
            verified: AtomicUsize::new(0),
        };
        let mut problems = Vec::new();
        match session.open_dirs() {
            Ok(Some(dirs)) => session.dirs = dirs,
            Ok(None) => {}
            Err(problem) => problems.push(problem),
        }
        let (found, (project, core)) = rayon::join(
            || discover(&session.dirs),
            || {
                rayon::join(
                    || session.open_part(Part::Project),
                    || session.open_part(Part::Core),
                )
            },
        );
        for (index, opened) in [project, core].into_iter().enumerate() {
            match opened {
                Ok(part) => session.parts[index] = part,
                Err(problem) => problems.push(problem),
            }
        }
        session.problems = Mutex::new(problems);
        (session, found)
    }

    fn open_dirs(&self) -> Result<Option<DirListings>, String> {
        let path = self.dir.join(DIRS_FILE);
        let Some(container) = read_container(&path)? else {
            return Ok(None);
        };
        let (header, _): (DirsHeader, usize) =
            bincode::serde::decode_from_slice(&container.header, encoding())
                .map_err(|error| damaged(&path, &format!("unreadable header: {error}")))?;
        if header.tool != TOOL {
            return Ok(None);
        }
        let mut stored = header.dirs;
        // Written sorted; `unchanged_tree` and `position` rely on it.
        if !stored.is_sorted_by(|a, b| a.path < b.path) {
            stored.sort_by(|a, b| a.path.cmp(&b.path));
            stored.dedup_by(|a, b| a.path == b.path);
        }
        Ok(Some(DirListings {
            stored,
            stored_scanned_at: header.scanned_at,
            same_root: header.root == self.root,
            scanned_at: self.scanned_at,
            seen: Mutex::default(),
        }))
    }

    fn open_part(&self, part: Part) -> Result<Option<StoredPart>, String> {
        let path = self.dir.join(part.file_name());
        let Some(container) = read_container(&path)? else {
            return Ok(None);
        };
        let (header, _): (Header, usize) =
            bincode::serde::decode_from_slice(&container.header, encoding())
                .map_err(|error| damaged(&path, &format!("unreadable header: {error}")))?;
        if header.tool != TOOL || header.namespaces != self.namespaces {
            return Ok(None);
        }
        let mut entries = HashMap::with_capacity(header.entries.len());
        for record in header.entries {
            let in_range = record
                .blob
                .offset
                .checked_add(record.blob.len)
                .is_some_and(|end| end <= container.blobs_len);
            if !in_range {
                return Err(damaged(&path, "entry out of range"));
            }
            entries.insert(
                record.path,
                StoredEntry {
                    stamp: record.stamp,
                    hash: record.hash,
                    blob: record.blob,
                },
            );
        }
        Ok(Some(StoredPart {
            path,
            file: container.file,
            blobs_start: container.blobs_start,
            scanned_at: header.scanned_at,
            same_root: header.root == self.root,
            entries,
        }))
    }

    /// Makes room for what the `files` files of this load turn out to be.
    pub(crate) fn expect_files(&mut self, files: usize) {
        self.outcomes = std::iter::repeat_with(OnceLock::new).take(files).collect();
    }

    fn note(&self, problem: String) {
        if let Ok(mut problems) = self.problems.lock() {
            problems.push(problem);
        }
    }

    /// Reads, checks and decodes an entry's blob; `None` (with a problem) when it is damaged.
    fn decode(&self, part: &StoredPart, entry: &StoredEntry, file: FileId) -> Option<FileRead> {
        thread_local! {
            static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
        }
        let decoded = BUFFER.with_borrow_mut(|buffer| {
            buffer.clear();
            buffer.resize(
                usize::try_from(entry.blob.len).map_err(|_| "too long".to_string())?,
                0,
            );
            read_at(&part.file, buffer, part.blobs_start + entry.blob.offset)
                .map_err(|error| error.to_string())?;
            if xxh3_64(buffer) != entry.blob.check {
                return Err("an entry fails its checksum".to_string());
            }
            bincode::serde::decode_from_slice::<FileRead, _>(buffer, encoding())
                .map(|(read, _)| read)
                .map_err(|error| format!("an entry does not decode: {error}"))
        });
        match decoded {
            Ok(mut read) => {
                relocate(&mut read, file);
                Some(read)
            }
            Err(reason) => {
                self.note(format!(
                    "the cache file {} is damaged ({reason}); the files concerned were parsed again and it will be rewritten",
                    part.path.display()
                ));
                None
            }
        }
    }

    /// Reads one file, from the cache when its content is the cached one, else with `parse`
    /// (given the file's bytes). Project files keep their text; core files are read only
    /// when their stamp is not trusted.
    pub(crate) fn read(
        &self,
        root: &Path,
        file: FileId,
        path: &Path,
        is_project: bool,
        parse: impl FnOnce(Vec<u8>) -> FileRead,
    ) -> std::io::Result<FileRead> {
        let origin = if is_project {
            FileOrigin::Project
        } else {
            FileOrigin::Core
        };
        let part = Part::of(origin);
        let stored = self.parts[part as usize].as_ref().and_then(|stored| {
            let entry = stored.entries.get(path.to_str()?)?;
            Some((stored, entry))
        });
        // A core file whose stored stamp still holds is not even opened.
        if origin == FileOrigin::Core
            && let Some((stored, entry)) = stored
            && stored.same_root
            && !entry.stamp.is_racy(stored.scanned_at)
            && std::fs::metadata(root.join(path))
                .is_ok_and(|metadata| FileStamp::of(&metadata) == entry.stamp)
            && let Some(read) = self.decode(stored, entry, file)
        {
            self.reused.fetch_add(1, Ordering::Relaxed);
            self.record(
                file,
                Outcome {
                    stamp: entry.stamp,
                    hash: entry.hash,
                    blob: Blob::Stored(entry.blob),
                    changed: false,
                },
            );
            return Ok(read);
        }

        let (text, stamp) = read_with_stamp(root, path)?;
        let racy_now = stamp.is_racy(self.scanned_at);
        // Whether an unchanged entry would be recorded differently now.
        let restamp = |stored: &StoredPart, entry: &StoredEntry| {
            entry.stamp != stamp
                || !stored.same_root
                || entry.stamp.is_racy(stored.scanned_at) && !racy_now
        };
        let hash = xxh3_128(&text);
        if origin == FileOrigin::Core && stored.is_some() {
            self.verified.fetch_add(1, Ordering::Relaxed);
        }
        if let Some((stored, entry)) = stored
            && entry.hash == hash
            && let Some(mut read) = self.decode(stored, entry, file)
        {
            set_text(&mut read, (origin == FileOrigin::Project).then_some(text));
            self.reused.fetch_add(1, Ordering::Relaxed);
            self.record(
                file,
                Outcome {
                    stamp,
                    hash,
                    blob: Blob::Stored(entry.blob),
                    // Project stamps are never trusted, so a new one alone is no reason to write.
                    changed: origin == FileOrigin::Core && restamp(stored, entry),
                },
            );
            return Ok(read);
        }

        let read = parse(text);
        self.parsed.fetch_add(1, Ordering::Relaxed);
        // A path that is not UTF-8 is simply not cached.
        if path.to_str().is_some() {
            match encode_blob(&read) {
                Ok(blob) => self.record(
                    file,
                    Outcome {
                        stamp,
                        hash,
                        blob: Blob::Fresh(blob),
                        changed: true,
                    },
                ),
                Err(error) => self.note(format!(
                    "{} could not be cached ({error}); it will be parsed again next time",
                    path.display()
                )),
            }
        }
        Ok(read)
    }

    fn record(&self, file: FileId, outcome: Outcome) {
        if let Some(slot) = self.outcomes.get(file.0 as usize) {
            // Each file is read once, so the slot is empty.
            let _ = slot.set(outcome);
        }
    }

    /// Writes the parts that changed and says what the cache did. `files` is the index's
    /// file list, whose positions are the file ids `read` was given.
    pub(crate) fn finish(self, files: &[IndexedFile]) -> CacheUse {
        let write_part = |part: Part| -> Result<Option<PathBuf>, String> {
            let stored = self.parts[part as usize].as_ref();
            let kept = || {
                files
                    .iter()
                    .zip(&self.outcomes)
                    .filter(|(file, _)| Part::of(file.origin) == part)
                    .filter_map(|(file, outcome)| Some((file.path.to_str()?, outcome.get()?)))
            };
            let unchanged = stored.is_some_and(|stored| {
                let mut count = 0;
                kept().all(|(_, outcome)| {
                    count += 1;
                    !outcome.changed
                }) && count == stored.entries.len()
            });
            if unchanged {
                return Ok(None);
            }
            let kept: Vec<(&str, &Outcome)> = kept().collect();
            self.write_part(part, &kept, stored)
                .map(Some)
                .map_err(|error| self.cannot_write(&error))
        };
        let ((project, core), dirs) = rayon::join(
            || rayon::join(|| write_part(Part::Project), || write_part(Part::Core)),
            || self.write_dirs().map_err(|error| self.cannot_write(&error)),
        );
        let Self {
            problems,
            reused,
            parsed,
            verified,
            parts,
            dirs: listings,
            outcomes,
            ..
        } = self;
        // Tens of thousands of small allocations: freed off the critical path.
        rayon::spawn(move || drop((parts, listings, outcomes)));
        let mut problems = problems.into_inner().unwrap_or_default();
        let mut written = Vec::new();
        for result in [project, core, dirs] {
            match result {
                Ok(Some(path)) => written.push(path),
                Ok(None) => {}
                Err(problem) => problems.push(problem),
            }
        }
        problems.sort();
        problems.dedup();
        CacheUse {
            reused: reused.into_inner(),
            parsed: parsed.into_inner(),
            verified: verified.into_inner(),
            written,
            problems,
        }
    }

    fn cannot_write(&self, error: &std::io::Error) -> String {
        format!("cannot write the cache in {}: {error}", self.dir.display())
    }

    fn write_part(
        &self,
        part: Part,
        kept: &[(&str, &Outcome)],
        stored: Option<&StoredPart>,
    ) -> std::io::Result<PathBuf> {
        // The blobs kept from the old file, read in one go: a write is rare, a read per blob
        // is not free.
        let old_blobs = match stored {
            Some(stored)
                if kept
                    .iter()
                    .any(|(_, outcome)| matches!(outcome.blob, Blob::Stored(_))) =>
            {
                let len = stored
                    .file
                    .metadata()?
                    .len()
                    .saturating_sub(stored.blobs_start);
                let mut bytes = vec![0_u8; usize::try_from(len).map_err(std::io::Error::other)?];
                read_at(&stored.file, &mut bytes, stored.blobs_start)?;
                bytes
            }
            _ => Vec::new(),
        };
        let mut offset = 0_u64;
        let mut blobs: Vec<&[u8]> = Vec::with_capacity(kept.len());
        let mut entries = Vec::with_capacity(kept.len());
        for &(path, outcome) in kept {
            let (bytes, check) = match &outcome.blob {
                Blob::Stored(blob) => {
                    let start = usize::try_from(blob.offset).unwrap_or(usize::MAX);
                    let end = start.saturating_add(usize::try_from(blob.len).unwrap_or(usize::MAX));
                    (old_blobs.get(start..end).unwrap_or_default(), blob.check)
                }
                Blob::Fresh(bytes) => (bytes.as_slice(), xxh3_64(bytes)),
            };
            let len = bytes.len() as u64;
            entries.push(EntryRecord {
                path: path.to_string(),
                stamp: outcome.stamp,
                hash: outcome.hash,
                blob: BlobRef { offset, len, check },
            });
            blobs.push(bytes);
            offset += len;
        }
        let header = Header {
            tool: TOOL.to_string(),
            namespaces: self.namespaces.clone(),
            root: self.root.clone(),
            scanned_at: self.scanned_at,
            entries,
        };
        let header =
            bincode::serde::encode_to_vec(&header, encoding()).map_err(std::io::Error::other)?;
        write_container(&self.dir, part.file_name(), &header, blobs.into_iter())
    }

    /// Writes `dirs.bin` when a listing changed or a directory is gone.
    fn write_dirs(&self) -> std::io::Result<Option<PathBuf>> {
        let listings = &self.dirs;
        let seen = match listings.seen.lock() {
            Ok(seen) => seen,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut kept = 0;
        let mut changed = false;
        for seen in seen.iter() {
            match seen {
                SeenDir::Stored(range) => kept += range.len(),
                SeenDir::Fresh { changed: false, .. } => kept += 1,
                SeenDir::Fresh { changed: true, .. } => changed = true,
            }
        }
        if !changed && kept == listings.stored.len() {
            return Ok(None);
        }
        let mut dirs: Vec<&DirRecord> = seen
            .iter()
            .flat_map(|seen| match seen {
                SeenDir::Stored(range) => listings.stored[range.clone()].iter().collect(),
                SeenDir::Fresh { record, .. } => vec![record],
            })
            .collect();
        dirs.sort_by(|a, b| a.path.cmp(&b.path));
        let header = DirsHeader {
            tool: TOOL.to_string(),
            root: self.root.clone(),
            scanned_at: self.scanned_at,
            dirs: dirs.into_iter().cloned().collect(),
        };
        let header =
            bincode::serde::encode_to_vec(&header, encoding()).map_err(std::io::Error::other)?;
        write_container(&self.dir, DIRS_FILE, &header, std::iter::empty()).map(Some)
    }
}

/// Encodes what a file's reading produced, into a reused buffer first: growing a fresh vector
/// for each of 34,000 files costs more than the encoding.
fn encode_blob(read: &FileRead) -> Result<Vec<u8>, bincode::error::EncodeError> {
    thread_local! {
        static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    BUFFER.with_borrow_mut(|buffer| {
        buffer.clear();
        bincode::serde::encode_into_std_write(read, buffer, encoding())?;
        Ok(buffer.as_slice().to_vec())
    })
}

/// Reads a file and its stamp. The stamp is taken before the bytes are read (from the open
/// file, which saves looking the path up twice): a change in between then shows as a newer
/// stamp next time rather than as an old stamp on new content.
fn read_with_stamp(root: &Path, path: &Path) -> std::io::Result<(Vec<u8>, FileStamp)> {
    use std::io::Read as _;
    let named = |error: std::io::Error| {
        std::io::Error::new(
            error.kind(),
            format!("cannot read {}: {error}", path.display()),
        )
    };
    let mut file = std::fs::File::open(root.join(path)).map_err(named)?;
    let metadata = file.metadata().map_err(named)?;
    let mut text = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.read_to_end(&mut text).map_err(named)?;
    Ok((text, FileStamp::of(&metadata)))
}

/// Points the facts read from the cache at the file's id in this load (ids follow the sorted
/// file list, so they move when files come and go).
fn relocate(read: &mut FileRead, file: FileId) {
    // Exhaustive on purpose: a new field that holds a `FileId` must be relocated here.
    match read {
        FileRead::Php {
            facts,
            problems,
            text: _,
        } => {
            let FileFacts {
                classes,
                scopes: _,
                references: _,
            } = facts;
            for class in classes {
                class.file = file;
            }
            for problem in problems {
                problem.file = file;
            }
        }
        FileRead::Xml {
            transfers,
            tables,
            problem,
            text: _,
        } => {
            for transfer in transfers {
                transfer.file = file;
            }
            for table in tables {
                table.file = file;
            }
            if let Some(problem) = problem {
                problem.file = file;
            }
        }
    }
}

fn set_text(read: &mut FileRead, new_text: Option<Vec<u8>>) {
    match read {
        FileRead::Php { text, .. } | FileRead::Xml { text, .. } => *text = new_text,
    }
}

/// Marks the directory as a cache: `CACHEDIR.TAG` for backup tools, and for the default
/// location a `.gitignore` of everything in `.upkeep/`.
fn mark_cache_dir(dir: &Path) {
    let tag = dir.join("CACHEDIR.TAG");
    if !tag.exists() {
        let _ = std::fs::write(
            tag,
            "Signature: 8a477f597d28d172789f06886806bc55\n# This directory is upkeep's cache; see https://bford.info/cachedir/\n",
        );
    }
    if let Some(parent) = dir.parent()
        && parent.file_name().is_some_and(|name| name == ".upkeep")
    {
        let ignore = parent.join(".gitignore");
        if !ignore.exists() {
            let _ = std::fs::write(
                ignore,
                "# Written by upkeep: this directory holds its cache.\n*\n",
            );
        }
    }
}

fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let is_ours = name.starts_with('.') && name.ends_with(".tmp") && name.contains(".bin.");
        let is_stale = entry
            .metadata()
            .and_then(|metadata| metadata.modified())
            .ok()
            .and_then(|modified| modified.elapsed().ok())
            .is_some_and(|age| age > STALE_TEMPORARY);
        if is_ours && is_stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Computes the checksum of everything written through it.
struct ChecksumWriter<W> {
    inner: W,
    hasher: Xxh3Default,
}

impl<W: std::io::Write> std::io::Write for ChecksumWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(bytes)?;
        self.hasher.update(&bytes[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(modified: i64, changed: i64) -> FileStamp {
        FileStamp {
            size: 10,
            modified,
            changed,
            inode: 1,
            device: 1,
        }
    }

    #[test]
    fn recent_stamps_are_racy() {
        let scanned_at = 100 * 1_000_000_000;
        assert!(!stamp(90 * 1_000_000_000, 90 * 1_000_000_000).is_racy(scanned_at));
        // Modified in the second before the scan, or after it: not to be trusted.
        assert!(stamp(99 * 1_000_000_000, 90 * 1_000_000_000).is_racy(scanned_at));
        assert!(stamp(101 * 1_000_000_000, 90 * 1_000_000_000).is_racy(scanned_at));
        // `touch -d` can set an old modification time, but the change time is the kernel's.
        assert!(stamp(90 * 1_000_000_000, 99_500_000_000).is_racy(scanned_at));
        assert!(!stamp(97_999_999_999, 97_999_999_999).is_racy(scanned_at));
    }

    #[test]
    fn tool_fingerprint_is_built_in() {
        assert!(TOOL.starts_with(env!("CARGO_PKG_VERSION")));
        assert_eq!(TOOL.len(), env!("CARGO_PKG_VERSION").len() + 1 + 16);
    }
}
