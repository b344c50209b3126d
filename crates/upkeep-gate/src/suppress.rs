//! In-code suppressions: Spryker's `@evaluator-skip-*` annotations and our own
//! `@upkeep-ignore rule-name[, rule-name]` pragma, both in the doc block of a class or method.
//! A suppression covers the whole class or method it documents.
//!
//! Our pragma is checked as `PHPStan` checks its ignores (`reportUnmatchedIgnoredErrors`): a
//! rule name it does not know, and a pragma that suppressed nothing of a rule that ran, are
//! reported by `unmatched-suppression` ([`Suppressions::unmatched`]) — a typo must not silence
//! nothing for years, and a fixed finding's pragma must not hide the next one. Spryker's
//! annotations are only honoured: shops carry many that its weaker checks needed.

use std::cell::Cell;

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

const PRAGMA: &str = "upkeep-ignore";

/// One rule silenced over a class or method.
#[derive(Debug)]
struct Suppression {
    covered: TextSpan,
    rule: &'static str,
    /// Where our pragma names the rule; `None` for Spryker's annotations.
    pragma: Option<PragmaName>,
    used: Cell<bool>,
}

/// A rule name as written in an `@upkeep-ignore` pragma.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PragmaName {
    /// The name as written.
    pub id: String,
    /// Byte offset of the `@` of its pragma.
    pub offset: u32,
}

/// What [`Suppressions::unmatched`] finds wrong with a pragma.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unmatched {
    /// The name is no rule (nor Spryker id); `suggestion` is a close rule name.
    UnknownRule {
        name: PragmaName,
        suggestion: Option<&'static str>,
    },
    /// The rule ran and reported nothing the pragma covers.
    Unused {
        name: PragmaName,
        rule: &'static str,
    },
}

/// Spans of a file in which findings of a rule are suppressed.
#[derive(Debug, Default)]
pub struct Suppressions {
    entries: Vec<Suppression>,
    unknown: Vec<Unmatched>,
}

impl Suppressions {
    /// The suppressions written in the doc blocks of `classes` and their methods.
    pub fn of_classes<'a>(classes: impl IntoIterator<Item = &'a ClassLike>) -> Self {
        let mut suppressions = Self::default();
        for class in classes {
            suppressions.collect(class.doc.as_ref(), class.span);
            for method in &class.methods {
                suppressions.collect(method.doc.as_ref(), method.span);
            }
        }
        suppressions
    }

    /// Whether a doc block of `class` or its methods has a suppression (of either kind).
    pub fn any_in(class: &ClassLike) -> bool {
        let suppresses = |doc: Option<&DocBlock>| {
            doc.is_some_and(|doc| {
                doc.tags.iter().any(|tag| {
                    tag.name.eq_ignore_ascii_case(PRAGMA)
                        || SPRYKER_SKIP_TAGS
                            .iter()
                            .any(|(name, _)| tag.name.eq_ignore_ascii_case(name))
                })
            })
        };
        suppresses(class.doc.as_ref())
            || class
                .methods
                .iter()
                .any(|method| suppresses(method.doc.as_ref()))
    }

    /// Whether `finding` is suppressed; the suppressions that cover it count as used.
    pub fn is_suppressed(&self, finding: &Finding) -> bool {
        let mut suppressed = false;
        for entry in &self.entries {
            if entry.rule == finding.rule.name
                && entry.covered.contains(finding.location.span.start)
            {
                entry.used.set(true);
                suppressed = true;
            }
        }
        suppressed
    }

    /// The pragmas that name no rule, and those of a rule in `ran` that suppressed no finding
    /// (call after [`Self::is_suppressed`] has seen every finding of the file).
    pub fn unmatched(&self, ran: &[&str]) -> Vec<Unmatched> {
        let unused = self.entries.iter().filter_map(|entry| {
            let name = entry.pragma.as_ref()?;
            (!entry.used.get() && ran.contains(&entry.rule)).then(|| Unmatched::Unused {
                name: name.clone(),
                rule: entry.rule,
            })
        });
        self.unknown.iter().cloned().chain(unused).collect()
    }

    fn collect(&mut self, doc: Option<&DocBlock>, span: TextSpan) {
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
                self.entries.push(Suppression {
                    covered,
                    rule,
                    pragma: None,
                    used: Cell::new(false),
                });
            }
            if !tag.name.eq_ignore_ascii_case(PRAGMA) {
                continue;
            }
            // The names end at the first word after the first that is not one:
            // `@upkeep-ignore dead-code because the router loads it` names one rule, and says
            // why. The first word is always a name, so a typo in it is reported.
            let ids = tag
                .text
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|id| !id.is_empty())
                .enumerate()
                .take_while(|(index, id)| *index == 0 || is_rule_like(id))
                .map(|(_, id)| id);
            for id in ids {
                let name = PragmaName {
                    id: id.to_string(),
                    offset: tag.offset,
                };
                match registry::meta(id) {
                    Some(meta) => self.entries.push(Suppression {
                        covered,
                        rule: meta.name,
                        pragma: Some(name),
                        used: Cell::new(false),
                    }),
                    None => self.unknown.push(Unmatched::UnknownRule {
                        suggestion: registry::expand(std::slice::from_ref(&name.id))
                            .err()
                            .and_then(|unknown| unknown.suggestion),
                        name,
                    }),
                }
            }
        }
    }
}

/// A word that can be a rule name or Spryker id (`dead-code`, `DEAD_CODE_CHECKER`,
/// `PrivateApi:Extension`), as opposed to prose after the names (`because`, `see:`).
fn is_rule_like(word: &str) -> bool {
    word.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':'))
        && (word.contains(['-', '_', ':']) || word.chars().any(|c| c.is_ascii_uppercase()))
        && !word.ends_with(':')
}
