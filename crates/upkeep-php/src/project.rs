//! A Spryker project on disk: finding its PHP and XML files, then reading all of them in
//! parallel into a [`CodebaseIndex`].
//!
//! Project code is `src/` without `src/Generated` and `src/Orm`; core is
//! `vendor/spryker*/<package>/src`. Core files are read for their declarations only and are
//! never reported on.

use std::path::{Path, PathBuf};

use bumpalo::Bump;
use rayon::prelude::*;

use crate::cache::{CacheConfig, CacheSession, CacheUse, DirListings};
use crate::extract::{FileFacts, extract_facts};
use crate::index::{CodebaseIndex, FileOrigin};
use crate::model::FileId;
use crate::parse::{parse_php, parse_php_checked, syntax_problems};
use crate::references::collect_references;
use crate::source::LineIndex;
use crate::spryker::ProjectNamespaces;
use crate::xml::{self, SchemaTable, TransferDefinition};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("`{path}` is not a directory")]
    NotADirectory { path: PathBuf },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The files of a project, by kind, as paths relative to the root.
#[derive(Debug, Default)]
pub struct ProjectFiles {
    pub project_php: Vec<PathBuf>,
    pub core_php: Vec<PathBuf>,
    pub project_xml: Vec<PathBuf>,
    pub core_xml: Vec<PathBuf>,
    /// PHP files outside `src/` that Spryker loads by path and that register project classes
    /// (`config/**/*.php`, the front controllers `public/*.php` and `public/*/*.php`): read
    /// for their class references only.
    pub entry_php: Vec<PathBuf>,
    /// True when `vendor/` holds at least one `spryker*` vendor directory.
    pub has_core: bool,
}

/// A project file's text, kept for the rules and for showing source lines in reports.
#[derive(Debug)]
pub struct ProjectSource {
    pub file: FileId,
    pub text: Vec<u8>,
    pub lines: LineIndex,
}

/// Where a file could not be read as what it claims to be.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ParseProblem {
    pub file: FileId,
    pub message: String,
    pub offset: u32,
    pub end: u32,
}

/// A project read into memory.
#[derive(Debug)]
pub struct LoadedProject {
    pub root: PathBuf,
    pub namespaces: ProjectNamespaces,
    pub index: CodebaseIndex,
    /// Project PHP and XML files with their text, in path order.
    pub sources: Vec<ProjectSource>,
    pub problems: Vec<ParseProblem>,
    /// What the cache did, when the load used one.
    pub cache: Option<CacheUse>,
}

impl LoadedProject {
    pub fn source(&self, file: FileId) -> Option<&ProjectSource> {
        self.sources
            .binary_search_by_key(&file, |source| source.file)
            .ok()
            .map(|position| &self.sources[position])
    }
}

fn is_generated(relative: &Path) -> bool {
    relative.starts_with("src/Generated") || relative.starts_with("src/Orm")
}

fn has_suffix(path: &Path, suffix: &str) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name.ends_with(suffix))
}

/// `Path::cmp` (component by component) for the normalized relative paths the walk builds,
/// without splitting them into components: a separator sorts before any other byte. Sorting
/// 34,000 paths by components costs a run 20 ms.
fn compare_paths(a: &Path, b: &Path) -> std::cmp::Ordering {
    let (a, b) = (
        a.as_os_str().as_encoded_bytes(),
        b.as_os_str().as_encoded_bytes(),
    );
    let common = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let rank = |byte: u8| {
        if std::path::is_separator(char::from(byte)) {
            0
        } else {
            u16::from(byte) + 1
        }
    };
    match (a.get(common), b.get(common)) {
        (Some(&x), Some(&y)) => rank(x).cmp(&rank(y)),
        _ => a.len().cmp(&b.len()),
    }
}

fn is_definition_xml(path: &Path) -> bool {
    has_suffix(path, ".transfer.xml") || has_suffix(path, ".schema.xml")
}

/// Lists all files below `dir` (relative to `root`), walking subdirectories in parallel.
fn walk(root: &Path, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    walk_with(root, dir, None)
}

/// [`walk`], taking the listings of unchanged directories from the cache.
fn walk_with(
    root: &Path,
    dir: &Path,
    listings: Option<&DirListings>,
) -> std::io::Result<Vec<PathBuf>> {
    let DirEntries {
        mut files,
        subdirs,
        has_symlinks: _,
    } = match listings {
        Some(listings) => listings.list(root, dir)?,
        None => list_dir(root, dir)?,
    };
    let nested: Vec<Vec<PathBuf>> = subdirs
        .par_iter()
        .map(|subdir| walk_with(root, subdir, listings))
        .collect::<Result<_, _>>()?;
    files.extend(nested.into_iter().flatten());
    Ok(files)
}

/// [`walk`] for a whole tree: with the cache, one stamp per directory tells whether the stored
/// listings of the tree still hold, else the tree is walked.
fn walk_tree(
    root: &Path,
    dir: &Path,
    listings: Option<&DirListings>,
) -> std::io::Result<Vec<PathBuf>> {
    if let Some(files) = listings.and_then(|listings| listings.unchanged_tree(root, dir)) {
        return Ok(files);
    }
    walk_with(root, dir, listings)
}

/// What one directory holds, as paths relative to the root.
pub(crate) struct DirEntries {
    pub files: Vec<PathBuf>,
    pub subdirs: Vec<PathBuf>,
    /// Whether a symbolic link decided what an entry is: the directory's own stamp does not
    /// tell when its target changes.
    pub has_symlinks: bool,
}

/// Lists one directory; a missing one is empty.
pub(crate) fn list_dir(root: &Path, dir: &Path) -> std::io::Result<DirEntries> {
    let mut listed = DirEntries {
        files: Vec::new(),
        subdirs: Vec::new(),
        has_symlinks: false,
    };
    let entries = match std::fs::read_dir(root.join(dir)) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(listed),
        Err(error) => {
            return Err(std::io::Error::new(
                error.kind(),
                format!("{}: {error}", root.join(dir).display()),
            ));
        }
    };
    for entry in entries {
        let entry = entry?;
        let relative = dir.join(entry.file_name());
        let file_type = entry.file_type()?;
        listed.has_symlinks |= file_type.is_symlink();
        if file_type.is_dir() || (file_type.is_symlink() && root.join(&relative).is_dir()) {
            listed.subdirs.push(relative);
        } else {
            listed.files.push(relative);
        }
    }
    Ok(listed)
}

/// Finds the project's and core's PHP and XML files.
pub fn discover(root: &Path) -> Result<ProjectFiles, LoadError> {
    discover_with(root, None)
}

/// [`discover`], taking the listings of unchanged directories from the cache.
fn discover_with(root: &Path, listings: Option<&DirListings>) -> Result<ProjectFiles, LoadError> {
    if !root.is_dir() {
        return Err(LoadError::NotADirectory {
            path: root.to_path_buf(),
        });
    }
    let mut found = ProjectFiles::default();
    for path in walk_tree(root, Path::new("src"), listings)? {
        if is_generated(&path) {
            continue;
        }
        if has_suffix(&path, ".php") {
            found.project_php.push(path);
        } else if is_definition_xml(&path) {
            found.project_xml.push(path);
        }
    }
    found.entry_php = entry_point_files(root)?;
    let vendor = root.join("vendor");
    let core_vendors: Vec<PathBuf> = match std::fs::read_dir(&vendor) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .filter(|entry| entry.file_name().to_string_lossy().starts_with("spryker"))
            .map(|entry| Path::new("vendor").join(entry.file_name()))
            .collect(),
        Err(_) => Vec::new(),
    };
    found.has_core = !core_vendors.is_empty();
    let core_files: Vec<Vec<PathBuf>> = core_vendors
        .par_iter()
        .map(|vendor_dir| walk_tree(root, vendor_dir, listings))
        .collect::<Result<_, _>>()?;
    for path in core_files.into_iter().flatten() {
        // Only `<vendor>/<package>/src/...` is core code; tests and tooling are not.
        let in_src = path
            .components()
            .nth(3)
            .is_some_and(|part| part.as_os_str() == "src");
        if !in_src {
            continue;
        }
        if has_suffix(&path, ".php") {
            found.core_php.push(path);
        } else if is_definition_xml(&path) {
            found.core_xml.push(path);
        }
    }
    for list in [
        &mut found.project_php,
        &mut found.core_php,
        &mut found.project_xml,
        &mut found.core_xml,
        &mut found.entry_php,
    ] {
        list.par_sort_unstable_by(|a, b| compare_paths(a, b));
    }
    Ok(found)
}

/// The PHP files Spryker loads by path: `config/**/*.php` (where plugins, handlers and
/// classes are registered by name) and the front controllers `public/*.php`,
/// `public/<Application>/*.php`. `public/` is read two levels deep only: below that are assets.
pub fn entry_point_files(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = walk(root, Path::new("config"))?
        .into_iter()
        .filter(|path| has_suffix(path, ".php"))
        .collect();
    let public = Path::new("public");
    let mut directories = vec![public.to_path_buf()];
    if let Ok(entries) = std::fs::read_dir(root.join(public)) {
        directories.extend(
            entries
                .filter_map(Result::ok)
                .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
                .map(|entry| public.join(entry.file_name())),
        );
    }
    for directory in directories {
        let Ok(entries) = std::fs::read_dir(root.join(&directory)) else {
            continue;
        };
        files.extend(
            entries
                .filter_map(Result::ok)
                .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_file()))
                .map(|entry| directory.join(entry.file_name()))
                .filter(|path| has_suffix(path, ".php")),
        );
    }
    files.sort();
    Ok(files)
}

/// The project namespaces from `config/Shared/config_default.php`, else `Pyz`.
pub fn read_project_namespaces(root: &Path) -> ProjectNamespaces {
    std::fs::read_to_string(root.join("config/Shared/config_default.php"))
        .ok()
        .and_then(|text| ProjectNamespaces::from_config_default(&text))
        .unwrap_or_default()
}

/// Outcome of reading one file; the cache (`cache.rs`) stores it without the text.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) enum FileRead {
    Php {
        facts: FileFacts,
        problems: Vec<ParseProblem>,
        #[serde(skip)]
        text: Option<Vec<u8>>,
    },
    Xml {
        transfers: Vec<TransferDefinition>,
        tables: Vec<SchemaTable>,
        problem: Option<ParseProblem>,
        #[serde(skip)]
        text: Option<Vec<u8>>,
    },
}

fn read_file(root: &Path, path: &Path) -> std::io::Result<Vec<u8>> {
    std::fs::read(root.join(path)).map_err(|error| {
        std::io::Error::new(
            error.kind(),
            format!("cannot read {}: {error}", path.display()),
        )
    })
}

/// Runs `f` with this thread's parsing arena. One arena per thread, reset per file, keeps
/// its memory warm; a fresh arena per file (or per rayon split) costs page faults.
pub fn with_thread_arena<R>(f: impl FnOnce(&mut Bump) -> R) -> R {
    thread_local! {
        static ARENA: std::cell::RefCell<Bump> = std::cell::RefCell::new(Bump::new());
    }
    ARENA.with(|arena| f(&mut arena.borrow_mut()))
}

fn read_php(
    arena: &mut Bump,
    text: Vec<u8>,
    file: FileId,
    keep_text: bool,
    namespaces: &ProjectNamespaces,
) -> FileRead {
    arena.reset();
    let (program, refused) = parse_php_checked(arena, &text);
    let problems = refused
        .into_iter()
        .chain(syntax_problems(program))
        .map(|problem| ParseProblem {
            file,
            message: problem.message,
            offset: problem.offset,
            end: problem.end,
        })
        .collect();
    let mut facts = extract_facts(program, &text, file, namespaces);
    if keep_text {
        // Project files only: `dead-code` asks whether the project refers to a class.
        facts.references = collect_references(program, &text, &facts);
    }
    // The index keeps no name scopes (rules extract them again per file), so neither the
    // load nor the cache carries them: they are a quarter of core's cached facts.
    facts.scopes = Vec::new();
    FileRead::Php {
        facts,
        problems,
        text: keep_text.then_some(text),
    }
}

/// The class references of the files outside `src/` that Spryker loads by path (config,
/// front controllers), read in parallel. Their syntax errors are not ours to report; what
/// parsed still counts.
fn references_of_entry_files(
    root: &Path,
    paths: &[PathBuf],
    namespaces: &ProjectNamespaces,
) -> std::io::Result<Vec<String>> {
    let references: Vec<Vec<String>> = paths
        .par_iter()
        .map(|path| {
            let text = read_file(root, path)?;
            Ok(with_thread_arena(|arena| {
                arena.reset();
                let program = parse_php(arena, &text);
                let facts = extract_facts(program, &text, FileId(u32::MAX), namespaces);
                collect_references(program, &text, &facts)
            }))
        })
        .collect::<std::io::Result<_>>()?;
    Ok(references.into_iter().flatten().collect())
}

fn read_xml(text: Vec<u8>, path: &Path, file: FileId, keep_text: bool) -> FileRead {
    let as_str = String::from_utf8_lossy(&text);
    let (transfers, tables, problem) = if has_suffix(path, ".transfer.xml") {
        match xml::parse_transfers(&as_str, file) {
            Ok(transfers) => (transfers, Vec::new(), None),
            Err(problem) => (Vec::new(), Vec::new(), Some(problem)),
        }
    } else {
        match xml::parse_schema(&as_str, file) {
            Ok(tables) => (Vec::new(), tables, None),
            Err(problem) => (Vec::new(), Vec::new(), Some(problem)),
        }
    };
    let problem = problem.map(|problem| ParseProblem {
        file,
        message: problem.message,
        offset: problem.offset,
        end: problem.offset,
    });
    FileRead::Xml {
        transfers,
        tables,
        problem,
        text: keep_text.then_some(text),
    }
}

fn classes_in(reads: &[(FileId, FileRead)]) -> usize {
    reads
        .iter()
        .map(|(_, read)| match read {
            FileRead::Php { facts, .. } => facts.classes.len(),
            FileRead::Xml { .. } => 0,
        })
        .sum()
}

/// Reads every file of the project into an index. Uses the current rayon pool, so callers
/// choose the parallelism with `ThreadPool::install`.
pub fn load(root: &Path) -> Result<LoadedProject, LoadError> {
    load_with(root, &LoadOptions::default())
}

/// How to load a project.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Reuse what earlier loads read from files that did not change, and record what this
    /// one reads (see [`crate::cache`]); `None` reads and parses every file.
    pub cache: Option<CacheConfig>,
}

/// [`load`] with options.
pub fn load_with(root: &Path, options: &LoadOptions) -> Result<LoadedProject, LoadError> {
    let namespaces = read_project_namespaces(root);
    let (files, mut cache) = match &options.cache {
        Some(config) => {
            let (session, files) = CacheSession::open(config, root, &namespaces, |listings| {
                discover_with(root, Some(listings))
            });
            (files?, Some(session))
        }
        None => (discover(root)?, None),
    };
    let mut index = CodebaseIndex::default();

    // Project files first, so their ids (and sources) come in path order.
    let mut work: Vec<(FileId, &Path, bool)> = Vec::new();
    for (list, origin) in [
        (&files.project_php, FileOrigin::Project),
        (&files.project_xml, FileOrigin::Project),
        (&files.core_php, FileOrigin::Core),
        (&files.core_xml, FileOrigin::Core),
    ] {
        for path in list {
            let id = index.add_file(path.clone(), origin);
            work.push((id, path.as_path(), origin == FileOrigin::Project));
        }
    }

    if let Some(cache) = &mut cache {
        cache.expect_files(index.files.len());
    }
    let reads: Vec<(FileId, FileRead)> = work
        .par_iter()
        .map(|&(file, path, is_project)| {
            let parse = |text: Vec<u8>| {
                if has_suffix(path, ".php") {
                    with_thread_arena(|arena| read_php(arena, text, file, is_project, &namespaces))
                } else {
                    read_xml(text, path, file, is_project)
                }
            };
            let read = match &cache {
                Some(cache) => cache.read(root, file, path, is_project, parse)?,
                None => parse(read_file(root, path)?),
            };
            Ok((file, read))
        })
        .collect::<std::io::Result<_>>()?;

    // Sized once: growing it would copy every class several times over.
    index.reserve_classes(classes_in(&reads));
    let mut sources = Vec::new();
    let mut problems = Vec::new();
    for (file, read) in reads {
        let text = match read {
            FileRead::Php {
                facts,
                problems: file_problems,
                text,
            } => {
                index.project_references.extend(facts.references);
                for class in facts.classes {
                    index.add_class(class);
                }
                problems.extend(file_problems);
                text
            }
            FileRead::Xml {
                transfers,
                tables,
                problem,
                text,
            } => {
                index.transfers.extend(transfers);
                index.tables.extend(tables);
                problems.extend(problem);
                text
            }
        };
        if let Some(text) = text {
            sources.push(ProjectSource {
                file,
                lines: LineIndex::new(&text),
                text,
            });
        }
    }
    sources.sort_by_key(|source| source.file);
    index.project_references.extend(references_of_entry_files(
        root,
        &files.entry_php,
        &namespaces,
    )?);
    let cache = cache.map(|cache| cache.finish(&index.files));
    Ok(LoadedProject {
        root: root.to_path_buf(),
        namespaces,
        index,
        sources,
        problems,
        cache,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_sort_as_path_orders_them() {
        let mut paths: Vec<PathBuf> = [
            "src/a-b/c.php",
            "src/a/b.php",
            "src/a.php",
            "src/a/b/c.php",
            "src/ab.php",
            "src/a",
            "src/A/b.php",
            "src/a/b-c.php",
            "src/a/b.c.php",
            "vendor/spryker/x/src/Y.php",
            "vendor/spryker-shop/x/src/Y.php",
            "vendor/spryker/x-y/src/Z.php",
            "vendor/sprykerx/src/Z.php",
            "src/\u{e4}/b.php",
        ]
        .into_iter()
        .map(PathBuf::from)
        .collect();
        let mut expected = paths.clone();
        expected.sort();
        paths.sort_by(|a, b| compare_paths(a, b));
        assert_eq!(paths, expected);
    }
}
