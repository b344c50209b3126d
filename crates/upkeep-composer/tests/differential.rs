//! Differential test: our versions and constraints against Composer's own `composer/semver`
//! (PHP, from Debian's `composer` / `php-composer-semver` packages), run as a subprocess through
//! `tests/semver_oracle.php`.
//!
//! A seeded generator writes cases in seven categories; every case goes to the oracle and to our
//! code, and every answer must be the same (including "both reject"). With the seed below the run
//! has 36,200 cases:
//!
//! | category    | cases  | compares with                               |
//! |-------------|--------|---------------------------------------------|
//! | normalize   | 8,000  | `VersionParser::normalize`                  |
//! | stability   | 4,000  | `VersionParser::parseStability`             |
//! | parse       | 6,000  | `(string) VersionParser::parseConstraints`  |
//! | satisfies   | 14,000 | `Semver::satisfies`                         |
//! | compare     | 3,000  | `Comparator::compare` (all six operators)   |
//! | sort        | 600    | `Semver::sort` / `Semver::rsort`            |
//! | flags       | 600    | `RootPackageLoader::extractStabilityFlags`  |
//!
//! The test fails, never skips, when `php` or composer/semver is missing; `scripts/test.sh`
//! installs Debian's `composer`, so it runs there. The `flags` category also needs Composer
//! itself (not only composer/semver): cases it cannot ask fail the test too.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use indexmap::IndexMap;
use serde_json::{Value, json};
use upkeep_composer::{ComposerJson, Constraint, Stability, Version};

const SEED: u64 = 0x5EED_C0DE_2024_0005;
const DEFAULT_SEMVER_AUTOLOAD: &str = "/usr/share/php/Composer/Semver/autoload.php";

const CATEGORY_SIZES: [(&str, usize); 7] = [
    ("normalize", 8_000),
    ("stability", 4_000),
    ("parse", 6_000),
    ("satisfies", 14_000),
    ("compare", 3_000),
    ("sort", 600),
    ("flags", 600),
];

#[test]
fn agrees_with_composer_semver() {
    let autoload = std::env::var("UPKEEP_SEMVER_AUTOLOAD")
        .map_or_else(|_| PathBuf::from(DEFAULT_SEMVER_AUTOLOAD), PathBuf::from);
    // Composer's own semver is the reference: without it the test fails, it never skips.
    assert!(
        php_available() && autoload.is_file(),
        "agrees_with_composer_semver needs `php` and composer/semver at {} \
         (Debian: apt-get install composer; scripts/test.sh installs it)",
        autoload.display()
    );
    let mut rng = Rng(SEED);
    let cases = generate(&mut rng);
    let started = std::time::Instant::now();
    let (answers, flags_available) = ask_composer(&autoload, &cases);
    let mut counts: IndexMap<&str, usize> = IndexMap::new();
    // How many answers Composer accepted, and how many of those were `true`: a generator that
    // only produced rejections (or only non-matches) would prove little.
    let mut outcomes: IndexMap<&str, (usize, usize)> = IndexMap::new();
    let mut mismatches = Vec::new();
    let mut skipped_flags = 0;
    for (case, theirs) in cases.iter().zip(&answers) {
        if matches!(case, Case::Flags(..)) && !flags_available {
            skipped_flags += 1;
            continue;
        }
        *counts.entry(case.category()).or_default() += 1;
        let outcome = outcomes.entry(case.category()).or_default();
        if theirs["ok"] == true {
            outcome.0 += 1;
            outcome.1 += usize::from(theirs["value"] == true);
        }
        let ours = case.ours();
        if ours != comparable(theirs) {
            mismatches.push((case, ours, theirs.clone()));
        }
    }
    let total: usize = counts.values().sum();
    eprintln!(
        "compared {total} cases with composer/semver in {:.1?}: {counts:?}",
        started.elapsed()
    );
    eprintln!("accepted by Composer (and of those true): {outcomes:?}");
    assert_eq!(
        skipped_flags, 0,
        "{skipped_flags} flags cases could not be asked: Composer's RootPackageLoader is not installed"
    );
    for (case, ours, theirs) in mismatches.iter().take(40) {
        eprintln!(
            "MISMATCH {}: {}\n    ours:     {ours}\n    composer: {theirs}",
            case.category(),
            case.request()
        );
    }
    assert!(
        mismatches.is_empty(),
        "{} of {total} cases differ from composer/semver",
        mismatches.len()
    );
    if flags_available {
        assert_eq!(
            total,
            CATEGORY_SIZES.iter().map(|(_, size)| size).sum::<usize>()
        );
    }
}

fn php_available() -> bool {
    Command::new("php")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Sends every case to one PHP process; returns the answers in order and whether the `flags`
/// operation is available.
fn ask_composer(autoload: &Path, cases: &[Case]) -> (Vec<Value>, bool) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/semver_oracle.php");
    let mut child = Command::new("php")
        .arg(&script)
        .env("UPKEEP_SEMVER_AUTOLOAD", autoload)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start php {}: {error}", script.display()));
    let mut stdin = child.stdin.take().expect("piped stdin");
    let requests: Vec<String> = cases
        .iter()
        .map(|case| case.request().to_string())
        .collect();
    // Writing from another thread: PHP answers while we are still writing, and both pipes are
    // bounded.
    let writer = std::thread::spawn(move || {
        for request in requests {
            writeln!(stdin, "{request}").expect("write to the oracle");
        }
    });
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut next_line = || {
        let line = lines
            .next()
            .expect("the oracle ended early")
            .expect("read from the oracle");
        serde_json::from_str::<Value>(&line)
            .unwrap_or_else(|error| panic!("the oracle wrote {line:?}: {error}"))
    };
    let ready = next_line();
    assert_eq!(ready["ready"], true, "unexpected first line {ready}");
    let flags_available = ready["flags"] == true;
    let answers: Vec<Value> = cases.iter().map(|_| next_line()).collect();
    writer.join().expect("writer thread");
    let status = child.wait().expect("wait for php");
    assert!(status.success(), "the oracle failed: {status}");
    (answers, flags_available)
}

/// The oracle's answer without the error text, which is Composer's wording, not ours.
fn comparable(answer: &Value) -> Value {
    if answer["ok"] == true {
        accepted(answer["value"].clone())
    } else {
        rejected()
    }
}

fn accepted(value: Value) -> Value {
    let mut answer = serde_json::Map::new();
    answer.insert("ok".to_owned(), Value::Bool(true));
    answer.insert("value".to_owned(), value);
    Value::Object(answer)
}

fn rejected() -> Value {
    json!({"ok": false})
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
enum Case {
    Normalize(String),
    Stability(String),
    Parse(String),
    Satisfies(String, String),
    Compare(String, &'static str, String),
    Sort(Vec<String>, bool),
    Flags(Vec<IndexMap<String, String>>, Stability),
}

impl Case {
    fn category(&self) -> &'static str {
        match self {
            Case::Normalize(_) => "normalize",
            Case::Stability(_) => "stability",
            Case::Parse(_) => "parse",
            Case::Satisfies(..) => "satisfies",
            Case::Compare(..) => "compare",
            Case::Sort(..) => "sort",
            Case::Flags(..) => "flags",
        }
    }

    fn request(&self) -> Value {
        match self {
            Case::Normalize(version) => json!({"op": "normalize", "v": version}),
            Case::Stability(version) => json!({"op": "stability", "v": version}),
            Case::Parse(constraint) => json!({"op": "parse", "c": constraint}),
            Case::Satisfies(version, constraint) => {
                json!({"op": "satisfies", "v": version, "c": constraint})
            }
            Case::Compare(left, operator, right) => {
                json!({"op": "compare", "a": left, "op_name": operator, "b": right})
            }
            Case::Sort(list, reverse) => {
                json!({"op": if *reverse { "rsort" } else { "sort" }, "list": list})
            }
            Case::Flags(steps, minimum) => {
                json!({"op": "flags", "steps": steps, "minimum": minimum.as_str()})
            }
        }
    }

    fn ours(&self) -> Value {
        match self {
            Case::Normalize(version) => Version::parse(version).map_or_else(
                |_| rejected(),
                |parsed| accepted(json!(parsed.normalized())),
            ),
            Case::Stability(version) => accepted(json!(Stability::of_version(version).as_str())),
            Case::Parse(constraint) => Constraint::parse(constraint)
                .map_or_else(|_| rejected(), |parsed| accepted(json!(parsed.to_string()))),
            Case::Satisfies(version, constraint) => {
                match (Version::parse(version), Constraint::parse(constraint)) {
                    (Ok(version), Ok(constraint)) => accepted(json!(constraint.matches(&version))),
                    _ => rejected(),
                }
            }
            Case::Compare(left, operator, right) => {
                let (Ok(left), Ok(right)) = (Version::parse(left), Version::parse(right)) else {
                    return rejected();
                };
                let result = match *operator {
                    "<" => left.less_than(&right),
                    "<=" => left.less_than_or_equal_to(&right),
                    ">" => left.greater_than(&right),
                    ">=" => left.greater_than_or_equal_to(&right),
                    "==" => left.equal_to(&right),
                    _ => left.not_equal_to(&right),
                };
                accepted(json!(result))
            }
            Case::Sort(list, reverse) => {
                let Ok(mut parsed) = list
                    .iter()
                    .map(|text| Version::parse(text).map(|version| (version, text)))
                    .collect::<Result<Vec<_>, _>>()
                else {
                    return rejected();
                };
                if *reverse {
                    parsed.sort_by(|left, right| right.0.cmp(&left.0));
                } else {
                    parsed.sort_by(|left, right| left.0.cmp(&right.0));
                }
                accepted(json!(
                    parsed.iter().map(|(_, text)| text).collect::<Vec<_>>()
                ))
            }
            Case::Flags(steps, minimum) => {
                let mut flags = IndexMap::new();
                for requires in steps {
                    ComposerJson::extract_stability_flags(requires, *minimum, &mut flags);
                }
                let named: Vec<Value> = flags
                    .iter()
                    .map(|(name, stability)| json!([name, stability.as_str()]))
                    .collect();
                accepted(Value::Array(named))
            }
        }
    }
}

fn generate(rng: &mut Rng) -> Vec<Case> {
    let mut cases = Vec::new();
    for &(category, size) in &CATEGORY_SIZES {
        match category {
            "normalize" => cases.extend((0..size).map(|_| Case::Normalize(any_version(rng)))),
            "stability" => cases.extend((0..size).map(|_| {
                // parseStability is also called on constraints and on normalised versions.
                let text = match rng.below(3) {
                    0 => any_version(rng),
                    1 => single_constraint(rng),
                    _ => Version::parse(&any_version(rng))
                        .map_or_else(|_| junk(rng), |version| version.normalized().to_owned()),
                };
                Case::Stability(text)
            })),
            "parse" => cases.extend((0..size).map(|_| Case::Parse(constraint(rng)))),
            "satisfies" => {
                let per_constraint = 4;
                for _ in 0..size / per_constraint {
                    let constraint = constraint(rng);
                    for _ in 0..per_constraint {
                        let version = if rng.chance(50) {
                            version_near(rng, &constraint)
                        } else {
                            candidate_version(rng)
                        };
                        cases.push(Case::Satisfies(version, constraint.clone()));
                    }
                }
            }
            "compare" => cases.extend((0..size).map(|index| {
                let operator = ["<", "<=", ">", ">=", "==", "!="][index % 6];
                Case::Compare(candidate_version(rng), operator, candidate_version(rng))
            })),
            "sort" => {
                cases.extend((0..size).map(|index| Case::Sort(sortable_list(rng), index % 2 == 1)));
            }
            _ => cases.extend((0..size).map(|_| {
                let steps = (0..=rng.below(2)).map(|_| requires(rng)).collect();
                let minimum = *rng.pick(&[
                    Stability::Stable,
                    Stability::ReleaseCandidate,
                    Stability::Beta,
                    Stability::Alpha,
                    Stability::Dev,
                ]);
                Case::Flags(steps, minimum)
            })),
        }
    }
    cases
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

/// `SplitMix64`: small, seeded, the same on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut value = self.0;
        value = (value ^ (value >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        value = (value ^ (value >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        value ^ (value >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(bound).expect("small bound"))
            .expect("below a usize")
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn word(&mut self, words: &[&'static str]) -> &'static str {
        words[self.below(words.len())]
    }
}

/// Mostly small numbers, so that constraints and versions meet; sometimes Composer's edge cases.
fn number(rng: &mut Rng) -> String {
    if rng.chance(85) {
        return rng.below(4).to_string();
    }
    (*rng.pick(&[
        "5",
        "9",
        "10",
        "12",
        "99",
        "00",
        "01",
        "007",
        "2024",
        "12345",
        "123456",
        "9999999",
        "9223372036854775807",
        "99999999999999999999",
    ]))
    .to_owned()
}

fn numbers(rng: &mut Rng, count: usize) -> String {
    (0..count)
        .map(|_| number(rng))
        .collect::<Vec<_>>()
        .join(".")
}

fn release(rng: &mut Rng) -> String {
    let prefix = *rng.pick(&["", "", "", "", "", "", "v", "V"]);
    let count = *rng.pick(&[1, 2, 2, 3, 3, 3, 3, 4]);
    format!("{prefix}{}", numbers(rng, count))
}

fn suffix(rng: &mut Rng) -> String {
    match rng.below(10) {
        0..=3 => String::new(),
        4 => (*rng.pick(&["-dev", ".dev", "dev", "-DEV", "_dev", "--dev", "-", "."])).to_owned(),
        _ => {
            let separator = *rng.pick(&["-", "-", "-", "_", ".", ""]);
            let word = *rng.pick(&[
                "stable", "STABLE", "Stable", "beta", "b", "B", "BETA", "RC", "rc", "Rc", "alpha",
                "a", "A", "ALPHA", "patch", "pl", "p", "PL", "P", "gamma", "x",
            ]);
            let numbers = *rng.pick(&["", "", "1", "2", ".3", "-4", "10", "1.2", "01", "."]);
            let dev = *rng.pick(&["", "", "", "-dev", ".dev", "dev", "-DEV"]);
            format!("{separator}{word}{numbers}{dev}")
        }
    }
}

fn branch_name(rng: &mut Rng) -> &'static str {
    rng.word(&[
        "master",
        "main",
        "feature/x",
        "1.x",
        "Foo",
        "fix-123",
        "fé",
        "",
        "a b",
        "trunk",
        "1.0",
    ])
}

fn branch(rng: &mut Rng) -> String {
    let n = number(rng);
    let m = number(rng);
    match rng.below(12) {
        0 => format!("{n}.x-dev"),
        1 => format!("{n}.{m}.x-dev"),
        2 => format!("v{n}.X-dev"),
        3 => format!("{n}.*-dev"),
        4 => format!("{n}.x.{m}-dev"),
        5 => format!("{n}.{m}.{n}.{m}.x-dev"),
        6 => format!("dev-{}", branch_name(rng)),
        7 => format!("DEV-{}", branch_name(rng)),
        8 => (*rng.pick(&["master", "trunk", "default", "Master", "dev", "x-dev"])).to_owned(),
        9 => format!("{}-dev", branch_name(rng)),
        10 => "9999999-dev".to_owned(),
        _ => format!("{n}.{m}-dev"),
    }
}

fn date(rng: &mut Rng) -> String {
    let separator = *rng.pick(&["", "", "-", ".", ":", "_"]);
    let groups = 1 + rng.below(8);
    let mut text = "2024".to_owned();
    for _ in 0..groups {
        text.push_str(separator);
        text.push_str(rng.word(&["01", "12", "31", "1", "123", "0"]));
    }
    format!("{}{text}{}", rng.pick(&["", "", "v"]), suffix(rng))
}

fn junk(rng: &mut Rng) -> String {
    const ALPHABET: &[char] = &[
        '0', '1', '2', '9', '.', '.', '-', '_', '+', '@', '#', '*', 'x', 'X', 'v', 'V', ' ', '~',
        '^', '<', '>', '=', '!', '|', ',', 'a', 'b', 'd', 'e', 'l', 'p', 'r', 's', 't', 'v', 'R',
        'C', '\t', 'é',
    ];
    let length = rng.below(13);
    (0..length).map(|_| *rng.pick(ALPHABET)).collect()
}

fn decorate(rng: &mut Rng, text: &str) -> String {
    match rng.below(12) {
        0 => format!("{text}+build.{}", number(rng)),
        1 => format!("{text}{}", rng.pick(&["+", "+ x", "+a+b", "+001"])),
        2 => format!(
            "{text}{}",
            rng.pick(&["@dev", "@beta", "@RC", "@stable", "@STABLE", "@foo", "@"])
        ),
        3 => format!("{text} as {}", release(rng)),
        4 => format!("{text}{}as {}", rng.pick(&[" ", "  ", "\t"]), branch(rng)),
        5 => format!(
            "{}{text}{}",
            rng.pick(&[" ", "\t", "\n", "\u{c}", "\0"]),
            rng.pick(&[" ", "\n", "\u{b}", "\r"])
        ),
        6 => format!("{text}#abc123"),
        7 => {
            let cut = rng.below(text.len() + 1);
            let cut = (cut..=text.len())
                .find(|&at| text.is_char_boundary(at))
                .unwrap_or(text.len());
            format!(
                "{}{}{}",
                &text[..cut],
                rng.pick(&[" ", "\n", ","]),
                &text[cut..]
            )
        }
        8 => text.to_uppercase(),
        _ => format!("{text}{}", rng.pick(&["@dev", "+meta"])),
    }
}

/// Anything one might find where a version goes.
fn any_version(rng: &mut Rng) -> String {
    match rng.below(20) {
        0..=9 => format!("{}{}", release(rng), suffix(rng)),
        10..=12 => branch(rng),
        13 => date(rng),
        14..=16 => {
            let base = format!("{}{}", release(rng), suffix(rng));
            decorate(rng, &base)
        }
        _ => junk(rng),
    }
}

/// Versions a constraint is matched against: mostly valid, near the numbers constraints use.
fn candidate_version(rng: &mut Rng) -> String {
    match rng.below(20) {
        0..=13 => {
            let count = 1 + rng.below(4);
            let text = numbers(rng, count);
            let suffix = *rng.pick(&[
                "",
                "",
                "",
                "",
                "-dev",
                "-alpha1",
                "-beta",
                "-beta2",
                "-RC1",
                "-p1",
                "-beta2-dev",
                "-STABLE",
            ]);
            format!("{text}{suffix}")
        }
        14..=16 => branch(rng),
        17 => date(rng),
        _ => any_version(rng),
    }
}

/// A version close to one written in `constraint`: the same numbers, one of them moved by one, with
/// or without a stability suffix, so that the bounds themselves are tested.
fn version_near(rng: &mut Rng, constraint: &str) -> String {
    let written: Vec<&str> = constraint
        .split(|character: char| !character.is_ascii_digit() && character != '.')
        .map(|run| run.trim_matches('.'))
        .filter(|run| !run.is_empty())
        .collect();
    if written.is_empty() {
        return candidate_version(rng);
    }
    let mut parts: Vec<u64> = rng
        .pick(&written)
        .split('.')
        .filter_map(|part| part.parse().ok())
        .collect();
    if parts.is_empty() {
        return candidate_version(rng);
    }
    if rng.chance(60) {
        let index = rng.below(parts.len());
        parts[index] = match rng.below(3) {
            0 => parts[index].saturating_sub(1),
            1 => parts[index].saturating_add(1),
            _ => 0,
        };
    }
    if rng.chance(20) {
        parts.push(rng.below(3) as u64);
    }
    let numbers: Vec<String> = parts.iter().map(u64::to_string).collect();
    let suffix = *rng.pick(&[
        "", "", "", "-dev", "-alpha1", "-beta2", "-RC1", "-p1", ".x-dev",
    ]);
    format!("{}{suffix}", numbers.join("."))
}

/// A version inside a constraint: mostly one Composer accepts.
fn constraint_version(rng: &mut Rng) -> String {
    if rng.chance(85) {
        let count = 1 + rng.below(4);
        let suffix = *rng.pick(&[
            "", "", "", "", "", "", "-dev", "-alpha1", "-beta", "-RC1", "-rc2", "-p1", "-stable",
        ]);
        format!(
            "{}{}{suffix}",
            rng.pick(&["", "", "", "", "v"]),
            numbers(rng, count)
        )
    } else {
        candidate_version(rng)
    }
}

fn single_constraint(rng: &mut Rng) -> String {
    let body = match rng.below(30) {
        0..=9 => {
            let operator = *rng.pick(&[
                "", "", "=", "==", "!=", "<>", "<", "<=", ">", ">=", ">=", "<", ">=", "<",
            ]);
            let space = *rng.pick(&["", "", "", " "]);
            format!("{operator}{space}{}", constraint_version(rng))
        }
        10..=13 => format!("~{}{}", release(rng), suffix_sometimes(rng)),
        14..=18 => format!("^{}{}", release(rng), suffix_sometimes(rng)),
        19 => format!("{}{}", rng.pick(&["~>", "=>", "~^", "^~"]), release(rng)),
        20..=21 => {
            let count = 1 + rng.below(3);
            let wildcards = *rng.pick(&[".*", ".x", ".X", ".*.*", ".x.*"]);
            let prefix = *rng.pick(&["", "", "", "v", "V"]);
            format!("{prefix}{}{wildcards}", numbers(rng, count))
        }
        22 => (*rng.pick(&["*", "x", "X", "v*", "*.*", "x.x.x", "V*", "**", "*-dev"])).to_owned(),
        23..=25 => {
            let separator = *rng.pick(&[" - ", " - ", " - ", "  -  ", " -", "- "]);
            format!(
                "{}{}{separator}{}{}",
                release(rng),
                suffix_sometimes(rng),
                release(rng),
                suffix_sometimes(rng)
            )
        }
        26 => format!("{} as {}", branch(rng), release(rng)),
        27 => format!(
            "{}#{}",
            rng.pick(&["dev-main", "1.0.x-dev", "DEV-x", "2.x-dev", "1.0"]),
            rng.pick(&["abc123", "", "x#y"])
        ),
        28 => branch(rng),
        _ => junk(rng),
    };
    if rng.chance(12) {
        let flag = *rng.pick(&[
            "@dev", "@beta", "@RC", "@alpha", "@stable", "@STABLE", "@Dev", "@foo",
        ]);
        format!("{body}{flag}")
    } else {
        body
    }
}

fn suffix_sometimes(rng: &mut Rng) -> String {
    if rng.chance(20) {
        suffix(rng)
    } else {
        String::new()
    }
}

fn constraint(rng: &mut Rng) -> String {
    let alternatives = *rng.pick(&[1, 1, 1, 1, 2, 2, 3]);
    let mut text = String::new();
    for index in 0..alternatives {
        if index > 0 {
            text.push_str(rng.word(&[" || ", "||", " | ", "|", " ||  ", " |||"]));
        }
        let singles = *rng.pick(&[1, 1, 1, 1, 2, 2, 3]);
        for single in 0..singles {
            if single > 0 {
                text.push_str(rng.word(&[" ", " ", ",", ", ", " ,", "  ", " , "]));
            }
            text.push_str(&single_constraint(rng));
        }
    }
    if rng.chance(5) {
        format!("{}{text}{}", rng.pick(&[" ", "\t"]), rng.pick(&[" ", "\n"]))
    } else {
        text
    }
}

/// A list Composer can sort deterministically: distinct versions it orders, at most one named
/// branch besides the default branches (it leaves two named branches unordered).
fn sortable_list(rng: &mut Rng) -> Vec<String> {
    loop {
        let length = 2 + rng.below(7);
        let list: Vec<String> = (0..length).map(|_| candidate_version(rng)).collect();
        let Ok(parsed) = list
            .iter()
            .map(|text| Version::parse(text))
            .collect::<Result<Vec<_>, _>>()
        else {
            continue;
        };
        let default_branch = |version: &Version| {
            matches!(
                version.normalized(),
                "dev-master" | "dev-trunk" | "dev-default" | "9999999-dev"
            )
        };
        let named = parsed
            .iter()
            .filter(|version| version.normalized().starts_with("dev-") && !default_branch(version))
            .map(Version::normalized)
            .collect::<std::collections::BTreeSet<_>>();
        let ambiguous = parsed.iter().enumerate().any(|(index, left)| {
            parsed[index + 1..].iter().any(|right| {
                left == right
                    && left.normalized() != right.normalized()
                    && !(default_branch(left) && default_branch(right))
            })
        });
        if named.len() <= 1 && !ambiguous {
            return list;
        }
    }
}

fn requires(rng: &mut Rng) -> IndexMap<String, String> {
    let count = 1 + rng.below(4);
    (0..count)
        .map(|_| {
            let name = *rng.pick(&["a/a", "A/B", "a/b", "c/c", "d/D"]);
            let constraint = match rng.below(4) {
                0 => format!("{}{}", release(rng), suffix(rng)),
                1 => branch(rng),
                _ => constraint(rng),
            };
            (name.to_owned(), constraint)
        })
        .collect()
}
