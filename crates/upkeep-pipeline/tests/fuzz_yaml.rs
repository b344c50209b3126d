//! Fuzz harness (proptest) for the YAML readers: the positioned tree reader behind deploy
//! files, `DeployFile::load` with imports, `upkeep.yml` and `buildspec.yml`. Each case must end
//! in a value or an error naming the file, never a panic, and quickly. CI runs the default
//! case count; `docs/fuzzing.md` says how to run it longer (`PROPTEST_CASES=100000`).

use std::path::Path;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use upkeep_pipeline::deploy_file::DeployFile;
use upkeep_pipeline::project_file::ProjectFile;

/// Cases per property when `PROPTEST_CASES` is not set: together a few seconds.
const CASES: u32 = 2048;
const PER_CASE: Duration = Duration::from_secs(1);

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(CASES);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

const DEPLOY_PIECES: &[&str] = &[
    "version: \"0.1\"\n",
    "imports:\n",
    "  base.yml:\n",
    "  - template: base.yml\n",
    "    parameters:\n",
    "      region: eu\n",
    "image:\n",
    "  tag: spryker/php:8.3\n",
    "  environment:\n",
    "    A: &a \"%region%\"\n",
    "    B: *a\n",
    "    C: [*a, *a]\n",
    "  <<: *a\n",
    "x-anchor: &m {k: v}\n",
    "composer:\n",
    "  mode: --no-dev\n",
    "- ",
    ": ",
    "\n",
    "  ",
    "\"",
    "'",
    "[",
    "]",
    "{",
    "}",
    "&",
    "*",
    "%",
    "|",
    ">",
    "---\n",
    "!!str ",
    "? ",
    "#",
    "../",
    "/etc/passwd",
    "\t",
    "\u{00e4}",
];

const PROJECT_PIECES: &[&str] = &[
    "project: my-shop\n",
    "environments:\n",
    "  staging:\n",
    "    branch: develop\n",
    "    target: {local: {path: t}}\n",
    "    secrets: [DB_PASSWORD]\n",
    "    buildspec:\n",
    "      install: ci/install.yml\n",
    "      post-deploy: /etc/x\n",
    "    deploy-type: normal\n",
    "    timeout: 30m\n",
    "    keep-releases: 3\n",
    "    gate: warn\n",
    "- ",
    ": ",
    "\n",
    "  ",
    "\"",
    "[",
    "]",
    "{",
    "}",
    "&a ",
    "*a",
    "..",
    "0",
    "-1",
    "99999999999999999999",
];

const BUILDSPEC_PIECES: &[&str] = &[
    "version: 0.2\n",
    "phases:\n",
    "  install:\n",
    "    commands:\n",
    "      - echo hi\n",
    "  build:\n",
    "env:\n",
    "  variables:\n",
    "    A: b\n",
    "  exported-variables:\n",
    "    - A\n",
    "- ",
    ": ",
    "\n",
    "  ",
    "\"",
    "[",
    "{",
    "&a ",
    "*a",
];

fn assembled(pieces: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,160}",
        proptest::collection::vec(proptest::sample::select(pieces), 0..48)
            .prop_map(|pieces| pieces.concat()),
    ]
}

fn bounded<T>(input: &str, parse: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let result = parse();
    assert!(
        started.elapsed() < PER_CASE,
        "{:?} for {input:?}",
        started.elapsed()
    );
    result
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_yaml_tree_reader_never_panics(text in assembled(DEPLOY_PIECES)) {
        let result = bounded(&text, || upkeep_pipeline::yaml::parse_tree(&text, Path::new("f.yml")));
        if let Err(error) = result {
            prop_assert_eq!(error.file, Path::new("f.yml"));
        }
    }

    #[test]
    fn deploy_files_with_imports_never_panic(
        main in assembled(DEPLOY_PIECES),
        base in assembled(DEPLOY_PIECES),
    ) {
        let project = tempfile::tempdir().unwrap();
        std::fs::write(project.path().join("deploy.yml"), &main).unwrap();
        std::fs::write(project.path().join("base.yml"), &base).unwrap();
        let _ = bounded(&main, || DeployFile::load(&project.path().join("deploy.yml"), project.path()));
    }

    #[test]
    fn project_files_never_panic(text in assembled(PROJECT_PIECES)) {
        let _ = bounded(&text, || ProjectFile::parse(&text, Path::new("/repo/upkeep.yml")));
    }

    #[test]
    fn buildspecs_never_panic(text in assembled(BUILDSPEC_PIECES)) {
        let _ = bounded(&text, || upkeep_pipeline::buildspec::Buildspec::parse(&text, Path::new("buildspec.yml")));
    }
}
