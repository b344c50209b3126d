//! `upkeep rules [NAME] [--format json]`: the rule catalogue and each rule's documentation.

use clap::Args;
use serde_json::{Value, json};
use upkeep_gate::{RuleMeta, registry};

use crate::{Outcome, output, print_error};

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// A rule name or Spryker id; prints that rule's documentation.
    pub name: Option<String>,

    /// `text` for people; `json` for tools: every rule (or the one named) with its category,
    /// default severity, Spryker ids, guideline, whether it needs core code and whether its
    /// findings can be fixed automatically (`upkeep gate --fix`).
    #[arg(long, value_enum, default_value_t = RulesFormat::Text)]
    pub format: RulesFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RulesFormat {
    Text,
    Json,
}

impl std::fmt::Display for RulesFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Text => "text",
            Self::Json => "json",
        })
    }
}

pub fn run(args: &RulesArgs) -> Outcome {
    let Some(name) = &args.name else {
        match args.format {
            RulesFormat::Text => print_catalogue(),
            RulesFormat::Json => {
                let rules: Vec<Value> = registry::all()
                    .map(|rule| rule_json(rule.meta(), false))
                    .collect();
                print_json(&json!({ "rules": rules }));
            }
        }
        return Outcome::Success;
    };
    if let Some(meta) = registry::meta(name) {
        match args.format {
            // The same page `docs/rules/<name>.md` publishes.
            RulesFormat::Text => write!(output::stdout(), "{}", meta.documentation_page()),
            RulesFormat::Json => print_json(&rule_json(meta, true)),
        }
        return Outcome::Success;
    }
    let message = registry::expand(std::slice::from_ref(name))
        .err()
        .map_or_else(
            || format!("`{name}` is a category, not a rule"),
            |error| error.to_string(),
        );
    print_error(&message, Some("`upkeep rules` lists every rule"));
    Outcome::Failed
}

/// One rule for `--format json`; its documentation (Markdown) only when asked for by name.
fn rule_json(meta: &RuleMeta, with_documentation: bool) -> Value {
    let mut rule = json!({
        "name": meta.name,
        "spryker_ids": meta.spryker_ids,
        "category": meta.category.name(),
        "severity": meta.category.default_severity().as_str(),
        "summary": meta.summary,
        "guideline": meta.guideline,
        "needs_core": meta.needs_core,
        "fixable": registry::is_fixable(meta),
    });
    if with_documentation {
        rule["documentation"] = json!(meta.documentation);
    }
    rule
}

fn print_json(value: &Value) {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    writeln!(output::stdout(), "{text}");
}

fn print_catalogue() {
    let mut out = output::stdout();
    writeln!(
        out,
        "{:<40} {:<20} {:<8} {:<7} SPRYKER ID",
        "RULE", "CATEGORY", "SEVERITY", "FIX"
    );
    for rule in registry::all() {
        let meta = rule.meta();
        writeln!(
            out,
            "{:<40} {:<20} {:<8} {:<7} {}",
            meta.name,
            meta.category.name(),
            meta.category.default_severity().as_str(),
            if registry::is_fixable(meta) {
                "yes"
            } else {
                "-"
            },
            meta.spryker_ids.join(", ")
        );
    }
}
