//! `plugin-restriction-docblock`: malformed `Restrictions:` doc blocks on plugin entries of a
//! dependency provider, or restrictions naming a class the file does not use.

use std::collections::HashSet;

use mago_span::HasSpan;
use mago_syntax::ast::{
    Access, ArrayElement, ClassConstantAccess, ClassLikeConstantSelector, Expression,
    ExpressionStatement, Instantiation,
};
use mago_syntax::comments::docblock::get_docblock_before_position;
use mago_syntax::walker::Walker;
use upkeep_php::source::TextSpan;

use super::{dependency_providers, snippet, text, unparenthesized, written_class_name};
use crate::rule::{Category, Example, PhpFile, Rule, RuleMeta, Sink};

pub struct PluginRestrictionDocblock;

pub static META: RuleMeta = RuleMeta {
    name: "plugin-restriction-docblock",
    spryker_ids: &["PLUGINS_REGISTRATION_WITH_RESTRICTIONS_CHECKER"],
    category: Category::DependencyProvider,
    summary: "A `Restrictions:` doc block on a plugin entry that does not follow `* - before|after {@link Class}`, or names a class the file does not use.",
    documentation: "\
## What it finds
Doc blocks containing a `Restrictions:` line on plugin entries of a `*DependencyProvider`
class. A plugin entry is an array element whose value is `new X(...)` or `X::class`, or
whose key is `X::class`, and a statement `$plugins[] = new X(...)` (or `$plugins[KEY] = ...`).

After the `Restrictions:` line, up to the end of the doc block or the next `@tag`, every
non-empty line must read exactly

```
* - before {@link \\Full\\Name\\Of\\OtherPlugin}
* - after {@link \\Full\\Name\\Of\\OtherPlugin} Optional sentence ending in a dot.
```

Reported, each at its own doc-block line:

- a line in the block that does not match that form (free text, a wrapped sentence, a
  missing `{@link}`, a sentence without the final dot);
- a `Restrictions:` line with text after it, or without any restriction line below it;
- a `{@link}` whose class is neither imported with `use` nor referenced in code
  (`new`, `::class`, `::CONST`) in the dependency provider: a restriction must name a plugin
  that is registered there. The class may be written fully qualified (`\\Foo\\BarPlugin`, as
  Spryker's documentation shows) or as an imported short name or alias; both are resolved
  like PHP names.

Beyond Spryker's checker, which silently stops at the first line that is not a `- ` list
item, only accepts a fully qualified `{@link}` that is literally imported, and reports the
doc block's first line, this rule checks every line of the block, accepts any name that
resolves to an imported or used class, checks `$plugins[] = ...` registrations too, and
points at the offending line.

## Why it matters
Restrictions tell Spryker's integration tooling (and the next developer) in which order
plugins must stay. A restriction that tooling cannot read, or that names a plugin which is
not there, silently loses that ordering on the next update.

## Example
```php
return [
    /**
     * Restrictions:
     * - Call it always before MerchantProductOfferReferenceStrategyPlugin.
     */
    new ProductOfferReferenceStrategyPlugin(),
    new MerchantProductOfferReferenceStrategyPlugin(),
];
```

## Instead
```php
return [
    /**
     * Restrictions:
     * - before {@link \\Spryker\\Client\\MerchantProductStorage\\Plugin\\MerchantProductOfferReferenceStrategyPlugin} Call it always first.
     */
    new ProductOfferReferenceStrategyPlugin(),
    new MerchantProductOfferReferenceStrategyPlugin(),
];
```

## Fix
Rewrite each restriction as `* - before {@link \\Full\\ClassName}` or
`* - after {@link \\Full\\ClassName}`, optionally followed by one sentence ending in a dot,
and name only plugins registered in the same dependency provider.

## Configuration
None. Vendor files are never reported.

## Spryker id
`PLUGINS_REGISTRATION_WITH_RESTRICTIONS_CHECKER`
",
    bad_example: Example {
        files: &[(
            "src/Pyz/Client/ProductOfferStorage/ProductOfferStorageDependencyProvider.php",
            "<?php\nnamespace Pyz\\Client\\ProductOfferStorage;\n\nuse Spryker\\Client\\MerchantProductStorage\\Plugin\\MerchantProductOfferReferenceStrategyPlugin;\n\nclass ProductOfferStorageDependencyProvider\n{\n    protected function getStrategyPlugins(): array\n    {\n        return [\n            /**\n             * Restrictions:\n             * - Call it always before MerchantProductOfferReferenceStrategyPlugin.\n             */\n            new ProductOfferReferenceStrategyPlugin(),\n            new MerchantProductOfferReferenceStrategyPlugin(),\n        ];\n    }\n}\n",
        )],
    },
    good_example: Example {
        files: &[(
            "src/Pyz/Client/ProductOfferStorage/ProductOfferStorageDependencyProvider.php",
            "<?php\nnamespace Pyz\\Client\\ProductOfferStorage;\n\nuse Spryker\\Client\\MerchantProductStorage\\Plugin\\MerchantProductOfferReferenceStrategyPlugin;\n\nclass ProductOfferStorageDependencyProvider\n{\n    protected function getStrategyPlugins(): array\n    {\n        return [\n            /**\n             * Restrictions:\n             * - before {@link \\Spryker\\Client\\MerchantProductStorage\\Plugin\\MerchantProductOfferReferenceStrategyPlugin} Call it always first.\n             */\n            new ProductOfferReferenceStrategyPlugin(),\n            new MerchantProductOfferReferenceStrategyPlugin(),\n        ];\n    }\n}\n",
        )],
    },
    guideline: "https://docs.spryker.com/docs/dg/dev/guidelines/keeping-a-project-upgradable/upgradability-guidelines/plugin-registration-with-restrintions.html",
    needs_core: false,
};

/// The form of a restriction line, for messages.
const LINE_FORM: &str = "`* - before|after {@link \\Full\\ClassName}`, optionally followed by a sentence ending in a dot";

impl Rule for PluginRestrictionDocblock {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_php_file(&self, file: &PhpFile<'_, '_>, sink: &mut Sink) {
        for class in dependency_providers(file) {
            let mut scan = Scan {
                file,
                entries: Vec::new(),
                used: HashSet::new(),
            };
            EntryFinder.walk_class(class, &mut scan);
            let mut seen = HashSet::new();
            for entry in &scan.entries {
                let Some(doc) =
                    get_docblock_before_position(file.program.trivia.as_slice(), *entry)
                else {
                    continue;
                };
                if !seen.insert(doc.span.start.offset) {
                    continue;
                }
                let raw = text(doc.value);
                if !raw.contains("Restrictions:") {
                    continue;
                }
                for (span, message) in check_doc(&scan, raw, doc.span.start.offset) {
                    sink.push(file.finding(&META, span, message));
                }
            }
        }
    }
}

/// Plugin entries (their start offsets) and the classes the dependency provider uses in code
/// (lower-cased fully qualified names).
struct Scan<'f, 'a, 'arena> {
    file: &'f PhpFile<'a, 'arena>,
    entries: Vec<u32>,
    used: HashSet<String>,
}

impl Scan<'_, '_, '_> {
    fn use_class(&mut self, class: &Expression<'_>) {
        if let Some(written) = written_class_name(class) {
            let resolved = self.file.resolve_class(written, class.span().start.offset);
            self.used.insert(resolved.to_ascii_lowercase());
        }
    }

    /// True when the class is imported with `use` where the doc block is, or used in code.
    fn is_used(&self, resolved: &str, offset: u32) -> bool {
        self.file.facts.context_at(offset).imports_class(resolved)
            || self.used.contains(&resolved.to_ascii_lowercase())
    }
}

/// `new X(...)` or `X::class`.
fn names_a_class(expression: &Expression<'_>) -> bool {
    match unparenthesized(expression) {
        Expression::Instantiation(_) => true,
        Expression::Access(Access::ClassConstant(access)) => is_class_keyword(access),
        _ => false,
    }
}

fn is_class_keyword(access: &ClassConstantAccess<'_>) -> bool {
    matches!(&access.constant, ClassLikeConstantSelector::Identifier(name)
        if text(name.value).eq_ignore_ascii_case("class"))
}

struct EntryFinder;

impl<'ast, 'arena> Walker<'ast, 'arena, Scan<'_, '_, '_>> for EntryFinder {
    fn walk_in_array_element(
        &self,
        element: &'ast ArrayElement<'arena>,
        scan: &mut Scan<'_, '_, '_>,
    ) {
        let is_entry = match element {
            ArrayElement::KeyValue(element) => {
                names_a_class(element.key) || names_a_class(element.value)
            }
            ArrayElement::Value(element) => names_a_class(element.value),
            ArrayElement::Variadic(_) | ArrayElement::Missing(_) => false,
        };
        if is_entry {
            scan.entries.push(element.span().start.offset);
        }
    }

    fn walk_in_statement_expression(
        &self,
        statement: &'ast ExpressionStatement<'arena>,
        scan: &mut Scan<'_, '_, '_>,
    ) {
        if let Expression::Assignment(assignment) = statement.expression
            && matches!(
                unparenthesized(assignment.lhs),
                Expression::ArrayAppend(_) | Expression::ArrayAccess(_)
            )
            && names_a_class(assignment.rhs)
        {
            scan.entries.push(statement.span().start.offset);
        }
    }

    fn walk_in_instantiation(
        &self,
        instantiation: &'ast Instantiation<'arena>,
        scan: &mut Scan<'_, '_, '_>,
    ) {
        scan.use_class(instantiation.class);
    }

    fn walk_in_class_constant_access(
        &self,
        access: &'ast ClassConstantAccess<'arena>,
        scan: &mut Scan<'_, '_, '_>,
    ) {
        scan.use_class(access.class);
    }
}

/// One line of a doc block without its decoration (`/**`, `*`, `*/`), and the span of the
/// line from its `*` (or its text) to the end of its text.
struct DocLine<'t> {
    content: &'t str,
    span: TextSpan,
}

fn doc_lines(raw: &str, start: u32) -> Vec<DocLine<'_>> {
    let mut lines = Vec::new();
    let mut line_offset = 0usize;
    for line in raw.split('\n') {
        let this_offset = line_offset;
        line_offset += line.len() + 1;
        let mut from = line.len() - line.trim_start().len();
        // A line of only white space (a `\r` of CRLF included) trims to `from == line.len()`
        // from the left and to 0 from the right: keep the range empty rather than reversed.
        let mut to = line.trim_end().len().max(from);
        if line[from..to].ends_with("*/") {
            to -= 2;
        }
        // The span starts at the line's `*` decoration when it has one, else at its text.
        let mut star = None;
        if line[from..to.max(from)].starts_with("/**") {
            from += 3;
        } else if line[from..to.max(from)].starts_with('*') {
            star = Some(from);
            from += 1;
        }
        let to = to.max(from);
        let content = line[from..to].trim();
        let content_from = from + (line[from..to].len() - line[from..to].trim_start().len());
        let span_from = star.filter(|_| !content.is_empty()).unwrap_or(content_from);
        let absolute = |offset: usize| start + u32::try_from(this_offset + offset).unwrap_or(0);
        lines.push(DocLine {
            content,
            span: TextSpan::new(absolute(span_from), absolute(content_from + content.len())),
        });
    }
    lines
}

/// The findings of one doc block that contains `Restrictions:`.
fn check_doc(scan: &Scan<'_, '_, '_>, raw: &str, start: u32) -> Vec<(TextSpan, String)> {
    let mut findings = Vec::new();
    // The open `Restrictions:` section: its line and how many restriction lines it has.
    let mut section: Option<(TextSpan, usize)> = None;
    let close = |section: Option<(TextSpan, usize)>, findings: &mut Vec<(TextSpan, String)>| {
        if let Some((span, 0)) = section {
            findings.push((
                span,
                format!("`Restrictions:` is followed by no restriction line: remove it, or add one line per plugin ({LINE_FORM})"),
            ));
        }
    };
    for line in doc_lines(raw, start) {
        if let Some(rest) = line.content.strip_prefix("Restrictions:") {
            close(section.take(), &mut findings);
            if rest.trim().is_empty() {
                section = Some((line.span, 0));
            } else {
                findings.push((
                    line.span,
                    format!("`Restrictions:` must stand alone on its line: put each restriction on its own line below it ({LINE_FORM})"),
                ));
                section = Some((line.span, 1));
            }
            continue;
        }
        let Some((_, count)) = &mut section else {
            continue;
        };
        if line.content.is_empty() {
            continue;
        }
        if line.content.starts_with('@') {
            close(section.take(), &mut findings);
            continue;
        }
        *count += 1;
        match parse_restriction(line.content) {
            Err(reason) => findings.push((
                line.span,
                format!(
                    "malformed restriction `{}`: {reason}; write {LINE_FORM}",
                    snippet(line.content, 60)
                ),
            )),
            Ok(class) => {
                let resolved = scan.file.resolve_class(class, line.span.start);
                if !scan.is_used(&resolved, line.span.start) {
                    findings.push((
                        line.span,
                        format!(
                            "`{{@link {class}}}` names `{resolved}`, which this dependency provider neither imports with `use` nor uses; a restriction must name a plugin registered here"
                        ),
                    ));
                }
            }
        }
    }
    close(section, &mut findings);
    findings
}

/// The class of `- before|after {@link Class}` with an optional ` sentence.`, or what is
/// wrong with the line.
fn parse_restriction(content: &str) -> Result<&str, &'static str> {
    const START: &str = "it must start with `- before ` or `- after `";
    let rest = content.strip_prefix("- ").ok_or(START)?;
    let rest = rest
        .strip_prefix("before ")
        .or_else(|| rest.strip_prefix("after "))
        .ok_or(START)?;
    let link = "the plugin must follow as `{@link \\Full\\ClassName}`";
    let (class, after) = rest
        .strip_prefix("{@link ")
        .and_then(|rest| rest.split_once('}'))
        .ok_or(link)?;
    if !is_class_name(class) {
        return Err("`{@link …}` must hold exactly one class name");
    }
    if !(after.is_empty() || (after.starts_with(' ') && after.len() > 1 && after.ends_with('.'))) {
        return Err("text after `{@link …}` must be one space and a sentence ending in a dot");
    }
    Ok(class)
}

/// `Foo`, `Foo\Bar`, `\Foo\Bar`.
fn is_class_name(name: &str) -> bool {
    let name = name.strip_prefix('\\').unwrap_or(name);
    !name.is_empty()
        && name.split('\\').all(|segment| {
            segment
                .chars()
                .next()
                .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_restriction_lines() {
        assert_eq!(
            parse_restriction("- before {@link \\Foo\\BarPlugin}"),
            Ok("\\Foo\\BarPlugin")
        );
        assert_eq!(
            parse_restriction("- after {@link BarPlugin} Call it last."),
            Ok("BarPlugin")
        );
        for malformed in [
            "- after {@link BarPlugin} Call it last",
            "- after {@link BarPlugin}.",
            "- Call it before BarPlugin.",
            "- before {@see \\Foo\\BarPlugin}",
            "- before {@link Foo Bar}",
            "- before {@link Foo",
            "-  before {@link Foo}",
            "- Before {@link Foo}",
            "Call it first.",
        ] {
            assert!(parse_restriction(malformed).is_err(), "{malformed}");
        }
    }

    #[test]
    fn splits_doc_lines_with_spans() {
        let raw = "/**\n     * Restrictions:\n     * - before {@link A}\n     */";
        let lines = doc_lines(raw, 100);
        let contents: Vec<&str> = lines.iter().map(|line| line.content).collect();
        assert_eq!(contents, ["", "Restrictions:", "- before {@link A}", ""]);
        let star = u32::try_from(raw.find("* Restrictions").unwrap()).unwrap();
        assert_eq!(lines[1].span.start, 100 + star);
        assert_eq!(
            lines[1].span.end,
            100 + star + u32::try_from("* Restrictions:".len()).unwrap()
        );
        let one_line = doc_lines("/** Restrictions: - before {@link A} */", 0);
        assert_eq!(one_line[0].content, "Restrictions: - before {@link A}");
        assert_eq!(one_line[0].span.start, 4);
    }

    /// Reproducer `php/docblock-whitespace-line-panic`: a doc-block line of only spaces, or an
    /// empty line ending in `\r`, panicked with `begin > end`.
    #[test]
    fn white_space_only_and_crlf_lines_are_empty_lines() {
        for raw in [
            "/**\n     * Restrictions:\n            \n     * - before {@link A}\n     */",
            "/**\r\n     * Restrictions:\r\n\r\n     * - before {@link A}\r\n     */",
            "/**\n \t \n*/",
            "   ",
            "\r",
        ] {
            let lines = doc_lines(raw, 7);
            for line in &lines {
                assert!(line.span.start <= line.span.end, "{raw:?}");
            }
            if raw.contains("Restrictions") {
                let contents: Vec<&str> = lines.iter().map(|line| line.content).collect();
                assert_eq!(
                    contents,
                    ["", "Restrictions:", "", "- before {@link A}", ""],
                    "{raw:?}"
                );
            }
        }
    }

    #[test]
    fn one_line_doc_blocks_keep_their_span() {
        let one_line = doc_lines("/** Restrictions: - before {@link A} */", 0);
        assert_eq!(one_line[0].content, "Restrictions: - before {@link A}");
        assert_eq!(one_line[0].span.start, 4);
    }
}
