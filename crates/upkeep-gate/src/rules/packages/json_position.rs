//! Where things are written in the project's JSON manifests, as the gate's locations need them
//! (`TextSpan`s). The positions come from [`upkeep_composer::json_layout`], the one reader of
//! JSON positions in the workspace (the `composer.json` editor uses it too). Manifests are
//! only scanned when a rule has something to report, and once per rule run.

use std::collections::HashMap;

use upkeep_composer::json_layout::{self, JsonNode};
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

    fn of(member: &json_layout::JsonMember) -> Self {
        Self {
            key: span(member.key_start, member.key_end),
            value: span(member.value_start, member.value_end),
        }
    }
}

fn span(start: usize, end: usize) -> TextSpan {
    TextSpan::new(
        u32::try_from(start).unwrap_or(u32::MAX),
        u32::try_from(end).unwrap_or(u32::MAX),
    )
}

/// The layout of one JSON text, read once for all the positions a rule asks for.
pub(crate) struct JsonPositions<'t> {
    text: &'t str,
    root: Option<JsonNode>,
}

impl<'t> JsonPositions<'t> {
    /// Reads the layout of a manifest that already parsed (other text gives no positions).
    pub fn of(text: &'t [u8]) -> Self {
        let text = std::str::from_utf8(text).unwrap_or_default();
        Self {
            text,
            root: json_layout::read_layout(text),
        }
    }

    /// The member at `path` (object keys from the root), e.g. `["require", "spryker/kernel"]`.
    pub fn member(&self, path: &[&str]) -> Option<Member> {
        json_layout::find_member(self.root.as_ref()?, path).map(Member::of)
    }

    /// The `"name": "<package>"` member of every object in the arrays `packages` and
    /// `packages-dev` of a `composer.lock`, by package name (the first entry wins).
    pub fn locked_package_names(&self) -> HashMap<String, Member> {
        let mut names = HashMap::new();
        let Some(root) = &self.root else {
            return names;
        };
        for section in ["packages", "packages-dev"] {
            let Some(array) = json_layout::find_member(root, &[section])
                .and_then(|member| member.value.as_array())
            else {
                continue;
            };
            for entry in array.elements.iter().filter_map(JsonNode::as_object) {
                if let Some(name) = entry.member("name")
                    && let Some(value) =
                        json_layout::decode_string(self.text, name.value_start, name.value_end)
                {
                    names.entry(value).or_insert_with(|| Member::of(name));
                }
            }
        }
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(text: &str, span: TextSpan) -> &str {
        &text[span.start as usize..span.end as usize]
    }

    #[test]
    fn members_are_spans_of_the_text() {
        let text = "{\n  \"require\": {\"spryker\\/kernel\": \"dev-master\"}\n}";
        let positions = JsonPositions::of(text.as_bytes());
        let member = positions.member(&["require", "spryker/kernel"]).unwrap();
        assert_eq!(
            written(text, member.whole()),
            "\"spryker\\/kernel\": \"dev-master\""
        );
        assert_eq!(written(text, member.value), "\"dev-master\"");
        assert_eq!(positions.member(&["require", "x"]), None);
    }

    #[test]
    fn finds_locked_package_names_in_both_sections() {
        let lock = r#"{"packages": [
  {"name": "a/a", "authors": [{"name": "Someone"}], "version": "1.0.0"},
  {"version": "2.0.0", "name": "b/b"}
], "packages-dev": [{"name": "c/c"}], "other": [{"name": "d/d"}]}"#;
        let names = JsonPositions::of(lock.as_bytes()).locked_package_names();
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
    fn text_that_is_not_json_gives_no_positions() {
        for text in ["", "{", "{\"a\": ", "\u{ff}"] {
            let positions = JsonPositions::of(text.as_bytes());
            assert_eq!(positions.member(&["a"]), None);
            assert!(positions.locked_package_names().is_empty());
        }
    }
}
