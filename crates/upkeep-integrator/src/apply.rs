//! Applying manifests to a [`Workspace`]: each step in order, each manifest all or nothing
//! when a change would leave a PHP file unparsable, and a report of what each step did.

use std::fmt;

use upkeep_php::parse::{parse_php, syntax_problems};

use crate::configure::{self, Change};
use crate::files;
use crate::manifest::{ConfigValue, Manifest, ModuleId, PluginWiring, Step};
use crate::php::{Imports, Layout, PhpView};
use crate::project::{Target, Workspace, add_method, kebab_case};
use crate::stack::{self, StackEntry};
use crate::values;
use crate::xml;

/// What one step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepStatus {
    /// Files changed.
    Applied,
    /// The project has it already; nothing changed.
    AlreadyApplied,
    /// Not for this project (the class it changes is not installed), with the reason.
    NotApplicable(String),
    /// For the person: a console command to run (`execute-console`).
    ToRun(String),
    /// Could not be applied, with the reason; nothing of it changed.
    Failed(String),
}

impl StepStatus {
    pub fn is_failure(&self) -> bool {
        matches!(self, Self::Failed(_))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepReport {
    pub kind: &'static str,
    pub description: String,
    pub status: StepStatus,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestReport {
    pub module: ModuleId,
    pub version: String,
    pub steps: Vec<StepReport>,
    /// Set when the manifest was rolled back because a change would not parse.
    pub rolled_back: Option<String>,
}

impl fmt::Display for StepReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.status {
            StepStatus::Applied => write!(f, "applied: {}", self.description),
            StepStatus::AlreadyApplied => write!(f, "already there: {}", self.description),
            StepStatus::NotApplicable(why) => {
                write!(f, "not applicable: {} ({why})", self.description)
            }
            StepStatus::ToRun(command) => write!(f, "to run: {command}"),
            StepStatus::Failed(why) => write!(f, "not applied: {}: {why}", self.description),
        }
    }
}

/// Applies `manifests` in order to `workspace` (in memory; write the changes afterwards).
pub fn apply_manifests(workspace: &mut Workspace, manifests: &[&Manifest]) -> Vec<ManifestReport> {
    manifests
        .iter()
        .map(|manifest| apply_manifest(workspace, manifest))
        .collect()
}

/// Applies one manifest; if a step would leave a PHP file with a syntax error it did not have,
/// every change of the manifest is undone and each of its steps reports that.
pub fn apply_manifest(workspace: &mut Workspace, manifest: &Manifest) -> ManifestReport {
    let start = workspace.mark();
    let mut steps = Vec::new();
    let mut rolled_back = None;
    for step in &manifest.steps {
        let before = workspace.mark();
        let status = match apply_step(workspace, &manifest.module, step) {
            Ok(status) => status,
            Err(reason) => {
                workspace.rollback(before);
                StepStatus::Failed(reason)
            }
        };
        if status == StepStatus::Applied
            && let Some(why) = breakage(workspace, before)
        {
            rolled_back = Some(format!("{}: {why}", step.describe()));
            steps.push(StepReport {
                kind: step.kind(),
                description: step.describe(),
                status: StepStatus::Failed(format!("the result would not parse ({why})")),
            });
            break;
        }
        steps.push(StepReport {
            kind: step.kind(),
            description: step.describe(),
            status,
        });
    }
    if rolled_back.is_some() {
        workspace.rollback(start);
        for step in &mut steps {
            if step.status == StepStatus::Applied {
                step.status =
                    StepStatus::Failed("rolled back with the rest of its manifest".into());
            }
        }
        // The steps after the one that broke were not tried; they are reported all the same.
        for step in &manifest.steps[steps.len()..] {
            steps.push(StepReport {
                kind: step.kind(),
                description: step.describe(),
                status: StepStatus::Failed("not tried: its manifest was rolled back".into()),
            });
        }
    }
    ManifestReport {
        module: manifest.module.clone(),
        version: manifest.version.pretty().to_string(),
        steps,
        rolled_back,
    }
}

/// A PHP file written since `mark` that now has more syntax errors than it had then.
fn breakage(workspace: &Workspace, mark: usize) -> Option<String> {
    for (path, previous) in workspace.written_since(mark) {
        if !std::path::Path::new(&path)
            .extension()
            .is_some_and(|extension| extension.eq_ignore_ascii_case("php"))
        {
            continue;
        }
        let Some(after) = workspace.current(&path) else {
            continue;
        };
        if previous.as_deref() == Some(after) {
            continue;
        }
        let arena = bumpalo::Bump::new();
        let problems = syntax_problems(parse_php(&arena, after.as_bytes()));
        let Some(first) = problems.first() else {
            continue;
        };
        let errors_before = previous.map_or(0, |text| {
            syntax_problems(parse_php(&arena, text.as_bytes())).len()
        });
        if problems.len() > errors_before {
            let position = upkeep_php::source::LineIndex::new(after.as_bytes())
                .line_column(after.as_bytes(), first.offset);
            return Some(format!(
                "{path}:{}:{}: {}",
                position.line, position.column, first.message
            ));
        }
    }
    None
}

// One arm per step type: the dispatch reads best in one place.
#[allow(clippy::too_many_lines)]
fn apply_step(
    workspace: &mut Workspace,
    module: &ModuleId,
    step: &Step,
) -> Result<StepStatus, String> {
    match step {
        Step::WirePlugin(wiring) => {
            let target = Target::parse(&wiring.target)?;
            let status = wire_entry(workspace, &target, &plugin_entry(wiring))?;
            match &wiring.call {
                Some(call) if !matches!(status, StepStatus::NotApplicable(_)) => {
                    merge_into_caller(workspace, &target, call, status)
                }
                _ => Ok(status),
            }
        }
        Step::UnwirePlugin(wiring) => {
            let target = Target::parse(&wiring.target)?;
            unwire_entry(workspace, &target, &plugin_entry(wiring))
        }
        Step::WireWidget(widget) | Step::UnwireWidget(widget) => {
            let target = Target::parse(
                "\\SprykerShop\\Yves\\ShopApplication\\ShopApplicationDependencyProvider::getGlobalWidgets",
            )?;
            let entry = StackEntry {
                class: class_name(&widget.source),
                class_name_only: true,
                ..StackEntry::default()
            };
            if matches!(step, Step::WireWidget(_)) {
                wire_entry(workspace, &target, &entry)
            } else {
                unwire_entry(workspace, &target, &entry)
            }
        }
        Step::WireGlueRelationship(relationship) | Step::UnwireGlueRelationship(relationship) => {
            let class = relationship
                .target
                .as_deref()
                .unwrap_or("\\Spryker\\Glue\\GlueApplication\\GlueApplicationDependencyProvider");
            let target = Target::parse(&format!(
                "{}::getResourceRelationshipPlugins",
                class.split("::").next().unwrap_or(class)
            ))?;
            let mut outcome = StepStatus::AlreadyApplied;
            for (resource, plugin) in &relationship.source {
                let entry = StackEntry {
                    class: class_name(plugin),
                    prepend: vec![values::scalar(&serde_json::Value::String(resource.clone()))],
                    default_call: Some("addRelationship"),
                    ..StackEntry::default()
                };
                let status = if matches!(step, Step::WireGlueRelationship(_)) {
                    wire_entry(workspace, &target, &entry)?
                } else {
                    unwire_entry(workspace, &target, &entry)?
                };
                if status == StepStatus::Applied || outcome == StepStatus::AlreadyApplied {
                    outcome = status;
                }
            }
            Ok(outcome)
        }
        Step::ConfigureModule(configuration) => {
            let value = match (&configuration.value, &configuration.default) {
                (Some(value), _) => value.clone(),
                (None, Some(default)) => ConfigValue::Value(default.clone()),
                (None, None) => {
                    return Err("the manifest asks for a value and gives no default".into());
                }
            };
            let target = Target::parse(&configuration.target)?;
            configure_member(
                workspace,
                &target,
                &value,
                configuration.previous_value.as_ref(),
            )
        }
        Step::AddConfigArrayElement(element) => {
            let target = Target::parse(&element.target)?;
            let value = match &element.value {
                ConfigValue::Value(serde_json::Value::Array(_)) => element.value.clone(),
                ConfigValue::Value(value) => {
                    ConfigValue::Value(serde_json::Value::Array(vec![value.clone()]))
                }
                ConfigValue::Literal(_) => {
                    return Err("a literal array element is not supported".into());
                }
            };
            let status = configure_member(workspace, &target, &value, None)?;
            match &element.call {
                Some(call) if !matches!(status, StepStatus::NotApplicable(_)) => {
                    merge_into_caller(workspace, &target, call, status)
                }
                _ => Ok(status),
            }
        }
        Step::ConfigureEnv(configuration) => {
            let value = match (&configuration.value, &configuration.default) {
                (Some(value), _) => value.clone(),
                (None, Some(default)) => ConfigValue::Value(default.clone()),
                (None, None) => {
                    return Err("the manifest asks for a value and gives no default".into());
                }
            };
            let text = workspace
                .read(files::CONFIG_DEFAULT)
                .ok_or_else(|| format!("{} does not exist", files::CONFIG_DEFAULT))?;
            match files::configure_env(&text, &configuration.target, &value)? {
                Change::Unchanged => Ok(StepStatus::AlreadyApplied),
                Change::Changed(after) => {
                    workspace.write(files::CONFIG_DEFAULT, after);
                    Ok(StepStatus::Applied)
                }
            }
        }
        Step::GlossaryKey(keys) => {
            let text = workspace
                .read(files::GLOSSARY)
                .ok_or_else(|| format!("{} does not exist", files::GLOSSARY))?;
            match files::add_glossary_keys(&text, keys) {
                Change::Unchanged => Ok(StepStatus::AlreadyApplied),
                Change::Changed(after) => {
                    workspace.write(files::GLOSSARY, after);
                    Ok(StepStatus::Applied)
                }
            }
        }
        Step::CopyModuleFile(copy) => {
            let source = format!(
                "vendor/{}/{}/{}",
                kebab_case(&module.organisation),
                kebab_case(&module.module),
                copy.source.trim_start_matches('/')
            );
            let target = copy.target.trim_start_matches('/').to_string();
            if source.contains("..") || target.contains("..") {
                return Err("the paths must stay inside the package and the project".into());
            }
            if workspace.exists(&target) {
                return Ok(StepStatus::AlreadyApplied);
            }
            let text = workspace
                .read(&source)
                .ok_or_else(|| format!("{source} does not exist"))?;
            workspace.write(&target, text);
            Ok(StepStatus::Applied)
        }
        Step::ExecuteConsole(command) => Ok(StepStatus::ToRun(command.target.clone())),
        Step::WireSchema(merge) | Step::WireTransfer(merge) => {
            let target = merge.target.trim().trim_start_matches('/');
            if target.contains("..") {
                return Err("the target must stay inside the project".into());
            }
            let namespace = workspace
                .namespaces
                .0
                .first()
                .cloned()
                .unwrap_or_else(|| "Pyz".into());
            let path = format!("src/{namespace}/{target}");
            let text = workspace.read(&path);
            match xml::merge(text.as_deref(), &merge.data)
                .map_err(|why| format!("{path}: {why}"))?
            {
                Change::Unchanged => Ok(StepStatus::AlreadyApplied),
                Change::Changed(after) => {
                    workspace.write(&path, after);
                    Ok(StepStatus::Applied)
                }
            }
        }
        Step::WireNavigation(navigation) | Step::UnwireNavigation(navigation) => {
            let text = workspace
                .read(xml::NAVIGATION)
                .ok_or_else(|| format!("{} does not exist", xml::NAVIGATION))?;
            let change = if matches!(step, Step::WireNavigation(_)) {
                xml::wire_navigation(&text, &navigation.navigations, navigation.after.as_deref())
            } else {
                xml::unwire_navigation(&text, &navigation.navigations)
            }
            .map_err(|why| format!("{}: {why}", xml::NAVIGATION))?;
            match change {
                Change::Unchanged => Ok(StepStatus::AlreadyApplied),
                Change::Changed(after) => {
                    workspace.write(xml::NAVIGATION, after);
                    Ok(StepStatus::Applied)
                }
            }
        }
    }
}

/// A class name from a manifest: without the leading backslash, nor the white space some
/// real manifests leave around it.
fn class_name(written: &str) -> String {
    written.trim().trim_start_matches('\\').to_string()
}

fn plugin_entry(wiring: &PluginWiring) -> StackEntry {
    let arguments = wiring.arguments.clone().unwrap_or_default();
    let render = |arguments: &[crate::manifest::ArgumentValue]| -> Vec<String> {
        arguments
            .iter()
            .map(|argument| values::argument(&argument.value, argument.is_literal))
            .collect()
    };
    let position = wiring.position.clone().unwrap_or_default();
    StackEntry {
        class: class_name(&wiring.source),
        class_name_only: false,
        constructor: render(&arguments.constructor),
        key: wiring
            .index
            .as_ref()
            .map(|index| values::scalar(&serde_json::Value::String(index.clone()))),
        prepend: render(&arguments.prepend),
        append: render(&arguments.append),
        condition: wiring.condition.clone(),
        before: position
            .before
            .iter()
            .map(|class| class_name(class))
            .collect(),
        after: position
            .after
            .iter()
            .map(|class| class_name(class))
            .collect(),
        default_call: None,
        project_method: wiring.call.is_some(),
    }
}

/// For a manifest's `call`: the method `call.target` (of the same class) must merge the
/// target's stack in; adds `$this->target()` to its `array_merge(...)` when it does not.
fn merge_into_caller(
    workspace: &mut Workspace,
    target: &Target,
    call: &crate::manifest::CallTarget,
    status: StepStatus,
) -> Result<StepStatus, String> {
    let caller = Target::parse(&call.target)?;
    if !caller.class.eq_ignore_ascii_case(&target.class) {
        return Err(format!(
            "the stack is merged in by {}, another class; add the call by hand",
            caller.class
        ));
    }
    let (merged, merging_method) = (target.method()?, caller.method()?);
    let method_of = |name: &Option<String>| {
        name.as_deref()
            .map(|name| name.rsplit("::").next().unwrap_or(name).to_string())
    };
    let (before, after) = (method_of(&call.before), method_of(&call.after));
    let mut outcome = status;
    for (path, class) in workspace.project_classes(target)? {
        let mut text = workspace
            .read(&path)
            .ok_or_else(|| format!("cannot read {path}"))?;
        let view = PhpView::read(&text);
        let class_view = view.require_class(&class)?;
        if class_view.method(&merging_method).is_none()
            && let Some(core) = workspace.core_method(&caller, &merging_method)
            && core
                .return_type()
                .is_some_and(|kind| kind.eq_ignore_ascii_case("array"))
        {
            // The project does not override the merging method yet: it does now, merging the
            // core's stack and the new one.
            let layout = Layout::of(&text);
            let mut imports = Imports::of(&view);
            let body = vec![format!(
                "return array_merge({}, $this->{merged}());",
                core.parent_call()
            )];
            let method_text = core.override_text(&mut imports, &body, &layout);
            text = add_method(&text, &view, class_view, &method_text, &imports, &layout);
            workspace.write(&path, text.clone());
            outcome = StepStatus::Applied;
        }
        if let Some(after_text) = stack::ensure_called(
            &text,
            &class,
            &merging_method,
            &merged,
            before.as_deref(),
            after.as_deref(),
        )? {
            workspace.write(&path, after_text);
            outcome = StepStatus::Applied;
        }
    }
    Ok(outcome)
}

/// The project classes of `target` (created when missing), or, inside, the status of a step
/// whose core class is not installed: then the step is not for this project.
fn target_classes(
    workspace: &mut Workspace,
    target: &Target,
) -> Result<Result<Vec<(String, String)>, StepStatus>, String> {
    match workspace.project_classes(target) {
        Ok(classes) => Ok(Ok(classes)),
        Err(why) if workspace.core_path(target).is_none() => {
            Ok(Err(StepStatus::NotApplicable(why)))
        }
        Err(why) => Err(why),
    }
}

fn wire_entry(
    workspace: &mut Workspace,
    target: &Target,
    entry: &StackEntry,
) -> Result<StepStatus, String> {
    let method = target.method()?;
    let mut outcome = StepStatus::AlreadyApplied;
    let classes = match target_classes(workspace, target)? {
        Ok(classes) => classes,
        Err(status) => return Ok(status),
    };
    for (path, class) in classes {
        let text = workspace
            .read(&path)
            .ok_or_else(|| format!("cannot read {path}"))?;
        let text = ensure_stack_method(workspace, target, &path, &text, &class, &method, entry)?;
        match stack::wire(&text, &class, &method, entry)? {
            Some(after) => {
                workspace.write(&path, after);
                outcome = StepStatus::Applied;
            }
            None => workspace.write(&path, text),
        }
    }
    Ok(outcome)
}

/// `text` with `method` added to `class` when it lacks it: the core method overridden, its
/// stack started empty (`array_merge(parent::...(), [])` when the core one holds plugins).
fn ensure_stack_method(
    workspace: &mut Workspace,
    target: &Target,
    path: &str,
    text: &str,
    class: &str,
    method: &str,
    entry: &StackEntry,
) -> Result<String, String> {
    let view = PhpView::read(text);
    let class_view = view
        .class(class)
        .ok_or_else(|| format!("{path} does not declare class {class}"))?;
    if class_view.method(method).is_some() {
        return Ok(text.to_string());
    }
    let Some(core) = workspace.core_method(target, method) else {
        if entry.project_method {
            let layout = Layout::of(text);
            let (unit, newline) = (&layout.unit, layout.newline);
            let method_text = format!(
                "{unit}/**{newline}{unit} * @return array<mixed>{newline}{unit} */{newline}{unit}protected function {method}(): array{newline}{unit}{{{newline}{unit}{unit}return [];{newline}{unit}}}{newline}"
            );
            return Ok(add_method(
                text,
                &view,
                class_view,
                &method_text,
                &Imports::of(&view),
                &layout,
            ));
        }
        return Err(format!(
            "neither {path} nor the installed {} has a method {method}",
            target.class
        ));
    };
    let return_type = core.return_type().unwrap_or_default();
    let body = if return_type.eq_ignore_ascii_case("array") {
        if core.returns_something() {
            vec![format!("return array_merge({}, []);", core.parent_call())]
        } else {
            vec!["return [];".to_string()]
        }
    } else if entry.default_call.is_some()
        && let Some(parameter) = core.method.parameters.first()
    {
        if core.returns_something() && !core.method.returns.is_empty() {
            vec![
                format!("{} = {};", parameter.variable, core.parent_call()),
                String::new(),
                format!("return {};", parameter.variable),
            ]
        } else {
            vec![format!("return {};", parameter.variable)]
        }
    } else {
        return Err(format!(
            "{path} has no method {method}, and the core one does not return an array; add it by hand"
        ));
    };
    let layout = Layout::of(text);
    let mut imports = Imports::of(&view);
    let method_text = core.override_text(&mut imports, &body, &layout);
    Ok(add_method(
        text,
        &view,
        class_view,
        &method_text,
        &imports,
        &layout,
    ))
}

fn unwire_entry(
    workspace: &mut Workspace,
    target: &Target,
    entry: &StackEntry,
) -> Result<StepStatus, String> {
    let method = target.method()?;
    let mut outcome = StepStatus::AlreadyApplied;
    for namespace in workspace.namespaces.0.clone() {
        let class = format!(
            "{namespace}\\{}",
            target.class.split_once('\\').map_or("", |(_, rest)| rest)
        );
        let path = Workspace::project_path(&class);
        let Some(text) = workspace.read(&path) else {
            continue;
        };
        let short = upkeep_php::names::short_name(&class);
        if let Some(after) = stack::unwire(&text, short, &method, entry)? {
            workspace.write(&path, after);
            outcome = StepStatus::Applied;
        }
    }
    Ok(outcome)
}

fn configure_member(
    workspace: &mut Workspace,
    target: &Target,
    value: &ConfigValue,
    previous: Option<&ConfigValue>,
) -> Result<StepStatus, String> {
    let member = target
        .member
        .clone()
        .ok_or_else(|| format!("{} names no constant or method", target.class))?;
    let classes = match target_classes(workspace, target)? {
        Ok(classes) => classes,
        Err(status) => return Ok(status),
    };
    let is_constant = member
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    let mut outcome = StepStatus::AlreadyApplied;
    for (path, class) in classes {
        let text = workspace
            .read(&path)
            .ok_or_else(|| format!("cannot read {path}"))?;
        let change = if is_constant {
            let visibility = workspace
                .core_path(target)
                .and_then(|core| workspace.read(&core))
                .and_then(|core| {
                    PhpView::read(&core)
                        .class(&class)
                        .and_then(|class| class.constant(&member).map(|c| c.visibility.clone()))
                })
                .unwrap_or_default();
            configure::set_constant(&text, &class, &member, value, previous, &visibility)?
        } else {
            match configure::set_return(&text, &class, &member, value, previous)? {
                Some(change) => change,
                None => Change::Changed(add_configured_method(
                    workspace, target, &text, &class, &member, value,
                )?),
            }
        };
        if let Change::Changed(after) = change {
            workspace.write(&path, after);
            outcome = StepStatus::Applied;
        }
    }
    Ok(outcome)
}

/// `text` with config method `method` added to `class`, returning `value`.
fn add_configured_method(
    workspace: &mut Workspace,
    target: &Target,
    text: &str,
    class: &str,
    method: &str,
    value: &ConfigValue,
) -> Result<String, String> {
    let core = workspace
        .core_method(target, method)
        .ok_or_else(|| format!("the installed {} has no method {method}", target.class))?;
    let view = PhpView::read(text);
    let class_view = view.require_class(class)?;
    let layout = Layout::of(text);
    let mut imports = Imports::of(&view);
    let body: Vec<String> = match value {
        ConfigValue::Value(json @ (serde_json::Value::Array(_) | serde_json::Value::Object(_)))
            if core.returns_something() =>
        {
            vec![format!(
                "return array_merge({}, {});",
                core.parent_call(),
                values::expression(json, "", &layout.unit, layout.newline)
            )]
        }
        _ => values::return_statements(value, &layout.unit, layout.newline),
    };
    let body: Vec<String> = body
        .iter()
        .map(|statement| imports.shorten(statement))
        .collect();
    let method_text = core.override_text(&mut imports, &body, &layout);
    Ok(add_method(
        text,
        &view,
        class_view,
        &method_text,
        &imports,
        &layout,
    ))
}
