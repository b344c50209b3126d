//! `private-api-facade`: a project facade calls a factory, repository or entity-manager method
//! that core declares.

use upkeep_php::spryker::ClassRole;

use super::{is_project_class_with_role, member, report_core_declared_calls, role_of};
use crate::rule::{Category, Example, PhpFile, Rule, RuleMeta, Sink, own_documentation};

pub struct PrivateApiFacade;

pub static META: RuleMeta = RuleMeta {
    name: "private-api-facade",
    spryker_ids: &["PrivateApi:Facade"],
    category: Category::PrivateApi,
    summary: "A project facade calls a factory, repository or entity-manager method declared in core.",
    documentation: "\
## What it finds
A method call in a project `*Facade` class whose receiver is a factory, repository or entity
manager (by the receiver's class name) and whose method is declared in core, not in the
project. Receivers are typed by the facade's `@method` tags (`getFactory()`,
`getRepository()`, `getEntityManager()`), inherited from core's facade when the project's
class has none, and followed through local variables (`$factory = $this->getFactory();`),
closures, `@var` annotations and aliased imports. A method the project factory declares or
overrides is the project's and is not reported; nor are the kernel's own methods
(`getConfig()`, `getProvidedDependency()`). The finding points at the called method's name.

Spryker's checker matched `$this->getFactory()->method(` with regular expressions and only on
one line; this rule follows the types, so chains split over lines and factories held in
variables are found too.

## Why it matters
Factory `create*()` methods, repository queries and entity-manager writes are core's private
construction: they are renamed, change signatures or disappear in minor releases. A project
facade that calls them breaks on update even though its own code did not change.

## Example
```php
/**
 * @method \\Pyz\\Zed\\Product\\Business\\ProductBusinessFactory getFactory()
 */
class ProductFacade extends SprykerProductFacade
{
    public function findProduct(int $idProduct): ?ProductTransfer
    {
        return $this->getFactory()->createProductReader()->findProduct($idProduct);
    }
}
```

## Instead
```php
    public function findProduct(int $idProduct): ?ProductTransfer
    {
        return $this->getFactory()->createPyzProductReader()->findProduct($idProduct);
    }
```

## Fix
Declare the construction the facade needs in the project's factory (a project-prefixed
`create*()` method building project classes), or call the core module's facade for core
behaviour. When core offers no extension point for the change, ask Spryker for one.

## Configuration
`@upkeep-ignore private-api-facade` in the doc block of the method or class silences the rule
there; `tooling.yml` `evaluator.ignoreErrors` entries for `PrivateApi:Facade` apply too.

## Spryker id
`PrivateApi:Facade`
",
    bad_example: Example {
        files: &[
            (
                "src/Pyz/Zed/Product/Business/ProductFacade.php",
                "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\n/**\n * @method \\Spryker\\Zed\\Product\\Business\\ProductBusinessFactory getFactory()\n */\nclass ProductFacade\n{\n    public function findProduct(int $idProduct)\n    {\n        return $this->getFactory()->createProductReader()->findProduct($idProduct);\n    }\n}\n",
            ),
            (
                "vendor/spryker/product/src/Spryker/Zed/Product/Business/ProductBusinessFactory.php",
                "<?php\nnamespace Spryker\\Zed\\Product\\Business;\n\nclass ProductBusinessFactory\n{\n    public function createProductReader()\n    {\n    }\n}\n",
            ),
        ],
    },
    good_example: Example {
        files: &[
            (
                "src/Pyz/Zed/Product/Business/ProductFacade.php",
                "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\n/**\n * @method \\Pyz\\Zed\\Product\\Business\\ProductBusinessFactory getFactory()\n */\nclass ProductFacade\n{\n    public function findProduct(int $idProduct)\n    {\n        return $this->getFactory()->createPyzProductReader()->findProduct($idProduct);\n    }\n}\n",
            ),
            (
                "src/Pyz/Zed/Product/Business/ProductBusinessFactory.php",
                "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\nuse Spryker\\Zed\\Product\\Business\\ProductBusinessFactory as SprykerProductBusinessFactory;\n\nclass ProductBusinessFactory extends SprykerProductBusinessFactory\n{\n    public function createPyzProductReader()\n    {\n    }\n}\n",
            ),
            (
                "vendor/spryker/product/src/Spryker/Zed/Product/Business/ProductBusinessFactory.php",
                "<?php\nnamespace Spryker\\Zed\\Product\\Business;\n\nclass ProductBusinessFactory\n{\n    public function createProductReader()\n    {\n    }\n}\n",
            ),
        ],
    },
    guideline: own_documentation!("private-api-facade"),
    needs_core: true,
};

const RECEIVERS: &[ClassRole] = &[
    ClassRole::Factory,
    ClassRole::Repository,
    ClassRole::EntityManager,
];

impl Rule for PrivateApiFacade {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_php_file(&self, file: &PhpFile<'_, '_>, sink: &mut Sink) {
        report_core_declared_calls(
            file,
            sink,
            &META,
            |class| is_project_class_with_role(class, &[ClassRole::Facade]),
            RECEIVERS,
            |site, target| {
                format!(
                    "`{}` calls `{}()`, which core declares in `{}`: core's factory, repository and entity-manager methods are private API and may change in any minor release; add a project-prefixed method to the project's {} and call that, or call the core module's facade",
                    member(site.environment.class(), site.method),
                    target.method.name,
                    target.declaring_class.name,
                    match role_of(target.receiver) {
                        ClassRole::Repository => "repository",
                        ClassRole::EntityManager => "entity manager",
                        _ => "factory",
                    },
                )
            },
        );
    }
}
