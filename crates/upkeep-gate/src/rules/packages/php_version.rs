//! `php-version`: PHP versions that are not allowed or disagree across the project.

use std::sync::LazyLock;

use regex::Regex;
use upkeep_composer::{Constraint, Version};

use crate::finding::{Finding, Location, Severity};
use crate::inputs::DeployFileFacts;
use crate::manifests::location_of_value;
use crate::rule::{Category, Example, ProjectScope, Rule, RuleMeta, Sink};
use crate::rules::packages::json_position;

pub struct PhpVersion;

/// The PHP majors Spryker supports.
const ALLOWED_MAJOR: u64 = 8;

pub static META: RuleMeta = RuleMeta {
    name: "php-version",
    spryker_ids: &["PHP_VERSION_CHECKER"],
    category: Category::Packages,
    summary: "PHP versions that are not allowed (PHP 8 only), or deploy images and the host PHP older than the PHP Composer resolves for.",
    documentation: "\
## What it finds
Where the project states a PHP version, every statement must allow PHP 8 only, and nothing may
run an older PHP than the one Composer resolves dependencies for:
- `composer.json` `require.php`, a constraint: it must not allow PHP 7 (or older), must allow some
  PHP 8, and must allow every version below;
- `composer.json` `config.platform.php`, the version Composer resolves dependencies for (the
  reference);
- the image of each `deploy*.yml` file at the project root (`image.tag: spryker/php:8.3` or
  `image: spryker/php:8.3-alpine3.20`), read **with its `imports`** (files next to it or in
  `config/deploy-templates/`; the first definition wins), so an image set in a template counts;
- the host PHP, when it is given: `upkeep gate --php-version 8.3.13`, `PROJECT_PHP_VERSION`, or
  `php-version` in `upkeep.toml`. The gate never runs `php` itself: a verdict does not depend on
  the machine that computes it.

As Spryker's `PHP_VERSION_CHECKER` does, versions are compared by their major: a different major
(anything but PHP 8) is an error. A deploy image or host PHP with a **newer** minor than
`config.platform.php` is fine (Spryker's shops resolve for the lowest supported PHP and run newer
images, e.g. `spryker/php:8.4` with platform 8.3.13); an **older** minor is a warning, as
packages resolved for the newer PHP may need what the older lacks. Without
`config.platform.php`, the host PHP is the reference. Each distinct version is reported once,
at its first statement, naming every deploy file that uses it. A constraint with an open upper
end (`>=8.2`) is fine. A deploy file that cannot be read (syntax, a missing import) is reported
as a `parse-error`.

## Why it matters
Composer resolves packages for one PHP version, the images run another and CI a third: code that
passes CI breaks in production, and Spryker's updates, which require PHP 8, cannot be installed.

## Example
```json
{
    \"require\": {
        \"php\": \">=7.4\"
    },
    \"config\": {
        \"platform\": {\"php\": \"8.3.13\"}
    }
}
```
```yaml
image:
    tag: spryker/php:8.2
```

## Instead
```json
{
    \"require\": {
        \"php\": \">=8.3\"
    },
    \"config\": {
        \"platform\": {\"php\": \"8.3.13\"}
    }
}
```
```yaml
image:
    tag: spryker/php:8.4
```

## Fix
Choose the lowest PHP 8 version the shop supports and state it in `require.php` (e.g. `>=8.3`)
and `config.platform.php`; use images and a CI PHP of that version or newer.

## Configuration
```toml
[gate]
php-version = \"8.3.13\"   # the host PHP to compare too (also --php-version, PROJECT_PHP_VERSION)
```
The command line wins over the environment variable, which wins over the setting. Without any
of them the host PHP is not compared (no `php` program is run).

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
                "{\n    \"require\": {\n        \"php\": \">=8.3\"\n    },\n    \"config\": {\n        \"platform\": {\"php\": \"8.3.13\"}\n    }\n}\n",
            ),
            ("deploy.yml", "image:\n    tag: spryker/php:8.4\n"),
            ("upkeep.toml", "[gate]\nphp-version = \"8.4.1\"\n"),
        ],
    },
    guideline: "https://docs.spryker.com/docs/dg/dev/guidelines/keeping-a-project-upgradable/upgradability-guidelines/php-version.html",
    needs_core: false,
};

/// A PHP version stated somewhere, with where (the host PHP is stated nowhere).
struct Stated {
    /// True for `config.platform.php`, the version Composer resolves for.
    is_platform: bool,
    /// How a message names it, e.g. "composer.json config.platform.php" or "deploy.yml and
    /// deploy.dev.yml".
    source: String,
    /// True when the source names several files (for the verb).
    plural: bool,
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

    fn minor_line(&self) -> String {
        match self.major_minor() {
            (Some(major), Some(minor)) => format!("{major}.{minor}"),
            _ => self.version.pretty().to_string(),
        }
    }

    fn uses(&self) -> &'static str {
        if self.plural { "use" } else { "uses" }
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
        let host = host_php(project, sink);
        if require.is_none() && stated.is_empty() {
            sink.notice(
                &META,
                "neither composer.json nor a deploy*.yml file states a PHP version: nothing to check",
            );
            return;
        }
        // Where a problem of the host PHP is reported: it is written nowhere, so at the first
        // statement it is compared with.
        let anchor = require
            .as_ref()
            .map(|(_, location)| location.clone())
            .or_else(|| stated.iter().find_map(|stated| stated.location.clone()));

        // A different major than PHP 8 is an error whatever the rest says.
        for version in stated.iter().chain(&host) {
            if version.version.major() != Some(ALLOWED_MAJOR) {
                let location = version.location.clone().or_else(|| anchor.clone());
                push(
                    sink,
                    location,
                    Severity::Error,
                    format!(
                        "{} {} PHP {}, which is not allowed: Spryker supports PHP {ALLOWED_MAJOR} only",
                        version.source,
                        version.uses(),
                        version.shown()
                    ),
                );
            }
        }

        if let Some((constraint, location)) = &require {
            check_constraint(constraint, location, &stated, host.as_ref(), sink);
        }

        // Nothing may run an older minor than the reference: platform.php, else the host PHP.
        let allowed = |version: &&Stated| version.version.major() == Some(ALLOWED_MAJOR);
        let platform = stated
            .iter()
            .filter(allowed)
            .find(|version| version.is_platform);
        let Some(reference) = platform.or(host.as_ref().filter(allowed)) else {
            return;
        };
        for version in stated.iter().chain(&host).filter(allowed) {
            let outside_require = require
                .as_ref()
                .is_some_and(|(constraint, _)| !version.satisfies(constraint));
            // A version require.php does not allow is already an error: one finding is enough.
            if std::ptr::eq(version, reference)
                || version.major_minor() >= reference.major_minor()
                || outside_require
            {
                continue;
            }
            // The host PHP is written nowhere: its disagreement is reported at the reference.
            let location = version
                .location
                .clone()
                .or_else(|| reference.location.clone());
            push(
                sink,
                location,
                Severity::Warning,
                format!(
                    "{} {} PHP {}, older than PHP {} of {}: packages resolved for PHP {} may need what PHP {} lacks; run PHP {} or newer",
                    version.source,
                    version.uses(),
                    version.shown(),
                    reference.shown(),
                    reference.source,
                    reference.minor_line(),
                    version.minor_line(),
                    reference.minor_line(),
                ),
            );
        }
    }
}

fn push(sink: &mut Sink, location: Option<Location>, severity: Severity, message: String) {
    let location = location.unwrap_or_else(|| Location::whole_file("composer.json"));
    let mut finding = Finding::new(&META, location, message);
    finding.severity = severity;
    sink.push(finding);
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
    let positions = json_position::JsonPositions::of(&file.text);
    let location_of = |path: &[&str]| {
        positions.member(path).map_or_else(
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
                plural: false,
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

/// Adds the PHP versions of the deploy files' images to `stated`: one statement per distinct
/// version, at its first definition, naming every deploy file that uses it.
fn deploy_statements(project: &ProjectScope<'_>, stated: &mut Vec<Stated>, sink: &mut Sink) {
    let Some(deploy_files) = &project.inputs.deploy_files else {
        if !project.manifests.deploy_file_names.is_empty() {
            sink.notice(
                &META,
                format!(
                    "the deploy files ({}) were not given to the gate, so their images were not checked (`upkeep gate` reads them with their imports)",
                    project.manifests.deploy_file_names.join(", ")
                ),
            );
        }
        return;
    };
    let mut versions: Vec<ImageVersion<'_>> = Vec::new();
    for DeployFileFacts { file, image } in deploy_files {
        match image {
            Err(problem) => sink.notice(
                &META,
                format!(
                    "{file} cannot be read ({}); its image was not checked",
                    problem.message
                ),
            ),
            Ok(None) => sink.notice(
                &META,
                format!("{file} declares no image (`image.tag` or `image` as a string): it was not checked"),
            ),
            Ok(Some(image)) => match php_version_of_image(&image.reference) {
                Some(version) => {
                    let line = (version.major(), version.minor());
                    if let Some(entry) = versions.iter_mut().find(|entry| entry.line == line) {
                        entry.files.push(file);
                    } else {
                        let location =
                            location_of_value(project.root, &image.defined_at, &image.reference);
                        versions.push(ImageVersion {
                            line,
                            version,
                            files: vec![file],
                            location,
                        });
                    }
                }
                None => sink.notice(
                    &META,
                    format!(
                        "{file}: the image `{}` names no PHP version in its tag (e.g. spryker/php:8.3): it was not checked",
                        image.reference
                    ),
                ),
            },
        }
    }
    for ImageVersion {
        version,
        files,
        location,
        ..
    } in versions
    {
        let source = match files.as_slice() {
            [one] => (*one).to_string(),
            [first @ .., last] => format!("{} and {last}", first.join(", ")),
            [] => continue,
        };
        stated.push(Stated {
            is_platform: false,
            source,
            plural: files.len() > 1,
            version,
            minor_only: true,
            location: Some(location),
        });
    }
}

/// One PHP minor line used by deploy images: the deploy files that use it, and where the first
/// of them defines its image.
struct ImageVersion<'a> {
    line: (Option<u64>, Option<u64>),
    version: Version,
    files: Vec<&'a str>,
    location: Location,
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

/// The host PHP, when the caller or the configuration gives it; never asked of a program.
fn host_php(project: &ProjectScope<'_>, sink: &mut Sink) -> Option<Stated> {
    let written = project.inputs.php_version.as_deref()?;
    let source = "the host PHP";
    // PHP_VERSION may carry a distribution suffix (`8.2.7-1ubuntu2`); the numbers are enough.
    let Some(version) = LEADING_VERSION
        .captures(written)
        .and_then(|captures| captures.get(1))
        .and_then(|numbers| Version::parse(numbers.as_str()).ok())
    else {
        sink.notice(
            &META,
            format!("{source} \"{written}\" (--php-version, PROJECT_PHP_VERSION or php-version) is not a PHP version: it was not checked"),
        );
        return None;
    };
    let minor_only = version.pretty().matches('.').count() < 2;
    Some(Stated {
        is_platform: false,
        source: source.to_string(),
        plural: false,
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
    host: Option<&Stated>,
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
    for version in stated.iter().chain(host) {
        if version.version.major() != Some(ALLOWED_MAJOR) || version.satisfies(constraint) {
            continue;
        }
        // The host PHP is written nowhere: the constraint is where to look.
        let at = version.location.clone().unwrap_or_else(|| location.clone());
        sink.push(Finding::new(
            &META,
            at,
            format!(
                "{} {} PHP {}, which composer.json require.php \"{written}\" does not allow",
                version.source,
                version.uses(),
                version.shown()
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::{DeployFileProblem, DeployImage, GateInputs, SourcePosition};
    use crate::rules::packages::test_support::{findings, notices, run_rules, run_rules_with};

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

    /// The facts of a deploy file whose image is defined at `defined_in:line:column`.
    fn deploy(
        file: &str,
        reference: &str,
        defined_in: &str,
        line: usize,
        column: usize,
    ) -> DeployFileFacts {
        DeployFileFacts {
            file: file.to_string(),
            image: Ok(Some(DeployImage {
                reference: reference.to_string(),
                defined_at: SourcePosition {
                    file: defined_in.to_string(),
                    line,
                    column,
                },
            })),
        }
    }

    fn with_deploy_files(facts: Vec<DeployFileFacts>) -> GateInputs {
        GateInputs {
            deploy_files: Some(facts),
            ..GateInputs::default()
        }
    }

    const PLATFORM_8_3: (&str, &str) = (
        "composer.json",
        "{\n  \"require\": {\"php\": \">=8.3\"},\n  \"config\": {\"platform\": {\"php\": \"8.3.13\"}}\n}\n",
    );

    /// `rule file:line severity`, for checks of where and how loud.
    fn placed(report: &crate::GateReport) -> Vec<String> {
        report
            .findings
            .iter()
            .map(|finding| {
                format!(
                    "{} {}:{}:{} {}",
                    finding.rule.name,
                    finding.location.file,
                    finding.location.start.line,
                    finding.location.start.column,
                    finding.severity
                )
            })
            .collect()
    }

    #[test]
    fn a_newer_image_minor_than_the_platform_passes_as_in_sprykers_checker() {
        let report = run_rules_with(
            &["php-version"],
            &[
                PLATFORM_8_3,
                ("deploy.yml", "image:\n  tag: spryker/php:8.4\n"),
                ("deploy.ci.yml", "image: spryker/php:8.3-alpine3.20\n"),
            ],
            GateInputs {
                php_version: Some("8.4.1".to_string()),
                ..with_deploy_files(vec![
                    deploy(
                        "deploy.ci.yml",
                        "spryker/php:8.3-alpine3.20",
                        "deploy.ci.yml",
                        1,
                        8,
                    ),
                    deploy("deploy.yml", "spryker/php:8.4", "deploy.yml", 2, 8),
                ])
            },
        );
        assert_eq!(findings(&report), Vec::<String>::new());
        assert_eq!(notices(&report, "php-version"), Vec::<String>::new());
    }

    #[test]
    fn an_older_image_minor_warns_once_per_distinct_version() {
        // deploy.yml and deploy.eu.yml import one template; deploy.ci.yml has its own 8.2.
        let template = "config/deploy-templates/base.deploy.yml";
        let report = run_rules_with(
            &["php-version"],
            &[
                (
                    "composer.json",
                    "{\n  \"require\": {\"php\": \">=8.2\"},\n  \"config\": {\"platform\": {\"php\": \"8.3.13\"}}\n}\n",
                ),
                (template, "image:\n    tag: spryker/php:8.2\n"),
                ("deploy.ci.yml", "image: spryker/php:8.2-debian\n"),
                ("deploy.dev.yml", "image: spryker/php:8.4\n"),
            ],
            with_deploy_files(vec![
                deploy(
                    "deploy.ci.yml",
                    "spryker/php:8.2-debian",
                    "deploy.ci.yml",
                    1,
                    8,
                ),
                deploy("deploy.dev.yml", "spryker/php:8.4", "deploy.dev.yml", 1, 8),
                deploy("deploy.eu.yml", "spryker/php:8.2", template, 2, 10),
                deploy("deploy.yml", "spryker/php:8.2", template, 2, 10),
            ]),
        );
        assert_eq!(
            findings(&report),
            [
                "php-version deploy.ci.yml:1: deploy.ci.yml, deploy.eu.yml and deploy.yml use PHP 8.2, older than PHP 8.3.13 of composer.json config.platform.php: packages resolved for PHP 8.3 may need what PHP 8.2 lacks; run PHP 8.3 or newer"
            ]
        );
        assert_eq!(placed(&report), ["php-version deploy.ci.yml:1:8 warning"]);
        assert!(!report.has_errors());
    }

    #[test]
    fn an_image_defined_in_an_imported_template_is_reported_there() {
        let template = "config/deploy-templates/base.deploy.yml";
        let report = run_rules_with(
            &["php-version"],
            &[
                PLATFORM_8_3,
                (template, "image:\n    tag: \"spryker/php:7.4\"\n"),
                ("deploy.yml", "imports:\n    base.deploy.yml:\n"),
            ],
            with_deploy_files(vec![deploy(
                "deploy.yml",
                "spryker/php:7.4",
                template,
                2,
                10,
            )]),
        );
        assert_eq!(
            findings(&report),
            [
                "php-version config/deploy-templates/base.deploy.yml:2: deploy.yml uses PHP 7.4, which is not allowed: Spryker supports PHP 8 only",
            ]
        );
        let location = &report.findings[0].location;
        assert_eq!((location.start.column, location.end.column), (11, 26));
    }

    #[test]
    fn reports_each_problem_where_it_is_written() {
        let report = run_rules_with(
            &["php-version"],
            &[
                (
                    "composer.json",
                    "{\n  \"require\": {\n    \"php\": \">=7.4\"\n  },\n  \"config\": {\"platform\": {\"php\": \"8.2.12\"}}\n}\n",
                ),
                ("deploy.yml", "image:\n  tag: spryker/php:8.1\n"),
                ("deploy.ci.yml", "image: spryker/php:7.4\n"),
            ],
            with_deploy_files(vec![
                deploy("deploy.ci.yml", "spryker/php:7.4", "deploy.ci.yml", 1, 8),
                deploy("deploy.yml", "spryker/php:8.1", "deploy.yml", 2, 8),
            ]),
        );
        assert_eq!(
            findings(&report),
            [
                "php-version composer.json:3: composer.json require.php \">=7.4\" allows PHP 7.4, which is not allowed: require PHP 8 only (e.g. \">=8.2\")",
                "php-version deploy.ci.yml:1: deploy.ci.yml uses PHP 7.4, which is not allowed: Spryker supports PHP 8 only",
                "php-version deploy.yml:2: deploy.yml uses PHP 8.1, older than PHP 8.2.12 of composer.json config.platform.php: packages resolved for PHP 8.2 may need what PHP 8.1 lacks; run PHP 8.2 or newer",
            ]
        );
        assert_eq!(
            placed(&report),
            [
                "php-version composer.json:3:12 error",
                "php-version deploy.ci.yml:1:8 error",
                "php-version deploy.yml:2:8 warning",
            ]
        );
    }

    #[test]
    fn the_host_php_is_compared_when_given_and_reported_at_the_reference() {
        let files = [PLATFORM_8_3];
        let host = |version: &str| GateInputs {
            php_version: Some(version.to_string()),
            ..GateInputs::default()
        };
        let older = run_rules_with(&["php-version"], &files, host("8.2.7-1ubuntu2"));
        assert_eq!(
            findings(&older),
            [
                "php-version composer.json:2: the host PHP uses PHP 8.2.7, which composer.json require.php \">=8.3\" does not allow",
            ]
        );
        let lenient = [(
            "composer.json",
            "{\n  \"require\": {\"php\": \">=8.2\"},\n  \"config\": {\"platform\": {\"php\": \"8.3.13\"}}\n}\n",
        )];
        let older = run_rules_with(&["php-version"], &lenient, host("8.2.7-1ubuntu2"));
        assert_eq!(
            findings(&older),
            [
                "php-version composer.json:3: the host PHP uses PHP 8.2.7, older than PHP 8.3.13 of composer.json config.platform.php: packages resolved for PHP 8.3 may need what PHP 8.2 lacks; run PHP 8.3 or newer",
            ]
        );
        assert_eq!(older.findings[0].severity, Severity::Warning);
        let newer = run_rules_with(&["php-version"], &files, host("8.4.2"));
        assert_eq!(findings(&newer), Vec::<String>::new());
        // Without a host PHP nothing is asked of the machine and nothing is said about it.
        let none = run_rules(&["php-version"], &files);
        assert_eq!(findings(&none), Vec::<String>::new());
        assert_eq!(notices(&none, "php-version"), Vec::<String>::new());
    }

    #[test]
    fn the_host_php_from_upkeep_toml_is_the_reference_without_a_platform() {
        let report = run_rules_with(
            &["php-version"],
            &[
                ("upkeep.toml", "[gate]\nphp-version = \"8.3.1\"\n"),
                (
                    "composer.json",
                    "{\n  \"require\": {\"php\": \">=8.2\"}\n}\n",
                ),
                ("deploy.yml", "image:\n  tag: spryker/php:8.2\n"),
            ],
            with_deploy_files(vec![deploy(
                "deploy.yml",
                "spryker/php:8.2",
                "deploy.yml",
                2,
                8,
            )]),
        );
        assert_eq!(
            findings(&report),
            [
                "php-version deploy.yml:2: deploy.yml uses PHP 8.2, older than PHP 8.3.1 of the host PHP: packages resolved for PHP 8.3 may need what PHP 8.2 lacks; run PHP 8.3 or newer",
            ]
        );
    }

    #[test]
    fn a_constraint_without_php_8_is_reported() {
        let report = run_rules(
            &["php-version"],
            &[("composer.json", "{\"require\": {\"php\": \"^9.0\"}}")],
        );
        assert_eq!(
            findings(&report),
            [
                "php-version composer.json:1: composer.json require.php \"^9.0\" allows no PHP 8 version: require PHP 8 (e.g. \">=8.2\")"
            ]
        );
    }

    #[test]
    fn deploy_files_not_given_or_unreadable_are_notices_and_parse_errors() {
        let files = [
            ("composer.json", "{\"require\": {\"php\": \">=8.2\"}}"),
            ("deploy.yml", "image:\n  tag: [spryker/php:8.2\n"),
            ("deploy.ci.yml", "image: spryker/php:7.4\n"),
        ];
        let not_given = run_rules(&["php-version"], &files);
        assert_eq!(findings(&not_given), Vec::<String>::new());
        assert_eq!(
            notices(&not_given, "php-version"),
            [
                "the deploy files (deploy.ci.yml, deploy.yml) were not given to the gate, so their images were not checked (`upkeep gate` reads them with their imports)"
            ]
        );
        let broken = DeployFileFacts {
            file: "deploy.yml".to_string(),
            image: Err(DeployFileProblem {
                at: Some(SourcePosition {
                    file: "deploy.yml".to_string(),
                    line: 2,
                    column: 8,
                }),
                message: "invalid YAML: unclosed flow sequence".to_string(),
            }),
        };
        let report = run_rules_with(
            &["php-version", "parse-error"],
            &files,
            with_deploy_files(vec![
                deploy("deploy.ci.yml", "spryker/php:7.4", "deploy.ci.yml", 1, 8),
                broken,
            ]),
        );
        assert_eq!(
            findings(&report),
            [
                "php-version deploy.ci.yml:1: deploy.ci.yml uses PHP 7.4, which is not allowed: Spryker supports PHP 8 only",
                "parse-error deploy.yml:2: invalid YAML: unclosed flow sequence",
            ]
        );
        assert_eq!(
            notices(&report, "php-version"),
            [
                "deploy.yml cannot be read (invalid YAML: unclosed flow sequence); its image was not checked"
            ]
        );
    }
}
