//! Every real manifest applied, in version order, to a Spryker-shaped shop generated from the
//! manifests' own targets: a core class in `vendor/` for every class they change, and for every
//! other one a project class whose stack is written in one of the shapes real projects use.
//! Every changed PHP file must parse, applying a manifest a second time must change nothing, and
//! the count of steps per type and outcome is fixed in `generated_shop_counts.txt` (printed
//! with `--nocapture`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

mod support;
use support::manifests_dir;

use upkeep_integrator::apply::{StepStatus, apply_manifest};
use upkeep_integrator::manifest::{self, ConfigValue, Step};
use upkeep_integrator::project::{Target, Workspace, kebab_case};

/// What a class's member is, as the manifests use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Member {
    /// A plugin stack returning an array.
    Stack,
    /// `extend...(Container $container): Container`.
    ContainerExtension,
    /// `getResourceRelationshipPlugins(ResourceRelationshipCollectionInterface $collection)`.
    Relationships,
    ConfigMethod,
    Constant,
}

fn layer(class: &str) -> &str {
    class.split('\\').nth(1).unwrap_or("Zed")
}

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    fs_err::create_dir_all(path.parent().unwrap()).unwrap();
    fs_err::write(path, text).unwrap();
}

fn core_class(class: &str, members: &BTreeMap<String, Member>) -> String {
    let (namespace, short) = class.rsplit_once('\\').unwrap();
    let layer = layer(class);
    let mut body = String::new();
    for (name, member) in members {
        let method = match member {
            Member::Stack => format!(
                "    /**\n     * @return array<\\Spryker\\Shared\\Kernel\\Plugin\\PluginInterface>\n     */\n    protected function {name}(): array\n    {{\n        return [];\n    }}\n"
            ),
            Member::ContainerExtension => format!(
                "    protected function {name}(Container $container): Container\n    {{\n        return $container;\n    }}\n"
            ),
            Member::Relationships => format!(
                "    protected function {name}(ResourceRelationshipCollectionInterface $resourceRelationshipCollection): ResourceRelationshipCollectionInterface\n    {{\n        return $resourceRelationshipCollection;\n    }}\n"
            ),
            Member::ConfigMethod => {
                format!("    public function {name}()\n    {{\n        return null;\n    }}\n")
            }
            Member::Constant => format!("    public const {name} = null;\n"),
        };
        body.push_str(&method);
        body.push('\n');
    }
    format!(
        "<?php\n\nnamespace {namespace};\n\nuse Spryker\\{layer}\\Kernel\\Container;\nuse Spryker\\Glue\\GlueApplicationExtension\\Dependency\\Plugin\\ResourceRelationshipCollectionInterface;\n\nclass {short}\n{{\n{}}}\n",
        body.trim_end_matches('\n').to_string() + "\n"
    )
}

/// A project class overriding some of the members, each stack in one of four shapes.
fn project_class(
    class: &str,
    core: &str,
    members: &BTreeMap<String, Member>,
    seed: usize,
) -> String {
    let (namespace, short) = class.rsplit_once('\\').unwrap();
    let layer = layer(class);
    let existing = format!("Spryker\\{layer}\\Existing\\Communication\\Plugin\\ExistingPlugin");
    let mut body = String::new();
    for (index, (name, member)) in members.iter().enumerate() {
        let shape = (seed + index) % 5;
        let method = match (member, shape) {
            (_, 4) => continue,
            (Member::Stack, 0) => format!(
                "    protected function {name}(): array\n    {{\n        return [\n            new \\{existing}(),\n        ];\n    }}\n"
            ),
            (Member::Stack, 1) => format!(
                "    protected function {name}(): array\n    {{\n        return array_merge(parent::{name}(), [\n            new ExistingPlugin(),\n        ]);\n    }}\n"
            ),
            (Member::Stack, 2) => format!(
                "    protected function {name}(): array\n    {{\n        $plugins = [\n            new ExistingPlugin(),\n        ];\n\n        return $plugins;\n    }}\n"
            ),
            (Member::Stack, _) => format!(
                "    protected function {name}(): array\n    {{\n        return [];\n    }}\n"
            ),
            (Member::ContainerExtension, _) => format!(
                "    protected function {name}(Container $container): Container\n    {{\n        $container->extend(static::PLUGINS, function ($collection) {{\n            $collection->add(new ExistingPlugin(), 'existing');\n\n            return $collection;\n        }});\n\n        return $container;\n    }}\n"
            ),
            (Member::Relationships, _) => format!(
                "    protected function {name}(ResourceRelationshipCollectionInterface $resourceRelationshipCollection): ResourceRelationshipCollectionInterface\n    {{\n        $resourceRelationshipCollection->addRelationship('existing', new ExistingPlugin());\n\n        return $resourceRelationshipCollection;\n    }}\n"
            ),
            (Member::ConfigMethod, _) => {
                format!("    public function {name}()\n    {{\n        return 'project';\n    }}\n")
            }
            (Member::Constant, _) => format!("    public const {name} = 'project';\n"),
        };
        body.push_str(&method);
        body.push('\n');
    }
    let alias = format!("{}{short}", core.split('\\').next().unwrap());
    format!(
        "<?php\n\nnamespace {namespace};\n\nuse {core} as {alias};\nuse {existing};\nuse Spryker\\{layer}\\Kernel\\Container;\nuse Spryker\\Glue\\GlueApplicationExtension\\Dependency\\Plugin\\ResourceRelationshipCollectionInterface;\n\nclass {short} extends {alias}\n{{\n{}}}\n",
        body.trim_end_matches('\n').to_string() + "\n"
    )
}

fn member_of(step: &Step) -> Vec<(String, Member)> {
    let stack = |target: &str| {
        let member = if target.contains("::extend") {
            Member::ContainerExtension
        } else {
            Member::Stack
        };
        vec![(target.to_string(), member)]
    };
    match step {
        Step::WirePlugin(wiring) | Step::UnwirePlugin(wiring) => {
            let mut members = stack(&wiring.target);
            // The method that merges the stack in (`call`) is a stack of the class too.
            members.extend(wiring.call.iter().flat_map(|call| stack(&call.target)));
            members
        }
        Step::ConfigureModule(configuration) => {
            let constant = configuration
                .target
                .rsplit("::")
                .next()
                .is_some_and(|name| name.chars().all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit()));
            // A method configured with a list or a map returns an array in the project too.
            let returns_array = matches!(
                configuration.value,
                Some(ConfigValue::Value(serde_json::Value::Array(_) | serde_json::Value::Object(_)))
            );
            let member = if constant {
                Member::Constant
            } else if returns_array {
                Member::Stack
            } else {
                Member::ConfigMethod
            };
            vec![(configuration.target.clone(), member)]
        }
        Step::AddConfigArrayElement(element) => {
            let mut members = vec![(element.target.clone(), Member::Stack)];
            members.extend(element.call.iter().map(|call| (call.target.clone(), Member::Stack)));
            members
        }
        Step::WireWidget(_) | Step::UnwireWidget(_) => vec![(
            "\\SprykerShop\\Yves\\ShopApplication\\ShopApplicationDependencyProvider::getGlobalWidgets".to_string(),
            Member::Stack,
        )],
        Step::WireGlueRelationship(relationship) | Step::UnwireGlueRelationship(relationship) => {
            let class = relationship
                .target
                .clone()
                .unwrap_or_else(|| "\\Spryker\\Glue\\GlueApplication\\GlueApplicationDependencyProvider".into());
            vec![(format!("{class}::getResourceRelationshipPlugins"), Member::Relationships)]
        }
        _ => Vec::new(),
    }
}

/// Writes the shop; returns how many core and project classes it has.
fn generate_shop(root: &Path, set: &manifest::ManifestSet) -> (usize, usize) {
    let mut classes: BTreeMap<String, BTreeMap<String, Member>> = BTreeMap::new();
    for manifest in set.manifests() {
        for step in &manifest.steps {
            for (target, member) in member_of(step) {
                let Ok(target) = Target::parse(&target) else {
                    continue;
                };
                let Some(name) = target.member else { continue };
                classes
                    .entry(target.class)
                    .or_default()
                    .entry(name)
                    .or_insert(member);
            }
        }
    }
    write(
        root,
        "config/Shared/config_default.php",
        "<?php\n\nuse Spryker\\Shared\\Kernel\\KernelConstants;\n\n$config[KernelConstants::PROJECT_NAMESPACES] = [\n    'Pyz',\n];\n",
    );
    write(
        root,
        "data/import/common/common/glossary.csv",
        "key,translation,locale\n",
    );
    write(
        root,
        "config/Zed/navigation.xml",
        "<?xml version=\"1.0\"?>\n<config>\n    <users>\n        <label>Users</label>\n    </users>\n    <administration>\n        <label>Administration</label>\n        <pages>\n        </pages>\n    </administration>\n</config>\n",
    );
    let mut project = 0;
    for (index, (class, members)) in classes.iter().enumerate() {
        let organisation = class.split('\\').next().unwrap();
        let module = class.split('\\').nth(2).unwrap();
        let file = class.replace('\\', "/");
        write(
            root,
            &format!(
                "vendor/{}/{}/src/{file}.php",
                kebab_case(organisation),
                kebab_case(module)
            ),
            &core_class(class, members),
        );
        if index % 3 != 2 && organisation != "Pyz" {
            let rest = class.split_once('\\').unwrap().1;
            let project_class_name = format!("Pyz\\{rest}");
            write(
                root,
                &format!("src/{}.php", project_class_name.replace('\\', "/")),
                &project_class(&project_class_name, class, members, index),
            );
            project += 1;
        }
    }
    (classes.len(), project)
}

fn outcome(status: &StepStatus) -> &'static str {
    match status {
        StepStatus::Applied => "applied",
        StepStatus::AlreadyApplied => "already",
        StepStatus::NotApplicable(_) => "not-applicable",
        StepStatus::ToRun(_) => "to-run",
        StepStatus::Failed(_) => "failed",
    }
}

#[test]
fn every_real_manifest_applies_to_a_generated_shop_and_again_changes_nothing() {
    let set = manifest::read_dir(&manifests_dir()).unwrap();
    let shop = tempfile::tempdir().unwrap();
    let (core, project) = generate_shop(shop.path(), &set);
    assert!(
        core > 300 && project > 200,
        "{core} core classes, {project} project classes"
    );

    let manifests: Vec<&manifest::Manifest> = set.manifests().collect();
    let mut workspace = Workspace::new(shop.path());
    let mut reports = Vec::new();
    for manifest in &manifests {
        let report = apply_manifest(&mut workspace, manifest);
        // The same manifest again at once changes nothing. (The whole history twice would:
        // a later version unwires what an earlier one wires.)
        let mark = workspace.mark();
        let again = apply_manifest(&mut workspace, manifest);
        for (path, before) in workspace.written_since(mark) {
            assert_eq!(
                before.as_deref(),
                workspace.current(&path),
                "{} {} changed {path} again",
                manifest.module,
                manifest.version.pretty()
            );
        }
        // (A step may report itself applied again: a few manifests unwire a plugin and wire it
        // again, to move it; the text is what must not change.)
        drop(again);
        reports.push(report);
    }
    let changes = workspace.changes();
    support::assert_php_parses(&changes);
    upkeep_integrator::write(shop.path(), &changes).unwrap();

    let mut counts: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for report in &reports {
        for step in &report.steps {
            *counts
                .entry((step.kind, outcome(&step.status)))
                .or_default() += 1;
            if let StepStatus::Failed(why) = &step.status {
                // Group reasons by their shape, not by the class they name.
                let shape: String = why
                    .split_whitespace()
                    .filter(|word| {
                        !word.contains('\\')
                            && !word.contains("::")
                            && !word.starts_with("get")
                            && !word.starts_with("src/")
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
                *reasons
                    .entry(format!("{}: {shape}", step.kind))
                    .or_default() += 1;
            }
        }
    }
    let mut table = String::new();
    for ((kind, outcome), count) in &counts {
        writeln!(table, "{kind} {outcome} {count}").unwrap();
    }
    println!("{table}");
    for (reason, count) in &reasons {
        println!("{count:5} {reason}");
    }

    let expected = fs_err::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/generated_shop_counts.txt"),
    )
    .unwrap_or_default();
    if std::env::var_os("UPKEEP_UPDATE_FIXTURES").is_some() {
        fs_err::write(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/generated_shop_counts.txt"),
            &table,
        )
        .unwrap();
    } else {
        assert_eq!(table, expected, "the outcomes per type changed");
    }
}
