//! Where things are written in a JSON text: `serde_json` gives values, but edits that keep a
//! file as its authors wrote it and findings that point at a line need byte positions.
//!
//! [`read_layout`] reads text that `serde_json` has already accepted into a tree of positions:
//! objects with their members (keys decoded), arrays with their elements, and the extent of
//! every other value. It is the one reader of JSON positions of the workspace: the
//! `composer.json` editor and the gate's locations both use it. On text that is not JSON it
//! returns `None` rather than panicking.
//!
//! ```
//! use upkeep_composer::json_layout::{find_member, read_layout};
//!
//! let text = "{\n  \"require\": {\"php\": \">=8.3\"}\n}\n";
//! let root = read_layout(text).unwrap();
//! let php = find_member(&root, &["require", "php"]).unwrap();
//! assert_eq!(&text[php.value_start..php.value_end], "\">=8.3\"");
//! ```

/// A JSON value and where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonNode {
    Object(JsonObject),
    Array(JsonArray),
    /// A string (its extent includes the quotes), number or literal.
    Scalar {
        start: usize,
        end: usize,
    },
}

impl JsonNode {
    /// The byte offset where the value starts.
    pub fn start(&self) -> usize {
        match self {
            Self::Object(object) => object.open,
            Self::Array(array) => array.open,
            Self::Scalar { start, .. } => *start,
        }
    }

    /// The byte offset just after the value.
    pub fn end(&self) -> usize {
        match self {
            Self::Object(object) => object.close + 1,
            Self::Array(array) => array.close + 1,
            Self::Scalar { end, .. } => *end,
        }
    }

    pub fn as_object(&self) -> Option<&JsonObject> {
        match self {
            Self::Object(object) => Some(object),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&JsonArray> {
        match self {
            Self::Array(array) => Some(array),
            _ => None,
        }
    }
}

/// An object: the offsets of its braces and its members in the order written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonObject {
    /// Byte offsets of `{` and `}`.
    pub open: usize,
    pub close: usize,
    pub members: Vec<JsonMember>,
}

impl JsonObject {
    /// The member a JSON reader takes for `key` (`serde_json` and PHP): the last one written.
    pub fn member(&self, key: &str) -> Option<&JsonMember> {
        self.members.iter().rev().find(|member| member.key == key)
    }
}

/// An array: the offsets of its brackets and its elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonArray {
    /// Byte offsets of `[` and `]`.
    pub open: usize,
    pub close: usize,
    pub elements: Vec<JsonNode>,
}

/// An object member: `"key": value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonMember {
    /// The key with its quotes.
    pub key_start: usize,
    pub key_end: usize,
    /// The key decoded (`a\/b` is `a/b`).
    pub key: String,
    pub value_start: usize,
    pub value_end: usize,
    pub value: JsonNode,
    /// The comma after the value, if another member follows.
    pub comma: Option<usize>,
}

/// The layout of the JSON document `text` (leading and trailing white space allowed).
pub fn read_layout(text: &str) -> Option<JsonNode> {
    let mut scanner = Scanner { text, position: 0 };
    scanner.skip_whitespace();
    scanner.value()
}

/// The member at a path of object keys from `root`, e.g. `["config", "platform", "php"]`.
pub fn find_member<'a>(root: &'a JsonNode, path: &[&str]) -> Option<&'a JsonMember> {
    let (last, parents) = path.split_last()?;
    let mut node = root;
    for key in parents {
        node = &node.as_object()?.member(key)?.value;
    }
    node.as_object()?.member(last)
}

/// The text of the JSON string written at `start..end` (quotes included), escapes resolved.
pub fn decode_string(text: &str, start: usize, end: usize) -> Option<String> {
    let raw = text.get(start..end)?;
    if !raw.contains('\\') {
        return raw.strip_prefix('"')?.strip_suffix('"').map(str::to_string);
    }
    serde_json::from_str(raw).ok()
}

/// Reads the layout of text that `serde_json` has already accepted as JSON.
struct Scanner<'a> {
    text: &'a str,
    position: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.position).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.position += 1;
        }
    }

    fn value(&mut self) -> Option<JsonNode> {
        let start = self.position;
        match self.peek()? {
            b'{' => return self.object().map(JsonNode::Object),
            b'[' => return self.array().map(JsonNode::Array),
            b'"' => {
                self.string()?;
            }
            _ => {
                while self.peek().is_some_and(|byte| {
                    !matches!(byte, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                }) {
                    self.position += 1;
                }
                if self.position == start {
                    return None;
                }
            }
        }
        Some(JsonNode::Scalar {
            start,
            end: self.position,
        })
    }

    /// Skips a string; returns its extent with the quotes.
    fn string(&mut self) -> Option<(usize, usize)> {
        let start = self.position;
        self.position += 1;
        loop {
            match self.peek()? {
                b'"' => {
                    self.position += 1;
                    return Some((start, self.position));
                }
                b'\\' => self.position += 2,
                _ => self.position += 1,
            }
        }
    }

    fn array(&mut self) -> Option<JsonArray> {
        let open = self.position;
        self.position += 1;
        let mut elements = Vec::new();
        self.skip_whitespace();
        if self.peek()? == b']' {
            let close = self.position;
            self.position += 1;
            return Some(JsonArray {
                open,
                close,
                elements,
            });
        }
        loop {
            self.skip_whitespace();
            elements.push(self.value()?);
            self.skip_whitespace();
            match self.peek()? {
                b',' => self.position += 1,
                b']' => {
                    let close = self.position;
                    self.position += 1;
                    return Some(JsonArray {
                        open,
                        close,
                        elements,
                    });
                }
                _ => return None,
            }
        }
    }

    fn object(&mut self) -> Option<JsonObject> {
        let open = self.position;
        self.position += 1;
        let mut members = Vec::new();
        self.skip_whitespace();
        if self.peek()? == b'}' {
            let close = self.position;
            self.position += 1;
            return Some(JsonObject {
                open,
                close,
                members,
            });
        }
        loop {
            self.skip_whitespace();
            if self.peek()? != b'"' {
                return None;
            }
            let (key_start, key_end) = self.string()?;
            let key = decode_string(self.text, key_start, key_end)?;
            self.skip_whitespace();
            if self.peek()? != b':' {
                return None;
            }
            self.position += 1;
            self.skip_whitespace();
            let value_start = self.position;
            let value = self.value()?;
            let value_end = self.position;
            self.skip_whitespace();
            let mut member = JsonMember {
                key_start,
                key_end,
                key,
                value_start,
                value_end,
                value,
                comma: None,
            };
            match self.peek()? {
                b',' => {
                    member.comma = Some(self.position);
                    self.position += 1;
                    members.push(member);
                }
                b'}' => {
                    members.push(member);
                    let close = self.position;
                    self.position += 1;
                    return Some(JsonObject {
                        open,
                        close,
                        members,
                    });
                }
                _ => return None,
            }
        }
    }
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

    fn written(text: &str, start: usize, end: usize) -> &str {
        &text[start..end]
    }

    #[test]
    fn finds_members_by_path_not_by_key_alone() {
        let root = read_layout(COMPOSER_JSON).unwrap();
        let member = find_member(&root, &["require", "spryker/kernel"]).unwrap();
        assert_eq!(
            written(COMPOSER_JSON, member.key_start, member.value_end),
            r#""spryker\/kernel": "dev-master""#
        );
        let php = find_member(&root, &["config", "platform", "php"]).unwrap();
        assert_eq!(
            written(COMPOSER_JSON, php.value_start, php.value_end),
            "\"8.2.12\""
        );
        assert_eq!(find_member(&root, &["require", "x"]), None);
        assert_eq!(find_member(&root, &["name", "x"]), None);
    }

    #[test]
    fn arrays_keep_their_elements_and_the_last_key_wins() {
        let text = r#"{"packages": [{"name": "a/a"}, 2, "x"], "k": 1, "k": 2}"#;
        let root = read_layout(text).unwrap();
        let packages = find_member(&root, &["packages"])
            .unwrap()
            .value
            .as_array()
            .unwrap();
        assert_eq!(packages.elements.len(), 3);
        let first = packages.elements[0].as_object().unwrap();
        let name = first.member("name").unwrap();
        assert_eq!(
            decode_string(text, name.value_start, name.value_end).as_deref(),
            Some("a/a")
        );
        assert_eq!(
            written(text, packages.open, packages.close + 1),
            r#"[{"name": "a/a"}, 2, "x"]"#
        );
        let k = find_member(&root, &["k"]).unwrap();
        assert_eq!(written(text, k.value_start, k.value_end), "2");
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
            "[1,",
            "{\"a\": [1 2]}",
        ] {
            let root = read_layout(text);
            assert!(
                root.as_ref()
                    .is_none_or(|root| find_member(root, &["a"]).is_none()),
                "{text:?}"
            );
        }
    }
}
