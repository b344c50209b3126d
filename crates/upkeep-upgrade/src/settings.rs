//! The upgrader's settings: the `[upgrade]` table of `upkeep.toml`, which a server may override
//! per workspace ([`SettingsOverrides`]).
//!
//! ```toml
//! [upgrade]
//! schedule = "0 8 * * MON"     # cron, 5 fields, for schedulers of your own (the server has a
//!                              # schedule per workspace)
//! max-minor = 10               # package versions per run
//! max-patch = 30
//! max-groups = 30
//! reviewers = ["alice"]        # requested on the pull request
//! base-branch = "main"         # default: the branch checked out
//! manifests = "https://github.com/spryker/integrator-manifests/archive/refs/heads/master.tar.gz"
//!                              # or a directory or an archive's path, relative to this file
//!
//! [[upgrade.groups]]           # default: one group per vendor
//! name = "spryker"
//! packages = ["spryker/*", "spryker-shop/*"]
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;
use upkeep_integrator::source::ManifestSource;

use crate::schedule::Schedule;

/// The file the settings are read from, at the project root.
pub const SETTINGS_FILE: &str = "upkeep.toml";

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct UpgradeSettings {
    pub schedule: String,
    pub max_minor: usize,
    pub max_patch: usize,
    pub max_groups: usize,
    pub reviewers: Vec<String>,
    pub base_branch: Option<String>,
    pub groups: Vec<GroupRule>,
    /// A local advisory database (as the gate's `--advisories`): marks security updates.
    pub advisories: Option<PathBuf>,
    /// Spryker's integration manifests (`<Org>/<Module>/<version>/installer-manifest.json`): a
    /// directory, or an archive's path or URL (`https://…/integrator-manifests-master.tar.gz`);
    /// the upgrade applies the code changes its updates call for.
    pub manifests: Option<ManifestSource>,
}

/// Settings a server keeps per workspace; each that is set wins over `upkeep.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsOverrides {
    pub max_minor: Option<usize>,
    pub max_patch: Option<usize>,
    pub max_groups: Option<usize>,
    pub reviewers: Option<Vec<String>>,
    pub base_branch: Option<String>,
}

impl SettingsOverrides {
    /// `settings` with every override that is set.
    pub fn apply(&self, settings: &mut UpgradeSettings) {
        if let Some(max) = self.max_minor {
            settings.max_minor = max;
        }
        if let Some(max) = self.max_patch {
            settings.max_patch = max;
        }
        if let Some(max) = self.max_groups {
            settings.max_groups = max;
        }
        if let Some(reviewers) = &self.reviewers {
            settings.reviewers.clone_from(reviewers);
        }
        if let Some(base) = &self.base_branch {
            settings.base_branch = Some(base.clone());
        }
    }
}

/// Packages whose names match one of `packages` (`*` matches any run of characters) are updated
/// together in one Composer run and one commit.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupRule {
    pub name: String,
    pub packages: Vec<String>,
}

impl Default for UpgradeSettings {
    fn default() -> Self {
        Self {
            schedule: "0 8 * * MON".to_string(),
            max_minor: 10,
            max_patch: 30,
            max_groups: 30,
            reviewers: Vec::new(),
            base_branch: None,
            groups: Vec::new(),
            advisories: None,
            manifests: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{}{}: {message}", path.display(), line.map(|line| format!(":{line}")).unwrap_or_default())]
pub struct SettingsError {
    pub path: PathBuf,
    /// The line (from 1) of what is wrong, when it is known.
    pub line: Option<usize>,
    pub message: String,
}

impl upkeep_hint::Hint for SettingsError {
    fn hint(&self) -> Option<String> {
        Some("fix the [upgrade] table of upkeep.toml".to_string())
    }
}

#[derive(Deserialize)]
struct SettingsFile {
    #[serde(default)]
    upgrade: Option<UpgradeSettings>,
}

/// Where `schedule` is written, read apart from the settings so that an error can name its line.
#[derive(Deserialize)]
struct ScheduleSpan {
    #[serde(default)]
    upgrade: Option<UpgradeScheduleSpan>,
}

#[derive(Deserialize)]
struct UpgradeScheduleSpan {
    #[serde(default)]
    schedule: Option<toml::Spanned<String>>,
}

/// The line (from 1) of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).unwrap_or(text).lines().count().max(1)
}

impl UpgradeSettings {
    /// Reads `<project>/upkeep.toml`; defaults when it or its `[upgrade]` table is missing.
    pub fn read(project: &Path) -> Result<Self, SettingsError> {
        let path = project.join(SETTINGS_FILE);
        let Ok(text) = fs_err::read_to_string(&path) else {
            return Ok(Self::default());
        };
        Self::parse(&text, &path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Self, SettingsError> {
        let file: SettingsFile = toml::from_str(text).map_err(|error| SettingsError {
            path: path.to_path_buf(),
            line: None,
            // The error quotes the line, which may hold a URL with a password in it.
            message: upkeep_forge::remote::redact_userinfo(
                &error.to_string().trim().replace('\n', " "),
            ),
        })?;
        let mut settings = file.upgrade.unwrap_or_default();
        // A schedule cron cannot read would otherwise only show when a scheduler reads it.
        if let Err(error) = Schedule::parse(&settings.schedule) {
            let line = toml::from_str::<ScheduleSpan>(text)
                .ok()
                .and_then(|spans| spans.upgrade?.schedule)
                .map(|schedule| line_of(text, schedule.span().start));
            return Err(SettingsError {
                path: path.to_path_buf(),
                line,
                message: format!(
                    "[upgrade] schedule `{}` is not a cron expression: {}",
                    error.expression, error.reason
                ),
            });
        }
        let base = path.parent().unwrap_or(Path::new(""));
        if let Some(advisories) = &settings.advisories
            && advisories.is_relative()
        {
            settings.advisories = Some(base.join(advisories));
        }
        settings.manifests = settings
            .manifests
            .map(|manifests| manifests.relative_to(base));
        Ok(settings)
    }

    /// The group of `package`: the first configured group with a matching pattern, else the
    /// package's vendor.
    pub fn group_of(&self, package: &str) -> String {
        self.groups
            .iter()
            .find(|group| {
                group
                    .packages
                    .iter()
                    .any(|pattern| wildcard_match(pattern, package))
            })
            .map_or_else(
                || package.split('/').next().unwrap_or(package).to_string(),
                |group| group.name.clone(),
            )
    }
}

/// `*` matches any run of characters, everything else itself (case-insensitive, as package
/// names are).
fn wildcard_match(pattern: &str, name: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    let name = name.to_ascii_lowercase();
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let mut rest = name.as_str();
    for (index, part) in parts.iter().enumerate() {
        if index == 0 {
            let Some(stripped) = rest.strip_prefix(part) else {
                return false;
            };
            rest = stripped;
        } else if index == parts.len() - 1 {
            return rest.ends_with(part);
        } else if let Some(found) = rest.find(part) {
            rest = &rest[found + part.len()..];
        } else {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_groups() {
        let settings = UpgradeSettings::parse(
            "[gate]\nrules = []\n[upgrade]\nmax-minor = 3\n[[upgrade.groups]]\nname = \"spryker\"\npackages = [\"spryker/*\", \"spryker-shop/*\"]\n",
            Path::new("upkeep.toml"),
        )
        .unwrap();
        assert_eq!(settings.max_minor, 3);
        assert_eq!(settings.max_patch, 30);
        assert_eq!(settings.schedule, "0 8 * * MON");
        assert_eq!(settings.group_of("spryker/kernel"), "spryker");
        assert_eq!(settings.group_of("Spryker-Shop/cart-page"), "spryker");
        assert_eq!(settings.group_of("symfony/console"), "symfony");
    }

    #[test]
    fn manifests_are_a_directory_or_an_archive_relative_to_the_file_or_a_url() {
        let read = |value: &str| {
            UpgradeSettings::parse(
                &format!("[upgrade]\nmanifests = \"{value}\"\n"),
                Path::new("/shop/upkeep.toml"),
            )
            .map(|settings| settings.manifests)
        };
        assert_eq!(
            read("integrator-manifests").unwrap(),
            Some(ManifestSource::Path("/shop/integrator-manifests".into()))
        );
        assert_eq!(
            read("../manifests.tar.gz").unwrap(),
            Some(ManifestSource::Path("/shop/../manifests.tar.gz".into()))
        );
        assert_eq!(
            read("https://example.org/integrator-manifests-master.zip").unwrap(),
            Some(ManifestSource::Url(
                "https://example.org/integrator-manifests-master.zip".into()
            ))
        );
        let error = read("ftp://bot:s3cret@example.org/m.zip").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("`ftp://example.org/m.zip` is neither a directory"),
            "{error}"
        );
        // Nor in the line the TOML error quotes.
        assert!(!error.to_string().contains("s3cret"), "{error}");
        assert!(
            error.to_string().contains("ftp://***@example.org"),
            "{error}"
        );
    }

    #[test]
    fn unknown_keys_are_errors_naming_the_file() {
        let error = UpgradeSettings::parse("[upgrade]\nmax-minors = 3\n", Path::new("upkeep.toml"))
            .unwrap_err();
        assert!(error.to_string().starts_with("upkeep.toml: "), "{error}");
        assert!(error.to_string().contains("max-minors"), "{error}");
        assert_eq!(
            upkeep_hint::Hint::hint(&error).as_deref(),
            Some("fix the [upgrade] table of upkeep.toml")
        );
    }

    #[test]
    fn a_bad_schedule_is_an_error_naming_the_file_the_line_and_the_field() {
        let error = UpgradeSettings::parse(
            "[gate]\nrules = []\n\n[upgrade]\nmax-minor = 3\nschedule = \"0 8 * * MONDAY\"\n",
            Path::new("shop/upkeep.toml"),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "shop/upkeep.toml:6: [upgrade] schedule `0 8 * * MONDAY` is not a cron expression: day of week: `MONDAY` is not a number"
        );
        let error = UpgradeSettings::parse(
            "[upgrade]\nschedule = \"0 25 * *\"\n",
            Path::new("upkeep.toml"),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "upkeep.toml:2: [upgrade] schedule `0 25 * *` is not a cron expression: expected 5 fields (minute hour day-of-month month day-of-week), found 4"
        );
        let error = UpgradeSettings::parse(
            "[upgrade]\nschedule = \"0 25 * * *\"\n",
            Path::new("upkeep.toml"),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "upkeep.toml:2: [upgrade] schedule `0 25 * * *` is not a cron expression: hour: 25 is outside 0-23"
        );
        // The near miss: a valid one with names, ranges and steps.
        let settings = UpgradeSettings::parse(
            "[upgrade]\nschedule = \"*/30 6-18 * JAN-DEC MON-FRI\"\n",
            Path::new("upkeep.toml"),
        )
        .unwrap();
        assert_eq!(settings.schedule, "*/30 6-18 * JAN-DEC MON-FRI");
    }

    #[test]
    fn overrides_win_where_they_are_set() {
        let mut settings = UpgradeSettings::parse(
            "[upgrade]\nmax-minor = 3\nmax-patch = 4\nreviewers = [\"alice\"]\n",
            Path::new("upkeep.toml"),
        )
        .unwrap();
        SettingsOverrides {
            max_minor: Some(7),
            reviewers: Some(Vec::new()),
            base_branch: Some("develop".into()),
            ..SettingsOverrides::default()
        }
        .apply(&mut settings);
        assert_eq!(
            (settings.max_minor, settings.max_patch, settings.max_groups),
            (7, 4, 30)
        );
        assert!(settings.reviewers.is_empty());
        assert_eq!(settings.base_branch.as_deref(), Some("develop"));
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("spryker/*", "spryker/kernel"));
        assert!(wildcard_match("*/kernel", "spryker/kernel"));
        assert!(wildcard_match("sp*er/k*l", "spryker/kernel"));
        assert!(!wildcard_match("spryker/*", "spryker-shop/kernel"));
        assert!(wildcard_match("symfony/console", "symfony/console"));
    }
}
