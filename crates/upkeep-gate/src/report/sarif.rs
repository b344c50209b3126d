//! SARIF 2.1.0, the OASIS format GitHub code scanning, Azure DevOps and SARIF viewers read:
//! one run of the `upkeep` driver, every rule that ran as a reporting descriptor (with its
//! documentation and Spryker ids), and one result per finding.
//!
//! Columns count characters, as ours do (`columnKind: unicodeCodePoints`), and end columns are
//! exclusive in both. File paths are relative to `%SRCROOT%`, the root of the git repository
//! the project is in (`shop/src/...` for a project in `shop/`), which GitHub code scanning
//! resolves against its checkout; `originalUriBaseIds` says where that root was, so a viewer
//! elsewhere can still map it.

use std::fmt::Write;
use std::path::Path;

use serde_json::{Value, json};

use super::fingerprint::FINGERPRINT_VERSION;
use super::{ci_path, fingerprints, is_whole_file, rules_of};
use crate::engine::GateReport;
use crate::finding::{Finding, Severity};
use crate::rule::RuleMeta;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const SRCROOT: &str = "%SRCROOT%";
/// The project's home page; the workspace's `repository` when this crate inherits it.
const INFORMATION_URI: &str = if env!("CARGO_PKG_REPOSITORY").is_empty() {
    "https://github.com/upkeep-dev/upkeep"
} else {
    env!("CARGO_PKG_REPOSITORY")
};

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// Percent-encodes a path for a URI: everything but unreserved characters, `/` and `keep`.
fn encode_path(path: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(path.len());
    for &byte in path.as_bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) || keep.contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// The `file:` URI of an absolute project root, ending in `/` as SARIF requires of a base.
/// A relative root cannot be made absolute without asking the file system, which a renderer
/// does not do; viewers then resolve `%SRCROOT%` themselves.
fn root_uri(root: &Path) -> Option<String> {
    if !root.is_absolute() {
        return None;
    }
    let mut path = root.to_string_lossy().replace('\\', "/");
    if !path.starts_with('/') {
        // `C:/shop` becomes `file:///C:/shop/`.
        path.insert(0, '/');
    }
    if !path.ends_with('/') {
        path.push('/');
    }
    Some(format!("file://{}", encode_path(&path, b":")))
}

/// `parse-error` becomes `ParseError`, the style SARIF's examples use for `name`.
fn pascal_case(name: &str) -> String {
    name.split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect::<String>()
            })
        })
        .collect()
}

/// The body of a `## heading` section of a rule's documentation.
fn section<'d>(documentation: &'d str, heading: &str) -> Option<&'d str> {
    let start = documentation.find(&format!("## {heading}\n"))? + heading.len() + 4;
    let body = &documentation[start..];
    let end = body.find("\n## ").unwrap_or(body.len());
    Some(body[..end].trim()).filter(|body| !body.is_empty())
}

fn descriptor(rule: &RuleMeta) -> Value {
    let what_it_finds = section(rule.documentation, "What it finds").unwrap_or(rule.summary);
    let help_markdown = format!(
        "{}\n\nGuideline: <{}>",
        rule.documentation.trim_end(),
        rule.guideline
    );
    json!({
        "id": rule.name,
        "name": pascal_case(rule.name),
        "shortDescription": {"text": rule.summary},
        "fullDescription": {
            "text": what_it_finds.split_whitespace().collect::<Vec<_>>().join(" "),
            "markdown": what_it_finds,
        },
        "help": {
            "text": format!("{} See {}", rule.summary, rule.guideline),
            "markdown": help_markdown,
        },
        "helpUri": rule.guideline,
        "defaultConfiguration": {"level": level(rule.category.default_severity())},
        "properties": {
            "category": rule.category.name(),
            "tags": ["upgradability", rule.category.name()],
            "sprykerIds": rule.spryker_ids,
        },
    })
}

fn physical_location(report: &GateReport, finding: &Finding) -> Value {
    let location = &finding.location;
    let artifact = json!({
        "uri": encode_path(&ci_path(report, &location.file), b""),
        "uriBaseId": SRCROOT,
    });
    // No region is SARIF's way to say "the whole artifact".
    if is_whole_file(location) {
        return json!({"artifactLocation": artifact});
    }
    let end = location.end.max(location.start);
    json!({
        "artifactLocation": artifact,
        "region": {
            "startLine": location.start.line,
            "startColumn": location.start.column,
            "endLine": end.line,
            "endColumn": end.column,
        },
    })
}

pub fn render(report: &GateReport) -> String {
    let rules = rules_of(report);
    let rule_index = |name: &str| {
        rules
            .iter()
            .position(|rule| rule.name == name)
            .unwrap_or_default()
    };
    let results: Vec<Value> = report
        .findings
        .iter()
        .zip(fingerprints(report))
        .map(|(finding, fingerprint)| {
            json!({
                "ruleId": finding.rule.name,
                "ruleIndex": rule_index(finding.rule.name),
                "level": level(finding.severity),
                "message": {"text": finding.message},
                "locations": [{"physicalLocation": physical_location(report, finding)}],
                "partialFingerprints": {FINGERPRINT_VERSION: fingerprint},
            })
        })
        .collect();
    // A notice names a rule, or a part of the run such as `core`: those parts become
    // notification descriptors, so every notification points at something the log defines.
    let mut subjects: Vec<&str> = Vec::new();
    for notice in &report.notices {
        if !rules.iter().any(|rule| rule.name == notice.rule) && !subjects.contains(&notice.rule) {
            subjects.push(notice.rule);
        }
    }
    let notifications: Vec<Value> = report
        .notices
        .iter()
        .map(|notice| {
            let mut notification = json!({
                "message": {"text": notice.message},
                "level": "note",
            });
            if let Some(index) = rules.iter().position(|rule| rule.name == notice.rule) {
                notification["associatedRule"] = json!({"id": notice.rule, "index": index});
            } else if let Some(index) = subjects.iter().position(|id| *id == notice.rule) {
                notification["descriptor"] = json!({"id": notice.rule, "index": index});
            }
            notification
        })
        .collect();

    let mut run = json!({
        "tool": {
            "driver": {
                "name": "upkeep",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": INFORMATION_URI,
                "rules": rules.iter().map(|rule| descriptor(rule)).collect::<Vec<_>>(),
                "notifications": subjects.iter().map(|id| json!({"id": id})).collect::<Vec<_>>(),
            },
        },
        "invocations": [{
            "executionSuccessful": true,
            "toolExecutionNotifications": notifications,
        }],
        "columnKind": "unicodeCodePoints",
        "results": results,
    });
    let base = report
        .source_root
        .as_ref()
        .map_or(report.root.as_path(), |root| root.dir.as_path());
    if let Some(uri) = root_uri(base) {
        run["originalUriBaseIds"] = json!({SRCROOT: {"uri": uri}});
    }
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [run],
    });
    let mut text = serde_json::to_string_pretty(&log).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(
            encode_path("src/Pyz/Zed/My Module/ä:b.php", b""),
            "src/Pyz/Zed/My%20Module/%C3%A4%3Ab.php"
        );
        assert_eq!(
            root_uri(Path::new("/srv/my shop")).as_deref(),
            Some("file:///srv/my%20shop/")
        );
        assert_eq!(root_uri(Path::new("shop")), None);
    }

    #[test]
    fn sections_of_the_documentation() {
        let doc = "## What it finds\nA thing\nover lines.\n\n## Why it matters\nBecause.\n";
        assert_eq!(section(doc, "What it finds"), Some("A thing\nover lines."));
        assert_eq!(section(doc, "Why it matters"), Some("Because."));
        assert_eq!(section(doc, "Fix"), None);
        assert_eq!(
            pascal_case("dependency-provider-additional-logic"),
            "DependencyProviderAdditionalLogic"
        );
    }
}
