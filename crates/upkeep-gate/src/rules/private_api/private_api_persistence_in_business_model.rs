//! `private-api-persistence-in-business-model`: a project business model calls a core-declared
//! method on an injected repository or entity manager.

use upkeep_php::spryker::ClassRole;

use super::{is_project_business_model, member, report_core_declared_calls};
use crate::rule::{Category, Example, PhpFile, Rule, RuleMeta, Sink, own_documentation};

pub struct PrivateApiPersistenceInBusinessModel;

pub static META: RuleMeta = RuleMeta {
    name: "private-api-persistence-in-business-model",
    spryker_ids: &["PrivateApi:PersistenceInBusinessModel"],
    category: Category::PrivateApi,
    summary: "A project business model calls a core-declared method on a repository or entity manager.",
    documentation: "\
## What it finds
A method call in a project business model whose receiver is a repository or entity manager
(by its class or interface name: `*Repository`, `*EntityManager`, `...Interface`) and whose
method is declared in core, including methods a project interface only inherits from core's.
The receiver is typed from what the model was given: declared, `@var`-annotated and promoted
constructor properties (`$this->productRepository->...`), parameters, local variables and
closures. Methods the project's repository or interface declares are fine. The finding points
at the called method's name.

Spryker's checker only followed properties whose `@var` matched a constructor `@param` tag,
on one line; this rule follows declared types and aliases too.

## Why it matters
A core repository's or entity manager's methods serve core's business logic and change with
it in minor releases: project models that call them break on updates.

## Example
```php
class ProductExporter
{
    public function __construct(protected ProductRepositoryInterface $productRepository)
    {
    }

    public function export(int $idProduct): void
    {
        $product = $this->productRepository->findProductConcreteById($idProduct);
    }
}
```

## Instead
```php
    public function export(int $idProduct): void
    {
        $product = $this->productFacade->findProductConcreteById($idProduct);
    }
```

## Fix
Call the core module's facade for core data, or declare the query in the project's own
repository (interface) under a project-prefixed name. When neither is possible, ask Spryker
for an extension point.

## Configuration
`@upkeep-ignore private-api-persistence-in-business-model` in the doc block of the method or
class silences the rule there; `tooling.yml` `evaluator.ignoreErrors` entries for
`PrivateApi:PersistenceInBusinessModel` apply too.

## Spryker id
`PrivateApi:PersistenceInBusinessModel`
",
    bad_example: Example {
        files: &[
            (
                "src/Pyz/Zed/Product/Business/Exporter/ProductExporter.php",
                "<?php\nnamespace Pyz\\Zed\\Product\\Business\\Exporter;\n\nuse Spryker\\Zed\\Product\\Persistence\\ProductRepositoryInterface;\n\nclass ProductExporter\n{\n    public function __construct(protected ProductRepositoryInterface $productRepository)\n    {\n    }\n\n    public function export(int $idProduct): void\n    {\n        $product = $this->productRepository->findProductConcreteById($idProduct);\n    }\n}\n",
            ),
            (
                "vendor/spryker/product/src/Spryker/Zed/Product/Persistence/ProductRepositoryInterface.php",
                "<?php\nnamespace Spryker\\Zed\\Product\\Persistence;\n\ninterface ProductRepositoryInterface\n{\n    public function findProductConcreteById(int $idProduct);\n}\n",
            ),
        ],
    },
    good_example: Example {
        files: &[
            (
                "src/Pyz/Zed/Product/Business/Exporter/ProductExporter.php",
                "<?php\nnamespace Pyz\\Zed\\Product\\Business\\Exporter;\n\nuse Spryker\\Zed\\Product\\Business\\ProductFacadeInterface;\n\nclass ProductExporter\n{\n    public function __construct(protected ProductFacadeInterface $productFacade)\n    {\n    }\n\n    public function export(int $idProduct): void\n    {\n        $product = $this->productFacade->findProductConcreteById($idProduct);\n    }\n}\n",
            ),
            (
                "vendor/spryker/product/src/Spryker/Zed/Product/Business/ProductFacadeInterface.php",
                "<?php\nnamespace Spryker\\Zed\\Product\\Business;\n\ninterface ProductFacadeInterface\n{\n    public function findProductConcreteById(int $idProduct);\n}\n",
            ),
        ],
    },
    guideline: own_documentation!("private-api-persistence-in-business-model"),
    needs_core: true,
};

const RECEIVERS: &[ClassRole] = &[ClassRole::Repository, ClassRole::EntityManager];

impl Rule for PrivateApiPersistenceInBusinessModel {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_php_file(&self, file: &PhpFile<'_, '_>, sink: &mut Sink) {
        report_core_declared_calls(
            file,
            sink,
            &META,
            is_project_business_model,
            RECEIVERS,
            |site, target| {
                format!(
                    "`{}` calls `{}()` on `{}`, which core declares in `{}`: core persistence methods are private API and may change in any minor release; call the module's facade instead, or declare a project-prefixed method in the project's repository or entity manager",
                    member(site.environment.class(), site.method),
                    target.method.name,
                    target.receiver.short_name(),
                    target.declaring_class.name,
                )
            },
        );
    }
}
