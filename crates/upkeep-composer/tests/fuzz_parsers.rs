//! Fuzz harness (proptest) for the Composer readers: `composer.json`, `composer.lock`, the
//! format-preserving editor's reader, versions and constraints. Each case must end in a value
//! or an error, never a panic, and quickly. CI runs the default case count; see
//! `docs/fuzzing.md` to run it longer (`PROPTEST_CASES=100000`).

use std::str::FromStr;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use upkeep_composer::{ComposerJson, ComposerLock, Constraint, Version};

/// Cases per property when `PROPTEST_CASES` is not set: together about five seconds in a debug
/// build on two cores.
const CASES: u32 = 4096;
/// A hang guard, not a speed target: inputs are at most a few hundred bytes and take
/// microseconds; a case over this has run away (the reproducers took seconds).
const PER_CASE: Duration = Duration::from_secs(5);

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

const JSON_PIECES: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"require\"",
    "\"require-dev\"",
    "\"packages\"",
    "\"packages-dev\"",
    "\"name\"",
    "\"version\"",
    "\"spryker/product\"",
    "\"dev-master\"",
    "\"php\"",
    "\">=7.4\"",
    "\"^8.2\"",
    "\"1.2.3\"",
    "\"repositories\"",
    "\"type\"",
    "\"url\"",
    "\"minimum-stability\"",
    "\"extra\"",
    "null",
    "true",
    "1",
    "1e999",
    "-0",
    "\"\"",
    "\"\\u0000\"",
    "\"\\ud800\"",
    " ",
    "\n",
];

const VERSION_PIECES: &[&str] = &[
    "1",
    "2",
    "0",
    ".",
    "*",
    "x",
    "^",
    "~",
    ">",
    "<",
    "=",
    "!",
    ">=",
    "<=",
    "||",
    "|",
    ",",
    " ",
    "-",
    "@",
    "dev",
    "alpha",
    "beta",
    "RC",
    "stable",
    "patch",
    "pl",
    "v",
    "dev-",
    "master",
    "as",
    "#",
    "abc123",
    "99999999999999999999",
    "\u{00e4}",
];

fn assembled(pieces: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,120}",
        proptest::collection::vec(proptest::sample::select(pieces), 0..max)
            .prop_map(|pieces| pieces.concat()),
    ]
}

fn bounded<T>(input: &str, parse: impl FnOnce(&str) -> T) -> T {
    let started = Instant::now();
    let result = parse(input);
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
    fn composer_json_never_panics(text in assembled(JSON_PIECES, 60)) {
        let _ = bounded(&text, ComposerJson::from_str);
    }

    #[test]
    fn composer_lock_never_panics(text in assembled(JSON_PIECES, 60)) {
        let _ = bounded(&text, ComposerLock::from_str);
    }

    #[test]
    fn composer_json_editor_never_panics(text in assembled(JSON_PIECES, 60)) {
        let _ = bounded(&text, upkeep_composer::edit::ComposerJsonEditor::parse);
    }

    #[test]
    fn versions_and_constraints_never_panic(text in assembled(VERSION_PIECES, 24)) {
        let _ = bounded(&text, Version::parse);
        let _ = bounded(&text, Constraint::parse);
    }
}
