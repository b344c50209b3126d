//! What a rule is: its metadata (name, Spryker ids, category, docs) and its checks.

use std::fmt::Write as _;
use std::path::Path;

use mago_syntax::ast::Program;
use upkeep_php::docblock::DocBlock;
use upkeep_php::extract::FileFacts;
use upkeep_php::project::LoadedProject;
use upkeep_php::source::{LineIndex, TextSpan};
use upkeep_php::{CodebaseIndex, FileId, names::ClassScope};

use crate::finding::{Finding, Location, Severity};
use crate::inputs::GateInputs;
use crate::manifests::ProjectManifests;
use crate::settings::GateSettings;

/// Groups of rules; a category decides the default severity of its rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// Files that cannot be read as PHP, XML, JSON or YAML, and suppressions that do not apply.
    Syntax,
    /// Spryker's dependency-provider rules (section A of the spec).
    DependencyProvider,
    /// Packages, PHP versions and advisories (section B).
    Packages,
    /// Project code that uses core's private API (section C).
    PrivateApi,
    /// Project names that may clash with core's in a later release (section C).
    NotUnique,
    /// Project code that breaks, or is dead, when core changes (`dead-code`, section D).
    CoreCompatibility,
}

impl Category {
    pub fn name(self) -> &'static str {
        match self {
            Self::Syntax => "syntax",
            Self::DependencyProvider => "dependency-provider",
            Self::Packages => "packages",
            Self::PrivateApi => "private-api",
            Self::NotUnique => "not-unique",
            Self::CoreCompatibility => "core-compatibility",
        }
    }

    pub fn default_severity(self) -> Severity {
        match self {
            Self::Syntax
            | Self::DependencyProvider
            | Self::Packages
            | Self::PrivateApi
            | Self::NotUnique
            | Self::CoreCompatibility => Severity::Error,
        }
    }

    pub const ALL: &'static [Category] = &[
        Self::Syntax,
        Self::DependencyProvider,
        Self::Packages,
        Self::PrivateApi,
        Self::NotUnique,
        Self::CoreCompatibility,
    ];
}

/// Everything about a rule that is not its check.
#[derive(Debug, PartialEq, Eq)]
pub struct RuleMeta {
    /// Kebab-case primary name, e.g. `container-set-returns-array`.
    pub name: &'static str,
    /// The ids Spryker's tools print for the same check, accepted as aliases.
    pub spryker_ids: &'static [&'static str],
    pub category: Category,
    /// One line: what the rule finds.
    pub summary: &'static str,
    /// Markdown with the fixed headings: What it finds / Why it matters / Example / Instead /
    /// Fix / Configuration / Spryker id.
    pub documentation: &'static str,
    /// A file that must produce at least one finding of this rule, and one that must not.
    pub bad_example: Example,
    pub good_example: Example,
    /// The page a finding links to: Spryker's upgradability guideline for the check, or, where
    /// Spryker publishes none, the rule's own documentation (`docs/rules/<name>.md`).
    pub guideline: &'static str,
    /// True for rules that compare project code with core (`vendor/spryker*`); without core
    /// they are skipped with a notice instead of passing silently.
    pub needs_core: bool,
}

/// A documentation example: files (path relative to a project root, content) that make up a
/// tiny project. PHP rules use one PHP file; project rules use `composer.json` and friends.
#[derive(Debug, PartialEq, Eq)]
pub struct Example {
    pub files: &'static [(&'static str, &'static str)],
}

/// Where rule documentation is published: `docs/rules/<name>.md` on the repository, generated
/// from each rule's [`RuleMeta`] by the test `tests/rule_docs.rs`.
pub const PUBLISHED_DOCUMENTATION: &str =
    "https://github.com/upkeep-dev/upkeep/blob/main/docs/rules/";

/// The published documentation of rule `$name`, for rules that no Spryker page covers (a
/// `guideline` must be a page that exists; the test `tests/rule_docs.rs` holds the list).
macro_rules! own_documentation {
    ($name:literal) => {
        concat!(
            "https://github.com/upkeep-dev/upkeep/blob/main/docs/rules/",
            $name,
            ".md"
        )
    };
}
pub(crate) use own_documentation;

impl RuleMeta {
    /// The URL of this rule's published documentation (`docs/rules/<name>.md`).
    pub fn documentation_url(&self) -> String {
        format!("{PUBLISHED_DOCUMENTATION}{}.md", self.name)
    }

    /// The rule's documentation as one Markdown page: what `upkeep rules NAME` prints and
    /// `docs/rules/<name>.md` publishes.
    pub fn documentation_page(&self) -> String {
        let spryker_ids = if self.spryker_ids.is_empty() {
            "none".to_string()
        } else {
            self.spryker_ids
                .iter()
                .map(|id| format!("`{id}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut page = format!(
            "# {}\n\n{}\n\n- Category: `{}`\n- Default severity: {}\n- Spryker ids: {spryker_ids}\n- Needs core (`vendor/spryker*`): {}\n",
            self.name,
            self.summary,
            self.category.name(),
            self.category.default_severity(),
            if self.needs_core { "yes" } else { "no" },
        );
        if self.guideline != self.documentation_url() {
            let _ = writeln!(page, "- Guideline: {}", self.guideline);
        }
        page.push('\n');
        page.push_str(self.documentation.trim_end());
        page.push('\n');
        page
    }

    /// The primary id that Spryker's current tools print for this check, if any.
    pub fn spryker_id(&self) -> Option<&'static str> {
        self.spryker_ids.first().copied()
    }

    pub fn answers_to(&self, id: &str) -> bool {
        self.name.eq_ignore_ascii_case(id)
            || self
                .spryker_ids
                .iter()
                .any(|alias| alias.eq_ignore_ascii_case(id))
    }
}

/// A check. Rules implement the kinds of check they need; the others do nothing.
pub trait Rule: Sync + Send {
    fn meta(&self) -> &'static RuleMeta;

    /// Checks one project PHP file that parsed.
    fn check_php_file(&self, _file: &PhpFile<'_, '_>, _sink: &mut Sink) {}

    /// Checks the project as a whole (Composer, deploy files, npm).
    fn check_project(&self, _project: &ProjectScope<'_>, _sink: &mut Sink) {}
}

/// Where checks put what they find.
#[derive(Debug, Default)]
pub struct Sink {
    pub findings: Vec<Finding>,
    pub notices: Vec<Notice>,
}

impl Sink {
    pub fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    /// Tells the user that a check could not run fully (never a silent pass).
    pub fn notice(&mut self, rule: &'static RuleMeta, message: impl Into<String>) {
        self.notices.push(Notice {
            rule: rule.name,
            message: message.into(),
        });
    }
}

/// Something the user should know about the run that is not a finding, e.g. a skipped check.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Notice {
    pub rule: &'static str,
    pub message: String,
}

/// One project PHP file with its syntax tree, as a rule sees it.
pub struct PhpFile<'a, 'arena> {
    /// The project root, for reading core files next to this one (paths in the index are
    /// relative to it).
    pub root: &'a Path,
    /// Path relative to the project root, with `/` separators.
    pub path: &'a str,
    pub text: &'a [u8],
    pub lines: &'a LineIndex,
    pub program: &'a Program<'arena>,
    pub facts: &'a FileFacts,
    pub index: &'a CodebaseIndex,
    pub settings: &'a GateSettings,
}

impl PhpFile<'_, '_> {
    pub fn location(&self, span: impl Into<TextSpan>) -> Location {
        Location::in_text(self.path, self.text, self.lines, span.into())
    }

    pub fn finding(
        &self,
        rule: &'static RuleMeta,
        span: impl Into<TextSpan>,
        message: impl Into<String>,
    ) -> Finding {
        Finding::new(rule, self.location(span), message)
    }

    /// The source text of a span.
    pub fn source(&self, span: impl Into<TextSpan>) -> &str {
        let span = span.into();
        self.text
            .get(span.start as usize..(span.end as usize).min(self.text.len()))
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .unwrap_or_default()
    }

    /// Resolves a class name written at `offset` to its fully qualified name.
    pub fn resolve_class(&self, written: &str, offset: u32) -> String {
        let class = self.facts.class_at(offset);
        let scope = class.map(|class| ClassScope {
            name: &class.name,
            parent: class.parent(),
        });
        self.facts
            .context_at(offset)
            .resolve_class_in(written, scope)
    }

    /// The doc block right before `offset`, if any.
    pub fn doc_block_before(&self, offset: u32) -> Option<DocBlock> {
        mago_syntax::comments::docblock::get_docblock_before_position(
            self.program.trivia.as_slice(),
            offset,
        )
        .map(|trivia| {
            DocBlock::parse(
                &String::from_utf8_lossy(trivia.value),
                trivia.span.start.offset,
            )
        })
    }
}

/// The project as a whole, for project-level rules.
pub struct ProjectScope<'a> {
    pub root: &'a Path,
    pub manifests: &'a ProjectManifests,
    pub index: &'a CodebaseIndex,
    /// The loaded project, for the text of project files (`location`, `source`).
    pub project: &'a LoadedProject,
    pub settings: &'a GateSettings,
    /// What the caller gathered before the run, completed from `upkeep.toml`.
    pub inputs: &'a GateInputs,
}

impl ProjectScope<'_> {
    /// The location of `span` in a project file of the index (PHP or XML).
    pub fn location(&self, file: FileId, span: impl Into<TextSpan>) -> Location {
        let path = self
            .index
            .file(file)
            .path
            .to_string_lossy()
            .replace('\\', "/");
        match self.project.source(file) {
            Some(source) => Location::in_text(&path, &source.text, &source.lines, span.into()),
            None => Location::whole_file(&path),
        }
    }

    pub fn finding(
        &self,
        rule: &'static RuleMeta,
        file: FileId,
        span: impl Into<TextSpan>,
        message: impl Into<String>,
    ) -> Finding {
        Finding::new(rule, self.location(file, span), message)
    }
}
