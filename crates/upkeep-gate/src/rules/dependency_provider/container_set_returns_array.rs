//! `container-set-returns-array`: a callback registered on a Spryker container that returns
//! an array literal instead of calling a method.

use std::collections::HashMap;

use mago_span::HasSpan;
use mago_syntax::ast::{
    Access, Argument, ArrowFunction, Assignment, ClassLikeMemberSelector, Closure, Expression,
    FunctionLikeParameterList, Method, MethodCall, NullSafeMethodCall, Statement, Variable,
};
use mago_syntax::comments::docblock::get_docblock_before_position;
use mago_syntax::walker::Walker;
use upkeep_php::docblock::DocBlock;
use upkeep_php::source::TextSpan;

use super::{
    OwnBody, dependency_providers, is_array_literal, is_container_type, names_container, snippet,
    text, unparenthesized, variable_name,
};
use crate::rule::{Category, Example, PhpFile, Rule, RuleMeta, Sink};

pub struct ContainerSetReturnsArray;

pub static META: RuleMeta = RuleMeta {
    name: "container-set-returns-array",
    spryker_ids: &["CONTAINER_SET_FUNCTION_CHECKER"],
    category: Category::DependencyProvider,
    summary: "A callback registered on a container (`$container->set()`) that returns an array literal instead of calling a method.",
    documentation: "\
## What it finds
In a `*DependencyProvider` class, a closure or arrow function registered on a Spryker
container whose result is an array literal:

- `return [...]` (or `array(...)`) in the closure's own body, outside nested closures;
- `return $plugins` where the closure itself assigns `$plugins = [...]`;
- `fn () => [...]`.

A registration is a call of `set(...)` with the callback as any argument, or an array-access
assignment `$container[KEY] = function () { ... }` (the older Spryker style), on a receiver
that is a container:

- a variable named `$container` (unless it is declared with another type);
- `$this->container`, or `$this->property` whose declared or `@var` type is a container;
- any variable declared as a container: a method, closure or arrow-function parameter typed
  `Container` (natively or by `@param`), or a variable annotated `/** @var Container $c */`.
  Closures see the types of the variables they `use`, arrow functions all outer ones.

A container type is any class whose short name is `Container` after resolving imports and
aliases (`Spryker\\Zed\\Kernel\\Container`, and the `Client`, `Yves`, `Glue` and `Service`
ones), alone, nullable or in a union.

Spryker's checker only looks at a variable literally named `$container`, only at
`->set()`, and reports array returns of nested closures too; this rule follows the
container through other names and `$this->container`, checks `$container[KEY] =`
registrations and arrow functions, and reports only the callback's own result.

## Why it matters
Plugin lists built inline inside container callbacks cannot be extended or replaced by
overriding one method; integration guides and upgrade tooling expect `get…Plugins()`
methods, and inline lists have to be merged by hand on every update.

## Example
```php
protected function addPaymentMethodPlugins(Container $container): Container
{
    $container->set(static::PLUGINS_PAYMENT_METHOD, function () {
        return [
            new InvoicePaymentMethodPlugin(),
        ];
    });

    return $container;
}
```

## Instead
```php
    $container->set(static::PLUGINS_PAYMENT_METHOD, function () {
        return $this->getPaymentMethodPlugins();
    });
```

## Fix
Move the array into a dedicated method (`getPaymentMethodPlugins(): array`) and call that
method from the callback.

## Configuration
None. Vendor files are never reported.

## Spryker id
`CONTAINER_SET_FUNCTION_CHECKER`
",
    bad_example: Example {
        files: &[(
            "src/Pyz/Zed/Payment/PaymentDependencyProvider.php",
            "<?php\nnamespace Pyz\\Zed\\Payment;\n\nuse Spryker\\Zed\\Kernel\\Container;\n\nclass PaymentDependencyProvider\n{\n    protected function addPlugins(Container $container): Container\n    {\n        $container->set(static::PLUGINS, function () {\n            return [new InvoicePaymentMethodPlugin()];\n        });\n\n        return $container;\n    }\n}\n",
        )],
    },
    good_example: Example {
        files: &[(
            "src/Pyz/Zed/Payment/PaymentDependencyProvider.php",
            "<?php\nnamespace Pyz\\Zed\\Payment;\n\nuse Spryker\\Zed\\Kernel\\Container;\n\nclass PaymentDependencyProvider\n{\n    protected function addPlugins(Container $container): Container\n    {\n        $container->set(static::PLUGINS, function () {\n            return $this->getPlugins();\n        });\n\n        return $container;\n    }\n\n    protected function getPlugins(): array\n    {\n        return [new InvoicePaymentMethodPlugin()];\n    }\n}\n",
        )],
    },
    guideline: "https://docs.spryker.com/docs/dg/dev/guidelines/keeping-a-project-upgradable/upgradability-guidelines/container-set-function.html",
    needs_core: false,
};

impl Rule for ContainerSetReturnsArray {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_php_file(&self, file: &PhpFile<'_, '_>, sink: &mut Sink) {
        for class in dependency_providers(file) {
            let mut scan = Scan {
                file,
                frames: Vec::new(),
                findings: Vec::new(),
            };
            RegistrationFinder.walk_class(class, &mut scan);
            for (span, message) in scan.findings {
                sink.push(file.finding(&META, span, message));
            }
        }
    }
}

/// What the walk knows: per function-like, which variables do (true) or do not (false)
/// hold a container; variables not in the map are containers only when named `$container`.
struct Scan<'f, 'a, 'arena> {
    file: &'f PhpFile<'a, 'arena>,
    frames: Vec<HashMap<String, bool>>,
    findings: Vec<(TextSpan, String)>,
}

impl Scan<'_, '_, '_> {
    fn declare(&mut self, variable: &str, is_container: bool) {
        if let Some(frame) = self.frames.last_mut() {
            frame.insert(variable.to_string(), is_container);
        }
    }

    fn known(&self, variable: &str) -> Option<bool> {
        self.frames
            .last()
            .and_then(|frame| frame.get(variable).copied())
    }

    /// A frame for a function-like's parameters (native hints first, `@param` second).
    fn parameter_frame(
        &self,
        parameters: &FunctionLikeParameterList<'_>,
        doc: Option<&DocBlock>,
    ) -> HashMap<String, bool> {
        let doc_params = doc.map(DocBlock::params).unwrap_or_default();
        let mut frame = HashMap::new();
        for parameter in &parameters.parameters {
            let name = text(parameter.variable.name);
            let offset = parameter.span().start.offset;
            let is_container = if let Some(hint) = &parameter.hint {
                Some(is_container_type(
                    self.file,
                    self.file.source(hint.span()),
                    offset,
                ))
            } else {
                doc_params
                    .iter()
                    .find(|(_, doc_name)| Some(*doc_name) == name.strip_prefix('$'))
                    .map(|(ty, _)| is_container_type(self.file, ty, offset))
            };
            if let Some(is_container) = is_container {
                frame.insert(name.to_string(), is_container);
            }
        }
        frame
    }

    /// True when `expression` evaluates to a container, as far as the file tells.
    fn is_container(&self, expression: &Expression<'_>) -> bool {
        match unparenthesized(expression) {
            Expression::Variable(Variable::Direct(variable)) => {
                let name = text(variable.name);
                self.known(name).unwrap_or(name == "$container")
            }
            Expression::Access(Access::Property(access)) => {
                self.is_container_property(access.object, &access.property)
            }
            Expression::Access(Access::NullSafeProperty(access)) => {
                self.is_container_property(access.object, &access.property)
            }
            _ => false,
        }
    }

    /// `$this->container`, or `$this->name` declared with a container type.
    fn is_container_property(
        &self,
        object: &Expression<'_>,
        property: &ClassLikeMemberSelector<'_>,
    ) -> bool {
        let (Some("$this"), ClassLikeMemberSelector::Identifier(name)) =
            (variable_name(object), property)
        else {
            return false;
        };
        let name = text(name.value);
        if name == "container" {
            return true;
        }
        self.file
            .facts
            .class_at(object.span().start.offset)
            .and_then(|class| class.properties.iter().find(|p| p.name == name))
            .and_then(|property| property.type_hint.as_deref())
            .is_some_and(names_container)
    }

    /// Reports the array literal a registered callback returns, if it does.
    fn check_callback(&mut self, callback: &Expression<'_>, registration: &str) {
        let message = |what: &str| {
            format!(
                "the callback registered with {registration} returns {what}: move the plugin list into a dedicated method (e.g. `get…Plugins()`) and return its result"
            )
        };
        match unparenthesized(callback) {
            Expression::Closure(closure) => {
                let own = OwnBody::of(&closure.body);
                for value in own.returns.iter().filter_map(|r#return| r#return.value) {
                    if is_array_literal(value) {
                        self.findings
                            .push((value.span().into(), message("an array literal")));
                    } else if let Some(name) = variable_name(value)
                        && own.assigns_array_literal(name)
                    {
                        self.findings.push((
                            value.span().into(),
                            message(&format!("`{name}`, an array it builds itself")),
                        ));
                    }
                }
            }
            Expression::ArrowFunction(arrow) if is_array_literal(arrow.expression) => {
                self.findings
                    .push((arrow.expression.span().into(), message("an array literal")));
            }
            _ => {}
        }
    }

    fn check_set_call(
        &mut self,
        object: &Expression<'_>,
        method: &ClassLikeMemberSelector<'_>,
        arguments: &mago_syntax::ast::ArgumentList<'_>,
    ) {
        let ClassLikeMemberSelector::Identifier(name) = method else {
            return;
        };
        if !text(name.value).eq_ignore_ascii_case("set") || !self.is_container(object) {
            return;
        }
        let registration = format!("`{}->set()`", snippet(self.file.source(object.span()), 40));
        for argument in &arguments.arguments {
            let value = match argument {
                Argument::Positional(argument) => argument.value,
                Argument::Named(argument) => argument.value,
            };
            self.check_callback(value, &registration);
        }
    }
}

struct RegistrationFinder;

impl<'ast, 'arena> Walker<'ast, 'arena, Scan<'_, '_, '_>> for RegistrationFinder {
    fn walk_in_method(&self, method: &'ast Method<'arena>, scan: &mut Scan<'_, '_, '_>) {
        let doc = scan.file.doc_block_before(method.span().start.offset);
        let frame = scan.parameter_frame(&method.parameter_list, doc.as_ref());
        scan.frames.push(frame);
    }

    fn walk_out_method(&self, _: &'ast Method<'arena>, scan: &mut Scan<'_, '_, '_>) {
        scan.frames.pop();
    }

    fn walk_in_closure(&self, closure: &'ast Closure<'arena>, scan: &mut Scan<'_, '_, '_>) {
        let mut frame = scan.parameter_frame(&closure.parameter_list, None);
        // A closure sees only the variables it `use`s, with what the outer scope knew of them.
        if let Some(use_clause) = &closure.use_clause {
            for used in &use_clause.variables {
                let name = text(used.variable.name);
                if let Some(known) = scan.known(name) {
                    frame.entry(name.to_string()).or_insert(known);
                }
            }
        }
        scan.frames.push(frame);
    }

    fn walk_out_closure(&self, _: &'ast Closure<'arena>, scan: &mut Scan<'_, '_, '_>) {
        scan.frames.pop();
    }

    fn walk_in_arrow_function(
        &self,
        arrow: &'ast ArrowFunction<'arena>,
        scan: &mut Scan<'_, '_, '_>,
    ) {
        // An arrow function captures the whole outer scope by value.
        let mut frame = scan.frames.last().cloned().unwrap_or_default();
        frame.extend(scan.parameter_frame(&arrow.parameter_list, None));
        scan.frames.push(frame);
    }

    fn walk_out_arrow_function(&self, _: &'ast ArrowFunction<'arena>, scan: &mut Scan<'_, '_, '_>) {
        scan.frames.pop();
    }

    fn walk_in_statement(&self, statement: &'ast Statement<'arena>, scan: &mut Scan<'_, '_, '_>) {
        // `/** @var Container $c */` before a statement declares `$c`.
        let Some(trivia) = get_docblock_before_position(
            scan.file.program.trivia.as_slice(),
            statement.span().start.offset,
        ) else {
            return;
        };
        let doc = DocBlock::parse(text(trivia.value), trivia.span.start.offset);
        for tag in doc.tags_named("var") {
            let mut words = tag.text.split_whitespace();
            if let (Some(ty), Some(name)) = (words.next(), words.next())
                && name.starts_with('$')
            {
                let is_container = is_container_type(scan.file, ty, tag.offset);
                scan.declare(name, is_container);
            }
        }
    }

    fn walk_in_method_call(&self, call: &'ast MethodCall<'arena>, scan: &mut Scan<'_, '_, '_>) {
        scan.check_set_call(call.object, &call.method, &call.argument_list);
    }

    fn walk_in_null_safe_method_call(
        &self,
        call: &'ast NullSafeMethodCall<'arena>,
        scan: &mut Scan<'_, '_, '_>,
    ) {
        scan.check_set_call(call.object, &call.method, &call.argument_list);
    }

    fn walk_in_assignment(
        &self,
        assignment: &'ast Assignment<'arena>,
        scan: &mut Scan<'_, '_, '_>,
    ) {
        if !assignment.operator.is_assign() {
            return;
        }
        let Expression::ArrayAccess(access) = unparenthesized(assignment.lhs) else {
            return;
        };
        if scan.is_container(access.array) {
            let registration = format!(
                "`{}[…] = …`",
                snippet(scan.file.source(access.array.span()), 40)
            );
            scan.check_callback(assignment.rhs, &registration);
        }
    }
}
