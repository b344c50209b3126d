//! `php-version`: PHP versions that are not allowed or disagree across the project.

use std::process::Command;
use std::sync::LazyLock;

use regex::Regex;
use upkeep_composer::{Constraint, Version};

use crate::finding::{Finding, Location};
use crate::rule::{Category, Example, ProjectScope, Rule, RuleMeta, Sink};
use crate::rules::packages::json_position;

pub struct PhpVersion;

/// The PHP majors Spryker supports.
const ALLOWED_MAJOR: u64 = 8;

pub static META: RuleMeta = RuleMeta {
    name: "php-version",
    spryker_ids: &["PHP_VERSION_CHECKER"],
    category: Category::Packages,
    summary: "PHP versions that are not allowed (PHP 8 only) or disagree across composer.json, deploy files and the running PHP.",
    documentation: "\
## What it finds
Where the project states a PHP version, every statement must allow PHP 8 only and all must agree:
- `composer.json` `require.php`, a constraint: it must not allow PHP 7 (or older), must allow some
  PHP 8, and must allow every version below;
- `composer.json` `config.platform.php`, the version Composer resolves dependencies for;
- the image of each `deploy*.yml` file (`image.tag: spryker/php:8.2` or
  `image: spryker/php:8.2-alpine3.18`): the PHP version in the tag;
- the running PHP: `PROJECT_PHP_VERSION` or the `php-version` setting when given, else what
  `php -r 'echo PHP_VERSION;'` prints when `php` is on the `PATH`. Without either, a notice says
  that it was not checked.

Versions agree when their major and minor match. The reference is `config.platform.php` when it
is set, else the running PHP, else the first deploy file; a version that differs from it is
reported where it is written. A constraint with an open upper end (`>=8.2`) is fine: it allows
PHP 9 only in theory. A deploy file that cannot be parsed is reported as a `parse-error`.

## Why it matters
Composer resolves packages for one PHP version, the images run another and CI a third: code that
passes CI breaks in production, and Spryker's updates, which require PHP 8, cannot be installed.

## Example
```json
{
    \"require\": {
        \"php\": \">=7.4\"
    }
}
```
```yaml
image:
    tag: spryker/php:8.1
```

## Instead
```json
{
    \"require\": {
        \"php\": \">=8.2\"
    },
    \"config\": {
        \"platform\": {\"php\": \"8.2.12\"}
    }
}
```
```yaml
image:
    tag: spryker/php:8.2
```

## Fix
Choose one PHP 8 version, then state it everywhere: `require.php` (e.g. `>=8.2`),
`config.platform.php`, the image tag of every deploy file, and the PHP of CI.

## Configuration
```toml
[gate]
php-version = \"8.2\"   # the PHP to check against instead of running `php`
```
The environment variable `PROJECT_PHP_VERSION` wins over the setting.

## Spryker id
`PHP_VERSION_CHECKER`
",
    bad_example: Example {
        files: &[(
            "composer.json",
            "{\n    \"require\": {\n        \"php\": \">=7.4\"\n    }\n}\n",
        )],
    },
    good_example: Example {
        files: &[
            (
                "composer.json",
                "{\n    \"require\": {\n        \"php\": \">=8.2\"\n    },\n    \"config\": {\n        \"platform\": {\"php\": \"8.2.12\"}\n    }\n}\n",
            ),
            ("deploy.yml", "image:\n    tag: spryker/php:8.2\n"),
            ("upkeep.toml", "[gate]\nphp-version = \"8.2.12\"\n"),
        ],
    },
    guideline: "https://docs.spryker.com/docs/dg/dev/guidelines/keeping-a-project-upgradable/upgradability-guidelines/php-version.html",
    needs_core: false,
};

/// A PHP version stated somewhere, with where (the running PHP is stated nowhere).
struct Stated {
    /// True for `config.platform.php`, the version Composer resolves for.
    is_platform: bool,
    /// How a message names it, e.g. "composer.json config.platform.php" or "deploy.yml".
    source: String,
    version: Version,
    /// True when only major and minor are known (image tags): the version stands for its line.
    minor_only: bool,
    location: Option<Location>,
}

impl Stated {
    fn major_minor(&self) -> (Option<u64>, Option<u64>) {
        (self.version.major(), self.version.minor())
    }

    fn shown(&self) -> String {
        match self.major_minor() {
            (Some(major), Some(minor)) if self.minor_only => format!("{major}.{minor}"),
            _ => self.version.pretty().to_string(),
        }
    }

    /// True when the constraint allows this version (for a minor line: some version of it).
    fn satisfies(&self, constraint: &Constraint) -> bool {
        if !self.minor_only {
            return constraint.matches(&self.version);
        }
        let (Some(major), Some(minor)) = self.major_minor() else {
            return false;
        };
        [0, 999].into_iter().any(|patch| {
            Version::parse(&format!("{major}.{minor}.{patch}"))
                .is_ok_and(|version| constraint.matches(&version))
        })
    }
}

impl Rule for PhpVersion {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_project(&self, project: &ProjectScope<'_>, sink: &mut Sink) {
        let mut stated = Vec::new();
        let require = composer_statements(project, &mut stated, sink);
        deploy_statements(project, &mut stated, sink);
        let running = running_php(project, sink);
        if require.is_none() && stated.is_empty() {
            sink.notice(
                &META,
                "neither composer.json nor a deploy*.yml file states a PHP version: nothing to check",
            );
            return;
        }
        // Where a problem of the running PHP is reported: it is written nowhere, so at the first
        // statement it is compared with.
        let anchor = require
            .as_ref()
            .map(|(_, location)| location.clone())
            .or_else(|| stated.iter().find_map(|stated| stated.location.clone()));

        for version in stated.iter().chain(&running) {
            if version.version.major() != Some(ALLOWED_MAJOR) {
                let location = version.location.clone().or_else(|| anchor.clone());
                push(
                    sink,
                    location,
                    format!(
                        "{} uses PHP {}, which is not allowed: Spryker supports PHP {ALLOWED_MAJOR} only",
                        version.source,
                        version.shown()
                    ),
                );
            }
        }

        if let Some((constraint, location)) = &require {
            check_constraint(constraint, location, &stated, running.as_ref(), sink);
        }

        // Versions agree with the reference: platform.php, else the running PHP, else the first
        // deploy file.
        let allowed = |version: &&Stated| version.version.major() == Some(ALLOWED_MAJOR);
        let platform = stated
            .iter()
            .filter(allowed)
            .find(|version| version.is_platform);
        let reference = platform
            .or(running.as_ref().filter(allowed))
            .or_else(|| stated.iter().find(allowed));
        let Some(reference) = reference else {
            return;
        };
        for version in stated.iter().chain(&running).filter(allowed) {
            if std::ptr::eq(version, reference) || version.major_minor() == reference.major_minor()
            {
                continue;
            }
            // The running PHP is written nowhere: its disagreement is reported at the reference.
            let location = version
                .location
                .clone()
                .or_else(|| reference.location.clone());
            push(
                sink,
                location,
                format!(
                    "{} uses PHP {}, but {} uses PHP {}; state the same PHP version everywhere",
                    version.source,
                    version.shown(),
                    reference.source,
                    reference.shown()
                ),
            );
        }
    }
}

fn push(sink: &mut Sink, location: Option<Location>, message: String) {
    let location = location.unwrap_or_else(|| Location::whole_file("composer.json"));
    sink.push(Finding::new(&META, location, message));
}

/// Reads `require.php` (returned, as it is a constraint) and `config.platform.php` (added to
/// `stated`); reports values Composer would reject.
fn composer_statements(
    project: &ProjectScope<'_>,
    stated: &mut Vec<Stated>,
    sink: &mut Sink,
) -> Option<(Constraint, Location)> {
    let manifest = match project.manifests.composer_json()? {
        Ok(manifest) => manifest,
        Err(error) => {
            project.manifests.report_unreadable(&META, error, sink);
            return None;
        }
    };
    let file = project.manifests.composer_json.as_ref()?;
    let location_of = |path: &[&str]| {
        json_position::find_member(&file.text, path).map_or_else(
            || Location::whole_file(&file.path),
            |member| file.location(member.value),
        )
    };
    if let Some(platform) = &manifest.platform_php {
        let location = location_of(&["config", "platform", "php"]);
        match Version::parse(platform) {
            Ok(version) => stated.push(Stated {
                is_platform: true,
                source: "composer.json config.platform.php".to_string(),
                version,
                minor_only: false,
                location: Some(location),
            }),
            Err(error) => sink.push(Finding::new(
                &META,
                location,
                format!(
                    "composer.json config.platform.php \"{platform}\" is not a version: {error}"
                ),
            )),
        }
    }
    let written = manifest.require.get("php")?;
    let location = location_of(&["require", "php"]);
    match Constraint::parse(written) {
        Ok(constraint) => Some((constraint, location)),
        Err(error) => {
            sink.push(Finding::new(
                &META,
                location,
                format!("composer.json require.php: {error}"),
            ));
            None
        }
    }
}

/// Adds the PHP version of each deploy file's image to `stated`.
fn deploy_statements(project: &ProjectScope<'_>, stated: &mut Vec<Stated>, sink: &mut Sink) {
    for deploy in project.manifests.deploy_images() {
        let path = &deploy.file.path;
        match deploy.image {
            Err(error) => project.manifests.report_unreadable(&META, error, sink),
            Ok(None) => sink.notice(&META, format!("{path} declares no image (`image.tag` or `image` as a string): it was not checked")),
            Ok(Some(image)) => match php_version_of_image(&image.reference) {
                Some(version) => stated.push(Stated {
                    is_platform: false,
                    source: path.clone(),
                    version,
                    minor_only: true,
                    location: Some(deploy.file.location(image.span)),
                }),
                None => sink.notice(
                    &META,
                    format!(
                        "{path}: the image `{}` names no PHP version in its tag (e.g. spryker/php:8.2): it was not checked",
                        image.reference
                    ),
                ),
            },
        }
    }
}

/// The PHP version in an image tag: `spryker/php:8.2-alpine3.18` gives 8.2.
fn php_version_of_image(reference: &str) -> Option<Version> {
    static VERSION_IN_TAG: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?:^|[^0-9.])(\d{1,2}\.\d{1,2})(?:[^0-9.]|$)")
            .unwrap_or_else(|error| panic!("{error}"))
    });
    let (name, tag) = reference.rsplit_once(':')?;
    // `registry:5000/spryker/php` has a port, not a tag.
    if tag.contains('/') || name.is_empty() {
        return None;
    }
    let version = VERSION_IN_TAG.captures(tag)?.get(1)?.as_str();
    Version::parse(version).ok()
}

/// The numbers at the start of a PHP version as PHP prints it.
static LEADING_VERSION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*v?(\d+(?:\.\d+){0,2})").unwrap_or_else(|error| panic!("{error}"))
});

/// The running PHP: the setting (`PROJECT_PHP_VERSION`, `php-version`), else `php` on the PATH.
fn running_php(project: &ProjectScope<'_>, sink: &mut Sink) -> Option<Stated> {
    let (source, written) = if let Some(version) = &project.settings.php_version {
        (
            "the project PHP (PROJECT_PHP_VERSION or the php-version setting)",
            version.clone(),
        )
    } else {
        match Command::new("php")
            .args(["-r", "echo PHP_VERSION;"])
            .current_dir(project.root)
            .output()
        {
            Ok(output) if output.status.success() => (
                "the running PHP",
                String::from_utf8_lossy(&output.stdout).trim().to_string(),
            ),
            Ok(output) => {
                sink.notice(
                    &META,
                    format!(
                        "`php -r 'echo PHP_VERSION;'` failed ({}): the running PHP was not checked",
                        String::from_utf8_lossy(&output.stderr).trim()
                    ),
                );
                return None;
            }
            Err(_) => {
                sink.notice(
                    &META,
                    "`php` is not on the PATH and PROJECT_PHP_VERSION is not set: the running PHP was not checked",
                );
                return None;
            }
        }
    };
    // PHP_VERSION may carry a distribution suffix (`8.2.7-1ubuntu2`); the numbers are enough.
    let Some(version) = LEADING_VERSION
        .captures(&written)
        .and_then(|captures| captures.get(1))
        .and_then(|numbers| Version::parse(numbers.as_str()).ok())
    else {
        sink.notice(
            &META,
            format!("{source} \"{written}\" is not a PHP version: it was not checked"),
        );
        return None;
    };
    let minor_only = version.pretty().matches('.').count() < 2;
    Some(Stated {
        is_platform: false,
        source: source.to_string(),
        version,
        minor_only,
        location: None,
    })
}

/// `require.php` must not allow PHP 7 or older, must allow some PHP 8, and must allow every
/// stated version.
fn check_constraint(
    constraint: &Constraint,
    location: &Location,
    stated: &[Stated],
    running: Option<&Stated>,
    sink: &mut Sink,
) {
    let written = constraint.pretty();
    let allows = |major: u64, minor: u64| {
        [0, 999].into_iter().any(|patch| {
            Version::parse(&format!("{major}.{minor}.{patch}"))
                .is_ok_and(|version| constraint.matches(&version))
        })
    };
    let old = [
        (7, 4),
        (7, 3),
        (7, 2),
        (7, 1),
        (7, 0),
        (5, 6),
        (5, 5),
        (5, 4),
        (5, 3),
    ]
    .into_iter()
    .find(|&(major, minor)| allows(major, minor));
    if let Some((major, minor)) = old {
        sink.push(Finding::new(
            &META,
            location.clone(),
            format!(
                "composer.json require.php \"{written}\" allows PHP {major}.{minor}, which is not allowed: require PHP {ALLOWED_MAJOR} only (e.g. \">=8.2\")"
            ),
        ));
    } else if !(0..=9).any(|minor| allows(ALLOWED_MAJOR, minor)) {
        sink.push(Finding::new(
            &META,
            location.clone(),
            format!(
                "composer.json require.php \"{written}\" allows no PHP {ALLOWED_MAJOR} version: require PHP {ALLOWED_MAJOR} (e.g. \">=8.2\")"
            ),
        ));
        return;
    }
    for version in stated.iter().chain(running) {
        if version.version.major() != Some(ALLOWED_MAJOR) || version.satisfies(constraint) {
            continue;
        }
        // The running PHP is written nowhere: the constraint is where to look.
        let at = version.location.clone().unwrap_or_else(|| location.clone());
        sink.push(Finding::new(
            &META,
            at,
            format!(
                "{} uses PHP {}, which composer.json require.php \"{written}\" does not allow",
                version.source,
                version.shown()
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::packages::test_support::{findings, notices, run_rules};

    #[test]
    fn versions_in_image_tags() {
        let version = |reference| php_version_of_image(reference).map(|v| v.pretty().to_string());
        assert_eq!(version("spryker/php:8.2").as_deref(), Some("8.2"));
        assert_eq!(
            version("spryker/php:8.3-alpine3.20").as_deref(),
            Some("8.3")
        );
        assert_eq!(
            version("registry.example.com:5000/spryker/php:7.4-debian").as_deref(),
            Some("7.4")
        );
        assert_eq!(version("spryker/php:latest"), None);
        assert_eq!(version("registry:5000/spryker/php"), None);
        assert_eq!(version("acme/shop-php:2024.1"), None);
        assert_eq!(version("spryker/php"), None);
    }

    const PINNED: (&str, &str) = ("upkeep.toml", "[gate]\nphp-version = \"8.2.10\"\n");

    #[test]
    fn everything_agreeing_on_php_8_is_clean() {
        let report = run_rules(
            &["php-version"],
            &[
                PINNED,
                (
                    "composer.json",
                    "{\"require\": {\"php\": \"~8.2.0\"}, \"config\": {\"platform\": {\"php\": \"8.2.12\"}}}",
                ),
                ("deploy.yml", "image:\n  tag: spryker/php:8.2-alpine3.18\n"),
                ("deploy.dev.yml", "image: spryker/php:8.2\n"),
            ],
        );
        assert_eq!(findings(&report), Vec::<String>::new());
        assert_eq!(notices(&report, "php-version"), Vec::<String>::new());
    }

    #[test]
    fn reports_each_problem_where_it_is_written() {
        let report = run_rules(
            &["php-version"],
            &[
                PINNED,
                (
                    "composer.json",
                    "{\n  \"require\": {\n    \"php\": \">=7.4\"\n  },\n  \"config\": {\"platform\": {\"php\": \"8.2.12\"}}\n}\n",
                ),
                ("deploy.yml", "image:\n  tag: spryker/php:8.3\n"),
                ("deploy.ci.yml", "image: spryker/php:7.4\n"),
            ],
        );
        assert_eq!(
            findings(&report),
            [
                "php-version composer.json:3: composer.json require.php \">=7.4\" allows PHP 7.4, which is not allowed: require PHP 8 only (e.g. \">=8.2\")",
                "php-version deploy.ci.yml:1: deploy.ci.yml uses PHP 7.4, which is not allowed: Spryker supports PHP 8 only",
                "php-version deploy.yml:2: deploy.yml uses PHP 8.3, but composer.json config.platform.php uses PHP 8.2.12; state the same PHP version everywhere",
            ]
        );
        let tag = report
            .findings
            .iter()
            .find(|finding| finding.location.file == "deploy.yml")
            .unwrap();
        assert_eq!(tag.location.start.column, 8);
    }

    #[test]
    fn the_running_php_is_compared_and_reported_at_the_reference() {
        let report = run_rules(
            &["php-version"],
            &[
                ("upkeep.toml", "[gate]\nphp-version = \"8.3.1\"\n"),
                (
                    "composer.json",
                    "{\n  \"require\": {\"php\": \"~8.2.0\"}\n}\n",
                ),
                ("deploy.yml", "image:\n  tag: spryker/php:8.2\n"),
            ],
        );
        assert_eq!(
            findings(&report),
            [
                "php-version composer.json:2: the project PHP (PROJECT_PHP_VERSION or the php-version setting) uses PHP 8.3.1, which composer.json require.php \"~8.2.0\" does not allow",
                "php-version deploy.yml:2: deploy.yml uses PHP 8.2, but the project PHP (PROJECT_PHP_VERSION or the php-version setting) uses PHP 8.3.1; state the same PHP version everywhere",
            ]
        );
    }

    #[test]
    fn a_constraint_without_php_8_is_reported() {
        let report = run_rules(
            &["php-version"],
            &[
                PINNED,
                ("composer.json", "{\"require\": {\"php\": \"^9.0\"}}"),
            ],
        );
        assert_eq!(
            findings(&report),
            [
                "php-version composer.json:1: composer.json require.php \"^9.0\" allows no PHP 8 version: require PHP 8 (e.g. \">=8.2\")"
            ]
        );
    }

    #[test]
    fn malformed_deploy_yaml_is_a_parse_error_and_other_files_are_still_checked() {
        let report = run_rules(
            &["php-version", "parse-error"],
            &[
                PINNED,
                ("composer.json", "{\"require\": {\"php\": \">=8.2\"}}"),
                ("deploy.yml", "image:\n  tag: [spryker/php:8.2\n"),
                ("deploy.ci.yml", "image: spryker/php:7.4\n"),
            ],
        );
        let found = findings(&report);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].starts_with("php-version deploy.ci.yml:1: "),
            "{found:?}"
        );
        assert!(found[1].starts_with("parse-error deploy.yml:"), "{found:?}");
        assert!(found[1].contains("invalid YAML"), "{found:?}");
    }

    #[test]
    fn without_a_php_version_the_running_php_is_a_notice_or_checked() {
        let report = run_rules(
            &["php-version"],
            &[("composer.json", "{\"require\": {\"php\": \">=8.2\"}}")],
        );
        let php_available = Command::new("php").arg("-v").output().is_ok();
        if !php_available {
            assert_eq!(
                notices(&report, "php-version"),
                [
                    "`php` is not on the PATH and PROJECT_PHP_VERSION is not set: the running PHP was not checked"
                ]
            );
        }
    }
}
