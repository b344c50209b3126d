//! `private-api-dependency-in-business-model`: a project business model takes a core
//! private-API type in its constructor.

use mago_span::HasSpan;
use mago_syntax::ast::{ClassLikeMember, Method};
use upkeep_php::ClassLike;
use upkeep_php::infer::class_names;
use upkeep_php::names::ClassScope;

use super::{guideline, is_private_api_name, is_project_business_model, project_classes_of};
use crate::rule::{Category, Example, PhpFile, Rule, RuleMeta, Sink};

pub struct PrivateApiDependencyInBusinessModel;

pub static META: RuleMeta = RuleMeta {
    name: "private-api-dependency-in-business-model",
    spryker_ids: &["PrivateApi:DependencyInBusinessModel"],
    category: Category::PrivateApi,
    summary: "A project business model takes a core private-API type in its constructor.",
    documentation: "\
## What it finds
A constructor parameter of a project business model (a class whose short name does not end in
`Factory`, `Facade`, `Repository`, `Plugin` and the other non-model suffixes) whose type names
a core class or interface that is private API: a core business model such as
`ProductReaderInterface` or a core bridge, rather than a facade, client, service, query
container, plugin, config, transfer or exception. Declared types are read with imports and
aliases resolved, through `?Type` and unions (each class is checked); an untyped parameter is
read from the constructor's `@param` tag. Promoted constructor parameters count. The finding
points at the parameter's type (or, for a `@param`-only type, at the parameter).

Spryker's checker read only the constructor's `@param` tags; this rule reads the declared
types first.

## Why it matters
A project class that is handed core internals depends on their exact interface: core changes
business-model interfaces and bridges in minor releases, and the project class, and the
factory that builds it, break.

## Example
```php
use Spryker\\Zed\\Product\\Business\\Reader\\ProductReaderInterface;

class ProductExporter
{
    public function __construct(protected ProductReaderInterface $productReader)
    {
    }
}
```

## Instead
```php
use Spryker\\Zed\\Product\\Business\\ProductFacadeInterface;

class ProductExporter
{
    public function __construct(protected ProductFacadeInterface $productFacade)
    {
    }
}
```

## Fix
Inject the core module's facade (or client, service) and call its methods, or a project class
of your own. When the facade lacks what you need, ask Spryker for an extension point.

## Configuration
`@upkeep-ignore private-api-dependency-in-business-model` in the doc block of the constructor
or class silences the rule there; `tooling.yml` `evaluator.ignoreErrors` entries for
`PrivateApi:DependencyInBusinessModel` apply too.

## Spryker id
`PrivateApi:DependencyInBusinessModel`
",
    bad_example: Example {
        files: &[
            (
                "src/Pyz/Zed/Product/Business/Exporter/ProductExporter.php",
                "<?php\nnamespace Pyz\\Zed\\Product\\Business\\Exporter;\n\nuse Spryker\\Zed\\Product\\Business\\Reader\\ProductReaderInterface;\n\nclass ProductExporter\n{\n    public function __construct(protected ProductReaderInterface $productReader)\n    {\n    }\n}\n",
            ),
            (
                "vendor/spryker/product/src/Spryker/Zed/Product/Business/Reader/ProductReaderInterface.php",
                "<?php\nnamespace Spryker\\Zed\\Product\\Business\\Reader;\n\ninterface ProductReaderInterface\n{\n}\n",
            ),
        ],
    },
    good_example: Example {
        files: &[
            (
                "src/Pyz/Zed/Product/Business/Exporter/ProductExporter.php",
                "<?php\nnamespace Pyz\\Zed\\Product\\Business\\Exporter;\n\nuse Spryker\\Zed\\Product\\Business\\ProductFacadeInterface;\n\nclass ProductExporter\n{\n    public function __construct(protected ProductFacadeInterface $productFacade)\n    {\n    }\n}\n",
            ),
            (
                "vendor/spryker/product/src/Spryker/Zed/Product/Business/ProductFacadeInterface.php",
                "<?php\nnamespace Spryker\\Zed\\Product\\Business;\n\ninterface ProductFacadeInterface\n{\n}\n",
            ),
        ],
    },
    guideline: guideline!("private-api-is-used-on-the-project-level.html"),
    needs_core: true,
};

impl Rule for PrivateApiDependencyInBusinessModel {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_php_file(&self, file: &PhpFile<'_, '_>, sink: &mut Sink) {
        for (class, facts) in project_classes_of(file, is_project_business_model) {
            for member in &class.members {
                if let ClassLikeMember::Method(method) = member
                    && method.name.value.eq_ignore_ascii_case(b"__construct")
                {
                    check_constructor(file, facts, method, sink);
                }
            }
        }
    }
}

fn check_constructor(
    file: &PhpFile<'_, '_>,
    class: &ClassLike,
    method: &Method<'_>,
    sink: &mut Sink,
) {
    let start = method.span().start.offset;
    let context = file.facts.context_at(start);
    let scope = ClassScope {
        name: &class.name,
        parent: class.parent(),
    };
    let documented: Vec<(&str, &str)> = class
        .methods
        .iter()
        .find(|info| info.span.start == start)
        .and_then(|info| info.doc.as_ref())
        .map(upkeep_php::docblock::DocBlock::params)
        .unwrap_or_default();
    for parameter in &method.parameter_list.parameters {
        let name = std::str::from_utf8(parameter.variable.name)
            .unwrap_or_default()
            .trim_start_matches('$');
        let (resolved, span) = if let Some(hint) = &parameter.hint {
            (
                context.resolve_type(file.source(hint.span()), Some(scope)),
                hint.span(),
            )
        } else {
            let Some((written, _)) = documented
                .iter()
                .find(|(_, documented)| *documented == name)
            else {
                continue;
            };
            (
                context.resolve_type(written, Some(scope)),
                parameter.variable.span,
            )
        };
        let private: Vec<&str> = class_names(&resolved)
            .into_iter()
            .filter(|candidate| is_private_api_name(candidate, file.index))
            .collect();
        if private.is_empty() {
            continue;
        }
        sink.push(file.finding(
            &META,
            span,
            format!(
                "`{}::__construct()` takes `${name}` as `{}`, core private API that may change in any minor release; inject the module's facade (or client, service) instead, or ask Spryker for an extension point",
                class.short_name(),
                private.join("|"),
            ),
        ));
    }
}
