//! `private-api-core-persistence-usage`: a project repository or entity manager calls a method
//! it inherits from core.

use mago_syntax::ast::Call;
use upkeep_php::spryker::ClassRole;

use super::{
    BodyVisitor, Site, called_method, is_call_on_this, is_core_declared,
    is_project_class_with_role, member, visit_method_bodies,
};
use crate::rule::{Category, Example, PhpFile, Rule, RuleMeta, Sink, own_documentation};

pub struct PrivateApiCorePersistenceUsage;

pub static META: RuleMeta = RuleMeta {
    name: "private-api-core-persistence-usage",
    spryker_ids: &["PrivateApi:CorePersistenceUsage"],
    category: Category::PrivateApi,
    summary: "A project repository or entity manager calls a method it inherits from core.",
    documentation: "\
## What it finds
In a project `*Repository` or `*EntityManager` class, a call on the class itself —
`$this->method()`, `$this?->method()`, `self::method()`, `static::method()` or
`parent::method()` (closures included) — of a method that a core class declares: the core
repository or entity manager the project class extends, a core trait it uses, or a core
class further up. Methods the project class (or a project parent) declares or overrides are
not reported, nor are the kernel's (`getFactory()`, `getConfig()`): those are the framework.
The finding points at the called method's name.

Spryker's checker found `$this->method(` calls with regular expressions; this rule also sees
`parent::` and static calls, and resolves the method through the whole class chain and its
traits.

## Why it matters
A core repository's or entity manager's own methods are its internals: core changes their
queries, parameters and return values in minor releases. A project persistence class that
builds on them breaks with core updates.

## Example
```php
class CustomerAccessEntityManager extends SprykerCustomerAccessEntityManager
{
    public function setPyzContentTypesToInaccessible(CustomerAccessTransfer $customerAccessTransfer): void
    {
        $entity = $this->getCustomerAccessEntityByContentType($customerAccessTransfer);
    }
}
```

## Instead
```php
    public function setPyzContentTypesToInaccessible(CustomerAccessTransfer $customerAccessTransfer): void
    {
        $entity = $this->findPyzCustomerAccessEntity($customerAccessTransfer);
    }
```

## Fix
Write the query the project needs as a project method of the repository or entity manager
(with a project prefix), or use the core module's facade. When core offers no extension point
for the change, ask Spryker for one.

## Configuration
`@upkeep-ignore private-api-core-persistence-usage` in the doc block of the method or class
silences the rule there; `tooling.yml` `evaluator.ignoreErrors` entries for
`PrivateApi:CorePersistenceUsage` apply too.

## Spryker id
`PrivateApi:CorePersistenceUsage`
",
    bad_example: Example {
        files: &[
            (
                "src/Pyz/Zed/CustomerAccess/Persistence/CustomerAccessEntityManager.php",
                "<?php\nnamespace Pyz\\Zed\\CustomerAccess\\Persistence;\n\nuse Spryker\\Zed\\CustomerAccess\\Persistence\\CustomerAccessEntityManager as SprykerCustomerAccessEntityManager;\n\nclass CustomerAccessEntityManager extends SprykerCustomerAccessEntityManager\n{\n    public function setPyzContentTypesToInaccessible($customerAccessTransfer): void\n    {\n        $entity = $this->getCustomerAccessEntityByContentType($customerAccessTransfer);\n    }\n}\n",
            ),
            (
                "vendor/spryker/customer-access/src/Spryker/Zed/CustomerAccess/Persistence/CustomerAccessEntityManager.php",
                "<?php\nnamespace Spryker\\Zed\\CustomerAccess\\Persistence;\n\nclass CustomerAccessEntityManager\n{\n    protected function getCustomerAccessEntityByContentType($customerAccessTransfer)\n    {\n    }\n}\n",
            ),
        ],
    },
    good_example: Example {
        files: &[
            (
                "src/Pyz/Zed/CustomerAccess/Persistence/CustomerAccessEntityManager.php",
                "<?php\nnamespace Pyz\\Zed\\CustomerAccess\\Persistence;\n\nuse Spryker\\Zed\\CustomerAccess\\Persistence\\CustomerAccessEntityManager as SprykerCustomerAccessEntityManager;\n\nclass CustomerAccessEntityManager extends SprykerCustomerAccessEntityManager\n{\n    public function setPyzContentTypesToInaccessible($customerAccessTransfer): void\n    {\n        $entity = $this->findPyzCustomerAccessEntity($customerAccessTransfer);\n    }\n\n    protected function findPyzCustomerAccessEntity($customerAccessTransfer)\n    {\n    }\n}\n",
            ),
            (
                "vendor/spryker/customer-access/src/Spryker/Zed/CustomerAccess/Persistence/CustomerAccessEntityManager.php",
                "<?php\nnamespace Spryker\\Zed\\CustomerAccess\\Persistence;\n\nclass CustomerAccessEntityManager\n{\n    protected function getCustomerAccessEntityByContentType($customerAccessTransfer)\n    {\n    }\n}\n",
            ),
        ],
    },
    guideline: own_documentation!("private-api-core-persistence-usage"),
    needs_core: true,
};

impl Rule for PrivateApiCorePersistenceUsage {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_php_file(&self, file: &PhpFile<'_, '_>, sink: &mut Sink) {
        let mut visitor = InheritedCalls { file, sink };
        visit_method_bodies(
            file,
            |class| {
                is_project_class_with_role(
                    class,
                    &[ClassRole::Repository, ClassRole::EntityManager],
                )
            },
            &mut visitor,
        );
    }
}

struct InheritedCalls<'f, 'a, 'arena, 's> {
    file: &'f PhpFile<'a, 'arena>,
    sink: &'s mut Sink,
}

impl<'a> BodyVisitor<'a> for InheritedCalls<'_, 'a, '_, '_> {
    fn call(&mut self, site: &Site<'_, 'a>, call: &Call<'_>) {
        if !is_call_on_this(call) {
            return;
        }
        let Some((_, span)) = called_method(call) else {
            return;
        };
        let Some(target) = site.environment.resolve_call(call) else {
            return;
        };
        if !is_core_declared(target.declaring_class) {
            return;
        }
        self.sink.push(self.file.finding(
            &META,
            span,
            format!(
                "`{}` calls `{}()`, which it inherits from core `{}`: core persistence methods are private API and may change in any minor release; write a project-prefixed query method (or use the core facade) instead, or ask Spryker for an extension point",
                member(site.environment.class(), site.method),
                target.method.name,
                target.declaring_class.name,
            ),
        ));
    }
}
