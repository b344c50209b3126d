//! Spryker's public integrator-manifests (1,066 manifests) all load without a warning (the one
//! misspelt `poistion` is read as `position`), and a malformed manifest among good ones is a
//! warning with its file and JSON position.

use std::collections::BTreeMap;

mod support;
use support::manifests_dir;

use upkeep_integrator::manifest::{self, Step};

#[test]
fn every_real_manifest_loads() {
    let set = manifest::read_dir(&manifests_dir()).unwrap();
    assert_eq!(set.len(), 1066);
    assert!(set.warnings.is_empty(), "{:#?}", set.warnings);
    let mut per_type: BTreeMap<&str, usize> = BTreeMap::new();
    for manifest in set.manifests() {
        for step in &manifest.steps {
            *per_type.entry(step.kind()).or_default() += 1;
        }
    }
    // Steps per type, as `jq` counts the entries of the data.
    assert_eq!(
        per_type,
        BTreeMap::from([
            ("add-config-array-element", 66),
            ("configure-env", 140),
            ("configure-module", 171),
            ("glossary-key", 71),
            ("unwire-glue-relationship", 43),
            ("unwire-plugin", 331),
            ("unwire-widget", 2),
            ("wire-glue-relationship", 26),
            ("wire-navigation", 7),
            ("wire-plugin", 1738),
            ("wire-schema", 7),
            ("wire-widget", 26),
        ])
    );
    // Versions are ordered as Composer orders them, not as strings.
    let acl = set.of(&manifest::ModuleId::new("Spryker", "Acl"));
    assert!(acl.windows(2).all(|pair| pair[0].version < pair[1].version));
    let typo = set
        .manifests()
        .flat_map(|manifest| &manifest.steps)
        .filter(|step| matches!(step, Step::WirePlugin(wiring) if wiring.position.as_ref().is_some_and(|p| p.after.iter().any(|a| a.ends_with("OrderItemsSaverPlugin")))))
        .count();
    assert!(typo >= 1, "the `poistion` spelling is read as `position`");
}

#[test]
fn a_malformed_manifest_among_good_ones_is_a_warning_not_a_stop() {
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let path = dir.path().join(path);
        fs_err::create_dir_all(path.parent().unwrap()).unwrap();
        fs_err::write(path, text).unwrap();
    };
    write(
        "Spryker/Acl/1.0.0/installer-manifest.json",
        r#"{"wire-plugin": [{"target": "\\A\\B\\C::d", "source": "\\P"}]}"#,
    );
    write(
        "Spryker/Acl/1.1.0/installer-manifest.json",
        "{\n  \"wire-plugin\": [\n    {\"target\": }\n",
    );
    write("Spryker/Acl/not-a-version/installer-manifest.json", "{}");
    let set = manifest::read_dir(dir.path()).unwrap();
    assert_eq!(set.len(), 1);
    let warnings: Vec<String> = set.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert!(
        warnings[0].starts_with("Spryker/Acl/1.1.0/installer-manifest.json:3:16: not a manifest"),
        "{warnings:#?}"
    );
    assert!(warnings[1].starts_with("Spryker/Acl/not-a-version/installer-manifest.json: the directory `not-a-version` is not a version"), "{warnings:#?}");
    assert!(manifest::read_dir(&dir.path().join("absent")).is_err());
}
