//! `private-api-method-overridden`: a project class overrides a core method of a dependency
//! provider, entity manager, repository or factory parent.

use std::collections::HashMap;

use bumpalo::Bump;
use mago_span::HasSpan;
use mago_syntax::ast::{Expression, Instantiation};
use mago_syntax::walker::Walker;
use upkeep_php::extract::extract_facts;
use upkeep_php::infer::class_names;
use upkeep_php::names::short_name;
use upkeep_php::parse::parse_php;
use upkeep_php::spryker::ClassRole;
use upkeep_php::{ClassKind, ClassLike, FileId, MethodInfo, Visibility};

use super::{is_core_declared, is_ignored};
use crate::rule::{Category, Example, ProjectScope, Rule, RuleMeta, Sink, own_documentation};
use crate::rules::dependency_provider::{classify_returns, written_class_name};

pub struct PrivateApiMethodOverridden;

pub static META: RuleMeta = RuleMeta {
    name: "private-api-method-overridden",
    spryker_ids: &["PrivateApi:MethodIsOverridden"],
    category: Category::PrivateApi,
    summary: "A project class overrides a core method of a dependency provider, entity manager, repository or factory.",
    documentation: "\
## What it finds
A method of a project class that overrides a method declared in core, where the nearest core
class the project class extends is a `*DependencyProvider`, `*EntityManager`, `*Repository` or
`*Factory` (and not on the ignore list, e.g. the `Kernel` base classes). The finding points at
the name of the overriding method. These overrides are expected and not reported:

- methods that register plugins: the name contains `Plugin`, the project or core method's
  return type or `@return` names a `*Plugin` or `*PluginInterface` class, or the project method
  instantiates a `*Plugin`, `*Console` or `*EventSubscriber`;
- `provide*Dependencies` methods (`provideBusinessLayerDependencies()` and friends);
- overrides of core methods whose every `return` returns an empty array (`return [];`): core
  leaves these for the project to fill;
- overrides of methods declared in ignored core code (`getConfig()`, `getFactory()` of the
  kernel) and of private core methods (those are not overrides in PHP).

Spryker's checker meant to check all four kinds of parent but, because of a bug, only ever
reported dependency providers. This rule checks all four, so a project that passed Spryker's
checker may see new findings in factories, repositories and entity managers.

## Why it matters
Factories' `create*()` methods, repository and entity manager queries and dependency
providers' internal getters are private API: core renames them, changes their signatures or
stops calling them in minor releases. An override then breaks or is silently bypassed.

## Example
```php
class ProductBusinessFactory extends SprykerProductBusinessFactory
{
    public function createProductReader(): ProductReaderInterface
    {
        return new CustomProductReader($this->getRepository());
    }
}
```

## Instead
```php
class ProductBusinessFactory extends SprykerProductBusinessFactory
{
    public function createPyzProductReader(): ProductReaderInterface
    {
        return new PyzProductReader($this->getProductFacade());
    }
}
```

## Fix
Add a new, project-prefixed method for the project's behaviour and call it from project code,
or hook into core through a plugin. When core offers no extension point for the change, ask
Spryker for one rather than overriding its construction.

## Configuration
`@upkeep-ignore private-api-method-overridden` in the doc block of the method or class silences
the rule there; `tooling.yml` `evaluator.ignoreErrors` entries for
`PrivateApi:MethodIsOverridden` apply too.

## Spryker id
`PrivateApi:MethodIsOverridden`
",
    bad_example: Example {
        files: &[
            (
                "src/Pyz/Zed/Product/Business/ProductBusinessFactory.php",
                "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\nuse Spryker\\Zed\\Product\\Business\\ProductBusinessFactory as SprykerProductBusinessFactory;\n\nclass ProductBusinessFactory extends SprykerProductBusinessFactory\n{\n    public function createProductReader()\n    {\n        return new CustomProductReader();\n    }\n}\n",
            ),
            (
                "vendor/spryker/product/src/Spryker/Zed/Product/Business/ProductBusinessFactory.php",
                "<?php\nnamespace Spryker\\Zed\\Product\\Business;\n\nclass ProductBusinessFactory\n{\n    public function createProductReader()\n    {\n        return new ProductReader();\n    }\n}\n",
            ),
        ],
    },
    good_example: Example {
        files: &[
            (
                "src/Pyz/Zed/Product/Business/ProductBusinessFactory.php",
                "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\nuse Spryker\\Zed\\Product\\Business\\ProductBusinessFactory as SprykerProductBusinessFactory;\n\nclass ProductBusinessFactory extends SprykerProductBusinessFactory\n{\n    public function createPyzProductReader()\n    {\n        return new PyzProductReader();\n    }\n}\n",
            ),
            (
                "vendor/spryker/product/src/Spryker/Zed/Product/Business/ProductBusinessFactory.php",
                "<?php\nnamespace Spryker\\Zed\\Product\\Business;\n\nclass ProductBusinessFactory\n{\n    public function createProductReader()\n    {\n        return new ProductReader();\n    }\n}\n",
            ),
        ],
    },
    guideline: own_documentation!("private-api-method-overridden"),
    needs_core: true,
};

/// The core parents whose methods are private API when overridden.
const CHECKED_PARENTS: &[ClassRole] = &[
    ClassRole::DependencyProvider,
    ClassRole::EntityManager,
    ClassRole::Repository,
    ClassRole::Factory,
];

impl Rule for PrivateApiMethodOverridden {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_project(&self, project: &ProjectScope<'_>, sink: &mut Sink) {
        let index = project.index;
        let mut core_bodies = CoreBodies {
            project,
            texts: HashMap::new(),
        };
        let mut registrations = PluginRegistrations {
            project,
            offsets: HashMap::new(),
        };
        for class in index.project_classes() {
            if class.kind != ClassKind::Class {
                continue;
            }
            let Some(core_parent) = index.core_ancestor(class) else {
                continue;
            };
            if !CHECKED_PARENTS.contains(&core_parent.layout.role) || is_ignored(&core_parent.name)
            {
                continue;
            }
            let Some(parent) = class.parent().and_then(|name| index.class(name)) else {
                continue;
            };
            for method in &class.methods {
                let Some((declaring, overridden)) = index.find_method(parent, &method.name) else {
                    continue;
                };
                if !is_core_declared(declaring)
                    || overridden.visibility == Visibility::Private
                    || is_expected_override(method, overridden)
                    || registrations.in_method(class, method)
                    || core_bodies.returns_only_empty_arrays(declaring, overridden)
                {
                    continue;
                }
                sink.push(project.finding(
                    &META,
                    class.file,
                    method.name_span,
                    format!(
                        "`{}::{}()` overrides core method `{}::{}()` of {}, which is private API and may change in any minor release; add a project-prefixed method (or use a plugin) instead, or ask Spryker for an extension point",
                        class.short_name(),
                        method.name,
                        declaring.name,
                        overridden.name,
                        parent_kind(core_parent.layout.role),
                    ),
                ));
            }
        }
    }
}

fn parent_kind(role: ClassRole) -> &'static str {
    match role {
        ClassRole::DependencyProvider => "a dependency provider",
        ClassRole::EntityManager => "an entity manager",
        ClassRole::Repository => "a repository",
        _ => "a factory",
    }
}

/// The overrides Spryker expects: plugin registration and `provide*Dependencies`.
fn is_expected_override(method: &MethodInfo, overridden: &MethodInfo) -> bool {
    let name = method.name.as_str();
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("provide") && lower.ends_with("dependencies") {
        return true;
    }
    name.contains("Plugin") || returns_plugins(method) || returns_plugins(overridden)
}

/// True when a method's declared return type or `@return` names a plugin class.
fn returns_plugins(method: &MethodInfo) -> bool {
    let documented = method.doc.as_ref().and_then(|doc| doc.return_type());
    method
        .return_type
        .as_deref()
        .into_iter()
        .chain(documented)
        .flat_map(class_names)
        .any(|class| {
            let short = short_name(class);
            short.ends_with("Plugin") || short.ends_with("PluginInterface")
        })
}

/// Where project files instantiate a plugin, console command or event subscriber (the way
/// dependency providers register them), read once per file.
struct PluginRegistrations<'p, 'a> {
    project: &'p ProjectScope<'a>,
    offsets: HashMap<FileId, Vec<u32>>,
}

impl PluginRegistrations<'_, '_> {
    /// True when the project method's body instantiates one of them.
    fn in_method(&mut self, class: &ClassLike, method: &MethodInfo) -> bool {
        let Some(body) = method.body_span else {
            return false;
        };
        let project = self.project;
        self.offsets
            .entry(class.file)
            .or_insert_with(|| plugin_instantiations(project, class.file))
            .iter()
            .any(|&offset| body.contains(offset))
    }
}

fn plugin_instantiations(project: &ProjectScope<'_>, file: FileId) -> Vec<u32> {
    let Some(source) = project.project.source(file) else {
        return Vec::new();
    };
    let arena = Bump::new();
    let program = parse_php(&arena, &source.text);
    let facts = extract_facts(program, &source.text, file, &project.project.namespaces);
    let mut instantiated = Vec::new();
    InstantiationFinder.walk_program(program, &mut instantiated);
    instantiated
        .iter()
        .filter_map(|instantiation| {
            let offset = instantiation.span().start.offset;
            let written = written_class_name(instantiation.class)?;
            let resolved = facts.context_at(offset).resolve_class(written);
            let short = short_name(&resolved);
            ["Plugin", "Console", "EventSubscriber"]
                .iter()
                .any(|suffix| short.ends_with(suffix))
                .then_some(offset)
        })
        .collect()
}

struct InstantiationFinder;

impl<'ast, 'arena> Walker<'ast, 'arena, Vec<&'ast Instantiation<'arena>>> for InstantiationFinder {
    fn walk_in_instantiation(
        &self,
        instantiation: &'ast Instantiation<'arena>,
        found: &mut Vec<&'ast Instantiation<'arena>>,
    ) {
        found.push(instantiation);
    }
}

/// Core method bodies, read from the core files on demand (the index keeps only their spans).
struct CoreBodies<'p, 'a> {
    project: &'p ProjectScope<'a>,
    texts: HashMap<FileId, Option<Vec<u8>>>,
}

impl CoreBodies<'_, '_> {
    /// True when every `return` of the core method returns `[]` or `array()` (and it has one).
    fn returns_only_empty_arrays(&mut self, declaring: &ClassLike, method: &MethodInfo) -> bool {
        let Some(body) = method.body_span else {
            return false;
        };
        let project = self.project;
        let text = self.texts.entry(declaring.file).or_insert_with(|| {
            let path = project.root.join(&project.index.file(declaring.file).path);
            fs_err::read(path).ok()
        });
        let Some(body_text) = text
            .as_deref()
            .and_then(|text| text.get(body.start as usize..body.end as usize))
        else {
            return false;
        };
        body_returns_only_empty_arrays(&String::from_utf8_lossy(body_text))
    }
}

/// `body` is the `{ ... }` of a method.
fn body_returns_only_empty_arrays(body: &str) -> bool {
    let returns = classify_returns(body, |value| match value {
        Expression::Array(array) => array.elements.is_empty(),
        Expression::LegacyArray(array) => array.elements.is_empty(),
        _ => false,
    });
    returns.is_some_and(|returns| {
        !returns.is_empty() && returns.iter().all(|is_empty| *is_empty == Some(true))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_array_bodies() {
        assert!(body_returns_only_empty_arrays("{\n    return [];\n}"));
        assert!(body_returns_only_empty_arrays("{ return array(); }"));
        assert!(body_returns_only_empty_arrays(
            "{ if ($a) { return []; } return ([]); }"
        ));
        assert!(!body_returns_only_empty_arrays(
            "{ return [new FooPlugin()]; }"
        ));
        assert!(!body_returns_only_empty_arrays("{ return $this->x(); }"));
        assert!(!body_returns_only_empty_arrays("{ $x = []; }"));
        assert!(!body_returns_only_empty_arrays(
            "{ $f = function () { return []; }; return $f(); }"
        ));
        assert!(!body_returns_only_empty_arrays("{ return [] "));
    }
}
