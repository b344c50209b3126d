//! `private-api-object-initialization`: a project business model instantiates a core class that
//! is private API.

use mago_span::HasSpan;
use mago_syntax::ast::{Expression, Instantiation};
use upkeep_php::spryker::ClassRole;

use super::{
    BodyVisitor, Site, USE_PUBLIC_API, is_private_api_name, is_project_business_model, member,
    visit_method_bodies,
};
use crate::rule::{Category, Example, PhpFile, Rule, RuleMeta, Sink, own_documentation};

pub struct PrivateApiObjectInitialization;

pub static META: RuleMeta = RuleMeta {
    name: "private-api-object-initialization",
    spryker_ids: &["PrivateApi:ObjectInitialization"],
    category: Category::PrivateApi,
    summary: "A project business model instantiates a core class that is private API.",
    documentation: "\
## What it finds
`new X(...)` in a method of a project business model (closures included), where `X`, after
resolving imports and aliases, is a core class that is private API: a business model, mapper,
reader or writer rather than a facade, client, plugin, config or other public API, and not on
the ignore list (`Kernel`, `DecimalObject`, ...). Transfer objects and exceptions are public
and never reported. The finding points at the `new` expression.

## Why it matters
Instantiating a core business model hard-codes its constructor: core adds, removes and
reorders constructor dependencies in minor releases, and the project's `new` then fails.
Core's factory is the only place that is expected to know how to build it.

## Example
```php
class ProductExporter
{
    public function export(): void
    {
        $mapper = new ProductMapper();
    }
}
```

## Instead
```php
class ProductExporter
{
    public function __construct(protected PyzProductMapper $productMapper)
    {
    }
}
```

## Fix
Build objects in the project's factory and inject them, use project classes of your own, or
call the module's facade for what the core class computes. When core offers no way in, ask
Spryker for an extension point.

## Configuration
`@upkeep-ignore private-api-object-initialization` in the doc block of the method or class
silences the rule there; `tooling.yml` `evaluator.ignoreErrors` entries for
`PrivateApi:ObjectInitialization` apply too.

## Spryker id
`PrivateApi:ObjectInitialization`
",
    bad_example: Example {
        files: &[
            (
                "src/Pyz/Zed/Product/Business/Exporter/ProductExporter.php",
                "<?php\nnamespace Pyz\\Zed\\Product\\Business\\Exporter;\n\nuse Spryker\\Zed\\Product\\Business\\Mapper\\ProductMapper;\n\nclass ProductExporter\n{\n    public function export(): void\n    {\n        $mapper = new ProductMapper();\n    }\n}\n",
            ),
            (
                "vendor/spryker/product/src/Spryker/Zed/Product/Business/Mapper/ProductMapper.php",
                "<?php\nnamespace Spryker\\Zed\\Product\\Business\\Mapper;\n\nclass ProductMapper\n{\n}\n",
            ),
        ],
    },
    good_example: Example {
        files: &[
            (
                "src/Pyz/Zed/Product/Business/Exporter/ProductExporter.php",
                "<?php\nnamespace Pyz\\Zed\\Product\\Business\\Exporter;\n\nuse Spryker\\Zed\\Product\\Business\\Exception\\MissingProductException;\n\nclass ProductExporter\n{\n    public function export(): void\n    {\n        $mapper = new PyzProductMapper();\n        throw new MissingProductException();\n    }\n}\n",
            ),
            (
                "vendor/spryker/product/src/Spryker/Zed/Product/Business/Exception/MissingProductException.php",
                "<?php\nnamespace Spryker\\Zed\\Product\\Business\\Exception;\n\nclass MissingProductException extends \\Exception\n{\n}\n",
            ),
        ],
    },
    guideline: own_documentation!("private-api-object-initialization"),
    needs_core: true,
};

impl Rule for PrivateApiObjectInitialization {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_php_file(&self, file: &PhpFile<'_, '_>, sink: &mut Sink) {
        let mut visitor = Instantiations { file, sink };
        visit_method_bodies(file, is_project_business_model, &mut visitor);
    }
}

struct Instantiations<'f, 'a, 'arena, 's> {
    file: &'f PhpFile<'a, 'arena>,
    sink: &'s mut Sink,
}

impl<'a> BodyVisitor<'a> for Instantiations<'_, 'a, '_, '_> {
    fn instantiation(&mut self, site: &Site<'_, 'a>, instantiation: &Instantiation<'_>) {
        // `new self` and `new static` build the project class itself.
        let Expression::Identifier(_) = instantiation.class else {
            return;
        };
        let Some(class) = site.environment.class_expression(instantiation.class) else {
            return;
        };
        // Transfers and exceptions are public API (the spec excepts them explicitly).
        let role = ClassRole::of(upkeep_php::names::short_name(&class));
        if matches!(role, ClassRole::Transfer | ClassRole::Exception)
            || !is_private_api_name(&class, self.file.index)
        {
            return;
        }
        self.sink.push(self.file.finding(
            &META,
            instantiation.span(),
            format!(
                "`{}` instantiates `{class}`, a core class that is private API whose constructor may change in any minor release; build it in the project's factory and inject it, or {USE_PUBLIC_API}",
                member(site.environment.class(), site.method),
            ),
        ));
    }
}
