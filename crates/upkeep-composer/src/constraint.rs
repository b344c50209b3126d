//! Version constraints in Composer's syntax, such as `^1.2 || ~2.0.3@beta`.

use std::fmt;
use std::str::FromStr;

use crate::version::{
    ReleaseSyntax, Stability, Version, is_digits, is_suffix, normalized_release_text, scan_release,
    strip_prefix_ignore_case, strip_suffix_ignore_case, strip_v,
};

/// A parsed version constraint: alternatives (`||`), each a list of bounds that must all hold.
#[derive(Debug, Clone)]
pub struct Constraint {
    pretty: String,
    alternatives: Vec<Vec<Bound>>,
    stability_flag: Option<Stability>,
}

#[derive(Debug, Clone)]
enum Bound {
    AnyVersion,
    Compare(Operator, Version),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

impl Operator {
    /// Longer spellings first, so that `<=` is not read as `<`.
    const SPELLINGS: [(&str, Operator); 8] = [
        ("<>", Operator::NotEqual),
        ("!=", Operator::NotEqual),
        (">=", Operator::GreaterOrEqual),
        ("<=", Operator::LessOrEqual),
        ("==", Operator::Equal),
        (">", Operator::Greater),
        ("<", Operator::Less),
        ("=", Operator::Equal),
    ];

    fn as_str(self) -> &'static str {
        match self {
            Operator::Equal => "==",
            Operator::NotEqual => "!=",
            Operator::Less => "<",
            Operator::LessOrEqual => "<=",
            Operator::Greater => ">",
            Operator::GreaterOrEqual => ">=",
        }
    }
}

/// A constraint string that Composer would reject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid version constraint \"{constraint}\": {reason}")]
pub struct ConstraintError {
    constraint: String,
    reason: String,
}

impl ConstraintError {
    /// The whole constraint string as given.
    pub fn constraint(&self) -> &str {
        &self.constraint
    }

    /// Why it was rejected, naming the offending part.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl Constraint {
    /// Parses a constraint such as `^1.2`, `>=1.0 <1.1 || >=1.2`, `1.0 - 2.0`, `dev-main#abc123` or
    /// `1.0.x-dev as 1.0.0`.
    pub fn parse(input: &str) -> Result<Self, ConstraintError> {
        let fail = |reason: String| ConstraintError {
            constraint: input.to_owned(),
            reason,
        };
        let text = input.trim();
        if text.is_empty() {
            return Err(fail(
                "the constraint is empty; use \"*\" to allow any version".to_owned(),
            ));
        }
        let mut alternatives = Vec::new();
        let mut stability_flag = None;
        for alternative in text.split("||").flat_map(|part| part.split('|')) {
            let alternative = alternative.trim();
            if alternative.is_empty() {
                return Err(fail("`||` needs a constraint on both sides".to_owned()));
            }
            let mut bounds = Vec::new();
            for single in split_conjunction(alternative).map_err(fail)? {
                let parsed = parse_single(&single).map_err(fail)?;
                bounds.extend(parsed.bounds);
                // Like Composer, keep the least stable flag when several parts carry one.
                stability_flag = stability_flag
                    .into_iter()
                    .chain(parsed.stability_flag)
                    .min();
            }
            alternatives.push(bounds);
        }
        Ok(Self {
            pretty: text.to_owned(),
            alternatives,
            stability_flag,
        })
    }

    pub fn matches(&self, version: &Version) -> bool {
        self.alternatives
            .iter()
            .any(|bounds| bounds.iter().all(|bound| bound.matches(version)))
    }

    /// The constraint as it was written.
    pub fn pretty(&self) -> &str {
        &self.pretty
    }

    /// The `@dev`, `@beta`, … flag, the least stable one if several parts have one. Flags do not
    /// change which versions match; they tell the solver which stabilities it may pick.
    pub fn stability_flag(&self) -> Option<Stability> {
        self.stability_flag
    }
}

impl Bound {
    fn matches(&self, version: &Version) -> bool {
        let Bound::Compare(operator, bound) = self else {
            return true;
        };
        // Composer compares `dev-<name>` branches only by name: a branch is neither above nor
        // below a release.
        if version.is_named_branch() || bound.is_named_branch() {
            let same_name = version.normalized() == bound.normalized();
            return match operator {
                Operator::Equal => same_name,
                Operator::NotEqual => !same_name,
                _ => false,
            };
        }
        let ordering = version.cmp(bound);
        match operator {
            Operator::Equal => ordering.is_eq(),
            Operator::NotEqual => ordering.is_ne(),
            Operator::Less => ordering.is_lt(),
            Operator::LessOrEqual => ordering.is_le(),
            Operator::Greater => ordering.is_gt(),
            Operator::GreaterOrEqual => ordering.is_ge(),
        }
    }
}

impl fmt::Display for Constraint {
    /// Writes the normalised bounds, e.g. `>=1.2.0.0-dev <2.0.0.0-dev || ==dev-main`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (alternative_index, bounds) in self.alternatives.iter().enumerate() {
            if alternative_index > 0 {
                formatter.write_str(" || ")?;
            }
            for (bound_index, bound) in bounds.iter().enumerate() {
                if bound_index > 0 {
                    formatter.write_str(" ")?;
                }
                match bound {
                    Bound::AnyVersion => formatter.write_str("*")?,
                    Bound::Compare(operator, version) => {
                        write!(formatter, "{}{version}", operator.as_str())?;
                    }
                }
            }
        }
        Ok(())
    }
}

impl FromStr for Constraint {
    type Err = ConstraintError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

/// Splits one alternative at `,` and whitespace, keeping together what belongs together: an
/// operator and its version (`>= 1.0`), a hyphen range (`1.0 - 2.0`) and an alias
/// (`1.0.x-dev as 1.0.0`).
fn split_conjunction(alternative: &str) -> Result<Vec<String>, String> {
    let mut singles = Vec::new();
    for comma_part in alternative.split(',') {
        let words: Vec<&str> = comma_part.split_whitespace().collect();
        if words.is_empty() {
            return Err("`,` needs a constraint on both sides".to_owned());
        }
        let mut index = 0;
        while index < words.len() {
            let mut single = words[index].to_owned();
            index += 1;
            let is_bare_operator = Operator::SPELLINGS
                .iter()
                .any(|(spelling, _)| *spelling == single);
            if is_bare_operator && index < words.len() {
                single.push_str(words[index]);
                index += 1;
            }
            while index + 1 < words.len() && matches!(words[index], "-" | "as") {
                single = format!("{single} {} {}", words[index], words[index + 1]);
                index += 2;
            }
            singles.push(single);
        }
    }
    Ok(singles)
}

struct SingleConstraint {
    bounds: Vec<Bound>,
    stability_flag: Option<Stability>,
}

fn parse_single(written: &str) -> Result<SingleConstraint, String> {
    // An alias only renames a version for the solver; matching uses the real version on the left.
    let text = written.split_once(" as ").map_or(written, |(real, _)| real);
    let (text, stability_flag) = split_stability_flag(text)?;
    let text = strip_commit_reference(text);
    let bounds = parse_bounds(text, stability_flag)?;
    Ok(SingleConstraint {
        bounds,
        stability_flag,
    })
}

fn split_stability_flag(text: &str) -> Result<(&str, Option<Stability>), String> {
    let Some((head, flag)) = text.rsplit_once('@') else {
        return Ok((text, None));
    };
    let stability = flag.parse::<Stability>().map_err(|_| {
        format!("\"@{flag}\" is not a stability flag; use @dev, @alpha, @beta, @RC or @stable")
    })?;
    // A bare `@dev` allows any version, down to dev stability.
    let head = if head.is_empty() { "*" } else { head };
    Ok((head, Some(stability)))
}

/// `dev-main#abc123` pins a commit for the installer; which versions match does not depend on it.
fn strip_commit_reference(text: &str) -> &str {
    let Some((head, _)) = text.split_once('#') else {
        return text;
    };
    let names_dev_version = strip_prefix_ignore_case(head, "dev-").is_some()
        || strip_suffix_ignore_case(head, ".x-dev").is_some();
    if names_dev_version { head } else { text }
}

fn parse_bounds(text: &str, stability_flag: Option<Stability>) -> Result<Vec<Bound>, String> {
    if let Some(bound) = any_version(text) {
        return Ok(vec![bound]);
    }
    if text.starts_with("~>") {
        return Err(format!(
            "\"{text}\" uses \"~>\", which Composer does not have; use \"~\" for a tilde range"
        ));
    }
    if let Some(version_text) = text.strip_prefix('~') {
        return tilde_range(version_text);
    }
    if let Some(version_text) = text.strip_prefix('^') {
        return caret_range(version_text);
    }
    if let Some(bounds) = wildcard_range(text) {
        return bounds;
    }
    if let Some((from, to)) = text.split_once(" - ") {
        return hyphen_range(from, to);
    }
    comparison(text, stability_flag)
}

/// `*` matches everything, `dev-<name>` branches included; `v*`, `*.*` and the like mean
/// `>=0.0.0.0-dev`, which leaves those branches out.
fn any_version(text: &str) -> Option<Bound> {
    let without_v = strip_v(text);
    let pieces: Vec<&str> = without_v.split('.').collect();
    if !pieces.iter().all(|piece| matches!(*piece, "*" | "x" | "X")) {
        return None;
    }
    if without_v.len() == text.len() && pieces.len() == 1 {
        return Some(Bound::AnyVersion);
    }
    let lowest = Version::parse("0.0.0.0-dev").ok()?;
    Some(Bound::Compare(Operator::GreaterOrEqual, lowest))
}

/// `~1.2` allows 1.2 up to 2.0; `~1.2.3` allows 1.2.3 up to 1.3: the last number given may grow.
fn tilde_range(version_text: &str) -> Result<Vec<Bound>, String> {
    let release = scan_range_version(version_text)?;
    let numbers = parse_numbers(&release.numbers)?;
    let fixed_count = numbers.len().saturating_sub(1).max(1);
    Ok(vec![
        lower_bound(&release)?,
        Bound::Compare(Operator::Less, start_of_next(&numbers[..fixed_count])?),
    ])
}

/// `^` keeps the leftmost non-zero number: `^1.2.3` < 2.0, `^0.3` < 0.4, `^0.0.3` < 0.0.4.
fn caret_range(version_text: &str) -> Result<Vec<Bound>, String> {
    let release = scan_range_version(version_text)?;
    let numbers = parse_numbers(&release.numbers)?;
    let fixed_count = match numbers.as_slice() {
        [0, 0, _, ..] => 3,
        [0, _, ..] => 2,
        _ => 1,
    };
    Ok(vec![
        lower_bound(&release)?,
        Bound::Compare(Operator::Less, start_of_next(&numbers[..fixed_count])?),
    ])
}

/// `1.2.*` or `1.2.x` means `>=1.2.0.0-dev <1.3.0.0-dev`; `None` if `text` is not such a range.
fn wildcard_range(text: &str) -> Option<Result<Vec<Bound>, String>> {
    let pieces: Vec<&str> = strip_v(text).split('.').collect();
    let number_count = pieces.iter().take_while(|piece| is_digits(piece)).count();
    let wildcards = &pieces[number_count..];
    let is_wildcard_range = (1..=3).contains(&number_count)
        && !wildcards.is_empty()
        && wildcards
            .iter()
            .all(|piece| matches!(*piece, "*" | "x" | "X"));
    if !is_wildcard_range {
        return None;
    }
    Some(parse_numbers(&pieces[..number_count]).and_then(|numbers| {
        let upper = Bound::Compare(Operator::Less, start_of_next(&numbers)?);
        if numbers.iter().all(|&number| number == 0) {
            return Ok(vec![upper]);
        }
        let mut lower_numbers = numbers;
        lower_numbers.resize(4, 0);
        let lower = version_from_parts(&lower_numbers, "-dev")?;
        Ok(vec![Bound::Compare(Operator::GreaterOrEqual, lower), upper])
    }))
}

/// `1.0 - 2.0` includes both ends; a partial upper end stands for its whole line, so `1.0 - 2.0`
/// allows every 2.0.x while `1.0.0 - 2.0.0` stops at 2.0.0.
fn hyphen_range(from: &str, to: &str) -> Result<Vec<Bound>, String> {
    let from = scan_range_version(from.trim())?;
    let to = scan_range_version(to.trim())?;
    let upper = if to.numbers.len() >= 3 || to.suffix.has_stability() {
        Bound::Compare(Operator::LessOrEqual, padded_version(&to, "")?)
    } else {
        let numbers = parse_numbers(&to.numbers)?;
        Bound::Compare(Operator::Less, start_of_next(&numbers)?)
    };
    Ok(vec![lower_bound(&from)?, upper])
}

fn comparison(text: &str, stability_flag: Option<Stability>) -> Result<Vec<Bound>, String> {
    let (operator, version_text) = Operator::SPELLINGS
        .iter()
        .find_map(|&(spelling, operator)| {
            text.strip_prefix(spelling)
                .map(|version_text| (operator, version_text))
        })
        .unwrap_or((Operator::Equal, text));
    let version_text = version_text.trim();
    if version_text.is_empty() {
        return Err(format!("\"{text}\" needs a version after the operator"));
    }
    let version = parse_compared_version(version_text)?;
    let bound_flag = stability_flag.filter(|&flag| flag != Stability::Stable);
    let version = match (operator, bound_flag) {
        (Operator::Equal, _) => version,
        // `>1.0@beta` reaches down into 1.0's pre-releases of that stability.
        (_, Some(flag)) if version.stability() == Stability::Stable => {
            parse_bound_version(&format!("{version}-{flag}"))?
        }
        // `<2.0` must also exclude 2.0's pre-releases, and `>=2.0` must include them, so
        // Composer moves both to `2.0.0.0-dev` unless a stability is written out.
        (Operator::Less | Operator::GreaterOrEqual, _)
            if !names_stability(version_text) && !version.is_named_branch() =>
        {
            parse_bound_version(&format!("{version}-dev"))?
        }
        _ => version,
    };
    Ok(vec![Bound::Compare(operator, version)])
}

/// Reads the version of a comparison. Like Composer, `feature-dev` is read as the branch
/// `dev-feature` when it is not a numbered version.
fn parse_compared_version(version_text: &str) -> Result<Version, String> {
    let error = match Version::parse(version_text) {
        Ok(version) => return Ok(version),
        Err(error) => error,
    };
    let branch = version_text.strip_suffix("-dev").filter(|branch| {
        !branch.is_empty()
            && branch
                .chars()
                .all(|character| character.is_ascii_alphanumeric() || "-./".contains(character))
    });
    match branch {
        Some(branch) => parse_bound_version(&format!("dev-{branch}")),
        None => Err(format!(
            "\"{version_text}\" is not a version: {}",
            error.reason()
        )),
    }
}

/// True if the written version ends in `-` and a stability suffix, as in `1.0-beta` or `1.0-dev`.
fn names_stability(version_text: &str) -> bool {
    version_text
        .match_indices('-')
        .any(|(index, _)| is_suffix(&version_text[index + 1..]))
}

/// Reads the version of a tilde, caret or hyphen range: numbers without wildcards, with an
/// optional suffix and build metadata.
fn scan_range_version(text: &str) -> Result<ReleaseSyntax<'_>, String> {
    let without_build_metadata = text.split_once('+').map_or(text, |(head, _)| head);
    scan_release(without_build_metadata).ok_or_else(|| {
        if text.contains(['*', 'x', 'X']) {
            format!("\"{text}\" has a wildcard, which ~, ^ and - ranges do not take; write 1.2.* instead")
        } else {
            format!("\"{text}\" is not a version such as 1.2.3 or 1.2.3-beta1")
        }
    })
}

/// Without a written stability, a range starts at the `-dev` of its first version so that this
/// version's pre-releases match too.
fn lower_bound(release: &ReleaseSyntax<'_>) -> Result<Bound, String> {
    let extra_suffix = if release.suffix.has_stability() {
        ""
    } else {
        "-dev"
    };
    Ok(Bound::Compare(
        Operator::GreaterOrEqual,
        padded_version(release, extra_suffix)?,
    ))
}

fn padded_version(release: &ReleaseSyntax<'_>, extra_suffix: &str) -> Result<Version, String> {
    let mut numbers = release.numbers.clone();
    numbers.resize(4, "0");
    let normalized = normalized_release_text(&numbers, release.suffix)
        .ok_or_else(|| too_large(&release.numbers))?;
    parse_bound_version(&format!("{normalized}{extra_suffix}"))
}

/// The first version after the line given by `fixed`: `[1, 2]` gives `1.3.0.0-dev`.
fn start_of_next(fixed: &[u64]) -> Result<Version, String> {
    let mut parts = fixed.to_vec();
    if let Some(last) = parts.last_mut() {
        *last = last
            .checked_add(1)
            .ok_or_else(|| format!("{last} is too large"))?;
    }
    parts.resize(4, 0);
    version_from_parts(&parts, "-dev")
}

fn version_from_parts(parts: &[u64], suffix: &str) -> Result<Version, String> {
    let numbers: Vec<String> = parts.iter().map(u64::to_string).collect();
    parse_bound_version(&format!("{}{suffix}", numbers.join(".")))
}

fn parse_numbers(numbers: &[&str]) -> Result<Vec<u64>, String> {
    numbers
        .iter()
        .map(|number| number.parse::<u64>().map_err(|_| too_large(numbers)))
        .collect()
}

fn too_large(numbers: &[&str]) -> String {
    format!("a number in \"{}\" is too large", numbers.join("."))
}

/// Parses a bound we built ourselves from parts that were already checked.
fn parse_bound_version(text: &str) -> Result<Version, String> {
    Version::parse(text).map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn constraint(text: &str) -> Constraint {
        Constraint::parse(text).unwrap_or_else(|error| panic!("{error}"))
    }

    fn matches(constraint_text: &str, version_text: &str) -> bool {
        let version = Version::parse(version_text).unwrap_or_else(|error| panic!("{error}"));
        constraint(constraint_text).matches(&version)
    }

    /// Asserts which of `versions` match, given as `(version, expected)`.
    fn assert_matching(constraint_text: &str, versions: &[(&str, bool)]) {
        for &(version_text, expected) in versions {
            assert_eq!(
                matches(constraint_text, version_text),
                expected,
                "{constraint_text:?} matching {version_text:?}"
            );
        }
    }

    #[test]
    fn normalizes_bounds_like_composer() {
        let cases = [
            ("1.0.0", "==1.0.0.0"),
            ("=1.0", "==1.0.0.0"),
            ("==1.0", "==1.0.0.0"),
            ("!=1.0", "!=1.0.0.0"),
            ("<>1.0", "!=1.0.0.0"),
            ("<1.2", "<1.2.0.0-dev"),
            ("<=1.2", "<=1.2.0.0"),
            (">1.2", ">1.2.0.0"),
            (">=1.2", ">=1.2.0.0-dev"),
            (">= 1.2", ">=1.2.0.0-dev"),
            (">=1.2-beta", ">=1.2.0.0-beta"),
            ("<2.0-dev", "<2.0.0.0-dev"),
            ("*", "*"),
            ("v*", ">=0.0.0.0-dev"),
            ("*.*", ">=0.0.0.0-dev"),
            ("1.*", ">=1.0.0.0-dev <2.0.0.0-dev"),
            ("1.2.*", ">=1.2.0.0-dev <1.3.0.0-dev"),
            ("1.2.x", ">=1.2.0.0-dev <1.3.0.0-dev"),
            ("v1.2.3.*", ">=1.2.3.0-dev <1.2.4.0-dev"),
            ("0.*", "<1.0.0.0-dev"),
            ("~1", ">=1.0.0.0-dev <2.0.0.0-dev"),
            ("~1.2", ">=1.2.0.0-dev <2.0.0.0-dev"),
            ("~1.2.3", ">=1.2.3.0-dev <1.3.0.0-dev"),
            ("~1.2.3.4", ">=1.2.3.4-dev <1.2.4.0-dev"),
            ("~1.2-beta", ">=1.2.0.0-beta <2.0.0.0-dev"),
            ("~1.2-stable", ">=1.2.0.0 <2.0.0.0-dev"),
            ("^1.2.3", ">=1.2.3.0-dev <2.0.0.0-dev"),
            ("^1.2", ">=1.2.0.0-dev <2.0.0.0-dev"),
            ("^v1.2", ">=1.2.0.0-dev <2.0.0.0-dev"),
            ("^0.3", ">=0.3.0.0-dev <0.4.0.0-dev"),
            ("^0.3.2", ">=0.3.2.0-dev <0.4.0.0-dev"),
            ("^0.0.3", ">=0.0.3.0-dev <0.0.4.0-dev"),
            ("^0", ">=0.0.0.0-dev <1.0.0.0-dev"),
            ("^0.0", ">=0.0.0.0-dev <0.1.0.0-dev"),
            ("^1.0.0-beta2", ">=1.0.0.0-beta2 <2.0.0.0-dev"),
            ("^1.2.3+build", ">=1.2.3.0-dev <2.0.0.0-dev"),
            ("1.0 - 2.0", ">=1.0.0.0-dev <2.1.0.0-dev"),
            ("1.0 - 2", ">=1.0.0.0-dev <3.0.0.0-dev"),
            ("1.0.0 - 2.1.0", ">=1.0.0.0-dev <=2.1.0.0"),
            ("1.0.0 - 2.0.0-beta", ">=1.0.0.0-dev <=2.0.0.0-beta"),
            ("1.0-RC1 - 2.0", ">=1.0.0.0-RC1 <2.1.0.0-dev"),
            (
                ">=1.0 <1.1 || >=1.2",
                ">=1.0.0.0-dev <1.1.0.0-dev || >=1.2.0.0-dev",
            ),
            (">=1.0,<2.0", ">=1.0.0.0-dev <2.0.0.0-dev"),
            (">=1.0, <2.0", ">=1.0.0.0-dev <2.0.0.0-dev"),
            (
                "^1.0 | ^2.0",
                ">=1.0.0.0-dev <2.0.0.0-dev || >=2.0.0.0-dev <3.0.0.0-dev",
            ),
            ("dev-master", "==dev-master"),
            ("dev-master#abc123", "==dev-master"),
            ("1.0.x-dev", "==1.0.9999999.9999999-dev"),
            ("1.0.x-dev#abc123", "==1.0.9999999.9999999-dev"),
            ("1.0.x-dev as 1.0.0", "==1.0.9999999.9999999-dev"),
            ("dev-main as 2.1.x-dev", "==dev-main"),
            ("feature-dev", "==dev-feature"),
            ("@dev", "*"),
            ("1.0@dev", "==1.0.0.0"),
            ("^1.2@beta", ">=1.2.0.0-dev <2.0.0.0-dev"),
            (">1.0@beta", ">1.0.0.0-beta"),
            ("<2.0@RC", "<2.0.0.0-RC"),
            (">=1.0@stable", ">=1.0.0.0-dev"),
        ];
        for (input, expected) in cases {
            assert_eq!(constraint(input).to_string(), expected, "parsing {input:?}");
        }
    }

    #[test]
    fn records_stability_flags() {
        let cases = [
            ("^1.0", None),
            ("@dev", Some(Stability::Dev)),
            ("^1.2@beta", Some(Stability::Beta)),
            ("1.0@RC", Some(Stability::ReleaseCandidate)),
            ("dev-main@dev", Some(Stability::Dev)),
            ("^1.0@stable", Some(Stability::Stable)),
            ("^1.0@dev || ^2.0@beta", Some(Stability::Dev)),
            ("^1.0@beta, <1.5@alpha", Some(Stability::Alpha)),
        ];
        for (input, expected) in cases {
            assert_eq!(
                constraint(input).stability_flag(),
                expected,
                "flag of {input:?}"
            );
        }
    }

    #[test]
    fn keeps_the_pretty_string() {
        assert_eq!(
            constraint(" ^1.2 || ^2.0@dev ").pretty(),
            "^1.2 || ^2.0@dev"
        );
    }

    #[test]
    fn caret_below_one_stays_within_the_leftmost_nonzero_number() {
        assert_matching(
            "^0.3",
            &[
                ("0.3.0", true),
                ("0.3.9", true),
                ("0.3.0-beta1", true),
                ("0.4.0", false),
                ("0.2.9", false),
                ("1.0.0", false),
            ],
        );
        assert_matching(
            "^0.0.3",
            &[("0.0.3", true), ("0.0.4", false), ("0.0.2", false)],
        );
        assert_matching(
            "^1.2",
            &[
                ("1.2.0", true),
                ("1.9.9", true),
                ("1.x-dev", true),
                ("1.1.9", false),
                ("2.0.0-alpha1", false),
            ],
        );
    }

    #[test]
    fn tilde_lets_the_last_given_number_grow() {
        assert_matching(
            "~1",
            &[
                ("1.0", true),
                ("1.9.9", true),
                ("0.9", false),
                ("2.0.0", false),
                ("2.0.0-alpha1", false),
            ],
        );
        assert_matching(
            "~1.2",
            &[
                ("1.2.0", true),
                ("1.9", true),
                ("1.1.9", false),
                ("2.0", false),
            ],
        );
        assert_matching(
            "~1.2.3",
            &[
                ("1.2.3", true),
                ("1.2.99", true),
                ("1.2.2", false),
                ("1.3.0", false),
            ],
        );
    }

    #[test]
    fn wildcards_cover_their_line() {
        assert_matching(
            "1.2.*",
            &[
                ("1.2.0", true),
                ("1.2.99", true),
                ("1.2.0-RC1", true),
                ("1.3.0", false),
                ("1.1.0", false),
            ],
        );
    }

    #[test]
    fn hyphen_ranges_treat_a_partial_upper_end_as_its_line() {
        assert_matching(
            "1.0 - 2.0",
            &[
                ("1.0.0", true),
                ("2.0.5", true),
                ("0.9", false),
                ("2.1.0", false),
            ],
        );
        assert_matching(
            "1.0.0 - 2.0.0",
            &[("2.0.0", true), ("2.0.0-RC1", true), ("2.0.1", false)],
        );
    }

    #[test]
    fn alternatives_match_if_any_matches() {
        assert_matching(
            ">=1.0 <1.1 || >=1.2",
            &[
                ("1.0.5", true),
                ("1.2.0", true),
                ("3.0", true),
                ("0.9", false),
                ("1.1.0", false),
                ("1.1.5", false),
            ],
        );
        assert_matching("^1.0 || ^2.0", &[("2.5", true), ("3.0", false)]);
    }

    #[test]
    fn pre_releases_sit_below_their_release() {
        assert_matching(
            "2.0.0",
            &[("2.0.0", true), ("v2.0.0", true), ("2.0.0-RC1", false)],
        );
        assert_matching("<2.0.0", &[("1.9", true), ("2.0.0-RC1", false)]);
        assert_matching(
            "<=2.0.0",
            &[("2.0.0-RC1", true), ("2.0.0", true), ("2.0.1", false)],
        );
        assert_matching(
            ">2.0.0-RC1",
            &[("2.0.0", true), ("2.0.0-RC2", true), ("2.0.0-RC1", false)],
        );
        assert_matching(">=2.0", &[("2.0.0-alpha1", true), ("1.9.9", false)]);
    }

    #[test]
    fn stability_flags_do_not_change_matching_of_ranges() {
        assert_matching("^1.2@dev", &[("1.3.0-beta", true), ("2.0.0", false)]);
        assert_matching(
            ">1.0@beta",
            &[
                ("1.0.0-RC1", true),
                ("1.0.0-beta1", true),
                ("1.0.0-alpha", false),
            ],
        );
    }

    #[test]
    fn branches_match_only_by_name() {
        assert_matching(
            "dev-master",
            &[("dev-master", true), ("dev-main", false), ("1.0", false)],
        );
        assert_matching("dev-main#abc123", &[("dev-main", true)]);
        assert_matching(">=1.0", &[("dev-master", false)]);
        assert_matching("<99.0", &[("dev-feature", false)]);
        assert_matching(
            "!=1.5",
            &[("1.5.0", false), ("1.6", true), ("dev-master", true)],
        );
        assert_matching("!=dev-master", &[("dev-master", false), ("dev-main", true)]);
        assert_matching(
            "1.x-dev",
            &[
                ("1.x-dev", true),
                ("1.9999999.9999999.9999999-dev", true),
                ("1.5", false),
            ],
        );
    }

    #[test]
    fn star_matches_branches_but_v_star_does_not() {
        assert_matching("*", &[("dev-feature", true), ("1.0", true)]);
        assert_matching("@dev", &[("dev-feature", true)]);
        assert_matching("v*", &[("dev-feature", false), ("0.0.1", true)]);
        assert_matching("*.*", &[("dev-feature", false), ("0.0.0-alpha", true)]);
    }

    #[test]
    fn rejects_invalid_constraints_naming_the_part() {
        let cases = [
            ("", "empty"),
            ("   ", "empty"),
            ("~>1.2", "\"~>1.2\" uses \"~>\""),
            ("foo", "\"foo\" is not a version"),
            ("^1.0 || foo", "\"foo\" is not a version"),
            ("^1.0 ||", "`||` needs a constraint on both sides"),
            ("|| ^1.0", "`||` needs a constraint on both sides"),
            ("^1.0,,^2.0", "`,` needs a constraint on both sides"),
            ("^1.0,", "`,` needs a constraint on both sides"),
            ("^1.x", "\"1.x\" has a wildcard"),
            ("~1.*", "\"1.*\" has a wildcard"),
            ("^foo", "\"foo\" is not a version such as"),
            ("1.0@foo", "\"@foo\" is not a stability flag"),
            (">=", "\">=\" needs a version"),
            ("1.0 - foo", "\"foo\" is not a version such as"),
            ("1.0 -2.0", "\"-2.0\" is not a version"),
            ("dev-", "\"dev-\" is not a version"),
        ];
        for (input, reason) in cases {
            let error = Constraint::parse(input).expect_err(input);
            assert_eq!(error.constraint(), input);
            assert!(
                error.reason().contains(reason),
                "{input:?} failed with {:?}, expected it to contain {reason:?}",
                error.reason()
            );
        }
    }

    #[test]
    fn error_message_names_the_constraint_and_the_part() {
        let error = Constraint::parse("^1.0 || foo").expect_err("foo is not a version");
        assert_eq!(
            error.to_string(),
            "invalid version constraint \"^1.0 || foo\": \"foo\" is not a version: expected a version such as 1.2.3, v1.2, 1.2.3-beta1, 1.2.x-dev or dev-main"
        );
    }
}
