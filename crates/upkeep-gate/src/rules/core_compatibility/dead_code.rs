//! `dead-code`: a project class that extends a core class and that nothing in the project
//! refers to.

use upkeep_php::ClassKind;
use upkeep_php::ClassLike;
use upkeep_php::names::short_name;
use upkeep_php::spryker::{ApplicationLayer, ClassRole};

use crate::rule::{Category, Example, ProjectScope, Rule, RuleMeta, Sink};

pub struct DeadCode;

pub static META: RuleMeta = RuleMeta {
    name: "dead-code",
    spryker_ids: &["DEAD_CODE_CHECKER"],
    category: Category::CoreCompatibility,
    summary: "A project class that extends a core class and that nothing in the project refers to.",
    documentation: "\
## What it finds
Project classes (abstract ones too) whose parent chain reaches a core class and whose name no
other project code mentions. A mention is any reference after name resolution (imports,
aliases, `namespace\\`): `extends`, `implements`, `new`, `X::method()`, `X::CONST`,
`X::$property`, `X::class`, `instanceof`, `catch`, type hints, attributes, doc-block types
(`@var`, `@param`, `@return`, `@throws`, `@property`, `@method`, `@mixin`, `@see`,
`{@link}`), and strings that spell the fully qualified name (`'Pyz\\\\Zed\\\\Foo\\\\Bar'`). Mentions
count from `src/` and from the PHP files Spryker loads by path: `config/**/*.php` (where
plugins and handlers are registered) and the front controllers `public/*.php`,
`public/*/*.php`. A class that mentions only itself is not referenced.

Not reported, because Spryker's kernel finds them by naming convention rather than by a
reference:
- Facades, Factories (business, communication, persistence, Yves, Client, Glue, Service),
  Configs, DependencyProviders and DependencyInjectors, Repositories, EntityManagers,
  QueryContainers, Clients, Services (the locator and class resolvers), Controllers (the
  routers, by module and controller name);
- `*Bootstrap` classes (application entry points);
- Glue `*Resource` classes (the Glue resource locator);
- `*ConstraintValidator` classes (Symfony's validator finds `FooConstraintValidator` from
  `FooConstraint`);
- `Abstract*` classes under a `Persistence\\Propel` namespace (Propel's generated `src/Orm`
  classes, which are not read, extend them).

Plugins are reported like any other class: Spryker does not find plugins by name; a plugin
runs only when a dependency provider (or config file) registers it, and an unregistered
project plugin is exactly the dead code Spryker's own documentation of this check shows.

## Why it matters
A dead class still has to follow core: it breaks the upgrader's analysis, shows up in every
private-API and deprecation check, and misleads the next developer into changing code that
never runs, often while the core class it meant to replace keeps running.

## Example
```php
namespace Pyz\\Zed\\Product\\Communication\\Plugin;

use Spryker\\Zed\\Product\\Communication\\Plugin\\ProductAbstractAfterUpdatePlugin as SprykerPlugin;

// Registered nowhere: the dependency provider still registers core's plugin.
class ProductAbstractAfterUpdatePlugin extends SprykerPlugin
{
}
```

## Instead
Register the project class where core's was used (`new ProductAbstractAfterUpdatePlugin()` in
the project's dependency provider, importing the project class), or delete it.

## Fix
Delete the class, or use it. If Spryker loads it in a way this rule cannot see, say so with
`@evaluator-skip-dead-code` in its doc block.

## Configuration
`@evaluator-skip-dead-code` (Spryker's annotation) or `@upkeep-ignore dead-code` in the class
doc block.

## Spryker id
`DEAD_CODE_CHECKER`
",
    bad_example: Example {
        files: &[
            (
                "vendor/spryker/product/src/Spryker/Zed/Product/Business/Reader/ProductReader.php",
                "<?php\nnamespace Spryker\\Zed\\Product\\Business\\Reader;\n\nclass ProductReader\n{\n}\n",
            ),
            (
                "src/Pyz/Zed/Product/Business/Reader/ProductReader.php",
                "<?php\nnamespace Pyz\\Zed\\Product\\Business\\Reader;\n\nuse Spryker\\Zed\\Product\\Business\\Reader\\ProductReader as SprykerProductReader;\n\nclass ProductReader extends SprykerProductReader\n{\n}\n",
            ),
        ],
    },
    good_example: Example {
        files: &[
            (
                "vendor/spryker/product/src/Spryker/Zed/Product/Business/Reader/ProductReader.php",
                "<?php\nnamespace Spryker\\Zed\\Product\\Business\\Reader;\n\nclass ProductReader\n{\n}\n",
            ),
            (
                "vendor/spryker/product/src/Spryker/Zed/Product/Business/ProductBusinessFactory.php",
                "<?php\nnamespace Spryker\\Zed\\Product\\Business;\n\nclass ProductBusinessFactory\n{\n}\n",
            ),
            (
                "src/Pyz/Zed/Product/Business/Reader/ProductReader.php",
                "<?php\nnamespace Pyz\\Zed\\Product\\Business\\Reader;\n\nuse Spryker\\Zed\\Product\\Business\\Reader\\ProductReader as SprykerProductReader;\n\nclass ProductReader extends SprykerProductReader\n{\n}\n",
            ),
            (
                "src/Pyz/Zed/Product/Business/ProductBusinessFactory.php",
                "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\nuse Pyz\\Zed\\Product\\Business\\Reader\\ProductReader;\nuse Spryker\\Zed\\Product\\Business\\ProductBusinessFactory as SprykerProductBusinessFactory;\n\nclass ProductBusinessFactory extends SprykerProductBusinessFactory\n{\n    public function createProductReader(): ProductReader\n    {\n        return new ProductReader();\n    }\n}\n",
            ),
        ],
    },
    guideline: "https://docs.spryker.com/docs/dg/dev/guidelines/keeping-a-project-upgradable/upgradability-guidelines/dead-code-checker.html",
    needs_core: true,
};

impl Rule for DeadCode {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_project(&self, project: &ProjectScope<'_>, sink: &mut Sink) {
        let index = project.index;
        for class in index.project_classes() {
            if class.kind != ClassKind::Class
                || found_by_convention(class)
                || index.is_referenced(&class.name)
            {
                continue;
            }
            let Some(core) = index.core_ancestor(class) else {
                continue;
            };
            sink.push(project.finding(
                &META,
                class.file,
                class.name_span,
                format!(
                    "`{}` extends core's `{}` but nothing in the project refers to it: it never runs and still has to follow every core change; use it (e.g. register it where core's class is registered) or delete it",
                    class.name, core.name
                ),
            ));
        }
    }
}

/// True for classes that Spryker's kernel (or a library it uses) loads by naming convention,
/// so that no code needs to name them.
fn found_by_convention(class: &ClassLike) -> bool {
    let short = short_name(&class.name);
    let kernel_role =
        class.layout.role.is_kernel_service() || class.layout.role == ClassRole::Controller;
    let glue_resource =
        class.layout.layer == Some(ApplicationLayer::Glue) && short.ends_with("Resource");
    // Propel's generated `src/Orm` classes extend these; `src/Orm` is not read.
    let propel_base =
        class.name.contains("\\Persistence\\Propel\\") && short.starts_with("Abstract");
    kernel_role
        || glue_resource
        || propel_base
        || short.ends_with("Bootstrap")
        || short.ends_with("ConstraintValidator")
}

#[cfg(test)]
mod tests {
    use crate::rules::packages::test_support::{findings, run_rules};

    const CORE: (&str, &str) = (
        "vendor/spryker/kernel/src/Spryker/Zed/Kernel/AbstractBase.php",
        "<?php\nnamespace Spryker\\Zed\\Kernel;\nabstract class AbstractBase {}\n",
    );

    fn dead(files: &[(&str, &str)]) -> Vec<String> {
        let mut all = vec![CORE];
        all.extend_from_slice(files);
        findings(&run_rules(&["dead-code"], &all))
    }

    #[test]
    fn convention_classes_and_referenced_classes_are_alive() {
        let class = |name: &str, namespace: &str| {
            format!(
                "<?php\nnamespace {namespace};\nuse Spryker\\Zed\\Kernel\\AbstractBase;\nclass {name} extends AbstractBase {{}}\n"
            )
        };
        let files = [
            ("src/Pyz/Zed/Foo/Business/FooFacade.php", class("FooFacade", "Pyz\\Zed\\Foo\\Business")),
            ("src/Pyz/Zed/Foo/Communication/Controller/IndexController.php", class("IndexController", "Pyz\\Zed\\Foo\\Communication\\Controller")),
            ("src/Pyz/Zed/Foo/Persistence/Propel/AbstractSpyFoo.php", class("AbstractSpyFoo", "Pyz\\Zed\\Foo\\Persistence\\Propel")),
            ("src/Pyz/Glue/FooRestApi/FooRestApiResource.php", class("FooRestApiResource", "Pyz\\Glue\\FooRestApi")),
            ("src/Pyz/Zed/Foo/Business/Reader.php", class("Reader", "Pyz\\Zed\\Foo\\Business")),
            ("src/Pyz/Zed/Foo/Business/Writer.php", class("Writer", "Pyz\\Zed\\Foo\\Business")),
            ("src/Pyz/Zed/Foo/Business/Dead.php", class("Dead", "Pyz\\Zed\\Foo\\Business")),
            (
                "config/Shared/config_default.php",
                "<?php\n$config['writer'] = 'Pyz\\\\Zed\\\\Foo\\\\Business\\\\Writer';\n".to_string(),
            ),
            (
                "src/Pyz/Zed/Foo/Business/Model.php",
                "<?php\nnamespace Pyz\\Zed\\Foo\\Business;\nclass Model { public function a(): Reader { return new Dead(); } }\n".to_string(),
            ),
        ];
        let borrowed: Vec<(&str, &str)> = files
            .iter()
            .map(|(path, text)| (*path, text.as_str()))
            .collect();
        // `Dead` is mentioned only by `new Dead()` in `Model`: alive too. Remove that mention.
        assert_eq!(dead(&borrowed), Vec::<String>::new());
        let mut without = borrowed.clone();
        without.pop();
        assert_eq!(
            dead(&without),
            [
                "dead-code src/Pyz/Zed/Foo/Business/Dead.php:4: `Pyz\\Zed\\Foo\\Business\\Dead` extends core's `Spryker\\Zed\\Kernel\\AbstractBase` but nothing in the project refers to it: it never runs and still has to follow every core change; use it (e.g. register it where core's class is registered) or delete it",
                "dead-code src/Pyz/Zed/Foo/Business/Reader.php:4: `Pyz\\Zed\\Foo\\Business\\Reader` extends core's `Spryker\\Zed\\Kernel\\AbstractBase` but nothing in the project refers to it: it never runs and still has to follow every core change; use it (e.g. register it where core's class is registered) or delete it",
            ]
        );
    }
}
