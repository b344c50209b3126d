//! Secret masking for log lines and run records: every secret value, a few derived forms of it,
//! and a value broken over two lines are replaced by `***`.
//!
//! What a [`Masker`] covers, precisely:
//! 1. every occurrence of a secret value inside one line (occurrences may overlap);
//! 2. a multi-line secret value (a key file, a certificate): each of its lines, wherever it
//!    appears, so the value printed as is is masked line by line;
//! 3. base64 forms of the whole value, with the standard (`+/`) and the URL-safe (`-_`) alphabet,
//!    padded and unpadded; and, for a value embedded in a larger base64 text, the characters of
//!    its encoding that do not depend on the neighbouring bytes, at each of the three byte
//!    alignments the value can start at (the one to three characters at the edges that also
//!    encode neighbouring bytes stay visible);
//! 4. any of the above broken by one line break, that is the end of one line followed by the
//!    start of the next line of the same stream (a wrapped value, a value printed with a newline
//!    inside): both parts are masked. See [`StreamMasker`] for the one-line delay this needs.
//!
//! Not covered: a value spread over three or more lines, or over stdout and stderr; other
//! encodings (hex, URL encoding, JSON escapes such as `\n` inside a value); changed case.
//!
//! **Short values are never masked:** secret values (and lines of multi-line values) shorter
//! than [`MIN_SECRET_CHARS`] characters would turn most of the log into `***`, so they are
//! ignored; base64 forms shorter than four characters are ignored for the same reason.
//!
//! ```
//! use upkeep_pipeline::mask::Masker;
//! let masker = Masker::new(["hunter2"]);
//! assert_eq!(masker.mask_line("password=hunter2"), "password=***");
//! assert_eq!(masker.mask_line("b64: aHVudGVyMg=="), "b64: ***");
//! assert_eq!(masker.mask_text("pass hun\nter2 ok"), "pass ***\n*** ok");
//! ```

use std::ops::Range;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

/// What a masked part of a line is replaced with.
pub const MASK: &str = "***";

/// Secret values shorter than this many characters are not masked at all.
pub const MIN_SECRET_CHARS: usize = 3;

/// Base64 forms shorter than this are not masked: short runs of letters are everywhere.
const MIN_BASE64_CHARS: usize = 4;

/// The set of texts to hide, derived from secret values. Cheap to share by reference.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    /// Longest first, without duplicates, none empty.
    patterns: Vec<String>,
}

impl Masker {
    /// A masker for these secret values.
    ///
    /// Values shorter than [`MIN_SECRET_CHARS`] characters are ignored, since masking them would
    /// hide ordinary text; such a value is **not** protected in logs.
    pub fn new<I, S>(secret_values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self::default().extended(secret_values)
    }

    /// This masker plus more secret values (same rules as [`Masker::new`]).
    #[must_use]
    pub fn extended<I, S>(&self, secret_values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut patterns = self.patterns.clone();
        for value in secret_values {
            patterns.extend(patterns_of(value.as_ref()));
        }
        patterns.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        patterns.dedup();
        Self { patterns }
    }

    /// True when nothing will ever be masked.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Masks one line on its own (items 1 to 3 of the module docs; no look at other lines).
    pub fn mask_line(&self, line: &str) -> String {
        apply(line, self.ranges_in(line))
    }

    /// Masks a multi-line text, including values broken over two consecutive lines.
    pub fn mask_text(&self, text: &str) -> String {
        let mut stream = self.stream::<()>();
        let mut lines = Vec::new();
        for line in text.split('\n') {
            lines.extend(
                stream
                    .push(line.to_string(), ())
                    .into_iter()
                    .map(|((), line)| line),
            );
        }
        lines.extend(stream.flush().map(|((), line)| line));
        lines.join("\n")
    }

    /// A masker for one stream of lines (one per stdout/stderr of a process), which also masks
    /// values broken over two consecutive lines. `T` travels with each line (a timestamp).
    pub fn stream<T>(&self) -> StreamMasker<'_, T> {
        StreamMasker {
            masker: self,
            pending: None,
            previous: None,
        }
    }

    /// Byte ranges of `line` covered by a pattern.
    fn ranges_in(&self, line: &str) -> Vec<Range<usize>> {
        let mut ranges = Vec::new();
        for pattern in &self.patterns {
            let mut from = 0;
            while let Some(found) = line[from..].find(pattern.as_str()) {
                let start = from + found;
                ranges.push(start..start + pattern.len());
                // Step one character on, so overlapping occurrences are found too.
                from = start + line[start..].chars().next().map_or(1, char::len_utf8);
            }
        }
        ranges
    }

    /// For a pattern broken between the end of `first` and the start of `second`: the longest
    /// such tail of `first` and head of `second` (both empty when there is none).
    fn split_ranges(&self, first: &str, second: &str) -> (Range<usize>, Range<usize>) {
        let mut tail = 0;
        let mut head = 0;
        for pattern in &self.patterns {
            for (cut, _) in pattern.char_indices().skip(1) {
                let (start, rest) = pattern.split_at(cut);
                if first.ends_with(start) && second.starts_with(rest) {
                    tail = tail.max(start.len());
                    head = head.max(rest.len());
                }
            }
        }
        (first.len() - tail..first.len(), 0..head)
    }

    /// True when `line` ends with the start of a pattern, so the next line may complete it.
    fn may_continue(&self, line: &str) -> bool {
        self.patterns.iter().any(|pattern| {
            pattern
                .char_indices()
                .skip(1)
                .any(|(cut, _)| line.ends_with(&pattern[..cut]))
        })
    }
}

/// Masks the lines of one stream as they come. Because a line that ends with the start of a
/// secret may be continued by the next one, such a line is held back until the next line
/// arrives or [`StreamMasker::flush`] is called; every other line is released at once. A caller
/// that shows lines live flushes a held line after a short silence: the next line's part is
/// still masked then, only the held line's part can no longer be.
#[derive(Debug)]
pub struct StreamMasker<'m, T> {
    masker: &'m Masker,
    pending: Option<Held<T>>,
    /// The raw text of the last released line: context for the start of the next one.
    previous: Option<String>,
}

#[derive(Debug)]
struct Held<T> {
    raw: String,
    ranges: Vec<Range<usize>>,
    tag: T,
}

impl<T> StreamMasker<'_, T> {
    /// Takes the next line (without its line break) and returns the lines that are now final,
    /// masked and in order: none, one or two.
    pub fn push(&mut self, line: String, tag: T) -> Vec<(T, String)> {
        if self.masker.is_empty() {
            return vec![(tag, line)];
        }
        let mut ranges = self.masker.ranges_in(&line);
        let mut released = Vec::new();
        if let Some(mut held) = self.pending.take() {
            let (tail, head) = self.masker.split_ranges(&held.raw, &line);
            held.ranges.push(tail);
            ranges.push(head);
            released.push((held.tag, apply(&held.raw, held.ranges)));
        } else if let Some(previous) = &self.previous {
            let (_, head) = self.masker.split_ranges(previous, &line);
            ranges.push(head);
        }
        if self.masker.may_continue(&line) {
            self.previous = None;
            self.pending = Some(Held {
                raw: line,
                ranges,
                tag,
            });
        } else {
            released.push((tag, apply(&line, ranges)));
            self.previous = Some(line);
        }
        released
    }

    /// Releases the held line, if any (at the end of the stream, or after a silence).
    pub fn flush(&mut self) -> Option<(T, String)> {
        let held = self.pending.take()?;
        let masked = apply(&held.raw, held.ranges);
        self.previous = Some(held.raw);
        Some((held.tag, masked))
    }

    /// The tag of the held line, if a line is held.
    pub fn pending_tag(&self) -> Option<&T> {
        self.pending.as_ref().map(|held| &held.tag)
    }
}

/// The texts that reveal `value`: see the module docs.
fn patterns_of(value: &str) -> Vec<String> {
    if value.chars().count() < MIN_SECRET_CHARS {
        return Vec::new();
    }
    let mut patterns: Vec<String> = if value.contains('\n') {
        value
            .split('\n')
            .map(|line| line.trim_end_matches('\r'))
            .filter(|line| line.chars().count() >= MIN_SECRET_CHARS)
            .map(str::to_string)
            .collect()
    } else {
        vec![value.to_string()]
    };
    let bytes = value.as_bytes();
    let mut encoded = vec![STANDARD.encode(bytes), URL_SAFE.encode(bytes)];
    for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
        encoded.push(engine.encode(bytes));
        for alignment in 0..3 {
            encoded.push(embedded_base64(engine, bytes, alignment));
        }
    }
    patterns.extend(
        encoded
            .into_iter()
            .filter(|form| form.len() >= MIN_BASE64_CHARS),
    );
    patterns
}

/// The characters of the base64 encoding of `bytes` that are the same whatever surrounds it, when
/// `bytes` starts `alignment` bytes (0 to 2) after a 3-byte group boundary of the encoded text.
fn embedded_base64(
    engine: &base64::engine::GeneralPurpose,
    bytes: &[u8],
    alignment: usize,
) -> String {
    let mut aligned = vec![0_u8; alignment];
    aligned.extend_from_slice(bytes);
    let encoded = engine.encode(&aligned);
    // Characters carrying bits of the `alignment` unknown leading bytes: 0, 2 or 3.
    let skip = (alignment * 8).div_ceil(6);
    // The last character is partial (carries bits of the unknown following byte) unless the bit
    // count divides by 6.
    let end = aligned.len() * 8 / 6;
    encoded.get(skip..end).unwrap_or_default().to_string()
}

/// `line` with the (possibly overlapping) byte ranges replaced by one [`MASK`] each merged run.
fn apply(line: &str, mut ranges: Vec<Range<usize>>) -> String {
    ranges.retain(|range| !range.is_empty());
    if ranges.is_empty() {
        return line.to_string();
    }
    ranges.sort_by_key(|range| range.start);
    let mut masked = String::with_capacity(line.len());
    let mut copied = 0;
    let mut current: Option<Range<usize>> = None;
    for range in ranges {
        match &mut current {
            Some(run) if range.start <= run.end => run.end = run.end.max(range.end),
            _ => {
                if let Some(run) = current.take() {
                    masked.push_str(&line[copied..run.start]);
                    masked.push_str(MASK);
                    copied = run.end;
                }
                current = Some(range);
            }
        }
    }
    if let Some(run) = current {
        masked.push_str(&line[copied..run.start]);
        masked.push_str(MASK);
        copied = run.end;
    }
    masked.push_str(&line[copied..]);
    masked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream_all(masker: &Masker, lines: &[&str]) -> Vec<String> {
        let mut stream = masker.stream::<usize>();
        let mut out = Vec::new();
        for (index, line) in lines.iter().enumerate() {
            out.extend(stream.push((*line).to_string(), index));
        }
        out.extend(stream.flush());
        // Lines come out in order and each exactly once.
        assert_eq!(
            out.iter().map(|(index, _)| *index).collect::<Vec<_>>(),
            (0..lines.len()).collect::<Vec<_>>()
        );
        out.into_iter().map(|(_, line)| line).collect()
    }

    #[test]
    fn masks_every_occurrence_in_a_line() {
        let masker = Masker::new(["s3cret"]);
        assert_eq!(masker.mask_line("a s3cret b s3cret"), "a *** b ***");
        assert_eq!(masker.mask_line("s3crets3cret"), "***");
        assert_eq!(masker.mask_line("nothing here"), "nothing here");
    }

    #[test]
    fn overlapping_secrets_become_one_mask() {
        let masker = Masker::new(["abcd", "cdef"]);
        assert_eq!(masker.mask_line("xabcdefx"), "x***x");
        let masker = Masker::new(["aba"]);
        assert_eq!(masker.mask_line("ababa!"), "***!");
    }

    #[test]
    fn short_secrets_are_ignored() {
        let masker = Masker::new(["ab", "", "x"]);
        assert!(masker.is_empty());
        assert_eq!(masker.mask_line("ab x"), "ab x");
        let masker = Masker::new(["abc"]);
        assert_eq!(masker.mask_line("xabcx"), "x***x");
    }

    #[test]
    fn masks_non_ascii_secrets() {
        let masker = Masker::new(["päss€"]);
        assert_eq!(masker.mask_line("ü päss€ ü"), "ü *** ü");
        assert_eq!(masker.mask_text("ü pä\nss€ ü"), "ü ***\n*** ü");
    }

    #[test]
    fn masks_base64_forms_of_the_whole_value() {
        // `??>` encodes to `Pz8+` (standard) and `Pz8-` (URL-safe); with two more bytes padding
        // appears.
        let masker = Masker::new(["??>", "hunter2"]);
        assert_eq!(masker.mask_line("std Pz8+ url Pz8-"), "std *** url ***");
        assert_eq!(STANDARD.encode("hunter2"), "aHVudGVyMg==");
        assert_eq!(masker.mask_line("x aHVudGVyMg== y"), "x *** y");
        assert_eq!(masker.mask_line("x aHVudGVyMg y"), "x *** y");
    }

    #[test]
    fn masks_base64_of_a_value_inside_a_larger_encoded_text() {
        let secret = "correct-horse-battery";
        let masker = Masker::new([secret]);
        for prefix in ["", "a", "ab", "abc", "abcd"] {
            for suffix in ["", "z", "zy", "zyx"] {
                let payload = format!("{prefix}{secret}{suffix}");
                for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
                    let encoded = engine.encode(payload.as_bytes());
                    let hidden = masker.mask_line(&encoded);
                    assert!(hidden.contains(MASK), "{encoded} -> {hidden}");
                    // At most three characters on each side can remain: those sharing bits with
                    // the prefix or suffix, plus the padding.
                    let visible = hidden.replace(MASK, "");
                    let edge = prefix.len().div_ceil(3) * 4 + suffix.len().div_ceil(3) * 4 + 3;
                    assert!(visible.len() <= edge, "{encoded} -> {hidden}");
                    // And the bulk of the encoding is hidden.
                    assert!(visible.len() < encoded.len() / 2, "{encoded} -> {hidden}");
                }
            }
        }
    }

    #[test]
    fn embedded_base64_drops_exactly_the_shared_characters() {
        // "abc" at alignment 0 is exactly "YWJj"; at alignment 1 (`\0abc` = "AGFiYw") the first
        // two and the partial last character depend on neighbours, leaving "FiY"; at alignment 2
        // (`\0\0abc` = "AABhYmM") the first three and the last.
        assert_eq!(embedded_base64(&STANDARD_NO_PAD, b"abc", 0), "YWJj");
        assert_eq!(embedded_base64(&STANDARD_NO_PAD, b"abc", 1), "FiY");
        assert_eq!(embedded_base64(&STANDARD_NO_PAD, b"abc", 2), "hYm");
        // The short alignment-1 core of a 3-character secret is not a pattern.
        let masker = Masker::new(["abc"]);
        assert_eq!(masker.mask_line("FiY"), "FiY");
    }

    #[test]
    fn masks_each_line_of_a_multi_line_secret() {
        let key = "-----BEGIN KEY-----\nMIIEpAIBAAKCAQEA\nxy\n-----END KEY-----\n";
        let masker = Masker::new([key]);
        let printed = stream_all(&masker, &key.lines().collect::<Vec<_>>());
        // The two-character line is too short to be masked on its own.
        assert_eq!(printed, ["***", "***", "xy", "***"]);
        assert_eq!(masker.mask_line("cat: MIIEpAIBAAKCAQEA"), "cat: ***");
        // The base64 form of the whole value is still one pattern.
        assert_eq!(masker.mask_line(&STANDARD.encode(key)), "***");
    }

    #[test]
    fn masks_both_parts_of_a_value_broken_over_two_lines() {
        let masker = Masker::new(["hunter2pass"]);
        assert_eq!(
            stream_all(&masker, &["before", "token=hunt", "er2pass after", "after"]),
            ["before", "token=***", "*** after", "after"]
        );
        // A one-character part on either side.
        assert_eq!(
            stream_all(&masker, &["x h", "unter2pass"]),
            ["x ***", "***"]
        );
        assert_eq!(
            stream_all(&masker, &["hunter2pas", "s y"]),
            ["***", "*** y"]
        );
        // A near miss: the next line does not complete the value.
        assert_eq!(
            stream_all(&masker, &["token=hunt", "ing season"]),
            ["token=hunt", "ing season"]
        );
        // The split also applies to base64 forms.
        let encoded = STANDARD.encode("hunter2pass");
        let (first, second) = encoded.split_at(5);
        assert_eq!(stream_all(&masker, &[first, second]), ["***", "***"]);
    }

    #[test]
    fn holds_back_only_lines_that_may_continue_a_secret() {
        let masker = Masker::new(["hunter2"]);
        let mut stream = masker.stream::<u8>();
        assert_eq!(
            stream.push("plain".to_string(), 1),
            [(1, "plain".to_string())]
        );
        assert!(stream.push("ends with hun".to_string(), 2).is_empty());
        assert_eq!(stream.pending_tag(), Some(&2));
        assert_eq!(
            stream.push("ter2!".to_string(), 3),
            [(2, "ends with ***".to_string()), (3, "***!".to_string())]
        );
        assert_eq!(stream.flush(), None);
    }

    #[test]
    fn after_an_early_flush_the_second_part_is_still_masked() {
        let masker = Masker::new(["hunter2"]);
        let mut stream = masker.stream::<u8>();
        assert!(stream.push("pw: hunt".to_string(), 1).is_empty());
        assert_eq!(stream.flush(), Some((1, "pw: hunt".to_string())));
        assert_eq!(
            stream.push("er2 done".to_string(), 2),
            [(2, "*** done".to_string())]
        );
    }

    #[test]
    fn mask_text_keeps_the_line_structure() {
        let masker = Masker::new(["topsecret"]);
        assert_eq!(masker.mask_text("a topsecret\nb\n"), "a ***\nb\n");
        assert_eq!(masker.mask_text("top\nsecret"), "***\n***");
        assert_eq!(Masker::default().mask_text("top\nsecret"), "top\nsecret");
    }

    #[test]
    fn extended_adds_values() {
        let masker = Masker::new(["first-secret"]).extended(["second-secret"]);
        assert_eq!(masker.mask_line("first-secret second-secret"), "*** ***");
    }
}
