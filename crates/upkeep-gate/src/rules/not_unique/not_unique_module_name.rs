//! `not-unique-module-name`: a project module that is not a core module and lacks the
//! project prefix.

use std::collections::{BTreeMap, HashSet};

use mago_span::HasSpan;
use mago_syntax::ast::Statement;
use upkeep_php::source::TextSpan;
use upkeep_php::spryker::Origin;
use upkeep_php::{ClassLike, FileId};

use super::{has_project_prefix, suggested_prefix, upper_first};
use crate::rule::{Category, Example, ProjectScope, Rule, RuleMeta, Sink};

pub struct NotUniqueModuleName;

pub static META: RuleMeta = RuleMeta {
    name: "not-unique-module-name",
    spryker_ids: &["NotUnique:ModuleName"],
    category: Category::NotUnique,
    summary: "A project module that no core package provides and whose name lacks the project prefix.",
    documentation: "\
## What it finds
Project modules (the `<Module>` segment of `Pyz\\<Layer>\\<Module>\\...` classes) whose name is
not the name of a core module (a module of any layer in `vendor/spryker*`) and does not carry
a project prefix as a word (`PyzBrand`). A module is reported once per application layer it
has (`Zed`, `Yves`, `Glue`, `Client`, `Service`, `Shared`), at the module segment of the
namespace declaration of its first file (by path).

Adding a layer to a core module (`Pyz\\Yves\\Product` while core's `Product` has no Yves part)
is not reported: the module name is core's, the project extends it.

## Why it matters
Spryker resolves facades, factories, configs and clients by module name, project namespace
first. When a later release adds a core module with the project module's name (`Brand`), the
project's classes silently replace core's (the kernel finds `Pyz\\Zed\\Brand\\...` first), and
core's own code talks to the project's module.

## Example
```php
namespace Pyz\\Zed\\Brand\\Business;

class BrandFacade extends AbstractFacade
{
}
```

## Instead
```php
namespace Pyz\\Zed\\PyzBrand\\Business;

class PyzBrandFacade extends AbstractFacade
{
}
```

## Fix
Rename the module: its directories, namespaces, and the class names that start with the module
name (facade, factory, config, dependency provider, client), and their uses.

## Configuration
`evaluator.prefixes` in `tooling.yml` (default: the project namespaces, `Pyz`).

## Spryker id
`NotUnique:ModuleName`
",
    bad_example: Example {
        files: &[
            (
                "vendor/spryker/product/src/Spryker/Zed/Product/Business/ProductFacade.php",
                "<?php\nnamespace Spryker\\Zed\\Product\\Business;\n\nclass ProductFacade\n{\n}\n",
            ),
            (
                "src/Pyz/Zed/Brand/Business/BrandFacade.php",
                "<?php\nnamespace Pyz\\Zed\\Brand\\Business;\n\nclass BrandFacade\n{\n}\n",
            ),
        ],
    },
    good_example: Example {
        files: &[
            (
                "vendor/spryker/product/src/Spryker/Zed/Product/Business/ProductFacade.php",
                "<?php\nnamespace Spryker\\Zed\\Product\\Business;\n\nclass ProductFacade\n{\n}\n",
            ),
            (
                "src/Pyz/Zed/PyzBrand/Business/PyzBrandFacade.php",
                "<?php\nnamespace Pyz\\Zed\\PyzBrand\\Business;\n\nclass PyzBrandFacade\n{\n}\n",
            ),
            (
                "src/Pyz/Yves/Product/ProductFactory.php",
                "<?php\nnamespace Pyz\\Yves\\Product;\n\nclass ProductFactory\n{\n}\n",
            ),
        ],
    },
    guideline: "https://docs.spryker.com/docs/dg/dev/guidelines/keeping-a-project-upgradable/upgradability-guidelines/entity-name-is-not-unique.html#module-name-is-not-unique",
    needs_core: true,
};

impl Rule for NotUniqueModuleName {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_project(&self, project: &ProjectScope<'_>, sink: &mut Sink) {
        let index = project.index;
        let core_modules: HashSet<String> = index
            .classes
            .iter()
            .filter(|class| class.layout.origin == Origin::Core)
            .filter_map(|class| class.layout.module.as_deref())
            .map(str::to_ascii_lowercase)
            .collect();
        // (organisation, layer, module) -> the module's first class, by file (path) order.
        let mut modules: BTreeMap<(&str, &str, &str), &ClassLike> = BTreeMap::new();
        for class in index.project_classes() {
            let (Some(_), Some(module)) = (class.layout.layer, class.layout.module.as_deref())
            else {
                continue;
            };
            let layer = class.name.split('\\').nth(1).unwrap_or_default();
            let key = (class.layout.organisation.as_str(), layer, module);
            modules
                .entry(key)
                .and_modify(|first| {
                    if (class.file, class.span.start) < (first.file, first.span.start) {
                        *first = class;
                    }
                })
                .or_insert(class);
        }
        let prefix = upper_first(suggested_prefix(project.settings));
        for ((organisation, layer, module), first) in modules {
            if core_modules.contains(&module.to_ascii_lowercase())
                || has_project_prefix(module, &project.settings.prefixes)
            {
                continue;
            }
            let span = module_span(
                project,
                first.file,
                &format!("{organisation}\\{layer}\\"),
                module,
            )
            .unwrap_or(first.name_span);
            sink.push(project.finding(
                &META,
                first.file,
                span,
                format!(
                    "module `{module}` ({layer}) is not a core module and has no project prefix: a later Spryker release may ship a module `{module}` that the project's would replace; rename it to `{prefix}{module}`"
                ),
            ));
        }
    }
}

/// The span of `module` in the file's `namespace <organisation>\<layer>\<module>...;`
/// declaration (found in the syntax tree, so that comments mentioning it do not count).
fn module_span(
    project: &ProjectScope<'_>,
    file: FileId,
    namespace_start: &str,
    module: &str,
) -> Option<TextSpan> {
    let text = &project.project.source(file)?.text;
    let arena = bumpalo::Bump::new();
    let program = upkeep_php::parse::parse_php(&arena, text);
    let qualified = format!("{namespace_start}{module}");
    program.statements.iter().find_map(|statement| {
        let Statement::Namespace(namespace) = statement else {
            return None;
        };
        let name = namespace.name.as_ref()?;
        let written = std::str::from_utf8(name.value()).ok()?;
        let rest = written.trim_start_matches('\\');
        let is_module = rest.len() >= qualified.len()
            && rest[..qualified.len()].eq_ignore_ascii_case(&qualified)
            && rest[qualified.len()..]
                .chars()
                .next()
                .is_none_or(|next| next == '\\');
        if !is_module {
            return None;
        }
        let leading = written.len() - rest.len();
        let start =
            name.span().start.offset + u32::try_from(leading + namespace_start.len()).ok()?;
        Some(TextSpan::new(
            start,
            start + u32::try_from(module.len()).ok()?,
        ))
    })
}
