//! The upgrade preview (`upkeep gate --compare-core OLD_VENDOR_DIR`): compares the core
//! classes that project code extends, implements or uses as traits between an older vendor
//! tree and the project's current `vendor/`, and lists what changed in them (classes removed
//! or deprecated, methods added, removed, deprecated, with a new signature or a new body) with
//! the project classes and methods each change affects.
//!
//! Only the core classes the project builds on are read from the old tree (found by their
//! PSR-4 path below `<vendor>/<package>/src/`), so the preview costs a few files, not a second
//! full parse of core. A body counts as changed when its text differs after collapsing
//! whitespace; body changes are listed only for methods the project overrides, since an
//! inherited body changes for the project without anyone noticing, while an override keeps
//! running the old logic.
//!
//! ```no_run
//! # fn demo(project: &upkeep_php::LoadedProject) -> Result<(), upkeep_gate::compare_core::CompareCoreError> {
//! let comparison = upkeep_gate::compare_core::compare(project, std::path::Path::new("/tmp/old-vendor"))?;
//! for change in &comparison.changes {
//!     println!("{} {}: {}", change.class, change.kind.name(), change.affected.len());
//! }
//! # Ok(())
//! # }
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use upkeep_php::extract::extract_facts;
use upkeep_php::parse::parse_php;
use upkeep_php::project::{LoadedProject, with_thread_arena};
use upkeep_php::source::TextSpan;
use upkeep_php::spryker::{Origin, is_core_organisation};
use upkeep_php::{ClassKind, ClassLike, FileId, FileOrigin, MethodInfo, Visibility};

use crate::rules::core_compatibility::core_signature_mismatch::{TypeNames, interfaces, signature};
use crate::rules::core_compatibility::deprecated_core_usage::plain_note;

/// Why the old vendor tree could not be compared.
#[derive(Debug, thiserror::Error)]
pub enum CompareCoreError {
    #[error("--compare-core: `{path}` is not a directory")]
    NotADirectory { path: PathBuf },
    #[error("--compare-core: `{path}` holds no `spryker*/<package>/src` directories")]
    NoCorePackages { path: PathBuf },
    #[error("--compare-core: the project has no `vendor/spryker*` directory to compare with")]
    NoCurrentCore,
    #[error("--compare-core: {0}")]
    Io(#[from] std::io::Error),
}

/// The result of a comparison: the changes, in class and member order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreComparison {
    /// The old vendor directory, as given.
    pub old_vendor: PathBuf,
    /// How many core classes the project builds on (and were therefore compared).
    pub classes_compared: usize,
    pub changes: Vec<CoreChange>,
}

/// One change of a core class between the old and the current vendor tree.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CoreChange {
    /// The core class, interface or trait.
    pub class: String,
    /// `method()` or `CONSTANT`, for member changes.
    pub member: Option<String>,
    #[serde(rename = "change")]
    pub kind: CoreChangeKind,
    /// The old signature (methods), parent class (parent changes); `None` when there was none.
    pub old: Option<String>,
    /// The new signature, parent class, or deprecation note.
    pub new: Option<String>,
    /// The project code this change affects, by file and line.
    pub affected: Vec<AffectedCode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CoreChangeKind {
    ClassRemoved,
    ClassDeprecated,
    ParentChanged,
    MethodRemoved,
    MethodAdded,
    SignatureChanged,
    MethodDeprecated,
    BodyChanged,
    ConstantRemoved,
}

impl CoreChangeKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::ClassRemoved => "class-removed",
            Self::ClassDeprecated => "class-deprecated",
            Self::ParentChanged => "parent-changed",
            Self::MethodRemoved => "method-removed",
            Self::MethodAdded => "method-added",
            Self::SignatureChanged => "signature-changed",
            Self::MethodDeprecated => "method-deprecated",
            Self::BodyChanged => "body-changed",
            Self::ConstantRemoved => "constant-removed",
        }
    }

    /// What the change means for the project, for the text report. `overrides` tells whether
    /// the affected code is overriding methods (rather than whole classes).
    pub fn description(self, overrides: bool) -> &'static str {
        match self {
            Self::ClassRemoved => "code that extends, implements or uses it no longer loads",
            Self::ClassDeprecated | Self::MethodDeprecated => "the next major removes it",
            Self::ParentChanged => "inherited behaviour now comes from another class",
            Self::MethodRemoved if overrides => {
                "overrides no longer override anything, and `parent::` calls fail"
            }
            Self::MethodRemoved => "calls of the inherited method fail",
            Self::MethodAdded if overrides => {
                "a project method of the same name now overrides it, perhaps unknowingly"
            }
            Self::MethodAdded => "every implementation must declare it",
            Self::SignatureChanged if overrides => "overrides must match the new signature",
            Self::SignatureChanged => "calls of the inherited method must match the new signature",
            Self::BodyChanged => "core changed the body of a method you override",
            Self::ConstantRemoved => "reads of the inherited constant fail",
        }
    }
}

/// A project class or method that a core change affects.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct AffectedCode {
    /// Path relative to the project root, with `/` separators.
    pub file: String,
    pub line: u32,
    pub class: String,
    pub method: Option<String>,
    pub relation: Relation,
}

/// How project code depends on the changed core class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Relation {
    /// The class extends it (directly or through other classes).
    Extends,
    Implements,
    UsesTrait,
    /// The method overrides (or implements) the changed method.
    Overrides,
}

impl Relation {
    pub fn name(self) -> &'static str {
        match self {
            Self::Extends => "extends",
            Self::Implements => "implements",
            Self::UsesTrait => "uses trait",
            Self::Overrides => "overrides",
        }
    }
}

/// The comparison with `old_vendor`, when one was asked for (`--compare-core`).
pub fn preview(
    project: &LoadedProject,
    old_vendor: Option<&Path>,
) -> Result<Option<CoreComparison>, CompareCoreError> {
    old_vendor
        .map(|old_vendor| compare(project, old_vendor))
        .transpose()
}

/// Compares the core classes `project` builds on between `old_vendor` (laid out like
/// `vendor/`: `spryker*/<package>/src/...`, or a directory holding such a `vendor/`) and the
/// project's own `vendor/`.
pub fn compare(
    project: &LoadedProject,
    old_vendor: &Path,
) -> Result<CoreComparison, CompareCoreError> {
    if !old_vendor.is_dir() {
        return Err(CompareCoreError::NotADirectory {
            path: old_vendor.to_path_buf(),
        });
    }
    if !project.index.has_core() {
        return Err(CompareCoreError::NoCurrentCore);
    }
    let old_files = OldVendor::list(old_vendor)?;
    let dependents = core_dependents(project);
    let starts = dependents.keys().map(String::as_str);
    let old = old_files.read_tree(starts.clone(), &project.namespaces)?;
    let new = CoreTree::current(project, starts)?;
    let mut comparison = Comparison {
        project,
        old: &old,
        new: &new,
        uses: MemberUses::of(project),
        changes: BTreeMap::new(),
    };
    for (key, dependent) in &dependents {
        comparison.class_changes(key, dependent);
    }
    let project_classes = project
        .index
        .project_classes()
        .filter(|class| project.index.file(class.file).origin == FileOrigin::Project);
    for class in project_classes {
        comparison.member_changes(class);
    }
    let mut changes: Vec<CoreChange> = comparison.changes.into_values().collect();
    for change in &mut changes {
        change.affected.sort();
        change.affected.dedup();
    }
    Ok(CoreComparison {
        old_vendor: old_vendor.to_path_buf(),
        classes_compared: dependents.len(),
        changes,
    })
}

/// The project classes that depend on one core class, and how.
#[derive(Debug, Default)]
struct Dependent<'a> {
    projects: Vec<(&'a ClassLike, Relation)>,
}

impl Dependent<'_> {
    /// The dependent project classes, at their names.
    fn classes(&self, project: &LoadedProject) -> Vec<AffectedCode> {
        let mut affected: Vec<AffectedCode> = self
            .projects
            .iter()
            .map(|(class, relation)| affected_at(project, class, None, class.name_span, *relation))
            .collect();
        affected.sort();
        affected.dedup();
        affected
    }
}

fn affected_at(
    project: &LoadedProject,
    class: &ClassLike,
    method: Option<&str>,
    span: TextSpan,
    relation: Relation,
) -> AffectedCode {
    let file = project
        .index
        .file(class.file)
        .path
        .to_string_lossy()
        .replace('\\', "/");
    let line = project.source(class.file).map_or(1, |source| {
        source.lines.line_column(&source.text, span.start).line
    });
    AffectedCode {
        file,
        line,
        class: class.name.clone(),
        method: method.map(|name| format!("{name}()")),
        relation,
    }
}

fn is_core_name(name: &str) -> bool {
    is_core_organisation(name.split('\\').next().unwrap_or_default())
}

/// Every core class (by lower-cased name) that a project class extends (through any number of
/// parents), implements (also through project parents and interface inheritance) or uses as
/// a trait, with those project classes. Names the current core no longer has are kept: they
/// are the removed classes.
fn core_dependents(project: &LoadedProject) -> BTreeMap<String, Dependent<'_>> {
    let index = &project.index;
    let mut dependents: BTreeMap<String, Dependent<'_>> = BTreeMap::new();
    let mut add =
        |name: &str, class, relation| add_dependent(&mut dependents, name, class, relation);
    // Classes in project files only: a `Pyz` class shipped in a vendor package (the demo
    // shops install themselves that way) is not the project's code.
    let project_classes = index
        .project_classes()
        .filter(|class| index.file(class.file).origin == FileOrigin::Project);
    for class in project_classes {
        // The parent chain, by name, past project classes up to the first unknown name.
        let mut seen = HashSet::new();
        let mut interfaces: Vec<&str> = class.implements.iter().map(String::as_str).collect();
        if class.kind == ClassKind::Interface {
            interfaces.extend(class.extends.iter().map(String::as_str));
        }
        let mut parent = class.parent();
        while let Some(name) = parent {
            if !seen.insert(name.to_ascii_lowercase()) {
                break;
            }
            if is_core_name(name) {
                add(name, class, Relation::Extends);
            }
            let Some(ancestor) = index.class(name) else {
                break;
            };
            if ancestor.layout.origin != Origin::Core {
                interfaces.extend(ancestor.implements.iter().map(String::as_str));
            }
            parent = ancestor.parent();
        }
        let mut next = 0;
        while let Some(name) = interfaces.get(next).copied() {
            next += 1;
            if !seen.insert(name.to_ascii_lowercase()) {
                continue;
            }
            if is_core_name(name) {
                add(name, class, Relation::Implements);
            }
            if let Some(interface) = index.class(name) {
                interfaces.extend(interface.extends.iter().map(String::as_str));
            }
        }
        for used in &class.traits {
            if is_core_name(used) {
                add(used, class, Relation::UsesTrait);
            }
        }
    }
    dependents
}

fn add_dependent<'a>(
    dependents: &mut BTreeMap<String, Dependent<'a>>,
    name: &str,
    class: &'a ClassLike,
    relation: Relation,
) {
    let name = name.trim_start_matches('\\');
    let entry = dependents.entry(name.to_ascii_lowercase()).or_default();
    if !entry
        .projects
        .iter()
        .any(|(known, _)| std::ptr::eq(*known, class))
    {
        entry.projects.push((class, relation));
    }
}

/// What the comparison keeps of a class: comparable text for each part.
#[derive(Debug, Clone)]
struct ClassSnapshot {
    name: String,
    parent: Option<String>,
    traits: Vec<String>,
    deprecation: Option<String>,
    /// Lower-cased method name -> method; private methods are left out: they are not
    /// inherited, so no project code can depend on them.
    methods: BTreeMap<String, MethodSnapshot>,
    /// Constants visible to subclasses, by name (constant names are case-sensitive).
    constants: BTreeSet<String>,
}

#[derive(Debug, Clone)]
struct MethodSnapshot {
    name: String,
    signature: String,
    is_abstract: bool,
    deprecation: Option<String>,
    /// Hash of the body text with whitespace collapsed; `None` without a body.
    body: Option<u64>,
}

impl ClassSnapshot {
    /// The snapshot of `class`, whose file's text is `text` (bodies are hashed from it).
    fn of(class: &ClassLike, text: Option<&[u8]>) -> Self {
        let methods = class
            .methods
            .iter()
            .filter(|method| method.visibility != Visibility::Private)
            .map(|method| {
                (
                    method.name.to_ascii_lowercase(),
                    MethodSnapshot::of(method, text),
                )
            })
            .collect();
        let constants = class
            .constants
            .iter()
            .filter(|constant| constant.visibility != Visibility::Private)
            .map(|constant| constant.name.clone())
            .collect();
        Self {
            name: class.name.clone(),
            parent: class.parent().map(str::to_string),
            traits: class.traits.clone(),
            deprecation: class.deprecation().map(str::to_string),
            methods,
            constants,
        }
    }
}

impl MethodSnapshot {
    fn of(method: &MethodInfo, text: Option<&[u8]>) -> Self {
        let body = method.body_span.zip(text).map(|(span, text)| {
            let start = (span.start as usize).min(text.len());
            let end = (span.end as usize).min(text.len());
            body_hash(&text[start..end])
        });
        Self {
            name: method.name.clone(),
            signature: signature("", method, TypeNames::Full),
            is_abstract: method.is_abstract,
            deprecation: method.deprecation().map(str::to_string),
            body,
        }
    }
}

/// FNV-1a of the body with whitespace normalised: a whitespace run counts as one space
/// between two word characters (`return $a`) and as nothing elsewhere (`f( $a )` is `f($a)`),
/// so re-indenting and re-wrapping code is not a change.
fn body_hash(body: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0100_0000_01b3;
    let is_word = |byte: u8| {
        byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'$' | b'\\') || byte >= 0x80
    };
    let feed = |byte: u8, hash: &mut u64| {
        *hash ^= u64::from(byte);
        *hash = hash.wrapping_mul(PRIME);
    };
    let mut hash = OFFSET;
    let mut previous = None;
    let mut pending_space = false;
    for &byte in body {
        if byte.is_ascii_whitespace() {
            pending_space = true;
            continue;
        }
        if pending_space && previous.is_some_and(is_word) && is_word(byte) {
            feed(b' ', &mut hash);
        }
        pending_space = false;
        feed(byte, &mut hash);
        previous = Some(byte);
    }
    hash
}

fn first_line(note: &str) -> String {
    let line = plain_note(note);
    if line.is_empty() {
        "(no note)".to_string()
    } else {
        line
    }
}

/// The changes found so far, merged by core class, member and kind, in report order.
type ChangeKey = (String, u8, String, CoreChangeKind);

struct Comparison<'c> {
    project: &'c LoadedProject,
    old: &'c CoreTree,
    new: &'c CoreTree,
    uses: MemberUses,
    changes: BTreeMap<ChangeKey, CoreChange>,
}

/// A member change before it knows what it affects.
struct MemberChange<'m> {
    class: &'m str,
    member: Option<String>,
    kind: CoreChangeKind,
    old: Option<String>,
    new: Option<String>,
}

impl Comparison<'_> {
    /// Records `change` as affecting `affected`; the same change found through several project
    /// classes is listed once with all of them. A change that affects nothing is dropped.
    fn record(&mut self, change: MemberChange<'_>, affected: Option<AffectedCode>) {
        let Some(affected) = affected else {
            return;
        };
        let section = match change.kind {
            CoreChangeKind::ClassRemoved
            | CoreChangeKind::ClassDeprecated
            | CoreChangeKind::ParentChanged => 0,
            CoreChangeKind::ConstantRemoved => 2,
            _ => 1,
        };
        let key = (
            change.class.to_ascii_lowercase(),
            section,
            change
                .member
                .as_deref()
                .unwrap_or_default()
                .to_ascii_lowercase(),
            change.kind,
        );
        self.changes
            .entry(key)
            .or_insert_with(|| CoreChange {
                class: change.class.to_string(),
                member: change.member,
                kind: change.kind,
                old: change.old,
                new: change.new,
                affected: Vec::new(),
            })
            .affected
            .push(affected);
    }

    /// Changes of a core class as a whole: removed, deprecated, another parent.
    fn class_changes(&mut self, key: &str, dependent: &Dependent<'_>) {
        let Some(old) = self.old.get(key) else {
            // Not in the old tree: new in this release (or not where PSR-4 puts it).
            return;
        };
        let new = self.new.get(key);
        let mut changes = Vec::new();
        match new {
            None => changes.push(MemberChange {
                class: &old.name,
                member: None,
                kind: CoreChangeKind::ClassRemoved,
                old: Some(old.name.clone()),
                new: None,
            }),
            Some(new) => {
                if new.deprecation.is_some() && old.deprecation.is_none() {
                    changes.push(MemberChange {
                        class: &new.name,
                        member: None,
                        kind: CoreChangeKind::ClassDeprecated,
                        old: None,
                        new: new.deprecation.as_deref().map(first_line),
                    });
                }
                let same_parent = match (&old.parent, &new.parent) {
                    (Some(old), Some(new)) => old.eq_ignore_ascii_case(new),
                    (None, None) => true,
                    _ => false,
                };
                if !same_parent {
                    changes.push(MemberChange {
                        class: &new.name,
                        member: None,
                        kind: CoreChangeKind::ParentChanged,
                        old: old.parent.clone(),
                        new: new.parent.clone(),
                    });
                }
            }
        }
        for change in changes {
            for affected in dependent.classes(self.project) {
                self.record(
                    MemberChange {
                        class: change.class,
                        member: change.member.clone(),
                        kind: change.kind,
                        old: change.old.clone(),
                        new: change.new.clone(),
                    },
                    Some(affected),
                );
            }
        }
    }

    /// Changes of the methods and constants `class` gets from core: through its nearest core
    /// parent (with everything that one inherits), the core traits it uses, and the core
    /// interfaces it implements.
    fn member_changes(&mut self, class: &ClassLike) {
        let index = &self.project.index;
        let mut parent = class.parent();
        let mut seen = HashSet::new();
        while let Some(name) = parent {
            if !seen.insert(name.to_ascii_lowercase()) {
                break;
            }
            if is_core_name(name) {
                self.compare_members(class, name, Relation::Extends);
                break;
            }
            parent = index.class(name).and_then(ClassLike::parent);
        }
        for used in class.traits.iter().filter(|name| is_core_name(name)) {
            self.compare_members(class, used, Relation::UsesTrait);
        }
        for interface in interfaces(index, class) {
            if interface.layout.origin == Origin::Core {
                self.compare_members(class, &interface.name, Relation::Implements);
            }
        }
    }

    /// Compares what `class` sees of core through `start` in the old and the new tree.
    fn compare_members(&mut self, class: &ClassLike, start: &str, relation: Relation) {
        let (old, new) = (self.old, self.new);
        if old.get(start).is_none() || new.get(start).is_none() {
            return;
        }
        let old_methods = old.methods_of(start);
        let new_methods = new.methods_of(start);
        let names: BTreeSet<&String> = old_methods
            .keys()
            .chain(new_methods.keys())
            .copied()
            .collect();
        for name in names {
            match (old_methods.get(name), new_methods.get(name)) {
                (Some((owner, removed)), None) => {
                    let affected = self.overrider_or_user(class, &removed.name, relation);
                    self.record(
                        MemberChange {
                            class: owner,
                            member: Some(format!("{}()", removed.name)),
                            kind: CoreChangeKind::MethodRemoved,
                            old: Some(removed.signature.clone()),
                            new: None,
                        },
                        affected,
                    );
                }
                (None, Some((owner, added))) => {
                    let affected = self.added_method_affects(class, added, relation);
                    self.record(
                        MemberChange {
                            class: owner,
                            member: Some(format!("{}()", added.name)),
                            kind: CoreChangeKind::MethodAdded,
                            old: None,
                            new: Some(added.signature.clone()),
                        },
                        affected,
                    );
                }
                (Some((_, before)), Some((owner, after))) => {
                    self.compare_method(class, owner, before, after, relation);
                }
                (None, None) => {}
            }
        }
        let new_constants = new.constants_of(start);
        for (name, owner) in old.constants_of(start) {
            if !new_constants.contains_key(name) && self.uses.constants.contains(name) {
                let affected = Some(self.class_affected(class, relation));
                self.record(
                    MemberChange {
                        class: owner,
                        member: Some(name.to_string()),
                        kind: CoreChangeKind::ConstantRemoved,
                        old: None,
                        new: None,
                    },
                    affected,
                );
            }
        }
    }

    fn compare_method(
        &mut self,
        class: &ClassLike,
        owner: &str,
        before: &MethodSnapshot,
        after: &MethodSnapshot,
        relation: Relation,
    ) {
        let member = || Some(format!("{}()", after.name));
        if before.signature != after.signature {
            let affected = self.overrider_or_user(class, &after.name, relation);
            self.record(
                MemberChange {
                    class: owner,
                    member: member(),
                    kind: CoreChangeKind::SignatureChanged,
                    old: Some(before.signature.clone()),
                    new: Some(after.signature.clone()),
                },
                affected,
            );
        }
        if after.deprecation.is_some() && before.deprecation.is_none() {
            let affected = self.overrider_or_user(class, &after.name, relation);
            self.record(
                MemberChange {
                    class: owner,
                    member: member(),
                    kind: CoreChangeKind::MethodDeprecated,
                    old: None,
                    new: after.deprecation.as_deref().map(first_line),
                },
                affected,
            );
        }
        // Only an override keeps running the old logic; an inherited body just changes.
        if before.body != after.body && before.signature == after.signature {
            let affected = self.overrider(class, &after.name);
            self.record(
                MemberChange {
                    class: owner,
                    member: member(),
                    kind: CoreChangeKind::BodyChanged,
                    old: None,
                    new: None,
                },
                affected,
            );
        }
    }

    fn class_affected(&self, class: &ClassLike, relation: Relation) -> AffectedCode {
        affected_at(self.project, class, None, class.name_span, relation)
    }

    /// `class`'s own method named `method`, as an override.
    fn overrider(&self, class: &ClassLike, method: &str) -> Option<AffectedCode> {
        let declared = class.method(method)?;
        Some(affected_at(
            self.project,
            class,
            Some(&declared.name),
            declared.name_span,
            Relation::Overrides,
        ))
    }

    /// The override of `method` in `class`, else `class` itself when project code calls a
    /// method of that name somewhere (an inherited method matters only where it is used).
    fn overrider_or_user(
        &self,
        class: &ClassLike,
        method: &str,
        relation: Relation,
    ) -> Option<AffectedCode> {
        self.overrider(class, method).or_else(|| {
            self.uses
                .methods
                .contains(&method.to_ascii_lowercase())
                .then(|| self.class_affected(class, relation))
        })
    }

    /// A new core method matters where `class` already has a method of that name, and where
    /// `class` must now declare it: an abstract method, or an interface method nothing in the
    /// class's parent chain declares.
    fn added_method_affects(
        &self,
        class: &ClassLike,
        added: &MethodSnapshot,
        relation: Relation,
    ) -> Option<AffectedCode> {
        if let Some(overrider) = self.overrider(class, &added.name) {
            return Some(overrider);
        }
        let must_declare = match relation {
            Relation::Implements => self.project.index.find_method(class, &added.name).is_none(),
            _ => added.is_abstract && !class.is_abstract,
        };
        must_declare.then(|| self.class_affected(class, relation))
    }
}

/// The core classes of one vendor tree that the comparison needs, as snapshots by lower-cased
/// name: the classes the project builds on and everything they inherit (parents, traits).
#[derive(Debug, Default)]
struct CoreTree {
    classes: HashMap<String, ClassSnapshot>,
}

impl CoreTree {
    fn get(&self, name: &str) -> Option<&ClassSnapshot> {
        self.classes
            .get(&name.trim_start_matches('\\').to_ascii_lowercase())
    }

    /// The current core: snapshots of the index's core classes named in `starts` and of their
    /// parents and traits, with bodies hashed from their files.
    fn current<'n>(
        project: &LoadedProject,
        starts: impl Iterator<Item = &'n str>,
    ) -> Result<Self, CompareCoreError> {
        let index = &project.index;
        let mut pending: Vec<String> = starts.map(str::to_string).collect();
        let mut seen = HashSet::new();
        let mut classes: Vec<&ClassLike> = Vec::new();
        while let Some(name) = pending.pop() {
            if !seen.insert(name.to_ascii_lowercase()) {
                continue;
            }
            let Some(class) = index
                .class(&name)
                .filter(|class| class.layout.origin == Origin::Core)
            else {
                continue;
            };
            pending.extend(class.parent().map(str::to_string));
            pending.extend(class.traits.iter().cloned());
            classes.push(class);
        }
        let mut files: Vec<FileId> = classes.iter().map(|class| class.file).collect();
        files.sort();
        files.dedup();
        let texts: HashMap<FileId, Vec<u8>> = files
            .par_iter()
            .map(|&file| {
                let path = project.root.join(&index.file(file).path);
                fs_err::read(path).map(|text| (file, text))
            })
            .collect::<std::io::Result<_>>()?;
        let classes = classes
            .into_iter()
            .map(|class| {
                let text = texts.get(&class.file).map(Vec::as_slice);
                (
                    class.name.to_ascii_lowercase(),
                    ClassSnapshot::of(class, text),
                )
            })
            .collect();
        Ok(Self { classes })
    }

    /// The classes whose members `start` sees, nearest first: itself, its traits, its parent,
    /// the parent's traits, and so on.
    fn lineage(&self, start: &str) -> Vec<&ClassSnapshot> {
        let mut lineage = Vec::new();
        let mut seen = HashSet::new();
        let mut current = self.get(start);
        while let Some(class) = current {
            if !seen.insert(class.name.to_ascii_lowercase()) {
                break;
            }
            lineage.push(class);
            lineage.extend(class.traits.iter().filter_map(|used| self.get(used)));
            current = class.parent.as_deref().and_then(|parent| self.get(parent));
        }
        lineage
    }

    /// The methods `start` has or inherits, by lower-cased name, with the declaring class.
    fn methods_of(&self, start: &str) -> BTreeMap<&String, (&str, &MethodSnapshot)> {
        let mut methods = BTreeMap::new();
        for class in self.lineage(start) {
            for (name, method) in &class.methods {
                methods.entry(name).or_insert((class.name.as_str(), method));
            }
        }
        methods
    }

    /// The constants `start` has or inherits, with the declaring class.
    fn constants_of(&self, start: &str) -> BTreeMap<&str, &str> {
        let mut constants = BTreeMap::new();
        for class in self.lineage(start) {
            for name in &class.constants {
                constants
                    .entry(name.as_str())
                    .or_insert(class.name.as_str());
            }
        }
        constants
    }
}

/// The member names project code writes after `->`, `?->` or `::`: a cheap, name-only answer
/// to "does the project call this method (or read this constant) anywhere", which decides
/// whether an inherited member's removal or change is worth listing.
#[derive(Debug, Default)]
struct MemberUses {
    /// Lower-cased (PHP method names are case-insensitive).
    methods: HashSet<String>,
    /// As written (constant names are case-sensitive).
    constants: HashSet<String>,
}

impl MemberUses {
    fn of(project: &LoadedProject) -> Self {
        let mut uses = Self::default();
        let php = project
            .sources
            .iter()
            .filter(|source| project.index.file(source.file).is_php());
        for source in php {
            uses.scan(&source.text);
        }
        uses
    }

    fn scan(&mut self, text: &[u8]) {
        let is_word = |byte: u8| byte.is_ascii_alphanumeric() || byte == b'_' || byte >= 0x80;
        let mut position = 0;
        while position + 1 < text.len() {
            let operator = &text[position..position + 2];
            position += 1;
            if operator != b"->" && operator != b"::" {
                continue;
            }
            let start = position + 1;
            let mut end = start;
            while end < text.len() && is_word(text[end]) {
                end += 1;
            }
            if end == start {
                continue;
            }
            let name = String::from_utf8_lossy(&text[start..end]);
            // A call has `(` next; anything else after `::` is a constant (or `class`).
            let next = text[end..].iter().find(|byte| !byte.is_ascii_whitespace());
            if next == Some(&b'(') {
                self.methods.insert(name.to_ascii_lowercase());
            } else if operator == b"::" {
                self.constants.insert(name.into_owned());
            }
            position = end;
        }
    }
}

/// The PHP files of an old vendor tree, by their path below `<package>/src/`.
struct OldVendor {
    /// `Spryker/Zed/Product/Business/ProductFacade.php` (lower-cased) -> file.
    by_psr4_path: HashMap<String, PathBuf>,
}

impl OldVendor {
    fn list(old_vendor: &Path) -> Result<Self, CompareCoreError> {
        // Accept the directory that holds `vendor/` too.
        let nested = old_vendor.join("vendor");
        let root = if vendor_dirs(old_vendor)?.is_empty() && nested.is_dir() {
            nested
        } else {
            old_vendor.to_path_buf()
        };
        let mut sources = Vec::new();
        for vendor in vendor_dirs(&root)? {
            for package in fs_err::read_dir(&vendor)? {
                let source = package?.path().join("src");
                if source.is_dir() {
                    sources.push(source);
                }
            }
        }
        if sources.is_empty() {
            return Err(CompareCoreError::NoCorePackages {
                path: old_vendor.to_path_buf(),
            });
        }
        let listed: Vec<Vec<(String, PathBuf)>> = sources
            .par_iter()
            .map(|source| {
                let mut found = Vec::new();
                php_files_below(source, source, &mut found)?;
                Ok(found)
            })
            .collect::<Result<_, std::io::Error>>()?;
        Ok(Self {
            by_psr4_path: listed.into_iter().flatten().collect(),
        })
    }

    /// Reads the classes named in `starts` and everything they inherit (parents and traits,
    /// found by their PSR-4 paths), with bodies hashed.
    fn read_tree<'n>(
        &self,
        starts: impl Iterator<Item = &'n str>,
        namespaces: &upkeep_php::spryker::ProjectNamespaces,
    ) -> Result<CoreTree, CompareCoreError> {
        let mut tree = CoreTree::default();
        let mut read: HashSet<&PathBuf> = HashSet::new();
        let mut pending: Vec<String> = starts.map(str::to_string).collect();
        // One round per level of inheritance; each round reads its files in parallel.
        while !pending.is_empty() {
            let mut files: Vec<&PathBuf> = pending
                .iter()
                .filter(|name| tree.get(name).is_none())
                .filter_map(|name| {
                    let psr4 = format!("{}.php", name.trim_start_matches('\\').replace('\\', "/"));
                    self.by_psr4_path.get(&psr4.to_ascii_lowercase())
                })
                .filter(|path| read.insert(path))
                .collect();
            files.sort();
            files.dedup();
            let snapshots = read_snapshots(&files, namespaces)?;
            pending = snapshots
                .iter()
                .flat_map(|snapshot| snapshot.parent.iter().chain(&snapshot.traits))
                .cloned()
                .collect();
            for snapshot in snapshots {
                tree.classes
                    .insert(snapshot.name.to_ascii_lowercase(), snapshot);
            }
        }
        Ok(tree)
    }
}

/// Parses `files` in parallel into class snapshots.
fn read_snapshots(
    files: &[&PathBuf],
    namespaces: &upkeep_php::spryker::ProjectNamespaces,
) -> std::io::Result<Vec<ClassSnapshot>> {
    let snapshots: Vec<Vec<ClassSnapshot>> = files
        .par_iter()
        .enumerate()
        .map(|(position, path)| {
            let text = fs_err::read(path)?;
            let file = FileId(u32::try_from(position).unwrap_or(u32::MAX));
            Ok(with_thread_arena(|arena| {
                arena.reset();
                let program = parse_php(arena, &text);
                let facts = extract_facts(program, &text, file, namespaces);
                facts
                    .classes
                    .iter()
                    .map(|class| ClassSnapshot::of(class, Some(&text)))
                    .collect()
            }))
        })
        .collect::<std::io::Result<_>>()?;
    Ok(snapshots.into_iter().flatten().collect())
}

/// The `spryker*` directories of a vendor directory.
fn vendor_dirs(vendor: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for entry in fs_err::read_dir(vendor)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with("spryker") && entry.path().is_dir() {
            dirs.push(entry.path());
        }
    }
    dirs.sort();
    Ok(dirs)
}

fn php_files_below(
    source: &Path,
    dir: &Path,
    found: &mut Vec<(String, PathBuf)>,
) -> std::io::Result<()> {
    for entry in fs_err::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            php_files_below(source, &path, found)?;
        } else if path.extension().is_some_and(|extension| extension == "php") {
            let relative = path
                .strip_prefix(source)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/")
                .to_ascii_lowercase();
            found.push((relative, path));
        }
    }
    Ok(())
}

impl CoreComparison {
    /// How many project classes and methods the changes affect, counted once each.
    pub fn affected_count(&self) -> usize {
        self.changes
            .iter()
            .flat_map(|change| &change.affected)
            .map(|affected| (&affected.class, &affected.method))
            .collect::<HashSet<_>>()
            .len()
    }

    /// The section of the text report.
    pub fn render_text(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "Core changes since {} ({} compared core {}):",
            self.old_vendor.display(),
            self.classes_compared,
            if self.classes_compared == 1 {
                "class"
            } else {
                "classes"
            }
        );
        if self.changes.is_empty() {
            let _ = writeln!(
                out,
                "  none of the core classes the project extends, implements or uses changed in a way that affects it"
            );
            out.push('\n');
            return;
        }
        let mut current_class = None;
        for change in &self.changes {
            if current_class != Some(&change.class) {
                let _ = writeln!(out, "  {}", change.class);
                current_class = Some(&change.class);
            }
            let member = change
                .member
                .as_deref()
                .map(|member| format!(" {member}"))
                .unwrap_or_default();
            let overrides = change
                .affected
                .iter()
                .any(|affected| affected.relation == Relation::Overrides);
            let _ = writeln!(
                out,
                "    {}{member}: {}",
                change.kind.name(),
                change.kind.description(overrides)
            );
            if let Some(old) = &change.old {
                let _ = writeln!(out, "      old: {old}");
            }
            if let Some(new) = &change.new {
                let label = match change.kind {
                    CoreChangeKind::ClassDeprecated | CoreChangeKind::MethodDeprecated => "note",
                    _ => "new",
                };
                let _ = writeln!(out, "      {label}: {new}");
            }
            for affected in &change.affected {
                let what = match &affected.method {
                    Some(method) => format!("{}::{method}", affected.class),
                    None => affected.class.clone(),
                };
                let _ = writeln!(
                    out,
                    "      {} {what} at {}:{}",
                    affected.relation.name(),
                    affected.file,
                    affected.line
                );
            }
        }
        let _ = writeln!(
            out,
            "  {} {} affecting {} project {}",
            self.changes.len(),
            if self.changes.len() == 1 {
                "change"
            } else {
                "changes"
            },
            self.affected_count(),
            if self.affected_count() == 1 {
                "class or method"
            } else {
                "classes and methods"
            }
        );
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_hash_ignores_whitespace_but_not_code() {
        assert_eq!(
            body_hash(b"{\n    return $a + 1;\n}"),
            body_hash(b"{ return   $a\t+ 1; }")
        );
        assert_ne!(
            body_hash(b"{ return $a + 1; }"),
            body_hash(b"{ return $a + 2; }")
        );
        assert_ne!(
            body_hash(b"{ return $ab; }"),
            body_hash(b"{ return $a b; }")
        );
        assert_eq!(
            body_hash(b"{ $this->touch(\n    $id\n); }"),
            body_hash(b"{ $this->touch($id); }")
        );
    }

    #[test]
    fn member_uses_tell_calls_from_constants() {
        let mut uses = MemberUses::default();
        uses.scan(b"<?php return $this->getFacade()->findById (1) + static::LIMIT + Foo::bar() + $a?->Run() + self::$prop + $x->prop;");
        let mut methods: Vec<&str> = uses.methods.iter().map(String::as_str).collect();
        methods.sort_unstable();
        assert_eq!(methods, ["bar", "findbyid", "getfacade", "run"]);
        assert_eq!(uses.constants, HashSet::from(["LIMIT".to_string()]));
    }

    #[test]
    fn change_kinds_have_kebab_names() {
        for kind in [
            CoreChangeKind::ClassRemoved,
            CoreChangeKind::BodyChanged,
            CoreChangeKind::SignatureChanged,
        ] {
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::String(kind.name().to_string())
            );
        }
    }
}
