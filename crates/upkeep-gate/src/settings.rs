//! Settings of one gate run that rules read (as opposed to which rules run).

use std::path::PathBuf;

/// The lowest `npm audit` severity that is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NpmAuditLevel {
    Low,
    Moderate,
    High,
    Critical,
}

#[derive(Debug, Clone)]
pub struct GateSettings {
    /// Project prefixes (`Pyz`), from `evaluator.prefixes` or the project namespaces.
    pub prefixes: Vec<String>,
    /// Local advisory database (security-advisories YAML tree or OSV JSON).
    pub advisories: Option<PathBuf>,
    pub npm_audit_level: NpmAuditLevel,
    /// Replaces the minimum-version table shipped with the tool (`data/minimum-versions.toml`).
    pub minimum_versions: Option<PathBuf>,
    /// Replaces the discouraged-package list shipped with the tool
    /// (`data/discouraged-packages.toml`).
    pub discouraged_packages: Option<PathBuf>,
}

impl Default for GateSettings {
    fn default() -> Self {
        Self {
            prefixes: vec!["Pyz".to_string()],
            advisories: None,
            npm_audit_level: NpmAuditLevel::High,
            minimum_versions: None,
            discouraged_packages: None,
        }
    }
}
