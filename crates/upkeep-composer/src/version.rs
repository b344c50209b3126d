//! Package versions as Composer normalises and orders them.
//!
//! Composer (`composer/semver`) works on strings: `VersionParser::normalize` turns what people
//! write into a normalised string, and every comparison is PHP's `version_compare` on those strings,
//! with special rules for `dev-<name>` branches. This module reproduces both to the byte, quirks
//! included (for example `1.0-STABLE` normalises to `1.0.0.0-stable`, which sorts below
//! `1.0.0.0-dev`), because the upgrader must choose exactly the versions Composer would accept.
//! `tests/differential.rs` checks it against Composer's own library.
//!
//! Composer's rules are written as PCRE patterns; the scanners below follow those patterns,
//! including the order in which PCRE tries alternatives and that `$` also matches before a final
//! newline.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

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

    /// The stability of a version string, as Composer's `VersionParser::parseStability` reads it:
    /// `dev-*` and `*-dev` are dev, otherwise the last stability word decides (`1.0.0-beta2` is
    /// beta, `1.0.0-patch1` is stable). Works on written and on normalised versions; never fails.
    pub fn of_version(version: &str) -> Stability {
        // Numbers and dots, as every normalised release is, are stable: the only place the
        // stability pattern matches them is its empty match at the end. Checked first because
        // the search below tries every position.
        if version
            .bytes()
            .all(|byte| byte.is_ascii_digit() || byte == b'.')
        {
            return Stability::Stable;
        }
        let version = strip_commit_reference(version);
        if version.starts_with("dev-") || version.ends_with("-dev") {
            return Stability::Dev;
        }
        let lower = version.to_ascii_lowercase();
        // Composer searches for the first place where a stability suffix (and optional build
        // metadata) runs to the end; an empty suffix at the very end always matches.
        // A match cannot start at a digit: the suffix would be empty and not at the end.
        let found = (0..=lower.len())
            .filter(|&start| {
                lower.is_char_boundary(start)
                    && !lower.as_bytes().get(start).is_some_and(u8::is_ascii_digit)
            })
            .find_map(|start| {
                modifier_matches(&lower[start..], true)
                    .into_iter()
                    .find(|modifier| ends_with_build_metadata(&lower[start + modifier.len..]))
            });
        let Some(modifier) = found else {
            return Stability::Stable;
        };
        if modifier.dev {
            return Stability::Dev;
        }
        match modifier.word {
            Some("beta" | "b") => Stability::Beta,
            Some("alpha" | "a") => Stability::Alpha,
            Some("rc") => Stability::ReleaseCandidate,
            _ => Stability::Stable,
        }
    }
}

/// `preg_replace('{#.+$}', '', $version)`: drops a `#<commit>` suffix.
fn strip_commit_reference(version: &str) -> std::borrow::Cow<'_, str> {
    for (index, _) in version.match_indices('#') {
        let rest = &version[index + 1..];
        let run = rest.find('\n').unwrap_or(rest.len());
        if run > 0 && is_end(&rest[run..]) {
            return format!("{}{}", &version[..index], &rest[run..]).into();
        }
    }
    version.into()
}

/// `(?:\+.*)?$`: nothing, or build metadata without a line break, up to the end.
fn ends_with_build_metadata(rest: &str) -> bool {
    if is_end(rest) {
        return true;
    }
    rest.strip_prefix('+').is_some_and(|metadata| {
        let run = metadata.find('\n').unwrap_or(metadata.len());
        is_end(&metadata[run..])
    })
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

/// Versions longer than this are refused before they are parsed. Composer's own versions are a
/// few dozen bytes at most; the limit keeps a hostile lock file or repository from making the
/// PCRE-shaped scanners below (which try every position) spend minutes on one string.
pub const MAX_VERSION_BYTES: usize = 256;

/// Why a version longer than [`MAX_VERSION_BYTES`] is refused.
pub(crate) const TOO_LONG: &str = "longer than 256 bytes; Composer's versions are far shorter";

/// `text` for a message: as it is when short, else its start and its length, so that a
/// megabyte of input does not become a megabyte of error.
pub(crate) fn shown(text: &str) -> std::borrow::Cow<'_, str> {
    const SHOWN_CHARS: usize = 40;
    if text.chars().count() <= 2 * SHOWN_CHARS {
        return text.into();
    }
    let start: String = text.chars().take(SHOWN_CHARS).collect();
    format!("{start}… ({} bytes)", text.len()).into()
}

/// A version string that Composer would reject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid version \"{}\": {reason}", shown(input))]
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
/// Like Composer, parsing accepts and drops an alias (`1.0.x-dev as 1.0.0` is `1.0.x-dev`), a
/// stability flag (`1.0@dev`) and build metadata (`1.0+build.5`).
///
/// Ordering is Composer's sort order (`Semver::sort`): PHP's `version_compare` on the normalised
/// strings, with the default branches `dev-master`, `dev-trunk` and `dev-default` sorted as
/// `9999999-dev` and other `dev-<name>` branches below every numbered version. Composer leaves
/// two named branches unordered; here they are ordered by name so that the order is total.
/// Versions that `version_compare` finds equal (`1.02` and `1.2`) are equal.
#[derive(Debug, Clone)]
pub struct Version {
    pretty: String,
    normalized: Normalized,
}

impl Version {
    /// Parses and normalises a version such as `v1.2`, `1.0.0-beta2`, `20100102`, `1.x-dev` or
    /// `dev-main`, accepting exactly what Composer accepts.
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        let normalized = normalize(input).map_err(|reason| VersionError::new(input, reason))?;
        Ok(Self {
            pretty: php_trim(input).to_owned(),
            normalized: Normalized::new(normalized),
        })
    }

    /// A version whose normalised form is already known, as a repository's `version_normalized`
    /// gives it; Composer's loader takes that form as it is instead of normalising the pretty
    /// version again.
    pub(crate) fn from_normalized(pretty: &str, normalized: &str) -> Self {
        Self {
            pretty: php_trim(pretty).to_owned(),
            normalized: Normalized::new(normalized.to_owned()),
        }
    }

    /// The version as it was written (without surrounding whitespace), e.g. `v1.2`.
    pub fn pretty(&self) -> &str {
        &self.pretty
    }

    /// The normalised form, e.g. `1.2.0.0`; the same as `Display`.
    pub fn normalized(&self) -> &str {
        self.normalized.as_str()
    }

    /// The normalised form with its canonical form for comparisons.
    pub(crate) fn normalized_form(&self) -> &Normalized {
        &self.normalized
    }

    /// The stability Composer gives this version (`Stability::of_version` of the normalised form).
    pub fn stability(&self) -> Stability {
        Stability::of_version(self.normalized())
    }

    /// True for branches: `dev-<name>` and numbered branches such as `1.x-dev`
    /// (`1.9999999.9999999.9999999-dev`).
    pub fn is_dev_branch(&self) -> bool {
        if self.is_named_branch() {
            return true;
        }
        self.normalized()
            .strip_suffix("-dev")
            .is_some_and(|numbers| {
                numbers.split('.').all(is_digits)
                    && numbers.rsplit('.').next() == Some(BRANCH_WILDCARD)
            })
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
        if self.is_named_branch() {
            return None;
        }
        let normalized = self.normalized();
        let numbers = normalized
            .split_once('-')
            .map_or(normalized, |(numbers, _)| numbers);
        let part = numbers.split('.').nth(index)?;
        if part == BRANCH_WILDCARD && self.is_dev_branch() {
            return None;
        }
        part.parse().ok()
    }

    /// True for `dev-<name>`, which Composer compares with other versions only for (in)equality.
    pub(crate) fn is_named_branch(&self) -> bool {
        self.normalized.is_branch()
    }

    /// Composer's `Comparator::greaterThan`.
    pub fn greater_than(&self, other: &Version) -> bool {
        self.compare(ComparisonOperator::Greater, other)
    }

    /// Composer's `Comparator::greaterThanOrEqualTo`.
    pub fn greater_than_or_equal_to(&self, other: &Version) -> bool {
        self.compare(ComparisonOperator::GreaterOrEqual, other)
    }

    /// Composer's `Comparator::lessThan`. A named branch is below every numbered version, and
    /// two different named branches are neither above nor below each other.
    pub fn less_than(&self, other: &Version) -> bool {
        self.compare(ComparisonOperator::Less, other)
    }

    /// Composer's `Comparator::lessThanOrEqualTo`.
    pub fn less_than_or_equal_to(&self, other: &Version) -> bool {
        self.compare(ComparisonOperator::LessOrEqual, other)
    }

    /// Composer's `Comparator::equalTo`.
    pub fn equal_to(&self, other: &Version) -> bool {
        self.compare(ComparisonOperator::Equal, other)
    }

    /// Composer's `Comparator::notEqualTo`.
    pub fn not_equal_to(&self, other: &Version) -> bool {
        self.compare(ComparisonOperator::NotEqual, other)
    }

    /// `Comparator::compare($this, $operator, $other)`: like constraint matching, except that a
    /// named branch is compared with `version_compare` against numbered versions instead of
    /// never matching.
    fn compare(&self, operator: ComparisonOperator, other: &Version) -> bool {
        compare_with_branches(&self.normalized, operator, &other.normalized, true)
    }

    /// The string Composer sorts by: the old normalised form of the default branches.
    fn sort_key(&self) -> &Normalized {
        static DEFAULT_BRANCH: LazyLock<Normalized> =
            LazyLock::new(|| Normalized::new("9999999-dev".to_owned()));
        match self.normalized() {
            "dev-master" | "dev-trunk" | "dev-default" => &DEFAULT_BRANCH,
            _ => &self.normalized,
        }
    }
}

/// A numbered branch writes its `x` parts as this number, so `1.x-dev` sorts above every 1.x release.
const BRANCH_WILDCARD: &str = "9999999";

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let (left, right) = (self.sort_key(), other.sort_key());
        if left.as_str() == right.as_str() {
            return Ordering::Equal;
        }
        // `Comparator::lessThan` both ways, in one `version_compare`: two named branches are
        // never less than each other (ordered by name here), anything else is compared by PHP.
        if left.is_branch() && right.is_branch() {
            left.as_str().cmp(right.as_str())
        } else {
            left.version_compare(right)
        }
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
        formatter.write_str(self.normalized())
    }
}

impl FromStr for Version {
    type Err = VersionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

// ---------------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------------

/// The comparison operators of Composer's constraints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ComparisonOperator {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

impl ComparisonOperator {
    /// Composer's spelling in `Constraint::__toString`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ComparisonOperator::Equal => "==",
            ComparisonOperator::NotEqual => "!=",
            ComparisonOperator::Less => "<",
            ComparisonOperator::LessOrEqual => "<=",
            ComparisonOperator::Greater => ">",
            ComparisonOperator::GreaterOrEqual => ">=",
        }
    }

    fn holds(self, ordering: Ordering) -> bool {
        match self {
            ComparisonOperator::Equal => ordering.is_eq(),
            ComparisonOperator::NotEqual => ordering.is_ne(),
            ComparisonOperator::Less => ordering.is_lt(),
            ComparisonOperator::LessOrEqual => ordering.is_le(),
            ComparisonOperator::Greater => ordering.is_gt(),
            ComparisonOperator::GreaterOrEqual => ordering.is_ge(),
        }
    }
}

/// A normalised version string and PHP's canonical form of it, computed once: versions are
/// compared far more often than they are parsed.
#[derive(Debug, Clone)]
pub(crate) struct Normalized {
    text: String,
    /// What `version_compare` compares: `php_canonicalize` of the text, or the text itself where
    /// PHP does not canonicalise (empty, or starting with `#`).
    canonical: Box<[u8]>,
}

impl Normalized {
    pub(crate) fn new(text: String) -> Self {
        let canonical = if text.is_empty() || text.starts_with('#') {
            text.as_bytes().into()
        } else {
            php_canonicalize(text.as_bytes()).into_boxed_slice()
        };
        Self { text, canonical }
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// A `dev-<name>` branch, which Composer compares only by name.
    pub(crate) fn is_branch(&self) -> bool {
        self.text.starts_with("dev-")
    }

    /// `version_compare($this, $other)`.
    fn version_compare(&self, other: &Normalized) -> Ordering {
        if self.text.is_empty() || other.text.is_empty() {
            return (!self.text.is_empty()).cmp(&!other.text.is_empty());
        }
        compare_canonical(&self.canonical, &other.canonical)
    }
}

/// Composer's `Constraint::versionCompare`: `dev-<name>` branches equal only themselves, and are
/// otherwise only comparable when `compare_branches` is set.
pub(crate) fn compare_with_branches(
    left: &Normalized,
    operator: ComparisonOperator,
    right: &Normalized,
    compare_branches: bool,
) -> bool {
    let left_is_branch = left.is_branch();
    let right_is_branch = right.is_branch();
    if operator == ComparisonOperator::NotEqual && (left_is_branch || right_is_branch) {
        return left.as_str() != right.as_str();
    }
    if left_is_branch && right_is_branch {
        return operator == ComparisonOperator::Equal && left.as_str() == right.as_str();
    }
    if !compare_branches && (left_is_branch || right_is_branch) {
        return false;
    }
    operator.holds(left.version_compare(right))
}

/// PHP's `version_compare($left, $right)` (ext/standard/versioning.c in PHP 8), byte for byte.
pub(crate) fn php_version_compare(left: &[u8], right: &[u8]) -> Ordering {
    if left.is_empty() || right.is_empty() {
        return (!left.is_empty()).cmp(&!right.is_empty());
    }
    let left = if left[0] == b'#' {
        left.to_vec()
    } else {
        php_canonicalize(left)
    };
    let right = if right[0] == b'#' {
        right.to_vec()
    } else {
        php_canonicalize(right)
    };
    compare_canonical(&left, &right)
}

/// The comparison loop of `php_version_compare` on strings already canonicalised.
fn compare_canonical(left: &[u8], right: &[u8]) -> Ordering {
    // Positions in the C code: `p` is the start of the current element, `n` the dot ending it
    // (`None` once an element ran to the end of the string).
    let (mut p1, mut p2) = (0, 0);
    let (mut n1, mut n2) = (Some(0), Some(0));
    let mut compare = Ordering::Equal;
    while p1 < left.len() && p2 < right.len() && n1.is_some() && n2.is_some() {
        n1 = find_dot(left, p1);
        n2 = find_dot(right, p2);
        let element1 = &left[p1..n1.unwrap_or(left.len())];
        let element2 = &right[p2..n2.unwrap_or(right.len())];
        compare = compare_elements(element1, element2);
        if compare != Ordering::Equal {
            break;
        }
        if let Some(dot) = n1 {
            p1 = dot + 1;
        }
        if let Some(dot) = n2 {
            p2 = dot + 1;
        }
    }
    if compare == Ordering::Equal {
        if n1.is_some() {
            compare = if left.get(p1).is_some_and(u8::is_ascii_digit) {
                Ordering::Greater
            } else {
                php_version_compare(&left[p1..], b"#N#")
            };
        } else if n2.is_some() {
            compare = if right.get(p2).is_some_and(u8::is_ascii_digit) {
                Ordering::Less
            } else {
                php_version_compare(b"#N#", &right[p2..])
            };
        }
    }
    compare
}

fn find_dot(text: &[u8], from: usize) -> Option<usize> {
    text[from..]
        .iter()
        .position(|&byte| byte == b'.')
        .map(|offset| from + offset)
}

fn compare_elements(element1: &[u8], element2: &[u8]) -> Ordering {
    let digit1 = element1.first().is_some_and(u8::is_ascii_digit);
    let digit2 = element2.first().is_some_and(u8::is_ascii_digit);
    match (digit1, digit2) {
        (true, true) => php_strtol(element1).cmp(&php_strtol(element2)),
        (false, false) => special_form_order(element1).cmp(&special_form_order(element2)),
        (true, false) => special_form_order(b"#N#").cmp(&special_form_order(element2)),
        (false, true) => special_form_order(element1).cmp(&special_form_order(b"#N#")),
    }
}

/// `strtol` on leading digits, saturating like C's at the largest `long`.
fn php_strtol(digits: &[u8]) -> i64 {
    digits
        .iter()
        .take_while(|byte| byte.is_ascii_digit())
        .try_fold(0_i64, |value, &digit| {
            value
                .checked_mul(10)
                .and_then(|value| value.checked_add(i64::from(digit - b'0')))
        })
        .unwrap_or(i64::MAX)
}

/// PHP ranks words by prefix: anything starting with `dev`, then `a`, `b`, `RC`/`rc`, a number
/// (`#`), `p`; any other word ranks below `dev`.
fn special_form_order(element: &[u8]) -> i8 {
    const FORMS: [(&[u8], i8); 10] = [
        (b"dev", 0),
        (b"alpha", 1),
        (b"a", 1),
        (b"beta", 2),
        (b"b", 2),
        (b"RC", 3),
        (b"rc", 3),
        (b"#", 4),
        (b"pl", 5),
        (b"p", 5),
    ];
    FORMS
        .iter()
        .find(|(form, _)| element.starts_with(form))
        .map_or(-1, |&(_, order)| order)
}

/// `php_canonicalize_version`: `-`, `_` and `+` become `.`, a `.` goes between digits and other
/// characters, and other non-alphanumeric characters become `.`; the first byte is kept as is.
fn php_canonicalize(version: &[u8]) -> Vec<u8> {
    let is_digit = |byte: u8| byte.is_ascii_digit();
    let is_non_digit = |byte: u8| !byte.is_ascii_digit() && byte != b'.';
    let mut canonical = Vec::with_capacity(version.len() * 2);
    let Some((&first, rest)) = version.split_first() else {
        return canonical;
    };
    canonical.push(first);
    let mut previous = first;
    for &byte in rest {
        let last_written = canonical.last().copied().unwrap_or(first);
        if matches!(byte, b'-' | b'_' | b'+') {
            if last_written != b'.' {
                canonical.push(b'.');
            }
        } else if (is_non_digit(previous) && is_digit(byte))
            || (is_digit(previous) && is_non_digit(byte))
        {
            if last_written != b'.' {
                canonical.push(b'.');
            }
            canonical.push(byte);
        } else if !byte.is_ascii_alphanumeric() {
            if last_written != b'.' {
                canonical.push(b'.');
            }
        } else {
            canonical.push(byte);
        }
        previous = byte;
    }
    canonical
}

// ---------------------------------------------------------------------------------------------
// Normalisation (`VersionParser::normalize`)
// ---------------------------------------------------------------------------------------------

/// `VersionParser::normalize`: the normalised string, or why Composer rejects the version.
pub(crate) fn normalize(input: &str) -> Result<String, &'static str> {
    let mut version = php_trim(input);
    if version.is_empty() {
        return Err("the version is empty");
    }
    if version.len() > MAX_VERSION_BYTES {
        return Err(TOO_LONG);
    }
    if let Some(real) = alias_source(version) {
        version = real;
    }
    if let Some(flag_length) = stability_flag_suffix(version) {
        version = &version[..version.len() - flag_length];
    }
    if matches!(version, "master" | "trunk" | "default") {
        return Ok(format!("dev-{version}"));
    }
    if let Some(name) = strip_prefix_ignore_case(version, "dev-") {
        return Ok(format!("dev-{name}"));
    }
    if let Some(without_metadata) = without_build_metadata(version) {
        version = without_metadata;
    }
    if let Some(normalized) = normalize_numbered(version) {
        return Ok(normalized);
    }
    if let Some(normalized) = normalize_dev_suffix(version) {
        return Ok(normalized);
    }
    Err("expected a version such as 1.2.3, v1.2, 1.2.3-beta1, 1.2.x-dev or dev-main")
}

/// PHP's `trim`: spaces, tabs, line breaks, NUL and vertical tabs (not form feeds).
pub(crate) fn php_trim(text: &str) -> &str {
    text.trim_matches([' ', '\t', '\n', '\r', '\0', '\x0B'])
}

/// PCRE's `\s` in PHP: ASCII whitespace including vertical tab and form feed.
pub(crate) fn is_pcre_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\x0B' | b'\x0C' | b'\r')
}

/// PCRE's `$` without the `D` modifier: the end, or just before a final line break.
pub(crate) fn is_end(rest: &str) -> bool {
    rest.is_empty() || rest == "\n"
}

/// `^([^,\s]++) ++as ++([^,\s]++)$`: the real version of an alias.
pub(crate) fn alias_source(text: &str) -> Option<&str> {
    let word_end = |from: usize| {
        text[from..]
            .bytes()
            .position(|byte| byte == b',' || is_pcre_space(byte))
            .map_or(text.len(), |offset| from + offset)
    };
    let real_end = word_end(0);
    if real_end == 0 {
        return None;
    }
    let after_real = &text[real_end..];
    let spaces = after_real.len() - after_real.trim_start_matches(' ').len();
    let after_as = after_real[spaces..].strip_prefix("as")?;
    let spaces_after = after_as.len() - after_as.trim_start_matches(' ').len();
    if spaces == 0 || spaces_after == 0 {
        return None;
    }
    let alias_start = text.len() - after_as.len() + spaces_after;
    let alias_end = word_end(alias_start);
    (alias_end > alias_start && is_end(&text[alias_end..])).then(|| &text[..real_end])
}

/// The stability words an `@` flag may name.
const FLAG_WORDS: [&str; 5] = ["stable", "RC", "beta", "alpha", "dev"];

/// `^(?:stable|RC|beta|alpha|dev)$` (any case) on what follows an `@`: the flag as written.
pub(crate) fn flag_word(text: &str) -> Option<&str> {
    FLAG_WORDS.iter().find_map(|word| {
        let after = strip_prefix_ignore_case(text, word)?;
        is_end(after).then(|| &text[..word.len()])
    })
}

/// `@(?:stable|RC|beta|alpha|dev)$` (any case): the length of that match, to cut it off.
fn stability_flag_suffix(text: &str) -> Option<usize> {
    text.match_indices('@')
        .find_map(|(index, _)| flag_word(&text[index + 1..]).map(|flag| 1 + flag.len()))
}

/// `^([^,\s+]++)\+[^\s]++$`: the version without its build metadata.
fn without_build_metadata(text: &str) -> Option<&str> {
    let head_end = text
        .bytes()
        .position(|byte| byte == b',' || byte == b'+' || is_pcre_space(byte))
        .unwrap_or(text.len());
    if head_end == 0 {
        return None;
    }
    let metadata = text[head_end..].strip_prefix('+')?;
    let run = metadata
        .bytes()
        .position(is_pcre_space)
        .unwrap_or(metadata.len());
    (run > 0 && is_end(&metadata[run..])).then(|| &text[..head_end])
}

/// The classic (`1.2.3-beta1`) and the date (`2010-01-02`) shapes.
fn normalize_numbered(version: &str) -> Option<String> {
    if let Some((numbers, modifier)) = scan_classic(version) {
        let normalized = numbers.map(|number| number.unwrap_or("0")).join(".");
        return Some(apply_modifier(normalized, &modifier));
    }
    let (date, modifier) = scan_date(version)?;
    let normalized = date
        .chars()
        .map(|character| {
            if character.is_ascii_digit() {
                character
            } else {
                '.'
            }
        })
        .collect();
    Some(apply_modifier(normalized, &modifier))
}

/// Adds the stability suffix the way Composer does.
fn apply_modifier(mut normalized: String, modifier: &Modifier<'_>) -> String {
    if let Some(word) = modifier.word {
        // Composer compares with the lower-case spelling only: `1.0-STABLE` keeps a suffix.
        if word == "stable" {
            return normalized;
        }
        normalized.push('-');
        normalized.push_str(&expand_stability(word));
        normalized.push_str(modifier.numbers.trim_start_matches(['.', '-']));
    }
    if modifier.dev {
        normalized.push_str("-dev");
    }
    normalized
}

/// Composer's `expandStability`.
fn expand_stability(word: &str) -> String {
    let lower = word.to_ascii_lowercase();
    match lower.as_str() {
        "a" => "alpha".to_owned(),
        "b" => "beta".to_owned(),
        "p" | "pl" => "patch".to_owned(),
        "rc" => "RC".to_owned(),
        _ => lower,
    }
}

/// `^v?(\d{1,5})(\.\d++)?(\.\d++)?(\.\d++)?<modifier>$` (any case): the numbers as written and
/// the modifier.
fn scan_classic(version: &str) -> Option<([Option<&str>; 4], Modifier<'_>)> {
    let text = strip_v(version);
    let (numbers, end) = leading_numbers(text, 4)?;
    // More than five digits cannot be read by `\d{1,5}` and nothing after it takes digits.
    if numbers[0].is_some_and(|first| first.len() > 5) {
        return None;
    }
    let rest = &text[end..];
    let modifier = modifier_matches(rest, true)
        .into_iter()
        .find(|modifier| is_end(&rest[modifier.len..]))?;
    Some((numbers, modifier))
}

/// `^v?(\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3})?)<modifier>$` (any case).
fn scan_date(version: &str) -> Option<(&str, Modifier<'_>)> {
    let text = strip_v(version);
    let bytes = text.as_bytes();
    // The date can only end where the modifier can begin: not at a digit, nor at a separator
    // followed by a digit. So it is the longest run of digits and separated digits.
    let mut end = 0;
    while let Some(&byte) = bytes.get(end) {
        let separates_digits = end > 0
            && matches!(byte, b'.' | b':' | b'-')
            && bytes.get(end + 1).is_some_and(u8::is_ascii_digit);
        if !byte.is_ascii_digit() && !separates_digits {
            break;
        }
        end += 1;
    }
    let date = &text[..end];
    if !date_fits_pattern(date) {
        return None;
    }
    let rest = &text[end..];
    let modifier = modifier_matches(rest, true)
        .into_iter()
        .find(|modifier| is_end(&rest[modifier.len..]))?;
    Some((date, modifier))
}

/// Whether digits with single separators fit `\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3})?`:
/// groups of 4, one to six of 2, and perhaps one of 1 to 3 digits, separators only between
/// groups.
fn date_fits_pattern(date: &str) -> bool {
    let segment_lengths: Vec<usize> = date.split(['.', ':', '-']).map(str::len).collect();
    if segment_lengths.contains(&0) {
        return false;
    }
    let total_digits: usize = segment_lengths.iter().sum();
    let separator_offsets: Vec<usize> = segment_lengths
        .iter()
        .scan(0, |offset, length| {
            *offset += length;
            Some(*offset)
        })
        .take(segment_lengths.len() - 1)
        .collect();
    (1..=6).any(|two_digit_groups| {
        (0..=3).any(|tail| {
            let group_lengths = std::iter::once(4)
                .chain(std::iter::repeat_n(2, two_digit_groups))
                .chain((tail > 0).then_some(tail));
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

/// `(.*?)[.-]?dev$` (any case) and `normalizeBranch` of the part before: numbered branches such
/// as `1.x-dev` or `2.1.*-dev`. Named branches must be written `dev-<name>`.
fn normalize_dev_suffix(version: &str) -> Option<String> {
    let name = dev_suffix_stem(version)?;
    normalize_branch(name)
}

/// The first match of `(.*?)[.-]?dev$`: group 1. `.` stops at line breaks, so the match may
/// start after the last one.
fn dev_suffix_stem(version: &str) -> Option<&str> {
    let ends_in_dev = |rest: &str| {
        let dev_at = |text: &str| strip_prefix_ignore_case(text, "dev").is_some_and(is_end);
        // `[.-]?` is greedy: with the separator first, then without.
        rest.strip_prefix(['.', '-']).is_some_and(dev_at) || dev_at(rest)
    };
    (0..=version.len())
        .filter(|&start| version.is_char_boundary(start))
        .find_map(|start| {
            let line_end = version[start..]
                .find('\n')
                .map_or(version.len(), |offset| start + offset);
            (start..=line_end)
                .filter(|&end| version.is_char_boundary(end))
                .find(|&end| ends_in_dev(&version[end..]))
                .map(|end| &version[start..end])
        })
}

/// `VersionParser::normalizeBranch` for numbered branches: `1.2.x` becomes
/// `1.2.9999999.9999999-dev`; `None` for names, which Composer would write as `dev-<name>`.
fn normalize_branch(name: &str) -> Option<String> {
    let name = php_trim(name);
    let text = strip_v(name);
    let first = digit_run(text);
    if first == 0 {
        return None;
    }
    let mut parts = vec![&text[..first]];
    let mut end = first;
    while parts.len() < 4 {
        let Some(after_dot) = text[end..].strip_prefix('.') else {
            break;
        };
        let digits = digit_run(after_dot);
        let length = if digits > 0 {
            digits
        } else if after_dot.starts_with(['x', 'X', '*']) {
            1
        } else {
            break;
        };
        parts.push(&after_dot[..length]);
        end += 1 + length;
    }
    if !is_end(&text[end..]) {
        return None;
    }
    let parts: Vec<&str> = parts
        .into_iter()
        .chain(std::iter::repeat("x"))
        .take(4)
        .map(|part| {
            if matches!(part, "x" | "X" | "*") {
                BRANCH_WILDCARD
            } else {
                part
            }
        })
        .collect();
    Some(format!("{}-dev", parts.join(".")))
}

// ---------------------------------------------------------------------------------------------
// The stability suffix (`$modifierRegex`)
// ---------------------------------------------------------------------------------------------

/// One way `[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*+)?)?([.-]?dev)?` matches
/// at the start of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Modifier<'a> {
    /// The stability word as written.
    pub(crate) word: Option<&'a str>,
    /// The numbers after the word, with their separators (`.2` in `beta.2`).
    pub(crate) numbers: &'a str,
    pub(crate) dev: bool,
    /// How many bytes the match takes.
    pub(crate) len: usize,
}

const MODIFIER_WORDS: [&str; 9] = [
    "stable", "beta", "b", "RC", "alpha", "a", "patch", "pl", "p",
];

/// Every way the modifier pattern matches at the start of `text`, in the order PCRE tries them,
/// so that the caller can take the first one its continuation accepts.
pub(crate) fn modifier_matches(text: &str, ignore_case: bool) -> Vec<Modifier<'_>> {
    let starts_with = |haystack: &str, needle: &str| {
        if ignore_case {
            strip_prefix_ignore_case(haystack, needle).is_some()
        } else {
            haystack.starts_with(needle)
        }
    };
    let dev_length = |rest: &str| -> Option<usize> {
        if rest.starts_with(['.', '-']) && starts_with(&rest[1..], "dev") {
            Some(4)
        } else if starts_with(rest, "dev") {
            Some(3)
        } else {
            None
        }
    };
    let mut found = Vec::new();
    let separator_choices: &[usize] = if text.starts_with(['.', '_', '-']) {
        &[1, 0]
    } else {
        &[0]
    };
    for &separator in separator_choices {
        let rest = &text[separator..];
        let words = MODIFIER_WORDS
            .iter()
            .filter(|word| starts_with(rest, word))
            .map(|word| Some(&rest[..word.len()]))
            .chain([None]);
        for word in words {
            let word_length = word.map_or(0, str::len);
            let numbers_length = if word.is_some() {
                stability_numbers_length(&rest[word_length..])
            } else {
                0
            };
            let numbers = &rest[word_length..word_length + numbers_length];
            let before_dev = separator + word_length + numbers_length;
            if let Some(length) = dev_length(&text[before_dev..]) {
                found.push(Modifier {
                    word,
                    numbers,
                    dev: true,
                    len: before_dev + length,
                });
            }
            found.push(Modifier {
                word,
                numbers,
                dev: false,
                len: before_dev,
            });
        }
    }
    found
}

/// `(?:[.-]?\d+)*+`: greedy and atomic.
fn stability_numbers_length(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut end = 0;
    loop {
        let start = if matches!(bytes.get(end), Some(b'.' | b'-'))
            && bytes.get(end + 1).is_some_and(u8::is_ascii_digit)
        {
            end + 1
        } else {
            end
        };
        let digits = digit_run(&text[start..]);
        if digits == 0 {
            return end;
        }
        end = start + digits;
    }
}

// ---------------------------------------------------------------------------------------------
// Small text helpers
// ---------------------------------------------------------------------------------------------

pub(crate) fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit())
}

/// `(\d++)(?:\.(\d++))?…`: up to `count` (at most 4) numbers joined by dots at the start of
/// `text`, and where they end; `None` if `text` does not start with a digit.
pub(crate) fn leading_numbers(text: &str, count: usize) -> Option<([Option<&str>; 4], usize)> {
    let first = digit_run(text);
    if first == 0 {
        return None;
    }
    let mut numbers = [Some(&text[..first]), None, None, None];
    let mut end = first;
    for number in numbers.iter_mut().take(count).skip(1) {
        let Some(after_dot) = text[end..].strip_prefix('.') else {
            break;
        };
        let digits = digit_run(after_dot);
        if digits == 0 {
            break;
        }
        *number = Some(&after_dot[..digits]);
        end += 1 + digits;
    }
    Some((numbers, end))
}

/// The number of leading ASCII digits.
pub(crate) fn digit_run(text: &str) -> usize {
    text.bytes().take_while(u8::is_ascii_digit).count()
}

/// Drops one leading `v` or `V`.
pub(crate) fn strip_v(text: &str) -> &str {
    text.strip_prefix(['v', 'V']).unwrap_or(text)
}

pub(crate) fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
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
            ("1.0.0-alpha3.1", "1.0.0.0-alpha3.1"),
            ("1.0.0RC1", "1.0.0.0-RC1"),
            ("1.0.0-rc1", "1.0.0.0-RC1"),
            ("1.0.0-a1", "1.0.0.0-alpha1"),
            ("1.0.0_b3", "1.0.0.0-beta3"),
            ("1.0.0.b3", "1.0.0.0-beta3"),
            ("1.0.0-BETA", "1.0.0.0-beta"),
            ("1.0.0-pl3", "1.0.0.0-patch3"),
            ("1.0.0-p1", "1.0.0.0-patch1"),
            ("1.0.0-dev", "1.0.0.0-dev"),
            ("1.0--dev", "1.0.0.0-dev"),
            ("1.0.0.dev", "1.0.0.0-dev"),
            ("1.0.0-beta2-dev", "1.0.0.0-beta2-dev"),
            ("1.0.0-stable", "1.0.0.0"),
            ("1.0.0-stable-dev", "1.0.0.0"),
            // Composer only drops the lower-case spelling.
            ("1.0-STABLE", "1.0.0.0-stable"),
            ("1.0.0+build.5", "1.0.0.0"),
            ("1.0.0-beta1+sha.abc", "1.0.0.0-beta1"),
            ("1.0@dev", "1.0.0.0"),
            ("1.0.x-dev as 1.0.0", "1.0.9999999.9999999-dev"),
            ("20100102", "20100102"),
            ("2010-01-02", "2010.01.02"),
            ("2010.01.02", "2010.01.02.0"),
            ("20100102-203040", "20100102.203040"),
            ("20100102-beta2", "20100102-beta2"),
            ("2010-01-02-03-04-05-06-07", "2010.01.02.03.04.05.06.07"),
            ("9999999-dev", "9999999-dev"),
            ("1.x-dev", "1.9999999.9999999.9999999-dev"),
            ("1.2.x-dev", "1.2.9999999.9999999-dev"),
            ("2.1.*-dev", "2.1.9999999.9999999-dev"),
            ("v3.X-dev", "3.9999999.9999999.9999999-dev"),
            ("1.x.2-dev", "1.9999999.2.9999999-dev"),
            ("dev-master", "dev-master"),
            ("master", "dev-master"),
            ("trunk", "dev-trunk"),
            ("dev-feature/x", "dev-feature/x"),
            ("DEV-Foo", "dev-Foo"),
            ("dev-", "dev-"),
            ("dev-1.x+meta", "dev-1.x+meta"),
            ("1.99999999999999999999999", "1.99999999999999999999999.0.0"),
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
            "",
            "   ",
            "1 .0",
            "1.0+",
            "+build",
            "foo",
            "dev",
            "master-dev",
            "1.0.0-gamma",
            "1.x",
            "1.2.3.4.5",
            "1.0@foo",
            "~1.0",
            "1.0.0-beta-",
            "123456789012345678901234",
            "2010-01-02-03-04-05-06-07-08",
        ];
        for input in cases {
            let error = Version::parse(input).expect_err(input);
            assert_eq!(error.input(), input);
        }
    }

    #[test]
    fn over_long_versions_are_refused_at_once_and_shown_shortened() {
        // The reproducer's shapes, 64 KB and 1 MB: quadratic scanning took 14 s and about an
        // hour for them.
        for length in [64_000, 1 << 20] {
            for input in [
                format!("6.3{}", "x".repeat(length)),
                format!("1.0.{}", "x".repeat(length)),
                format!("1.0-{}", "beta1.".repeat(length / 6)),
                format!("dev-{}", "a".repeat(length)),
            ] {
                // Refused by the length check, before any parsing (the reason says so).
                let error = Version::parse(&input).expect_err("too long");
                assert_eq!(error.input(), input);
                assert_eq!(
                    error.reason(),
                    "longer than 256 bytes; Composer's versions are far shorter"
                );
                let message = error.to_string();
                assert!(message.len() < 200, "{message}");
                assert!(
                    message.starts_with(&format!("invalid version \"{}…", &input[..40])),
                    "{message}"
                );
                assert!(
                    message.contains(&format!("({} bytes)", input.len())),
                    "{message}"
                );
            }
        }
        // The limit itself: 256 bytes are parsed, 257 are not.
        let longest = format!("dev-{}", "a".repeat(MAX_VERSION_BYTES - 4));
        assert_eq!(
            Version::parse(&longest).map(|version| version.is_dev_branch()),
            Ok(true)
        );
        assert!(Version::parse(&format!("{longest}a")).is_err());
        // Surrounding white space does not count.
        assert!(Version::parse(&format!("  {longest}\n")).is_ok());
    }

    #[test]
    fn error_message_names_the_version() {
        let error = Version::parse("1.0.0-gamma").expect_err("gamma is not a stability");
        assert_eq!(
            error.to_string(),
            "invalid version \"1.0.0-gamma\": expected a version such as 1.2.3, v1.2, 1.2.3-beta1, 1.2.x-dev or dev-main"
        );
        let error = Version::parse(" ").expect_err("empty");
        assert_eq!(error.reason(), "the version is empty");
    }

    #[test]
    fn orders_like_composer() {
        let ascending = [
            "dev-feature",
            "0.0.1",
            // Composer keeps the upper-case word, which PHP ranks below `dev`.
            "1.0-STABLE",
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
        assert_eq!(version("dev-master"), version("9999999-dev"));
        assert_ne!(version("dev-feature"), version("dev-fix"));
        assert_ne!(version("2.0.0-RC1"), version("2.0.0"));
    }

    #[test]
    fn comparator_keeps_named_branches_apart() {
        let (feature, fix, release) = (version("dev-feature"), version("dev-fix"), version("1.0"));
        assert!(feature.less_than(&release));
        assert!(!feature.less_than(&fix) && !fix.less_than(&feature));
        assert!(feature.not_equal_to(&fix));
        // Unlike sorting, the comparator does not treat the default branch as 9999999-dev.
        assert!(version("dev-master").less_than(&release));
        assert!(version("1.02").equal_to(&version("1.2")));
        assert!(version("2.0").greater_than_or_equal_to(&version("2.0.0.0")));
        assert!(version("2.0").less_than_or_equal_to(&version("2.0.1")));
        assert!(version("2.0").greater_than(&version("2.0-RC1")));
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
    fn reads_stability_of_any_string_like_composer() {
        let cases = [
            ("dev-master#abc", Stability::Dev),
            ("1.0.x-dev#abc", Stability::Dev),
            ("1.0.0-beta2+build", Stability::Beta),
            ("1.0.0-RC1", Stability::ReleaseCandidate),
            ("^1.0@beta", Stability::Beta),
            ("1.0-DEV", Stability::Dev),
            ("foo", Stability::Stable),
        ];
        for (input, expected) in cases {
            assert_eq!(Stability::of_version(input), expected, "{input:?}");
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
        assert_eq!(version("1.0.0-beta2").patch(), Some(0));
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
        assert!(date_fits_pattern("2010-01-02-03-04-05-06-07"));
        // Too short, a separator inside a two-digit group, too many groups.
        assert!(!date_fits_pattern("20101"));
        assert!(!date_fits_pattern("2010-0-102"));
        assert!(!date_fits_pattern("2010-01-02-03-04-05-06-07-08"));
    }

    #[test]
    fn php_version_compare_matches_php() {
        let cases: [(&str, &str, Ordering); 12] = [
            ("1.0.0.0", "1.0.0.0-dev", Ordering::Greater),
            ("1.0.0.0-beta2", "1.0.0.0-beta2-dev", Ordering::Greater),
            ("1.0.0.0-stable", "1.0.0.0-dev", Ordering::Less),
            ("1.", "1", Ordering::Less),
            ("1.02.0.0", "1.2.0.0", Ordering::Equal),
            ("1.0.0.0-patch1", "1.0.0.0", Ordering::Greater),
            ("dev-master", "1.0.0.0", Ordering::Less),
            ("1.0.0.0-RC1", "1.0.0.0-rc1", Ordering::Equal),
            ("", "1", Ordering::Less),
            ("", "", Ordering::Equal),
            (
                "99999999999999999999999.0",
                "9223372036854775807.1",
                Ordering::Less,
            ),
            ("1.0E+20.0.0.0-dev", "1.0.0.0", Ordering::Less),
        ];
        for (left, right, expected) in cases {
            assert_eq!(
                php_version_compare(left.as_bytes(), right.as_bytes()),
                expected,
                "version_compare({left:?}, {right:?})"
            );
        }
    }

    #[test]
    fn canonicalizes_like_php() {
        let cases = [
            ("1.0.0.0-beta2-dev", "1.0.0.0.beta.2.dev"),
            ("1.0rc1", "1.0.rc.1"),
            ("-1", "-.1"),
            ("1..2", "1.2"),
            ("dev-foo/bar", "dev.foo.bar"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                String::from_utf8_lossy(&php_canonicalize(input.as_bytes())),
                expected
            );
        }
    }
}
