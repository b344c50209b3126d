//! The codebase index: every class-like of the project and of core, by name, with the
//! queries rules need (the parent chain, inherited members).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use crate::model::{ClassId, ClassLike, FileId, MethodInfo};
use crate::spryker::Origin;
use crate::xml::{SchemaTable, TransferDefinition};

/// Whose a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileOrigin {
    /// The project's own code under `src/`.
    Project,
    /// Core code under `vendor/spryker*/`.
    Core,
}

#[derive(Debug, Clone)]
pub struct IndexedFile {
    /// Path relative to the project root, with `/` separators.
    pub path: PathBuf,
    pub origin: FileOrigin,
}

impl IndexedFile {
    pub fn is_php(&self) -> bool {
        self.path
            .extension()
            .is_some_and(|extension| extension.eq_ignore_ascii_case("php"))
    }
}

#[derive(Debug, Default)]
pub struct CodebaseIndex {
    pub files: Vec<IndexedFile>,
    pub classes: Vec<ClassLike>,
    pub transfers: Vec<TransferDefinition>,
    pub tables: Vec<SchemaTable>,
    /// Lower-cased names of every class that project code (`src/`, and the PHP files Spryker
    /// loads by path: `config/**/*.php`, `public/*/*.php`) refers to; see [`crate::references`].
    pub project_references: HashSet<String>,
    /// Lower-cased fully qualified name -> class. PHP class names are case-insensitive.
    by_name: HashMap<String, ClassId>,
}

impl CodebaseIndex {
    /// Makes room for `additional` more classes, so that adding them copies and rehashes nothing.
    pub fn reserve_classes(&mut self, additional: usize) {
        self.classes.reserve(additional);
        self.by_name.reserve(additional);
    }

    pub fn add_file(&mut self, path: PathBuf, origin: FileOrigin) -> FileId {
        self.files.push(IndexedFile { path, origin });
        FileId(u32::try_from(self.files.len() - 1).unwrap_or(u32::MAX))
    }

    /// Adds a class; when two files declare the same name, the project's wins over core's and
    /// otherwise the first one stays (PHP would refuse to load both anyway).
    pub fn add_class(&mut self, class: ClassLike) -> ClassId {
        let id = ClassId(u32::try_from(self.classes.len()).unwrap_or(u32::MAX));
        let key = class.name.to_ascii_lowercase();
        let is_project = class.layout.origin == Origin::Project;
        match self.by_name.get(&key) {
            Some(existing)
                if !is_project
                    || self.classes[existing.0 as usize].layout.origin == Origin::Project => {}
            _ => {
                self.by_name.insert(key, id);
            }
        }
        self.classes.push(class);
        id
    }

    pub fn file(&self, id: FileId) -> &IndexedFile {
        &self.files[id.0 as usize]
    }

    pub fn class_id(&self, name: &str) -> Option<ClassId> {
        self.by_name
            .get(&name.trim_start_matches('\\').to_ascii_lowercase())
            .copied()
    }

    pub fn class(&self, name: &str) -> Option<&ClassLike> {
        self.class_id(name).map(|id| &self.classes[id.0 as usize])
    }

    /// The classes `class` extends, nearest first; stops at unknown names and at cycles.
    pub fn ancestors<'a>(
        &'a self,
        class: &'a ClassLike,
    ) -> impl Iterator<Item = &'a ClassLike> + 'a {
        let mut seen = vec![class.name.to_ascii_lowercase()];
        let mut current = class;
        std::iter::from_fn(move || {
            let parent = self.class(current.parent()?)?;
            let key = parent.name.to_ascii_lowercase();
            if seen.contains(&key) {
                return None;
            }
            seen.push(key);
            current = parent;
            Some(parent)
        })
    }

    /// The nearest core class in the parent chain of `class`.
    pub fn core_ancestor<'a>(&'a self, class: &'a ClassLike) -> Option<&'a ClassLike> {
        self.ancestors(class)
            .find(|ancestor| ancestor.layout.origin == Origin::Core)
    }

    /// Finds `method` on `class` or the nearest ancestor (or used trait) that declares it.
    pub fn find_method<'a>(
        &'a self,
        class: &'a ClassLike,
        method: &str,
    ) -> Option<(&'a ClassLike, &'a MethodInfo)> {
        std::iter::once(class)
            .chain(self.ancestors(class))
            .find_map(|owner| {
                owner
                    .method(method)
                    .map(|found| (owner, found))
                    .or_else(|| {
                        owner
                            .traits
                            .iter()
                            .filter_map(|name| self.class(name))
                            .find_map(|used| used.method(method).map(|found| (used, found)))
                    })
            })
    }

    /// True when project code refers to the class `name` anywhere outside the class itself.
    pub fn is_referenced(&self, name: &str) -> bool {
        self.project_references
            .contains(&name.trim_start_matches('\\').to_ascii_lowercase())
    }

    /// Classes in a project namespace declared in the project's own files. A project-named
    /// class inside `vendor/` (a package that ships `Pyz` code) is read, but it is not ours
    /// to report on.
    pub fn project_classes(&self) -> impl Iterator<Item = &ClassLike> {
        self.classes.iter().filter(|class| {
            class.layout.origin == Origin::Project
                && self.file(class.file).origin == FileOrigin::Project
        })
    }

    pub fn has_core(&self) -> bool {
        self.files
            .iter()
            .any(|file| file.origin == FileOrigin::Core)
    }
}
