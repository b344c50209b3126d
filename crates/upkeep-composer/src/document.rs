//! Reading Composer's JSON documents with errors that say where the problem is.

use std::fmt;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Deserializer;
use serde::de::{self, DeserializeOwned, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// `composer.json` or `composer.lock` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The text is not JSON, or a key has the wrong type. `path` is `None` for text that did not
    /// come from a file; the message then names the document instead.
    #[error("{}:{line}:{column}: {message}", origin(document, path.as_deref()))]
    InvalidJson {
        document: &'static str,
        path: Option<PathBuf>,
        line: usize,
        column: usize,
        message: String,
    },
}

fn origin(document: &str, path: Option<&Path>) -> String {
    path.map_or_else(|| document.to_owned(), |path| path.display().to_string())
}

pub(crate) fn read_file(path: &Path) -> Result<String, DocumentError> {
    std::fs::read_to_string(path).map_err(|source| DocumentError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Deserialises `text`; `document` and `path` only serve the error message.
pub(crate) fn parse_json<T: DeserializeOwned>(
    text: &str,
    document: &'static str,
    path: Option<&Path>,
) -> Result<T, DocumentError> {
    serde_json::from_str(text).map_err(|error| DocumentError::InvalidJson {
        document,
        path: path.map(Path::to_owned),
        line: error.line(),
        column: error.column(),
        message: message_without_position(&error),
    })
}

/// The message of `error` without the position `serde_json` appends to it: we report the
/// position in front instead.
pub(crate) fn message_without_position(error: &serde_json::Error) -> String {
    let position = format!(" at line {} column {}", error.line(), error.column());
    let mut message = error.to_string();
    if message.ends_with(&position) {
        message.truncate(message.len() - position.len());
    }
    message
}

/// Reads a map of package names to constraints. PHP encodes an empty map as `[]`, so Composer
/// writes `"platform": []` into locks; `null` is read as empty too.
pub(crate) fn package_map<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<IndexMap<String, String>, D::Error> {
    deserializer.deserialize_any(PackageMapVisitor)
}

struct PackageMapVisitor;

impl<'de> Visitor<'de> for PackageMapVisitor {
    type Value = IndexMap<String, String>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an object of package names to version constraints")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut packages = IndexMap::new();
        while let Some((name, constraint)) = map.next_entry::<String, String>()? {
            packages.insert(name, constraint);
        }
        Ok(packages)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<Self::Value, A::Error> {
        if sequence.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_type(de::Unexpected::Seq, &self));
        }
        Ok(IndexMap::new())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(IndexMap::new())
    }
}
