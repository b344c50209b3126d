//! The published rule documentation, `docs/rules/<name>.md`, is generated from each rule's
//! metadata (the same text `upkeep rules NAME` prints), and every rule's guideline link
//! points at a page that exists.
//!
//! When a rule's documentation changes, regenerate the pages:
//! `UPKEEP_UPDATE_RULE_DOCS=1 cargo test -p upkeep-gate --test rule_docs`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use upkeep_gate::registry;
use upkeep_gate::rule::PUBLISHED_DOCUMENTATION;

/// Spryker's upgradability guideline pages that exist (checked against the `docs/dg/`
/// tree of spryker/spryker-docs, where docs.spryker.com is built from). Pages of Spryker's
/// earlier checker (`entity-name-is-not-unique`, `private-api-*`) never moved there: rules
/// without a page link to their own documentation instead.
const SPRYKER_PAGES: &[&str] = &[
    "keeping-a-project-upgradable.html",
    "upgradability-guidelines/additional-logic-in-dependency-provider.html",
    "upgradability-guidelines/container-set-function.html",
    "upgradability-guidelines/dead-code-checker.html",
    "upgradability-guidelines/discouraged-packages-checker.html",
    "upgradability-guidelines/minimum-allowed-shop-version.html",
    "upgradability-guidelines/multidimensional-array.html",
    "upgradability-guidelines/npm-checker.html",
    "upgradability-guidelines/open-source-vulnerabilities.html",
    "upgradability-guidelines/php-version.html",
    "upgradability-guidelines/plugin-registration-with-restrintions.html",
    "upgradability-guidelines/single-plugin-argument.html",
    "upgradability-guidelines/spryker-dev-packages-checker.html",
    "upgradability-guidelines/spryker-security-checker.html",
    "upgradability-guidelines/upgradability-guidelines.html",
];

const SPRYKER_GUIDELINES: &str =
    "https://docs.spryker.com/docs/dg/dev/guidelines/keeping-a-project-upgradable/";

fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/rules")
}

const GENERATED: &str = "<!-- Generated from the rule's metadata in crates/upkeep-gate (`upkeep rules NAME` prints the same text).\n     Do not edit: UPKEEP_UPDATE_RULE_DOCS=1 cargo test -p upkeep-gate --test rule_docs -->\n";

/// Every file of `docs/rules/` as it must be: one page per rule and an index.
fn expected_pages() -> BTreeMap<String, String> {
    let mut pages = BTreeMap::new();
    let mut index = format!(
        "{GENERATED}# Rules of the quality gate\n\n`upkeep rules` lists them, `upkeep rules NAME` prints one page.\n\n| Rule | Category | Severity | Spryker ids | What it finds |\n|---|---|---|---|---|\n"
    );
    for rule in registry::all() {
        let meta = rule.meta();
        pages.insert(
            format!("{}.md", meta.name),
            format!("{GENERATED}{}", meta.documentation_page()),
        );
        let _ = writeln!(
            index,
            "| [`{name}`]({name}.md) | {} | {} | {} | {} |",
            meta.category.name(),
            meta.category.default_severity(),
            meta.spryker_ids
                .iter()
                .map(|id| format!("`{id}`"))
                .collect::<Vec<_>>()
                .join(", "),
            meta.summary.replace('|', "\\|"),
            name = meta.name,
        );
    }
    pages.insert("README.md".to_string(), index);
    pages
}

#[test]
fn published_rule_documentation_is_up_to_date() {
    let dir = docs_dir();
    let expected = expected_pages();
    let update = std::env::var_os("UPKEEP_UPDATE_RULE_DOCS").is_some_and(|value| value == "1");
    if update {
        std::fs::create_dir_all(&dir).unwrap();
    }
    let mut stale = Vec::new();
    for (name, text) in &expected {
        let path = dir.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            if update {
                std::fs::write(&path, text).unwrap();
            } else {
                stale.push(name.clone());
            }
        }
    }
    // A missing directory leaves every page stale, reported above.
    for entry in std::fs::read_dir(&dir).into_iter().flatten() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !expected.contains_key(&name) {
            if update {
                std::fs::remove_file(&path).unwrap();
            } else {
                stale.push(format!("{name} (no such rule)"));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "docs/rules is out of date: {stale:?}; regenerate with UPKEEP_UPDATE_RULE_DOCS=1 cargo test -p upkeep-gate --test rule_docs"
    );
}

#[test]
fn guideline_links_point_at_pages_that_exist() {
    for rule in registry::all() {
        let meta = rule.meta();
        let link = meta.guideline;
        if let Some(page) = link.strip_prefix(SPRYKER_GUIDELINES) {
            let page = page.split('#').next().unwrap_or_default();
            assert!(
                SPRYKER_PAGES.contains(&page),
                "{}: {link} is not a page Spryker publishes; link the rule's own documentation (own_documentation!)",
                meta.name
            );
        } else {
            assert_eq!(
                link,
                meta.documentation_url(),
                "{}: a guideline is a Spryker page or the rule's own documentation",
                meta.name
            );
            assert!(link.starts_with(PUBLISHED_DOCUMENTATION));
            assert!(
                docs_dir().join(format!("{}.md", meta.name)).is_file(),
                "{}: {link} is not published",
                meta.name
            );
        }
    }
}

#[test]
fn rules_without_a_spryker_page_link_their_own_documentation() {
    for name in [
        "not-unique-constant",
        "private-api-extension",
        "private-api-dependency-in-business-model",
    ] {
        let meta = registry::meta(name).unwrap();
        assert_eq!(
            meta.guideline,
            format!("https://github.com/upkeep-dev/upkeep/blob/main/docs/rules/{name}.md")
        );
        assert!(!meta.documentation_page().contains("- Guideline:"));
    }
    let page = registry::meta("php-version").unwrap().documentation_page();
    assert!(page.starts_with("# php-version\n"), "{page}");
    assert!(page.contains("- Guideline: https://docs.spryker.com/docs/dg/dev/guidelines/keeping-a-project-upgradable/upgradability-guidelines/php-version.html\n"), "{page}");
    assert!(
        page.contains("- Spryker ids: `PHP_VERSION_CHECKER`\n"),
        "{page}"
    );
    assert!(page.contains("## What it finds"), "{page}");
}
