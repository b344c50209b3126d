//! The project's non-PHP files that project rules read: Composer, deploy files, npm.
//! Each is read once, and parsed at most once, on first use: several rules read the same
//! `composer.lock`, which can be megabytes in a real shop.

use std::path::Path;
use std::sync::OnceLock;

use upkeep_composer::{ComposerJson, ComposerLock, DocumentError};
use upkeep_php::source::{LineColumn, LineIndex, TextSpan};

use crate::finding::{Finding, Location};
use crate::inputs::SourcePosition;
use crate::rule::{RuleMeta, Sink};
use crate::rules::syntax::parse_error;

/// A small text file of the project, with its line index for locations.
#[derive(Debug)]
pub struct ManifestFile {
    /// Path relative to the project root.
    pub path: String,
    pub text: Vec<u8>,
    pub lines: LineIndex,
}

impl ManifestFile {
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.text).unwrap_or_default()
    }

    /// A location for `span` of this file.
    pub fn location(&self, span: TextSpan) -> Location {
        Location::in_text(&self.path, &self.text, &self.lines, span)
    }

    fn read(root: &Path, relative: &str) -> std::io::Result<Option<Self>> {
        match std::fs::read(root.join(relative)) {
            Ok(text) => Ok(Some(Self {
                path: relative.to_string(),
                lines: LineIndex::new(&text),
                text,
            })),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(std::io::Error::new(
                error.kind(),
                format!("cannot read {relative}: {error}"),
            )),
        }
    }

    /// The byte offset of a 1-based line and column; the column counts bytes when
    /// `column_in_bytes`, characters otherwise. Column 0 means the start of the line.
    fn offset_of(&self, line: usize, column: usize, column_in_bytes: bool) -> u32 {
        let mut line_start = 0;
        for _ in 1..line {
            match self.text[line_start..]
                .iter()
                .position(|&byte| byte == b'\n')
            {
                Some(newline) => line_start += newline + 1,
                None => break,
            }
        }
        let rest = &self.text[line_start..];
        let line_end = rest
            .iter()
            .position(|&byte| byte == b'\n')
            .unwrap_or(rest.len());
        let skip = column.saturating_sub(1);
        let within = if column_in_bytes {
            skip.min(line_end)
        } else {
            String::from_utf8_lossy(&rest[..line_end])
                .char_indices()
                .nth(skip)
                .map_or(line_end, |(index, _)| index)
        };
        u32::try_from(line_start + within).unwrap_or(u32::MAX)
    }
}

/// A manifest that exists but cannot be read as what it should be (JSON, YAML).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    /// Path relative to the project root.
    pub file: String,
    /// Where the parser gave up.
    pub offset: u32,
    /// What the parser says, without the position, e.g. "invalid JSON: expected `,` or `}`".
    pub message: String,
}

#[derive(Debug, Default)]
pub struct ProjectManifests {
    pub composer_json: Option<ManifestFile>,
    pub composer_lock: Option<ManifestFile>,
    /// The names of the `deploy*.yml` files at the root, sorted. The gate does not read them:
    /// the caller gives their facts, imports resolved ([`crate::inputs::GateInputs`]).
    pub deploy_file_names: Vec<String>,
    pub package_json: Option<ManifestFile>,
    pub package_lock: Option<ManifestFile>,
    parsed: ParsedManifests,
}

/// Documents parsed on first use, shared by every rule of a run.
#[derive(Debug, Default)]
struct ParsedManifests {
    composer_json: OnceLock<Result<ComposerJson, ManifestError>>,
    composer_lock: OnceLock<Result<ComposerLock, ManifestError>>,
    package_json: OnceLock<Result<(), ManifestError>>,
    package_lock: OnceLock<Result<serde_json::Value, ManifestError>>,
}

impl ProjectManifests {
    pub fn read(root: &Path) -> std::io::Result<Self> {
        Ok(Self {
            composer_json: ManifestFile::read(root, "composer.json")?,
            composer_lock: ManifestFile::read(root, "composer.lock")?,
            deploy_file_names: crate::inputs::deploy_file_names(root)?,
            package_json: ManifestFile::read(root, "package.json")?,
            package_lock: ManifestFile::read(root, "package-lock.json")?,
            parsed: ParsedManifests::default(),
        })
    }

    /// `composer.json`, parsed; `None` when the project has none.
    pub fn composer_json(&self) -> Option<Result<&ComposerJson, &ManifestError>> {
        let file = self.composer_json.as_ref()?;
        let parsed = self.parsed.composer_json.get_or_init(|| {
            file.text_or_error()
                .and_then(|text| text.parse().map_err(|error| json_error(file, &error)))
        });
        Some(parsed.as_ref())
    }

    /// `composer.lock`, parsed; `None` when the project has none.
    pub fn composer_lock(&self) -> Option<Result<&ComposerLock, &ManifestError>> {
        let file = self.composer_lock.as_ref()?;
        let parsed = self.parsed.composer_lock.get_or_init(|| {
            file.text_or_error()
                .and_then(|text| text.parse().map_err(|error| json_error(file, &error)))
        });
        Some(parsed.as_ref())
    }

    /// `package-lock.json` as a JSON value; `None` when the project has none.
    pub fn package_lock(&self) -> Option<Result<&serde_json::Value, &ManifestError>> {
        let file = self.package_lock.as_ref()?;
        let parsed = self
            .parsed
            .package_lock
            .get_or_init(|| parse_plain_json(file));
        Some(parsed.as_ref())
    }

    /// Every manifest that does not parse (Composer and npm JSON), reported as a
    /// `parse-error` finding; the `parse-error` rule calls this once per run.
    pub fn report_parse_errors(&self, sink: &mut Sink) {
        let mut errors: Vec<ManifestError> = Vec::new();
        if let Some(Err(error)) = self.composer_json() {
            errors.push(error.clone());
        }
        if let Some(Err(error)) = self.composer_lock() {
            errors.push(error.clone());
        }
        if let Some(file) = &self.package_json
            && let Err(error) = self
                .parsed
                .package_json
                .get_or_init(|| parse_plain_json(file).map(drop))
        {
            errors.push(error.clone());
        }
        if let Some(Err(error)) = self.package_lock() {
            errors.push(error.clone());
        }
        for error in &errors {
            self.push_parse_error(error, sink);
        }
    }

    /// Tells the user that `rule` skipped a manifest it could not read. The parse error itself
    /// is the `parse-error` rule's finding, so excluding that rule leaves just this notice.
    pub fn report_unreadable(
        &self,
        rule: &'static RuleMeta,
        error: &ManifestError,
        sink: &mut Sink,
    ) {
        let position = self.file(&error.file).map_or_else(String::new, |file| {
            let at = file.lines.line_column(&file.text, error.offset);
            format!(":{}:{}", at.line, at.column)
        });
        sink.notice(
            rule,
            format!(
                "{}{position} cannot be read ({}); it was not checked",
                error.file, error.message
            ),
        );
    }

    fn push_parse_error(&self, error: &ManifestError, sink: &mut Sink) {
        let location = self.file(&error.file).map_or_else(
            || Location::whole_file(&error.file),
            |file| file.location(TextSpan::new(error.offset, error.offset)),
        );
        sink.push(Finding::new(
            &parse_error::META,
            location,
            error.message.clone(),
        ));
    }

    /// The manifest with this project-relative path.
    pub fn file(&self, path: &str) -> Option<&ManifestFile> {
        [
            &self.composer_json,
            &self.composer_lock,
            &self.package_json,
            &self.package_lock,
        ]
        .into_iter()
        .flatten()
        .find(|file| file.path == path)
    }
}

impl ManifestFile {
    fn text_or_error(&self) -> Result<&str, ManifestError> {
        std::str::from_utf8(&self.text).map_err(|error| ManifestError {
            file: self.path.clone(),
            offset: u32::try_from(error.valid_up_to()).unwrap_or(u32::MAX),
            message: "the file is not valid UTF-8".to_string(),
        })
    }
}

fn json_error(file: &ManifestFile, error: &DocumentError) -> ManifestError {
    match error {
        DocumentError::InvalidJson {
            line,
            column,
            message,
            ..
        } => ManifestError {
            file: file.path.clone(),
            offset: file.offset_of(*line, *column, true),
            message: if is_shape_error(message) {
                format!("not a valid {}: {message}", file.path)
            } else {
                format!("invalid JSON: {message}")
            },
        },
        DocumentError::Read { source, .. } => ManifestError {
            file: file.path.clone(),
            offset: 0,
            message: format!("cannot read: {source}"),
        },
    }
}

/// True for serde's messages about valid JSON of the wrong shape (a number where a string
/// belongs), as opposed to syntax errors.
fn is_shape_error(message: &str) -> bool {
    [
        "invalid type",
        "invalid value",
        "invalid length",
        "missing field",
        "duplicate field",
        "unknown field",
        "unknown variant",
    ]
    .iter()
    .any(|start| message.starts_with(start))
}

fn parse_plain_json(file: &ManifestFile) -> Result<serde_json::Value, ManifestError> {
    serde_json::from_slice(&file.text).map_err(|error| {
        let position = format!(" at line {} column {}", error.line(), error.column());
        let message = error.to_string();
        ManifestError {
            file: file.path.clone(),
            offset: file.offset_of(error.line(), error.column(), true),
            message: format!(
                "invalid JSON: {}",
                message.strip_suffix(&position).unwrap_or(&message)
            ),
        }
    })
}

/// The location of `value` written at `position` (1-based line, column in characters) of a
/// project file: the value's span when it is written there (quotes left out), else the position
/// alone (e.g. a value that parameters were substituted in). Used for facts the caller read,
/// such as the image of a deploy file.
pub(crate) fn location_of_value(root: &Path, position: &SourcePosition, value: &str) -> Location {
    let Ok(Some(file)) = ManifestFile::read(root, &position.file) else {
        let at = LineColumn {
            line: u32::try_from(position.line).unwrap_or(u32::MAX),
            column: u32::try_from(position.column).unwrap_or(u32::MAX),
        };
        return Location {
            start: at,
            end: at,
            ..Location::whole_file(&position.file)
        };
    };
    let start = file.offset_of(position.line, position.column, false);
    let rest = file.text.get(start as usize..).unwrap_or_default();
    let quoted = rest
        .first()
        .is_some_and(|byte| matches!(byte, b'"' | b'\''));
    let value_start = start + u32::from(quoted);
    let written = file.text.get(value_start as usize..).unwrap_or_default();
    let span = if written.starts_with(value.as_bytes()) {
        let length = u32::try_from(value.len()).unwrap_or(0);
        TextSpan::new(value_start, value_start + length)
    } else {
        TextSpan::new(start, start)
    };
    file.location(span)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(path: &str, text: &str) -> ManifestFile {
        ManifestFile {
            path: path.to_string(),
            text: text.as_bytes().to_vec(),
            lines: LineIndex::new(text.as_bytes()),
        }
    }

    #[test]
    fn written_values_are_located_by_line_and_column() {
        let project = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(project.path().join("config/deploy-templates")).unwrap();
        std::fs::write(
            project.path().join("config/deploy-templates/base.yml"),
            "image:\n    tag: \"spryker/php:8.3\"\n",
        )
        .unwrap();
        let position = SourcePosition {
            file: "config/deploy-templates/base.yml".to_string(),
            line: 2,
            column: 10,
        };
        let location = location_of_value(project.path(), &position, "spryker/php:8.3");
        assert_eq!(location.file, "config/deploy-templates/base.yml");
        assert_eq!((location.start.line, location.start.column), (2, 11));
        assert_eq!((location.end.line, location.end.column), (2, 26));
        assert_eq!(
            location.source_line.as_deref(),
            Some("    tag: \"spryker/php:8.3\"")
        );
        // A value that is not written there (a substituted parameter) marks the position.
        let substituted = location_of_value(project.path(), &position, "spryker/php:8.4");
        assert_eq!((substituted.start.line, substituted.start.column), (2, 10));
        assert_eq!(substituted.start, substituted.end);
        // A file that is gone is named, without a source line.
        let gone = SourcePosition {
            file: "gone.yml".to_string(),
            line: 3,
            column: 1,
        };
        let location = location_of_value(project.path(), &gone, "x");
        assert_eq!(
            (location.file.as_str(), location.start.line),
            ("gone.yml", 3)
        );
        assert_eq!(location.source_line, None);
    }

    #[test]
    fn malformed_composer_json_is_reported_at_its_position() {
        let manifests = ProjectManifests {
            composer_json: Some(manifest(
                "composer.json",
                "{\n  \"name\": \"a/b\"\n  \"require\": {}\n}\n",
            )),
            ..ProjectManifests::default()
        };
        let error = manifests.composer_json().unwrap().unwrap_err();
        assert_eq!(error.message, "invalid JSON: expected `,` or `}`");
        let mut sink = Sink::default();
        manifests.report_parse_errors(&mut sink);
        assert_eq!(sink.findings.len(), 1);
        let finding = &sink.findings[0];
        assert_eq!(finding.rule.name, "parse-error");
        assert_eq!(
            (finding.location.start.line, finding.location.start.column),
            (3, 3)
        );
    }

    #[test]
    fn wrong_types_are_not_called_invalid_json() {
        let manifests = ProjectManifests {
            composer_json: Some(manifest(
                "composer.json",
                "{\n  \"require\": {\"a/b\": 1}\n}\n",
            )),
            ..ProjectManifests::default()
        };
        let error = manifests.composer_json().unwrap().unwrap_err();
        assert_eq!(
            error.message,
            "not a valid composer.json: invalid type: integer `1`, expected a string"
        );
        let at = manifests.composer_json.as_ref().unwrap().lines.line_column(
            manifests.composer_json.as_ref().unwrap().text.as_slice(),
            error.offset,
        );
        assert_eq!((at.line, at.column), (2, 22));
    }

    #[test]
    fn an_unreadable_manifest_leaves_a_notice_naming_the_position() {
        let manifests = ProjectManifests {
            composer_lock: Some(manifest("composer.lock", "{\"packages\": [}")),
            ..ProjectManifests::default()
        };
        let error = manifests.composer_lock().unwrap().unwrap_err().clone();
        let mut sink = Sink::default();
        manifests.report_unreadable(&parse_error::META, &error, &mut sink);
        assert!(sink.findings.is_empty());
        assert_eq!(sink.notices.len(), 1);
        assert!(
            sink.notices[0]
                .message
                .starts_with("composer.lock:1:15 cannot be read"),
            "{:?}",
            sink.notices
        );
    }

    #[test]
    fn offsets_of_lines_and_columns() {
        let file = manifest("x", "ab\nçd\n");
        assert_eq!(file.offset_of(1, 1, true), 0);
        assert_eq!(file.offset_of(2, 0, true), 3);
        assert_eq!(file.offset_of(2, 2, false), 5);
        assert_eq!(file.offset_of(2, 3, true), 5);
        assert_eq!(file.offset_of(9, 9, true), 7);
    }
}
