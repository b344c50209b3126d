//! Package versions as Composer normalises and orders them.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// Composer writes a branch such as `1.x-dev` as `1.9999999.9999999.9999999-dev`, so that the branch
/// sorts above every release of its line.
const BRANCH_WILDCARD: u64 = 9_999_999;

/// Branches that Composer treats as the default branch when sorting.
const DEFAULT_BRANCHES: [&str; 3] = ["master", "trunk", "default"];

/// How stable a version is, least stable first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stability {
    Dev,
    Alpha,
    Beta,
    ReleaseCandidate,
    Stable,
}

impl Stability {
    /// The spelling Composer uses in `minimum-stability` and `@` flags.
    pub fn as_str(self) -> &'static str {
        match self {
            Stability::Dev => "dev",
            Stability::Alpha => "alpha",
            Stability::Beta => "beta",
            Stability::ReleaseCandidate => "RC",
            Stability::Stable => "stable",
        }
    }
}

impl fmt::Display for Stability {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for Stability {
    type Err = UnknownStability;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [
            Stability::Dev,
            Stability::Alpha,
            Stability::Beta,
            Stability::ReleaseCandidate,
            Stability::Stable,
        ]
        .into_iter()
        .find(|stability| stability.as_str().eq_ignore_ascii_case(text))
        .ok_or_else(|| UnknownStability(text.to_owned()))
    }
}

/// A stability name that Composer does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown stability \"{0}\": expected dev, alpha, beta, RC or stable")]
pub struct UnknownStability(pub String);

/// A version string that Composer would reject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid version \"{input}\": {reason}")]
pub struct VersionError {
    input: String,
    reason: String,
}

impl VersionError {
    fn new(input: &str, reason: &str) -> Self {
        Self {
            input: input.to_owned(),
            reason: reason.to_owned(),
        }
    }

    /// The version string as given.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// Why the string is not a version.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// A package version, normalised the way Composer's `VersionParser::normalize` does it.
///
/// Equality and ordering follow Composer's comparison, so `1.02` equals `1.2`. Named branches
/// (`dev-feature`) have no place among releases: they sort below every release, except the default
/// branches `dev-master`, `dev-trunk` and `dev-default`, which sort like `9999999-dev` as in
/// Composer's own sorting.
#[derive(Debug, Clone)]
pub struct Version {
    pretty: String,
    normalized: String,
    kind: VersionKind,
}

#[derive(Debug, Clone)]
enum VersionKind {
    Release(Release),
    /// `dev-<name>`; holds the name without `dev-`.
    NamedBranch(String),
}

/// A numbered version: a release, a pre-release, or a numbered branch such as `1.x-dev`.
#[derive(Debug, Clone)]
struct Release {
    parts: Vec<u64>,
    tier: Tier,
    tier_numbers: Vec<u64>,
    dev: bool,
}

/// The suffix after the numbers, in Composer's sort order: `1.0-dev` < `1.0-alpha` < `1.0-beta` <
/// `1.0-RC` < `1.0` < `1.0-patch`. `Dev` stands for a bare `-dev` suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tier {
    Dev,
    Alpha,
    Beta,
    ReleaseCandidate,
    Stable,
    Patch,
}

impl Tier {
    fn normalized_name(self) -> &'static str {
        match self {
            Tier::Dev => "dev",
            Tier::Alpha => "alpha",
            Tier::Beta => "beta",
            Tier::ReleaseCandidate => "RC",
            Tier::Stable => "stable",
            Tier::Patch => "patch",
        }
    }
}

/// Spellings of stability words after a version number. Longer spellings come first so that
/// `beta` is not read as `b` followed by garbage.
const TIER_SPELLINGS: [(&str, Tier); 9] = [
    ("stable", Tier::Stable),
    ("beta", Tier::Beta),
    ("b", Tier::Beta),
    ("rc", Tier::ReleaseCandidate),
    ("alpha", Tier::Alpha),
    ("a", Tier::Alpha),
    ("patch", Tier::Patch),
    ("pl", Tier::Patch),
    ("p", Tier::Patch),
];

impl Version {
    /// Parses and normalises a version such as `v1.2`, `1.0.0-beta2`, `20100102`, `1.x-dev` or `dev-main`.
    ///
    /// An alias (`1.0.x-dev as 1.0.0`) is rejected: the caller decides which side matters.
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        let text = input.trim();
        let fail = |reason: &str| VersionError::new(input, reason);
        if text.is_empty() {
            return Err(fail("the version is empty"));
        }
        if text.split_whitespace().nth(1) == Some("as") {
            return Err(fail(
                "this is an alias (`<version> as <alias>`); parse the part before `as`",
            ));
        }
        if text.contains(char::is_whitespace) {
            return Err(fail("a version cannot contain spaces"));
        }
        if DEFAULT_BRANCHES.contains(&text) {
            return Ok(Self::named_branch(text, text));
        }
        if let Some(name) = strip_prefix_ignore_case(text, "dev-") {
            if name.is_empty() {
                return Err(fail("`dev-` must be followed by a branch name"));
            }
            return Ok(Self::named_branch(text, name));
        }

        let without_build_metadata = match text.split_once('+') {
            None => text,
            Some((head, metadata)) if !head.is_empty() && !metadata.is_empty() => head,
            Some(_) => return Err(fail("build metadata needs text on both sides of `+`")),
        };
        let (number_texts, suffix) = if let Some(release) = scan_release(without_build_metadata) {
            let mut numbers = release.numbers;
            numbers.resize(4, "0");
            (numbers, release.suffix)
        } else if let Some((date, suffix)) = scan_date(without_build_metadata) {
            (date.split(DATE_SEPARATORS).collect(), suffix)
        } else if let Some(numbers) = scan_numbered_branch(without_build_metadata) {
            let suffix = Suffix {
                word: None,
                dev: true,
            };
            (numbers, suffix)
        } else {
            return Err(fail(
                "expected a version such as 1.2.3, v1.2, 1.2.3-beta1, 1.2.x-dev or dev-main",
            ));
        };
        let (release, normalized) = build_release(&number_texts, suffix)
            .ok_or_else(|| fail("a number in it is too large"))?;
        Ok(Self {
            pretty: text.to_owned(),
            normalized,
            kind: VersionKind::Release(release),
        })
    }

    fn named_branch(pretty: &str, name: &str) -> Self {
        Self {
            pretty: pretty.to_owned(),
            normalized: format!("dev-{name}"),
            kind: VersionKind::NamedBranch(name.to_owned()),
        }
    }

    /// The version as it was written, e.g. `v1.2`.
    pub fn pretty(&self) -> &str {
        &self.pretty
    }

    /// The normalised form, e.g. `1.2.0.0`; the same as `Display`.
    pub fn normalized(&self) -> &str {
        &self.normalized
    }

    pub fn stability(&self) -> Stability {
        match &self.kind {
            VersionKind::NamedBranch(_) => Stability::Dev,
            VersionKind::Release(release) if release.dev => Stability::Dev,
            VersionKind::Release(release) => match release.tier {
                Tier::Dev => Stability::Dev,
                Tier::Alpha => Stability::Alpha,
                Tier::Beta => Stability::Beta,
                Tier::ReleaseCandidate => Stability::ReleaseCandidate,
                Tier::Stable | Tier::Patch => Stability::Stable,
            },
        }
    }

    /// True for branches: `dev-<name>` and numbered branches such as `1.x-dev`.
    pub fn is_dev_branch(&self) -> bool {
        match &self.kind {
            VersionKind::NamedBranch(_) => true,
            VersionKind::Release(release) => {
                release.dev
                    && release.tier == Tier::Dev
                    && release.parts.last() == Some(&BRANCH_WILDCARD)
            }
        }
    }

    /// The first number; `None` for `dev-<name>` branches.
    pub fn major(&self) -> Option<u64> {
        self.part(0)
    }

    /// The second number; `None` for `dev-<name>` branches, for the `x` of a branch such as
    /// `1.x-dev`, and for date versions without a second number.
    pub fn minor(&self) -> Option<u64> {
        self.part(1)
    }

    /// The third number, with the same `None` cases as [`Version::minor`].
    pub fn patch(&self) -> Option<u64> {
        self.part(2)
    }

    fn part(&self, index: usize) -> Option<u64> {
        let VersionKind::Release(release) = &self.kind else {
            return None;
        };
        let part = *release.parts.get(index)?;
        let is_branch_wildcard = part == BRANCH_WILDCARD && self.is_dev_branch();
        (!is_branch_wildcard).then_some(part)
    }

    /// True for `dev-<name>`, which Composer compares with other versions only for (in)equality.
    pub(crate) fn is_named_branch(&self) -> bool {
        matches!(self.kind, VersionKind::NamedBranch(_))
    }

    fn order_key(&self) -> OrderKey<'_> {
        match &self.kind {
            VersionKind::NamedBranch(name) if DEFAULT_BRANCHES.contains(&name.as_str()) => {
                OrderKey::Release {
                    parts: &[BRANCH_WILDCARD],
                    tier: Tier::Dev,
                    tier_numbers: &[],
                    is_final: false,
                }
            }
            VersionKind::NamedBranch(name) => OrderKey::NamedBranch(name),
            VersionKind::Release(release) => OrderKey::Release {
                parts: &release.parts,
                tier: release.tier,
                tier_numbers: &release.tier_numbers,
                is_final: !release.dev,
            },
        }
    }
}

/// What versions are compared by; the derived order is Composer's order.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum OrderKey<'a> {
    NamedBranch(&'a str),
    Release {
        parts: &'a [u64],
        tier: Tier,
        tier_numbers: &'a [u64],
        /// `1.0-beta2-dev` comes before `1.0-beta2`.
        is_final: bool,
    },
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.order_key().cmp(&other.order_key())
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl fmt::Display for Version {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.normalized)
    }
}

impl FromStr for Version {
    type Err = VersionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

/// A numbered version as written: `v?N(.N){0,3}` and a suffix.
pub(crate) struct ReleaseSyntax<'a> {
    /// One to four runs of digits.
    pub(crate) numbers: Vec<&'a str>,
    pub(crate) suffix: Suffix<'a>,
}

/// The part after the numbers, e.g. `-beta.2-dev`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Suffix<'a> {
    /// The stability word and the numbers written after it (`.2` in `-beta.2`).
    word: Option<(Tier, &'a str)>,
    dev: bool,
}

impl Suffix<'_> {
    /// True if the suffix names a stability (`-beta`, `-stable`, `-dev`), which stops Composer from
    /// adding its own `-dev` to a lower bound.
    pub(crate) fn has_stability(&self) -> bool {
        self.word.is_some() || self.dev
    }
}

/// Reads a numbered version; the first number has at most five digits, as in Composer, so that longer
/// numbers are read as dates.
pub(crate) fn scan_release(text: &str) -> Option<ReleaseSyntax<'_>> {
    let (first, mut rest) = split_digits(strip_v(text));
    if first.is_empty() || first.len() > 5 {
        return None;
    }
    let mut numbers = vec![first];
    while numbers.len() < 4 {
        let Some(after_dot) = rest.strip_prefix('.') else {
            break;
        };
        let (digits, after_digits) = split_digits(after_dot);
        if digits.is_empty() {
            break;
        }
        numbers.push(digits);
        rest = after_digits;
    }
    let suffix = scan_suffix(rest)?;
    Some(ReleaseSyntax { numbers, suffix })
}

/// The normalised text of a numbered version; `None` if a number overflows.
pub(crate) fn normalized_release_text(numbers: &[&str], suffix: Suffix<'_>) -> Option<String> {
    build_release(numbers, suffix).map(|(_, normalized)| normalized)
}

fn build_release(numbers: &[&str], suffix: Suffix<'_>) -> Option<(Release, String)> {
    let parts = numbers
        .iter()
        .map(|number| number.parse::<u64>().ok())
        .collect::<Option<Vec<_>>>()?;
    let mut normalized = numbers.join(".");
    let (tier, tier_numbers, dev) = match suffix.word {
        // Composer drops everything after `stable`, including a `-dev`.
        Some((Tier::Stable, _)) => (Tier::Stable, Vec::new(), false),
        Some((tier, written_numbers)) => {
            let written_numbers = written_numbers.trim_start_matches(['.', '-']);
            normalized.push('-');
            normalized.push_str(tier.normalized_name());
            normalized.push_str(written_numbers);
            let tier_numbers = written_numbers
                .split(['.', '-'])
                .filter(|number| !number.is_empty())
                .map(|number| number.parse::<u64>().ok())
                .collect::<Option<Vec<_>>>()?;
            (tier, tier_numbers, suffix.dev)
        }
        None if suffix.dev => (Tier::Dev, Vec::new(), true),
        None => (Tier::Stable, Vec::new(), false),
    };
    if dev {
        normalized.push_str("-dev");
    }
    let release = Release {
        parts,
        tier,
        tier_numbers,
        dev,
    };
    Some((release, normalized))
}

/// True if `text` is a whole suffix such as `beta2`, `RC1-dev` or `dev`.
pub(crate) fn is_suffix(text: &str) -> bool {
    scan_suffix(text).is_some()
}

/// Reads a suffix that must make up all of `text`: an optional separator, an optional stability
/// word with numbers, and an optional `dev`.
fn scan_suffix(text: &str) -> Option<Suffix<'_>> {
    let text = text.strip_prefix(['.', '_', '-']).unwrap_or(text);
    if let Some(dev) = scan_dev_marker(text) {
        return Some(Suffix { word: None, dev });
    }
    TIER_SPELLINGS.iter().find_map(|&(spelling, tier)| {
        let after_word = strip_prefix_ignore_case(text, spelling)?;
        let (numbers, after_numbers) = split_tier_numbers(after_word);
        let dev = scan_dev_marker(after_numbers)?;
        Some(Suffix {
            word: Some((tier, numbers)),
            dev,
        })
    })
}

/// `Some(false)` for nothing, `Some(true)` for `dev`, `-dev` or `.dev`, otherwise `None`.
fn scan_dev_marker(text: &str) -> Option<bool> {
    if text.is_empty() {
        return Some(false);
    }
    let text = text.strip_prefix(['.', '-']).unwrap_or(text);
    text.eq_ignore_ascii_case("dev").then_some(true)
}

/// Splits off the numbers after a stability word, such as `2`, `.2` or `-2.1`.
fn split_tier_numbers(text: &str) -> (&str, &str) {
    let mut end = 0;
    loop {
        let rest = &text[end..];
        let after_separator = rest.strip_prefix(['.', '-']).unwrap_or(rest);
        let (digits, _) = split_digits(after_separator);
        if digits.is_empty() {
            return text.split_at(end);
        }
        end += rest.len() - after_separator.len() + digits.len();
    }
}

const DATE_SEPARATORS: [char; 3] = ['.', ':', '-'];

/// Reads a date version such as `20100102` or `2010-01-02-beta`.
fn scan_date(text: &str) -> Option<(&str, Suffix<'_>)> {
    let text = strip_v(text);
    let bytes = text.as_bytes();
    let mut end = 0;
    while let Some(&byte) = bytes.get(end) {
        let separates_digits = end > 0
            && DATE_SEPARATORS.contains(&char::from(byte))
            && bytes.get(end + 1).is_some_and(u8::is_ascii_digit);
        if !byte.is_ascii_digit() && !separates_digits {
            break;
        }
        end += 1;
    }
    let (date, rest) = text.split_at(end);
    if !date_fits_pattern(date) {
        return None;
    }
    Some((date, scan_suffix(rest)?))
}

/// Composer's date versions are four digits, one to six groups of two digits and up to two groups of
/// one to three digits; a separator may only stand between groups.
fn date_fits_pattern(date: &str) -> bool {
    let segment_lengths: Vec<usize> = date.split(DATE_SEPARATORS).map(str::len).collect();
    let total_digits: usize = segment_lengths.iter().sum();
    let separator_offsets: Vec<usize> = segment_lengths
        .iter()
        .scan(0, |offset, length| {
            *offset += length;
            Some(*offset)
        })
        .take(segment_lengths.len() - 1)
        .collect();
    let short_group_tails: Vec<Vec<usize>> = std::iter::once(Vec::new())
        .chain((1..=3).map(|first| vec![first]))
        .chain((1..=3).flat_map(|first| (1..=3).map(move |second| vec![first, second])))
        .collect();
    (1..=6).any(|two_digit_groups| {
        short_group_tails.iter().any(|tail| {
            let group_lengths = std::iter::once(4)
                .chain(std::iter::repeat_n(2, two_digit_groups))
                .chain(tail.iter().copied());
            let group_ends: Vec<usize> = group_lengths
                .scan(0, |offset, length| {
                    *offset += length;
                    Some(*offset)
                })
                .collect();
            group_ends.last() == Some(&total_digits)
                && separator_offsets
                    .iter()
                    .all(|offset| group_ends.contains(offset))
        })
    })
}

/// Reads a numbered branch such as `1.x-dev` or `2.1.*-dev` and returns its four parts, with
/// wildcards and missing parts written as [`BRANCH_WILDCARD`].
fn scan_numbered_branch(text: &str) -> Option<Vec<&str>> {
    const WILDCARD_TEXT: &str = "9999999";
    let stem = strip_suffix_ignore_case(text, "dev")?;
    let stem = stem.strip_suffix(['.', '-']).unwrap_or(stem);
    let pieces: Vec<&str> = strip_v(stem).split('.').collect();
    let (first, others) = pieces.split_first()?;
    if pieces.len() > 4 || !is_digits(first) {
        return None;
    }
    let mut numbers = vec![*first];
    for piece in others {
        if matches!(*piece, "x" | "X" | "*") {
            numbers.push(WILDCARD_TEXT);
        } else if is_digits(piece) {
            numbers.push(piece);
        } else {
            return None;
        }
    }
    numbers.resize(4, WILDCARD_TEXT);
    Some(numbers)
}

pub(crate) fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit())
}

fn split_digits(text: &str) -> (&str, &str) {
    let end = text
        .find(|character: char| !character.is_ascii_digit())
        .unwrap_or(text.len());
    text.split_at(end)
}

pub(crate) fn strip_v(text: &str) -> &str {
    text.strip_prefix(['v', 'V']).unwrap_or(text)
}

pub(crate) fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

pub(crate) fn strip_suffix_ignore_case<'a>(text: &'a str, suffix: &str) -> Option<&'a str> {
    let split_at = text.len().checked_sub(suffix.len())?;
    let tail = text.get(split_at..)?;
    tail.eq_ignore_ascii_case(suffix).then(|| &text[..split_at])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(text: &str) -> Version {
        Version::parse(text).unwrap_or_else(|error| panic!("{error}"))
    }

    #[test]
    fn normalizes_like_composer() {
        let cases = [
            ("1.0.0", "1.0.0.0"),
            ("1.2", "1.2.0.0"),
            ("1", "1.0.0.0"),
            ("1.2.3.4", "1.2.3.4"),
            ("v2.0.0", "2.0.0.0"),
            ("V1.0", "1.0.0.0"),
            ("1.02", "1.02.0.0"),
            ("  1.0  ", "1.0.0.0"),
            ("1.0.0-beta2", "1.0.0.0-beta2"),
            ("1.0.0-beta.2", "1.0.0.0-beta2"),
            ("1.0.0RC1", "1.0.0.0-RC1"),
            ("1.0.0-rc1", "1.0.0.0-RC1"),
            ("1.0.0-a1", "1.0.0.0-alpha1"),
            ("1.0.0-alpha", "1.0.0.0-alpha"),
            ("1.0.0_b3", "1.0.0.0-beta3"),
            ("1.0.0.b3", "1.0.0.0-beta3"),
            ("1.0.0-BETA", "1.0.0.0-beta"),
            ("1.0.0-pl3", "1.0.0.0-patch3"),
            ("1.0.0-p1", "1.0.0.0-patch1"),
            ("1.0.0-patch", "1.0.0.0-patch"),
            ("1.0.0-dev", "1.0.0.0-dev"),
            ("1.0-dev", "1.0.0.0-dev"),
            ("1.0.0.dev", "1.0.0.0-dev"),
            ("1.0.0-beta2-dev", "1.0.0.0-beta2-dev"),
            ("1.0.0-stable", "1.0.0.0"),
            ("1.0.0+build.5", "1.0.0.0"),
            ("1.0.0-beta1+sha.abc", "1.0.0.0-beta1"),
            ("20100102", "20100102"),
            ("2010-01-02", "2010.01.02"),
            ("2010.01.02", "2010.01.02.0"),
            ("20100102-203040", "20100102.203040"),
            ("20100102-beta2", "20100102-beta2"),
            ("9999999-dev", "9999999-dev"),
            ("1.x-dev", "1.9999999.9999999.9999999-dev"),
            ("1.2.x-dev", "1.2.9999999.9999999-dev"),
            ("2.1.*-dev", "2.1.9999999.9999999-dev"),
            ("v3.X-dev", "3.9999999.9999999.9999999-dev"),
            ("dev-master", "dev-master"),
            ("master", "dev-master"),
            ("trunk", "dev-trunk"),
            ("dev-feature/x", "dev-feature/x"),
            ("DEV-Foo", "dev-Foo"),
            ("dev-1.x+meta", "dev-1.x+meta"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                version(input).to_string(),
                expected,
                "normalising {input:?}"
            );
        }
    }

    #[test]
    fn keeps_the_pretty_string() {
        let parsed = version(" v1.2 ");
        assert_eq!(parsed.pretty(), "v1.2");
        assert_eq!(parsed.normalized(), "1.2.0.0");
    }

    #[test]
    fn rejects_what_composer_rejects() {
        let cases = [
            ("", "empty"),
            ("   ", "empty"),
            ("1.0.x-dev as 1.0.0", "alias"),
            ("1 .0", "spaces"),
            ("dev-", "branch name"),
            ("1.0+", "build metadata"),
            ("+build", "build metadata"),
            ("foo", "expected a version"),
            ("1.0.0-gamma", "expected a version"),
            ("1.x", "expected a version"),
            ("1.2.3.4.5", "expected a version"),
            ("1.0@dev", "expected a version"),
            ("~1.0", "expected a version"),
            ("1.0.0-beta-", "expected a version"),
            ("123456789012345678901234", "expected a version"),
            ("1.99999999999999999999999", "too large"),
        ];
        for (input, reason) in cases {
            let error = Version::parse(input).expect_err(input);
            assert_eq!(error.input(), input);
            assert!(
                error.reason().contains(reason),
                "{input:?} failed with {:?}, expected it to mention {reason:?}",
                error.reason()
            );
        }
    }

    #[test]
    fn error_message_names_the_version() {
        let error = Version::parse("1.0.0-gamma").expect_err("gamma is not a stability");
        assert_eq!(
            error.to_string(),
            "invalid version \"1.0.0-gamma\": expected a version such as 1.2.3, v1.2, 1.2.3-beta1, 1.2.x-dev or dev-main"
        );
    }

    #[test]
    fn orders_like_composer() {
        let ascending = [
            "dev-feature",
            "0.0.1",
            "1.0.0-dev",
            "1.0.0-alpha",
            "1.0.0-alpha2",
            "1.0.0-beta",
            "1.0.0-beta2-dev",
            "1.0.0-beta2",
            "1.0.0-beta10",
            "1.0.0-RC1",
            "1.0.0",
            "1.0.0-patch1",
            "1.0.1",
            "1.1",
            "1.x-dev",
            "2.0.0-RC1",
            "2.0.0",
            "10.0",
            "2010.01.02",
            // The default branch sorts as 9999999-dev: above any usual release, below a date.
            "dev-master",
            "20100102",
        ];
        for pair in ascending.windows(2) {
            assert!(
                version(pair[0]) < version(pair[1]),
                "expected {} < {}",
                pair[0],
                pair[1]
            );
        }
    }

    #[test]
    fn equal_versions_compare_equal() {
        assert_eq!(version("v1.0"), version("1.0.0.0"));
        assert_eq!(version("1.02"), version("1.2"));
        assert_eq!(version("1.0.0-b2"), version("1.0.0-beta.2"));
        // Composer sorts the default branch like its old normalised form.
        assert_eq!(version("dev-master"), version("9999999-dev"));
        assert_ne!(version("dev-feature"), version("dev-fix"));
        assert_ne!(version("2.0.0-RC1"), version("2.0.0"));
    }

    #[test]
    fn reports_stability() {
        let cases = [
            ("1.0.0", Stability::Stable),
            ("1.0.0-patch1", Stability::Stable),
            ("20100102", Stability::Stable),
            ("1.0.0-RC1", Stability::ReleaseCandidate),
            ("1.0.0-beta", Stability::Beta),
            ("1.0.0-a1", Stability::Alpha),
            ("1.0.0-beta2-dev", Stability::Dev),
            ("1.0.0-dev", Stability::Dev),
            ("1.x-dev", Stability::Dev),
            ("dev-master", Stability::Dev),
        ];
        for (input, expected) in cases {
            assert_eq!(
                version(input).stability(),
                expected,
                "stability of {input:?}"
            );
        }
    }

    #[test]
    fn stabilities_are_ordered_least_stable_first() {
        assert!(Stability::Dev < Stability::Alpha);
        assert!(Stability::Alpha < Stability::Beta);
        assert!(Stability::Beta < Stability::ReleaseCandidate);
        assert!(Stability::ReleaseCandidate < Stability::Stable);
    }

    #[test]
    fn parses_stability_names() {
        assert_eq!("rc".parse(), Ok(Stability::ReleaseCandidate));
        assert_eq!("Dev".parse(), Ok(Stability::Dev));
        assert_eq!("stable".parse(), Ok(Stability::Stable));
        assert_eq!(
            "gamma".parse::<Stability>(),
            Err(UnknownStability("gamma".to_owned()))
        );
        assert_eq!(Stability::ReleaseCandidate.to_string(), "RC");
    }

    #[test]
    fn exposes_major_minor_and_patch() {
        let release = version("v2.3.4");
        assert_eq!(
            (release.major(), release.minor(), release.patch()),
            (Some(2), Some(3), Some(4))
        );
        let line = version("1.x-dev");
        assert_eq!(
            (line.major(), line.minor(), line.patch()),
            (Some(1), None, None)
        );
        let minor_line = version("1.2.x-dev");
        assert_eq!(
            (minor_line.major(), minor_line.minor(), minor_line.patch()),
            (Some(1), Some(2), None)
        );
        assert_eq!(version("dev-master").major(), None);
        let date = version("20100102");
        assert_eq!((date.major(), date.minor()), (Some(20_100_102), None));
    }

    #[test]
    fn recognises_dev_branches() {
        assert!(version("dev-master").is_dev_branch());
        assert!(version("dev-feature/x").is_dev_branch());
        assert!(version("1.x-dev").is_dev_branch());
        assert!(version("1.2.9999999.9999999-dev").is_dev_branch());
        assert!(version("9999999-dev").is_dev_branch());
        assert!(!version("1.0.0-dev").is_dev_branch());
        assert!(!version("1.0.0").is_dev_branch());
        assert!(!version("1.0.0-beta1").is_dev_branch());
    }

    #[test]
    fn accepts_only_composer_date_shapes() {
        assert!(date_fits_pattern("201001"));
        assert!(date_fits_pattern("2010-01-02"));
        assert!(date_fits_pattern("2010.01.02.10.20.30"));
        assert!(date_fits_pattern("20100102-1"));
        // Too short, a separator inside a two-digit group, too many groups.
        assert!(!date_fits_pattern("20101"));
        assert!(!date_fits_pattern("2010-0-102"));
        assert!(date_fits_pattern("2010-01-02-03-04-05-06-07-08"));
        assert!(!date_fits_pattern("2010-01-02-03-04-05-06-07-08-09"));
    }
}
