//! `upkeep rules [NAME]`: the rule catalogue and each rule's documentation.

use clap::Args;
use upkeep_gate::registry;

use crate::{Outcome, output, print_error};

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// A rule name or Spryker id; prints that rule's documentation.
    pub name: Option<String>,
}

pub fn run(args: &RulesArgs) -> Outcome {
    let Some(name) = &args.name else {
        print_catalogue();
        return Outcome::Success;
    };
    if let Some(meta) = registry::meta(name) {
        // The same page `docs/rules/<name>.md` publishes.
        write!(output::stdout(), "{}", meta.documentation_page());
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

fn print_catalogue() {
    let mut out = output::stdout();
    writeln!(
        out,
        "{:<40} {:<20} {:<8} SPRYKER ID",
        "RULE", "CATEGORY", "SEVERITY"
    );
    for rule in registry::all() {
        let meta = rule.meta();
        writeln!(
            out,
            "{:<40} {:<20} {:<8} {}",
            meta.name,
            meta.category.name(),
            meta.category.default_severity().as_str(),
            meta.spryker_ids.join(", ")
        );
    }
}
