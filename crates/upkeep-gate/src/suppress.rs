//! In-code suppressions: Spryker's `@evaluator-skip-*` annotations and our own
//! `@upkeep-ignore rule-name[, rule-name]` pragma, both in the doc block of a class or method.
//! A suppression covers the whole class or method it documents.

use upkeep_php::ClassLike;
use upkeep_php::docblock::DocBlock;
use upkeep_php::source::TextSpan;

use crate::finding::Finding;
use crate::registry;

/// Spryker's annotations and the rule each one silences.
const SPRYKER_SKIP_TAGS: &[(&str, &str)] = &[
    ("evaluator-skip-dead-code", "dead-code"),
    (
        "evaluator-skip-multidimensional-array",
        "multidimensional-plugin-array",
    ),
    (
        "evaluator-skip-single-plugin-argument",
        "single-plugin-argument",
    ),
];

/// Spans of a file in which findings of a rule are suppressed.
#[derive(Debug, Default)]
pub struct Suppressions {
    ranges: Vec<(TextSpan, &'static str)>,
}

impl Suppressions {
    /// The suppressions written in the doc blocks of `classes` and their methods.
    pub fn of_classes<'a>(classes: impl IntoIterator<Item = &'a ClassLike>) -> Self {
        let mut ranges = Vec::new();
        for class in classes {
            collect(class.doc.as_ref(), class.span, &mut ranges);
            for method in &class.methods {
                collect(method.doc.as_ref(), method.span, &mut ranges);
            }
        }
        Self { ranges }
    }

    pub fn is_suppressed(&self, finding: &Finding) -> bool {
        self.ranges.iter().any(|(span, rule)| {
            *rule == finding.rule.name && span.contains(finding.location.span.start)
        })
    }
}

fn collect(doc: Option<&DocBlock>, span: TextSpan, ranges: &mut Vec<(TextSpan, &'static str)>) {
    let Some(doc) = doc else { return };
    // The doc block sits before the span it documents; widen the range to include it.
    let first_tag = doc
        .tags
        .first()
        .map_or(span.start, |tag| tag.offset.min(span.start));
    let covered = TextSpan::new(first_tag, span.end);
    for tag in &doc.tags {
        if let Some((_, rule)) = SPRYKER_SKIP_TAGS
            .iter()
            .find(|(name, _)| tag.name.eq_ignore_ascii_case(name))
        {
            ranges.push((covered, rule));
        }
        if tag.name.eq_ignore_ascii_case("upkeep-ignore") {
            let ids = tag
                .text
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|id| !id.is_empty());
            for id in ids {
                if let Some(meta) = registry::meta(id) {
                    ranges.push((covered, meta.name));
                }
            }
        }
    }
}
