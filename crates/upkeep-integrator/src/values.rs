//! Manifest values written as PHP code. A string that names a class constant
//! (`\Spryker\Shared\Foo\FooConfig::BAR`, `static::BAR`, `\Foo::class`) is that constant;
//! any other string is a string literal. Lists and objects become PHP arrays, one element per
//! line. Class names stay fully qualified here; the file's imports shorten them.

use serde_json::Value;
use std::fmt::Write as _;

use crate::manifest::ConfigValue;

/// True for `\A\B::C`, `A\B::class`, `static::C`, `self::C`, `parent::C`.
pub fn is_class_constant(text: &str) -> bool {
    let Some((class, constant)) = text.split_once("::") else {
        return false;
    };
    let class = class.trim_start_matches('\\');
    !class.is_empty()
        && !constant.is_empty()
        && class.split('\\').all(is_identifier)
        && is_identifier(constant)
}

fn is_identifier(word: &str) -> bool {
    let mut characters = word.chars();
    characters
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && characters.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A single-quoted PHP string.
pub fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// A scalar or a name: a class constant as code, anything else as its literal.
pub fn scalar(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => number.to_string(),
        Value::String(text) if is_class_constant(text) => text.clone(),
        Value::String(text) => quoted(text),
        Value::Array(_) | Value::Object(_) => expression(value, "", "    ", "\n"),
    }
}

/// A key of a PHP array: a class constant, an integer, or a string.
fn key(text: &str) -> String {
    if is_class_constant(text) || text.parse::<i64>().is_ok() {
        text.to_string()
    } else {
        quoted(text)
    }
}

/// `value` as a PHP expression; arrays span lines, each element indented one `unit` deeper
/// than `indent`.
pub fn expression(value: &Value, indent: &str, unit: &str, newline: &str) -> String {
    let inner = format!("{indent}{unit}");
    match value {
        Value::Array(elements) if elements.is_empty() => "[]".to_string(),
        Value::Object(members) if members.is_empty() => "[]".to_string(),
        Value::Array(elements) => {
            let mut out = format!("[{newline}");
            for element in elements {
                let _ = write!(
                    out,
                    "{inner}{},{newline}",
                    expression(element, &inner, unit, newline)
                );
            }
            let _ = write!(out, "{indent}]");
            out
        }
        Value::Object(members) => {
            let mut out = format!("[{newline}");
            // Keys "0", "1", ... in order are a list's positions: written without a key.
            let mut position = 0_i64;
            for (name, element) in members {
                let value = expression(element, &inner, unit, newline);
                if name.parse::<i64>().ok() == Some(position) {
                    position += 1;
                    let _ = write!(out, "{inner}{value},{newline}");
                } else {
                    let _ = write!(out, "{inner}{} => {value},{newline}", key(name));
                }
            }
            let _ = write!(out, "{indent}]");
            out
        }
        other => scalar(other),
    }
}

/// The statements of a method body that returns `value` (literal code is the body itself).
pub fn return_statements(value: &ConfigValue, unit: &str, newline: &str) -> Vec<String> {
    match value {
        ConfigValue::Literal(code) => code
            .split_inclusive(';')
            .map(str::trim)
            .filter(|statement| !statement.is_empty() && *statement != ";")
            .map(|statement| {
                if statement.ends_with(';') {
                    statement.to_string()
                } else {
                    format!("{statement};")
                }
            })
            .collect(),
        ConfigValue::Value(value) => {
            vec![format!("return {};", expression(value, "", unit, newline))]
        }
    }
}

/// An argument of a plugin: code when literal, else a value.
pub fn argument(value: &Value, literal: bool) -> String {
    match (value, literal) {
        (Value::String(code), true) => code.clone(),
        (Value::Array(elements), _) => {
            let written: Vec<String> = elements
                .iter()
                .map(|element| argument(element, literal))
                .collect();
            format!("[{}]", written.join(", "))
        }
        (other, _) => scalar(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_are_constants_or_literals() {
        assert_eq!(scalar(&json!("\\A\\B::C")), "\\A\\B::C");
        assert_eq!(scalar(&json!("static::C")), "static::C");
        assert_eq!(scalar(&json!("\\A\\Plugin::class")), "\\A\\Plugin::class");
        assert_eq!(scalar(&json!("en_US")), "'en_US'");
        assert_eq!(scalar(&json!("it's")), "'it\\'s'");
        assert_eq!(
            scalar(&json!("Payment/Refund/Confirm")),
            "'Payment/Refund/Confirm'"
        );
        assert_eq!(scalar(&json!(true)), "true");
        assert_eq!(scalar(&json!(1025)), "1025");
    }

    #[test]
    fn arrays_span_lines_and_keep_positions() {
        let value = json!({"0": "\\A::X", "\\A::Y": {"k": 1}, "1": "b"});
        assert_eq!(
            expression(&value, "", "    ", "\n"),
            "[\n    \\A::X,\n    \\A::Y => [\n        'k' => 1,\n    ],\n    'b',\n]"
        );
        assert_eq!(
            argument(&json!(["static::GLUE_BACKEND_API_APPLICATION_NAME"]), false),
            "[static::GLUE_BACKEND_API_APPLICATION_NAME]"
        );
    }

    #[test]
    fn literal_bodies_become_statements() {
        let statements = return_statements(
            &ConfigValue::Literal("$a = 1; return $a".into()),
            "    ",
            "\n",
        );
        assert_eq!(statements, vec!["$a = 1;", "return $a;"]);
    }
}
