//! The gate's one way of reading YAML (`tooling.yml`, advisory files): deserialize with the key
//! path of a failing value, and messages with or without the parser's position. Deploy files
//! are not read here: their reader, with imports, belongs to `upkeep-pipeline`, and the caller
//! gives the gate their facts ([`crate::inputs`]).

use serde::de::DeserializeOwned;

/// YAML that could not be read as the expected type.
#[derive(Debug)]
pub(crate) struct YamlError {
    pub error: Box<serde_saphyr::Error>,
    /// Dotted path of the key being read, empty at the root.
    pub key_path: String,
}

impl YamlError {
    /// The parser's message without the position and source snippet it may add.
    pub fn message(&self) -> String {
        use serde_saphyr::MessageFormatter;
        let message =
            serde_saphyr::DefaultMessageFormatter.format_message(self.error.without_snippet());
        message
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    /// `line N, column M: ` when the parser knows the position, else nothing.
    pub fn position_prefix(&self) -> String {
        self.error
            .location()
            .map(|at| format!("line {}, column {}: ", at.line(), at.column()))
            .unwrap_or_default()
    }

    /// ` (at key `a.b`)` when the failing value is below the root, else nothing.
    pub fn key_path_suffix(&self) -> String {
        if self.key_path.is_empty() || self.key_path == "." {
            String::new()
        } else {
            format!(" (at key `{}`)", self.key_path)
        }
    }
}

/// Deserializes one YAML document, keeping the key path of a value that fails.
pub(crate) fn parse<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    let mut key_path = String::new();
    serde_saphyr::with_deserializer_from_str(text, |deserializer| {
        serde_path_to_error::deserialize(deserializer).map_err(|error| {
            key_path = error.path().to_string();
            error.into_inner()
        })
    })
    .map_err(|error| YamlError {
        error: Box::new(error),
        key_path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Shape {
        outer: Inner,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
    }

    #[test]
    fn errors_carry_the_key_path_and_the_position() {
        let error = parse::<Shape>("outer:\n  count: many\n").unwrap_err();
        assert_eq!(error.key_path_suffix(), " (at key `outer.count`)");
        assert_eq!(error.position_prefix(), "line 2, column 10: ");
        assert!(!error.message().contains("line"), "{}", error.message());
        let syntax = parse::<Shape>("outer: [\n").unwrap_err();
        assert!(!syntax.message().is_empty());
        assert!(parse::<Shape>("outer:\n  count: 3\n").is_ok());
    }
}
