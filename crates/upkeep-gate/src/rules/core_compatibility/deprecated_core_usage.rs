//! `deprecated-core-usage`: project code that uses a core class, interface, trait, method or
//! constant tagged `@deprecated`, which the next major release removes.

use mago_span::{HasSpan, Span};
use mago_syntax::ast::{
    AnonymousClass, ArrowFunction, Call, Class, ClassConstantAccess, ClassLikeConstantSelector,
    ClassLikeMemberSelector, Closure, Enum, Expression, Extends, Function, Identifier, Implements,
    Instantiation, Interface, Method, MethodCall, NullSafeMethodCall, StaticMethodCall, Trait,
    TraitUse, Variable,
};
use mago_syntax::walker::Walker;
use upkeep_php::infer::{TypeEnvironment, find_method};
use upkeep_php::model::ConstantInfo;
use upkeep_php::spryker::Origin;
use upkeep_php::{ClassLike, CodebaseIndex, MethodInfo};

use super::core_signature_mismatch::{CoreDeclaration, interfaces, overridden_core_methods};
use crate::finding::Finding;
use crate::rule::{Category, Example, PhpFile, Rule, RuleMeta, Sink};
use crate::rules::dependency_provider::{returned_bool, text, unparenthesized, written_class_name};

pub struct DeprecatedCoreUsage;

pub static META: RuleMeta = RuleMeta {
    name: "deprecated-core-usage",
    spryker_ids: &[],
    category: Category::CoreCompatibility,
    summary: "Project code uses a core class, method or constant that core marked `@deprecated`.",
    documentation: "\
## What it finds
Project code that depends on a core element whose doc block has a `@deprecated` tag. The
message names the core element and quotes the first line of the deprecation note (usually
the replacement, e.g. \"Use `getProductAbstractById()` instead.\"). Reported uses:

- `extends`, `implements` and `use` (trait) of a deprecated core class, interface or trait;
- `new X()` of a deprecated core class, or of a class whose inherited core constructor is
  deprecated;
- calls of deprecated core methods: `X::method()`, `parent::method()`, `self::`/`static::`,
  `$this->method()` for methods inherited from core, and `$object->method()` when the type
  of `$object` is known: a typed parameter, a typed (or `@var`-documented) property read
  through `$this->property`, a variable assigned `new X()`, or `new X()` itself;
- reads of deprecated core constants (`X::CONSTANT`, `static::CONSTANT` for a constant
  inherited from a core class or interface) and `X::class` of a deprecated core class;
- a project method that **overrides** a deprecated core method (or implements a deprecated
  core interface method): core stops calling it when it removes the method, so the
  customisation silently stops working.

An override of a deprecated core **feature toggle** whose migration is finished is not
reported: the project method returns a boolean literal (`return true;`), and that is the value
core takes once it removes the toggle, as its deprecation note tells. A note that names one
value (\"... then always `true`\") means that value; \"Becomes default behavior\" means the
opposite of the literal core returns today; \"Exists for Backward Compatibility reasons only\"
means the opposite of core's literal too (core keeps the old behaviour). So
`SalesConfig::isOldDeterminationForOrderItemProcessEnabled()` returning `false`, or an
`OauthApiConfig` toggle marked \"Becomes default behavior\" returning `true`, pass; the same
override returning the old value (an unfinished migration) is reported with the value to
switch to, and so is any toggle whose note states no future value.

A deprecated class covers all of its members: calling any method or reading any constant
through a deprecated class by name is reported. Through `$this`, `self`, `static` and
`parent` only the members' own deprecations count, since extending the deprecated class
is already reported once, at `extends`.

Names are resolved through `use` imports and aliases, and members are looked up through the
whole parent chain, used traits and implemented interfaces.

## Why it matters
Spryker deprecates in a minor release and removes in the next major. Code that still uses a
deprecated element keeps working until then, and then fails all at once: missing classes,
undefined methods, overridden methods that are never called again. Replacing each use while
the deprecation note still names the replacement makes the major upgrade small.

## Example
```php
// vendor/spryker/product/src/Spryker/Zed/Product/Business/ProductFacade.php
/**
 * @deprecated Use {@link getProductAbstractById()} instead.
 */
public function findProductAbstractById(int $idProductAbstract): ?ProductAbstractTransfer

// src/Pyz/Zed/Product/Business/ProductFacade.php
class ProductFacade extends SprykerProductFacade
{
    public function getAbstract(int $id): ?ProductAbstractTransfer
    {
        return $this->findProductAbstractById($id);
    }
}
```

## Instead
```php
        return $this->getProductAbstractById($id);
```

## Fix
Follow the note of the deprecation: call, extend or implement the replacement it names, or
move the customisation to the plugin or configuration that replaces it. When the note names
no replacement, read the core module's changelog for the release that deprecated it.

## Configuration
None. `@upkeep-ignore deprecated-core-usage` in the doc block of a method or class silences
the rule there.

## Spryker id
None: Spryker's upgradability tools have no such check.
",
    bad_example: Example {
        files: &[
            (
                "vendor/spryker/product/src/Spryker/Zed/Product/Business/ProductFacade.php",
                "<?php\nnamespace Spryker\\Zed\\Product\\Business;\n\nclass ProductFacade\n{\n    /**\n     * @deprecated Use {@link getProductAbstractById()} instead.\n     */\n    public function findProductAbstractById(int $idProductAbstract)\n    {\n        return null;\n    }\n\n    public function getProductAbstractById(int $idProductAbstract)\n    {\n        return null;\n    }\n}\n",
            ),
            (
                "src/Pyz/Zed/Product/Business/ProductFacade.php",
                "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\nuse Spryker\\Zed\\Product\\Business\\ProductFacade as SprykerProductFacade;\n\nclass ProductFacade extends SprykerProductFacade\n{\n    public function getAbstract(int $id)\n    {\n        return $this->findProductAbstractById($id);\n    }\n}\n",
            ),
        ],
    },
    good_example: Example {
        files: &[
            (
                "vendor/spryker/product/src/Spryker/Zed/Product/Business/ProductFacade.php",
                "<?php\nnamespace Spryker\\Zed\\Product\\Business;\n\nclass ProductFacade\n{\n    /**\n     * @deprecated Use {@link getProductAbstractById()} instead.\n     */\n    public function findProductAbstractById(int $idProductAbstract)\n    {\n        return null;\n    }\n\n    public function getProductAbstractById(int $idProductAbstract)\n    {\n        return null;\n    }\n}\n",
            ),
            (
                "src/Pyz/Zed/Product/Business/ProductFacade.php",
                "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\nuse Spryker\\Zed\\Product\\Business\\ProductFacade as SprykerProductFacade;\n\nclass ProductFacade extends SprykerProductFacade\n{\n    public function getAbstract(int $id)\n    {\n        return $this->getProductAbstractById($id);\n    }\n}\n",
            ),
        ],
    },
    guideline: "https://docs.spryker.com/docs/dg/dev/guidelines/keeping-a-project-upgradable/keeping-a-project-upgradable.html",
    needs_core: true,
};

impl Rule for DeprecatedCoreUsage {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_php_file(&self, file: &PhpFile<'_, '_>, sink: &mut Sink) {
        let mut scan = Scan {
            file,
            classes: Vec::new(),
            environments: Vec::new(),
            findings: Vec::new(),
        };
        UsageWalker.walk_program(file.program, &mut scan);
        for finding in scan.findings {
            sink.push(finding);
        }
    }
}

/// The first line of a deprecation note, quoted, for messages.
fn quoted_note(note: &str) -> String {
    let line = plain_note(note);
    if line.is_empty() {
        " (without a note)".to_string()
    } else {
        format!(": \"{line}\"")
    }
}

/// The first non-empty line of a doc-block note, with inline tags reduced to what they name
/// (`Use {@link \Foo\Bar::baz()} instead.` -> `Use \Foo\Bar::baz() instead.`).
pub(crate) fn plain_note(note: &str) -> String {
    let line = note
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or_default();
    let mut plain = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find("{@") {
        plain.push_str(&rest[..start]);
        let Some(length) = rest[start..].find('}') else {
            // An unclosed tag stays as written.
            rest = &rest[start..];
            break;
        };
        // `{@link Target description}`: the target, then any description.
        let inner = &rest[start + 2..start + length];
        let target = inner
            .split_once(char::is_whitespace)
            .map_or("", |(_, target)| target);
        plain.push_str(target.trim());
        rest = &rest[start + length + 1..];
    }
    plain.push_str(rest);
    plain
}

/// What a project override of a deprecated core toggle returns, and what core will do.
#[derive(Clone, Copy)]
struct ToggleOverride {
    project: bool,
    future: bool,
}

/// The value a deprecated core toggle stands for once core removes it, read from its note:
/// a note that names one value ("will be removed, the behaviour will be `true`") means that
/// one; "Becomes default behavior" means the opposite of what core returns today (`true`
/// when that is unknown); a toggle kept "for backward compatibility" only guards the old
/// behaviour core returns today, so the future is its opposite. `None` when the note says
/// neither.
fn future_toggle_value(note: &str, core_returns: Option<bool>) -> Option<bool> {
    let lower = note.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .collect();
    let names_true = words.contains(&"true");
    let names_false = words.contains(&"false");
    if names_true != names_false {
        return Some(names_true);
    }
    let becomes_default = ["default behavior", "default behaviour", "by default"]
        .iter()
        .any(|phrase| lower.contains(phrase));
    if becomes_default {
        return Some(core_returns.is_none_or(|today| !today));
    }
    let keeps_old_behaviour = ["backward compatib", "backwards compatib", "bc reason"]
        .iter()
        .any(|phrase| lower.contains(phrase));
    if keeps_old_behaviour {
        return core_returns.map(|today| !today);
    }
    None
}

fn is_core(class: &ClassLike) -> bool {
    class.layout.origin == Origin::Core
}

/// The deprecation note of a core class, if core deprecated it.
fn core_class_deprecation(class: &ClassLike) -> Option<&str> {
    if is_core(class) {
        class.deprecation()
    } else {
        None
    }
}

/// The declaration of constant `name` visible on `class`: the class and its traits, its
/// parents, then the interfaces.
fn find_constant<'a>(
    index: &'a CodebaseIndex,
    class: &'a ClassLike,
    name: &str,
) -> Option<(&'a ClassLike, &'a ConstantInfo)> {
    std::iter::once(class)
        .chain(index.ancestors(class))
        .find_map(|owner| {
            owner
                .constant(name)
                .map(|found| (owner, found))
                .or_else(|| {
                    owner
                        .traits
                        .iter()
                        .filter_map(|used| index.class(used))
                        .find_map(|used| used.constant(name).map(|found| (used, found)))
                })
        })
        .or_else(|| {
            interfaces(index, class)
                .into_iter()
                .find_map(|interface| interface.constant(name).map(|found| (interface, found)))
        })
}

/// What a member is accessed through.
#[derive(Clone, Copy)]
struct Receiver<'a> {
    class: &'a ClassLike,
    /// True when the code names the class (`X::`, `new X`, a typed variable): then a
    /// deprecation of the whole class counts. False for `$this`, `self`, `static`, `parent`.
    named: bool,
}

struct Scan<'f, 'a, 'arena> {
    file: &'f PhpFile<'a, 'arena>,
    /// The classes being walked, innermost last; `None` for an anonymous class.
    classes: Vec<Option<&'a ClassLike>>,
    /// What is known about the variables of the methods and closures being walked, innermost
    /// last; `None` for code outside a class method (functions, anonymous classes).
    environments: Vec<Option<TypeEnvironment<'a>>>,
    findings: Vec<Finding>,
}

impl<'a> Scan<'_, 'a, '_> {
    fn index(&self) -> &'a CodebaseIndex {
        self.file.index
    }

    fn current_class(&self) -> Option<&'a ClassLike> {
        self.classes.last().copied().flatten()
    }

    fn report(&mut self, span: Span, message: String) {
        self.findings.push(self.file.finding(&META, span, message));
    }

    fn enter_class(&mut self, name_span: Span) {
        let class = self
            .file
            .facts
            .classes
            .iter()
            .find(|class| class.name_span.start == name_span.start.offset);
        self.classes.push(class);
        if let Some(class) = class {
            self.check_overrides(class);
        }
    }

    /// A project method that overrides a deprecated core method.
    fn check_overrides(&mut self, class: &'a ClassLike) {
        for method in &class.methods {
            let overridden = overridden_core_methods(self.index(), class, &method.name);
            if let Some((declaration, note)) = overridden.iter().find_map(|declaration| {
                declaration
                    .method
                    .deprecation()
                    .map(|note| (declaration, note))
            }) {
                let toggle = self.toggle_override(method, declaration, note);
                if toggle.is_some_and(|toggle| toggle.project == toggle.future) {
                    // A finished migration: the project already has the behaviour core
                    // makes the default, so the override changes nothing when core drops it.
                    continue;
                }
                let advice = toggle.map_or_else(String::new, |toggle| {
                    format!(
                        "; it still returns `{}`: return `{}`, the behaviour core makes the default, then delete the override",
                        toggle.project, toggle.future
                    )
                });
                let message = format!(
                    "overrides `{}::{}()`, which core deprecated{}; once core removes it, nothing calls this override{advice}",
                    declaration.owner.name,
                    method.name,
                    quoted_note(note)
                );
                self.findings
                    .push(self.file.finding(&META, method.name_span, message));
            }
        }
    }

    /// The override of a deprecated core feature toggle (`isXEnabled(): bool`, both returning a
    /// boolean literal or core's intent stated in its note), with what it returns and what core
    /// will do once it removes the toggle; `None` for any other override.
    fn toggle_override(
        &self,
        method: &MethodInfo,
        declaration: &CoreDeclaration<'_>,
        note: &str,
    ) -> Option<ToggleOverride> {
        let project = returned_bool(self.file.source(method.body_span?))?;
        let core = declaration.method.body_span.and_then(|body| {
            let path = self
                .file
                .root
                .join(&self.index().file(declaration.owner.file).path);
            let text = fs_err::read(path).ok()?;
            let body = text.get(body.start as usize..body.end as usize)?;
            returned_bool(&String::from_utf8_lossy(body))
        });
        let future = future_toggle_value(note, core)?;
        Some(ToggleOverride { project, future })
    }

    /// A class named in `extends`, `implements` or a trait `use`.
    fn check_named_class(&mut self, identifier: &Identifier<'_>, verb: &str) {
        let written = text(identifier.value());
        let name = self
            .file
            .resolve_class(written, identifier.span().start.offset);
        if let Some(class) = self.index().class(&name)
            && let Some(note) = core_class_deprecation(class)
        {
            let message = format!(
                "{verb} `{}`, which core deprecated{}",
                class.name,
                quoted_note(note)
            );
            self.report(identifier.span(), message);
        }
    }

    /// The class of `X::`, `new X`: `self`/`static`/`parent` are the current class and its
    /// parent, anything else a named class.
    fn class_receiver(&self, class: &Expression<'_>) -> Option<Receiver<'a>> {
        let written = written_class_name(class)?;
        let index = self.index();
        if written.eq_ignore_ascii_case("self") || written.eq_ignore_ascii_case("static") {
            return self.current_class().map(|class| Receiver {
                class,
                named: false,
            });
        }
        if written.eq_ignore_ascii_case("parent") {
            let parent = self.current_class()?.parent()?;
            return index.class(parent).map(|class| Receiver {
                class,
                named: false,
            });
        }
        let name = self.file.resolve_class(written, class.span().start.offset);
        index
            .class(&name)
            .map(|class| Receiver { class, named: true })
    }

    /// The class of the object in `$object->method()`, where the declarations tell it.
    fn object_receiver(&self, object: &Expression<'_>) -> Option<Receiver<'a>> {
        let environment = self.environments.last()?.as_ref()?;
        let is_this = matches!(
            unparenthesized(object),
            Expression::Variable(Variable::Direct(variable)) if variable.name == b"$this"
        );
        if is_this {
            return Some(Receiver {
                class: environment.class(),
                named: false,
            });
        }
        // `new X` and `X::create()` name their class themselves, where a deprecated `X` is
        // already reported; calls on the object they return are not reported a second time.
        let names_class_itself = matches!(
            unparenthesized(object),
            Expression::Instantiation(_) | Expression::Call(Call::StaticMethod(_))
        );
        let class = environment.type_of(object)?;
        self.index().class(&class).map(|class| Receiver {
            class,
            named: !names_class_itself,
        })
    }

    /// A call of `method` on `receiver`.
    fn check_call(&mut self, receiver: Receiver<'a>, method: &str, span: Span) {
        let index = self.index();
        let declaration = find_method(index, receiver.class, method);
        if let Some((owner, declared)) = declaration
            && is_core(owner)
            && let Some(note) = declared.deprecation()
        {
            let message = format!(
                "calls `{}::{}()`, which core deprecated{}",
                owner.name,
                declared.name,
                quoted_note(note)
            );
            self.report(span, message);
        } else if receiver.named
            && let Some(note) = core_class_deprecation(receiver.class)
        {
            let method = declaration.map_or(method, |(_, declared)| declared.name.as_str());
            let message = format!(
                "calls `{}::{method}()` of a class core deprecated{}",
                receiver.class.name,
                quoted_note(note)
            );
            self.report(span, message);
        }
    }

    fn check_method_selector(
        &mut self,
        receiver: Option<Receiver<'a>>,
        selector: &ClassLikeMemberSelector<'_>,
    ) {
        if let (Some(receiver), ClassLikeMemberSelector::Identifier(name)) = (receiver, selector) {
            self.check_call(receiver, text(name.value), name.span);
        }
    }

    fn check_constant(&mut self, access: &ClassConstantAccess<'_>) {
        let ClassLikeConstantSelector::Identifier(constant) = &access.constant else {
            return;
        };
        let Some(receiver) = self.class_receiver(access.class) else {
            return;
        };
        let name = text(constant.value);
        let class_note = if receiver.named {
            core_class_deprecation(receiver.class)
        } else {
            None
        };
        if name.eq_ignore_ascii_case("class") {
            if let Some(note) = class_note {
                let message = format!(
                    "references `{}`, which core deprecated{}",
                    receiver.class.name,
                    quoted_note(note)
                );
                self.report(access.span(), message);
            }
            return;
        }
        let declaration = find_constant(self.index(), receiver.class, name);
        if let Some((owner, declared)) = declaration
            && is_core(owner)
            && let Some(note) = declared.doc.as_ref().and_then(|doc| doc.deprecation())
        {
            let message = format!(
                "reads `{}::{name}`, which core deprecated{}",
                owner.name,
                quoted_note(note)
            );
            self.report(access.span(), message);
        } else if let Some(note) = class_note {
            let message = format!(
                "reads `{}::{name}` of a class core deprecated{}",
                receiver.class.name,
                quoted_note(note)
            );
            self.report(access.span(), message);
        }
    }

    fn check_instantiation(&mut self, instantiation: &Instantiation<'_>) {
        let Some(receiver) = self.class_receiver(instantiation.class) else {
            return;
        };
        let span = instantiation.class.span();
        if receiver.named
            && let Some(note) = core_class_deprecation(receiver.class)
        {
            let message = format!(
                "instantiates `{}`, which core deprecated{}",
                receiver.class.name,
                quoted_note(note)
            );
            self.report(span, message);
            return;
        }
        if let Some((owner, constructor)) = self.index().find_method(receiver.class, "__construct")
            && is_core(owner)
            && let Some(note) = constructor.deprecation()
        {
            let message = format!(
                "instantiates `{}` through the constructor of `{}`, which core deprecated{}",
                receiver.class.name,
                owner.name,
                quoted_note(note)
            );
            self.report(span, message);
        }
    }

    /// Starts the environment of a closure or arrow function inside the current one.
    fn enter_nested(&mut self, nested: impl FnOnce(&TypeEnvironment<'a>) -> TypeEnvironment<'a>) {
        let environment = self
            .environments
            .last()
            .and_then(Option::as_ref)
            .map(nested);
        self.environments.push(environment);
    }
}

struct UsageWalker;

impl<'ast, 'arena, 'f, 'a> Walker<'ast, 'arena, Scan<'f, 'a, 'arena>> for UsageWalker {
    fn walk_in_class(&self, class: &'ast Class<'arena>, scan: &mut Scan<'f, 'a, 'arena>) {
        scan.enter_class(class.name.span);
    }

    fn walk_out_class(&self, _: &'ast Class<'arena>, scan: &mut Scan<'f, 'a, 'arena>) {
        scan.classes.pop();
    }

    fn walk_in_interface(
        &self,
        interface: &'ast Interface<'arena>,
        scan: &mut Scan<'f, 'a, 'arena>,
    ) {
        scan.enter_class(interface.name.span);
    }

    fn walk_out_interface(&self, _: &'ast Interface<'arena>, scan: &mut Scan<'f, 'a, 'arena>) {
        scan.classes.pop();
    }

    fn walk_in_trait(&self, r#trait: &'ast Trait<'arena>, scan: &mut Scan<'f, 'a, 'arena>) {
        scan.enter_class(r#trait.name.span);
    }

    fn walk_out_trait(&self, _: &'ast Trait<'arena>, scan: &mut Scan<'f, 'a, 'arena>) {
        scan.classes.pop();
    }

    fn walk_in_enum(&self, r#enum: &'ast Enum<'arena>, scan: &mut Scan<'f, 'a, 'arena>) {
        scan.enter_class(r#enum.name.span);
    }

    fn walk_out_enum(&self, _: &'ast Enum<'arena>, scan: &mut Scan<'f, 'a, 'arena>) {
        scan.classes.pop();
    }

    fn walk_in_anonymous_class(
        &self,
        _: &'ast AnonymousClass<'arena>,
        scan: &mut Scan<'f, 'a, 'arena>,
    ) {
        scan.classes.push(None);
    }

    fn walk_out_anonymous_class(
        &self,
        _: &'ast AnonymousClass<'arena>,
        scan: &mut Scan<'f, 'a, 'arena>,
    ) {
        scan.classes.pop();
    }

    fn walk_in_extends(&self, extends: &'ast Extends<'arena>, scan: &mut Scan<'f, 'a, 'arena>) {
        for parent in &extends.types {
            scan.check_named_class(parent, "extends");
        }
    }

    fn walk_in_implements(
        &self,
        implements: &'ast Implements<'arena>,
        scan: &mut Scan<'f, 'a, 'arena>,
    ) {
        for interface in &implements.types {
            scan.check_named_class(interface, "implements");
        }
    }

    fn walk_in_trait_use(
        &self,
        trait_use: &'ast TraitUse<'arena>,
        scan: &mut Scan<'f, 'a, 'arena>,
    ) {
        for used in &trait_use.trait_names {
            scan.check_named_class(used, "uses the trait");
        }
    }

    fn walk_in_method(&self, method: &'ast Method<'arena>, scan: &mut Scan<'f, 'a, 'arena>) {
        let file = scan.file;
        let environment = TypeEnvironment::for_method(file.index, file.facts, file.program, method);
        scan.environments.push(environment);
    }

    fn walk_out_method(&self, _: &'ast Method<'arena>, scan: &mut Scan<'f, 'a, 'arena>) {
        scan.environments.pop();
    }

    fn walk_in_function(&self, _: &'ast Function<'arena>, scan: &mut Scan<'f, 'a, 'arena>) {
        scan.environments.push(None);
    }

    fn walk_out_function(&self, _: &'ast Function<'arena>, scan: &mut Scan<'f, 'a, 'arena>) {
        scan.environments.pop();
    }

    fn walk_in_closure(&self, closure: &'ast Closure<'arena>, scan: &mut Scan<'f, 'a, 'arena>) {
        let program = scan.file.program;
        scan.enter_nested(|outer| outer.for_closure(closure, program));
    }

    fn walk_out_closure(&self, _: &'ast Closure<'arena>, scan: &mut Scan<'f, 'a, 'arena>) {
        scan.environments.pop();
    }

    fn walk_in_arrow_function(
        &self,
        arrow: &'ast ArrowFunction<'arena>,
        scan: &mut Scan<'f, 'a, 'arena>,
    ) {
        scan.enter_nested(|outer| outer.for_arrow_function(arrow));
    }

    fn walk_out_arrow_function(
        &self,
        _: &'ast ArrowFunction<'arena>,
        scan: &mut Scan<'f, 'a, 'arena>,
    ) {
        scan.environments.pop();
    }

    fn walk_in_method_call(&self, call: &'ast MethodCall<'arena>, scan: &mut Scan<'f, 'a, 'arena>) {
        let receiver = scan.object_receiver(call.object);
        scan.check_method_selector(receiver, &call.method);
    }

    fn walk_in_null_safe_method_call(
        &self,
        call: &'ast NullSafeMethodCall<'arena>,
        scan: &mut Scan<'f, 'a, 'arena>,
    ) {
        let receiver = scan.object_receiver(call.object);
        scan.check_method_selector(receiver, &call.method);
    }

    fn walk_in_static_method_call(
        &self,
        call: &'ast StaticMethodCall<'arena>,
        scan: &mut Scan<'f, 'a, 'arena>,
    ) {
        let receiver = scan.class_receiver(call.class);
        scan.check_method_selector(receiver, &call.method);
    }

    fn walk_in_class_constant_access(
        &self,
        access: &'ast ClassConstantAccess<'arena>,
        scan: &mut Scan<'f, 'a, 'arena>,
    ) {
        scan.check_constant(access);
    }

    fn walk_in_instantiation(
        &self,
        instantiation: &'ast Instantiation<'arena>,
        scan: &mut Scan<'f, 'a, 'arena>,
    ) {
        scan.check_instantiation(instantiation);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_lose_inline_tags_and_keep_their_first_line() {
        assert_eq!(
            plain_note("Use {@link \\Spryker\\Zed\\Foo::bar()} instead.\nRemoved in 2.0."),
            "Use \\Spryker\\Zed\\Foo::bar() instead."
        );
        assert_eq!(
            plain_note("\n  Use {@see Bar} or {@link Baz the new one}."),
            "Use Bar or Baz the new one."
        );
        assert_eq!(plain_note("Broken {@link tag"), "Broken {@link tag");
        assert_eq!(quoted_note(""), " (without a note)");
        assert_eq!(quoted_note("Will be removed."), ": \"Will be removed.\"");
    }

    #[test]
    fn future_values_of_deprecated_toggles() {
        let becomes_default = "Will be removed in the next major. Becomes default behavior.";
        assert_eq!(
            future_toggle_value(becomes_default, Some(false)),
            Some(true)
        );
        assert_eq!(future_toggle_value(becomes_default, None), Some(true));
        assert_eq!(
            future_toggle_value(
                "Exists for Backward Compatibility reasons only.",
                Some(true)
            ),
            Some(false)
        );
        assert_eq!(
            future_toggle_value("Exists for Backward Compatibility reasons only.", None),
            None
        );
        assert_eq!(
            future_toggle_value(
                "Will be removed, the method will return `true`.",
                Some(false)
            ),
            Some(true)
        );
        assert_eq!(
            future_toggle_value("Use {@link isNewFlowEnabled()} instead.", Some(false)),
            None
        );
        assert_eq!(
            future_toggle_value("Either true or false, see the changelog.", Some(false)),
            None
        );
    }
}
