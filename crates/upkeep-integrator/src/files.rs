//! The steps that change files other than project classes: `configure-env` (a line of
//! `config/Shared/config_default.php`), `glossary-key` (rows of the glossary CSV) and
//! `copy-module-file` (a file of the package copied into the project).

use regex::Regex;
use std::fmt::Write as _;

use crate::configure::Change;
use crate::manifest::{ConfigValue, GlossaryKeys};
use crate::php::{Edit, Imports, Layout, PhpView, apply_edits};
use crate::values::expression;

/// Where Spryker projects keep the configuration every environment shares.
pub const CONFIG_DEFAULT: &str = "config/Shared/config_default.php";
/// Where Spryker's demo shops keep their glossary (the integrator's default).
pub const GLOSSARY: &str = "data/import/common/common/glossary.csv";

/// Adds `$config[Constants::KEY] = value;` to the end of `text` unless the key is set already.
pub fn configure_env(text: &str, target: &str, value: &ConfigValue) -> Result<Change, String> {
    let target = target.trim().trim_start_matches('\\');
    let (class, constant) = target
        .split_once("::")
        .ok_or_else(|| format!("`{target}` is not a constant"))?;
    let short = upkeep_php::names::short_name(class);
    let pattern = format!(
        r"\$config\[\s*\\?(?:[A-Za-z0-9_]+\\)*{}::{}\s*\]\s*=[^=]",
        regex::escape(short),
        regex::escape(constant)
    );
    let present = Regex::new(&pattern).map_err(|error| error.to_string())?;
    if present.is_match(text) {
        return Ok(Change::Unchanged);
    }
    let view = PhpView::read(text);
    let layout = Layout::of(text);
    let newline = layout.newline;
    let mut imports = Imports::of(&view);
    let key = imports.name(class);
    let code = match value {
        ConfigValue::Literal(code) => imports.shorten(code.trim().trim_end_matches(';')),
        ConfigValue::Value(value) => imports.shorten(&expression(value, "", &layout.unit, newline)),
    };
    let line = format!("$config[{key}::{constant}] = {code};{newline}");
    let mut edits = imports.edits(&view, text, &layout);
    let end = text.len();
    let lead = if text.ends_with('\n') {
        newline.to_string()
    } else {
        format!("{newline}{newline}")
    };
    edits.push(Edit::insert(end, format!("{lead}{line}")));
    Ok(Change::Changed(apply_edits(text, edits)))
}

/// The glossary with the rows of `keys` it lacks (per key and locale) appended.
pub fn add_glossary_keys(text: &str, keys: &GlossaryKeys) -> Change {
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let present: std::collections::HashSet<(String, String)> = text
        .lines()
        .filter_map(|line| {
            let fields = csv_fields(line);
            (fields.len() >= 3).then(|| (fields[0].clone(), fields[2].clone()))
        })
        .collect();
    let mut rows = String::new();
    for (key, translations) in &keys.new {
        for (locale, translation) in translations {
            if !present.contains(&(key.clone(), locale.clone())) {
                let _ = write!(
                    rows,
                    "{},{},{}{newline}",
                    csv_field(key),
                    csv_field(translation),
                    csv_field(locale)
                );
            }
        }
    }
    if rows.is_empty() {
        return Change::Unchanged;
    }
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push_str(newline);
    }
    out.push_str(&rows);
    Change::Changed(out)
}

fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

/// The fields of one CSV line (quoted fields with `""` escapes).
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut characters = line.trim_end_matches('\r').chars().peekable();
    while let Some(character) = characters.next() {
        match (character, quoted) {
            ('"', true) if characters.peek() == Some(&'"') => {
                field.push('"');
                characters.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (other, _) => field.push(other),
        }
    }
    fields.push(field);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::IndexMap;

    #[test]
    fn env_config_is_added_once_with_its_import() {
        let text = "<?php\n\nuse Spryker\\Shared\\Kernel\\KernelConstants;\n\n$config[KernelConstants::PROJECT_NAMESPACES] = ['Pyz'];\n";
        let value = ConfigValue::Value(serde_json::json!(900));
        let Change::Changed(after) = configure_env(
            text,
            "\\Spryker\\Shared\\SecurityBlocker\\SecurityBlockerConstants::SECURITY_BLOCKER_AGENT_BLOCKING_TTL",
            &value,
        )
        .unwrap() else {
            panic!("unchanged")
        };
        assert_eq!(
            after,
            "<?php\n\nuse Spryker\\Shared\\Kernel\\KernelConstants;\nuse Spryker\\Shared\\SecurityBlocker\\SecurityBlockerConstants;\n\n$config[KernelConstants::PROJECT_NAMESPACES] = ['Pyz'];\n\n$config[SecurityBlockerConstants::SECURITY_BLOCKER_AGENT_BLOCKING_TTL] = 900;\n"
        );
        assert!(matches!(
            configure_env(&after, "\\Spryker\\Shared\\SecurityBlocker\\SecurityBlockerConstants::SECURITY_BLOCKER_AGENT_BLOCKING_TTL", &value).unwrap(),
            Change::Unchanged
        ));
        // A comparison is not an assignment: the near-miss does not count as set.
        let compared = format!("{text}if ($config[SecurityBlockerConstants::X] == 1) {{}}\n");
        assert!(matches!(
            configure_env(
                &compared,
                "\\Spryker\\Shared\\SecurityBlocker\\SecurityBlockerConstants::X",
                &value
            )
            .unwrap(),
            Change::Changed(_)
        ));
    }

    #[test]
    fn glossary_rows_are_added_per_missing_key_and_locale() {
        let text = "key,translation,locale\ncart.title,\"Cart, yours\",en_US\n";
        let mut new = IndexMap::new();
        new.insert(
            "cart.title".to_string(),
            IndexMap::from([
                ("en_US".to_string(), "Cart".to_string()),
                ("de_DE".to_string(), "Warenkorb, Ihr".to_string()),
            ]),
        );
        let Change::Changed(after) = add_glossary_keys(text, &GlossaryKeys { new: new.clone() })
        else {
            panic!("unchanged")
        };
        assert_eq!(
            after,
            format!("{text}cart.title,\"Warenkorb, Ihr\",de_DE\n")
        );
        assert!(matches!(
            add_glossary_keys(&after, &GlossaryKeys { new }),
            Change::Unchanged
        ));
    }
}
