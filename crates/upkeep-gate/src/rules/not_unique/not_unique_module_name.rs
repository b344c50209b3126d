//! `not-unique-module-name`: a project module that is not a core module and lacks the
//! project prefix.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use mago_span::HasSpan;
use mago_syntax::ast::{ArrayElement, Expression, Literal, Statement};
use upkeep_php::source::TextSpan;
use upkeep_php::spryker::Origin;
use upkeep_php::{ClassLike, FileId};

use super::{has_project_prefix, suggested_prefix, upper_first};
use crate::rule::{Category, Example, ProjectScope, Rule, RuleMeta, Sink, own_documentation};
use crate::rules::dependency_provider::{classify_returns, unparenthesized};

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
a project prefix as a word (`PyzBrand`). A module is reported once, naming the application
layers it has (`Zed`, `Yves`, `Glue`, `Client`, `Service`, `Shared`), at the module segment of
the namespace declaration of its first file (by path).

A module named after a core module plus one of the project's **code buckets** is that core
module's bucket-specific part, not a new module: with `getCodeBuckets()` of the project's
`CodeBucketConfig` returning `['DE', 'US']`, `Pyz\\Shared\\PriceUS` is core's `Price` for the
bucket `US` (renaming it would silently disable the override). The buckets are read from the
string literals of the arrays that method returns; a list computed at run time is not known.

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
    guideline: own_documentation!("not-unique-module-name"),
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
        let code_buckets = code_buckets(project);
        // (organisation, module) -> its layers and its first class, by file (path) order.
        let mut modules: BTreeMap<(&str, &str), ProjectModule<'_>> = BTreeMap::new();
        for class in index.project_classes() {
            let (Some(_), Some(module)) = (class.layout.layer, class.layout.module.as_deref())
            else {
                continue;
            };
            let layer = class.name.split('\\').nth(1).unwrap_or_default();
            let key = (class.layout.organisation.as_str(), module);
            let entry = modules.entry(key).or_insert(ProjectModule {
                layers: BTreeSet::new(),
                first: class,
                first_layer: layer,
            });
            entry.layers.insert(layer);
            if (class.file, class.span.start) < (entry.first.file, entry.first.span.start) {
                entry.first = class;
                entry.first_layer = layer;
            }
        }
        let prefix = upper_first(suggested_prefix(project.settings));
        for ((organisation, module), found) in modules {
            let is_core = |name: &str| core_modules.contains(&name.to_ascii_lowercase());
            if is_core(module)
                || without_code_bucket(module, &code_buckets).is_some_and(is_core)
                || has_project_prefix(module, &project.settings.prefixes)
            {
                continue;
            }
            let first = found.first;
            let span = module_span(
                project,
                first.file,
                &format!("{organisation}\\{}\\", found.first_layer),
                module,
            )
            .unwrap_or(first.name_span);
            let layers = found.layers.into_iter().collect::<Vec<_>>().join(", ");
            sink.push(project.finding(
                &META,
                first.file,
                span,
                format!(
                    "module `{module}` ({layers}) is not a core module and has no project prefix: a later Spryker release may ship a module `{module}` that the project's would replace; rename it to `{prefix}{module}`"
                ),
            ));
        }
    }
}

/// A project module: the layers it has and its first class.
struct ProjectModule<'a> {
    layers: BTreeSet<&'a str>,
    first: &'a ClassLike,
    first_layer: &'a str,
}

/// `PriceUS` with the code bucket `US` is core's `Price`: Spryker's kernel resolves a module's
/// classes in `<Module><CodeBucket>` first. The module without its bucket, when it ends with
/// one (and is more than the bucket).
fn without_code_bucket<'m>(module: &'m str, buckets: &[String]) -> Option<&'m str> {
    buckets
        .iter()
        .filter(|bucket| !bucket.is_empty())
        .find_map(|bucket| module.strip_suffix(bucket.as_str()))
        .filter(|stripped| !stripped.is_empty())
}

/// The code buckets the project configures: the string literals of the arrays that
/// `getCodeBuckets()` of a project `CodeBucketConfig` returns (every branch counts). A
/// bucket list computed at run time (from the stores, the environment) is not known here.
fn code_buckets(project: &ProjectScope<'_>) -> Vec<String> {
    let mut buckets = Vec::new();
    for class in project.index.project_classes() {
        if class.short_name() != "CodeBucketConfig" {
            continue;
        }
        let Some(body) = class
            .method("getCodeBuckets")
            .and_then(|method| method.body_span)
        else {
            continue;
        };
        let Some(text) = project
            .project
            .source(class.file)
            .and_then(|source| source.text.get(body.start as usize..body.end as usize))
        else {
            continue;
        };
        let returned = classify_returns(&String::from_utf8_lossy(text), string_literals);
        buckets.extend(returned.into_iter().flatten().flatten().flatten());
    }
    buckets.sort();
    buckets.dedup();
    buckets
}

/// The string literals of an array literal (`['DE', 'AT']`); other elements are skipped.
fn string_literals(value: &Expression<'_>) -> Vec<String> {
    let elements = match value {
        Expression::Array(array) => &array.elements,
        Expression::LegacyArray(array) => &array.elements,
        _ => return Vec::new(),
    };
    elements
        .iter()
        .filter_map(|element| match element {
            ArrayElement::Value(element) => match unparenthesized(element.value) {
                Expression::Literal(Literal::String(string)) => string
                    .value
                    .and_then(|value| std::str::from_utf8(value).ok())
                    .map(str::to_string),
                _ => None,
            },
            _ => None,
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::packages::test_support::{findings, run_rules};

    #[test]
    fn a_module_is_reported_once_with_its_layers() {
        let report = run_rules(
            &["not-unique-module-name"],
            &[
                (
                    "vendor/spryker/price/src/Spryker/Zed/Price/PriceConfig.php",
                    "<?php\nnamespace Spryker\\Zed\\Price;\nclass PriceConfig {}\n",
                ),
                (
                    "src/Pyz/Zed/Brand/BrandConfig.php",
                    "<?php\nnamespace Pyz\\Zed\\Brand;\nclass BrandConfig {}\n",
                ),
                (
                    "src/Pyz/Client/Brand/BrandClient.php",
                    "<?php\nnamespace Pyz\\Client\\Brand;\nclass BrandClient {}\n",
                ),
                (
                    "src/Pyz/Yves/Brand/BrandFactory.php",
                    "<?php\nnamespace Pyz\\Yves\\Brand;\nclass BrandFactory {}\n",
                ),
            ],
        );
        assert_eq!(
            findings(&report),
            [
                "not-unique-module-name src/Pyz/Client/Brand/BrandClient.php:2: module `Brand` (Client, Yves, Zed) is not a core module and has no project prefix: a later Spryker release may ship a module `Brand` that the project's would replace; rename it to `PyzBrand`"
            ]
        );
    }

    #[test]
    fn code_buckets_are_stripped_only_as_a_suffix_of_a_longer_name() {
        let buckets = vec!["US".to_string(), "DE".to_string()];
        assert_eq!(without_code_bucket("PriceUS", &buckets), Some("Price"));
        assert_eq!(without_code_bucket("PriceDE", &buckets), Some("Price"));
        assert_eq!(without_code_bucket("US", &buckets), None);
        assert_eq!(without_code_bucket("PriceUs", &buckets), None);
        assert_eq!(without_code_bucket("Price", &[]), None);
    }
}
