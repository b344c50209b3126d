//! The project's non-PHP files that project rules read: Composer, deploy files, npm.
//! Each is read once, and parsed at most once, on first use: several rules read the same
//! `composer.lock`, which can be megabytes in a real shop.

use std::path::Path;
use std::sync::OnceLock;

use upkeep_composer::{ComposerJson, ComposerLock, DocumentError};
use upkeep_php::source::{LineIndex, TextSpan};

use crate::finding::{Finding, Location};
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

/// The PHP image of a docker-sdk deploy file: `image.tag` or `image` as a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployImage {
    /// The image reference as written, e.g. `spryker/php:8.2-alpine3.18`.
    pub reference: String,
    /// Where the reference is written in the deploy file.
    pub span: TextSpan,
}

/// What a deploy file says about its image, once parsed.
#[derive(Debug)]
pub struct DeployFile<'a> {
    pub file: &'a ManifestFile,
    /// `Ok(None)` when the file declares no image.
    pub image: Result<Option<&'a DeployImage>, &'a ManifestError>,
}

#[derive(Debug, Default)]
pub struct ProjectManifests {
    pub composer_json: Option<ManifestFile>,
    pub composer_lock: Option<ManifestFile>,
    /// `deploy*.yml` files at the root, sorted by name.
    pub deploy_files: Vec<ManifestFile>,
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
    deploy_images: OnceLock<Vec<Result<Option<DeployImage>, ManifestError>>>,
}

impl ProjectManifests {
    pub fn read(root: &Path) -> std::io::Result<Self> {
        let mut deploy_names: Vec<String> = std::fs::read_dir(root)?
            .filter_map(Result::ok)
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| {
                let extension = Path::new(name)
                    .extension()
                    .and_then(|extension| extension.to_str());
                name.starts_with("deploy")
                    && extension.is_some_and(|extension| {
                        extension.eq_ignore_ascii_case("yml")
                            || extension.eq_ignore_ascii_case("yaml")
                    })
            })
            .collect();
        deploy_names.sort();
        let mut deploy_files = Vec::new();
        for name in deploy_names {
            deploy_files.extend(ManifestFile::read(root, &name)?);
        }
        Ok(Self {
            composer_json: ManifestFile::read(root, "composer.json")?,
            composer_lock: ManifestFile::read(root, "composer.lock")?,
            deploy_files,
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

    /// The image of every deploy file, in file-name order.
    pub fn deploy_images(&self) -> Vec<DeployFile<'_>> {
        let images = self.parsed.deploy_images.get_or_init(|| {
            self.deploy_files
                .iter()
                .map(|file| file.text_or_error().and_then(|_| deploy_image(file)))
                .collect()
        });
        self.deploy_files
            .iter()
            .zip(images)
            .map(|(file, image)| DeployFile {
                file,
                image: image.as_ref().map(Option::as_ref),
            })
            .collect()
    }

    /// Every manifest that does not parse (Composer and npm JSON, deploy YAML), reported as a
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
        for deploy in self.deploy_images() {
            if let Err(error) = deploy.image {
                errors.push(error.clone());
            }
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
        .chain(&self.deploy_files)
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

/// The parts of a docker-sdk deploy file that the gate reads.
#[derive(serde::Deserialize)]
struct DeployFields {
    image: Option<serde_saphyr::Spanned<ImageField>>,
}

/// `image: spryker/php:8.2` or `image: {tag: spryker/php:8.2, ...}`.
enum ImageField {
    Reference(String),
    Table(Option<Box<serde_saphyr::Spanned<ImageField>>>),
    /// Anything else (a number, a list): no image we can read.
    Other,
}

impl<'de> serde::Deserialize<'de> for ImageField {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ImageVisitor;

        impl<'de> serde::de::Visitor<'de> for ImageVisitor {
            type Value = ImageField;

            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter.write_str("an image reference or a table with `tag`")
            }

            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<ImageField, E> {
                Ok(ImageField::Reference(value.to_string()))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<ImageField, A::Error> {
                let mut tag = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key == "tag" {
                        // Read like `image` itself, so that a tag of the wrong type is
                        // "no image" rather than a parse error of valid YAML.
                        tag = Some(map.next_value::<Box<serde_saphyr::Spanned<ImageField>>>()?);
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                Ok(ImageField::Table(tag))
            }

            fn visit_string<E: serde::de::Error>(self, value: String) -> Result<ImageField, E> {
                Ok(ImageField::Reference(value))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut sequence: A,
            ) -> Result<ImageField, A::Error> {
                while sequence.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(ImageField::Other)
            }

            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<ImageField, E> {
                Ok(ImageField::Other)
            }

            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<ImageField, E> {
                Ok(ImageField::Other)
            }

            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<ImageField, E> {
                Ok(ImageField::Other)
            }

            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<ImageField, E> {
                Ok(ImageField::Other)
            }

            fn visit_unit<E: serde::de::Error>(self) -> Result<ImageField, E> {
                Ok(ImageField::Other)
            }
        }

        deserializer.deserialize_any(ImageVisitor)
    }
}

fn deploy_image(file: &ManifestFile) -> Result<Option<DeployImage>, ManifestError> {
    let text = file.text();
    if text.trim().is_empty() {
        return Ok(None);
    }
    let fields: Option<DeployFields> = serde_saphyr::from_str(text).map_err(|error| {
        let offset = error.location().map_or(0, |location| {
            location
                .span()
                .byte_offset()
                .and_then(|offset| u32::try_from(offset).ok())
                .unwrap_or_else(|| {
                    file.offset_of(
                        usize::try_from(location.line()).unwrap_or(usize::MAX),
                        usize::try_from(location.column()).unwrap_or(usize::MAX),
                        false,
                    )
                })
        });
        ManifestError {
            file: file.path.clone(),
            offset,
            message: format!("invalid YAML: {}", yaml_message(&error)),
        }
    })?;
    let Some(image) = fields.and_then(|fields| fields.image) else {
        return Ok(None);
    };
    let (reference, location) = match image.value {
        ImageField::Reference(reference) => (reference, image.referenced),
        ImageField::Table(Some(tag)) => match tag.value {
            ImageField::Reference(reference) => (reference, tag.referenced),
            ImageField::Table(_) | ImageField::Other => return Ok(None),
        },
        ImageField::Table(None) | ImageField::Other => return Ok(None),
    };
    Ok(Some(DeployImage {
        span: scalar_span(file, &location, &reference),
        reference,
    }))
}

/// The span of a scalar whose start the YAML parser reported: the written reference (quotes
/// left out) when it is found there, else the position alone.
fn scalar_span(file: &ManifestFile, location: &serde_saphyr::Location, value: &str) -> TextSpan {
    let start = location
        .span()
        .byte_offset()
        .and_then(|offset| u32::try_from(offset).ok())
        .unwrap_or_else(|| {
            file.offset_of(
                usize::try_from(location.line()).unwrap_or(usize::MAX),
                usize::try_from(location.column()).unwrap_or(usize::MAX),
                false,
            )
        });
    let rest = file.text.get(start as usize..).unwrap_or_default();
    let quoted = rest
        .first()
        .is_some_and(|byte| matches!(byte, b'"' | b'\''));
    let value_start = start + u32::from(quoted);
    let written = file.text.get(value_start as usize..).unwrap_or_default();
    if written.starts_with(value.as_bytes()) {
        let length = u32::try_from(value.len()).unwrap_or(0);
        TextSpan::new(value_start, value_start + length)
    } else {
        TextSpan::new(start, start)
    }
}

/// The YAML parser's message without the position and source snippet it may add (findings
/// and notices carry the position themselves).
pub(crate) fn yaml_message(error: &serde_saphyr::Error) -> String {
    use serde_saphyr::MessageFormatter;
    let message = serde_saphyr::DefaultMessageFormatter.format_message(error.without_snippet());
    message
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
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

    fn with_deploy(text: &str) -> ProjectManifests {
        ProjectManifests {
            deploy_files: vec![manifest("deploy.yml", text)],
            ..ProjectManifests::default()
        }
    }

    fn written(file: &ManifestFile, span: TextSpan) -> &str {
        std::str::from_utf8(&file.text[span.start as usize..span.end as usize]).unwrap()
    }

    #[test]
    fn reads_the_image_tag_with_its_position() {
        let manifests = with_deploy(
            "version: '0.1'\nnamespace: shop\nimage:\n    tag: spryker/php:8.2-alpine3.18\n    php:\n        ini:\n            memory_limit: 1G\n",
        );
        let deploy = &manifests.deploy_images()[0];
        let image = deploy.image.unwrap().unwrap();
        assert_eq!(image.reference, "spryker/php:8.2-alpine3.18");
        assert_eq!(
            written(deploy.file, image.span),
            "spryker/php:8.2-alpine3.18"
        );
        let at = deploy
            .file
            .lines
            .line_column(&deploy.file.text, image.span.start);
        assert_eq!((at.line, at.column), (4, 10));
    }

    #[test]
    fn reads_an_image_string_and_quoted_tags() {
        let manifests = with_deploy("image: \"spryker/php:8.3\"\n");
        let deploy = &manifests.deploy_images()[0];
        let image = deploy.image.unwrap().unwrap();
        assert_eq!(image.reference, "spryker/php:8.3");
        assert_eq!(written(deploy.file, image.span), "spryker/php:8.3");
        let manifests = with_deploy("image:\n  tag: 'spryker/php:8.1'\n");
        let deploy = &manifests.deploy_images()[0];
        let image = deploy.image.unwrap().unwrap();
        assert_eq!(written(deploy.file, image.span), "spryker/php:8.1");
    }

    #[test]
    fn files_without_an_image_have_none() {
        for text in [
            "",
            "version: '0.1'\n",
            "image:\n  php: {}\n",
            "image: [a]\n",
            "image:\n  tag: [a, b]\n",
        ] {
            let manifests = with_deploy(text);
            assert_eq!(manifests.deploy_images()[0].image, Ok(None), "{text:?}");
        }
    }

    #[test]
    fn malformed_yaml_is_an_error_with_a_position() {
        let manifests = with_deploy("image:\n  tag: spryker/php:8.2\n   bad: indentation\n");
        let deploy = &manifests.deploy_images()[0];
        let error = deploy.image.unwrap_err();
        assert_eq!(error.file, "deploy.yml");
        assert!(error.message.starts_with("invalid YAML: "), "{error:?}");
        assert!(!error.message.contains(" line "), "{error:?}");
        let at = deploy
            .file
            .lines
            .line_column(&deploy.file.text, error.offset);
        assert_eq!((at.line, at.column), (3, 7), "{error:?}");
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
