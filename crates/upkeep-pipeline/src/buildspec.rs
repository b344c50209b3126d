//! The AWS `CodeBuild` `buildspec.yml` format, version 0.2, as far as upkeep honours it: `version`,
//! `env` (`shell`, `variables`, `exported-variables`, `secrets`), the phases `install`,
//! `pre_build`, `build` and `post_build` (`commands`, `finally`, `on-failure`) and `artifacts`
//! (`files`, `base-directory`, `discard-paths`). Any other key is an error naming the file, line
//! and key path. Each stage has a built-in default ([`Buildspec::default_for`]) that runs the
//! stage's docker-sdk hook; a project may bring its own per stage.
//!
//! ```
//! use std::path::Path;
//! use upkeep_pipeline::buildspec::{Buildspec, OnFailure, PhaseName};
//! let spec = Buildspec::parse(
//!     "version: 0.2\nphases:\n  build:\n    commands:\n      - make\n    on-failure: CONTINUE\n",
//!     Path::new("buildspec.yml"),
//! )?;
//! let build = spec.phases.get(PhaseName::Build).unwrap();
//! assert_eq!((build.commands.as_slice(), build.on_failure), (&["make".to_string()][..], OnFailure::Continue));
//! # Ok::<(), upkeep_pipeline::yaml::YamlError>(())
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::project_file::Stage;
use crate::yaml::{self, YamlError};

/// A parsed buildspec.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Buildspec {
    /// Always 0.2; kept so the type mirrors the file.
    pub version: Version,
    #[serde(default)]
    pub env: Env,
    #[serde(default)]
    pub phases: Phases,
    #[serde(default)]
    pub artifacts: Option<Artifacts>,
    /// Where the buildspec was read from (`<built-in>/<stage>.yml` for the defaults).
    #[serde(skip)]
    pub source: PathBuf,
}

/// The `version` key: only 0.2 is accepted, written as a number or a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Version;

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Env {
    /// `None`: bash when the session's `PATH` has it, else sh.
    #[serde(default)]
    pub shell: Option<Shell>,
    /// Defaults for the session; see [`crate::buildspec_run`] for what wins over them. Numbers and
    /// booleans are taken as the text YAML gives them (`1.50` may read as `1.5`: quote it).
    #[serde(default, deserialize_with = "variables")]
    pub variables: IndexMap<String, String>,
    /// Variables read at the end of the session and passed on to later stages.
    #[serde(default, deserialize_with = "variable_names")]
    pub exported_variables: Vec<String>,
    /// Variable name -> name of a secret in upkeep's secret store. The value is masked in logs.
    #[serde(default, deserialize_with = "secrets")]
    pub secrets: IndexMap<String, String>,
}

/// The shell the session runs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shell {
    Bash,
    Sh,
    /// An absolute path to a POSIX shell.
    Path(PathBuf),
}

impl Shell {
    /// The program to start: `bash`, `sh` or the path.
    pub fn program(&self) -> &str {
        match self {
            Self::Bash => "bash",
            Self::Sh => "sh",
            Self::Path(path) => path.to_str().unwrap_or("sh"),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phases {
    pub install: Option<Phase>,
    pub pre_build: Option<Phase>,
    pub build: Option<Phase>,
    pub post_build: Option<Phase>,
}

impl Phases {
    pub fn get(&self, name: PhaseName) -> Option<&Phase> {
        match name {
            PhaseName::Install => self.install.as_ref(),
            PhaseName::PreBuild => self.pre_build.as_ref(),
            PhaseName::Build => self.build.as_ref(),
            PhaseName::PostBuild => self.post_build.as_ref(),
        }
    }

    /// The phases the buildspec defines, in running order.
    pub fn defined(&self) -> impl Iterator<Item = (PhaseName, &Phase)> {
        PhaseName::ALL
            .into_iter()
            .filter_map(|name| Some((name, self.get(name)?)))
    }
}

/// The four phases, in running order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PhaseName {
    Install,
    PreBuild,
    Build,
    PostBuild,
}

impl PhaseName {
    pub const ALL: [PhaseName; 4] = [Self::Install, Self::PreBuild, Self::Build, Self::PostBuild];

    /// The key in the buildspec: `install`, `pre_build`, `build`, `post_build`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Install => "install",
            Self::PreBuild => "pre_build",
            Self::Build => "build",
            Self::PostBuild => "post_build",
        }
    }
}

impl fmt::Display for PhaseName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Phase {
    #[serde(default)]
    pub commands: Vec<String>,
    /// Runs after `commands`, also when one of them failed.
    #[serde(default)]
    pub finally: Vec<String>,
    #[serde(default)]
    pub on_failure: OnFailure,
}

/// What a failed phase means for the phases after it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum OnFailure {
    /// Stop the build.
    #[default]
    #[serde(rename = "ABORT")]
    Abort,
    /// Go on with the next phase (the build still fails).
    #[serde(rename = "CONTINUE")]
    Continue,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Artifacts {
    /// Globs relative to the base directory: `**` (any directories), `*`, `?`.
    pub files: Vec<String>,
    /// Relative to the workspace; the globs and the copied paths are relative to it.
    #[serde(default)]
    pub base_directory: Option<String>,
    /// Copy files flat, without their directories.
    #[serde(default, deserialize_with = "yes_no")]
    pub discard_paths: Option<bool>,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildspecError {
    #[error(transparent)]
    Read(#[from] std::io::Error),
    #[error(transparent)]
    Invalid(#[from] YamlError),
}

impl Buildspec {
    /// Reads and validates a buildspec file.
    pub fn load(path: &Path) -> Result<Self, BuildspecError> {
        let text = fs_err::read_to_string(path)?;
        Ok(Self::parse(&text, path)?)
    }

    /// Validates the text of a buildspec found at `path` (used in messages).
    pub fn parse(text: &str, path: &Path) -> Result<Self, YamlError> {
        let mut buildspec: Self = yaml::parse_typed(text, path)?;
        buildspec.source = path.to_path_buf();
        Ok(buildspec)
    }

    /// The built-in buildspec of a stage.
    pub fn default_for(stage: Stage) -> Self {
        let path = Path::new("<built-in>").join(format!("{stage}.yml"));
        Self::parse(Self::default_text(stage), &path)
            .unwrap_or_else(|error| panic!("the built-in buildspec is invalid: {error}"))
    }

    /// The YAML text of the built-in buildspec of a stage.
    pub fn default_text(stage: Stage) -> &'static str {
        match stage {
            Stage::Build => include_str!("default_buildspecs/build.yml"),
            Stage::PreDeploy => include_str!("default_buildspecs/pre-deploy.yml"),
            Stage::Install => include_str!("default_buildspecs/install.yml"),
            Stage::PostDeploy => include_str!("default_buildspecs/post-deploy.yml"),
        }
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = deserializer.deserialize_any(ScalarText)?;
        if text == "0.2" {
            Ok(Self)
        } else {
            Err(de::Error::custom(format!(
                "unsupported buildspec version `{text}`; upkeep reads version 0.2"
            )))
        }
    }
}

impl<'de> Deserialize<'de> for Shell {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.as_str() {
            "bash" => Ok(Self::Bash),
            "sh" => Ok(Self::Sh),
            path if path.starts_with('/') => Ok(Self::Path(PathBuf::from(path))),
            other => Err(de::Error::custom(format!(
                "unsupported shell `{other}`; use bash, sh or the absolute path of a POSIX shell"
            ))),
        }
    }
}

/// Any scalar as the text YAML gives it; `null`, sequences and mappings are errors.
struct ScalarText;

impl Visitor<'_> for ScalarText {
    type Value = String;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a single value (text, number or boolean)")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<String, E> {
        Ok(value.to_string())
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<String, E> {
        Ok(value.to_string())
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<String, E> {
        Ok(value.to_string())
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<String, E> {
        Ok(value.to_string())
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<String, E> {
        Ok(value.to_string())
    }
}

/// A scalar variable value.
struct VariableValue(String);

impl<'de> Deserialize<'de> for VariableValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarText).map(Self)
    }
}

/// A shell variable name: it ends up in a generated script, so it must be a plain identifier.
#[derive(PartialEq, Eq, Hash)]
struct VariableName(String);

impl<'de> Deserialize<'de> for VariableName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        if is_variable_name(&name) {
            Ok(Self(name))
        } else {
            Err(de::Error::custom(format!(
                "`{name}` is not a valid variable name; use letters, digits and `_`, not starting with a digit"
            )))
        }
    }
}

pub(crate) fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn variables<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<IndexMap<String, String>, D::Error> {
    let map = IndexMap::<VariableName, VariableValue>::deserialize(deserializer)?;
    Ok(map
        .into_iter()
        .map(|(name, value)| (name.0, value.0))
        .collect())
}

fn variable_names<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let names = Vec::<VariableName>::deserialize(deserializer)?;
    Ok(names.into_iter().map(|name| name.0).collect())
}

fn secrets<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<IndexMap<String, String>, D::Error> {
    let map = IndexMap::<VariableName, String>::deserialize(deserializer)?;
    Ok(map
        .into_iter()
        .map(|(name, secret)| (name.0, secret))
        .collect())
}

/// `CodeBuild` writes `discard-paths: yes`; a YAML boolean works too.
fn yes_no<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    match deserializer.deserialize_any(ScalarText)?.as_str() {
        "yes" | "true" => Ok(Some(true)),
        "no" | "false" => Ok(Some(false)),
        other => Err(de::Error::custom(format!(
            "expected yes or no, found `{other}`"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project_file::DeployType;

    fn parse(text: &str) -> Result<Buildspec, YamlError> {
        Buildspec::parse(text, Path::new("ci/buildspec.yml"))
    }

    fn error(text: &str) -> String {
        parse(text).expect_err("invalid").to_string()
    }

    #[test]
    fn reads_every_supported_key() {
        let spec = parse(
            "version: 0.2
env:
  shell: sh
  variables:
    APP_ENV: production
    WORKERS: 4
    DEBUG: false
  exported-variables: [IMAGE_TAG, APP_ENV]
  secrets:
    DB_PASSWORD: db-password
phases:
  install:
    commands:
      - echo install
  pre_build:
    commands: [cd src, export A=1]
    on-failure: CONTINUE
  build:
    commands:
      - make
    finally:
      - echo cleanup
    on-failure: ABORT
  post_build:
    commands: []
artifacts:
  files:
    - '**/*.tar'
  base-directory: out
  discard-paths: yes
",
        )
        .expect("valid");
        assert_eq!(spec.source, Path::new("ci/buildspec.yml"));
        assert_eq!(spec.env.shell, Some(Shell::Sh));
        let variables: Vec<_> = spec
            .env
            .variables
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            variables,
            [
                ("APP_ENV", "production"),
                ("WORKERS", "4"),
                ("DEBUG", "false")
            ]
        );
        assert_eq!(spec.env.exported_variables, ["IMAGE_TAG", "APP_ENV"]);
        assert_eq!(
            spec.env.secrets.get("DB_PASSWORD").map(String::as_str),
            Some("db-password")
        );
        let names: Vec<_> = spec
            .phases
            .defined()
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(names, ["install", "pre_build", "build", "post_build"]);
        let pre_build = spec.phases.get(PhaseName::PreBuild).expect("pre_build");
        assert_eq!(pre_build.commands, ["cd src", "export A=1"]);
        assert_eq!(pre_build.on_failure, OnFailure::Continue);
        let build = spec.phases.get(PhaseName::Build).expect("build");
        assert_eq!(
            (build.finally.as_slice(), build.on_failure),
            (&["echo cleanup".to_string()][..], OnFailure::Abort)
        );
        assert_eq!(
            spec.phases
                .get(PhaseName::Install)
                .expect("install")
                .on_failure,
            OnFailure::Abort
        );
        assert_eq!(
            spec.artifacts,
            Some(Artifacts {
                files: vec!["**/*.tar".to_string()],
                base_directory: Some("out".to_string()),
                discard_paths: Some(true),
            })
        );
    }

    #[test]
    fn version_is_0_2_as_number_or_string() {
        assert!(parse("version: 0.2\n").is_ok());
        assert!(parse("version: \"0.2\"\n").is_ok());
        assert_eq!(
            error("phases: {}\nversion: 0.1\n"),
            "ci/buildspec.yml:2:10: at `version`: unsupported buildspec version `0.1`; upkeep reads version 0.2"
        );
        assert!(
            error("phases: {}\n").contains("missing field `version`"),
            "{}",
            error("phases: {}\n")
        );
    }

    #[test]
    fn unknown_keys_name_file_line_and_key_path() {
        assert_eq!(
            error(
                "version: 0.2\nphases:\n  build:\n    commands: [make]\n    runtime-versions: {}\n"
            ),
            "ci/buildspec.yml:5:5: at `phases.build.runtime-versions`: unknown field `runtime-versions`, expected one of commands, finally, on-failure"
        );
        let message = error("version: 0.2\nphases:\n  compile:\n    commands: [make]\n");
        assert!(
            message
                .starts_with("ci/buildspec.yml:3:3: at `phases.compile`: unknown field `compile`"),
            "{message}"
        );
        let message = error("version: 0.2\nenv:\n  parameter-store: {}\n");
        assert!(
            message.starts_with(
                "ci/buildspec.yml:3:3: at `env.parameter-store`: unknown field `parameter-store`"
            ),
            "{message}"
        );
    }

    #[test]
    fn rejects_bad_values_with_positions() {
        let message = error("version: 0.2\nphases:\n  build:\n    on-failure: RETRY\n");
        assert!(
            message.starts_with("ci/buildspec.yml:4:17: at `phases.build.on-failure`:"),
            "{message}"
        );
        let message = error("version: 0.2\nenv:\n  shell: zsh\n");
        assert_eq!(
            message,
            "ci/buildspec.yml:3:10: at `env.shell`: unsupported shell `zsh`; use bash, sh or the absolute path of a POSIX shell"
        );
        let message = error("version: 0.2\nenv:\n  exported-variables: [OK, 'NOT-OK']\n");
        assert!(
            message.contains("`NOT-OK` is not a valid variable name"),
            "{message}"
        );
        assert!(message.starts_with("ci/buildspec.yml:3:"), "{message}");
        let message = error("version: 0.2\nenv:\n  variables:\n    A: [1]\n");
        assert!(message.starts_with("ci/buildspec.yml:4:"), "{message}");
        let message = error("version: 0.2\nartifacts:\n  base-directory: out\n");
        assert!(message.contains("missing field `files`"), "{message}");
    }

    #[test]
    fn shells() {
        let shell = |text: &str| {
            parse(&format!("version: 0.2\nenv:\n  shell: {text}\n"))
                .expect("valid")
                .env
                .shell
        };
        assert_eq!(shell("bash"), Some(Shell::Bash));
        assert_eq!(shell("/bin/dash"), Some(Shell::Path("/bin/dash".into())));
        assert_eq!(Shell::Path("/bin/dash".into()).program(), "/bin/dash");
        assert_eq!(parse("version: 0.2\n").expect("valid").env.shell, None);
    }

    #[test]
    fn every_stage_has_a_valid_default_running_its_hook() {
        for stage in Stage::ALL {
            let spec = Buildspec::default_for(stage);
            assert_eq!(
                spec.source,
                Path::new("<built-in>").join(format!("{stage}.yml"))
            );
            let build = spec.phases.get(PhaseName::Build).expect("build phase");
            assert_eq!(build.commands.len(), 1);
            let command = &build.commands[0];
            for deploy_type in [DeployType::Normal, DeployType::Destructive] {
                if let Some(hook) = stage.hook(deploy_type) {
                    let expected =
                        format!("eval \"${{{}:-{}}}\"", hook.variable, hook.default_command);
                    assert!(command.contains(&expected), "{stage}: {command}");
                }
            }
        }
        let build = Buildspec::default_for(Stage::Build);
        assert!(build.phases.build.expect("build").commands[0].contains(
            "composer install ${UPKEEP_COMPOSER_MODE} ${UPKEEP_COMPOSER_AUTOLOAD} --no-interaction"
        ));
    }
}
