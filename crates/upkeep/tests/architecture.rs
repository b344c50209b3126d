//! The crate dependency rules of `crates/README.md` ("Who may depend on whom"), checked against
//! what `cargo metadata` says the crates depend on: a library that reaches up (the runner on the
//! server, a library on the binary) fails here, as does a crate the table does not list.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .parent()
        .unwrap()
}

/// crate -> the workspace crates it may depend on, from the README's table.
fn allowed() -> BTreeMap<String, BTreeSet<String>> {
    let readme = std::fs::read_to_string(workspace_root().join("crates/README.md")).unwrap();
    let table = readme
        .split("## Who may depend on whom")
        .nth(1)
        .expect("crates/README.md has the section `Who may depend on whom`");
    let names = |cell: &str| -> BTreeSet<String> {
        cell.split(',')
            .map(|name| name.trim().trim_matches('`').to_string())
            .filter(|name| name.starts_with("upkeep"))
            .collect()
    };
    table
        .lines()
        .filter(|line| line.starts_with("| `upkeep"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split('|').collect();
            (
                cells[0].trim().trim_matches('`').to_string(),
                names(cells[1]),
            )
        })
        .collect()
}

/// crate -> the workspace crates it depends on (normal and build dependencies).
fn actual() -> BTreeMap<String, BTreeSet<String>> {
    let output = Command::new(env!("CARGO"))
        .current_dir(workspace_root())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|package| {
            let dependencies = package["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|dependency| dependency["kind"].as_str() != Some("dev"))
                .filter_map(|dependency| dependency["name"].as_str())
                .filter(|name| name.starts_with("upkeep"))
                .map(str::to_string)
                .collect();
            (package["name"].as_str().unwrap().to_string(), dependencies)
        })
        .collect()
}

#[test]
fn every_crate_depends_only_on_what_the_architecture_allows() {
    let allowed = allowed();
    assert!(
        allowed.len() >= 9,
        "the table lists too few crates: {allowed:?}"
    );
    let mut problems = Vec::new();
    for (name, dependencies) in actual() {
        let Some(permitted) = allowed.get(&name) else {
            problems.push(format!("`{name}` is not in the table of crates/README.md"));
            continue;
        };
        for dependency in dependencies.difference(permitted) {
            problems.push(format!(
                "`{name}` depends on `{dependency}`, which it may not"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_table_is_read_as_written() {
    let allowed = allowed();
    assert!(allowed["upkeep-hint"].is_empty());
    assert_eq!(allowed["upkeep-pipeline"].len(), 1);
    assert!(allowed["upkeep-runner"].contains("upkeep-deploy"));
    assert!(!allowed["upkeep-deploy"].contains("upkeep-runner"));
}
