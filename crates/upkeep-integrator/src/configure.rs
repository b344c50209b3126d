//! `configure-module` and `add-config-array-element`: a project config class's constant, what
//! one of its methods returns, or an element of the array it returns.
//!
//! A scalar value replaces the returned expression (only where the method returns
//! `previousValue` now, when the manifest gives one); literal code replaces the body; a list or
//! object adds the elements or keys the returned array lacks. Where the project has no such
//! method, it is added, overriding the core one.

use serde_json::Value;
use std::fmt::Write as _;

use crate::manifest::ConfigValue;
use crate::php::{
    ArrayView, ClassView, Edit, Imports, Layout, MethodView, PhpView, apply_edits, indentation,
    normalized,
};
use crate::values::{expression, return_statements};

/// What a change of a method or constant does.
pub enum Change {
    /// The text after the change.
    Changed(String),
    /// The file holds the value already.
    Unchanged,
}

fn text_of(text: &str, (start, end): (usize, usize)) -> &str {
    &text[start..end]
}

/// Sets constant `name` of `class` to `value` (adding it when missing, with `visibility`).
pub fn set_constant(
    text: &str,
    class: &str,
    name: &str,
    value: &ConfigValue,
    previous: Option<&ConfigValue>,
    visibility: &str,
) -> Result<Change, String> {
    let view = PhpView::read(text);
    let class_view = view.require_class(class)?;
    let layout = Layout::of(text);
    let mut imports = Imports::of(&view);
    let written = value_code(value, &mut imports, "", &layout);
    let mut edits = Vec::new();
    if let Some(constant) = class_view.constant(name) {
        let current = normalized(text_of(text, constant.value));
        if current == normalized(&written) {
            return Ok(Change::Unchanged);
        }
        if let Some(previous) = previous {
            let mut scratch = Imports::of(&view);
            if current != normalized(&value_code(previous, &mut scratch, "", &layout)) {
                return Err(format!(
                    "{class}::{name} is not the previous value the manifest expects; left as it is"
                ));
            }
        }
        edits.push(Edit::replace(constant.value, written));
    } else {
        let unit = &layout.unit;
        let newline = layout.newline;
        let visibility = if visibility.is_empty() {
            "public"
        } else {
            visibility
        };
        let line = format!("{unit}{visibility} const {name} = {written};{newline}");
        let at = match class_view.constants.last() {
            Some(last) => crate::php::line_end(text, last.statement.1),
            None => crate::php::line_end(text, class_view.left_brace),
        };
        let separator = if class_view.constants.is_empty() && class_view.last_member_end.is_some() {
            newline
        } else {
            ""
        };
        edits.push(Edit::insert(at, format!("{line}{separator}")));
    }
    edits.extend(imports.edits(&view, text, &layout));
    Ok(Change::Changed(apply_edits(text, edits)))
}

/// PHP code for a configured value at `indent` (literal code as written, names shortened).
fn value_code(value: &ConfigValue, imports: &mut Imports, indent: &str, layout: &Layout) -> String {
    match value {
        ConfigValue::Literal(code) => imports.shorten(code.trim().trim_end_matches(';')),
        ConfigValue::Value(value) => {
            imports.shorten(&expression(value, indent, &layout.unit, layout.newline))
        }
    }
}

/// Makes method `name` of `class` return `value`. `Ok(None)` from the inner lookup means the
/// method is missing: the caller adds it.
pub fn set_return(
    text: &str,
    class: &str,
    name: &str,
    value: &ConfigValue,
    previous: Option<&ConfigValue>,
) -> Result<Option<Change>, String> {
    let view = PhpView::read(text);
    let class_view = view.require_class(class)?;
    let Some(method) = class_view.method(name) else {
        return Ok(None);
    };
    let layout = Layout::of(text);
    let body = method
        .body
        .ok_or_else(|| format!("{class}::{name} is abstract"))?;
    let mut imports = Imports::of(&view);
    let current_body = normalized(text_of(text, (body.0 + 1, body.1)));
    let statements = |value: &ConfigValue, imports: &mut Imports| -> Vec<String> {
        return_statements(value, &layout.unit, layout.newline)
            .iter()
            .map(|statement| imports.shorten(statement))
            .collect()
    };
    // Lists and objects add what the returned array lacks.
    if let ConfigValue::Value(Value::Array(_) | Value::Object(_)) = value {
        let ConfigValue::Value(value) = value else {
            unreachable!()
        };
        return merge_into_returned_array(text, &view, class_view, method, value, &layout)
            .map(Some);
    }
    let wanted = statements(value, &mut imports);
    if current_body == normalized(&wanted.concat()) {
        return Ok(Some(Change::Unchanged));
    }
    if let Some(previous) = previous {
        let mut scratch = Imports::of(&view);
        let expected = normalized(&statements(previous, &mut scratch).concat());
        // An empty previous value means "the core default": the method is not overridden yet,
        // which it is here.
        let empty_previous =
            matches!(previous, ConfigValue::Value(Value::String(s)) if s.is_empty());
        if empty_previous || current_body != expected {
            return Err(format!(
                "{class}::{name} does not return the previous value the manifest expects; left as it is"
            ));
        }
    }
    let indent = format!("{}{}", indentation(text, method.span.0), layout.unit);
    let newline = layout.newline;
    let mut replacement = String::from(newline);
    for statement in &wanted {
        for line in statement.lines() {
            let _ = write!(replacement, "{indent}{line}{newline}");
        }
    }
    replacement.push_str(indentation(text, method.span.0));
    let mut edits = vec![Edit::replace((body.0 + 1, body.1), replacement)];
    edits.extend(imports.edits(&view, text, &layout));
    Ok(Some(Change::Changed(apply_edits(text, edits))))
}

/// The array the method returns (directly or as the last array argument of `array_merge`).
fn returned_array(method: &MethodView) -> Option<&ArrayView> {
    let value = method.returns.last()?.value?;
    method
        .arrays
        .iter()
        .filter(|array| value.0 <= array.open && array.close < value.1)
        // The outermost arrays only: not an array nested in an element.
        .rfind(|array| {
            !method.arrays.iter().any(|outer| {
                outer.open < array.open
                    && array.close < outer.close
                    && value.0 <= outer.open
                    && outer.close < value.1
            })
        })
}

fn merge_into_returned_array(
    text: &str,
    view: &PhpView,
    class: &ClassView,
    method: &MethodView,
    value: &Value,
    layout: &Layout,
) -> Result<Change, String> {
    let array = returned_array(method).ok_or_else(|| {
        format!(
            "{}::{} does not return an array literal to add to",
            class.short_name, method.name
        )
    })?;
    let mut imports = Imports::of(view);
    let present_values: Vec<String> = array
        .elements
        .iter()
        .filter(|element| element.key.is_none())
        .map(|element| normalized(text_of(text, element.value)))
        .collect();
    let present_keys: Vec<String> = array
        .elements
        .iter()
        .filter_map(|element| element.key)
        .map(|key| normalized(text_of(text, key)))
        .collect();
    let element_indent = array.elements.first().map_or_else(
        || format!("{}{}", indentation(text, array.open), layout.unit),
        |element| indentation(text, element.span.0).to_string(),
    );
    let mut missing = Vec::new();
    let mut position = 0_i64;
    let mut add = |key: Option<&str>, element: &Value, imports: &mut Imports| {
        let code = imports.shorten(&expression(
            element,
            &element_indent,
            &layout.unit,
            layout.newline,
        ));
        match key {
            Some(key) => {
                let key_code =
                    if crate::values::is_class_constant(key) || key.parse::<i64>().is_ok() {
                        imports.shorten(key)
                    } else {
                        crate::values::quoted(key)
                    };
                if !present_keys.contains(&normalized(&key_code)) {
                    missing.push(format!("{key_code} => {code}"));
                }
            }
            None => {
                if !present_values.contains(&normalized(&code)) {
                    missing.push(code);
                }
            }
        }
    };
    match value {
        Value::Array(elements) => {
            for element in elements {
                add(None, element, &mut imports);
            }
        }
        Value::Object(members) => {
            for (key, element) in members {
                if key.parse::<i64>().ok() == Some(position) {
                    position += 1;
                    add(None, element, &mut imports);
                } else {
                    add(Some(key), element, &mut imports);
                }
            }
        }
        _ => {}
    }
    if missing.is_empty() {
        return Ok(Change::Unchanged);
    }
    let mut edits = Vec::new();
    for element in missing {
        edits.extend(append_element(text, array, &element, layout));
    }
    // Several insertions at one offset keep their order; the import edits go last.
    edits.extend(imports.edits(view, text, layout));
    Ok(Change::Changed(apply_edits(text, edits)))
}

/// Edits that add `element` at the end of `array`.
pub fn append_element(text: &str, array: &ArrayView, element: &str, layout: &Layout) -> Vec<Edit> {
    let newline = layout.newline;
    let outer = indentation(text, array.open);
    let Some(last) = array.elements.last() else {
        return vec![Edit::replace(
            (array.open + 1, array.close),
            format!("{newline}{outer}{}{element},{newline}{outer}", layout.unit),
        )];
    };
    let multi_line = text[array.open..array.close].contains('\n');
    if !multi_line {
        return match last.comma_end {
            Some(comma) => vec![Edit::insert(comma, format!(" {element}"))],
            None => vec![Edit::insert(last.span.1, format!(", {element}"))],
        };
    }
    let indent = if crate::php::starts_line(text, last.span.0) {
        indentation(text, last.span.0).to_string()
    } else {
        format!("{outer}{}", layout.unit)
    };
    let mut edits = Vec::new();
    let end = if let Some(comma) = last.comma_end {
        comma
    } else {
        edits.push(Edit::insert(last.span.1, ","));
        last.span.1
    };
    let at = crate::php::line_end(text, end);
    if at > array.close {
        edits.push(Edit::insert(end, format!("{newline}{indent}{element},")));
    } else {
        edits.push(Edit::insert(at, format!("{indent}{element},{newline}")));
    }
    edits
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "<?php\n\nnamespace Pyz\\Zed\\Foo;\n\nuse Spryker\\Zed\\Foo\\FooConfig as SprykerFooConfig;\n\nclass FooConfig extends SprykerFooConfig\n{\n    public const A = 'a';\n\n    public function getPrefix(): string\n    {\n        return 'old';\n    }\n\n    public function getFields(): array\n    {\n        return array_merge(parent::getFields(), [\n            'x',\n        ]);\n    }\n}\n";

    fn changed(change: Change) -> String {
        match change {
            Change::Changed(text) => text,
            Change::Unchanged => panic!("unchanged"),
        }
    }

    #[test]
    fn replaces_a_returned_scalar_only_when_it_is_the_previous_value() {
        let value = ConfigValue::Value(Value::String("new".into()));
        let text = changed(
            set_return(CONFIG, "FooConfig", "getPrefix", &value, None)
                .unwrap()
                .unwrap(),
        );
        assert!(
            text.contains("    {\n        return 'new';\n    }\n"),
            "{text}"
        );
        assert!(matches!(
            set_return(&text, "FooConfig", "getPrefix", &value, None).unwrap(),
            Some(Change::Unchanged)
        ));
        let previous = ConfigValue::Value(Value::String("other".into()));
        let error = set_return(CONFIG, "FooConfig", "getPrefix", &value, Some(&previous))
            .err()
            .unwrap();
        assert!(error.contains("previous value"), "{error}");
        let previous = ConfigValue::Value(Value::String("old".into()));
        assert!(set_return(CONFIG, "FooConfig", "getPrefix", &value, Some(&previous)).is_ok());
        assert!(
            set_return(CONFIG, "FooConfig", "getMissing", &value, None)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn adds_missing_elements_to_the_returned_array() {
        let value = ConfigValue::Value(serde_json::json!([
            "x",
            "\\Spryker\\Shared\\Foo\\FooConfig::Y"
        ]));
        let text = changed(
            set_return(CONFIG, "FooConfig", "getFields", &value, None)
                .unwrap()
                .unwrap(),
        );
        assert!(
            text.contains("        return array_merge(parent::getFields(), [\n            'x',\n            \\Spryker\\Shared\\Foo\\FooConfig::Y,\n        ]);"),
            "{text}"
        );
    }

    #[test]
    fn sets_and_adds_constants() {
        let value = ConfigValue::Value(Value::String("b".into()));
        let text = changed(set_constant(CONFIG, "FooConfig", "A", &value, None, "").unwrap());
        assert!(text.contains("public const A = 'b';"), "{text}");
        let text =
            changed(set_constant(CONFIG, "FooConfig", "NEW", &value, None, "protected").unwrap());
        assert!(
            text.contains("    public const A = 'a';\n    protected const NEW = 'b';\n\n"),
            "{text}"
        );
    }
}
