//! `private-api-persistence`: a project repository or entity manager calls a factory method
//! that core declares.

use upkeep_php::spryker::ClassRole;

use super::{is_project_class_with_role, member, report_core_declared_calls};
use crate::rule::{Category, Example, PhpFile, Rule, RuleMeta, Sink, own_documentation};

pub struct PrivateApiPersistence;

pub static META: RuleMeta = RuleMeta {
    name: "private-api-persistence",
    spryker_ids: &["PrivateApi:Persistence"],
    category: Category::PrivateApi,
    summary: "A project repository or entity manager calls a persistence-factory method declared in core.",
    documentation: "\
## What it finds
A method call in a project `*Repository` or `*EntityManager` class whose receiver is a factory
(typically `$this->getFactory()`, typed by the class's `@method` tag or core's) and whose
method is declared in core: `$this->getFactory()->createProductQuery()` where core's
`ProductPersistenceFactory` declares `createProductQuery()`. Methods the project factory
declares or overrides are not reported, nor are the kernel's (`getConfig()`). The receiver is
followed through variables, closures and `@var` annotations. The finding points at the called
method's name.

## Why it matters
A persistence factory's query and mapper constructors are core's private API: Spryker renames
them or changes what they return in minor releases, and the project's queries break.

## Example
```php
/**
 * @method \\Pyz\\Zed\\Product\\Persistence\\ProductPersistenceFactory getFactory()
 */
class ProductRepository extends SprykerProductRepository
{
    public function findPyzProductSkus(): array
    {
        return $this->getFactory()->createProductQuery()->select('sku')->find()->getData();
    }
}
```

## Instead
```php
    public function findPyzProductSkus(): array
    {
        return $this->getFactory()->createPyzProductQuery()->select('sku')->find()->getData();
    }
```

## Fix
Declare the query or mapper the project needs in the project's persistence factory under a
project-prefixed name (`createPyzProductQuery()` returning `SpyProductQuery::create()`), and
use that. When the data is core's, read it through the core module's facade or ask Spryker
for an extension point.

## Configuration
`@upkeep-ignore private-api-persistence` in the doc block of the method or class silences the
rule there; `tooling.yml` `evaluator.ignoreErrors` entries for `PrivateApi:Persistence` apply
too.

## Spryker id
`PrivateApi:Persistence`
",
    bad_example: Example {
        files: &[
            (
                "src/Pyz/Zed/Product/Persistence/ProductRepository.php",
                "<?php\nnamespace Pyz\\Zed\\Product\\Persistence;\n\n/**\n * @method \\Spryker\\Zed\\Product\\Persistence\\ProductPersistenceFactory getFactory()\n */\nclass ProductRepository\n{\n    public function findSkus(): array\n    {\n        return $this->getFactory()->createProductQuery()->find();\n    }\n}\n",
            ),
            (
                "vendor/spryker/product/src/Spryker/Zed/Product/Persistence/ProductPersistenceFactory.php",
                "<?php\nnamespace Spryker\\Zed\\Product\\Persistence;\n\nclass ProductPersistenceFactory\n{\n    public function createProductQuery()\n    {\n    }\n}\n",
            ),
        ],
    },
    good_example: Example {
        files: &[
            (
                "src/Pyz/Zed/Product/Persistence/ProductRepository.php",
                "<?php\nnamespace Pyz\\Zed\\Product\\Persistence;\n\n/**\n * @method \\Pyz\\Zed\\Product\\Persistence\\ProductPersistenceFactory getFactory()\n */\nclass ProductRepository\n{\n    public function findSkus(): array\n    {\n        return $this->getFactory()->createPyzProductQuery()->find();\n    }\n}\n",
            ),
            (
                "src/Pyz/Zed/Product/Persistence/ProductPersistenceFactory.php",
                "<?php\nnamespace Pyz\\Zed\\Product\\Persistence;\n\nuse Spryker\\Zed\\Product\\Persistence\\ProductPersistenceFactory as SprykerProductPersistenceFactory;\n\nclass ProductPersistenceFactory extends SprykerProductPersistenceFactory\n{\n    public function createPyzProductQuery()\n    {\n    }\n}\n",
            ),
            (
                "vendor/spryker/product/src/Spryker/Zed/Product/Persistence/ProductPersistenceFactory.php",
                "<?php\nnamespace Spryker\\Zed\\Product\\Persistence;\n\nclass ProductPersistenceFactory\n{\n    public function createProductQuery()\n    {\n    }\n}\n",
            ),
        ],
    },
    guideline: own_documentation!("private-api-persistence"),
    needs_core: true,
};

impl Rule for PrivateApiPersistence {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_php_file(&self, file: &PhpFile<'_, '_>, sink: &mut Sink) {
        report_core_declared_calls(
            file,
            sink,
            &META,
            |class| {
                is_project_class_with_role(
                    class,
                    &[ClassRole::Repository, ClassRole::EntityManager],
                )
            },
            &[ClassRole::Factory],
            |site, target| {
                format!(
                    "`{}` calls factory method `{}()`, which core declares in `{}` and may change in any minor release; declare a project-prefixed method in the project's persistence factory instead, or read core's data through its facade",
                    member(site.environment.class(), site.method),
                    target.method.name,
                    target.declaring_class.name,
                )
            },
        );
    }
}
