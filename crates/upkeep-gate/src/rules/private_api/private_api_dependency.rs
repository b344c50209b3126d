//! `private-api-dependency`: a project business factory reads a provided dependency by a
//! constant that a core dependency provider declares.

use std::collections::{HashSet, VecDeque};

use mago_span::HasSpan;
use mago_syntax::ast::{Access, Argument, Call, ClassLikeConstantSelector, Expression};
use upkeep_php::spryker::ClassRole;
use upkeep_php::{ClassKind, ClassLike, CodebaseIndex};

use super::{
    BodyVisitor, Site, called_method, is_call_on_this, is_core_declared, member, role_of,
    visit_method_bodies,
};
use crate::rule::{Category, Example, PhpFile, Rule, RuleMeta, Sink, own_documentation};
use crate::rules::dependency_provider::unparenthesized;

pub struct PrivateApiDependency;

pub static META: RuleMeta = RuleMeta {
    name: "private-api-dependency",
    spryker_ids: &["PrivateApi:Dependency"],
    category: Category::PrivateApi,
    summary: "A project business factory reads a provided dependency by a core dependency provider's constant.",
    documentation: "\
## What it finds
In a project `*BusinessFactory`, a call `$this->getProvidedDependency(X::NAME)` (closures
included) where the constant `NAME`, looked up on `X` and its parents and interfaces after
resolving imports, aliases, `self` and `static`, is declared by a core `*DependencyProvider`.
Reading through the project's dependency provider does not help when the constant is
inherited from core: `ProductDependencyProvider::FACADE_LOCALE` is reported when the project's
`ProductDependencyProvider` only inherits `FACADE_LOCALE`. Constants the project declares are
fine. The finding points at the constant.

## Why it matters
Which dependencies a core module provides, and under which keys, is core's internal wiring:
Spryker renames, replaces or stops providing them in minor releases (a facade becomes a
client, a bridge changes), and the project factory fails at runtime with a missing dependency.

## Example
```php
class ProductBusinessFactory extends SprykerProductBusinessFactory
{
    public function getPyzLocaleFacade(): ProductToLocaleInterface
    {
        return $this->getProvidedDependency(ProductDependencyProvider::FACADE_LOCALE);
    }
}
```

## Instead
```php
    public function getPyzLocaleFacade(): LocaleFacadeInterface
    {
        return $this->getProvidedDependency(ProductDependencyProvider::PYZ_FACADE_LOCALE);
    }
```

## Fix
Provide what the project needs in the project's dependency provider under a project
constant (`PYZ_FACADE_LOCALE`, set in `provideBusinessLayerDependencies()` from the locator),
and read it by that constant. Depend on public API (a facade or client) rather than on core's
bridges.

## Configuration
`@upkeep-ignore private-api-dependency` in the doc block of the method or class silences the
rule there; `tooling.yml` `evaluator.ignoreErrors` entries for `PrivateApi:Dependency` apply
too.

## Spryker id
`PrivateApi:Dependency`
",
    bad_example: Example {
        files: &[
            (
                "src/Pyz/Zed/Product/Business/ProductBusinessFactory.php",
                "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\nuse Spryker\\Zed\\Product\\ProductDependencyProvider;\n\nclass ProductBusinessFactory\n{\n    public function getPyzLocaleFacade()\n    {\n        return $this->getProvidedDependency(ProductDependencyProvider::FACADE_LOCALE);\n    }\n}\n",
            ),
            (
                "vendor/spryker/product/src/Spryker/Zed/Product/ProductDependencyProvider.php",
                "<?php\nnamespace Spryker\\Zed\\Product;\n\nclass ProductDependencyProvider\n{\n    public const FACADE_LOCALE = 'FACADE_LOCALE';\n}\n",
            ),
        ],
    },
    good_example: Example {
        files: &[
            (
                "src/Pyz/Zed/Product/Business/ProductBusinessFactory.php",
                "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\nuse Pyz\\Zed\\Product\\ProductDependencyProvider;\n\nclass ProductBusinessFactory\n{\n    public function getPyzLocaleFacade()\n    {\n        return $this->getProvidedDependency(ProductDependencyProvider::PYZ_FACADE_LOCALE);\n    }\n}\n",
            ),
            (
                "src/Pyz/Zed/Product/ProductDependencyProvider.php",
                "<?php\nnamespace Pyz\\Zed\\Product;\n\nuse Spryker\\Zed\\Product\\ProductDependencyProvider as SprykerProductDependencyProvider;\n\nclass ProductDependencyProvider extends SprykerProductDependencyProvider\n{\n    public const PYZ_FACADE_LOCALE = 'PYZ_FACADE_LOCALE';\n}\n",
            ),
            (
                "vendor/spryker/product/src/Spryker/Zed/Product/ProductDependencyProvider.php",
                "<?php\nnamespace Spryker\\Zed\\Product;\n\nclass ProductDependencyProvider\n{\n    public const FACADE_LOCALE = 'FACADE_LOCALE';\n}\n",
            ),
        ],
    },
    guideline: own_documentation!("private-api-dependency"),
    needs_core: true,
};

impl Rule for PrivateApiDependency {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_php_file(&self, file: &PhpFile<'_, '_>, sink: &mut Sink) {
        let mut visitor = DependencyReads { file, sink };
        visit_method_bodies(
            file,
            |class| {
                class.kind == ClassKind::Class
                    && class.layout.origin == upkeep_php::spryker::Origin::Project
                    && class.short_name().ends_with("BusinessFactory")
            },
            &mut visitor,
        );
    }
}

struct DependencyReads<'f, 'a, 'arena, 's> {
    file: &'f PhpFile<'a, 'arena>,
    sink: &'s mut Sink,
}

impl<'a> BodyVisitor<'a> for DependencyReads<'_, 'a, '_, '_> {
    fn call(&mut self, site: &Site<'_, 'a>, call: &Call<'_>) {
        let is_dependency_read = called_method(call)
            .is_some_and(|(name, _)| name.eq_ignore_ascii_case("getProvidedDependency"));
        if !is_dependency_read || !is_call_on_this(call) {
            return;
        }
        let Some(argument) = call.get_argument_list().arguments.first() else {
            return;
        };
        let value = match argument {
            Argument::Positional(argument) => argument.value,
            Argument::Named(argument) => argument.value,
        };
        let Expression::Access(Access::ClassConstant(access)) = unparenthesized(value) else {
            return;
        };
        let ClassLikeConstantSelector::Identifier(constant) = &access.constant else {
            return;
        };
        let Ok(constant) = std::str::from_utf8(constant.value) else {
            return;
        };
        let environment = site.environment;
        let Some(written_on) = environment
            .class_expression(access.class)
            .and_then(|name| lookup(environment, &name))
        else {
            return;
        };
        let Some(declaring) = constant_owner(environment.index(), written_on, constant) else {
            return;
        };
        if !is_core_declared(declaring) || role_of(declaring) != ClassRole::DependencyProvider {
            return;
        }
        self.sink.push(self.file.finding(
            &META,
            access.span(),
            format!(
                "`{}` reads a provided dependency by `{}::{constant}`, a constant of core's `{}`: which dependencies core provides is private API and may change in any minor release; provide the dependency in the project's dependency provider under a project constant (e.g. `PYZ_{constant}`) and read it by that",
                member(environment.class(), site.method),
                written_on.short_name(),
                declaring.name,
            ),
        ));
    }
}

fn lookup<'a>(
    environment: &upkeep_php::infer::TypeEnvironment<'a>,
    name: &str,
) -> Option<&'a ClassLike> {
    let own = environment.class();
    if own.name.eq_ignore_ascii_case(name) {
        return Some(own);
    }
    environment.index().class(name)
}

/// The class or interface that declares constant `name` as seen from `class`: the class, its
/// traits and parents, then the interfaces they implement and their parents.
fn constant_owner<'a>(
    index: &'a CodebaseIndex,
    class: &'a ClassLike,
    name: &str,
) -> Option<&'a ClassLike> {
    let chain: Vec<&ClassLike> = std::iter::once(class)
        .chain(index.ancestors(class))
        .collect();
    let declared_in_chain = chain.iter().copied().find_map(|owner| {
        if owner.constant(name).is_some() {
            return Some(owner);
        }
        owner
            .traits
            .iter()
            .filter_map(|used| index.class(used))
            .find(|used| used.constant(name).is_some())
    });
    if declared_in_chain.is_some() {
        return declared_in_chain;
    }
    let mut queue: VecDeque<&str> = VecDeque::new();
    for owner in &chain {
        if owner.kind == ClassKind::Interface {
            queue.extend(owner.extends.iter().map(String::as_str));
        }
        queue.extend(owner.implements.iter().map(String::as_str));
    }
    let mut seen = HashSet::new();
    while let Some(interface) = queue.pop_front() {
        if !seen.insert(interface.to_ascii_lowercase()) {
            continue;
        }
        let Some(interface) = index.class(interface) else {
            continue;
        };
        if interface.constant(name).is_some() {
            return Some(interface);
        }
        queue.extend(interface.extends.iter().map(String::as_str));
    }
    None
}
