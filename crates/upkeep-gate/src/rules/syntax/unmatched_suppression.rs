//! `unmatched-suppression`: an `@upkeep-ignore` pragma that names no rule, or that suppressed
//! nothing. The engine finds these once every other rule has reported (see `suppress.rs`);
//! the rule holds their metadata and words their findings.

use upkeep_php::source::{LineIndex, TextSpan};

use crate::finding::{Finding, Location};
use crate::rule::{Category, Example, Rule, RuleMeta};
use crate::suppress::{PragmaName, Unmatched};

pub struct UnmatchedSuppression;

pub static META: RuleMeta = RuleMeta {
    name: "unmatched-suppression",
    spryker_ids: &[],
    category: Category::Syntax,
    summary: "An `@upkeep-ignore` pragma that names no rule, or that suppresses nothing.",
    documentation: "\
## What it finds
`@upkeep-ignore` pragmas in doc blocks that do not do what they say: a name that is no rule or
Spryker id (a typo such as `dead-cod`), and a rule that ran and found nothing in the class or
method the pragma covers. A pragma of a rule that did not run (`--rules`, `exclude-rules`, a
core-aware rule without `vendor/`) is not judged. Spryker's `@evaluator-skip-*` annotations are
honoured but not checked.

## Why it matters
A misspelt pragma suppresses nothing while looking as if it did; a pragma whose finding was fixed
silently hides the next finding of that rule in the same method. PHPStan reports its unmatched
ignores for the same reasons (`reportUnmatchedIgnoredErrors`).

## Example
```php
/**
 * @upkeep-ignore dead-cod
 */
class ProductReader extends SprykerProductReader {}
```

## Instead
```php
/**
 * @upkeep-ignore dead-code
 */
class ProductReader extends SprykerProductReader {}
```

## Fix
Correct the rule name (`upkeep rules` lists them), or remove the pragma when the rule no longer
reports anything there.

## Configuration
Turn it off with `exclude-rules = [\"unmatched-suppression\"]` under `[gate]` in `upkeep.toml`
(or `--exclude-rules unmatched-suppression`), or make it a warning with
`[gate.severity] unmatched-suppression = \"warning\"`.

## Spryker id
None: Spryker's tools do not check their annotations.
",
    bad_example: Example {
        files: &[(
            "src/Pyz/Zed/Product/Business/ProductReader.php",
            "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\n/**\n * @upkeep-ignore dead-cod\n */\nclass ProductReader\n{\n}\n",
        )],
    },
    good_example: Example {
        files: &[(
            "src/Pyz/Zed/Product/Business/ProductReader.php",
            "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\n/**\n * @upkeep-ignore dead-code\n */\nclass ProductReader\n{\n}\n",
        )],
    },
    guideline: "https://docs.spryker.com/docs/dg/dev/guidelines/keeping-a-project-upgradable/upgradability-guidelines/upgradability-guidelines.html",
    needs_core: false,
};

impl Rule for UnmatchedSuppression {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}

/// The finding for `unmatched` in the file at `path` with content `text`, at the rule name as
/// written after the pragma's `@`.
pub fn finding(path: &str, text: &[u8], lines: &LineIndex, unmatched: &Unmatched) -> Finding {
    let (name, message) = match unmatched {
        Unmatched::UnknownRule { name, suggestion } => (
            name,
            format!(
                "`@upkeep-ignore {}` names no rule{}, so it suppresses nothing",
                name.id,
                suggestion
                    .map(|rule| format!(" (did you mean `{rule}`?)"))
                    .unwrap_or_default()
            ),
        ),
        Unmatched::Unused { name, rule } => (
            name,
            format!(
                "`@upkeep-ignore {}` suppresses nothing: `{rule}` reports nothing here; remove it",
                name.id
            ),
        ),
    };
    Finding::new(
        &META,
        Location::in_text(path, text, lines, name_span(text, name)),
        message,
    )
}

/// The span of the name in its pragma's tag, or of the tag's `@` if it cannot be found.
fn name_span(text: &[u8], name: &PragmaName) -> TextSpan {
    let start = name.offset as usize;
    let id = name.id.as_bytes();
    // Within the tag's line: the names follow the tag on it.
    let line_end = text
        .get(start..)
        .and_then(|rest| rest.iter().position(|&byte| byte == b'\n'))
        .map_or(text.len(), |end| start + end);
    let found = text.get(start..line_end).and_then(|line| {
        line.windows(id.len().max(1))
            .position(|window| window == id)
    });
    match found {
        Some(position) => {
            let begin = u32::try_from(start + position).unwrap_or(name.offset);
            TextSpan::new(
                begin,
                begin.saturating_add(u32::try_from(id.len()).unwrap_or(0)),
            )
        }
        None => TextSpan::new(name.offset, name.offset.saturating_add(1)),
    }
}
