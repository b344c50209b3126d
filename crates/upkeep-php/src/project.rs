//! A Spryker project on disk: finding its PHP and XML files, then reading all of them in
//! parallel into a [`CodebaseIndex`].
//!
//! Project code is `src/` without `src/Generated` and `src/Orm`; core is
//! `vendor/spryker*/<package>/src`. Core files are read for their declarations only and are
//! never reported on.

use std::path::{Path, PathBuf};

use bumpalo::Bump;
use rayon::prelude::*;

use crate::extract::{FileFacts, extract_facts};
use crate::index::{CodebaseIndex, FileOrigin};
use crate::model::FileId;
use crate::parse::{parse_php, syntax_problems};
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
#[derive(Debug, Clone, PartialEq, Eq)]
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

fn is_definition_xml(path: &Path) -> bool {
    has_suffix(path, ".transfer.xml") || has_suffix(path, ".schema.xml")
}

/// Lists all files below `dir` (relative to `root`), walking subdirectories in parallel.
fn walk(root: &Path, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(root.join(dir)) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => {
            return Err(std::io::Error::new(
                error.kind(),
                format!("{}: {error}", root.join(dir).display()),
            ));
        }
    };
    let mut files = Vec::new();
    let mut subdirs = Vec::new();
    for entry in entries {
        let entry = entry?;
        let relative = dir.join(entry.file_name());
        let file_type = entry.file_type()?;
        if file_type.is_dir() || (file_type.is_symlink() && root.join(&relative).is_dir()) {
            subdirs.push(relative);
        } else {
            files.push(relative);
        }
    }
    let nested: Vec<Vec<PathBuf>> = subdirs
        .par_iter()
        .map(|subdir| walk(root, subdir))
        .collect::<Result<_, _>>()?;
    files.extend(nested.into_iter().flatten());
    Ok(files)
}

/// Finds the project's and core's PHP and XML files.
pub fn discover(root: &Path) -> Result<ProjectFiles, LoadError> {
    if !root.is_dir() {
        return Err(LoadError::NotADirectory {
            path: root.to_path_buf(),
        });
    }
    let mut found = ProjectFiles::default();
    for path in walk(root, Path::new("src"))? {
        if is_generated(&path) {
            continue;
        }
        if has_suffix(&path, ".php") {
            found.project_php.push(path);
        } else if is_definition_xml(&path) {
            found.project_xml.push(path);
        }
    }
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
        .map(|vendor_dir| walk(root, vendor_dir))
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
    ] {
        list.sort();
    }
    Ok(found)
}

/// The project namespaces from `config/Shared/config_default.php`, else `Pyz`.
pub fn read_project_namespaces(root: &Path) -> ProjectNamespaces {
    std::fs::read_to_string(root.join("config/Shared/config_default.php"))
        .ok()
        .and_then(|text| ProjectNamespaces::from_config_default(&text))
        .unwrap_or_default()
}

/// Outcome of reading one file.
enum FileRead {
    Php {
        facts: FileFacts,
        problems: Vec<ParseProblem>,
        text: Option<Vec<u8>>,
    },
    Xml {
        transfers: Vec<TransferDefinition>,
        tables: Vec<SchemaTable>,
        problem: Option<ParseProblem>,
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
    let program = parse_php(arena, &text);
    let problems = syntax_problems(program)
        .into_iter()
        .map(|problem| ParseProblem {
            file,
            message: problem.message,
            offset: problem.offset,
            end: problem.end,
        })
        .collect();
    let facts = extract_facts(program, &text, file, namespaces);
    FileRead::Php {
        facts,
        problems,
        text: keep_text.then_some(text),
    }
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

/// Reads every file of the project into an index. Uses the current rayon pool, so callers
/// choose the parallelism with `ThreadPool::install`.
pub fn load(root: &Path) -> Result<LoadedProject, LoadError> {
    let files = discover(root)?;
    let namespaces = read_project_namespaces(root);
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

    let reads: Vec<(FileId, FileRead)> = work
        .par_iter()
        .map(|&(file, path, is_project)| {
            let text = read_file(root, path)?;
            let read = if has_suffix(path, ".php") {
                with_thread_arena(|arena| read_php(arena, text, file, is_project, &namespaces))
            } else {
                read_xml(text, path, file, is_project)
            };
            Ok((file, read))
        })
        .collect::<std::io::Result<_>>()?;

    let mut sources = Vec::new();
    let mut problems = Vec::new();
    for (file, read) in reads {
        let text = match read {
            FileRead::Php {
                facts,
                problems: file_problems,
                text,
            } => {
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
    Ok(LoadedProject {
        root: root.to_path_buf(),
        namespaces,
        index,
        sources,
        problems,
    })
}
