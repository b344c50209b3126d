//! The project a manifest changes: its files as the changes leave them (in memory until
//! written), its project namespaces (from `config/Shared/config_default.php`, as the gate reads
//! them), the project class of a core class per namespace, created extending the core class
//! when missing, and a method added overriding the core one when missing.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use upkeep_php::names::{NameContext, is_builtin_type, namespace_of, short_name};
use upkeep_php::spryker::ProjectNamespaces;

use crate::php::{ClassView, Edit, Imports, Layout, MethodView, PhpView, apply_edits, line_start};

/// A class and member a manifest targets: `\Spryker\Zed\Foo\FooConfig::getBar`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Without the leading backslash.
    pub class: String,
    pub member: Option<String>,
}

impl Target {
    pub fn parse(target: &str) -> Result<Self, String> {
        let target = target.trim().trim_start_matches('\\');
        let (class, member) = match target.split_once("::") {
            Some((class, member)) => (class, Some(member.trim_end_matches("()").to_string())),
            None => (target, None),
        };
        if class.split('\\').count() < 3
            || !class.split('\\').all(|segment| {
                !segment.is_empty() && segment.chars().all(|c| c.is_alphanumeric() || c == '_')
            })
        {
            return Err(format!("`{target}` is not a Spryker class name"));
        }
        Ok(Self {
            class: class.to_string(),
            member,
        })
    }

    /// The method the target names, or why it names none.
    pub fn method(&self) -> Result<String, String> {
        self.member
            .clone()
            .ok_or_else(|| format!("{} names no method", self.class))
    }

    /// `Zed`, `Yves`, ...: the class name after its organisation.
    fn after_organisation(&self) -> &str {
        self.class.split_once('\\').map_or("", |(_, rest)| rest)
    }

    fn organisation(&self) -> &str {
        self.class.split('\\').next().unwrap_or_default()
    }

    fn module(&self) -> &str {
        self.class.split('\\').nth(2).unwrap_or_default()
    }
}

/// One file as the changes leave it.
#[derive(Debug, Clone)]
struct FileState {
    /// `None` for a file the changes create.
    before: Option<String>,
    after: String,
}

/// A changed file: its path relative to the root and the text before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub path: String,
    pub before: Option<String>,
    pub after: String,
}

/// The project under change.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub root: PathBuf,
    pub namespaces: ProjectNamespaces,
    files: BTreeMap<String, FileState>,
    /// Each write's path and the state it replaced, for rolling back.
    journal: Vec<(String, Option<FileState>)>,
}

impl Workspace {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            namespaces: upkeep_php::project::read_project_namespaces(root),
            files: BTreeMap::new(),
            journal: Vec::new(),
        }
    }

    /// The current text of `path` (relative, `/`-separated), `None` when it does not exist.
    pub fn read(&mut self, path: &str) -> Option<String> {
        if let Some(state) = self.files.get(path) {
            return Some(state.after.clone());
        }
        let text = std::fs::read_to_string(self.root.join(path)).ok()?;
        self.files.insert(
            path.to_string(),
            FileState {
                before: Some(text.clone()),
                after: text.clone(),
            },
        );
        Some(text)
    }

    pub fn exists(&mut self, path: &str) -> bool {
        self.files.contains_key(path) || self.root.join(path).is_file()
    }

    pub fn write(&mut self, path: &str, text: String) {
        self.journal
            .push((path.to_string(), self.files.get(path).cloned()));
        if let Some(state) = self.files.get_mut(path) {
            state.after = text;
        } else {
            let before = std::fs::read_to_string(self.root.join(path)).ok();
            self.files.insert(
                path.to_string(),
                FileState {
                    before,
                    after: text,
                },
            );
        }
    }

    /// A point to come back to with [`Self::rollback`].
    pub fn mark(&self) -> usize {
        self.journal.len()
    }

    /// Undoes every write since `mark`.
    pub fn rollback(&mut self, mark: usize) {
        while self.journal.len() > mark {
            let Some((path, previous)) = self.journal.pop() else {
                break;
            };
            match previous {
                Some(state) => {
                    self.files.insert(path, state);
                }
                None => {
                    self.files.remove(&path);
                }
            }
        }
    }

    /// The files written since `mark`, each with its text at `mark` (`None`: it did not exist).
    pub fn written_since(&self, mark: usize) -> Vec<(String, Option<String>)> {
        let mut seen = std::collections::BTreeSet::new();
        self.journal[mark..]
            .iter()
            .filter(|(path, _)| seen.insert(path.clone()))
            .map(|(path, previous)| {
                let text = previous
                    .as_ref()
                    .map(|state| state.after.clone())
                    .or_else(|| std::fs::read_to_string(self.root.join(path)).ok());
                (path.clone(), text)
            })
            .collect()
    }

    /// The current text of a file the workspace holds.
    pub fn current(&self, path: &str) -> Option<&str> {
        self.files.get(path).map(|state| state.after.as_str())
    }

    /// Every file whose text differs from what is on disk, by path.
    pub fn changes(&self) -> Vec<FileChange> {
        self.files
            .iter()
            .filter(|(_, state)| state.before.as_deref() != Some(state.after.as_str()))
            .map(|(path, state)| FileChange {
                path: path.clone(),
                before: state.before.clone(),
                after: state.after.clone(),
            })
            .collect()
    }

    /// The file of a class under `src/`, or in `vendor/` for a core class.
    pub fn project_path(class: &str) -> String {
        format!("src/{}.php", class.replace('\\', "/"))
    }

    /// Where Composer installs the core class of `target`: the module's package, or the
    /// split-less monorepo layout (`vendor/spryker/spryker/Bundles/<Module>`).
    pub fn core_path(&mut self, target: &Target) -> Option<String> {
        let file = format!("src/{}.php", target.class.replace('\\', "/"));
        let vendor = kebab_case(target.organisation());
        let package = kebab_case(target.module());
        let candidates = [
            format!("vendor/{vendor}/{package}/{file}"),
            format!("vendor/spryker/{vendor}/Bundles/{}/{file}", target.module()),
            format!(
                "vendor/{vendor}/{vendor}/Bundles/{}/{file}",
                target.module()
            ),
        ];
        candidates.into_iter().find(|path| self.exists(path))
    }

    /// The project classes of `target`'s class: every project namespace's class that exists,
    /// else the first namespace's, created extending the core class. Each is `(path, short
    /// class name)`.
    pub fn project_classes(&mut self, target: &Target) -> Result<Vec<(String, String)>, String> {
        let short = short_name(&target.class).to_string();
        if self.namespaces.is_project(target.organisation()) {
            let path = Self::project_path(&target.class);
            return if self.exists(&path) {
                Ok(vec![(path, short)])
            } else {
                Err(format!("the project class {} does not exist", target.class))
            };
        }
        let mut found = Vec::new();
        for namespace in self.namespaces.0.clone() {
            let class = format!("{namespace}\\{}", target.after_organisation());
            let path = Self::project_path(&class);
            if self.exists(&path) {
                found.push((path, short.clone()));
            }
        }
        if !found.is_empty() {
            return Ok(found);
        }
        // A project class is created only for a core class that is installed.
        self.core_path(target).ok_or_else(|| {
            format!(
                "{} is not installed (no vendor/{}/{} with it)",
                target.class,
                kebab_case(target.organisation()),
                kebab_case(target.module())
            )
        })?;
        let namespace = self
            .namespaces
            .0
            .first()
            .cloned()
            .unwrap_or_else(|| "Pyz".into());
        let class = format!("{namespace}\\{}", target.after_organisation());
        let path = Self::project_path(&class);
        self.write(&path, new_class_text(&class, &target.class));
        Ok(vec![(path, short)])
    }

    /// The core class's method `name` (its text and view), for overriding it.
    pub fn core_method(&mut self, target: &Target, name: &str) -> Option<CoreMethod> {
        let path = self.core_path(target)?;
        let text = self.read(&path)?;
        let view = PhpView::read(&text);
        let class = view.class(short_name(&target.class))?.clone();
        let method = class.method(name)?.clone();
        Some(CoreMethod {
            text,
            context: view.context,
            method,
        })
    }
}

/// A core method to override.
#[derive(Debug, Clone)]
pub struct CoreMethod {
    pub text: String,
    pub context: NameContext,
    pub method: MethodView,
}

impl CoreMethod {
    /// The resolved return type (`array`, `Spryker\...\Container`), if declared.
    pub fn return_type(&self) -> Option<String> {
        self.method.return_type.map(|range| {
            self.context
                .resolve_type(&self.text[range.0..range.1], None)
        })
    }

    /// True when the core method's stack is not empty: a `return` of anything but `[]`.
    pub fn returns_something(&self) -> bool {
        self.method.returns.iter().any(|r#return| {
            r#return.value.is_some_and(|value| {
                let written: String = self.text[value.0..value.1]
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect();
                written != "[]" && written != "array()"
            })
        })
    }

    /// `parent::name($a, $b)`.
    pub fn parent_call(&self) -> String {
        let arguments: Vec<&str> = self
            .method
            .parameters
            .iter()
            .map(|parameter| parameter.variable.as_str())
            .collect();
        format!("parent::{}({})", self.method.name, arguments.join(", "))
    }

    /// The doc block written above the core method, if any.
    fn doc_block(&self) -> Option<&str> {
        let before = self.text[..self.method.span.0].trim_end();
        if !before.ends_with("*/") {
            return None;
        }
        let start = before.rfind("/**")?;
        Some(&before[start..])
    }

    /// The method's declaration for the project file: doc block, signature with class names
    /// written for `imports`, and `body` (statements, one per line, without indentation).
    pub fn override_text(&self, imports: &mut Imports, body: &[String], layout: &Layout) -> String {
        let newline = layout.newline;
        let unit = &layout.unit;
        let mut out = String::new();
        if let Some(doc) = self.doc_block() {
            for line in doc.lines() {
                let line = line.trim();
                let line = if line.starts_with('*') {
                    format!(" {line}")
                } else {
                    line.to_string()
                };
                let _ = write!(out, "{unit}{line}{newline}");
            }
        }
        let mut parameters = Vec::new();
        for parameter in &self.method.parameters {
            let mut written = String::new();
            if let Some(hint) = parameter.hint {
                written.push_str(&self.type_for(&self.text[hint.0..hint.1], imports));
                written.push(' ');
            }
            if parameter.by_reference {
                written.push('&');
            }
            if parameter.variadic {
                written.push_str("...");
            }
            written.push_str(&parameter.variable);
            if let Some(default) = parameter.default {
                written.push_str(" = ");
                written.push_str(&self.text[default.0..default.1]);
            }
            parameters.push(written);
        }
        let visibility = if self.method.visibility.is_empty() {
            "public"
        } else {
            &self.method.visibility
        };
        let statik = if self.method.is_static { " static" } else { "" };
        let return_type = self
            .method
            .return_type
            .map(|range| format!(": {}", self.type_for(&self.text[range.0..range.1], imports)))
            .unwrap_or_default();
        let _ = write!(
            out,
            "{unit}{visibility}{statik} function {}({}){return_type}{newline}{unit}{{{newline}",
            self.method.name,
            parameters.join(", ")
        );
        for statement in body {
            for line in statement.lines() {
                if line.trim().is_empty() {
                    out.push_str(newline);
                } else {
                    let _ = write!(out, "{unit}{unit}{line}{newline}");
                }
            }
        }
        let _ = write!(out, "{unit}}}{newline}");
        out
    }

    /// A type as written in the core file, written for the project file.
    fn type_for(&self, written: &str, imports: &mut Imports) -> String {
        let resolved = self.context.resolve_type(written, None);
        let mut out = String::new();
        let mut word = String::new();
        let mut flush = |word: &mut String, out: &mut String| {
            if word.is_empty() {
                return;
            }
            let keyword = ["self", "static", "parent", "null", "true", "false"]
                .iter()
                .any(|keyword| keyword.eq_ignore_ascii_case(word));
            if keyword || is_builtin_type(word) {
                out.push_str(word);
            } else {
                out.push_str(&imports.name(word));
            }
            word.clear();
        };
        for character in resolved.chars() {
            if character.is_alphanumeric() || character == '_' || character == '\\' {
                word.push(character);
            } else {
                flush(&mut word, &mut out);
                out.push(character);
            }
        }
        flush(&mut word, &mut out);
        out
    }
}

/// `text` with `method_text` (a whole method, indented, ending with a line break) added at the
/// end of class `class`, and the imports it needs.
pub fn add_method(
    text: &str,
    view: &PhpView,
    class: &ClassView,
    method_text: &str,
    imports: &Imports,
    layout: &Layout,
) -> String {
    let newline = layout.newline;
    let closing_line = line_start(text, class.right_brace);
    let mut edits = Vec::new();
    if text[closing_line..class.right_brace].trim().is_empty() && closing_line > class.left_brace {
        let separator = if class.last_member_end.is_some() {
            newline
        } else {
            ""
        };
        edits.push(Edit::insert(
            closing_line,
            format!("{separator}{method_text}"),
        ));
    } else {
        edits.push(Edit::insert(
            class.right_brace,
            format!("{newline}{method_text}"),
        ));
    }
    edits.extend(imports.edits(view, text, layout));
    apply_edits(text, edits)
}

/// A new project class extending the core class, in Spryker's style.
fn new_class_text(class: &str, core: &str) -> String {
    let short = short_name(class);
    let organisation = core.split('\\').next().unwrap_or_default();
    let alias = format!("{organisation}{short}");
    format!(
        "<?php\n\nnamespace {};\n\nuse {core} as {alias};\n\nclass {short} extends {alias}\n{{\n}}\n",
        namespace_of(class)
    )
}

/// `SprykerShop` -> `spryker-shop`, `ProductOptionStorage` -> `product-option-storage`.
pub fn kebab_case(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for (index, character) in camel.chars().enumerate() {
        if character.is_uppercase() {
            if index > 0 {
                out.push('-');
            }
            out.extend(character.to_lowercase());
        } else {
            out.push(character);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_package_names() {
        let target =
            Target::parse("\\Spryker\\Zed\\Console\\ConsoleDependencyProvider::getConsoleCommands")
                .unwrap();
        assert_eq!(
            target.class,
            "Spryker\\Zed\\Console\\ConsoleDependencyProvider"
        );
        assert_eq!(target.member.as_deref(), Some("getConsoleCommands"));
        assert_eq!(target.module(), "Console");
        assert!(Target::parse("getConsoleCommands").is_err());
        assert_eq!(kebab_case("SprykerShop"), "spryker-shop");
        assert_eq!(kebab_case("ProductOptionStorage"), "product-option-storage");
        assert_eq!(
            new_class_text("Pyz\\Zed\\Foo\\FooConfig", "Spryker\\Zed\\Foo\\FooConfig"),
            "<?php\n\nnamespace Pyz\\Zed\\Foo;\n\nuse Spryker\\Zed\\Foo\\FooConfig as SprykerFooConfig;\n\nclass FooConfig extends SprykerFooConfig\n{\n}\n"
        );
    }
}
