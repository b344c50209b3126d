//! `not-unique-*` rules (section C of the spec): names the project adds next to core's that a
//! later core release may add too (constants, public methods, transfers, transfer properties,
//! tables, columns, modules). A project prefix (`Pyz`, from `evaluator.prefixes` or the project
//! namespaces) makes such a name the project's own.
//!
//! Every rule here needs core (`needs_core: true`): "new" means "not in core", and without
//! `vendor/spryker*` every project name would look new, so a run without core skips them with
//! a notice rather than reporting every name.
//!
//! The helpers below are shared: recognising a prefixed name, the inheritance lineage of a
//! class (what it may override), and the position of an XML attribute.

pub mod constant_rename;
pub mod method_rename;
pub mod not_unique_constant;
pub mod not_unique_database_column;
pub mod not_unique_database_table;
pub mod not_unique_method;
pub mod not_unique_module_name;
pub mod not_unique_transfer_name;
pub mod not_unique_transfer_property;
pub mod rename_sources;

use std::collections::HashSet;

use upkeep_php::source::TextSpan;
use upkeep_php::spryker::Origin;
use upkeep_php::{ClassKind, ClassLike, CodebaseIndex};

use crate::finding::{Finding, Severity};
use crate::settings::GateSettings;

/// True when `name` carries one of `prefixes` as a word of its own: at the start, after `_`,
/// or at a camel-case boundary, and followed by the end, `_`, an upper-case letter or a digit.
/// `PYZ_FOO`, `pyzColor`, `getPyzFoo`, `PyzBrand`, `pyz_brand`, `spy_pyz_x` carry `Pyz`;
/// `Pyzzle` and `FOO` do not. (Spryker's checker accepts the prefix anywhere in the name.)
pub(crate) fn has_project_prefix(name: &str, prefixes: &[String]) -> bool {
    prefixes
        .iter()
        .filter(|prefix| !prefix.is_empty())
        .any(|prefix| carries_word(name, prefix))
}

fn carries_word(name: &str, word: &str) -> bool {
    let bytes = name.as_bytes();
    let lower_name = name.to_ascii_lowercase();
    let lower_word = word.to_ascii_lowercase();
    lower_name.match_indices(&lower_word).any(|(start, _)| {
        let end = start + lower_word.len();
        let starts_word = start == 0
            || bytes[start - 1] == b'_'
            || (bytes[start].is_ascii_uppercase()
                && (bytes[start - 1].is_ascii_lowercase() || bytes[start - 1].is_ascii_digit()));
        let ends_word = end == bytes.len()
            || bytes[end] == b'_'
            || bytes[end].is_ascii_uppercase()
            || bytes[end].is_ascii_digit();
        starts_word && ends_word
    })
}

/// Names added to a core class on the ignore list of Spryker's former checker (the
/// `*DataImport` modules, whose import steps hold CSV column keys as constants, bootstrap
/// and development code, `Gui`'s tables; see `private_api::is_ignored`) are reported as
/// warnings: a clash is possible but rare there, and Spryker never failed a project on them.
/// Returns the finding, lowered and explained when `core` is such a class.
pub(crate) fn on_ignored_core(finding: Finding, core: &ClassLike) -> Finding {
    if !crate::rules::private_api::is_ignored(&core.name) {
        return finding;
    }
    let message = format!(
        "{}; a warning, as Spryker's former checker ignores `{}`",
        finding.message, core.name
    );
    Finding {
        severity: Severity::Warning,
        message,
        ..finding
    }
}

/// The project prefix used in suggestions: the first configured one.
pub(crate) fn suggested_prefix(settings: &GateSettings) -> &str {
    settings
        .prefixes
        .iter()
        .find(|prefix| !prefix.is_empty())
        .map_or("Pyz", String::as_str)
}

/// `Foo` -> `foo`, `FOO` -> `fOO`: the first character lower-cased.
pub(crate) fn lower_first(text: &str) -> String {
    let mut characters = text.chars();
    characters.next().map_or_else(String::new, |first| {
        first.to_lowercase().chain(characters).collect()
    })
}

/// `foo` -> `Foo`.
pub(crate) fn upper_first(text: &str) -> String {
    let mut characters = text.chars();
    characters.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(characters).collect()
    })
}

/// What a class or interface inherits from, as far as the index knows it.
/// A core class of a Spryker module, as opposed to the `Kernel` base classes every project
/// class extends (`AbstractFactory`, `AbstractDependencyProvider`, `AbstractPlugin`, ...).
/// A project-only module that extends just the Kernel customises no core module, so its
/// names cannot clash with one; reporting them drowned real shops in noise (651 constants on
/// Spryker's b2c demo shop before this distinction).
fn is_core_module_class(class: &ClassLike) -> bool {
    class.layout.origin == Origin::Core && class.layout.module.as_deref() != Some("Kernel")
}

pub(crate) struct Lineage<'a> {
    /// The parent chain of a class (nearest first), or every interface an interface extends.
    pub ancestors: Vec<&'a ClassLike>,
    /// Every interface the class or one of its ancestors implements, with their parents.
    pub interfaces: Vec<&'a ClassLike>,
    /// The traits the class and its ancestors use, with the traits those use.
    pub traits: Vec<&'a ClassLike>,
    /// Names in the hierarchy that the index does not hold (third-party or PHP classes).
    pub unknown: Vec<String>,
    /// The nearest core module class (for an interface: core interface) it inherits from;
    /// Kernel base classes do not count (see `is_core_module_class`).
    pub core: Option<&'a ClassLike>,
}

impl<'a> Lineage<'a> {
    pub fn of(index: &'a CodebaseIndex, class: &'a ClassLike) -> Self {
        let mut lineage = Self {
            ancestors: Vec::new(),
            interfaces: Vec::new(),
            traits: Vec::new(),
            unknown: Vec::new(),
            core: None,
        };
        let mut seen: HashSet<String> = HashSet::from([class.name.to_ascii_lowercase()]);
        let mut interface_queue: Vec<&str> = Vec::new();
        let mut trait_queue: Vec<&str> = class.traits.iter().map(String::as_str).collect();
        if class.kind == ClassKind::Interface {
            interface_queue.extend(class.extends.iter().map(String::as_str));
        } else {
            interface_queue.extend(class.implements.iter().map(String::as_str));
            let mut current = class;
            while let Some(parent) = current.parent() {
                if !seen.insert(parent.to_ascii_lowercase()) {
                    break;
                }
                let Some(found) = index.class(parent) else {
                    lineage.unknown.push(parent.to_string());
                    break;
                };
                lineage.ancestors.push(found);
                interface_queue.extend(found.implements.iter().map(String::as_str));
                trait_queue.extend(found.traits.iter().map(String::as_str));
                current = found;
            }
        }
        while let Some(name) = interface_queue.pop() {
            if !seen.insert(name.to_ascii_lowercase()) {
                continue;
            }
            match index.class(name) {
                Some(found) => {
                    lineage.interfaces.push(found);
                    interface_queue.extend(found.extends.iter().map(String::as_str));
                }
                None => lineage.unknown.push(name.to_string()),
            }
        }
        while let Some(name) = trait_queue.pop() {
            if !seen.insert(name.to_ascii_lowercase()) {
                continue;
            }
            match index.class(name) {
                Some(found) => {
                    lineage.traits.push(found);
                    trait_queue.extend(found.traits.iter().map(String::as_str));
                }
                None => lineage.unknown.push(name.to_string()),
            }
        }
        lineage.core = match class.kind {
            ClassKind::Interface => lineage
                .interfaces
                .iter()
                .copied()
                .find(|interface| is_core_module_class(interface)),
            _ => lineage
                .ancestors
                .iter()
                .copied()
                .find(|ancestor| is_core_module_class(ancestor)),
        };
        if class.kind == ClassKind::Interface {
            // For an interface, the interfaces it extends are what it inherits from.
            lineage.ancestors = std::mem::take(&mut lineage.interfaces);
        }
        lineage
    }

    /// Everything inherited from: ancestors, interfaces and traits.
    pub fn members(&self) -> impl Iterator<Item = &'a ClassLike> + '_ {
        self.ancestors
            .iter()
            .chain(&self.interfaces)
            .chain(&self.traits)
            .copied()
    }

    /// True when something in the lineage declares the class constant `name`.
    pub fn declares_constant(&self, name: &str) -> bool {
        self.members().any(|member| member.constant(name).is_some())
    }

    /// The hierarchy names the index does not know and that are not PHP built-ins whose
    /// members we know: a method may come from them, so methods cannot be judged "new".
    pub fn opaque(&self) -> impl Iterator<Item = &str> {
        self.unknown
            .iter()
            .map(String::as_str)
            .filter(|name| builtin_methods(name).is_none())
    }

    /// True when something in the lineage declares (or documents with `@method`) the method
    /// `name`, including the known members of PHP built-in classes and interfaces.
    pub fn declares_method(&self, name: &str) -> bool {
        self.members().any(|member| {
            member.method(name).is_some()
                || member
                    .doc_methods
                    .iter()
                    .any(|method| method.name.eq_ignore_ascii_case(name))
        }) || self.unknown.iter().any(|unknown| {
            builtin_methods(unknown).is_some_and(|methods| {
                methods
                    .iter()
                    .any(|method| method.eq_ignore_ascii_case(name))
            })
        })
    }
}

/// The public methods of PHP's own classes and interfaces that project classes extend or
/// implement through core (they are not in the index, which reads only Spryker's code).
fn builtin_methods(name: &str) -> Option<&'static [&'static str]> {
    const THROWABLE: &[&str] = &[
        "getMessage",
        "getCode",
        "getFile",
        "getLine",
        "getTrace",
        "getPrevious",
        "getTraceAsString",
        "__toString",
    ];
    let name = name.trim_start_matches('\\');
    if name.contains('\\') {
        return None;
    }
    Some(match name.to_ascii_lowercase().as_str() {
        "countable" => &["count"],
        "iteratoraggregate" => &["getIterator"],
        "iterator" => &["current", "key", "next", "rewind", "valid"],
        "traversable" => &[],
        "unitenum" => &["cases"],
        "backedenum" => &["cases", "from", "tryFrom"],
        "arrayaccess" => &["offsetExists", "offsetGet", "offsetSet", "offsetUnset"],
        "jsonserializable" => &["jsonSerialize"],
        "stringable" => &["__toString"],
        "serializable" => &["serialize", "unserialize"],
        "throwable" => THROWABLE,
        lower if lower.ends_with("exception") || lower.ends_with("error") => THROWABLE,
        _ => return None,
    })
}

/// The span of the attribute `attribute="..."` in the start tag that begins at `element`
/// (`<property name="sku" type="string"/>` -> `name="sku"`), for findings that point at the
/// name rather than the whole element.
pub(crate) fn xml_attribute_span(
    text: &[u8],
    element: TextSpan,
    attribute: &str,
) -> Option<TextSpan> {
    let mut position = element.start as usize;
    if text.get(position) != Some(&b'<') {
        return None;
    }
    position += 1;
    let at = |position: usize| text.get(position).copied();
    // The tag name.
    while at(position)
        .is_some_and(|byte| !byte.is_ascii_whitespace() && byte != b'>' && byte != b'/')
    {
        position += 1;
    }
    loop {
        while at(position).is_some_and(|byte| byte.is_ascii_whitespace()) {
            position += 1;
        }
        let start = position;
        while at(position)
            .is_some_and(|byte| !byte.is_ascii_whitespace() && !matches!(byte, b'=' | b'>' | b'/'))
        {
            position += 1;
        }
        if position == start {
            return None;
        }
        let name = &text[start..position];
        while at(position).is_some_and(|byte| byte.is_ascii_whitespace()) {
            position += 1;
        }
        if at(position) != Some(b'=') {
            return None;
        }
        position += 1;
        while at(position).is_some_and(|byte| byte.is_ascii_whitespace()) {
            position += 1;
        }
        let quote = at(position).filter(|byte| matches!(byte, b'"' | b'\''))?;
        let close = text[position + 1..]
            .iter()
            .position(|&byte| byte == quote)?
            + position
            + 1;
        position = close + 1;
        if name == attribute.as_bytes() {
            return Some(TextSpan::new(
                u32::try_from(start).ok()?,
                u32::try_from(position).ok()?,
            ));
        }
    }
}

/// The span of the `name` attribute of an XML element, else the element itself.
pub(crate) fn xml_name_span(
    project: &crate::rule::ProjectScope<'_>,
    file: upkeep_php::FileId,
    element: TextSpan,
) -> TextSpan {
    project
        .project
        .source(file)
        .and_then(|source| xml_attribute_span(&source.text, element, "name"))
        .unwrap_or(element)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::packages::test_support::run_rules;

    #[test]
    fn names_added_to_ignored_core_classes_are_warnings() {
        let report = run_rules(
            &["not-unique-constant", "not-unique-method"],
            &[
                (
                    "vendor/spryker/data-import/src/Spryker/Zed/DataImport/Business/Model/DataImportStep/PublishAwareStep.php",
                    "<?php\nnamespace Spryker\\Zed\\DataImport\\Business\\Model\\DataImportStep;\nclass PublishAwareStep {}\n",
                ),
                (
                    "src/Pyz/Zed/DataImport/Business/Model/ProductWriterStep.php",
                    "<?php\nnamespace Pyz\\Zed\\DataImport\\Business\\Model;\nuse Spryker\\Zed\\DataImport\\Business\\Model\\DataImportStep\\PublishAwareStep;\nclass ProductWriterStep extends PublishAwareStep\n{\n    public const COLUMN_SKU = 'sku';\n    public function execute(): void {}\n}\n",
                ),
                (
                    "vendor/spryker/product/src/Spryker/Zed/Product/Business/ProductWriter.php",
                    "<?php\nnamespace Spryker\\Zed\\Product\\Business;\nclass ProductWriter {}\n",
                ),
                (
                    "src/Pyz/Zed/Product/Business/ProductWriter.php",
                    "<?php\nnamespace Pyz\\Zed\\Product\\Business;\nuse Spryker\\Zed\\Product\\Business\\ProductWriter as SprykerProductWriter;\nclass ProductWriter extends SprykerProductWriter\n{\n    public const COLUMN_SKU = 'sku';\n    public function execute(): void {}\n}\n",
                ),
            ],
        );
        let seen: Vec<(&str, &str, Severity)> = report
            .findings
            .iter()
            .map(|finding| {
                (
                    finding.rule.name,
                    finding.location.file.as_str(),
                    finding.severity,
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                (
                    "not-unique-constant",
                    "src/Pyz/Zed/DataImport/Business/Model/ProductWriterStep.php",
                    Severity::Warning
                ),
                (
                    "not-unique-method",
                    "src/Pyz/Zed/DataImport/Business/Model/ProductWriterStep.php",
                    Severity::Warning
                ),
                (
                    "not-unique-constant",
                    "src/Pyz/Zed/Product/Business/ProductWriter.php",
                    Severity::Error
                ),
                (
                    "not-unique-method",
                    "src/Pyz/Zed/Product/Business/ProductWriter.php",
                    Severity::Error
                ),
            ]
        );
        assert!(
            report.findings[0].message.ends_with(
                "; a warning, as Spryker's former checker ignores `Spryker\\Zed\\DataImport\\Business\\Model\\DataImportStep\\PublishAwareStep`"
            ),
            "{}",
            report.findings[0].message
        );
    }

    #[test]
    fn prefixes_are_whole_words() {
        let prefixes = vec!["Pyz".to_string()];
        for name in [
            "PYZ_FOO",
            "pyzColor",
            "getPyzFoo",
            "PyzBrand",
            "pyz_brand",
            "spy_pyz_brand",
            "FACADE_PYZ",
            "Pyz",
            "pyz2Thing",
        ] {
            assert!(has_project_prefix(name, &prefixes), "{name}");
        }
        for name in [
            "FOO",
            "Pyzzle",
            "pyzcolor",
            "happyzone",
            "SPYZ_X",
            "getpyzFoo",
            "",
        ] {
            assert!(!has_project_prefix(name, &prefixes), "{name}");
        }
        let several = vec!["Pyz".to_string(), "Acme".to_string()];
        assert!(has_project_prefix("ACME_FOO", &several));
        assert!(has_project_prefix("acmeColor", &several));
        assert!(!has_project_prefix("FOO", &[String::new()]));
    }

    #[test]
    fn finds_attribute_spans_in_start_tags() {
        let text = br#"<property type="string" name="sku"/><transfer
    name='Product' strict="true">"#;
        let span = xml_attribute_span(text, TextSpan::new(0, 36), "name").unwrap();
        assert_eq!(
            &text[span.start as usize..span.end as usize],
            br#"name="sku""#
        );
        let second = TextSpan::new(36, u32::try_from(text.len()).unwrap());
        let span = xml_attribute_span(text, second, "name").unwrap();
        assert_eq!(
            &text[span.start as usize..span.end as usize],
            b"name='Product'"
        );
        assert_eq!(xml_attribute_span(text, second, "type"), None);
        assert_eq!(
            xml_attribute_span(b"<a b=>", TextSpan::new(0, 6), "name"),
            None
        );
        assert_eq!(
            xml_attribute_span(b"text", TextSpan::new(0, 4), "name"),
            None
        );
        // `namex` is not `name`; values may hold `>`.
        let tricky = br#"<column namex="a" description="x > y" name="pyz_c"/>"#;
        let span = xml_attribute_span(tricky, TextSpan::new(0, 50), "name").unwrap();
        assert_eq!(
            &tricky[span.start as usize..span.end as usize],
            br#"name="pyz_c""#
        );
    }

    #[test]
    fn case_helpers() {
        assert_eq!(lower_first("Foo"), "foo");
        assert_eq!(upper_first("color"), "Color");
        assert_eq!(upper_first(""), "");
    }
}
