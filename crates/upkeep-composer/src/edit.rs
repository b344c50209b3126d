//! Edits of `composer.json` that keep the file as its authors wrote it.
//!
//! The upgrader moves a constraint (`"spryker/kernel": "^3.75.0"` to `"^3.80.0"`) and commits the
//! file, so the diff must show that one line and nothing else: key order, indentation (spaces or
//! tabs), `\/` escapes, non-ASCII text, line endings (LF or CRLF) and the final newline (or its
//! absence) all stay byte for byte. The editor finds the positions of keys and values with a small
//! JSON scanner and splices text in; it never re-serialises the document.
//!
//! ```
//! use upkeep_composer::edit::{ComposerJsonEditor, Section};
//!
//! let mut editor = ComposerJsonEditor::parse("{\n  \"require\": {\n    \"a\\/b\": \"^1.0\"\n  }\n}\n")?;
//! editor.set_requirement(Section::Require, "a/b", "^1.2")?;
//! editor.set_requirement(Section::Require, "c/d", "~2.0")?;
//! assert_eq!(
//!     editor.to_string(),
//!     "{\n  \"require\": {\n    \"a\\/b\": \"^1.2\",\n    \"c/d\": \"~2.0\"\n  }\n}\n"
//! );
//! # Ok::<(), upkeep_composer::edit::EditError>(())
//! ```

use std::cmp::Ordering;
use std::fmt;

use crate::document::message_without_position;
use crate::json_layout::{
    JsonMember as Member, JsonNode as Node, JsonObject as Object, read_layout,
};
use crate::manifest::php_truthy;

/// The link sections the editor changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    Require,
    RequireDev,
}

impl Section {
    /// The key in `composer.json`.
    pub fn key(self) -> &'static str {
        match self {
            Section::Require => "require",
            Section::RequireDev => "require-dev",
        }
    }
}

impl fmt::Display for Section {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.key())
    }
}

/// Why `composer.json` cannot be edited.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("composer.json:{line}:{column}: {message}")]
    InvalidJson {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("composer.json must hold a JSON object")]
    NotAnObject,
    #[error("`{section}` in composer.json must be an object of package names to constraints")]
    SectionNotAnObject { section: Section },
}

/// A `composer.json` being edited; `to_string()` gives the edited text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposerJsonEditor {
    text: String,
}

impl ComposerJsonEditor {
    /// Checks that `text` is a JSON object and keeps it for editing.
    pub fn parse(text: &str) -> Result<Self, EditError> {
        let editor = Self {
            text: text.to_owned(),
        };
        editor.document()?;
        Ok(editor)
    }

    /// The text with all edits so far.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Sets the constraint of `package` in `section`. An existing entry (matched like Composer
    /// does, ignoring ASCII case and `\/` escapes) keeps its key and only gets the new value
    /// string. A new entry goes at the end of the section, or at its sorted place when
    /// `config.sort-packages` is on (Composer's order: `php`, `hhvm`, `ext-*`, `lib-*`, other
    /// platform packages, then packages, each in natural order), indented and separated like its
    /// neighbours. A missing section is created: `require` before `require-dev`, `require-dev`
    /// after `require`, otherwise at the end of the document.
    pub fn set_requirement(
        &mut self,
        section: Section,
        package: &str,
        constraint: &str,
    ) -> Result<(), EditError> {
        let (root, value) = self.document()?;
        let sort = value
            .pointer("/config/sort-packages")
            .is_some_and(php_truthy);
        let Some(member) = root.member(section.key()) else {
            self.add_section(&root, section, package, constraint);
            return Ok(());
        };
        let value_text = encode(constraint);
        match &member.value {
            Node::Object(object) => {
                if let Some(existing) = find_package(object, package) {
                    self.splice(existing.value_start, existing.value_end, &value_text);
                } else {
                    self.insert_link(member, object, package, &value_text, sort);
                }
                Ok(())
            }
            // PHP writes an empty map as `[]`.
            Node::Array(array) if array.elements.is_empty() => {
                let object = format!("{{{}}}", self.first_entry(member, package, &value_text));
                self.splice(array.open, array.close + 1, &object);
                Ok(())
            }
            Node::Array(_) | Node::Scalar { .. } => Err(EditError::SectionNotAnObject { section }),
        }
    }

    /// Removes `package` from `section`; `false` if it was not there. The rest of the section
    /// keeps its layout; a section left empty becomes `{}`.
    pub fn remove_requirement(
        &mut self,
        section: Section,
        package: &str,
    ) -> Result<bool, EditError> {
        let (root, _) = self.document()?;
        let Some(member) = root.member(section.key()) else {
            return Ok(false);
        };
        let object = match &member.value {
            Node::Object(object) => object,
            Node::Array(array) if array.elements.is_empty() => return Ok(false),
            Node::Array(_) | Node::Scalar { .. } => {
                return Err(EditError::SectionNotAnObject { section });
            }
        };
        let Some(index) = find_package_index(object, package) else {
            return Ok(false);
        };
        let members = &object.members;
        let (start, end) = if members.len() == 1 {
            (object.open + 1, object.close)
        } else if index + 1 < members.len() {
            // The entry, its comma and the whitespace up to the next key; the whitespace before
            // it now leads to the next entry.
            (members[index].key_start, members[index + 1].key_start)
        } else {
            // The last entry: from the end of the one before (its comma included).
            (members[index - 1].value_end, members[index].value_end)
        };
        self.splice(start, end, "");
        Ok(true)
    }

    /// Parses the current text: the root object's layout and its value.
    fn document(&self) -> Result<(Object, serde_json::Value), EditError> {
        let value: serde_json::Value =
            serde_json::from_str(&self.text).map_err(|error| EditError::InvalidJson {
                line: error.line(),
                column: error.column(),
                message: message_without_position(&error),
            })?;
        match read_layout(&self.text) {
            Some(Node::Object(root)) => Ok((root, value)),
            _ => Err(EditError::NotAnObject),
        }
    }

    fn splice(&mut self, start: usize, end: usize, replacement: &str) {
        self.text.replace_range(start..end, replacement);
    }

    /// `"\r\n"` if the file uses it anywhere, as Composer decides.
    fn newline(&self) -> &'static str {
        if self.text.contains("\r\n") {
            "\r\n"
        } else {
            "\n"
        }
    }

    /// Composer's indentation unit: the leading spaces or tabs of the first indented key.
    fn indent_unit(&self) -> &str {
        self.text
            .split('\n')
            .find_map(|line| {
                let key_at = line.find(|character| character != ' ' && character != '\t')?;
                (key_at > 0 && line[key_at..].starts_with('"')).then(|| &line[..key_at])
            })
            .unwrap_or("    ")
    }

    fn is_single_line(&self) -> bool {
        !self.text.contains('\n')
    }

    /// The spaces or tabs before the key at `position`, if it starts its line.
    fn line_indent(&self, position: usize) -> &str {
        let line_start = self.text[..position]
            .rfind('\n')
            .map_or(0, |index| index + 1);
        let before = &self.text[line_start..position];
        if before
            .chars()
            .all(|character| character == ' ' || character == '\t')
        {
            before
        } else {
            ""
        }
    }

    /// The separator between a key and its value as written next to `member`.
    fn colon<'a>(&'a self, member: Option<&Member>) -> &'a str {
        member.map_or(": ", |member| {
            &self.text[member.key_end..member.value_start]
        })
    }

    /// The whitespace that separates entries of `object` (after a comma), copied from the last
    /// two entries, or from the space before the first one.
    fn entry_separator(&self, object: &Object) -> String {
        let members = &object.members;
        match members.as_slice() {
            [.., before_last, last] => {
                let comma = before_last.comma.unwrap_or(before_last.value_end);
                self.text[comma + 1..last.key_start].to_owned()
            }
            [only] => {
                let before = &self.text[object.open + 1..only.key_start];
                if before.contains('\n') || before.is_empty() {
                    before.to_owned()
                } else {
                    " ".to_owned()
                }
            }
            [] => format!("{}{}", self.newline(), self.indent_unit()),
        }
    }

    /// The inside of an empty section with its one entry, on its own line unless the file is
    /// written on a single line.
    fn first_entry(&self, section: &Member, package: &str, value_text: &str) -> String {
        let entry = format!(
            "{}{}{value_text}",
            encode(package),
            self.colon(Some(section))
        );
        if self.is_single_line() {
            return entry;
        }
        let newline = self.newline();
        let indent = self.line_indent(section.key_start);
        let unit = self.indent_unit();
        format!("{newline}{indent}{unit}{entry}{newline}{indent}")
    }

    fn insert_link(
        &mut self,
        section: &Member,
        object: &Object,
        package: &str,
        value_text: &str,
        sort: bool,
    ) {
        let Some(last) = object.members.last() else {
            let inside = self.first_entry(section, package, value_text);
            self.splice(object.open + 1, object.close, &inside);
            return;
        };
        let before = if sort {
            object
                .members
                .iter()
                .find(|member| compare_packages(package, &member.key) == Ordering::Less)
        } else {
            None
        };
        let entry = format!(
            "{}{}{value_text}",
            encode(package),
            self.colon(before.or(Some(last)))
        );
        let separator = self.entry_separator(object);
        match before {
            Some(next) => self.splice(
                next.key_start,
                next.key_start,
                &format!("{entry},{separator}"),
            ),
            None => self.splice(
                last.value_end,
                last.value_end,
                &format!(",{separator}{entry}"),
            ),
        }
    }

    fn add_section(&mut self, root: &Object, section: Section, package: &str, constraint: &str) {
        let colon = self.colon(root.members.first()).to_owned();
        let entry = format!("{}{colon}{}", encode(package), encode(constraint));
        let key = encode(section.key());
        if root.members.is_empty() {
            let newline = self.newline();
            let unit = self.indent_unit().to_owned();
            let inside = format!(
                "{newline}{unit}{key}{colon}{{{newline}{unit}{unit}{entry}{newline}{unit}}}{newline}"
            );
            self.splice(root.open + 1, root.close, &inside);
            return;
        }
        let separator = self.entry_separator(root);
        let content = if self.is_single_line() {
            format!("{key}{colon}{{{entry}}}")
        } else {
            let newline = self.newline();
            let indent = separator.rsplit('\n').next().unwrap_or_default().to_owned();
            let unit = self.indent_unit();
            format!("{key}{colon}{{{newline}{indent}{unit}{entry}{newline}{indent}}}")
        };
        let anchor = match section {
            Section::Require => root
                .member(Section::RequireDev.key())
                .map(|member| (member.key_start, true)),
            Section::RequireDev => root
                .member(Section::Require.key())
                .map(|member| (member.value_end, false)),
        };
        let last_end = root
            .members
            .last()
            .map_or(root.open + 1, |last| last.value_end);
        match anchor {
            Some((position, true)) => {
                self.splice(position, position, &format!("{content},{separator}"));
            }
            Some((position, false)) => {
                self.splice(position, position, &format!(",{separator}{content}"));
            }
            None => self.splice(last_end, last_end, &format!(",{separator}{content}")),
        }
    }
}

impl fmt::Display for ComposerJsonEditor {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.text)
    }
}

/// A JSON string as Composer writes one: no `\/`, no `\u` escapes for non-ASCII text.
fn encode(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// Composer's `sort-packages` order (`JsonManipulator::sortPackages`): platform packages first,
/// `php`, `hhvm`, `ext-*`, `lib-*`, then the others, then every other package; natural order
/// within each group.
fn compare_packages(left: &str, right: &str) -> Ordering {
    natural_compare(&sort_prefix(left), &sort_prefix(right))
}

fn sort_prefix(name: &str) -> String {
    if !is_platform_package(name) {
        return format!("5-{name}");
    }
    let group = if name.starts_with("php") {
        '0'
    } else if name.starts_with("hhvm") {
        '1'
    } else if name.starts_with("ext") {
        '2'
    } else if name.starts_with("lib") {
        '3'
    } else {
        '4'
    };
    format!("{group}-{name}")
}

/// Whether `name` is a platform package (`php`, `ext-*`, `lib-*`, `composer-plugin-api`, …):
/// Composer's `PlatformRepository::PLATFORM_PACKAGE_REGEX`.
pub fn is_platform_package(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "php"
            | "php-64bit"
            | "php-ipv6"
            | "php-zts"
            | "php-debug"
            | "hhvm"
            | "composer"
            | "composer-plugin-api"
            | "composer-runtime-api"
    ) {
        return true;
    }
    let Some(rest) = lower
        .strip_prefix("ext-")
        .or_else(|| lower.strip_prefix("lib-"))
    else {
        return false;
    };
    // `[a-z0-9](?:[_.-]?[a-z0-9]+)*`: alphanumeric runs joined by single separators.
    let alphanumeric =
        |character: char| character.is_ascii_lowercase() || character.is_ascii_digit();
    rest.starts_with(alphanumeric)
        && !rest.ends_with(['_', '.', '-'])
        && rest
            .chars()
            .all(|character| alphanumeric(character) || "_.-".contains(character))
        && !rest
            .as_bytes()
            .windows(2)
            .any(|pair| b"_.-".contains(&pair[0]) && b"_.-".contains(&pair[1]))
}

/// Natural order as PHP's `strnatcmp`: runs of digits compare by value, everything else byte by
/// byte.
fn natural_compare(left: &str, right: &str) -> Ordering {
    let (mut left, mut right) = (left.as_bytes(), right.as_bytes());
    loop {
        match (left.first(), right.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(a), Some(b)) if a.is_ascii_digit() && b.is_ascii_digit() => {
                let left_digits = left.iter().take_while(|byte| byte.is_ascii_digit()).count();
                let right_digits = right
                    .iter()
                    .take_while(|byte| byte.is_ascii_digit())
                    .count();
                let trim = |digits: &[u8]| {
                    let zeros = digits.iter().take_while(|&&byte| byte == b'0').count();
                    digits[zeros..].to_vec()
                };
                let (a_value, b_value) = (trim(&left[..left_digits]), trim(&right[..right_digits]));
                let ordering = a_value
                    .len()
                    .cmp(&b_value.len())
                    .then_with(|| a_value.cmp(&b_value));
                if ordering != Ordering::Equal {
                    return ordering;
                }
                left = &left[left_digits..];
                right = &right[right_digits..];
            }
            (Some(a), Some(b)) => {
                if a != b {
                    return a.cmp(b);
                }
                left = &left[1..];
                right = &right[1..];
            }
        }
    }
}

/// The link of `package` in a section: the last one written, else (as Composer) one whose name
/// differs only in case.
fn find_package_index(object: &Object, package: &str) -> Option<usize> {
    object
        .members
        .iter()
        .rposition(|member| member.key == package)
        .or_else(|| {
            object
                .members
                .iter()
                .rposition(|member| member.key.eq_ignore_ascii_case(package))
        })
}

fn find_package<'a>(object: &'a Object, package: &str) -> Option<&'a Member> {
    find_package_index(object, package).map(|index| &object.members[index])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edited(text: &str, edit: impl FnOnce(&mut ComposerJsonEditor)) -> String {
        let mut editor = ComposerJsonEditor::parse(text).unwrap_or_else(|error| panic!("{error}"));
        edit(&mut editor);
        editor.to_string()
    }

    fn set(
        section: Section,
        package: &'static str,
        constraint: &'static str,
    ) -> impl FnOnce(&mut ComposerJsonEditor) {
        move |editor| {
            editor
                .set_requirement(section, package, constraint)
                .unwrap_or_else(|error| panic!("{error}"));
        }
    }

    const SHOP: &str = "{\n    \"name\": \"spryker/b2b-demo-shop\",\n    \"require\": {\n        \"php\": \">=8.2\",\n        \"spryker\\/kernel\": \"^3.75.0\",\n        \"spryker/zed-ui\": \"~2.5.0 || ^3.0.0@beta\"\n    },\n    \"require-dev\": {\n        \"phpstan/phpstan\": \"^1.10\"\n    },\n    \"extra\": {\"note\": \"Grüße \\u00e9\"}\n}\n";

    #[test]
    fn replaces_only_the_value_string() {
        let text = edited(SHOP, set(Section::Require, "spryker/kernel", "^3.80.0"));
        assert_eq!(text, SHOP.replace("\"^3.75.0\"", "\"^3.80.0\""));
        let text = edited(SHOP, set(Section::Require, "Spryker/Zed-UI", "^3.1.0"));
        assert_eq!(
            text,
            SHOP.replace("\"~2.5.0 || ^3.0.0@beta\"", "\"^3.1.0\"")
        );
    }

    #[test]
    fn appends_a_new_link_with_the_neighbours_layout() {
        let text = edited(
            SHOP,
            set(
                Section::RequireDev,
                "spryker/code-sniffer",
                "dev-master as 0.17.x-dev",
            ),
        );
        assert_eq!(
            text,
            SHOP.replace(
                "\"phpstan/phpstan\": \"^1.10\"\n",
                "\"phpstan/phpstan\": \"^1.10\",\n        \"spryker/code-sniffer\": \"dev-master as 0.17.x-dev\"\n"
            )
        );
    }

    #[test]
    fn keeps_tabs_crlf_and_a_missing_final_newline() {
        let original = "{\r\n\t\"require\": {\r\n\t\t\"a/a\": \"^1.0\"\r\n\t}\r\n}";
        let text = edited(original, set(Section::Require, "b/b", "^2.0"));
        assert_eq!(
            text,
            "{\r\n\t\"require\": {\r\n\t\t\"a/a\": \"^1.0\",\r\n\t\t\"b/b\": \"^2.0\"\r\n\t}\r\n}"
        );
    }

    #[test]
    fn inserts_in_sorted_position_when_sort_packages_is_on() {
        let original = "{\n  \"require\": {\n    \"php\": \"^8.2\",\n    \"ext-json\": \"*\",\n    \"a/a\": \"^1\",\n    \"c/c\": \"^1\"\n  },\n  \"config\": {\n    \"sort-packages\": true\n  }\n}\n";
        let text = edited(original, set(Section::Require, "b/b", "^2"));
        assert_eq!(
            text,
            original.replace("    \"c/c\"", "    \"b/b\": \"^2\",\n    \"c/c\"")
        );
        let text = edited(original, set(Section::Require, "ext-intl", "*"));
        assert_eq!(
            text,
            original.replace(
                "    \"ext-json\"",
                "    \"ext-intl\": \"*\",\n    \"ext-json\""
            )
        );
        let text = edited(original, set(Section::Require, "d/d", "^1"));
        assert_eq!(
            text,
            original.replace(
                "\"c/c\": \"^1\"\n",
                "\"c/c\": \"^1\",\n    \"d/d\": \"^1\"\n"
            )
        );
        // Without sort-packages, new links go last.
        let unsorted = original.replace("true", "false");
        let text = edited(&unsorted, set(Section::Require, "b/b", "^2"));
        assert_eq!(
            text,
            unsorted.replace(
                "\"c/c\": \"^1\"\n",
                "\"c/c\": \"^1\",\n    \"b/b\": \"^2\"\n"
            )
        );
    }

    #[test]
    fn orders_packages_like_composer() {
        let mut names = [
            "b/b",
            "ext-json",
            "php",
            "a/a2",
            "lib-icu",
            "a/a10",
            "composer-plugin-api",
            "hhvm",
        ];
        names.sort_by(|left, right| compare_packages(left, right));
        assert_eq!(
            names,
            [
                "php",
                "hhvm",
                "ext-json",
                "lib-icu",
                "composer-plugin-api",
                "a/a2",
                "a/a10",
                "b/b"
            ]
        );
        assert!(!is_platform_package("ext-"));
        assert!(!is_platform_package("ext-a--b"));
        assert!(is_platform_package("ext-pdo_mysql"));
    }

    #[test]
    fn creates_a_missing_section_next_to_its_sibling() {
        let original = "{\n  \"name\": \"a/project\",\n  \"require\": {\n    \"a/a\": \"^1\"\n  },\n  \"extra\": {}\n}\n";
        let text = edited(original, set(Section::RequireDev, "b/b", "^2"));
        assert_eq!(
            text,
            "{\n  \"name\": \"a/project\",\n  \"require\": {\n    \"a/a\": \"^1\"\n  },\n  \"require-dev\": {\n    \"b/b\": \"^2\"\n  },\n  \"extra\": {}\n}\n"
        );
        let original = "{\n    \"name\": \"a/project\",\n    \"require-dev\": {}\n}";
        let text = edited(original, set(Section::Require, "a/a", "^1"));
        assert_eq!(
            text,
            "{\n    \"name\": \"a/project\",\n    \"require\": {\n        \"a/a\": \"^1\"\n    },\n    \"require-dev\": {}\n}"
        );
        let original = "{\n    \"name\": \"a/project\"\n}\n";
        let text = edited(original, set(Section::Require, "a/a", "^1"));
        assert_eq!(
            text,
            "{\n    \"name\": \"a/project\",\n    \"require\": {\n        \"a/a\": \"^1\"\n    }\n}\n"
        );
        let text = edited("{}", set(Section::Require, "a/a", "^1"));
        assert_eq!(
            text,
            "{\n    \"require\": {\n        \"a/a\": \"^1\"\n    }\n}"
        );
    }

    #[test]
    fn fills_empty_sections() {
        let original = "{\n  \"require\": {},\n  \"require-dev\": []\n}\n";
        let text = edited(original, set(Section::Require, "a/a", "^1"));
        assert_eq!(
            text,
            "{\n  \"require\": {\n    \"a/a\": \"^1\"\n  },\n  \"require-dev\": []\n}\n"
        );
        let text = edited(original, set(Section::RequireDev, "a/a", "^1"));
        assert_eq!(
            text,
            "{\n  \"require\": {},\n  \"require-dev\": {\n    \"a/a\": \"^1\"\n  }\n}\n"
        );
    }

    #[test]
    fn edits_single_line_documents_in_place() {
        let original = r#"{"require":{"a/a":"^1"},"name":"x/y"}"#;
        let text = edited(original, set(Section::Require, "b/b", "^2"));
        assert_eq!(text, r#"{"require":{"a/a":"^1","b/b":"^2"},"name":"x/y"}"#);
        let text = edited(original, set(Section::RequireDev, "b/b", "^2"));
        assert_eq!(
            text,
            r#"{"require":{"a/a":"^1"},"require-dev":{"b/b":"^2"},"name":"x/y"}"#
        );
    }

    #[test]
    fn escapes_what_json_needs_and_nothing_else() {
        let text = edited(
            "{\"require\": {}}",
            set(Section::Require, "a/é", "^1 \"quoted\""),
        );
        assert_eq!(text, "{\"require\": {\"a/é\": \"^1 \\\"quoted\\\"\"}}");
    }

    #[test]
    fn removes_links_keeping_the_layout() {
        let remove = |text: &str, section, package| {
            let mut editor =
                ComposerJsonEditor::parse(text).unwrap_or_else(|error| panic!("{error}"));
            let removed = editor
                .remove_requirement(section, package)
                .unwrap_or_else(|error| panic!("{error}"));
            (removed, editor.to_string())
        };
        assert_eq!(
            remove(SHOP, Section::Require, "php"),
            (true, SHOP.replace("        \"php\": \">=8.2\",\n", ""))
        );
        assert_eq!(
            remove(SHOP, Section::Require, "spryker/zed-ui"),
            (
                true,
                SHOP.replace(
                    ",\n        \"spryker/zed-ui\": \"~2.5.0 || ^3.0.0@beta\"",
                    ""
                )
            )
        );
        assert_eq!(
            remove(SHOP, Section::Require, "spryker/kernel"),
            (
                true,
                SHOP.replace("        \"spryker\\/kernel\": \"^3.75.0\",\n", "")
            )
        );
        assert_eq!(
            remove(SHOP, Section::RequireDev, "phpstan/phpstan"),
            (
                true,
                SHOP.replace("{\n        \"phpstan/phpstan\": \"^1.10\"\n    }", "{}")
            )
        );
        assert_eq!(
            remove(SHOP, Section::RequireDev, "a/missing"),
            (false, SHOP.to_owned())
        );
        assert_eq!(
            remove("{}", Section::Require, "a/a"),
            (false, "{}".to_owned())
        );
    }

    #[test]
    fn rejects_what_it_cannot_edit() {
        assert_eq!(
            ComposerJsonEditor::parse("[1]"),
            Err(EditError::NotAnObject)
        );
        let error = ComposerJsonEditor::parse("{\n  \"require\": {,}\n}").expect_err("invalid");
        assert_eq!(
            error.to_string(),
            "composer.json:2:15: key must be a string"
        );
        let mut editor = ComposerJsonEditor::parse(r#"{"require": "^1"}"#)
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            editor.set_requirement(Section::Require, "a/a", "^1"),
            Err(EditError::SectionNotAnObject {
                section: Section::Require
            })
        );
    }

    mod properties {
        use std::fmt::Write as _;

        use proptest::prelude::*;
        use serde_json::Value;

        use super::super::*;

        /// A JSON value to write in a chosen style.
        #[derive(Debug, Clone)]
        enum Json {
            Text(String),
            Number(i64),
            Flag(bool),
            List(Vec<Json>),
            Map(Vec<(String, Json)>),
        }

        #[derive(Debug, Clone)]
        #[allow(clippy::struct_excessive_bools)]
        struct Style {
            indent: &'static str,
            newline: &'static str,
            colon: &'static str,
            final_newline: bool,
            single_line: bool,
            escape_slashes: bool,
            escape_unicode: bool,
        }

        fn write_string(text: &str, style: &Style) -> String {
            let mut out = String::from("\"");
            for character in text.chars() {
                match character {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '/' if style.escape_slashes => out.push_str("\\/"),
                    '\n' => out.push_str("\\n"),
                    character if !character.is_ascii() && style.escape_unicode => {
                        let mut units = [0; 2];
                        for unit in character.encode_utf16(&mut units) {
                            let _ = write!(out, "\\u{unit:04x}");
                        }
                    }
                    character => out.push(character),
                }
            }
            out.push('"');
            out
        }

        fn write(json: &Json, style: &Style, depth: usize) -> String {
            let (newline, indent) = if style.single_line {
                (String::new(), String::new())
            } else {
                (style.newline.to_owned(), style.indent.repeat(depth + 1))
            };
            let closing_indent = if style.single_line {
                String::new()
            } else {
                style.indent.repeat(depth)
            };
            match json {
                Json::Text(text) => write_string(text, style),
                Json::Number(number) => number.to_string(),
                Json::Flag(flag) => flag.to_string(),
                Json::List(items) if items.is_empty() => "[]".to_owned(),
                Json::List(items) => {
                    let items: Vec<String> = items
                        .iter()
                        .map(|item| write(item, style, depth + 1))
                        .collect();
                    format!("[{}]", items.join(", "))
                }
                Json::Map(entries) if entries.is_empty() => "{}".to_owned(),
                Json::Map(entries) => {
                    let entries: Vec<String> = entries
                        .iter()
                        .map(|(key, value)| {
                            format!(
                                "{indent}{}{}{}",
                                write_string(key, style),
                                style.colon,
                                write(value, style, depth + 1)
                            )
                        })
                        .collect();
                    format!(
                        "{{{newline}{}{newline}{closing_indent}}}",
                        entries.join(&format!(",{newline}"))
                    )
                }
            }
        }

        const PACKAGES: [&str; 7] = [
            "php",
            "ext-json",
            "a/a",
            "b/b",
            "spryker/kernel",
            "vendor/pakét",
            "lib-icu",
        ];
        const CONSTRAINTS: [&str; 5] = [
            "^1.0",
            "~2.5.0 || ^3.0@beta",
            "*",
            "dev-main as 1.0.x-dev",
            ">=1.0 <2.0",
        ];

        fn links() -> impl Strategy<Value = Json> {
            prop::collection::vec(
                (
                    prop::sample::select(&PACKAGES[..]),
                    prop::sample::select(&CONSTRAINTS[..]),
                ),
                0..6,
            )
            .prop_map(|links| {
                let mut seen = Vec::new();
                let entries = links
                    .into_iter()
                    .filter(|(name, _)| {
                        let fresh = !seen.contains(name);
                        seen.push(*name);
                        fresh
                    })
                    .map(|(name, constraint)| (name.to_owned(), Json::Text(constraint.to_owned())))
                    .collect();
                Json::Map(entries)
            })
        }

        fn document() -> impl Strategy<Value = Json> {
            (
                links(),
                prop::option::of(prop_oneof![links(), Just(Json::List(Vec::new()))]),
                prop::option::of(any::<bool>()),
                any::<bool>(),
                Just(()),
                0_usize..24,
            )
                .prop_map(
                    |(require, require_dev, sort_packages, with_require, (), rotation)| {
                        let mut members = vec![
                            ("name".to_owned(), Json::Text("acme/shop".to_owned())),
                            (
                                "description".to_owned(),
                                Json::Text("Grüße, \"quoted\" / slashed ☃".to_owned()),
                            ),
                            (
                                "keywords".to_owned(),
                                Json::List(vec![Json::Text("a/b".to_owned()), Json::Number(3)]),
                            ),
                            (
                                "extra".to_owned(),
                                Json::Map(vec![(
                                    "nested".to_owned(),
                                    Json::Map(vec![("k".to_owned(), Json::Flag(true))]),
                                )]),
                            ),
                        ];
                        if with_require {
                            members.push(("require".to_owned(), require));
                        }
                        if let Some(require_dev) = require_dev {
                            members.push(("require-dev".to_owned(), require_dev));
                        }
                        if let Some(sort) = sort_packages {
                            members.push((
                                "config".to_owned(),
                                Json::Map(vec![("sort-packages".to_owned(), Json::Flag(sort))]),
                            ));
                        }
                        let rotation = rotation % members.len();
                        members.rotate_left(rotation);
                        Json::Map(members)
                    },
                )
        }

        fn style() -> impl Strategy<Value = Style> {
            (
                prop::sample::select(&["  ", "    ", "\t"][..]),
                prop::sample::select(&["\n", "\r\n"][..]),
                prop::sample::select(&[": ", ":", " : "][..]),
                any::<bool>(),
                prop::bool::weighted(0.15),
                any::<bool>(),
                any::<bool>(),
            )
                .prop_map(
                    |(
                        indent,
                        newline,
                        colon,
                        final_newline,
                        single_line,
                        escape_slashes,
                        escape_unicode,
                    )| Style {
                        indent,
                        newline,
                        colon,
                        final_newline,
                        single_line,
                        escape_slashes,
                        escape_unicode,
                    },
                )
        }

        #[derive(Debug, Clone)]
        enum Operation {
            Set(Section, &'static str, &'static str),
            Remove(Section, &'static str),
        }

        fn operation() -> impl Strategy<Value = Operation> {
            let section = prop::sample::select(&[Section::Require, Section::RequireDev][..]);
            prop_oneof![
                3 => (section.clone(), prop::sample::select(&PACKAGES[..]), prop::sample::select(&["^9.9", "1.2.3 || ^2.0@dev", "\\ \""][..]))
                    .prop_map(|(section, package, constraint)| Operation::Set(section, package, constraint)),
                1 => (section, prop::sample::select(&PACKAGES[..])).prop_map(|(section, package)| Operation::Remove(section, package)),
            ]
        }

        fn keys(value: &Value) -> Vec<String> {
            value
                .as_object()
                .map(|map| map.keys().cloned().collect())
                .unwrap_or_default()
        }

        fn common_prefix(left: &str, right: &str) -> usize {
            left.bytes()
                .zip(right.bytes())
                .take_while(|(a, b)| a == b)
                .count()
        }

        fn common_suffix(left: &str, right: &str) -> usize {
            left.bytes()
                .rev()
                .zip(right.bytes().rev())
                .take_while(|(a, b)| a == b)
                .count()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn edits_change_only_the_edited_link(json in document(), style in style(), operation in operation()) {
                let mut original = write(&json, &style, 0);
                if style.final_newline {
                    original.push_str(style.newline);
                }
                let before: Value = serde_json::from_str(&original).expect("the generated document is JSON");
                let mut editor = ComposerJsonEditor::parse(&original).expect("the editor reads it");
                let (section, package) = match operation {
                    Operation::Set(section, package, _) | Operation::Remove(section, package) => (section, package),
                };
                let (root, _) = editor.document().expect("layout");
                let section_span = root.member(section.key()).map(|member| (member.value_start, member.value_end));

                let mut expected = before.clone();
                match operation {
                    Operation::Set(_, _, constraint) => {
                        editor.set_requirement(section, package, constraint).expect("set");
                        let links = &mut expected[section.key()];
                        if !links.is_object() {
                            *links = Value::Object(serde_json::Map::new());
                        }
                        links[package] = Value::from(constraint);
                    }
                    Operation::Remove(_, _) => {
                        let removed = editor.remove_requirement(section, package).expect("remove");
                        let present = before.get(section.key()).and_then(|links| links.get(package)).is_some();
                        prop_assert_eq!(removed, present);
                        if let Some(links) = expected.get_mut(section.key()).and_then(Value::as_object_mut) {
                            links.shift_remove(package);
                        }
                    }
                }
                let text = editor.to_string();
                let after: Value = serde_json::from_str(&text).expect("the edited document is JSON");
                prop_assert_eq!(&after, &expected);

                // Key order: the document's and the section's keys keep their order.
                let created_section = !before.as_object().is_some_and(|root| root.contains_key(section.key()));
                let mut top_keys = keys(&after);
                if created_section {
                    top_keys.retain(|key| key != section.key());
                }
                prop_assert_eq!(top_keys, keys(&before));
                let mut link_keys = keys(&after[section.key()]);
                link_keys.retain(|key| key != package);
                let mut old_link_keys = keys(&before[section.key()]);
                old_link_keys.retain(|key| key != package);
                prop_assert_eq!(link_keys, old_link_keys);

                // Bytes: everything outside the section is unchanged; a new section is one insertion.
                let prefix = common_prefix(&original, &text);
                let suffix = common_suffix(&original, &text);
                match section_span {
                    Some((start, end)) => {
                        prop_assert!(prefix >= start, "changed before the section: {original:?} -> {text:?}");
                        prop_assert!(suffix >= original.len() - end, "changed after the section: {original:?} -> {text:?}");
                    }
                    None => prop_assert!(prefix + suffix >= original.len(), "more than one insertion: {original:?} -> {text:?}"),
                }

                // Setting the same constraint again changes nothing.
                if let Operation::Set(_, _, constraint) = operation {
                    editor.set_requirement(section, package, constraint).expect("set again");
                    prop_assert_eq!(editor.to_string(), text);
                }
            }
        }
    }
}
