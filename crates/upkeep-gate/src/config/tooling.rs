//! Spryker's `tooling.yml`, the `evaluator` section:
//!
//! ```yaml
//! evaluator:
//!   ignoreErrors:
//!     - '#regex matched against message or file#'
//!     - messages: ['#regex#']
//!       checker: DEPENDENCY_PROVIDER_ADDITIONAL_LOGIC_CHECKER
//!   rules:
//!     ignore: [PHP_VERSION_CHECKER]   # these rules only warn
//!   prefixes: [Pyz]
//!   checkerConfiguration:
//!     - checker: NPM_CHECKER
//!       var:
//!         ALLOWED_SEVERITY_LEVELS: [critical]   # the npm severities that are reported
//! ```
//!
//! Keys of `evaluator` that upkeep does not know are reported as notices, not errors, so a
//! `tooling.yml` written for a newer Spryker evaluator still works.
//!
//! Other top-level sections belong to other Spryker tools and are left alone.

use std::path::Path;

use std::collections::BTreeMap;

use regex::Regex;
use serde::Deserialize;

use super::ConfigError;
use crate::registry;
use crate::settings::NpmAuditLevel;

#[derive(Debug, Default, Deserialize)]
struct ToolingFile {
    #[serde(default)]
    evaluator: Option<EvaluatorSection>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EvaluatorSection {
    #[serde(default)]
    ignore_errors: Vec<IgnoreErrorEntry>,
    #[serde(default)]
    rules: Option<RulesSection>,
    #[serde(default)]
    prefixes: Vec<String>,
    #[serde(default)]
    checker_configuration: Vec<CheckerConfiguration>,
    /// Only the keys matter; serde's `flatten` needs a map to collect them.
    #[serde(flatten)]
    #[allow(clippy::zero_sized_map_values)]
    unknown: BTreeMap<String, serde::de::IgnoredAny>,
}

/// Settings of one Spryker checker: `{checker: ID, var: {NAME: value}}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckerConfiguration {
    checker: String,
    #[serde(default)]
    var: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesSection {
    #[serde(default)]
    ignore: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum IgnoreErrorEntry {
    Pattern(String),
    ForChecker {
        messages: Vec<String>,
        checker: String,
    },
}

/// One `ignoreErrors` entry: findings whose message or file matches, optionally only of one rule.
#[derive(Debug, Clone)]
pub struct IgnoreError {
    pub pattern: Regex,
    /// A rule name or Spryker id; `None` applies to every rule.
    pub rule: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ToolingConfig {
    pub ignore_errors: Vec<IgnoreError>,
    /// Rules (names or Spryker ids) whose findings become warnings.
    pub warn_only_rules: Vec<String>,
    pub prefixes: Vec<String>,
    /// `NPM_CHECKER`'s `ALLOWED_SEVERITY_LEVELS`: the npm severities that are reported.
    pub npm_severity_levels: Option<Vec<NpmAuditLevel>>,
    /// Keys of `evaluator` that upkeep does not know (ignored, shown as notices).
    pub unknown_keys: Vec<String>,
}

impl ToolingConfig {
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let file: ToolingFile = parse_yaml(text, path)?;
        let Some(evaluator) = file.evaluator else {
            return Ok(Self::default());
        };
        let mut ignore_errors = Vec::new();
        for (position, entry) in evaluator.ignore_errors.into_iter().enumerate() {
            let key = format!("evaluator.ignoreErrors[{position}]");
            match entry {
                IgnoreErrorEntry::Pattern(pattern) => {
                    ignore_errors.push(IgnoreError {
                        pattern: php_regex(&pattern, path, &key)?,
                        rule: None,
                    });
                }
                IgnoreErrorEntry::ForChecker { messages, checker } => {
                    for (index, message) in messages.iter().enumerate() {
                        let pattern =
                            php_regex(message, path, &format!("{key}.messages[{index}]"))?;
                        ignore_errors.push(IgnoreError {
                            pattern,
                            rule: Some(checker.clone()),
                        });
                    }
                }
            }
        }
        let mut npm_severity_levels = None;
        for (position, configuration) in evaluator.checker_configuration.iter().enumerate() {
            let is_npm = registry::meta(&configuration.checker)
                .is_some_and(|meta| meta.name == "npm-advisory");
            if let (true, Some(levels)) = (is_npm, configuration.var.get("ALLOWED_SEVERITY_LEVELS"))
            {
                let key = format!(
                    "evaluator.checkerConfiguration[{position}].var.ALLOWED_SEVERITY_LEVELS"
                );
                let levels: Vec<NpmAuditLevel> = serde_json::from_value(levels.clone()).map_err(|error| {
                    ConfigError::new(path, format!("invalid value at key `{key}`: {error} (expected a list of low, moderate, high, critical)"))
                })?;
                npm_severity_levels = Some(levels);
            }
        }
        Ok(Self {
            ignore_errors,
            warn_only_rules: evaluator
                .rules
                .map(|rules| rules.ignore)
                .unwrap_or_default(),
            prefixes: evaluator.prefixes,
            npm_severity_levels,
            unknown_keys: evaluator
                .unknown
                .into_keys()
                .map(|key| format!("evaluator.{key}"))
                .collect(),
        })
    }
}

/// Deserializes YAML, and on failure names the position and the key path.
pub(crate) fn parse_yaml<T: serde::de::DeserializeOwned>(
    text: &str,
    path: &Path,
) -> Result<T, ConfigError> {
    crate::yaml::parse(text).map_err(|error| {
        ConfigError::new(path, format!("{}{}", error.error, error.key_path_suffix()))
    })
}

/// Turns a PHP (PCRE) pattern with delimiters and flags, like `#foo#i`, into a regex.
/// A pattern without delimiters is used as it is.
fn php_regex(pattern: &str, path: &Path, key: &str) -> Result<Regex, ConfigError> {
    let invalid = |why: String| {
        ConfigError::new(
            path,
            format!("invalid pattern `{pattern}` at key `{key}`: {why}"),
        )
    };
    let mut characters = pattern.chars();
    let (body, flags) = match characters.next() {
        Some(open) if !open.is_alphanumeric() && open != '\\' && !open.is_whitespace() => {
            let close = match open {
                '(' => ')',
                '{' => '}',
                '[' => ']',
                '<' => '>',
                other => other,
            };
            let end = pattern
                .rfind(close)
                .filter(|&end| end > 0)
                .ok_or_else(|| invalid(format!("no closing `{close}` delimiter")))?;
            (
                &pattern[open.len_utf8()..end],
                &pattern[end + close.len_utf8()..],
            )
        }
        _ => (pattern, ""),
    };
    let mut inline = String::new();
    for flag in flags.chars() {
        match flag {
            'i' | 'm' | 's' | 'x' => inline.push(flag),
            'u' | 'D' => {}
            other => return Err(invalid(format!("unsupported flag `{other}`"))),
        }
    }
    let full = if inline.is_empty() {
        body.to_string()
    } else {
        format!("(?{inline}){body}")
    };
    Regex::new(&full).map_err(|error| invalid(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ToolingConfig, ConfigError> {
        ToolingConfig::parse(text, Path::new("tooling.yml"))
    }

    #[test]
    fn reads_both_forms_of_ignore_errors() {
        let config = parse(
            "code-sniffer:\n  level: 5\nevaluator:\n  ignoreErrors:\n    - '#Plugin .* is not allowed#i'\n    - messages:\n        - '/^Use of dev/'\n      checker: SPRYKER_DEV_PACKAGES_CHECKER\n  rules:\n    ignore:\n      - PHP_VERSION_CHECKER\n  prefixes: [Pyz, Acme]\n",
        )
        .unwrap();
        assert_eq!(config.ignore_errors.len(), 2);
        assert!(
            config.ignore_errors[0]
                .pattern
                .is_match("the plugin X is NOT allowed")
        );
        assert_eq!(config.ignore_errors[0].rule, None);
        assert!(
            config.ignore_errors[1]
                .pattern
                .is_match("Use of dev-master")
        );
        assert_eq!(
            config.ignore_errors[1].rule.as_deref(),
            Some("SPRYKER_DEV_PACKAGES_CHECKER")
        );
        assert_eq!(config.warn_only_rules, ["PHP_VERSION_CHECKER"]);
        assert_eq!(config.prefixes, ["Pyz", "Acme"]);
    }

    #[test]
    fn reads_checker_configuration_and_tolerates_unknown_keys() {
        // The shape Spryker's b2c demo shop uses.
        let config = parse(
            "evaluator:\n    checkerConfiguration:\n        - checker: NPM_CHECKER\n          var:\n              ALLOWED_SEVERITY_LEVELS: [critical]\n    newFeature: true\n    rules:\n        ignore:\n              - NotUnique:ModuleName\n",
        )
        .unwrap();
        assert_eq!(
            config.npm_severity_levels,
            Some(vec![NpmAuditLevel::Critical])
        );
        assert_eq!(config.unknown_keys, ["evaluator.newFeature"]);
        assert_eq!(config.warn_only_rules, ["NotUnique:ModuleName"]);
        let error = parse("evaluator:\n  checkerConfiguration:\n    - checker: NPM_CHECKER\n      var:\n        ALLOWED_SEVERITY_LEVELS: [severe]\n").unwrap_err();
        assert!(
            error
                .message
                .contains("evaluator.checkerConfiguration[0].var.ALLOWED_SEVERITY_LEVELS"),
            "{}",
            error.message
        );
    }

    #[test]
    fn errors_name_the_key_path() {
        let error = parse("evaluator:\n  rules:\n    ignored: [X]\n").unwrap_err();
        assert!(
            error.message.contains("evaluator.rules"),
            "{}",
            error.message
        );
        assert!(error.message.contains("ignored"), "{}", error.message);
        let error = parse("evaluator:\n  prefixes: 5\n").unwrap_err();
        assert!(
            error.message.contains("evaluator.prefixes"),
            "{}",
            error.message
        );
        let error = parse("evaluator:\n  ignoreErrors:\n    - '#unclosed'\n").unwrap_err();
        assert!(
            error.message.contains("evaluator.ignoreErrors[0]"),
            "{}",
            error.message
        );
    }

    #[test]
    fn malformed_yaml_names_the_position() {
        let error = parse("evaluator:\n  prefixes: [Pyz\n").unwrap_err();
        assert!(
            error.message.contains("line") || error.message.contains(':'),
            "{}",
            error.message
        );
    }
}
