//! `private-api-dependency-in-business-model`: a project business model takes a core
//! private-API type in its constructor.

use mago_span::HasSpan;
use mago_syntax::ast::{ClassLikeMember, Method};
use upkeep_php::ClassLike;
use upkeep_php::infer::class_names;
use upkeep_php::names::ClassScope;

use super::{
    is_private_api_name, is_project_business_model, mirrored_constructor_parameters,
    project_classes_of,
};
use crate::rule::{Category, Example, PhpFile, Rule, RuleMeta, Sink, own_documentation};

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

A class that extends a private-API core class must take what the parent's constructor takes
to call `parent::__construct()`: parameters whose private-API types the parent's constructor
takes too are not reported here, since `private-api-extension` reports the extension and names
them. A private-API parameter the parent does not take is reported.

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
    guideline: own_documentation!("private-api-dependency-in-business-model"),
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
    let mirrored = mirrored_constructor_parameters(file.index, class);
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
        if mirrored.iter().any(|(mirrored, _)| *mirrored == name) {
            // `private-api-extension` reports the parent that makes the class take it.
            continue;
        }
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

#[cfg(test)]
mod tests {
    use crate::rules::packages::test_support::{findings, run_rules};

    const CORE_WRITER: (&str, &str) = (
        "vendor/spryker/product/src/Spryker/Zed/Product/Business/Writer/ProductWriter.php",
        "<?php\nnamespace Spryker\\Zed\\Product\\Business\\Writer;\nuse Spryker\\Zed\\Product\\Business\\Reader\\ProductReaderInterface;\nclass ProductWriter\n{\n    public function __construct(ProductReaderInterface $reader) {}\n}\n",
    );
    const CORE_READER: (&str, &str) = (
        "vendor/spryker/product/src/Spryker/Zed/Product/Business/Reader/ProductReaderInterface.php",
        "<?php\nnamespace Spryker\\Zed\\Product\\Business\\Reader;\ninterface ProductReaderInterface {}\n",
    );
    const CORE_MAPPER: (&str, &str) = (
        "vendor/spryker/product/src/Spryker/Zed/Product/Business/Mapper/ProductMapper.php",
        "<?php\nnamespace Spryker\\Zed\\Product\\Business\\Mapper;\nclass ProductMapper {}\n",
    );

    #[test]
    fn mirrored_constructor_parameters_are_part_of_the_extension_finding() {
        let report = run_rules(
            &[
                "private-api-extension",
                "private-api-dependency-in-business-model",
            ],
            &[
                CORE_WRITER,
                CORE_READER,
                CORE_MAPPER,
                (
                    "src/Pyz/Zed/Product/Business/Writer/ProductWriter.php",
                    "<?php\nnamespace Pyz\\Zed\\Product\\Business\\Writer;\nuse Spryker\\Zed\\Product\\Business\\Mapper\\ProductMapper;\nuse Spryker\\Zed\\Product\\Business\\Reader\\ProductReaderInterface;\nuse Spryker\\Zed\\Product\\Business\\Writer\\ProductWriter as SprykerProductWriter;\nclass ProductWriter extends SprykerProductWriter\n{\n    public function __construct(\n        ProductReaderInterface $reader,\n        ProductMapper $mapper,\n    ) {\n        parent::__construct($reader);\n    }\n}\n",
                ),
            ],
        );
        assert_eq!(
            findings(&report),
            [
                "private-api-extension src/Pyz/Zed/Product/Business/Writer/ProductWriter.php:6: `Pyz\\Zed\\Product\\Business\\Writer\\ProductWriter` extends `Spryker\\Zed\\Product\\Business\\Writer\\ProductWriter`, a core class that is private API and may change in any minor release; use the module's public API (facade, client, service or a plugin) or ask Spryker for an extension point instead of extending it; its constructor takes the parent's private-API dependencies `$reader` (Spryker\\Zed\\Product\\Business\\Reader\\ProductReaderInterface) to pass them on, and drops them with the extension",
                "private-api-dependency-in-business-model src/Pyz/Zed/Product/Business/Writer/ProductWriter.php:10: `ProductWriter::__construct()` takes `$mapper` as `Spryker\\Zed\\Product\\Business\\Mapper\\ProductMapper`, core private API that may change in any minor release; inject the module's facade (or client, service) instead, or ask Spryker for an extension point",
            ]
        );
    }

    #[test]
    fn a_class_that_does_not_extend_private_api_has_every_parameter_reported() {
        let report = run_rules(
            &["private-api-dependency-in-business-model"],
            &[
                CORE_READER,
                (
                    "src/Pyz/Zed/Product/Business/Writer/ProductWriter.php",
                    "<?php\nnamespace Pyz\\Zed\\Product\\Business\\Writer;\nuse Spryker\\Zed\\Product\\Business\\Reader\\ProductReaderInterface;\nclass ProductWriter\n{\n    public function __construct(ProductReaderInterface $reader) {}\n}\n",
                ),
            ],
        );
        assert_eq!(report.findings.len(), 1, "{:?}", findings(&report));
        assert_eq!(report.findings[0].location.start.line, 6);
    }
}
