//! The text of the upgrade pull request: a title naming the date and the number of packages, and
//! a body a reviewer can work from — what changed with compare and release links, security fixes
//! marked, groups Composer could not update with its reason, majors that need manual work, the
//! gate findings the update introduced, and a stable report id.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Everything an upgrade run did, as the pull request tells it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UpgradeReport {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub base_branch: String,
    pub applied: Vec<AppliedUpdate>,
    pub failed_groups: Vec<FailedGroup>,
    pub majors: Vec<MajorUpgrade>,
    /// New gate findings after the update, one line each (`rule file:line message`).
    pub new_findings: Vec<String>,
    /// Why the gate could not compare, if it could not.
    pub gate_problem: Option<String>,
    /// Packages Composer could not update with the rest of their group: the group was
    /// updated without them.
    pub dropped: Vec<DroppedPackage>,
    /// Updates this run does not make: left for the next run by the per-run limits, or held
    /// back by a requirement, a conflict or the platform.
    pub held_back: Vec<HeldBack>,
    /// The code changes Spryker's integration manifests called for, per group, when the run
    /// was given manifests.
    pub code_changes: Vec<GroupCodeChanges>,
}

/// What the manifests of one group's updates changed, rendered for the pull request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GroupCodeChanges {
    pub group: String,
    /// The commit `Apply code changes for <group>`, when something changed.
    pub commit: Option<String>,
    /// Per module the manifest versions and what they changed, then the steps left to do by
    /// hand with their reasons (Markdown), or why the manifests could not be applied at all.
    pub section: String,
}

/// A package left out of its group because Composer named it when it refused the group.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DroppedPackage {
    pub name: String,
    pub group: String,
    /// The version the plan wanted.
    pub to: String,
    /// Composer's explanation when it refused the group.
    pub problem: String,
}

/// An update the plan knows of and this run does not make.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HeldBack {
    pub name: String,
    pub locked: String,
    /// The version the update would take (a deferred one), if any would be taken.
    pub to: Option<String>,
    /// The newest release within the locked major, when it is not what would be taken.
    pub newest: Option<String>,
    /// Left for the next run by the per-run limits (else held back by what `reason` says).
    pub deferred: bool,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppliedUpdate {
    pub name: String,
    pub from: String,
    pub to: String,
    /// `patch` or `minor`.
    pub kind: String,
    pub group: String,
    /// Advisories the update fixes.
    pub fixes: Vec<String>,
    pub source_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FailedGroup {
    pub name: String,
    pub packages: Vec<String>,
    /// Composer's explanation (its "Problem" lines).
    pub problem: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MajorUpgrade {
    pub name: String,
    pub locked: String,
    pub major: String,
    pub source_url: Option<String>,
}

impl UpgradeReport {
    /// A short id that is the same for the same updates from the same base, so a refreshed pull
    /// request can be recognised.
    pub fn report_id(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.base_branch.as_bytes());
        let mut updates: Vec<String> = self
            .applied
            .iter()
            .map(|update| format!("{}@{}->{}", update.name, update.from, update.to))
            .collect();
        updates.sort();
        for update in updates {
            hasher.update(b"\n");
            hasher.update(update.as_bytes());
        }
        let digest = hasher.finalize();
        let hex = digest.iter().take(6).fold(String::new(), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        });
        format!("upkeep-{hex}")
    }

    pub fn title(&self) -> String {
        let count = self.applied.len();
        let noun = if count == 1 { "package" } else { "packages" };
        format!("Upkeep: update {count} {noun} ({})", self.date)
    }

    /// "Code changes" per group, from Spryker's integration manifests.
    fn write_code_changes(&self, body: &mut String) {
        if self
            .code_changes
            .iter()
            .any(|changes| !changes.section.trim().is_empty())
        {
            body.push_str("### Code changes (Spryker's integration manifests)\n\n");
        }
        for changes in &self.code_changes {
            if changes.section.trim().is_empty() {
                continue;
            }
            let commit = changes
                .commit
                .as_deref()
                .map(|sha| format!(" ({})", &sha[..sha.len().min(12)]))
                .unwrap_or_default();
            let _ = writeln!(body, "#### Code changes for {}{commit}\n", changes.group);
            // The integrator's section has a heading of its own; the group's heading replaces it.
            let section = changes
                .section
                .strip_prefix("### Code changes\n\n")
                .unwrap_or(&changes.section);
            body.push_str(section.trim_end());
            body.push_str("\n\n");
        }
    }

    pub fn body(&self) -> String {
        let mut body = String::new();
        let security = self
            .applied
            .iter()
            .filter(|update| !update.fixes.is_empty())
            .count();
        let minor = self
            .applied
            .iter()
            .filter(|update| update.kind == "minor")
            .count();
        let patch = self.applied.len() - minor;
        let _ = write!(
            body,
            "Updates {} packages of `{}`: {minor} minor, {patch} patch",
            self.applied.len(),
            self.base_branch
        );
        if security > 0 {
            let _ = write!(body, ", **{security} with security fixes**");
        }
        body.push_str(".\n\n");

        self.write_updates(&mut body);
        self.write_problems(&mut body);
        self.write_code_changes(&mut body);
        body.push_str("### Quality gate\n\n");
        match (&self.gate_problem, self.new_findings.is_empty()) {
            (Some(problem), _) => {
                let _ = writeln!(
                    body,
                    "The gate could not compare before and after: {problem}"
                );
            }
            (None, true) => body.push_str("No new findings.\n"),
            (None, false) => {
                let count = self.new_findings.len();
                let noun = if count == 1 { "finding" } else { "findings" };
                let _ = writeln!(body, "{count} new {noun} after the update:\n");
                for finding in &self.new_findings {
                    let _ = writeln!(body, "- {finding}");
                }
            }
        }
        body.push('\n');

        let _ = writeln!(
            body,
            "<sub>Report {} · opened by Upkeep</sub>",
            self.report_id()
        );
        body
    }

    /// The table of updates and the list of security fixes.
    fn write_updates(&self, body: &mut String) {
        if !self.applied.is_empty() {
            body.push_str("| Package | From | To | Type | Links |\n|---|---|---|---|---|\n");
            for update in &self.applied {
                let kind = if update.fixes.is_empty() {
                    update.kind.clone()
                } else {
                    format!("{} · security", update.kind)
                };
                let _ = writeln!(
                    body,
                    "| `{}` | {} | {} | {kind} | {} |",
                    update.name,
                    update.from,
                    update.to,
                    links(update.source_url.as_deref(), &update.from, &update.to)
                );
            }
            body.push('\n');
            let fixes: Vec<&AppliedUpdate> = self
                .applied
                .iter()
                .filter(|update| !update.fixes.is_empty())
                .collect();
            if !fixes.is_empty() {
                body.push_str("### Security fixes\n\n");
                for update in fixes {
                    for fix in &update.fixes {
                        let _ = writeln!(body, "- `{}` {}: {fix}", update.name, update.to);
                    }
                }
                body.push('\n');
            }
        }
    }

    /// Groups and packages Composer could not update, what was held back, and majors that
    /// need manual work.
    fn write_problems(&self, body: &mut String) {
        if !self.dropped.is_empty() {
            body.push_str("### Left out of their group: Composer named them\n\n");
            for dropped in &self.dropped {
                let _ = writeln!(
                    body,
                    "- `{}` {} (group **{}**; the rest of the group was updated without it)\n\n  ```\n{}\n  ```",
                    dropped.name,
                    dropped.to,
                    dropped.group,
                    indent(&dropped.problem, "  ")
                );
            }
            body.push('\n');
        }
        if !self.failed_groups.is_empty() {
            body.push_str("### Not updated: Composer could not resolve\n\n");
            for group in &self.failed_groups {
                let _ = writeln!(
                    body,
                    "- **{}** ({})\n\n  ```\n{}\n  ```",
                    group.name,
                    group
                        .packages
                        .iter()
                        .map(|name| format!("`{name}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    indent(&group.problem, "  ")
                );
            }
            body.push('\n');
        }

        if !self.held_back.is_empty() {
            body.push_str("### Held back\n\n| Package | Locked | Would take | Newest | Why |\n|---|---|---|---|---|\n");
            let dash = |value: &Option<String>| value.clone().unwrap_or_else(|| "—".to_string());
            for held in &self.held_back {
                let _ = writeln!(
                    body,
                    "| `{}` | {} | {} | {} | {} |",
                    held.name,
                    held.locked,
                    dash(&held.to),
                    dash(&held.newest),
                    held.reason.replace('|', "\\|")
                );
            }
            body.push('\n');
        }

        if !self.majors.is_empty() {
            body.push_str("### New majors (manual upgrade)\n\n");
            for major in &self.majors {
                let _ = writeln!(
                    body,
                    "- `{}` {} → {}: {}",
                    major.name,
                    major.locked,
                    major.major,
                    upgrade_guide(major)
                );
            }
            body.push('\n');
        }
    }
}

fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .map(|line| format!("{prefix}{line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The web address of a repository on GitHub or GitLab, from its clone URL.
fn web_repository(source_url: &str) -> Option<(String, bool)> {
    let url = source_url.trim_end_matches('/').trim_end_matches(".git");
    let url = url
        .strip_prefix("git@github.com:")
        .map(|path| format!("https://github.com/{path}"))
        .or_else(|| {
            url.strip_prefix("git@gitlab.com:")
                .map(|path| format!("https://gitlab.com/{path}"))
        })
        .unwrap_or_else(|| url.to_string());
    if url.starts_with("https://github.com/") {
        Some((url, true))
    } else if url.starts_with("https://gitlab.") {
        Some((url, false))
    } else {
        None
    }
}

fn links(source_url: Option<&str>, from: &str, to: &str) -> String {
    match source_url.and_then(web_repository) {
        Some((web, true)) => {
            format!("[compare]({web}/compare/{from}...{to}) · [release]({web}/releases/tag/{to})")
        }
        Some((web, false)) => {
            format!("[compare]({web}/-/compare/{from}...{to}) · [tag]({web}/-/tags/{to})")
        }
        None => "—".to_string(),
    }
}

/// A link a person follows, with what it leads to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub label: String,
    pub url: String,
}

impl MajorUpgrade {
    /// Where the manual upgrade is explained: Spryker's upgrade guide for Spryker modules, the
    /// release notes (and `UPGRADE.md` on GitHub) of the major from the package's source.
    pub fn instructions(&self) -> Vec<Link> {
        let mut links = Vec::new();
        if let Some(module) = self
            .name
            .strip_prefix("spryker/")
            .or_else(|| self.name.strip_prefix("spryker-shop/"))
        {
            links.push(Link {
                label: "upgrade guide".to_string(),
                url: format!(
                    "https://docs.spryker.com/search.html?query=upgrade+the+{module}+module"
                ),
            });
        }
        let major = &self.major;
        match self.source_url.as_deref().and_then(web_repository) {
            Some((web, true)) => {
                links.push(Link {
                    label: "release notes".to_string(),
                    url: format!("{web}/releases/tag/{major}"),
                });
                links.push(Link {
                    label: "UPGRADE.md".to_string(),
                    url: format!("{web}/blob/{major}/UPGRADE.md"),
                });
            }
            Some((web, false)) => links.push(Link {
                label: "release notes".to_string(),
                url: format!("{web}/-/tags/{major}"),
            }),
            None => {}
        }
        links
    }
}

fn upgrade_guide(major: &MajorUpgrade) -> String {
    let links = major.instructions();
    if links.is_empty() {
        "see the package's release notes".to_string()
    } else {
        links
            .iter()
            .map(|link| format!("[{}]({})", link.label, link.url))
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> UpgradeReport {
        UpgradeReport {
            date: "2026-11-23".into(),
            base_branch: "main".into(),
            applied: vec![
                AppliedUpdate {
                    name: "spryker/kernel".into(),
                    from: "3.70.0".into(),
                    to: "3.72.1".into(),
                    kind: "minor".into(),
                    group: "spryker".into(),
                    fixes: vec![],
                    source_url: Some("https://github.com/spryker/kernel.git".into()),
                },
                AppliedUpdate {
                    name: "symfony/http-kernel".into(),
                    from: "v6.4.1".into(),
                    to: "v6.4.2".into(),
                    kind: "patch".into(),
                    group: "symfony".into(),
                    fixes: vec!["CVE-2024-0001 Cookie headers stored in HttpCache".into()],
                    source_url: Some("git@github.com:symfony/http-kernel.git".into()),
                },
            ],
            failed_groups: vec![FailedGroup {
                name: "acme".into(),
                packages: vec!["acme/conflicting".into()],
                problem: "Problem 1\n  - acme/conflicting 1.1.0 requires acme/base ^2.0".into(),
            }],
            majors: vec![MajorUpgrade {
                name: "spryker/product".into(),
                locked: "5.10.0".into(),
                major: "6.0.0".into(),
                source_url: Some("https://github.com/spryker/product.git".into()),
            }],
            new_findings: vec![
                "private-api-facade src/Pyz/Zed/Foo/FooFacade.php:12 calls a private method".into(),
            ],
            gate_problem: None,
            dropped: vec![DroppedPackage {
                name: "acme/broken".into(),
                group: "spryker".into(),
                to: "1.1.0".into(),
                problem: "Problem 1\n  - acme/broken 1.1.0 requires z/missing ^1.0 -> could not be found in any version".into(),
            }],
            code_changes: vec![GroupCodeChanges {
                group: "spryker".into(),
                commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
                section: "### Code changes\n\n| Module | Versions | Changes |\n|---|---|---|\n| Spryker.Kernel | 3.71.0, 3.72.0 | 2 applied, 1 not applied |\n\n**To do by hand**\n\n- Spryker.Kernel 3.72.0: `configure-module KernelConfig::isDebug`: its value is not `previousValue` false\n".into(),
            }],
            held_back: vec![
                HeldBack {
                    name: "acme/later".into(),
                    locked: "1.0.0".into(),
                    to: Some("1.2.0".into()),
                    newest: None,
                    deferred: true,
                    reason: "waits for the next run: at most 10 minor updates per run".into(),
                },
                HeldBack {
                    name: "tools/php84".into(),
                    locked: "1.0.0".into(),
                    to: None,
                    newest: Some("1.1.0".into()),
                    deferred: false,
                    reason: "1.1.0 needs PHP >=8.4; the platform is PHP 8.2.10".into(),
                },
            ],
        }
    }

    #[test]
    fn title_and_body() {
        let report = report();
        assert_eq!(report.title(), "Upkeep: update 2 packages (2026-11-23)");
        insta::assert_snapshot!(report.body());
    }

    #[test]
    fn the_report_id_depends_only_on_base_and_updates() {
        let mut one = report();
        let two = report();
        assert_eq!(one.report_id(), two.report_id());
        one.new_findings.clear();
        one.applied.reverse();
        assert_eq!(one.report_id(), two.report_id());
        one.applied[0].to = "3.72.2".into();
        assert_ne!(one.report_id(), two.report_id());
    }
}
