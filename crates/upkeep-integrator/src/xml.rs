//! The XML steps: `wire-schema` / `wire-transfer` merge an element tree into a project schema
//! or transfer file (elements matched by tag and `name`), `wire-navigation` /
//! `unwire-navigation` add or remove entries of `config/Zed/navigation.xml`. Only the inserted
//! or removed elements change; they follow the file's indentation and line ending.

use std::fmt::Write as _;

use roxmltree::{Document, Node};
use serde_json::Value;

use crate::configure::Change;
use crate::manifest::XmlNode;
use crate::php::{Edit, apply_edits, indentation, line_end, line_start, starts_line};

/// The navigation every Spryker project has.
pub const NAVIGATION: &str = "config/Zed/navigation.xml";

fn newline_of(text: &str) -> &'static str {
    if text.contains("\r\n") { "\r\n" } else { "\n" }
}

/// One level of indentation: the first child element's offset from its parent's.
fn unit_of(text: &str, document: &Document<'_>) -> String {
    let root = document.root_element();
    root.children()
        .find(Node::is_element)
        .map(|child| {
            let outer = indentation(text, root.range().start);
            let inner = indentation(text, child.range().start);
            inner.strip_prefix(outer).unwrap_or(inner).to_string()
        })
        .filter(|unit| !unit.is_empty())
        .unwrap_or_else(|| "    ".to_string())
}

fn escape(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn render_node(node: &XmlNode, indent: &str, unit: &str, newline: &str) -> String {
    let mut out = format!("{indent}<{}", node.name);
    for (name, value) in &node.attributes {
        let _ = write!(out, " {name}=\"{}\"", escape(value));
    }
    if node.children.is_empty() {
        out.push_str("/>");
        return out;
    }
    out.push('>');
    out.push_str(newline);
    for child in &node.children {
        out.push_str(&render_node(
            child,
            &format!("{indent}{unit}"),
            unit,
            newline,
        ));
        out.push_str(newline);
    }
    let _ = write!(out, "{indent}</{}>", node.name);
    out
}

/// The edits that put `content` (whole lines at `child_indent`) at the end of `element`.
fn append_to_element(text: &str, element: Node<'_, '_>, content: &str, newline: &str) -> Edit {
    let range = element.range();
    let tag = element.tag_name().name();
    let written = &text[range.clone()];
    if written.ends_with("/>") {
        // `<table name="x"/>` becomes `<table name="x">…</table>`.
        let indent = indentation(text, range.start);
        return Edit::replace(
            (range.end - 2, range.end),
            format!(">{newline}{content}{indent}</{tag}>"),
        );
    }
    let closing = range.end - (tag.len() + 3);
    if starts_line(text, closing) {
        Edit::insert(line_start(text, closing), content.to_string())
    } else {
        Edit::insert(closing, format!("{newline}{content}"))
    }
}

/// The child of `parent` that `wanted` names: the same tag and, when it has one, the same
/// `name` (else the same attributes).
fn matching_child<'a, 'input>(
    parent: Node<'a, 'input>,
    wanted: &XmlNode,
) -> Option<Node<'a, 'input>> {
    parent.children().filter(Node::is_element).find(|child| {
        child.tag_name().name() == wanted.name
            && match wanted.attributes.get("name") {
                Some(name) => child.attribute("name") == Some(name.as_str()),
                None => wanted
                    .attributes
                    .iter()
                    .all(|(key, value)| child.attribute(key.as_str()) == Some(value.as_str())),
            }
    })
}

fn merge_children(
    text: &str,
    parent: Node<'_, '_>,
    wanted: &XmlNode,
    unit: &str,
    newline: &str,
    edits: &mut Vec<Edit>,
) {
    let mut missing = String::new();
    let child_indent = format!("{}{unit}", indentation(text, parent.range().start));
    for child in &wanted.children {
        if let Some(existing) = matching_child(parent, child) {
            merge_children(text, existing, child, unit, newline, edits);
        } else {
            missing.push_str(&render_node(child, &child_indent, unit, newline));
            missing.push_str(newline);
        }
    }
    if !missing.is_empty() {
        edits.push(append_to_element(text, parent, &missing, newline));
    }
}

/// `text` (an XML file, or `None` when it does not exist yet) with the elements of `data` it
/// lacks.
pub fn merge(text: Option<&str>, data: &XmlNode) -> Result<Change, String> {
    let Some(text) = text else {
        return Ok(Change::Changed(format!(
            "<?xml version=\"1.0\"?>\n{}\n",
            render_node(data, "", "    ", "\n")
        )));
    };
    let document = Document::parse(text).map_err(|error| format!("not XML: {error}"))?;
    let root = document.root_element();
    if root.tag_name().name() != data.name {
        return Err(format!(
            "its root is <{}>, the manifest merges into <{}>",
            root.tag_name().name(),
            data.name
        ));
    }
    let newline = newline_of(text);
    let unit = unit_of(text, &document);
    let mut edits = Vec::new();
    merge_children(text, root, data, &unit, newline, &mut edits);
    if edits.is_empty() {
        return Ok(Change::Unchanged);
    }
    Ok(Change::Changed(apply_edits(text, edits)))
}

/// A navigation entry as elements: objects are elements with children, strings text.
fn render_navigation(name: &str, value: &Value, indent: &str, unit: &str, newline: &str) -> String {
    match value {
        Value::Object(members) => {
            let mut out = format!("{indent}<{name}>{newline}");
            for (child, value) in members {
                out.push_str(&render_navigation(
                    child,
                    value,
                    &format!("{indent}{unit}"),
                    unit,
                    newline,
                ));
            }
            let _ = write!(out, "{indent}</{name}>{newline}");
            out
        }
        Value::String(text) => format!("{indent}<{name}>{}</{name}>{newline}", escape(text)),
        other => format!("{indent}<{name}>{other}</{name}>{newline}"),
    }
}

fn child_named<'a, 'input>(parent: Node<'a, 'input>, name: &str) -> Option<Node<'a, 'input>> {
    parent
        .children()
        .find(|child| child.is_element() && child.tag_name().name() == name)
}

fn wire_entries(
    text: &str,
    parent: Node<'_, '_>,
    entries: &serde_json::Map<String, Value>,
    after: Option<&str>,
    unit: &str,
    newline: &str,
    edits: &mut Vec<Edit>,
) {
    let indent = format!("{}{unit}", indentation(text, parent.range().start));
    let mut missing = String::new();
    for (name, value) in entries {
        match (child_named(parent, name), value) {
            (Some(existing), Value::Object(children)) => {
                wire_entries(text, existing, children, None, unit, newline, edits);
            }
            (Some(_), _) => {}
            (None, value) => {
                missing.push_str(&render_navigation(name, value, &indent, unit, newline));
            }
        }
    }
    if missing.is_empty() {
        return;
    }
    match after.and_then(|after| child_named(parent, after)) {
        Some(anchor) if starts_line(text, anchor.range().start) => {
            edits.push(Edit::insert(line_end(text, anchor.range().end), missing));
        }
        _ => edits.push(append_to_element(text, parent, &missing, newline)),
    }
}

/// `config/Zed/navigation.xml` with the entries it lacks, after the entry `after` when given.
pub fn wire_navigation(
    text: &str,
    navigations: &indexmap::IndexMap<String, Value>,
    after: Option<&str>,
) -> Result<Change, String> {
    let document = Document::parse(text).map_err(|error| format!("not XML: {error}"))?;
    let newline = newline_of(text);
    let unit = unit_of(text, &document);
    let entries: serde_json::Map<String, Value> = navigations
        .iter()
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    let mut edits = Vec::new();
    wire_entries(
        text,
        document.root_element(),
        &entries,
        after,
        &unit,
        newline,
        &mut edits,
    );
    if edits.is_empty() {
        return Ok(Change::Unchanged);
    }
    Ok(Change::Changed(apply_edits(text, edits)))
}

fn unwire_entries(
    text: &str,
    parent: Node<'_, '_>,
    entries: &serde_json::Map<String, Value>,
    edits: &mut Vec<Edit>,
) {
    for (name, value) in entries {
        let Some(existing) = child_named(parent, name) else {
            continue;
        };
        // `{"administration": {"pages": {"api-key": …}}}` removes the page, not the section.
        if let Value::Object(children) = value
            && children.contains_key("pages")
            && let Some(Value::Object(pages)) = children.get("pages")
            && let Some(existing_pages) = child_named(existing, "pages")
        {
            unwire_entries(text, existing_pages, pages, edits);
            continue;
        }
        let range = existing.range();
        if starts_line(text, range.start) {
            edits.push(Edit::replace(
                (line_start(text, range.start), line_end(text, range.end)),
                "",
            ));
        } else {
            edits.push(Edit::replace((range.start, range.end), ""));
        }
    }
}

/// `config/Zed/navigation.xml` without the entries named.
pub fn unwire_navigation(
    text: &str,
    navigations: &indexmap::IndexMap<String, Value>,
) -> Result<Change, String> {
    let document = Document::parse(text).map_err(|error| format!("not XML: {error}"))?;
    let entries: serde_json::Map<String, Value> = navigations
        .iter()
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    let mut edits = Vec::new();
    unwire_entries(text, document.root_element(), &entries, &mut edits);
    if edits.is_empty() {
        return Ok(Change::Unchanged);
    }
    Ok(Change::Changed(apply_edits(text, edits)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed(change: Change) -> String {
        match change {
            Change::Changed(text) => text,
            Change::Unchanged => panic!("unchanged"),
        }
    }

    #[test]
    fn schema_elements_are_merged_by_tag_and_name() {
        let text = "<?xml version=\"1.0\"?>\n<database name=\"zed\">\n\n  <table name=\"spy_a\">\n    <column name=\"id\"/>\n  </table>\n  <table name=\"spy_b\"/>\n</database>\n";
        let data: XmlNode = serde_json::from_value(serde_json::json!({
            "name": "database", "attributes": {"name": "zed"},
            "sub-nodes": [
                {"name": "table", "attributes": {"name": "spy_a"}, "sub-nodes": [
                    {"name": "behavior", "attributes": {"name": "event"}, "sub-nodes": [
                        {"name": "parameter", "attributes": {"name": "spy_a_all", "column": "*"}}]}]},
                {"name": "table", "attributes": {"name": "spy_b"}, "sub-nodes": [
                    {"name": "column", "attributes": {"name": "id"}}]},
                {"name": "table", "attributes": {"name": "spy_c"}}
            ]
        }))
        .unwrap();
        let after = changed(merge(Some(text), &data).unwrap());
        assert_eq!(
            after,
            "<?xml version=\"1.0\"?>\n<database name=\"zed\">\n\n  <table name=\"spy_a\">\n    <column name=\"id\"/>\n    <behavior name=\"event\">\n      <parameter name=\"spy_a_all\" column=\"*\"/>\n    </behavior>\n  </table>\n  <table name=\"spy_b\">\n    <column name=\"id\"/>\n  </table>\n  <table name=\"spy_c\"/>\n</database>\n"
        );
        assert!(matches!(
            merge(Some(&after), &data).unwrap(),
            Change::Unchanged
        ));
        assert!(merge(Some("<transfers/>"), &data).is_err());
        assert!(changed(merge(None, &data).unwrap()).starts_with(
            "<?xml version=\"1.0\"?>\n<database name=\"zed\">\n    <table name=\"spy_a\">\n"
        ));
    }

    #[test]
    fn navigation_entries_are_added_after_their_anchor_and_removed() {
        let text = "<?xml version=\"1.0\"?>\n<config>\n    <users>\n        <label>Users</label>\n    </users>\n    <sales>\n        <label>Sales</label>\n    </sales>\n    <administration>\n        <pages>\n            <old>\n                <label>Old</label>\n            </old>\n        </pages>\n    </administration>\n</config>\n";
        let navigations: indexmap::IndexMap<String, Value> =
            serde_json::from_value(serde_json::json!({
                "app-catalog-gui": {"label": "Apps", "bundle": "app-catalog-gui"}
            }))
            .unwrap();
        let after = changed(wire_navigation(text, &navigations, Some("users")).unwrap());
        assert!(after.contains("    </users>\n    <app-catalog-gui>\n        <label>Apps</label>\n        <bundle>app-catalog-gui</bundle>\n    </app-catalog-gui>\n    <sales>"), "{after}");
        assert!(matches!(
            wire_navigation(&after, &navigations, Some("users")).unwrap(),
            Change::Unchanged
        ));

        let nested: indexmap::IndexMap<String, Value> = serde_json::from_value(serde_json::json!({
            "administration": {"pages": {"api-key": {"label": "API Keys"}}}
        }))
        .unwrap();
        let after = changed(wire_navigation(text, &nested, None).unwrap());
        assert!(after.contains("            </old>\n            <api-key>\n                <label>API Keys</label>\n            </api-key>\n        </pages>"), "{after}");
        let removed = changed(unwire_navigation(&after, &nested).unwrap());
        assert_eq!(removed, text);
        assert!(matches!(
            unwire_navigation(text, &nested).unwrap(),
            Change::Unchanged
        ));
    }
}
