//! Spryker's integration manifests: the typed model of every step type and its options, and
//! the reader of a directory laid out `<Org>/<Module>/<version>/installer-manifest.json`.
//!
//! A manifest that cannot be read (not JSON, a step of the wrong shape, a version directory
//! that is not a version) is a [`ManifestWarning`] naming the file and the JSON position; the
//! other manifests load. Keys the model does not know are warnings too, so a new option in
//! Spryker's data is seen rather than silently ignored.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use upkeep_composer::Version;
use upkeep_composer::json_layout::{JsonNode, read_layout};
use upkeep_php::source::LineIndex;

/// The file name of a manifest inside its version directory.
pub const MANIFEST_FILE: &str = "installer-manifest.json";

/// A module as manifests and `integrator.lock` name it: `Spryker.Acl`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModuleId {
    /// `Spryker`, `SprykerShop`, `SprykerFeature`, ...
    pub organisation: String,
    /// `Acl`, `CheckoutPage`, ...
    pub module: String,
}

impl ModuleId {
    pub fn new(organisation: &str, module: &str) -> Self {
        Self {
            organisation: organisation.to_string(),
            module: module.to_string(),
        }
    }

    /// `Org.Module`, as `integrator.lock` writes it.
    pub fn parse(key: &str) -> Option<Self> {
        let (organisation, module) = key.split_once('.')?;
        (!organisation.is_empty() && !module.is_empty() && !module.contains('.'))
            .then(|| Self::new(organisation, module))
    }

    /// The module of a Composer package: `spryker-shop/checkout-page` is
    /// `SprykerShop.CheckoutPage`.
    pub fn of_package(name: &str) -> Option<Self> {
        let (vendor, package) = name.split_once('/')?;
        let organisation = camel_case(vendor);
        let module = camel_case(package);
        (!organisation.is_empty() && !module.is_empty()).then_some(Self {
            organisation,
            module,
        })
    }
}

impl fmt::Display for ModuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.organisation, self.module)
    }
}

fn camel_case(kebab: &str) -> String {
    kebab
        .split(['-', '_'])
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut characters = word.chars();
            characters.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(characters).collect()
            })
        })
        .collect()
}

/// One module version's manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub module: ModuleId,
    pub version: Version,
    /// The manifest file, relative to the manifests directory.
    pub path: PathBuf,
    /// The steps in the file's order of types, each type's entries in order.
    pub steps: Vec<Step>,
}

/// One change a manifest asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    WirePlugin(PluginWiring),
    UnwirePlugin(PluginWiring),
    ConfigureModule(ModuleConfiguration),
    GlossaryKey(GlossaryKeys),
    ConfigureEnv(EnvConfiguration),
    WireGlueRelationship(GlueRelationship),
    UnwireGlueRelationship(GlueRelationship),
    WireWidget(Widget),
    UnwireWidget(Widget),
    AddConfigArrayElement(ConfigArrayElement),
    WireSchema(XmlMerge),
    WireTransfer(XmlMerge),
    WireNavigation(NavigationWiring),
    UnwireNavigation(NavigationWiring),
    CopyModuleFile(ModuleFileCopy),
    ExecuteConsole(ConsoleCommand),
}

impl Step {
    /// The manifest key of this step's type, e.g. `wire-plugin`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::WirePlugin(_) => "wire-plugin",
            Self::UnwirePlugin(_) => "unwire-plugin",
            Self::ConfigureModule(_) => "configure-module",
            Self::GlossaryKey(_) => "glossary-key",
            Self::ConfigureEnv(_) => "configure-env",
            Self::WireGlueRelationship(_) => "wire-glue-relationship",
            Self::UnwireGlueRelationship(_) => "unwire-glue-relationship",
            Self::WireWidget(_) => "wire-widget",
            Self::UnwireWidget(_) => "unwire-widget",
            Self::AddConfigArrayElement(_) => "add-config-array-element",
            Self::WireSchema(_) => "wire-schema",
            Self::WireTransfer(_) => "wire-transfer",
            Self::WireNavigation(_) => "wire-navigation",
            Self::UnwireNavigation(_) => "unwire-navigation",
            Self::CopyModuleFile(_) => "copy-module-file",
            Self::ExecuteConsole(_) => "execute-console",
        }
    }

    /// A short description for reports: the type and what it targets.
    pub fn describe(&self) -> String {
        let what = match self {
            Self::WirePlugin(wiring) | Self::UnwirePlugin(wiring) => {
                format!("{} in {}", trim_fq(&wiring.source), trim_fq(&wiring.target))
            }
            Self::ConfigureModule(configuration) => trim_fq(&configuration.target).to_string(),
            Self::GlossaryKey(keys) => {
                let names: Vec<&str> = keys.new.keys().map(String::as_str).collect();
                names.join(", ")
            }
            Self::ConfigureEnv(configuration) => trim_fq(&configuration.target).to_string(),
            Self::WireGlueRelationship(relationship)
            | Self::UnwireGlueRelationship(relationship) => relationship
                .source
                .values()
                .map(|plugin| trim_fq(plugin))
                .collect::<Vec<_>>()
                .join(", "),
            Self::WireWidget(widget) | Self::UnwireWidget(widget) => {
                trim_fq(&widget.source).to_string()
            }
            Self::AddConfigArrayElement(element) => trim_fq(&element.target).to_string(),
            Self::WireSchema(merge) | Self::WireTransfer(merge) => merge.target.clone(),
            Self::WireNavigation(navigation) | Self::UnwireNavigation(navigation) => navigation
                .navigations
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            Self::CopyModuleFile(copy) => copy.target.clone(),
            Self::ExecuteConsole(command) => command.target.clone(),
        };
        format!("{} {what}", self.kind())
    }
}

fn trim_fq(name: &str) -> &str {
    name.trim_start_matches('\\')
}

/// `wire-plugin` / `unwire-plugin`: `new Source(...)` in the stack `Class::method` returns.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PluginWiring {
    /// `\Spryker\Zed\Console\ConsoleDependencyProvider::getConsoleCommands`.
    pub target: String,
    /// The plugin class.
    pub source: String,
    /// The key of the plugin in the stack: a string or a class constant.
    #[serde(default)]
    pub index: Option<String>,
    /// `poistion` is how one real manifest spells it.
    #[serde(default, alias = "poistion")]
    pub position: Option<Position>,
    /// A PHP condition; the plugin is added only when it holds.
    #[serde(default)]
    pub condition: Option<String>,
    #[serde(default)]
    pub arguments: Option<PluginArguments>,
    /// The stack is built by another method that this one calls.
    #[serde(default)]
    pub call: Option<CallTarget>,
}

/// Where a plugin goes relative to others already in the stack (plugin class names).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Position {
    #[serde(default, deserialize_with = "one_or_many")]
    pub before: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub after: Vec<String>,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}

/// Arguments of a wired plugin: of its constructor, or of the call that adds it to a
/// collection (before or after the plugin).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct PluginArguments {
    #[serde(default, rename = "constructor-arguments")]
    pub constructor: Vec<ArgumentValue>,
    #[serde(default, rename = "prepend-arguments")]
    pub prepend: Vec<ArgumentValue>,
    #[serde(default, rename = "append-arguments")]
    pub append: Vec<ArgumentValue>,
}

/// One argument: PHP code when `is_literal`, else a value (a string naming a class constant
/// is that constant).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ArgumentValue {
    pub value: Value,
    #[serde(default)]
    pub is_literal: bool,
}

/// A method the step's target is reached through.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CallTarget {
    pub target: String,
    #[serde(default)]
    pub before: Option<String>,
    #[serde(default)]
    pub after: Option<String>,
}

/// A value to configure: PHP code (`{"value": "...", "is_literal": true}`) or a JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigValue {
    Literal(String),
    Value(Value),
}

impl<'de> Deserialize<'de> for ConfigValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Ok(Self::from_json(value))
    }
}

impl ConfigValue {
    /// `{"value": x, "is_literal": b}` is the wrapped form; anything else is the value itself.
    pub fn from_json(value: Value) -> Self {
        if let Value::Object(object) = &value
            && object.contains_key("is_literal")
            && object.len() == 2
            && let Some(inner) = object.get("value")
        {
            let literal = object.get("is_literal").and_then(Value::as_bool) == Some(true);
            return match (literal, inner) {
                (true, Value::String(code)) => Self::Literal(code.clone()),
                _ => Self::Value(inner.clone()),
            };
        }
        Self::Value(value)
    }
}

/// `configure-module`: a class constant's value, or what a config method returns.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ModuleConfiguration {
    /// `\Spryker\Zed\Customer\CustomerConfig::getCustomerSequenceNumberPrefix` or
    /// `...Config::SOME_CONSTANT`.
    pub target: String,
    #[serde(default)]
    pub value: Option<ConfigValue>,
    /// Change only when the project has this value now.
    #[serde(default, rename = "previousValue")]
    pub previous_value: Option<ConfigValue>,
    /// When there is no value: the answer to take without asking.
    #[serde(default)]
    pub default: Option<Value>,
    #[serde(default)]
    pub choices: Vec<Value>,
}

/// `glossary-key`: translations to add, key -> locale -> text.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GlossaryKeys {
    #[serde(default)]
    pub new: IndexMap<String, IndexMap<String, String>>,
}

/// `configure-env`: `$config[Constants::KEY] = value;` in `config/Shared/config_default.php`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EnvConfiguration {
    pub target: String,
    #[serde(default)]
    pub value: Option<ConfigValue>,
    #[serde(default)]
    pub default: Option<Value>,
    #[serde(default)]
    pub choices: Vec<Value>,
}

/// `wire-glue-relationship` / `unwire-glue-relationship`: resource type -> relationship plugin.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GlueRelationship {
    /// The dependency provider; `GlueApplicationDependencyProvider` when absent.
    #[serde(default)]
    pub target: Option<String>,
    pub source: IndexMap<String, String>,
}

/// `wire-widget` / `unwire-widget`: a widget class in the global widgets.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Widget {
    pub source: String,
}

/// `add-config-array-element`: `Class::CONST` added to the array a config method returns.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ConfigArrayElement {
    pub target: String,
    pub value: ConfigValue,
    #[serde(default)]
    pub call: Option<CallTarget>,
    #[serde(default, alias = "poistion")]
    pub position: Option<Position>,
}

/// `wire-schema` / `wire-transfer`: an XML tree to merge into a project XML file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct XmlMerge {
    /// The file, relative to a module's source root (`Zed/Module/Persistence/...`).
    pub target: String,
    pub data: XmlNode,
}

/// One XML element of a merge.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct XmlNode {
    pub name: String,
    #[serde(default)]
    pub attributes: IndexMap<String, String>,
    #[serde(default, rename = "sub-nodes")]
    pub children: Vec<XmlNode>,
}

/// `wire-navigation` / `unwire-navigation`: entries of `config/Zed/navigation.xml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct NavigationWiring {
    pub navigations: IndexMap<String, Value>,
    #[serde(default)]
    pub before: Option<String>,
    #[serde(default)]
    pub after: Option<String>,
}

/// `copy-module-file`: a file of the package copied into the project, never overwriting.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ModuleFileCopy {
    /// Relative to the package's directory.
    pub source: String,
    /// Relative to the project root.
    pub target: String,
}

/// `execute-console`: a console command the project should run.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ConsoleCommand {
    pub target: String,
}

/// A manifest, or part of one, that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestWarning {
    /// Relative to the manifests directory.
    pub path: PathBuf,
    /// 1-based; 0 when the problem is not at a position (a directory name).
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl fmt::Display for ManifestWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.path.display(), self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.path.display(),
                self.line,
                self.column,
                self.message
            )
        }
    }
}

/// Every manifest of a directory, per module in ascending version order.
#[derive(Debug, Clone, Default)]
pub struct ManifestSet {
    pub modules: BTreeMap<ModuleId, Vec<Manifest>>,
    pub warnings: Vec<ManifestWarning>,
}

impl ManifestSet {
    pub fn len(&self) -> usize {
        self.modules.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.modules.is_empty()
    }

    pub fn manifests(&self) -> impl Iterator<Item = &Manifest> {
        self.modules.values().flatten()
    }

    /// The manifests of `module`, ascending.
    pub fn of(&self, module: &ModuleId) -> &[Manifest] {
        self.modules.get(module).map_or(&[], Vec::as_slice)
    }
}

/// The manifests directory itself could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the manifests directory {}", path.display())]
pub struct ReadError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl upkeep_hint::Hint for ReadError {
    fn hint(&self) -> Option<String> {
        Some(
            "give the directory of Spryker's integrator-manifests, or an archive's path or URL, \
             with `--manifests` or `[upgrade] manifests` in upkeep.toml"
                .to_string(),
        )
    }
}

/// Reads every `<Org>/<Module>/<version>/installer-manifest.json` under `root`.
pub fn read_dir(root: &Path) -> Result<ManifestSet, ReadError> {
    let list = |path: &Path| -> Result<Vec<(String, PathBuf)>, ReadError> {
        let mut entries: Vec<(String, PathBuf)> = fs_err::read_dir(path)
            .map_err(|source| ReadError {
                path: path.to_path_buf(),
                source,
            })?
            .filter_map(Result::ok)
            .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
            .map(|entry| {
                (
                    entry.file_name().to_string_lossy().into_owned(),
                    entry.path(),
                )
            })
            .filter(|(name, _)| !name.starts_with('.'))
            .collect();
        entries.sort();
        Ok(entries)
    };
    let mut set = ManifestSet::default();
    for (organisation, organisation_dir) in list(root)? {
        for (module, module_dir) in list(&organisation_dir)? {
            let id = ModuleId::new(&organisation, &module);
            let mut manifests = Vec::new();
            for (version_name, version_dir) in list(&module_dir)? {
                let relative = Path::new(&organisation)
                    .join(&module)
                    .join(&version_name)
                    .join(MANIFEST_FILE);
                let file = version_dir.join(MANIFEST_FILE);
                if !file.is_file() {
                    continue;
                }
                let version = match Version::parse(&version_name) {
                    Ok(version) => version,
                    Err(error) => {
                        set.warnings.push(ManifestWarning {
                            path: relative,
                            line: 0,
                            column: 0,
                            message: format!(
                                "the directory `{version_name}` is not a version ({}); the manifest is left out",
                                error.reason()
                            ),
                        });
                        continue;
                    }
                };
                let text = match fs_err::read_to_string(&file) {
                    Ok(text) => text,
                    Err(error) => {
                        set.warnings.push(ManifestWarning {
                            path: relative,
                            line: 0,
                            column: 0,
                            message: error.to_string(),
                        });
                        continue;
                    }
                };
                let (steps, warnings) = parse_steps(&text, &relative);
                set.warnings.extend(warnings);
                if let Some(steps) = steps {
                    manifests.push(Manifest {
                        module: id.clone(),
                        version,
                        path: relative,
                        steps,
                    });
                }
            }
            manifests.sort_by(|a, b| a.version.cmp(&b.version));
            if !manifests.is_empty() {
                set.modules.insert(id, manifests);
            }
        }
    }
    Ok(set)
}

/// The keys each step type knows, for the unknown-key warning.
fn known_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "wire-plugin" | "unwire-plugin" => &[
            "target",
            "source",
            "index",
            "position",
            "poistion",
            "condition",
            "arguments",
            "call",
        ],
        "configure-module" => &["target", "value", "previousValue", "default", "choices"],
        "configure-env" => &["target", "value", "default", "choices"],
        "wire-glue-relationship" | "unwire-glue-relationship" => &["target", "source"],
        "wire-widget" | "unwire-widget" => &["source"],
        "add-config-array-element" => &["target", "value", "call", "position", "poistion"],
        "wire-schema" | "wire-transfer" => &["target", "data"],
        "wire-navigation" | "unwire-navigation" => &["navigations", "before", "after"],
        "copy-module-file" => &["source", "target"],
        "execute-console" => &["target"],
        _ => &[],
    }
}

/// The steps of one manifest's text, or `None` when the file is not a manifest at all.
/// A step that does not fit its type is a warning and is left out; the others stay.
pub fn parse_steps(text: &str, path: &Path) -> (Option<Vec<Step>>, Vec<ManifestWarning>) {
    let lines = LineIndex::new(text.as_bytes());
    let warning_at = |offset: usize, message: String| {
        let position =
            lines.line_column(text.as_bytes(), u32::try_from(offset).unwrap_or(u32::MAX));
        ManifestWarning {
            path: path.to_path_buf(),
            line: position.line,
            column: position.column,
            message,
        }
    };
    let document: IndexMap<String, Value> = match serde_json::from_str(text) {
        Ok(document) => document,
        Err(error) => {
            return (
                None,
                vec![ManifestWarning {
                    path: path.to_path_buf(),
                    line: u32::try_from(error.line()).unwrap_or(u32::MAX),
                    column: u32::try_from(error.column()).unwrap_or(u32::MAX),
                    message: format!("not a manifest: {error}; the manifest is left out"),
                }],
            );
        }
    };
    // serde_json accepted the text, so its layout reads.
    let layout = read_layout(text);
    let member_node = |kind: &str| {
        layout
            .as_ref()
            .and_then(JsonNode::as_object)
            .and_then(|object| object.member(kind))
            .map(|member| &member.value)
    };
    let mut steps = Vec::new();
    let mut warnings = Vec::new();
    for (kind, value) in document {
        let node = member_node(&kind);
        let at = node.map_or(0, JsonNode::start);
        if kind != "glossary-key" && known_keys(&kind).is_empty() {
            warnings.push(warning_at(
                at,
                format!("unknown step type `{kind}`; its steps are left out"),
            ));
            continue;
        }
        // glossary-key is one object; every other type is a list of entries.
        let entries: Vec<(Value, usize)> = match (kind.as_str(), value) {
            ("glossary-key", value) => vec![(value, at)],
            (_, Value::Array(entries)) => {
                let starts: Vec<usize> = node
                    .and_then(JsonNode::as_array)
                    .map(|array| array.elements.iter().map(JsonNode::start).collect())
                    .unwrap_or_default();
                entries
                    .into_iter()
                    .enumerate()
                    .map(|(index, entry)| (entry, starts.get(index).copied().unwrap_or(at)))
                    .collect()
            }
            (_, other) => {
                warnings.push(warning_at(
                    at,
                    format!(
                        "`{kind}` must be a list of steps, not {}; its steps are left out",
                        json_type(&other)
                    ),
                ));
                continue;
            }
        };
        for (index, (entry, offset)) in entries.into_iter().enumerate() {
            if let Value::Object(object) = &entry {
                let known = known_keys(&kind);
                if kind != "glossary-key" {
                    for key in object.keys().filter(|key| !known.contains(&key.as_str())) {
                        warnings.push(warning_at(
                            offset,
                            format!("{kind}[{index}]: unknown key `{key}`, ignored"),
                        ));
                    }
                }
            }
            match typed_step(&kind, entry) {
                Ok(Some(step)) => steps.push(step),
                Ok(None) => {
                    warnings.push(warning_at(
                        at,
                        format!("unknown step type `{kind}`; its steps are left out"),
                    ));
                    break;
                }
                Err(message) => warnings.push(warning_at(
                    offset,
                    format!("{kind}[{index}]{message}; the step is left out"),
                )),
            }
        }
    }
    (Some(steps), warnings)
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn typed<T: DeserializeOwned>(entry: Value) -> Result<T, String> {
    serde_path_to_error::deserialize(entry).map_err(|error| {
        let path = error.path().to_string();
        let path = if path == "." {
            String::new()
        } else {
            format!(".{path}")
        };
        format!("{path}: {}", error.into_inner())
    })
}

/// The step of type `kind` from one entry; `Ok(None)` for a type the model does not know.
fn typed_step(kind: &str, entry: Value) -> Result<Option<Step>, String> {
    Ok(Some(match kind {
        "wire-plugin" => Step::WirePlugin(typed(entry)?),
        "unwire-plugin" => Step::UnwirePlugin(typed(entry)?),
        "configure-module" => Step::ConfigureModule(typed(entry)?),
        "glossary-key" => Step::GlossaryKey(typed(entry)?),
        "configure-env" => Step::ConfigureEnv(typed(entry)?),
        "wire-glue-relationship" => Step::WireGlueRelationship(typed(entry)?),
        "unwire-glue-relationship" => Step::UnwireGlueRelationship(typed(entry)?),
        "wire-widget" => Step::WireWidget(typed(entry)?),
        "unwire-widget" => Step::UnwireWidget(typed(entry)?),
        "add-config-array-element" => Step::AddConfigArrayElement(typed(entry)?),
        "wire-schema" => Step::WireSchema(typed(entry)?),
        "wire-transfer" => Step::WireTransfer(typed(entry)?),
        "wire-navigation" => Step::WireNavigation(typed(entry)?),
        "unwire-navigation" => Step::UnwireNavigation(typed(entry)?),
        "copy-module-file" => Step::CopyModuleFile(typed(entry)?),
        "execute-console" => Step::ExecuteConsole(typed(entry)?),
        _ => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_are_named_from_packages_and_lock_keys() {
        assert_eq!(
            ModuleId::of_package("spryker-shop/checkout-page"),
            Some(ModuleId::new("SprykerShop", "CheckoutPage"))
        );
        assert_eq!(
            ModuleId::parse("Spryker.Acl"),
            Some(ModuleId::new("Spryker", "Acl"))
        );
        assert_eq!(ModuleId::parse("Spryker"), None);
        assert_eq!(ModuleId::parse("Spryker.Acl.x"), None);
        assert_eq!(ModuleId::new("Spryker", "Acl").to_string(), "Spryker.Acl");
    }

    #[test]
    fn reads_every_option_of_a_plugin_wiring() {
        let text = r#"{
  "wire-plugin": [
    {"target": "\\A\\B::c", "source": "\\P", "index": "locale",
     "poistion": {"after": "\\Q"}, "condition": "class_exists(\\P::class)",
     "arguments": {"append-arguments": [{"value": ["static::X"], "is_literal": false}]}}
  ],
  "configure-module": [
    {"target": "\\A\\AConfig::getX", "value": {"value": "return 1", "is_literal": true},
     "previousValue": []}
  ]
}"#;
        let (steps, warnings) = parse_steps(text, Path::new("A/B/1.0.0/installer-manifest.json"));
        assert!(warnings.is_empty(), "{warnings:?}");
        let steps = steps.unwrap();
        let Step::WirePlugin(wiring) = &steps[0] else {
            panic!("{steps:?}")
        };
        assert_eq!(wiring.index.as_deref(), Some("locale"));
        assert_eq!(wiring.position.as_ref().unwrap().after, vec!["\\Q"]);
        assert_eq!(
            wiring.arguments.as_ref().unwrap().append[0].value,
            serde_json::json!(["static::X"])
        );
        let Step::ConfigureModule(configuration) = &steps[1] else {
            panic!("{steps:?}")
        };
        assert_eq!(
            configuration.value,
            Some(ConfigValue::Literal("return 1".into()))
        );
        assert_eq!(
            configuration.previous_value,
            Some(ConfigValue::Value(serde_json::json!([])))
        );
    }

    #[test]
    fn a_malformed_manifest_is_a_warning_with_its_position() {
        let path = Path::new("Spryker/Acl/1.0.0/installer-manifest.json");
        let (steps, warnings) = parse_steps("{\n  \"wire-plugin\": [\n    {\"target\": 1,", path);
        assert!(steps.is_none());
        assert_eq!(warnings.len(), 1);
        assert_eq!((warnings[0].line, warnings[0].column), (3, 17));
        assert!(
            warnings[0]
                .to_string()
                .starts_with("Spryker/Acl/1.0.0/installer-manifest.json:3:17: not a manifest"),
            "{}",
            warnings[0]
        );

        // A step of the wrong shape is left out with the position of its entry; the rest stays.
        let text = "{\n  \"wire-plugin\": [\n    {\"target\": \"\\\\A::b\", \"source\": \"\\\\P\"},\n    {\"target\": 1, \"source\": \"\\\\P\", \"colour\": 2}\n  ],\n  \"wire-everything\": []\n}";
        let (steps, warnings) = parse_steps(text, path);
        assert_eq!(steps.unwrap().len(), 1);
        let messages: Vec<String> = warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            vec![
                "Spryker/Acl/1.0.0/installer-manifest.json:4:5: wire-plugin[1]: unknown key `colour`, ignored",
                "Spryker/Acl/1.0.0/installer-manifest.json:4:5: wire-plugin[1].target: invalid type: integer `1`, expected a string; the step is left out",
                "Spryker/Acl/1.0.0/installer-manifest.json:6:22: unknown step type `wire-everything`; its steps are left out",
            ]
        );
    }
}
