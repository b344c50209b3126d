//! Our own configuration file, `upkeep.toml` at the project root:
//!
//! ```toml
//! [gate]
//! rules = ["dependency-provider", "php-version"]  # names, Spryker ids or categories; default: all
//! exclude-rules = ["npm-advisory"]
//! advisories = "../security-advisories"            # local advisory database
//! npm-audit-level = "high"                         # low | moderate | high | critical
//! php-version = "8.3.13"                           # the host PHP (the caller's input wins)
//! npm-audit-report = "npm-audit.json"              # a saved `npm audit --json`: turns npm-advisory on
//! minimum-versions = "upkeep/minimum-versions.toml" # replaces the shipped minimum-version table
//! discouraged-packages = "upkeep/discouraged.toml"  # replaces the shipped discouraged-package list
//! baseline = "upkeep-baseline.json"                # report only what it does not list
//!
//! [gate.severity]
//! discouraged-package = "warning"                  # error | warning
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ConfigError;
use crate::finding::Severity;
use crate::settings::NpmAuditLevel;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpkeepConfig {
    #[serde(default)]
    pub gate: GateSection,
    /// The upgrader's settings; `upkeep_upgrade` reads and checks them, the gate ignores them.
    #[serde(default)]
    pub upgrade: Option<toml::Table>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GateSection {
    pub rules: Option<Vec<String>>,
    #[serde(default)]
    pub exclude_rules: Vec<String>,
    pub advisories: Option<PathBuf>,
    pub npm_audit_level: Option<NpmAuditLevel>,
    pub php_version: Option<String>,
    pub npm_audit_report: Option<PathBuf>,
    pub minimum_versions: Option<PathBuf>,
    pub discouraged_packages: Option<PathBuf>,
    /// A baseline file (relative to the project root), applied to every run that does not
    /// name its own: the CLI's and the pipeline's gate step block on new findings only.
    pub baseline: Option<PathBuf>,
    #[serde(default)]
    pub severity: BTreeMap<String, Severity>,
}

impl UpkeepConfig {
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let deserializer = toml::Deserializer::parse(text)
            .map_err(|error| ConfigError::new(path, error.to_string().trim_end()))?;
        serde_path_to_error::deserialize(deserializer).map_err(|error| {
            let key_path = error.path().to_string();
            let message = error.into_inner().to_string();
            ConfigError::new(
                path,
                format!("{} (at key `{key_path}`)", message.trim_end()),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_gate_section() {
        let config = UpkeepConfig::parse(
            "[gate]\nrules = [\"packages\"]\nexclude-rules = [\"npm-advisory\"]\nnpm-audit-level = \"critical\"\n[gate.severity]\nphp-version = \"warning\"\n",
            Path::new("upkeep.toml"),
        )
        .unwrap();
        assert_eq!(
            config.gate.rules.as_deref(),
            Some(&["packages".to_string()][..])
        );
        assert_eq!(config.gate.npm_audit_level, Some(NpmAuditLevel::Critical));
        assert_eq!(
            config.gate.severity.get("php-version"),
            Some(&Severity::Warning)
        );
    }

    #[test]
    fn errors_name_the_key_path() {
        let error = UpkeepConfig::parse(
            "[gate.severity]\nphp-version = \"loud\"\n",
            Path::new("upkeep.toml"),
        )
        .unwrap_err();
        assert!(
            error.message.contains("gate.severity.php-version"),
            "{}",
            error.message
        );
        let error =
            UpkeepConfig::parse("[gate]\nrulez = []\n", Path::new("upkeep.toml")).unwrap_err();
        assert!(error.message.contains("rulez"), "{}", error.message);
    }
}
