//! Reading YAML with positions: typed documents (`upkeep.yml`, `buildspec.yml`) whose errors
//! name the file, line, column and key path, and a generic tree whose every value remembers
//! where it was written (deploy files, which are merged from several files).

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use saphyr_parser::{Event, Parser, ScalarStyle, Span, StrInput, Tag};
use serde::de::DeserializeOwned;

/// A YAML document that could not be read: where, at which key, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct YamlError {
    pub file: PathBuf,
    /// 1-based; 0 when the parser did not know the position.
    pub line: usize,
    /// 1-based; 0 when the parser did not know the position.
    pub column: usize,
    /// Dotted path of the key being read (`environments.staging.deploy-type`), empty at the root.
    pub key_path: String,
    pub message: String,
}

impl YamlError {
    /// An error about the value written at `origin`.
    pub(crate) fn at(origin: Origin, key_path: &str, message: impl Into<String>) -> Self {
        Self {
            file: origin.file,
            line: origin.line,
            column: origin.column,
            key_path: key_path.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for YamlError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.file.display())?;
        if self.line > 0 {
            write!(formatter, ":{}:{}", self.line, self.column)?;
        }
        write!(formatter, ": ")?;
        if !self.key_path.is_empty() {
            write!(formatter, "at `{}`: ", self.key_path)?;
        }
        write!(formatter, "{}", self.message)
    }
}

/// Deserializes one YAML document into `T`. Unknown keys (with `deny_unknown_fields`), wrong
/// types and syntax errors come back with the position and the key path of the failing value.
pub fn parse_typed<T: DeserializeOwned>(text: &str, path: &Path) -> Result<T, YamlError> {
    let mut key_path = String::new();
    serde_saphyr::with_deserializer_from_str(text, |deserializer| {
        serde_path_to_error::deserialize(deserializer).map_err(|error| {
            key_path = error.path().to_string();
            error.into_inner()
        })
    })
    .map_err(|error| {
        let (line, column) = error.location().map_or((0, 0), |location| {
            (
                usize::try_from(location.line()).unwrap_or(0),
                usize::try_from(location.column()).unwrap_or(0),
            )
        });
        YamlError {
            file: path.to_path_buf(),
            line,
            column,
            key_path: clean_key_path(&key_path),
            message: saphyr_message(&error),
        }
    })
}

/// `serde_path_to_error` writes `.` for the root and `?` for segments it could not name (a key
/// that failed to parse); neither helps a reader.
fn clean_key_path(path: &str) -> String {
    path.split('.')
        .filter(|segment| !segment.is_empty() && *segment != "?")
        .collect::<Vec<_>>()
        .join(".")
}

/// The parser's message without the position and source snippet it may add (the error carries
/// the position itself), with the parser's internal wording of type mismatches replaced by
/// what the reader has to write.
fn saphyr_message(error: &serde_saphyr::Error) -> String {
    use serde_saphyr::{Error, MessageFormatter};
    match error.without_snippet() {
        Error::Unexpected { expected, .. } => match *expected {
            "string scalar" | "scalar" => {
                "expected a single value, found a sequence or mapping".to_string()
            }
            "sequence start" => "expected a sequence".to_string(),
            "mapping start" => "expected a mapping".to_string(),
            other => format!("expected {other}"),
        },
        Error::InvalidScalar { ty, .. } => match *ty {
            "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => {
                "expected a whole number (0 or more)".to_string()
            }
            "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => {
                "expected a whole number".to_string()
            }
            "f32" | "f64" => "expected a number".to_string(),
            "bool" => "expected true or false".to_string(),
            other => format!("invalid {other}"),
        },
        other => {
            let message = serde_saphyr::UserMessageFormatter.format_message(other);
            message
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_string()
        }
    }
}

/// Where a value was written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Origin {
    pub file: PathBuf,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{}:{}:{}",
            self.file.display(),
            self.line,
            self.column
        )
    }
}

/// One value of a YAML document with the place it was written. Aliases are resolved: an alias
/// yields a copy of the anchored value with the anchor's origin, so a value always points at
/// the text that defined it.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: NodeValue,
    pub origin: Origin,
    /// Where the key of this value was written, for values of a mapping.
    pub key_origin: Option<Origin>,
}

/// The value of a [`Node`], typed by the YAML 1.2 core schema (plain `yes`/`on` stay strings).
#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Seq(Vec<Node>),
    Map(IndexMap<String, Node>),
}

impl Node {
    /// The value of `key` when this node is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map().and_then(|map| map.get(key))
    }

    pub fn as_map(&self) -> Option<&IndexMap<String, Node>> {
        match &self.value {
            NodeValue::Map(map) => Some(map),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::String(text) => Some(text),
            _ => None,
        }
    }

    /// The text of a scalar as docker-sdk writes it into an environment variable (PHP's string
    /// conversion, except booleans: `true`/`false`; `80`; `1.0` becomes `1`; null becomes an
    /// empty string); `None` for sequences and mappings.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            NodeValue::Null => Some(String::new()),
            NodeValue::Bool(value) => Some(value.to_string()),
            NodeValue::Int(value) => Some(value.to_string()),
            NodeValue::Float(value) => Some(value.to_string()),
            NodeValue::String(text) => Some(text.clone()),
            NodeValue::Seq(_) | NodeValue::Map(_) => None,
        }
    }

    /// What kind of value this is, for messages ("expected a string, found a mapping").
    pub fn kind(&self) -> &'static str {
        match &self.value {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "a boolean",
            NodeValue::Int(_) => "an integer",
            NodeValue::Float(_) => "a number",
            NodeValue::String(_) => "a string",
            NodeValue::Seq(_) => "a sequence",
            NodeValue::Map(_) => "a mapping",
        }
    }

    /// How many nodes this tree holds (itself included) and how many bytes of strings (keys
    /// and values): what a copy of it costs.
    fn size(&self) -> (usize, usize) {
        match &self.value {
            NodeValue::String(text) => (1, text.len()),
            NodeValue::Seq(items) => items.iter().map(Node::size).fold((1, 0), add_sizes),
            NodeValue::Map(map) => map
                .iter()
                .map(|(key, value)| {
                    let (nodes, bytes) = value.size();
                    (nodes, bytes + key.len())
                })
                .fold((1, 0), add_sizes),
            _ => (1, 0),
        }
    }
}

fn add_sizes(total: (usize, usize), size: (usize, usize)) -> (usize, usize) {
    (
        total.0.saturating_add(size.0),
        total.1.saturating_add(size.1),
    )
}

/// Writes a float so that it reads back as the same float (`1.0`, not `1`).
pub(crate) fn format_float(value: f64) -> String {
    if value.is_nan() {
        ".nan".to_string()
    } else if value.is_infinite() {
        if value > 0.0 { ".inf" } else { "-.inf" }.to_string()
    } else {
        format!("{value:?}")
    }
}

/// Writes a tree as block-style YAML that [`parse_tree`] reads back to the same values, indented
/// by four spaces like docker-sdk deploy files. `comment` may add a `# ...` comment to the line
/// of each value (for a mapping or sequence: the line of its key).
pub fn to_yaml_string(node: &Node, comment: &dyn Fn(&Node) -> Option<String>) -> String {
    let mut out = String::new();
    match &node.value {
        NodeValue::Map(map) if !map.is_empty() => write_map(&mut out, map, 0, comment),
        NodeValue::Seq(items) if !items.is_empty() => write_seq(&mut out, items, 0, comment),
        _ => {
            out.push_str(&inline_value(node));
            push_comment(&mut out, node, comment);
            out.push('\n');
        }
    }
    out
}

const INDENT: usize = 4;

fn write_map(
    out: &mut String,
    map: &IndexMap<String, Node>,
    indent: usize,
    comment: &dyn Fn(&Node) -> Option<String>,
) {
    for (key, value) in map {
        out.push_str(&" ".repeat(indent));
        out.push_str(&scalar_string(key));
        out.push(':');
        write_value_after_key(out, value, indent, comment);
    }
}

fn write_seq(
    out: &mut String,
    items: &[Node],
    indent: usize,
    comment: &dyn Fn(&Node) -> Option<String>,
) {
    for item in items {
        if is_block(item) {
            // Written two deeper, then its first indentation becomes the `- ` of the item.
            let mut block = String::new();
            match &item.value {
                NodeValue::Map(map) => write_map(&mut block, map, indent + 2, comment),
                NodeValue::Seq(items) => write_seq(&mut block, items, indent + 2, comment),
                _ => {}
            }
            out.push_str(&" ".repeat(indent));
            out.push_str("- ");
            out.push_str(&block[indent + 2..]);
        } else {
            out.push_str(&" ".repeat(indent));
            out.push_str("- ");
            out.push_str(&inline_value(item));
            push_comment(out, item, comment);
            out.push('\n');
        }
    }
}

fn write_value_after_key(
    out: &mut String,
    value: &Node,
    indent: usize,
    comment: &dyn Fn(&Node) -> Option<String>,
) {
    if is_block(value) {
        push_comment(out, value, comment);
        out.push('\n');
        match &value.value {
            NodeValue::Map(map) => write_map(out, map, indent + INDENT, comment),
            NodeValue::Seq(items) => write_seq(out, items, indent + INDENT, comment),
            _ => {}
        }
    } else {
        out.push(' ');
        out.push_str(&inline_value(value));
        push_comment(out, value, comment);
        out.push('\n');
    }
}

/// Non-empty mappings and sequences are written as indented blocks; the rest on one line.
fn is_block(node: &Node) -> bool {
    match &node.value {
        NodeValue::Map(map) => !map.is_empty(),
        NodeValue::Seq(items) => !items.is_empty(),
        _ => false,
    }
}

fn push_comment(out: &mut String, node: &Node, comment: &dyn Fn(&Node) -> Option<String>) {
    if let Some(text) = comment(node) {
        out.push_str("  # ");
        out.push_str(&text);
    }
}

fn inline_value(node: &Node) -> String {
    match &node.value {
        NodeValue::Null => "null".to_string(),
        NodeValue::Bool(value) => value.to_string(),
        NodeValue::Int(value) => value.to_string(),
        NodeValue::Float(value) => format_float(*value),
        NodeValue::String(text) => scalar_string(text),
        NodeValue::Seq(_) => "[]".to_string(),
        NodeValue::Map(_) => "{}".to_string(),
    }
}

/// A string as a plain scalar when that reads back as the same string, else quoted: single
/// quotes when that suffices, double quotes with escapes for control characters.
fn scalar_string(text: &str) -> String {
    if text.chars().any(char::is_control) {
        let mut quoted = String::from("\"");
        for character in text.chars() {
            match character {
                '"' => quoted.push_str("\\\""),
                '\\' => quoted.push_str("\\\\"),
                '\n' => quoted.push_str("\\n"),
                '\t' => quoted.push_str("\\t"),
                '\r' => quoted.push_str("\\r"),
                control if control.is_control() => {
                    let _ = write!(quoted, "\\u{:04x}", u32::from(control));
                }
                other => quoted.push(other),
            }
        }
        quoted.push('"');
        return quoted;
    }
    if can_be_plain(text) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "''"))
    }
}

fn can_be_plain(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    let second = text.chars().nth(1);
    let starts_safely = match first {
        // `-`, `?` and `:` start a plain scalar only when a non-space follows (`--no-dev`).
        '-' | '?' | ':' => second.is_some_and(|next| !next.is_whitespace()),
        ',' | '[' | ']' | '{' | '}' | '#' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%'
        | '@' | '`' => false,
        other => !other.is_whitespace(),
    };
    starts_safely
        && !text.ends_with(char::is_whitespace)
        && !text.ends_with(':')
        && !text.contains(": ")
        && !text.contains(" #")
        && matches!(
            resolve_scalar(text, ScalarStyle::Plain, None),
            NodeValue::String(_)
        )
}

/// Nesting deeper than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 200;
/// Aliases copy their anchor; this caps what a file of "billion laughs" aliases can expand to.
const MAX_NODES: usize = 1_000_000;
/// Aliases copy their anchor's strings too: one long string aliased many times is a bomb the
/// node count does not see, so the bytes of strings (keys and values) are capped as well.
const MAX_STRING_BYTES: usize = 64 * 1024 * 1024;

/// Parses one YAML document into a [`Node`] tree that remembers where every value came from.
/// An empty document is a null node at 1:1. Merge keys (`<<: *anchor`) are applied: keys
/// written in the mapping win over merged ones, earlier merged mappings win over later ones.
pub fn parse_tree(text: &str, path: &Path) -> Result<Node, YamlError> {
    TreeBuilder {
        parser: Parser::new_from_str(text),
        file: path,
        anchors: HashMap::new(),
        nodes: 0,
        bytes: 0,
    }
    .document()
}

struct TreeBuilder<'input, 'path> {
    parser: Parser<'input, StrInput<'input>>,
    file: &'path Path,
    /// Anchored nodes with their size (nodes, string bytes), which an alias adds to the counts.
    anchors: HashMap<usize, (Node, (usize, usize))>,
    nodes: usize,
    /// Bytes of strings read or copied by aliases so far.
    bytes: usize,
}

impl<'input> TreeBuilder<'input, '_> {
    fn document(mut self) -> Result<Node, YamlError> {
        let mut root = None;
        loop {
            let (event, span) = self.next_event("")?;
            match event {
                Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
                Event::StreamEnd => break,
                Event::DocumentStart(_) => {
                    if root.is_some() {
                        return Err(self.error(
                            span,
                            "",
                            "a file holds one YAML document; remove the second `---`",
                        ));
                    }
                    let (event, span) = self.next_event("")?;
                    root = Some(self.node(event, span, "", 0)?);
                }
                other => {
                    return Err(self.error(span, "", format!("unexpected YAML event {other:?}")));
                }
            }
        }
        Ok(root.unwrap_or_else(|| Node {
            value: NodeValue::Null,
            origin: self.origin_at(1, 1),
            key_origin: None,
        }))
    }

    fn next_event(&mut self, key_path: &str) -> Result<(Event<'input>, Span), YamlError> {
        match self.parser.next_event() {
            Some(Ok(event)) => Ok(event),
            Some(Err(error)) => Err(YamlError {
                file: self.file.to_path_buf(),
                line: error.marker().line(),
                column: error.marker().col() + 1,
                key_path: key_path.to_string(),
                message: error.info().to_string(),
            }),
            None => Err(YamlError {
                file: self.file.to_path_buf(),
                line: 0,
                column: 0,
                key_path: key_path.to_string(),
                message: "unexpected end of file".to_string(),
            }),
        }
    }

    fn node(
        &mut self,
        event: Event<'input>,
        span: Span,
        key_path: &str,
        depth: usize,
    ) -> Result<Node, YamlError> {
        if depth > MAX_DEPTH {
            return Err(self.error(span, key_path, "values are nested too deeply"));
        }
        let origin = self.origin(span);
        let (value, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                self.count((0, text.len()), span, key_path)?;
                (resolve_scalar(&text, style, tag.as_deref()), anchor)
            }
            Event::SequenceStart(anchor, _) => (self.sequence(key_path, depth)?, anchor),
            Event::MappingStart(anchor, _) => (self.mapping(key_path, depth)?, anchor),
            Event::Alias(anchor) => {
                let Some(&(_, size)) = self.anchors.get(&anchor) else {
                    return Err(self.error(span, key_path, "alias to an unknown anchor"));
                };
                // Counted before the copy is made: the budget must hold before memory is spent.
                self.count(size, span, key_path)?;
                return Ok(self.anchors[&anchor].0.clone());
            }
            other => {
                return Err(self.error(span, key_path, format!("unexpected YAML event {other:?}")));
            }
        };
        self.count((1, 0), span, key_path)?;
        let node = Node {
            value,
            origin,
            key_origin: None,
        };
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), node.size()));
        }
        Ok(node)
    }

    fn sequence(&mut self, key_path: &str, depth: usize) -> Result<NodeValue, YamlError> {
        let mut items = Vec::new();
        loop {
            let item_path = format!("{key_path}[{}]", items.len());
            let (event, span) = self.next_event(&item_path)?;
            if matches!(event, Event::SequenceEnd) {
                return Ok(NodeValue::Seq(items));
            }
            items.push(self.node(event, span, &item_path, depth + 1)?);
        }
    }

    fn mapping(&mut self, key_path: &str, depth: usize) -> Result<NodeValue, YamlError> {
        let mut map: IndexMap<String, Node> = IndexMap::new();
        let mut merged = Vec::new();
        loop {
            let (event, key_span) = self.next_event(key_path)?;
            let (key, key_style) = match event {
                Event::MappingEnd => break,
                Event::Scalar(text, style, ..) => (text.into_owned(), style),
                _ => {
                    return Err(self.error(
                        key_span,
                        key_path,
                        "only scalar keys are supported (a sequence or mapping used as a key)",
                    ));
                }
            };
            self.count((0, key.len()), key_span, key_path)?;
            let value_path = join_key_path(key_path, &key);
            let (event, span) = self.next_event(&value_path)?;
            let mut value = self.node(event, span, &value_path, depth + 1)?;
            if key == "<<" && key_style == ScalarStyle::Plain {
                merged.push(value);
                continue;
            }
            if let Some(first) = map.get(&key) {
                let first_line = first.key_origin.as_ref().map_or(0, |origin| origin.line);
                return Err(self.error(
                    key_span,
                    &value_path,
                    format!("duplicate key `{key}` (first written on line {first_line})"),
                ));
            }
            value.key_origin = Some(self.origin(key_span));
            map.insert(key, value);
        }
        for source in merged {
            let maps = match source.value {
                NodeValue::Map(map) => vec![map],
                NodeValue::Seq(items) => items
                    .into_iter()
                    .map(|item| match item.value {
                        NodeValue::Map(map) => Ok(map),
                        _ => Err(item.origin),
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|origin| merge_error(origin, key_path))?,
                _ => return Err(merge_error(source.origin, key_path)),
            };
            for merged_map in maps {
                for (key, value) in merged_map {
                    map.entry(key).or_insert(value);
                }
            }
        }
        Ok(NodeValue::Map(map))
    }

    fn count(
        &mut self,
        (nodes, bytes): (usize, usize),
        span: Span,
        key_path: &str,
    ) -> Result<(), YamlError> {
        self.nodes = self.nodes.saturating_add(nodes);
        self.bytes = self.bytes.saturating_add(bytes);
        if self.bytes > MAX_STRING_BYTES {
            return Err(self.error(
                span,
                key_path,
                format!(
                    "the document expands to more than {} MiB of text (aliases included); \
                     an alias copies its anchor's strings",
                    MAX_STRING_BYTES / (1024 * 1024)
                ),
            ));
        }
        if self.nodes > MAX_NODES {
            return Err(self.error(
                span,
                key_path,
                format!("the document expands to more than {MAX_NODES} values (aliases included)"),
            ));
        }
        Ok(())
    }

    fn origin(&self, span: Span) -> Origin {
        self.origin_at(span.start.line(), span.start.col() + 1)
    }

    fn origin_at(&self, line: usize, column: usize) -> Origin {
        Origin {
            file: self.file.to_path_buf(),
            line,
            column,
        }
    }

    fn error(&self, span: Span, key_path: &str, message: impl Into<String>) -> YamlError {
        YamlError::at(self.origin(span), key_path, message)
    }
}

fn merge_error(origin: Origin, key_path: &str) -> YamlError {
    YamlError::at(
        origin,
        key_path,
        "a merge key `<<` takes a mapping or a sequence of mappings",
    )
}

/// `parent.key`, or `key` at the root.
pub(crate) fn join_key_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// Types a scalar by the YAML 1.2 core schema. Quoted and block scalars are strings, and so
/// is anything tagged `!!str`.
fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> NodeValue {
    let forced_string = tag.is_some_and(|tag| tag.is_yaml_core_schema() && tag.suffix == "str");
    if style != ScalarStyle::Plain || forced_string {
        return NodeValue::String(text.to_string());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return NodeValue::Null,
        "true" | "True" | "TRUE" => return NodeValue::Bool(true),
        "false" | "False" | "FALSE" => return NodeValue::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return NodeValue::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return NodeValue::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return NodeValue::Float(f64::NAN),
        _ => {}
    }
    if let Some(value) = resolve_int(text) {
        return NodeValue::Int(value);
    }
    if is_core_float(text)
        && let Ok(value) = text.parse::<f64>()
    {
        return NodeValue::Float(value);
    }
    NodeValue::String(text.to_string())
}

fn resolve_int(text: &str) -> Option<i64> {
    if let Some(octal) = text.strip_prefix("0o") {
        return i64::from_str_radix(octal, 8).ok();
    }
    if let Some(hex) = text.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok();
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` without a regex engine.
fn is_core_float(text: &str) -> bool {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    let mantissa_ok =
        all_digits(whole) && all_digits(fraction) && !(whole.is_empty() && fraction.is_empty());
    let exponent_ok = exponent.is_none_or(|exponent| {
        let digits = exponent.strip_prefix(['-', '+']).unwrap_or(exponent);
        !digits.is_empty() && all_digits(digits)
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "kebab-case")]
    struct Settings {
        name: String,
        #[serde(default)]
        stages: IndexMap<String, StageSettings>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "kebab-case")]
    struct StageSettings {
        #[serde(default)]
        retries: u32,
        #[serde(default)]
        label: Option<Label>,
    }

    #[derive(Debug)]
    struct Label(String);

    impl<'de> Deserialize<'de> for Label {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            let text = String::deserialize(deserializer)?;
            if text.contains(' ') {
                return Err(serde::de::Error::custom(format!(
                    "label `{text}` has a space"
                )));
            }
            Ok(Label(text))
        }
    }

    fn typed_error(text: &str) -> YamlError {
        parse_typed::<Settings>(text, Path::new("settings.yml")).expect_err("invalid")
    }

    #[test]
    fn typed_documents_deserialize() {
        let settings: Settings = parse_typed(
            "name: x\nstages:\n  build:\n    retries: 2\n    label: fast\n",
            Path::new("s.yml"),
        )
        .expect("valid");
        assert_eq!(settings.name, "x");
        assert_eq!(settings.stages["build"].retries, 2);
        assert_eq!(
            settings.stages["build"]
                .label
                .as_ref()
                .map(|label| label.0.as_str()),
            Some("fast")
        );
    }

    #[test]
    fn an_unknown_key_is_reported_at_the_key_with_its_path() {
        let error = typed_error("name: x\nstages:\n  build:\n    retrys: 2\n");
        assert_eq!(
            error,
            YamlError {
                file: PathBuf::from("settings.yml"),
                line: 4,
                column: 5,
                key_path: "stages.build.retrys".to_string(),
                message: "unknown field `retrys`, expected one of retries, label".to_string(),
            }
        );
        assert_eq!(
            error.to_string(),
            "settings.yml:4:5: at `stages.build.retrys`: unknown field `retrys`, expected one of retries, label"
        );
    }

    #[test]
    fn a_wrong_type_is_reported_at_the_value() {
        assert_eq!(
            typed_error("name: x\nstages:\n  build:\n    retries: often\n").to_string(),
            "settings.yml:4:14: at `stages.build.retries`: expected a whole number (0 or more)"
        );
        assert_eq!(
            typed_error("name: [x]\n").to_string(),
            "settings.yml:1:7: at `name`: expected a single value, found a sequence or mapping"
        );
    }

    #[test]
    fn a_check_in_a_custom_deserializer_is_reported_at_the_value() {
        assert_eq!(
            typed_error("name: x\nstages:\n  build:\n    label: too slow\n").to_string(),
            "settings.yml:4:12: at `stages.build.label`: label `too slow` has a space"
        );
    }

    #[test]
    fn syntax_errors_have_a_position() {
        assert_eq!(
            typed_error("name: x\nstages:\n\tbuild: {}\n").to_string(),
            "settings.yml:3:2: tabs disallowed within this context (block indentation)"
        );
        assert_eq!(
            typed_error("name: x\nstages:\n  build:\n    retries: 1\n   label: a\n").to_string(),
            "settings.yml:5:4: at `stages`: while parsing a block mapping, did not find expected key"
        );
    }

    #[test]
    fn missing_and_duplicate_keys_are_reported() {
        assert_eq!(
            typed_error("stages: {}\n").to_string(),
            "settings.yml:1:1: missing field `name`"
        );
        assert_eq!(
            typed_error("name: x\nname: y\n").to_string(),
            "settings.yml:2:1: duplicate mapping key: name not allowed here"
        );
    }

    fn tree(text: &str) -> Node {
        parse_tree(text, Path::new("tree.yml")).expect("valid YAML")
    }

    fn at(line: usize, column: usize) -> Origin {
        Origin {
            file: PathBuf::from("tree.yml"),
            line,
            column,
        }
    }

    #[test]
    fn every_value_and_key_knows_where_it_was_written() {
        let root = tree("image:\n  tag: spryker/php:8.3\n  environment:\n    PORT: 80\n");
        assert_eq!(root.origin, at(1, 1));
        let image = root.get("image").expect("image");
        assert_eq!(image.key_origin, Some(at(1, 1)));
        assert_eq!(image.origin, at(2, 3));
        let tag = image.get("tag").expect("tag");
        assert_eq!(tag.value, NodeValue::String("spryker/php:8.3".to_string()));
        assert_eq!(
            (tag.key_origin.clone(), tag.origin.clone()),
            (Some(at(2, 3)), at(2, 8))
        );
        let port = image
            .get("environment")
            .and_then(|environment| environment.get("PORT"));
        assert_eq!(
            port.map(|port| (&port.value, port.origin.line, port.origin.column)),
            Some((&NodeValue::Int(80), 4, 11))
        );
    }

    #[test]
    fn scalars_follow_the_core_schema() {
        let root = tree(
            "a: yes\nb: 'true'\nc: true\nd: 1.0\ne: 0x1f\nf: ~\ng:\nh: !!str 12\ni: -3\nj: 1e3\nk: \"0.1\"\nl: .inf\nm: 1.2.3\n",
        );
        let values: Vec<&NodeValue> = root
            .as_map()
            .expect("map")
            .values()
            .map(|node| &node.value)
            .collect();
        assert_eq!(
            values,
            [
                &NodeValue::String("yes".to_string()),
                &NodeValue::String("true".to_string()),
                &NodeValue::Bool(true),
                &NodeValue::Float(1.0),
                &NodeValue::Int(31),
                &NodeValue::Null,
                &NodeValue::Null,
                &NodeValue::String("12".to_string()),
                &NodeValue::Int(-3),
                &NodeValue::Float(1000.0),
                &NodeValue::String("0.1".to_string()),
                &NodeValue::Float(f64::INFINITY),
                &NodeValue::String("1.2.3".to_string()),
            ]
        );
    }

    #[test]
    fn an_alias_keeps_the_origin_of_its_anchor_and_the_key_of_its_use() {
        let root = tree("base: &base\n  user: spryker\nother: *base\n");
        let other = root.get("other").expect("other");
        assert_eq!(other.key_origin, Some(at(3, 1)));
        assert_eq!(other.origin, at(2, 3));
        assert_eq!(
            other.get("user").map(|user| user.origin.clone()),
            Some(at(2, 9))
        );
    }

    #[test]
    fn merge_keys_add_what_the_mapping_does_not_write_itself() {
        let root = tree(
            "x-auth: &auth\n  engine: basic\n  realm: shop\nx-ip: &ip\n  realm: ip\n  from: [10.0.0.0/8]\nendpoint:\n  <<: [*auth, *ip]\n  engine: none\n",
        );
        let endpoint = root.get("endpoint").expect("endpoint");
        let entries: Vec<(&str, String)> = endpoint
            .as_map()
            .expect("map")
            .iter()
            .map(|(key, node)| {
                (
                    key.as_str(),
                    format!("{}:{}", node.origin.line, node.origin.column),
                )
            })
            .collect();
        assert_eq!(
            entries,
            [
                ("engine", "9:11".to_string()),
                ("realm", "3:10".to_string()),
                ("from", "6:9".to_string())
            ]
        );
        assert_eq!(endpoint.get("engine").and_then(Node::as_str), Some("none"));
        assert_eq!(endpoint.get("realm").and_then(Node::as_str), Some("shop"));
    }

    #[test]
    fn tree_errors_have_a_position_and_key_path() {
        let error = |text: &str| {
            parse_tree(text, Path::new("tree.yml"))
                .expect_err("invalid")
                .to_string()
        };
        assert_eq!(
            error("a: 1\na: 2\n"),
            "tree.yml:2:1: at `a`: duplicate key `a` (first written on line 1)"
        );
        assert_eq!(
            error("a:\n  b: [1\n"),
            "tree.yml:3:1: at `a.b[1]`: while parsing a flow sequence, expected ',' or ']'"
        );
        assert_eq!(
            error("a:\n\tb: 1\n"),
            "tree.yml:2:2: at `a`: tabs disallowed within this context (block indentation)"
        );
        assert_eq!(
            error("a: 1\n---\nb: 2\n"),
            "tree.yml:2:1: a file holds one YAML document; remove the second `---`"
        );
        assert_eq!(
            error("? [a]\n: 1\n"),
            "tree.yml:1:3: only scalar keys are supported (a sequence or mapping used as a key)"
        );
        assert_eq!(
            error("a:\n  <<: 1\n"),
            "tree.yml:2:7: at `a`: a merge key `<<` takes a mapping or a sequence of mappings"
        );
    }

    #[test]
    fn an_empty_document_is_null() {
        assert_eq!(tree("# nothing here\n").value, NodeValue::Null);
    }

    #[test]
    fn deep_nesting_and_alias_bombs_are_refused() {
        let deep = format!("{}1\n", "- ".repeat(250));
        assert_eq!(
            parse_tree(&deep, Path::new("tree.yml"))
                .expect_err("too deep")
                .message,
            "values are nested too deeply"
        );
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..8 {
            let previous = level - 1;
            let _ = writeln!(
                bomb,
                "a{level}: &a{level} [{}]",
                vec![format!("*a{previous}"); 10].join(", ")
            );
        }
        assert_eq!(
            parse_tree(&bomb, Path::new("tree.yml"))
                .expect_err("too big")
                .message,
            "the document expands to more than 1000000 values (aliases included)"
        );
    }

    /// Reproducer `deploy-file-show/alias-string-bomb`: one 64 KiB string anchored once and
    /// aliased 20,000 times took 1.3 GB before the node cap (which counts no bytes) applied.
    #[test]
    fn an_alias_string_bomb_is_refused_by_its_bytes() {
        let big = "x".repeat(65_536);
        let aliases = vec!["*s"; 20_000].join(",");
        let text = format!(
            "version: \"0.1\"\nimage:\n  environment:\n    A: &s \"{big}\"\n    B: [{aliases}]\n"
        );
        let started = std::time::Instant::now();
        let error = parse_tree(&text, Path::new("deploy.bomb.yml")).expect_err("too big");
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(error.file, Path::new("deploy.bomb.yml"));
        assert_eq!(error.line, 5);
        assert_eq!(
            error.key_path.split('[').next(),
            Some("image.environment.B")
        );
        assert_eq!(
            error.message,
            "the document expands to more than 64 MiB of text (aliases included); an alias \
             copies its anchor's strings"
        );
        // The same string aliased a few times is fine.
        let few = format!("a: &s \"{big}\"\nb: [*s, *s, *s]\n");
        assert!(parse_tree(&few, Path::new("ok.yml")).is_ok());
    }

    #[test]
    fn floats_are_written_so_they_read_back() {
        assert_eq!(format_float(1.0), "1.0");
        assert_eq!(format_float(0.25), "0.25");
        assert_eq!(format_float(f64::NEG_INFINITY), "-.inf");
    }
}
