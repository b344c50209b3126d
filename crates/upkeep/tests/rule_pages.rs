//! `upkeep rules NAME` prints the page `docs/rules/NAME.md` publishes (which a finding of a
//! rule without a Spryker page links to), and the catalogue lists every published page.

use std::path::Path;

use assert_cmd::Command;

fn rules(args: &[&str]) -> String {
    let output = Command::cargo_bin("upkeep")
        .unwrap()
        .env("NO_COLOR", "1")
        .arg("rules")
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "upkeep rules {args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

fn published(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../docs/rules/{name}.md"));
    let page = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    // The published page opens with a two-line comment saying how it is generated.
    let (_, page) = page
        .split_once("-->\n")
        .unwrap_or_else(|| panic!("{} has no generated-file header", path.display()));
    page.to_string()
}

#[test]
fn a_rule_prints_its_published_page() {
    for name in [
        "private-api-extension",
        "not-unique-module-name",
        "php-version",
    ] {
        assert_eq!(rules(&[name]), published(name), "{name}");
    }
    // A Spryker id finds the same page.
    assert_eq!(
        rules(&["PrivateApi:Extension"]),
        published("private-api-extension")
    );
}

#[test]
fn every_rule_of_the_catalogue_is_published() {
    let catalogue = rules(&[]);
    let names: Vec<&str> = catalogue
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert!(names.len() > 30, "{catalogue}");
    for name in names {
        assert!(
            published(name).starts_with(&format!("# {name}\n")),
            "{name}"
        );
    }
}
