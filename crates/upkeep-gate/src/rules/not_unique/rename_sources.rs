//! What the rename fixes (`not-unique-constant`, `not-unique-method`) need to know about the
//! project, gathered once per run however many names are renamed.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::Path;

use upkeep_php::spryker::ProjectNamespaces;
use upkeep_php::{ClassLike, FileId};

use super::Lineage;
use crate::rule::ProjectScope;

/// How names are matched: PHP constants are case-sensitive, method names are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameCase {
    Sensitive,
    Insensitive,
}

/// The PHP files a rename may touch, which of them mention each name to rename, the Twig
/// templates that mention them, and which project classes inherit from each class.
pub struct RenameSources<'a> {
    pub(super) files: Vec<SourceFile<'a>>,
    pub(super) namespaces: &'a ProjectNamespaces,
    case: NameCase,
    /// Name (lower-cased when matching ignores case) -> the files (positions in `files`) in
    /// which it occurs as a word.
    mentions: HashMap<String, Vec<usize>>,
    /// Name (as `mentions`) -> the Twig templates under `src/` in which it occurs as a word.
    template_mentions: HashMap<String, Vec<String>>,
    /// Lower-cased class name -> the project classes that inherit from it.
    descendants: HashMap<String, Vec<&'a ClassLike>>,
}

pub(super) struct SourceFile<'a> {
    /// Path relative to the project root, with `/` separators.
    pub path: String,
    pub text: Cow<'a, [u8]>,
    /// True when the file has syntax errors (its uses cannot all be found).
    pub broken: bool,
}

impl<'a> RenameSources<'a> {
    /// Project PHP files (`src/`) from memory, plus `config/**/*.php` and the front
    /// controllers in `public/` read from disk (unreadable files are left out), indexed for
    /// the `names` that are to be renamed. With [`NameCase::Insensitive`] the Twig templates
    /// under `src/` are indexed too: a template calls methods by name (`{{ reader.getColors() }}`,
    /// or `reader.colors` for `getColors()`), so the caller passes those forms as names.
    pub fn of<'n>(
        project: &ProjectScope<'a>,
        names: impl IntoIterator<Item = &'n str>,
        case: NameCase,
    ) -> Self {
        let loaded = project.project;
        let broken: HashSet<FileId> = loaded.problems.iter().map(|problem| problem.file).collect();
        let mut files: Vec<SourceFile<'a>> = loaded
            .sources
            .iter()
            .filter(|source| project.index.file(source.file).is_php())
            .map(|source| SourceFile {
                path: relative(&project.index.file(source.file).path),
                text: Cow::Borrowed(source.text.as_slice()),
                broken: broken.contains(&source.file),
            })
            .collect();
        let entry_files = upkeep_php::project::entry_point_files(project.root).unwrap_or_default();
        for path in entry_files {
            if let Ok(text) = fs_err::read(project.root.join(&path)) {
                files.push(SourceFile {
                    path: relative(&path),
                    text: Cow::Owned(text),
                    broken: false,
                });
            }
        }
        let keys: HashSet<String> = names.into_iter().map(|name| key(name, case)).collect();
        let mut mentions: HashMap<String, Vec<usize>> =
            keys.iter().map(|name| (name.clone(), Vec::new())).collect();
        for (position, file) in files.iter().enumerate() {
            for word in words_in(&file.text, &keys, case) {
                mentions.entry(word).or_default().push(position);
            }
        }
        let mut template_mentions: HashMap<String, Vec<String>> = HashMap::new();
        if case == NameCase::Insensitive {
            for path in twig_templates(&project.root.join("src")) {
                let Ok(text) = fs_err::read(&path) else {
                    continue;
                };
                let shown = path
                    .strip_prefix(project.root)
                    .map_or_else(|_| relative(&path), relative);
                for word in words_in(&text, &keys, case) {
                    template_mentions
                        .entry(word)
                        .or_default()
                        .push(shown.clone());
                }
            }
        }
        let index = project.index;
        let mut descendants: HashMap<String, Vec<&'a ClassLike>> = HashMap::new();
        for class in index.project_classes() {
            for member in Lineage::of(index, class).members() {
                descendants
                    .entry(member.name.to_ascii_lowercase())
                    .or_default()
                    .push(class);
            }
        }
        Self {
            files,
            namespaces: &loaded.namespaces,
            case,
            mentions,
            template_mentions,
            descendants,
        }
    }

    /// True when the sources were indexed for `name`.
    pub fn indexed(&self, name: &str) -> bool {
        self.mentions.contains_key(&key(name, self.case))
    }

    /// The files in which `name` occurs as a word (code, strings or comments).
    pub(super) fn mentioning(&self, name: &str) -> impl Iterator<Item = &SourceFile<'a>> {
        self.mentions
            .get(&key(name, self.case))
            .into_iter()
            .flatten()
            .map(|&position| &self.files[position])
    }

    /// The first Twig template under `src/` in which `name` occurs as a word.
    pub fn template_mentioning(&self, name: &str) -> Option<&str> {
        self.template_mentions
            .get(&key(name, self.case))
            .and_then(|paths| paths.first())
            .map(String::as_str)
    }

    /// The project classes and interfaces that inherit from `class`.
    pub fn descendants_of(&self, class: &ClassLike) -> &[&'a ClassLike] {
        self.descendants
            .get(&class.name.to_ascii_lowercase())
            .map_or(&[], Vec::as_slice)
    }
}

fn key(name: &str, case: NameCase) -> String {
    match case {
        NameCase::Sensitive => name.to_string(),
        NameCase::Insensitive => name.to_ascii_lowercase(),
    }
}

/// The distinct words of `text` that are among `keys` (compared as `case` says).
fn words_in(text: &[u8], keys: &HashSet<String>, case: NameCase) -> Vec<String> {
    let mut found = HashSet::new();
    for word in text
        .split(|byte| !(byte.is_ascii_alphanumeric() || *byte == b'_'))
        .filter(|word| !word.is_empty())
    {
        let Ok(word) = std::str::from_utf8(word) else {
            continue;
        };
        let word = key(word, case);
        if keys.contains(&word) {
            found.insert(word);
        }
    }
    found.into_iter().collect()
}

/// Every `*.twig` file below `directory` (unreadable directories are passed over).
fn twig_templates(directory: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![directory.to_path_buf()];
    while let Some(directory) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&directory) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() && path.extension().is_some_and(|ext| ext == "twig") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

pub(super) fn relative(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}
