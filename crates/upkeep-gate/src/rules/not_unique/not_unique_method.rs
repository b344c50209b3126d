//! `not-unique-method`: a public method that a project class adds to a core class without the
//! project prefix.

use upkeep_php::names::short_name;
use upkeep_php::spryker::ClassRole;
use upkeep_php::{ClassKind, ClassLike, MethodInfo, Visibility};

use super::method_rename::{rename_method, searched_words};
use super::rename_sources::{NameCase, RenameSources};
use super::{
    Lineage, has_project_prefix, lower_first, on_ignored_core, suggested_prefix, upper_first,
};
use crate::rule::{Category, Example, ProjectScope, Rule, RuleMeta, Sink, own_documentation};

pub struct NotUniqueMethod;

pub static META: RuleMeta = RuleMeta {
    name: "not-unique-method",
    spryker_ids: &["NotUnique:Method"],
    category: Category::NotUnique,
    summary: "A public method added to a core class (or core interface) by a project class without the project prefix.",
    documentation: "\
## What it finds
Public methods declared by a project class whose parent chain reaches a core class, or by a
project interface that extends a core interface, when the method is new and its name does not
carry a project prefix as a word (`pyzGetColors`, `getPyzColors`). Not reported:

- overrides: a method that the parent chain (core or project, including `@method` tags) or a
  used trait already declares;
- magic methods (`__construct`, `__toString`, ...);
- methods that come from a trait, or share a name with a method of a used trait;
- methods required by an implemented interface anywhere in the interface hierarchy, core or
  project (a project `FacadeInterface` that extends core's is itself checked, so a new facade
  method is reported once, on the interface);
- plugin getters: methods of a Factory or DependencyProvider whose name ends with `Plugin` or
  `Plugins`, and methods whose return type or `@return` names a plugin (`...Plugin`,
  `...PluginInterface`, arrays of them).

When the class inherits from code that the index does not hold (a core class extending a
Symfony, Twig or Propel class, an unknown interface), a method may override something there:
such classes are not checked for methods rather than reported wrongly. PHP's own interfaces and
exceptions (`Countable`, `ArrayAccess`, `JsonSerializable`, `Exception`, ...) are known.

A method added to a class whose nearest core parent is on the ignore list of Spryker's former
checker (the `*DataImport` modules, bootstrap and development code, `Gui`'s tables) is
reported as a **warning**: it does not fail the gate. `docs/gate-vs-spryker.md` lists where
this rule is stricter than Spryker's checker.

## Why it matters
Core adds public methods in minor releases. When core adds a method with the project's name,
the project's silently overrides it (core code calling it now runs the project's code), or PHP
refuses to load the class when the signatures disagree.

## Example
```php
namespace Pyz\\Zed\\Product\\Business;

use Spryker\\Zed\\Product\\Business\\ProductFacade as SprykerProductFacade;

class ProductFacade extends SprykerProductFacade
{
    public function getColors(): array
    {
        return $this->getFactory()->createColorReader()->getColors();
    }
}
```

## Instead
```php
    public function getPyzColors(): array
```

## Fix
Rename the method so that it carries the prefix, and its callers with it. `--fix` does it when it
is safe: it renames the declaration, the declarations of project subclasses and implementers that
override it, and every call whose receiver's class is known from declarations (`$this`,
`self::`/`parent::`, typed parameters and properties, `@var`, `@method` tags such as
`getFacade()`, return types) and runs the renamed method. It offers no fix when a call might
reach the method but its receiver's class is not known (an untyped variable, a core interface
that does not declare the method), when the method is called by a computed name or named in a
string (`[$this, 'getColors']`), when a Twig template under `src/` mentions it (for classes other
than facades, factories, configs, clients, repositories and the like), or when the new name is
taken.

## Configuration
`evaluator.prefixes` in `tooling.yml` (default: the project namespaces, `Pyz`); the first
prefix is the one suggested.

## Spryker id
`NotUnique:Method`
",
    bad_example: Example {
        files: &[
            (
                "vendor/spryker/product/src/Spryker/Zed/Product/Business/ProductFacade.php",
                "<?php\nnamespace Spryker\\Zed\\Product\\Business;\n\nclass ProductFacade\n{\n    public function getProduct(int $id): array\n    {\n        return [];\n    }\n}\n",
            ),
            (
                "src/Pyz/Zed/Product/Business/ProductFacade.php",
                "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\nuse Spryker\\Zed\\Product\\Business\\ProductFacade as SprykerProductFacade;\n\nclass ProductFacade extends SprykerProductFacade\n{\n    public function getColors(): array\n    {\n        return [];\n    }\n}\n",
            ),
        ],
    },
    good_example: Example {
        files: &[
            (
                "vendor/spryker/product/src/Spryker/Zed/Product/Business/ProductFacade.php",
                "<?php\nnamespace Spryker\\Zed\\Product\\Business;\n\nclass ProductFacade\n{\n    public function getProduct(int $id): array\n    {\n        return [];\n    }\n}\n",
            ),
            (
                "src/Pyz/Zed/Product/Business/ProductFacade.php",
                "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\nuse Spryker\\Zed\\Product\\Business\\ProductFacade as SprykerProductFacade;\n\nclass ProductFacade extends SprykerProductFacade\n{\n    public function getProduct(int $id): array\n    {\n        return parent::getProduct($id);\n    }\n\n    public function getPyzColors(): array\n    {\n        return [];\n    }\n\n    protected function readColors(): array\n    {\n        return [];\n    }\n}\n",
            ),
        ],
    },
    guideline: own_documentation!("not-unique-method"),
    needs_core: true,
};

impl Rule for NotUniqueMethod {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_project(&self, project: &ProjectScope<'_>, sink: &mut Sink) {
        let index = project.index;
        let prefix = suggested_prefix(project.settings);
        let mut unprefixed = Vec::new();
        for class in index.project_classes() {
            if !matches!(class.kind, ClassKind::Class | ClassKind::Interface) {
                continue;
            }
            let lineage = Lineage::of(index, class);
            let Some(core) = lineage.core else {
                continue;
            };
            if lineage.opaque().next().is_some() {
                continue;
            }
            for method in &class.methods {
                if method.visibility != Visibility::Public
                    || method.name.starts_with("__")
                    || has_project_prefix(&method.name, &project.settings.prefixes)
                    || lineage.declares_method(&method.name)
                    || is_plugin_getter(class, method)
                {
                    continue;
                }
                unprefixed.push((class, core, method));
            }
        }
        if unprefixed.is_empty() {
            return;
        }
        let words: Vec<String> = unprefixed
            .iter()
            .flat_map(|(_, _, method)| searched_words(&method.name))
            .collect();
        let sources = RenameSources::of(
            project,
            words.iter().map(String::as_str),
            NameCase::Insensitive,
        );
        for (class, core, method) in unprefixed {
            let renamed = prefixed_method_name(&method.name, prefix);
            let finding = project.finding(
                &META,
                class.file,
                method.name_span,
                format!(
                    "public method `{}::{}()` is new to core's `{}` and has no project prefix: a later core release may add `{}()` too; rename it to `{renamed}()`",
                    short_name(&class.name),
                    method.name,
                    core.name,
                    method.name,
                ),
            );
            let finding = match rename_method(index, &sources, class, &method.name, &renamed) {
                Ok(fix) => finding.with_fix(fix),
                Err(_) => finding,
            };
            sink.push(on_ignored_core(finding, core));
        }
    }
}

/// Plugin stacks and plugin-returning methods: Spryker's own checker exempts them because
/// the plugin wiring they hold is the project's to add.
fn is_plugin_getter(class: &ClassLike, method: &MethodInfo) -> bool {
    let plugin_stack = matches!(
        class.layout.role,
        ClassRole::Factory | ClassRole::DependencyProvider
    ) && (method.name.ends_with("Plugin") || method.name.ends_with("Plugins"));
    let documented = method.doc.as_ref().and_then(|doc| doc.return_type());
    plugin_stack
        || method
            .return_type
            .as_deref()
            .into_iter()
            .chain(documented)
            .any(names_plugin)
}

/// True when a type names a plugin class or interface (`FooPlugin`, `FooPluginInterface[]`,
/// `array<\Foo\BarPluginInterface>`).
fn names_plugin(ty: &str) -> bool {
    ty.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '\\'))
        .map(short_name)
        .any(|name| name.ends_with("Plugin") || name.ends_with("PluginInterface"))
}

/// `getColors` -> `getPyzColors` (after the first word, as Spryker suggests), `run` -> `pyzRun`.
fn prefixed_method_name(name: &str, prefix: &str) -> String {
    match name.char_indices().skip(1).find(|(_, c)| c.is_uppercase()) {
        Some((split, _)) => format!(
            "{}{}{}",
            &name[..split],
            upper_first(prefix),
            &name[split..]
        ),
        None => format!("{}{}", lower_first(prefix), upper_first(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::packages::test_support::{findings, run_rules};

    #[test]
    fn suggestions_insert_the_prefix_after_the_first_word() {
        assert_eq!(prefixed_method_name("getColors", "Pyz"), "getPyzColors");
        assert_eq!(prefixed_method_name("run", "Pyz"), "pyzRun");
        assert_eq!(prefixed_method_name("isX", "acme"), "isAcmeX");
    }

    #[test]
    fn plugin_types_are_recognised() {
        assert!(names_plugin("\\Pyz\\Zed\\Foo\\BarPlugin"));
        assert!(names_plugin(
            "array<\\Spryker\\Zed\\FooExtension\\BarPluginInterface>"
        ));
        assert!(names_plugin("BarPluginInterface[]|null"));
        assert!(!names_plugin("array"));
        assert!(!names_plugin("\\Pyz\\Zed\\Foo\\PluginReader"));
    }

    #[test]
    fn opaque_ancestry_is_not_judged() {
        let report = run_rules(
            &["not-unique-method"],
            &[
                (
                    "vendor/spryker/kernel/src/Spryker/Zed/Kernel/Communication/Console/Console.php",
                    "<?php\nnamespace Spryker\\Zed\\Kernel\\Communication\\Console;\nuse Symfony\\Component\\Console\\Command\\Command;\nclass Console extends Command {}\n",
                ),
                (
                    "src/Pyz/Zed/Foo/Communication/Console/FooConsole.php",
                    "<?php\nnamespace Pyz\\Zed\\Foo\\Communication\\Console;\nuse Spryker\\Zed\\Kernel\\Communication\\Console\\Console;\nclass FooConsole extends Console\n{\n    public function getName(): string { return 'foo'; }\n}\n",
                ),
                (
                    "vendor/spryker/foo/src/Spryker/Zed/Foo/Business/FooException.php",
                    "<?php\nnamespace Spryker\\Zed\\Foo\\Business;\nclass FooException extends \\Exception {}\n",
                ),
                (
                    "src/Pyz/Zed/Foo/Business/BarException.php",
                    "<?php\nnamespace Pyz\\Zed\\Foo\\Business;\nuse Spryker\\Zed\\Foo\\Business\\FooException;\nclass BarException extends FooException\n{\n    public function __toString(): string { return ''; }\n    public function getContext(): array { return []; }\n}\n",
                ),
            ],
        );
        assert_eq!(
            findings(&report),
            [
                "not-unique-method src/Pyz/Zed/Foo/Business/BarException.php:7: public method `BarException::getContext()` is new to core's `Spryker\\Zed\\Foo\\Business\\FooException` and has no project prefix: a later core release may add `getContext()` too; rename it to `getPyzContext()`"
            ]
        );
    }
}
