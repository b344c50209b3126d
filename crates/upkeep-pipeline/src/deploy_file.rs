//! Spryker docker-sdk deploy files (`deploy.yml`, `deploy.<project>-<environment>.yml`): reading
//! them with their `imports`, `%parameter%` substitution, merging (the first definition wins),
//! validation of the keys we read, and printing the merged result. Every value keeps the file
//! and line that defined it, so errors and plans can point at the right file of an import chain.
//!
//! ```yaml
//! version: '0.1'
//! namespace: my_shop
//! imports:
//!     base.deploy.yml:                     # next to this file, or in config/deploy-templates/
//!         parameters:
//!             region: eu
//! image:
//!     tag: spryker/php:8.3
//!     environment:
//!         SPRYKER_HOOK_INSTALL: vendor/bin/install -r production-eu --no-ansi -vvv
//! ```

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use indexmap::IndexMap;
use serde::Serialize;

use crate::mask::Masker;
use crate::yaml::{self, Node, NodeValue, Origin, YamlError, join_key_path};

/// Where imports are looked up after the importing file's directory (docker-sdk's project layer).
pub const TEMPLATES_DIRECTORY: &str = "config/deploy-templates";

/// How many imports one deploy file may read. A file imported again with the same parameters
/// is merged once (a second merge adds nothing, the first definition wins), so only imports
/// that differ count; this bounds an import graph whose parameters differ at every level.
pub const MAX_IMPORTS: usize = 1_000;

/// Top-level keys of a merged deploy file, for messages. `imports` is consumed while loading;
/// keys starting with `x-` are YAML extension keys that hold anchors
/// (`x-frontend-auth: &frontend-auth`).
const TOP_LEVEL_KEYS: [&str; 12] = [
    "version",
    "namespace",
    "tag",
    "environment",
    "pipeline",
    "image",
    "composer",
    "assets",
    "regions",
    "groups",
    "services",
    "docker",
];

/// A deploy file with its imports merged in.
#[derive(Debug, Clone, PartialEq)]
pub struct DeployFile {
    path: PathBuf,
    root: Node,
    imports: Vec<Import>,
}

/// A file merged into the deploy file, in the order they were read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Import {
    pub file: PathBuf,
    /// The import entry that asked for it.
    pub requested_at: Origin,
    /// The parameters substituted in it: its own and those inherited from the importing file.
    pub parameters: IndexMap<String, String>,
}

/// A scalar value with the place that defined it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourcedValue {
    pub value: String,
    pub origin: Origin,
}

#[derive(Debug, thiserror::Error)]
pub enum DeployFileError {
    #[error(transparent)]
    Read(#[from] std::io::Error),
    /// A syntax error, or a value that is not what the deploy file format expects.
    #[error(transparent)]
    Invalid(#[from] YamlError),
    #[error(
        "{requested_at}: imported file `{template}` not found; looked for {}",
        display_paths(searched, ", ")
    )]
    MissingImport {
        requested_at: Origin,
        template: String,
        searched: Vec<PathBuf>,
    },
    #[error(
        "deploy files import each other in a cycle: {}",
        display_paths(chain, " -> ")
    )]
    ImportCycle {
        /// From the file imported again, through its imports, back to itself.
        chain: Vec<PathBuf>,
    },
}

fn display_paths(paths: &[PathBuf], separator: &str) -> String {
    paths
        .iter()
        .map(|path| path.display().to_string())
        .collect::<Vec<_>>()
        .join(separator)
}

impl DeployFile {
    /// Reads `path`, merges its imports and validates the result. Imports are looked up next to
    /// the importing file, then in `<project_root>/config/deploy-templates/`.
    ///
    /// Imports must stay inside the project: a relative name, resolved (symbolic links
    /// included) below `project_root`. An absolute name, a `..` leaving the project or a link
    /// pointing out of it is an error at the import entry, and such a file is never read.
    pub fn load(path: &Path, project_root: &Path) -> Result<DeployFile, DeployFileError> {
        let mut loader = ImportLoader {
            project_root,
            canonical_root: fs_err::canonicalize(project_root)?,
            stack: Vec::new(),
            imports: Vec::new(),
            texts: HashMap::new(),
            merged: HashSet::new(),
        };
        let root = loader.load(path, &IndexMap::new())?;
        validate(&root)?;
        Ok(DeployFile {
            path: path.to_path_buf(),
            root,
            imports: loader.imports,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The merged document, without `imports`.
    pub fn root(&self) -> &Node {
        &self.root
    }

    pub fn imports(&self) -> &[Import] {
        &self.imports
    }

    /// The node at a key path of the merged document (`["image", "tag"]`).
    pub fn get(&self, key_path: &[&str]) -> Option<&Node> {
        key_path
            .iter()
            .try_fold(&self.root, |node, key| node.get(key))
    }

    /// A scalar at a key path, as text, with where it was defined.
    pub fn sourced_value(&self, key_path: &[&str]) -> Option<SourcedValue> {
        let node = self.get(key_path)?;
        Some(SourcedValue {
            value: node.scalar_text()?,
            origin: node.origin.clone(),
        })
    }

    /// The base image (`image.tag`, or `image` itself in the short form `image: spryker/php:8.3`).
    pub fn image_tag(&self) -> Option<&str> {
        let image = self.root.get("image")?;
        image.as_str().or_else(|| image.get("tag")?.as_str())
    }

    /// `image.environment` as the hooks see it.
    pub fn image_environment(&self) -> IndexMap<String, String> {
        self.image_environment_with_origin()
            .into_iter()
            .map(|(name, value)| (name, value.value))
            .collect()
    }

    /// `image.environment` with the place each value was defined.
    pub fn image_environment_with_origin(&self) -> IndexMap<String, SourcedValue> {
        let Some(environment) = self.get(&["image", "environment"]).and_then(Node::as_map) else {
            return IndexMap::new();
        };
        environment
            .iter()
            .filter_map(|(name, node)| {
                let value = node.scalar_text()?;
                let origin = node.origin.clone();
                Some((name.clone(), SourcedValue { value, origin }))
            })
            .collect()
    }

    /// One variable of `image.environment`, with where it was defined.
    pub fn image_variable(&self, name: &str) -> Option<SourcedValue> {
        self.sourced_value(&["image", "environment", name])
    }

    /// `composer.mode`, e.g. `--no-dev`.
    pub fn composer_mode(&self) -> Option<&str> {
        self.get(&["composer", "mode"]).and_then(Node::as_str)
    }

    /// `composer.autoload`, e.g. `--classmap-authoritative`.
    pub fn composer_autoload(&self) -> Option<&str> {
        self.get(&["composer", "autoload"]).and_then(Node::as_str)
    }

    /// This deploy file with every value that holds a secret `masker` knows replaced by its
    /// masked text (`***` for the secret), for printing it. A number or boolean that is a
    /// secret becomes the string `***`.
    #[must_use]
    pub fn masked(&self, masker: &Masker) -> DeployFile {
        fn mask(node: &mut Node, masker: &Masker) {
            match &mut node.value {
                NodeValue::Seq(items) => items.iter_mut().for_each(|item| mask(item, masker)),
                NodeValue::Map(map) => map.values_mut().for_each(|value| mask(value, masker)),
                _ => {
                    if let Some(text) = node.scalar_text() {
                        let hidden = masker.mask_text(&text);
                        if hidden != text {
                            node.value = NodeValue::String(hidden);
                        }
                    }
                }
            }
        }
        let mut copy = self.clone();
        if !masker.is_empty() {
            mask(&mut copy.root, masker);
        }
        copy
    }

    /// The merged document as YAML (for `upkeep deploy-file show`). With `show_origins`, a
    /// header lists the merged files and every line says where its value was defined.
    pub fn to_yaml_string(&self, show_origins: bool) -> String {
        if !show_origins {
            return yaml::to_yaml_string(&self.root, &|_| None);
        }
        let mut out = format!("# {}\n", self.path.display());
        for import in &self.imports {
            let _ = writeln!(
                out,
                "#   imports {} (requested at {})",
                import.file.display(),
                import.requested_at
            );
        }
        // A mapping or sequence is attributed to the line of its key: its own origin is
        // where its first entry starts.
        let comment = |node: &Node| {
            let origin = match node.value {
                NodeValue::Map(_) | NodeValue::Seq(_) => node.key_origin.as_ref(),
                _ => None,
            }
            .unwrap_or(&node.origin);
            Some(format!("{}:{}", origin.file.display(), origin.line))
        };
        out.push_str(&yaml::to_yaml_string(&self.root, &comment));
        out
    }
}

/// Reads files depth first: a file's imports are merged into it before it is merged into the
/// file that imported it.
struct ImportLoader<'a> {
    project_root: &'a Path,
    /// `project_root` with links resolved: imports must resolve below it.
    canonical_root: PathBuf,
    /// The files being read, outermost first: (canonical path, path as found).
    stack: Vec<(PathBuf, PathBuf)>,
    imports: Vec<Import>,
    /// Each file is read once, by canonical path.
    texts: HashMap<PathBuf, std::rc::Rc<str>>,
    /// Imports already merged: (canonical path, effective parameters). Merging one again
    /// changes nothing, since the first definition wins; skipping it keeps an import DAG from
    /// being expanded exponentially.
    merged: HashSet<(PathBuf, Vec<(String, String)>)>,
}

/// One entry of an `imports` section.
struct ImportRequest {
    template: String,
    requested_at: Origin,
    /// `imports.<name>` or `imports[<index>]`, for errors about the entry.
    key_path: String,
    parameters: IndexMap<String, String>,
}

impl ImportLoader<'_> {
    fn load(
        &mut self,
        path: &Path,
        parameters: &IndexMap<String, String>,
    ) -> Result<Node, DeployFileError> {
        let identity = fs_err::canonicalize(path)?;
        let text = if let Some(text) = self.texts.get(&identity) {
            text.clone()
        } else {
            let text: std::rc::Rc<str> = fs_err::read_to_string(path)?.into();
            self.texts.insert(identity.clone(), text.clone());
            text
        };
        if let Some(start) = self.stack.iter().position(|(seen, _)| *seen == identity) {
            let mut chain: Vec<PathBuf> = self.stack[start..]
                .iter()
                .map(|(_, shown)| shown.clone())
                .collect();
            chain.push(path.to_path_buf());
            return Err(DeployFileError::ImportCycle { chain });
        }
        let mut root = yaml::parse_tree(&text, path)?;
        if !parameters.is_empty() {
            substitute_parameters(&mut root, parameters, "")?;
        }
        let requests = take_imports(&mut root)?;
        self.stack.push((identity.clone(), path.to_path_buf()));
        for request in requests {
            let file = self.find(path, &identity, &request)?;
            // Parameters pass on to nested imports; an import's own ones win (docker-sdk).
            let mut effective = parameters.clone();
            effective.extend(request.parameters);
            let key = (
                fs_err::canonicalize(&file)?,
                effective
                    .iter()
                    .map(|(name, value)| (name.clone(), value.clone()))
                    .collect(),
            );
            let on_stack = self.stack.iter().any(|(seen, _)| *seen == key.0);
            if !on_stack && self.merged.contains(&key) {
                continue;
            }
            if self.merged.len() >= MAX_IMPORTS {
                return Err(invalid(
                    &request.requested_at,
                    &request.key_path,
                    format!(
                        "more than {MAX_IMPORTS} different imports (files with their parameters); \
                         the import graph is too large"
                    ),
                ));
            }
            self.merged.insert(key);
            self.imports.push(Import {
                file: file.clone(),
                requested_at: request.requested_at,
                parameters: effective.clone(),
            });
            let imported = self.load(&file, &effective)?;
            merge_first_wins(&mut root, imported);
        }
        self.stack.pop();
        Ok(root)
    }

    /// The file an import names: next to the importing file, else in the templates directory,
    /// and in either case inside the project. `importing_identity` is the importing file's
    /// canonical path. Nothing outside the project is opened, so no error can quote it.
    fn find(
        &self,
        importing: &Path,
        importing_identity: &Path,
        request: &ImportRequest,
    ) -> Result<PathBuf, DeployFileError> {
        let outside = |reason: &str| {
            invalid(
                &request.requested_at,
                &request.key_path,
                format!(
                    "import `{}` {reason}: imports are read from the importing file's directory \
                     or {TEMPLATES_DIRECTORY}/ inside the project ({}); copy the file into the project",
                    request.template,
                    self.project_root.display()
                ),
            )
        };
        let template = Path::new(&request.template);
        if template.has_root()
            || template
                .components()
                .any(|component| matches!(component, Component::Prefix(_) | Component::RootDir))
        {
            return Err(outside("is an absolute path"));
        }
        let directory = importing.parent().unwrap_or(Path::new(""));
        let canonical_directory = importing_identity.parent().unwrap_or(Path::new("/"));
        let mut searched = vec![(
            directory.join(template),
            lexically_joined(canonical_directory, template),
        )];
        let in_templates = self.project_root.join(TEMPLATES_DIRECTORY).join(template);
        if searched[0].0 != in_templates {
            searched.push((
                in_templates,
                lexically_joined(&self.canonical_root.join(TEMPLATES_DIRECTORY), template),
            ));
        }
        for (shown, resolved) in &searched {
            // `..` is checked before the file system is asked anything about the path.
            if !resolved.starts_with(&self.canonical_root) {
                let climbs = template
                    .components()
                    .any(|component| component == Component::ParentDir);
                return Err(outside(if climbs {
                    "leaves the project with `..`"
                } else {
                    "is outside the project"
                }));
            }
            if shown.is_file() {
                if !fs_err::canonicalize(shown)?.starts_with(&self.canonical_root) {
                    return Err(outside("is a symbolic link pointing out of the project"));
                }
                return Ok(shown.clone());
            }
        }
        Err(DeployFileError::MissingImport {
            requested_at: request.requested_at.clone(),
            template: request.template.clone(),
            searched: searched.into_iter().map(|(shown, _)| shown).collect(),
        })
    }
}

/// `base` joined with a relative `path`, `.` and `..` applied without asking the file system.
fn lexically_joined(base: &Path, path: &Path) -> PathBuf {
    let mut joined = base.to_path_buf();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                joined.pop();
            }
            Component::Normal(part) => joined.push(part),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    joined
}

fn invalid(origin: &Origin, key_path: &str, message: impl Into<String>) -> DeployFileError {
    DeployFileError::Invalid(invalid_value(origin, key_path, message))
}

fn invalid_value(origin: &Origin, key_path: &str, message: impl Into<String>) -> YamlError {
    YamlError::at(origin.clone(), key_path, message)
}

/// Removes `imports` from a file's root and reads its entries. Accepted forms (docker-sdk):
/// `imports: { <file>: }`, `imports: { <name>: { template: <file>, parameters: {...} } }` and
/// `imports: [ { template: <file>, parameters: {...} } ]`.
fn take_imports(root: &mut Node) -> Result<Vec<ImportRequest>, DeployFileError> {
    let NodeValue::Map(map) = &mut root.value else {
        return Ok(Vec::new());
    };
    let Some(imports) = map.shift_remove("imports") else {
        return Ok(Vec::new());
    };
    match imports.value {
        NodeValue::Null => Ok(Vec::new()),
        NodeValue::Map(entries) => entries
            .into_iter()
            .map(|(name, body)| {
                let requested_at = body.key_origin.clone().unwrap_or(body.origin.clone());
                let key_path = join_key_path("imports", &name);
                import_request(Some(name), &body, requested_at, &key_path)
            })
            .collect(),
        NodeValue::Seq(items) => items
            .into_iter()
            .enumerate()
            .map(|(index, body)| {
                let requested_at = body.origin.clone();
                import_request(None, &body, requested_at, &format!("imports[{index}]"))
            })
            .collect(),
        _ => Err(invalid(
            &imports.origin,
            "imports",
            format!(
                "expected a mapping of imported files, found {}",
                imports.kind()
            ),
        )),
    }
}

fn import_request(
    name: Option<String>,
    body: &Node,
    requested_at: Origin,
    key_path: &str,
) -> Result<ImportRequest, DeployFileError> {
    let mut template = name;
    let mut parameters = IndexMap::new();
    match &body.value {
        NodeValue::Null if template.is_some() => {}
        NodeValue::Map(fields) => {
            for (field, value) in fields {
                let field_path = join_key_path(key_path, field);
                let field_origin = value.key_origin.as_ref().unwrap_or(&value.origin);
                match field.as_str() {
                    "template" => {
                        let Some(file) = value.as_str() else {
                            return Err(invalid(
                                &value.origin,
                                &field_path,
                                format!("expected a file name, found {}", value.kind()),
                            ));
                        };
                        template = Some(file.to_string());
                    }
                    "parameters" => parameters = import_parameters(value, &field_path)?,
                    _ => {
                        return Err(invalid(
                            field_origin,
                            &field_path,
                            format!("unknown key `{field}`, expected one of template, parameters"),
                        ));
                    }
                }
            }
        }
        _ => {
            return Err(invalid(
                &body.origin,
                key_path,
                format!(
                    "expected a mapping with `template` and `parameters`{}, found {}",
                    if template.is_some() {
                        ", or nothing"
                    } else {
                        ""
                    },
                    body.kind()
                ),
            ));
        }
    }
    let Some(template) = template else {
        return Err(invalid(&body.origin, key_path, "missing key `template`"));
    };
    Ok(ImportRequest {
        template,
        requested_at,
        key_path: key_path.to_string(),
        parameters,
    })
}

fn import_parameters(
    node: &Node,
    key_path: &str,
) -> Result<IndexMap<String, String>, DeployFileError> {
    let map = match &node.value {
        NodeValue::Null => return Ok(IndexMap::new()),
        NodeValue::Map(map) => map,
        _ => {
            return Err(invalid(
                &node.origin,
                key_path,
                format!(
                    "expected a mapping of parameter names to values, found {}",
                    node.kind()
                ),
            ));
        }
    };
    map.iter()
        .map(|(name, value)| {
            let text = value.scalar_text().ok_or_else(|| {
                invalid(
                    &value.origin,
                    &join_key_path(key_path, name),
                    format!(
                        "a parameter value must be a single value, found {}",
                        value.kind()
                    ),
                )
            })?;
            Ok((name.clone(), text))
        })
        .collect()
}

/// Replaces `%name%` (and `%name|upper%`, `%name|lower%`) in the strings and keys of an imported
/// file. A `%word%` that is not a declared parameter stays as it is, as in docker-sdk.
fn substitute_parameters(
    node: &mut Node,
    parameters: &IndexMap<String, String>,
    key_path: &str,
) -> Result<(), DeployFileError> {
    match &mut node.value {
        NodeValue::String(text) => {
            *text = substitute_in_text(text, parameters)
                .map_err(|message| invalid(&node.origin, key_path, message))?;
        }
        NodeValue::Seq(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                substitute_parameters(item, parameters, &format!("{key_path}[{index}]"))?;
            }
        }
        NodeValue::Map(map) => {
            let entries = std::mem::take(map);
            for (key, mut value) in entries {
                let key_origin = value.key_origin.clone().unwrap_or(value.origin.clone());
                let key = substitute_in_text(&key, parameters)
                    .map_err(|message| invalid(&key_origin, key_path, message))?;
                let value_path = join_key_path(key_path, &key);
                substitute_parameters(&mut value, parameters, &value_path)?;
                if map.contains_key(&key) {
                    return Err(invalid(
                        &key_origin,
                        &value_path,
                        format!("key `{key}` appears twice once parameters are substituted"),
                    ));
                }
                map.insert(key, value);
            }
        }
        NodeValue::Null | NodeValue::Bool(_) | NodeValue::Int(_) | NodeValue::Float(_) => {}
    }
    Ok(())
}

/// `%name%` where the name has neither `%` nor white space; an optional `|filter` follows it.
fn substitute_in_text(text: &str, parameters: &IndexMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('%') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('%') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let placeholder = &after[..end];
        if placeholder.is_empty() || placeholder.contains(char::is_whitespace) {
            // Not a placeholder; the closing `%` may open the next one.
            out.push('%');
            rest = after;
            continue;
        }
        let (name, filter) = match placeholder.split_once('|') {
            Some((name, filter)) => (name.trim(), Some(filter.trim())),
            None => (placeholder, None),
        };
        match parameters.get(name) {
            Some(value) => out.push_str(&apply_filter(value, filter)?),
            None => out.push_str(&rest[start..start + end + 2]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn apply_filter(value: &str, filter: Option<&str>) -> Result<String, String> {
    match filter {
        None => Ok(value.to_string()),
        Some("upper") => Ok(value.to_uppercase()),
        Some("lower") => Ok(value.to_lowercase()),
        Some(other) => Err(format!(
            "unknown parameter filter `{other}`; expected upper or lower"
        )),
    }
}

/// Deep merge of mappings where what `first` defines stays; sequences and scalars are taken
/// whole from the first file that defines them.
fn merge_first_wins(first: &mut Node, later: Node) {
    let (NodeValue::Map(first_map), NodeValue::Map(later_map)) = (&mut first.value, later.value)
    else {
        return;
    };
    for (key, value) in later_map {
        match first_map.get_mut(&key) {
            Some(existing) => merge_first_wins(existing, value),
            None => {
                first_map.insert(key, value);
            }
        }
    }
}

/// Checks the keys upkeep reads strictly and the rest of the structure loosely (the sections
/// docker-sdk owns only have to be mappings).
fn validate(root: &Node) -> Result<(), YamlError> {
    let NodeValue::Map(map) = &root.value else {
        let found = if root.value == NodeValue::Null {
            "an empty file".to_string()
        } else {
            root.kind().to_string()
        };
        return Err(invalid_value(
            &root.origin,
            "",
            format!(
                "expected a mapping of deploy file keys (version, namespace, image, ...), found {found}"
            ),
        ));
    };
    for (key, value) in map {
        let key_origin = value.key_origin.as_ref().unwrap_or(&value.origin);
        match key.as_str() {
            "version" => {
                let version = expect_string(value, key, "quote it, for example version: '1.0'")?;
                let well_formed = version
                    .split_once('.')
                    .is_some_and(|(major, minor)| is_number(major) && is_number(minor));
                if !well_formed {
                    return Err(invalid_value(
                        &value.origin,
                        key,
                        format!("expected a version like '1.0', found `{version}`"),
                    ));
                }
            }
            "namespace" | "tag" | "environment" | "pipeline" => {
                expect_string(
                    value,
                    key,
                    &format!("quote it, for example {key}: '{}'", plain_text(value)),
                )?;
            }
            "image" => validate_image(value)?,
            "composer" => validate_composer(value)?,
            "assets" | "regions" | "groups" | "services" | "docker" => {
                expect_map_or_null(value, key)?;
            }
            extension if extension.starts_with("x-") => {}
            unknown => {
                return Err(invalid_value(
                    key_origin,
                    unknown,
                    format!(
                        "unknown key `{unknown}`, expected one of {} (or an `x-` key for anchors)",
                        TOP_LEVEL_KEYS.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn validate_image(image: &Node) -> Result<(), YamlError> {
    let map = match &image.value {
        // The short form `image: spryker/php:8.3` names the tag alone.
        NodeValue::String(_) | NodeValue::Null => return Ok(()),
        NodeValue::Map(map) => map,
        _ => {
            return Err(invalid_value(
                &image.origin,
                "image",
                format!(
                    "expected a mapping (tag, environment, php, node), found {}",
                    image.kind()
                ),
            ));
        }
    };
    for (key, value) in map {
        let key_path = join_key_path("image", key);
        match key.as_str() {
            "tag" => {
                expect_string(value, &key_path, "for example tag: spryker/php:8.3")?;
            }
            "environment" => {
                expect_map_or_null(value, &key_path)?;
                for (name, variable) in value.as_map().into_iter().flatten() {
                    if variable.scalar_text().is_none() {
                        return Err(invalid_value(
                            &variable.origin,
                            &join_key_path(&key_path, name),
                            format!(
                                "an environment variable needs a single value (string, number or boolean), found {}",
                                variable.kind()
                            ),
                        ));
                    }
                }
            }
            "php" | "node" => expect_map_or_null(value, &key_path)?,
            unknown => {
                let key_origin = value.key_origin.as_ref().unwrap_or(&value.origin);
                return Err(invalid_value(
                    key_origin,
                    &key_path,
                    format!("unknown key `{unknown}`, expected one of tag, environment, php, node"),
                ));
            }
        }
    }
    Ok(())
}

fn validate_composer(composer: &Node) -> Result<(), YamlError> {
    expect_map_or_null(composer, "composer")?;
    for (key, value) in composer.as_map().into_iter().flatten() {
        let key_path = join_key_path("composer", key);
        match key.as_str() {
            "mode" | "autoload" => {
                if value.value != NodeValue::Null {
                    expect_string(value, &key_path, "for example mode: --no-dev")?;
                }
            }
            unknown => {
                let key_origin = value.key_origin.as_ref().unwrap_or(&value.origin);
                return Err(invalid_value(
                    key_origin,
                    &key_path,
                    format!("unknown key `{unknown}`, expected one of mode, autoload"),
                ));
            }
        }
    }
    Ok(())
}

fn expect_string<'a>(node: &'a Node, key_path: &str, hint: &str) -> Result<&'a str, YamlError> {
    node.as_str().ok_or_else(|| {
        invalid_value(
            &node.origin,
            key_path,
            format!("expected a string, found {}; {hint}", node.kind()),
        )
    })
}

fn expect_map_or_null(node: &Node, key_path: &str) -> Result<(), YamlError> {
    match node.value {
        NodeValue::Map(_) | NodeValue::Null => Ok(()),
        _ => Err(invalid_value(
            &node.origin,
            key_path,
            format!("expected a mapping, found {}", node.kind()),
        )),
    }
}

fn is_number(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit())
}

/// How a scalar was most likely written, for "quote it" hints (`1.0` for the float 1.0).
fn plain_text(node: &Node) -> String {
    match &node.value {
        NodeValue::Float(value) => yaml::format_float(*value),
        _ => node.scalar_text().unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Unit tests run in the package directory, so fixture paths (and the messages that name
    // them) are relative and the same on every machine.
    const SHOP: &str = "tests/fixtures/shop";
    const CASES: &str = "tests/fixtures/deploy-files";

    fn shop_file(name: &str) -> DeployFile {
        DeployFile::load(&Path::new(SHOP).join(name), Path::new(SHOP)).expect("valid deploy file")
    }

    fn case_error(case: &str) -> String {
        let root = Path::new(CASES).join(case);
        DeployFile::load(&root.join("deploy.yml"), &root)
            .expect_err("the case is invalid")
            .to_string()
    }

    fn origin(file: &str, line: usize, column: usize) -> Origin {
        Origin {
            file: PathBuf::from(file),
            line,
            column,
        }
    }

    #[test]
    fn the_importing_file_wins_over_its_imports() {
        let deploy = shop_file("deploy.yml");
        assert_eq!(deploy.image_tag(), Some("spryker/php:8.3"));
        assert_eq!(
            deploy.image_variable("SPRYKER_HOOK_INSTALL"),
            Some(SourcedValue {
                value: "vendor/bin/install -r production-eu --no-ansi -vvv".to_string(),
                origin: origin("tests/fixtures/shop/deploy.yml", 17, 31),
            })
        );
        // Defined only by the nested import, but the main file's composer.mode wins.
        assert_eq!(deploy.composer_mode(), Some("--no-dev"));
        assert_eq!(deploy.composer_autoload(), Some("--classmap-authoritative"));
    }

    #[test]
    fn imported_values_keep_their_file_and_line_and_get_their_parameters() {
        let deploy = shop_file("deploy.yml");
        let environment = deploy.image_environment_with_origin();
        let base = "tests/fixtures/shop/config/deploy-templates/base.deploy.yml";
        assert_eq!(
            environment.get("SPRYKER_HOOK_BEFORE_DEPLOY"),
            Some(&SourcedValue {
                value: "vendor/bin/install -r pre-deploy-eu -vvv".to_string(),
                origin: origin(base, 18, 37),
            })
        );
        assert_eq!(
            deploy.image_environment(),
            IndexMap::from([
                (
                    "SPRYKER_HOOK_INSTALL".to_string(),
                    "vendor/bin/install -r production-eu --no-ansi -vvv".to_string()
                ),
                ("SPRYKER_DYNAMIC_STORE_MODE".to_string(), "true".to_string()),
                (
                    "SPRYKER_HOOK_BEFORE_DEPLOY".to_string(),
                    "vendor/bin/install -r pre-deploy-eu -vvv".to_string()
                ),
                ("SPRYKER_REGION".to_string(), "EU".to_string()),
                (
                    "SPRYKER_PRODUCT_CONFIGURATOR_PORT".to_string(),
                    "80".to_string()
                ),
                ("UNTOUCHED".to_string(), "%not_a_parameter%".to_string()),
            ])
        );
        assert_eq!(
            deploy
                .sourced_value(&["regions", "EU", "services", "database", "database"])
                .map(|value| value.value),
            Some("eu-docker".to_string())
        );
    }

    #[test]
    fn parameters_apply_to_keys_and_pass_on_to_nested_imports() {
        let deploy = shop_file("deploy.my-shop-staging.yml");
        let endpoint = deploy
            .get(&[
                "groups",
                "EU",
                "applications",
                "yves",
                "endpoints",
                "yves.at.spryker.local",
            ])
            .expect("the endpoint key got the store parameter");
        assert_eq!(endpoint.get("store").and_then(Node::as_str), Some("AT"));
        assert_eq!(
            endpoint
                .get("services")
                .and_then(|services| services.get("session"))
                .and_then(|session| session.get("namespace"))
                .map(|namespace| &namespace.value),
            Some(&NodeValue::Int(2))
        );
        let imports: Vec<String> = deploy
            .imports()
            .iter()
            .map(|import| {
                format!(
                    "{} requested at {} with {:?}",
                    import.file.display(),
                    import.requested_at,
                    import.parameters
                )
            })
            .collect();
        assert_eq!(
            imports,
            [
                "tests/fixtures/shop/config/deploy-templates/base.deploy.yml requested at \
                 tests/fixtures/shop/deploy.my-shop-staging.yml:9:5 with {\"region\": \"eu\", \"store\": \"at\"}",
                "tests/fixtures/shop/config/deploy-templates/services.deploy.yml requested at \
                 tests/fixtures/shop/config/deploy-templates/base.deploy.yml:10:5 with {\"region\": \"eu\", \"store\": \"at\"}",
            ]
        );
        // Empty in the main file: an empty string is a definition and wins.
        assert_eq!(deploy.composer_mode(), Some(""));
        assert_eq!(deploy.image_tag(), Some("spryker/php:8.2"));
    }

    #[test]
    fn merging_keeps_the_first_definition_and_adds_the_rest() {
        let mut first = yaml::parse_tree(
            "a:\n    b: 1\n    list: [x]\nkeep: main\n",
            Path::new("first.yml"),
        )
        .expect("valid");
        let later = yaml::parse_tree(
            "a:\n    b: 2\n    c: 3\n    list: [y, z]\nkeep: [no]\nextra: yes\n",
            Path::new("later.yml"),
        )
        .expect("valid");
        merge_first_wins(&mut first, later);
        let written = yaml::to_yaml_string(&first, &|node| {
            Some(format!(
                "{}:{}",
                node.origin.file.display(),
                node.origin.line
            ))
        });
        assert_eq!(
            written,
            "a:  # first.yml:2\n    b: 1  # first.yml:2\n    list:  # first.yml:3\n        - x  # first.yml:3\n    c: 3  # later.yml:3\nkeep: main  # first.yml:4\nextra: yes  # later.yml:6\n"
        );
    }

    #[test]
    fn substitution_leaves_unknown_placeholders_and_percent_signs_alone() {
        let parameters = IndexMap::from([("env".to_string(), "dev".to_string())]);
        let substitute = |text: &str| substitute_in_text(text, &parameters);
        assert_eq!(
            substitute("environment/%env%/image.yml"),
            Ok("environment/dev/image.yml".to_string())
        );
        assert_eq!(substitute("%env|upper%-%env%"), Ok("DEV-dev".to_string()));
        assert_eq!(substitute("50% off %env%"), Ok("50% off dev".to_string()));
        assert_eq!(substitute("%other%%env%"), Ok("%other%dev".to_string()));
        assert_eq!(substitute("100%"), Ok("100%".to_string()));
        assert_eq!(
            substitute("%env|title%"),
            Err("unknown parameter filter `title`; expected upper or lower".to_string())
        );
    }

    #[test]
    fn an_import_cycle_names_the_chain() {
        assert_eq!(
            case_error("cycle"),
            "deploy files import each other in a cycle: tests/fixtures/deploy-files/cycle/first.deploy.yml \
             -> tests/fixtures/deploy-files/cycle/second.deploy.yml -> tests/fixtures/deploy-files/cycle/first.deploy.yml"
        );
    }

    #[test]
    fn a_missing_import_names_the_importing_line_and_the_places_looked_at() {
        assert_eq!(
            case_error("missing-import"),
            "tests/fixtures/deploy-files/missing-import/deploy.yml:5:5: imported file `absent.deploy.yml` not found; \
             looked for tests/fixtures/deploy-files/missing-import/absent.deploy.yml, \
             tests/fixtures/deploy-files/missing-import/config/deploy-templates/absent.deploy.yml"
        );
    }

    #[test]
    fn a_bad_type_in_an_imported_file_is_reported_in_that_file() {
        assert_eq!(
            case_error("bad-type"),
            "tests/fixtures/deploy-files/bad-type/config/deploy-templates/image.deploy.yml:5:13: \
             at `image.environment.SPRYKER_HOOK_BEFORE_DEPLOY`: an environment variable needs a single value \
             (string, number or boolean), found a sequence"
        );
    }

    #[test]
    fn an_unknown_top_level_key_is_reported_but_x_keys_are_accepted() {
        assert_eq!(
            case_error("unknown-key"),
            "tests/fixtures/deploy-files/unknown-key/deploy.yml:7:1: at `service`: unknown key `service`, \
             expected one of version, namespace, tag, environment, pipeline, image, composer, assets, regions, \
             groups, services, docker (or an `x-` key for anchors)"
        );
    }

    fn text_error(text: &str) -> String {
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join("deploy.yml");
        fs_err::write(&path, text).expect("write");
        let message = DeployFile::load(&path, directory.path())
            .expect_err("invalid")
            .to_string();
        message.replace(&directory.path().display().to_string(), "<dir>")
    }

    #[test]
    fn values_we_read_are_checked_strictly() {
        assert_eq!(
            text_error("version: 1.0\n"),
            "<dir>/deploy.yml:1:10: at `version`: expected a string, found a number; quote it, for example version: '1.0'"
        );
        assert_eq!(
            text_error("version: 'one'\n"),
            "<dir>/deploy.yml:1:10: at `version`: expected a version like '1.0', found `one`"
        );
        assert_eq!(
            text_error("image:\n    tag: 8.3\n"),
            "<dir>/deploy.yml:2:10: at `image.tag`: expected a string, found a number; for example tag: spryker/php:8.3"
        );
        assert_eq!(
            text_error("image:\n    environment: [A]\n"),
            "<dir>/deploy.yml:2:18: at `image.environment`: expected a mapping, found a sequence"
        );
        assert_eq!(
            text_error("image:\n    tags: x\n"),
            "<dir>/deploy.yml:2:5: at `image.tags`: unknown key `tags`, expected one of tag, environment, php, node"
        );
        assert_eq!(
            text_error("composer:\n    mode: [--no-dev]\n"),
            "<dir>/deploy.yml:2:11: at `composer.mode`: expected a string, found a sequence; for example mode: --no-dev"
        );
        assert_eq!(
            text_error("regions: EU\n"),
            "<dir>/deploy.yml:1:10: at `regions`: expected a mapping, found a string"
        );
        assert_eq!(
            text_error("tag: 1.0\n"),
            "<dir>/deploy.yml:1:6: at `tag`: expected a string, found a number; quote it, for example tag: '1.0'"
        );
        assert_eq!(
            text_error("# nothing yet\n"),
            "<dir>/deploy.yml:1:1: expected a mapping of deploy file keys (version, namespace, image, ...), found an empty file"
        );
    }

    #[test]
    fn import_entries_are_checked() {
        assert_eq!(
            text_error("imports:\n    base.yml:\n        parameter:\n            a: b\n"),
            "<dir>/deploy.yml:3:9: at `imports.base.yml.parameter`: unknown key `parameter`, expected one of template, parameters"
        );
        assert_eq!(
            text_error("imports:\n    - parameters: {a: b}\n"),
            "<dir>/deploy.yml:2:7: at `imports[0]`: missing key `template`"
        );
        assert_eq!(
            text_error("imports:\n    base.yml:\n        parameters:\n            list: [1]\n"),
            "<dir>/deploy.yml:4:19: at `imports.base.yml.parameters.list`: a parameter value must be a single value, found a sequence"
        );
        assert_eq!(
            text_error("imports: base.yml\n"),
            "<dir>/deploy.yml:1:10: at `imports`: expected a mapping of imported files, found a string"
        );
    }

    #[test]
    fn syntax_errors_name_the_file_and_position() {
        assert_eq!(
            text_error("version: '0.1'\nimage:\n\ttag: x\n"),
            "<dir>/deploy.yml:3:2: at `image`: tabs disallowed within this context (block indentation)"
        );
    }

    #[test]
    fn a_self_import_is_a_cycle() {
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join("deploy.yml");
        fs_err::write(&path, "imports:\n    deploy.yml:\n").expect("write");
        match DeployFile::load(&path, directory.path()) {
            Err(DeployFileError::ImportCycle { chain }) => assert_eq!(chain, [path.clone(), path]),
            other => panic!("expected a cycle, got {other:?}"),
        }
    }

    #[test]
    fn the_sequence_import_form_with_template_is_read() {
        let directory = tempfile::tempdir().expect("temp dir");
        let templates = directory.path().join(TEMPLATES_DIRECTORY);
        fs_err::create_dir_all(&templates).expect("mkdir");
        fs_err::write(
            templates.join("base.yml"),
            "namespace: '%name%'\ntag: base\n",
        )
        .expect("write");
        let path = directory.path().join("deploy.yml");
        fs_err::write(&path, "imports:\n    - template: base.yml\n      parameters: {name: shop}\n    - template: base.yml\n      parameters: {name: other}\n").expect("write");
        let deploy = DeployFile::load(&path, directory.path()).expect("valid");
        assert_eq!(
            deploy.get(&["namespace"]).and_then(Node::as_str),
            Some("shop")
        );
        assert_eq!(deploy.imports().len(), 2);
    }

    #[test]
    fn show_prints_the_merged_document_that_reads_back_the_same() {
        let deploy = shop_file("deploy.yml");
        let written = deploy.to_yaml_string(false);
        let reread =
            yaml::parse_tree(&written, Path::new("shown.yml")).expect("the output is YAML");
        assert_eq!(strip_origins(&reread), strip_origins(deploy.root()));
        assert!(written.starts_with("version: '0.1'\nnamespace: my_shop\ntag: '1.0'\nenvironment: docker.production\nimage:\n    tag: spryker/php:8.3\n"), "{written}");
        assert!(
            written.contains("\n    mode: --no-dev\n    autoload: --classmap-authoritative\n"),
            "{written}"
        );
        assert!(
            written.contains("\n        SPRYKER_REGION: EU\n"),
            "{written}"
        );
        assert!(
            written.contains("\n    php:\n        enabled-extensions:\n            - otel\n"),
            "{written}"
        );
    }

    #[test]
    fn show_with_origins_names_the_files() {
        let written = shop_file("deploy.yml").to_yaml_string(true);
        let lines: Vec<&str> = written.lines().take(7).collect();
        assert_eq!(
            lines,
            [
                "# tests/fixtures/shop/deploy.yml",
                "#   imports tests/fixtures/shop/config/deploy-templates/base.deploy.yml (requested at tests/fixtures/shop/deploy.yml:9:5)",
                "#   imports tests/fixtures/shop/config/deploy-templates/services.deploy.yml (requested at tests/fixtures/shop/config/deploy-templates/base.deploy.yml:10:5)",
                "version: '0.1'  # tests/fixtures/shop/deploy.yml:1",
                "namespace: my_shop  # tests/fixtures/shop/deploy.yml:3",
                "tag: '1.0'  # tests/fixtures/shop/deploy.yml:4",
                "environment: docker.production  # tests/fixtures/shop/deploy.yml:6",
            ]
        );
        assert!(
            written.contains("\n        SPRYKER_HOOK_BEFORE_DEPLOY: vendor/bin/install -r pre-deploy-eu -vvv  # tests/fixtures/shop/config/deploy-templates/base.deploy.yml:18\n"),
            "{written}"
        );
    }

    /// The values of a tree without where they were written.
    fn strip_origins(node: &Node) -> String {
        match &node.value {
            NodeValue::Map(map) => format!(
                "{{{}}}",
                map.iter()
                    .map(|(key, value)| format!("{key:?}: {}", strip_origins(value)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            NodeValue::Seq(items) => format!(
                "[{}]",
                items
                    .iter()
                    .map(strip_origins)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            scalar => format!("{scalar:?}"),
        }
    }

    fn write(path: &Path, text: &str) {
        fs_err::create_dir_all(path.parent().unwrap()).unwrap();
        fs_err::write(path, text).unwrap();
    }

    /// Reproducer `deploy-file-show/import-path-traversal`: an absolute import read any file of
    /// the host and quoted its first line (`/etc/shadow:1:1: at root:*:…`).
    #[test]
    fn an_absolute_import_is_refused_without_reading_it() {
        let scratch = tempfile::tempdir().unwrap();
        let project = scratch.path().join("project");
        let secret = scratch.path().join("outside/shadow");
        write(&secret, "root:*:20228:0:99999:7:: leaked-line\n");
        let deploy = project.join("deploy.shadow.yml");
        write(
            &deploy,
            &format!("version: \"0.1\"\nimports:\n  {}:\n", secret.display()),
        );
        let error = DeployFile::load(&deploy, &project)
            .expect_err("absolute import")
            .to_string();
        assert!(
            error.starts_with(&format!(
                "{}:3:3: at `imports.{}`: import `{}` is an absolute path: imports are read from \
                 the importing file's directory or config/deploy-templates/ inside the project",
                deploy.display(),
                secret.display(),
                secret.display()
            )),
            "{error}"
        );
        assert!(
            !error.contains("leaked-line") && !error.contains("root:*"),
            "{error}"
        );
    }

    /// Reproducer `deploy-file-show/import-path-traversal` (`deploy.relative.yml`): `../` left
    /// the project and a YAML file found there was merged into the image environment.
    #[test]
    fn an_import_leaving_the_project_is_refused() {
        let scratch = tempfile::tempdir().unwrap();
        let project = scratch.path().join("project");
        write(
            &scratch.path().join("outside/secret.yml"),
            "image:\n  environment:\n    STOLEN_KEY: s3cr3t\n",
        );
        let deploy = project.join("deploy.relative.yml");
        write(
            &deploy,
            "version: \"0.1\"\nimports:\n  ../../../../../../../../outside/secret.yml:\n",
        );
        let error = DeployFile::load(&deploy, &project)
            .expect_err("leaves the project")
            .to_string();
        assert!(
            error.contains(
                ":3:3: at `imports.../../../../../../../../outside/secret.yml`: import \
                 `../../../../../../../../outside/secret.yml` leaves the project with `..`"
            ),
            "{error}"
        );
        assert!(!error.contains("s3cr3t"), "{error}");
        // One level up, still outside.
        write(
            &deploy,
            "version: \"0.1\"\nimports:\n  ../outside/secret.yml:\n",
        );
        let error = DeployFile::load(&deploy, &project)
            .expect_err("outside")
            .to_string();
        assert!(error.contains("leaves the project with `..`"), "{error}");
        // `..` that stays inside the project is fine (templates importing a sibling folder).
        write(
            &project.join("config/shared.yml"),
            "image:\n  environment:\n    SHARED: one\n",
        );
        write(
            &project.join("config/deploy-templates/base.yml"),
            "imports:\n  ../shared.yml:\n",
        );
        write(&deploy, "version: \"0.1\"\nimports:\n  base.yml:\n");
        let loaded = DeployFile::load(&deploy, &project).expect("inside the project");
        assert_eq!(
            loaded.image_variable("SHARED").map(|value| value.value),
            Some("one".to_string())
        );
    }

    /// A link inside the project that points out of it is refused too.
    #[cfg(unix)]
    #[test]
    fn an_import_through_a_link_out_of_the_project_is_refused() {
        let scratch = tempfile::tempdir().unwrap();
        let project = scratch.path().join("project");
        let secret = scratch.path().join("outside/secret.yml");
        write(&secret, "image:\n  environment:\n    STOLEN_KEY: s3cr3t\n");
        write(
            &project.join("deploy.yml"),
            "version: \"0.1\"\nimports:\n  link.yml:\n",
        );
        std::os::unix::fs::symlink(&secret, project.join("link.yml")).unwrap();
        let error = DeployFile::load(&project.join("deploy.yml"), &project)
            .expect_err("link out")
            .to_string();
        assert!(
            error.contains("at `imports.link.yml`: import `link.yml` is a symbolic link pointing out of the project"),
            "{error}"
        );
    }

    /// Issue 11, item 11: `deploy-file show` printed the values of secret variables.
    #[test]
    fn a_masked_deploy_file_hides_secret_values_wherever_they_appear() {
        let project = tempfile::tempdir().unwrap();
        write(
            &project.path().join("deploy.yml"),
            "version: \"0.1\"\nimage:\n  environment:\n    DB_PASSWORD: hunter22\n    PIN: 98765\n    DSN: mysql://u:hunter22@db\n    OTHER: visible\n",
        );
        let loaded = DeployFile::load(&project.path().join("deploy.yml"), project.path()).unwrap();
        let shown = loaded
            .masked(&Masker::new(["hunter22", "98765"]))
            .to_yaml_string(true);
        assert!(
            !shown.contains("hunter22") && !shown.contains("98765"),
            "{shown}"
        );
        assert!(
            shown.contains("DB_PASSWORD: '***'") || shown.contains("DB_PASSWORD: \"***\""),
            "{shown}"
        );
        assert!(shown.contains("DSN: mysql://u:***@db"), "{shown}");
        assert!(shown.contains("OTHER: visible"), "{shown}");
        assert_eq!(loaded.masked(&Masker::default()), loaded);
    }

    /// Reproducer `deploy-file-show/import-dag-exponential`: nine files, each importing the next
    /// eight times, were expanded to 8^8 loads (minutes, gigabytes). Each is now merged once.
    #[test]
    fn an_import_dag_is_read_once_per_file() {
        let project = tempfile::tempdir().unwrap();
        for level in 0..8 {
            let next = level + 1;
            let entries = format!("  - template: deploy.t{next}.yml\n").repeat(8);
            write(
                &project.path().join(format!("deploy.t{level}.yml")),
                &format!("version: \"0.1\"\nimports:\n{entries}"),
            );
        }
        write(
            &project.path().join("deploy.t8.yml"),
            "version: \"0.1\"\nimage:\n  environment:\n    X: \"1\"\n",
        );
        let started = std::time::Instant::now();
        let loaded =
            DeployFile::load(&project.path().join("deploy.t0.yml"), project.path()).expect("valid");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(loaded.imports().len(), 8);
        assert_eq!(
            loaded.image_variable("X").map(|value| value.value),
            Some("1".to_string())
        );
    }

    /// Parameters that differ at every level make every import different; their number is
    /// capped with an error at the import that goes over.
    #[test]
    fn an_import_graph_with_different_parameters_everywhere_is_capped() {
        let project = tempfile::tempdir().unwrap();
        for level in 0..8 {
            let next = level + 1;
            let mut entries = String::new();
            for value in 0..8 {
                let _ = write!(
                    entries,
                    "  - template: deploy.t{next}.yml\n    parameters:\n      p{level}: \"{value}\"\n"
                );
            }
            write(
                &project.path().join(format!("deploy.t{level}.yml")),
                &format!("version: \"0.1\"\nimports:\n{entries}"),
            );
        }
        write(&project.path().join("deploy.t8.yml"), "version: \"0.1\"\n");
        let started = std::time::Instant::now();
        let error = DeployFile::load(&project.path().join("deploy.t0.yml"), project.path())
            .expect_err("too many imports")
            .to_string();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert!(
            error.contains("more than 1000 different imports (files with their parameters)"),
            "{error}"
        );
        assert!(error.contains("deploy.t"), "{error}");
    }
}
