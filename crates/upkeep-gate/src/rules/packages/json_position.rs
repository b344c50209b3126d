//! Where things are written in a JSON text: serde gives us values, findings need positions.
//!
//! A small scanner that follows object keys from the root and skips everything else. It is
//! only run on texts that already parsed, and only when a rule has something to report, so it
//! needs neither error messages nor speed tricks; it still never panics on odd input.

use std::collections::HashMap;

use upkeep_php::source::TextSpan;

/// An object member: `"key": value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Member {
    /// The key with its quotes.
    pub key: TextSpan,
    /// The value (a string with its quotes).
    pub value: TextSpan,
}

impl Member {
    /// From the key's opening quote to the end of the value.
    pub fn whole(self) -> TextSpan {
        TextSpan::new(self.key.start, self.value.end)
    }
}

/// The member at `path` (object keys from the root), e.g. `["require", "spryker/kernel"]`.
pub(crate) fn find_member(text: &[u8], path: &[&str]) -> Option<Member> {
    let mut scanner = Scanner { text, position: 0 };
    let (last, parents) = path.split_last()?;
    for key in parents {
        let member = scanner.find_key(key)?;
        scanner.position = member.value.start as usize;
    }
    scanner.find_key(last)
}

/// The `"name": "<package>"` member of every object in the arrays `packages` and
/// `packages-dev` of a `composer.lock`, by package name (the first entry wins).
pub(crate) fn locked_package_names(text: &[u8]) -> HashMap<String, Member> {
    let mut names = HashMap::new();
    for section in ["packages", "packages-dev"] {
        let Some(array) = find_member(text, &[section]) else {
            continue;
        };
        let mut scanner = Scanner {
            text,
            position: array.value.start as usize,
        };
        scanner.each_array_element(|scanner| {
            if let Some(name) = scanner.find_key("name")
                && let Some(value) = decode_string(text, name.value)
            {
                names.entry(value).or_insert(name);
            }
        });
    }
    names
}

struct Scanner<'t> {
    text: &'t [u8],
    position: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.position).copied()
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(|byte| byte.is_ascii_whitespace()) {
            self.position += 1;
        }
    }

    fn span(start: usize, end: usize) -> TextSpan {
        TextSpan::new(
            u32::try_from(start).unwrap_or(u32::MAX),
            u32::try_from(end).unwrap_or(u32::MAX),
        )
    }

    /// Reads the object at the current position up to the member `key`, leaving the position
    /// after its value. `None` if the value here is not an object or has no such key.
    fn find_key(&mut self, key: &str) -> Option<Member> {
        self.skip_whitespace();
        if self.peek() != Some(b'{') {
            return None;
        }
        self.position += 1;
        loop {
            self.skip_whitespace();
            match self.peek()? {
                b',' => {
                    self.position += 1;
                    continue;
                }
                b'"' => {}
                // `}`: the object ends without the key; anything else is not JSON we read.
                _ => return None,
            }
            let key_span = self.skip_string()?;
            self.skip_whitespace();
            if self.peek()? != b':' {
                return None;
            }
            self.position += 1;
            self.skip_whitespace();
            let value_span = self.skip_value()?;
            if decode_string(self.text, key_span).as_deref() == Some(key) {
                return Some(Member {
                    key: key_span,
                    value: value_span,
                });
            }
        }
    }

    /// Calls `visit` with the scanner at the start of each element of the array here.
    fn each_array_element(&mut self, mut visit: impl FnMut(&mut Self)) {
        self.skip_whitespace();
        if self.peek() != Some(b'[') {
            return;
        }
        self.position += 1;
        loop {
            self.skip_whitespace();
            match self.peek() {
                None | Some(b']') => return,
                Some(b',') => {
                    self.position += 1;
                    continue;
                }
                Some(_) => {}
            }
            let start = self.position;
            let Some(element) = self.skip_value() else {
                return;
            };
            let mut inner = Scanner {
                text: self.text,
                position: start,
            };
            visit(&mut inner);
            self.position = element.end as usize;
        }
    }

    /// Skips the string starting here; its span includes the quotes.
    fn skip_string(&mut self) -> Option<TextSpan> {
        let start = self.position;
        self.position += 1;
        loop {
            match self.peek()? {
                b'\\' => self.position += 2,
                b'"' => {
                    self.position += 1;
                    return Some(Self::span(start, self.position));
                }
                _ => self.position += 1,
            }
        }
    }

    /// Skips any value starting here and returns its span.
    fn skip_value(&mut self) -> Option<TextSpan> {
        let start = self.position;
        match self.peek()? {
            b'"' => return self.skip_string(),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        b'"' => {
                            self.skip_string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth = depth.checked_sub(1)?;
                            if depth == 0 {
                                self.position += 1;
                                return Some(Self::span(start, self.position));
                            }
                        }
                        _ => {}
                    }
                    self.position += 1;
                }
            }
            _ => {
                while self.peek().is_some_and(|byte| {
                    !matches!(byte, b',' | b'}' | b']') && !byte.is_ascii_whitespace()
                }) {
                    self.position += 1;
                }
            }
        }
        (self.position > start).then(|| Self::span(start, self.position))
    }
}

/// The text of the JSON string at `span` (quotes included), escapes resolved.
pub(crate) fn decode_string(text: &[u8], span: TextSpan) -> Option<String> {
    let raw = text.get(span.start as usize..span.end as usize)?;
    if !raw.contains(&b'\\') {
        let inner = raw.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
        return std::str::from_utf8(inner).ok().map(str::to_string);
    }
    serde_json::from_slice(raw).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPOSER_JSON: &str = r#"{
    "name": "pyz/shop",
    "require-dev": {
        "spryker/kernel": "dev-master"
    },
    "require": {
        "php": ">=8.2",
        "spryker\/kernel": "dev-master",
        "nested": {"require": {"x": 1}}
    },
    "config": {"platform": {"php": "8.2.12"}}
}"#;

    fn written(text: &str, span: TextSpan) -> &str {
        &text[span.start as usize..span.end as usize]
    }

    #[test]
    fn finds_members_by_path_not_by_key_alone() {
        let member = find_member(COMPOSER_JSON.as_bytes(), &["require", "spryker/kernel"]).unwrap();
        assert_eq!(
            written(COMPOSER_JSON, member.whole()),
            r#""spryker\/kernel": "dev-master""#
        );
        let php = find_member(COMPOSER_JSON.as_bytes(), &["config", "platform", "php"]).unwrap();
        assert_eq!(written(COMPOSER_JSON, php.value), "\"8.2.12\"");
        assert_eq!(
            find_member(COMPOSER_JSON.as_bytes(), &["require", "x"]),
            None
        );
        assert_eq!(find_member(COMPOSER_JSON.as_bytes(), &["name", "x"]), None);
    }

    #[test]
    fn finds_locked_package_names_in_both_sections() {
        let lock = r#"{"packages": [
  {"name": "a/a", "authors": [{"name": "Someone"}], "version": "1.0.0"},
  {"version": "2.0.0", "name": "b/b"}
], "packages-dev": [{"name": "c/c"}], "other": [{"name": "d/d"}]}"#;
        let names = locked_package_names(lock.as_bytes());
        let mut found: Vec<_> = names
            .iter()
            .map(|(name, member)| (name.as_str(), written(lock, member.value)))
            .collect();
        found.sort_unstable();
        assert_eq!(
            found,
            [("a/a", "\"a/a\""), ("b/b", "\"b/b\""), ("c/c", "\"c/c\"")]
        );
    }

    #[test]
    fn odd_input_gives_nothing_rather_than_a_panic() {
        for text in [
            "",
            "{",
            "[",
            "{\"a\": ",
            "{\"a\" 1}",
            "\"",
            "{\"a\": \"\\",
            "}}}",
        ] {
            assert_eq!(find_member(text.as_bytes(), &["a"]), None, "{text:?}");
            assert!(locked_package_names(text.as_bytes()).is_empty());
        }
    }
}
