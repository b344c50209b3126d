//! `multidimensional-plugin-array`: plugin arrays in a dependency provider nested deeper than
//! two levels.

use std::collections::HashSet;

use mago_span::HasSpan;
use mago_syntax::ast::{
    Argument, ArrayElement, ArrowFunction, AssignmentOperator, Block, Call, Closure, Expression,
    Method, MethodBody, TokenSeparatedSequence,
};
use mago_syntax::walker::Walker;
use upkeep_php::source::TextSpan;

use super::{OwnBody, dependency_providers, text, unparenthesized, variable_name};
use crate::rule::{Category, Example, PhpFile, Rule, RuleMeta, Sink};

/// Spryker's limit: an array of groups of plugins, and no deeper.
const MAX_LEVEL: usize = 2;

pub struct MultidimensionalPluginArray;

pub static META: RuleMeta = RuleMeta {
    name: "multidimensional-plugin-array",
    spryker_ids: &["MULTIDIMENSIONAL_ARRAY_CHECKER"],
    category: Category::DependencyProvider,
    summary: "An array returned from a dependency-provider method that is nested deeper than two levels.",
    documentation: "\
## What it finds
Array literals that a method (or a closure or arrow function) of a `*DependencyProvider`
class returns, nested more than two levels deep. The outermost array is level 1;
`['group' => [new FooPlugin()]]` has two levels and is fine,
`['group' => ['write' => [new FooPlugin()]]]` has three and is reported.

Counted are arrays that are:

- returned: `return [...]`, `fn () => [...]`, and array literals passed to a returned
  `array_merge(...)`;
- assigned and returned: `$plugins = [...]` when the same body returns `$plugins` (directly
  or through `array_merge`). An assignment to an element adds its keys to the level:
  `$plugins['a'] = ['b' => [new FooPlugin()]]` puts the innermost array at level 3, and so does
  `$plugins['a']['b'][] = new FooPlugin()`.

Only literal nesting counts: an array passed to a constructor (`new FooPlugin([...])`)
starts afresh. The finding points at the first array beyond level 2 (each such array once)
and says how deep its nesting goes.

Beyond Spryker's checker, which looks only at top-level `return [...]` and `$x = [...]`
statements of a method and reports the method, this rule follows returns inside `if` blocks,
closures and arrow functions, element assignments (`$plugins['a'][...] = ...`), every array of
an `array_merge()`, and points at the offending array.

## Why it matters
Deeply nested plugin configuration hides which plugin runs where, and cannot be extended by
overriding one method; integration guides and upgrade tooling expect flat plugin lists.

## Example
```php
protected function getPublisherPlugins(): array
{
    return [
        GlossaryStorageConfig::PUBLISH_TRANSLATION => [
            'delete' => [
                new GlossaryKeyDeletePublisherPlugin(),
            ],
        ],
    ];
}
```

## Instead
```php
protected function getPublisherPlugins(): array
{
    return [
        GlossaryStorageConfig::PUBLISH_TRANSLATION => $this->getGlossaryPublisherPlugins(),
    ];
}
```

## Fix
Keep each returned array at most two levels deep: move inner groups into their own
methods, or register them flat.

## Configuration
`@evaluator-skip-multidimensional-array` (Spryker's annotation) or
`@upkeep-ignore multidimensional-plugin-array` in the doc block of the method or class
silences the rule there.

## Spryker id
`MULTIDIMENSIONAL_ARRAY_CHECKER`
",
    bad_example: Example {
        files: &[(
            "src/Pyz/Zed/Publisher/PublisherDependencyProvider.php",
            "<?php\nnamespace Pyz\\Zed\\Publisher;\n\nclass PublisherDependencyProvider\n{\n    protected function getPublisherPlugins(): array\n    {\n        return [\n            'glossary' => [\n                'delete' => [\n                    new GlossaryKeyDeletePublisherPlugin(),\n                ],\n            ],\n        ];\n    }\n}\n",
        )],
    },
    good_example: Example {
        files: &[(
            "src/Pyz/Zed/Publisher/PublisherDependencyProvider.php",
            "<?php\nnamespace Pyz\\Zed\\Publisher;\n\nclass PublisherDependencyProvider\n{\n    protected function getPublisherPlugins(): array\n    {\n        return [\n            'glossary' => [\n                new GlossaryKeyDeletePublisherPlugin(),\n            ],\n        ];\n    }\n}\n",
        )],
    },
    guideline: "https://docs.spryker.com/docs/dg/dev/guidelines/keeping-a-project-upgradable/upgradability-guidelines/multidimensional-array.html",
    needs_core: false,
};

impl Rule for MultidimensionalPluginArray {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_php_file(&self, file: &PhpFile<'_, '_>, sink: &mut Sink) {
        for class in dependency_providers(file) {
            let mut bodies = Bodies::default();
            BodyFinder.walk_class(class, &mut bodies);
            for (body, method) in bodies.found {
                let mut check = Check {
                    method,
                    findings: Vec::new(),
                };
                check.body(body);
                for (span, message) in check.findings {
                    sink.push(file.finding(&META, span, message));
                }
            }
        }
    }
}

/// A function body: a block, or an arrow function's expression.
#[derive(Clone, Copy)]
enum Body<'ast, 'arena> {
    Block(&'ast Block<'arena>),
    Arrow(&'ast Expression<'arena>),
}

/// Every function body of a class, with the name of the method it is in.
#[derive(Default)]
struct Bodies<'ast, 'arena> {
    found: Vec<(Body<'ast, 'arena>, &'arena str)>,
    method: &'arena str,
}

struct BodyFinder;

impl<'ast, 'arena> Walker<'ast, 'arena, Bodies<'ast, 'arena>> for BodyFinder {
    fn walk_in_method(&self, method: &'ast Method<'arena>, bodies: &mut Bodies<'ast, 'arena>) {
        bodies.method = text(method.name.value);
        if let MethodBody::Concrete(block) = &method.body {
            bodies.found.push((Body::Block(block), bodies.method));
        }
    }

    fn walk_in_closure(&self, closure: &'ast Closure<'arena>, bodies: &mut Bodies<'ast, 'arena>) {
        bodies
            .found
            .push((Body::Block(&closure.body), bodies.method));
    }

    fn walk_in_arrow_function(
        &self,
        arrow: &'ast ArrowFunction<'arena>,
        bodies: &mut Bodies<'ast, 'arena>,
    ) {
        bodies
            .found
            .push((Body::Arrow(arrow.expression), bodies.method));
    }
}

struct Check<'m> {
    method: &'m str,
    findings: Vec<(TextSpan, String)>,
}

impl Check<'_> {
    fn body(&mut self, body: Body<'_, '_>) {
        let mut returned_variables = HashSet::new();
        match body {
            Body::Arrow(expression) => self.value(expression, 0, &mut returned_variables),
            Body::Block(block) => {
                let own = OwnBody::of(block);
                for value in own.returns.iter().filter_map(|r#return| r#return.value) {
                    self.value(value, 0, &mut returned_variables);
                }
                // Assignments count when their variable is what the body returns.
                for assignment in &own.assignments {
                    if !matches!(
                        assignment.operator,
                        AssignmentOperator::Assign(_)
                            | AssignmentOperator::Addition(_)
                            | AssignmentOperator::Coalesce(_)
                    ) {
                        continue;
                    }
                    let Some((variable, keys)) = assignment_target(assignment.lhs) else {
                        continue;
                    };
                    if !returned_variables.contains(variable) {
                        continue;
                    }
                    if keys > MAX_LEVEL && !is_array_value(assignment.rhs) {
                        self.report(assignment.lhs.span().into(), keys);
                    }
                    self.value(assignment.rhs, keys, &mut HashSet::new());
                }
            }
        }
    }

    /// A value that ends up in the result at `level` levels below it (0: the result itself):
    /// array literals are measured, variables remembered, `array_merge` looked into.
    fn value<'e>(
        &mut self,
        value: &Expression<'e>,
        level: usize,
        returned_variables: &mut HashSet<&'e str>,
    ) {
        let value = unparenthesized(value);
        if let Some(elements) = array_elements(value) {
            self.array(value, elements, level + 1);
        } else if let Some(name) = variable_name(value) {
            returned_variables.insert(name);
        } else if let Expression::Call(Call::Function(call)) = value
            && let Expression::Identifier(function) = call.function
            && text(function.value())
                .trim_start_matches('\\')
                .eq_ignore_ascii_case("array_merge")
        {
            for argument in &call.argument_list.arguments {
                let argument = match argument {
                    Argument::Positional(argument) => argument.value,
                    Argument::Named(argument) => argument.value,
                };
                self.value(argument, level, returned_variables);
            }
        }
    }

    /// Checks an array literal that sits at `level` (1 for the outermost).
    fn array(
        &mut self,
        array: &Expression<'_>,
        elements: &TokenSeparatedSequence<'_, ArrayElement<'_>>,
        level: usize,
    ) {
        if level > MAX_LEVEL {
            self.report(array.span().into(), level + depth(elements) - 1);
            return;
        }
        for element in elements {
            let (child, child_level) = match element {
                ArrayElement::KeyValue(element) => (element.value, level + 1),
                ArrayElement::Value(element) => (element.value, level + 1),
                // `...[a, b]` spreads its elements into this array, at this array's level.
                ArrayElement::Variadic(element) => (element.value, level),
                ArrayElement::Missing(_) => continue,
            };
            let child = unparenthesized(child);
            if let Some(child_elements) = array_elements(child) {
                if child_level == level {
                    // A spread array is not a level of its own: look at its elements.
                    for grandchild in child_elements {
                        if let Some(value) = element_value(grandchild)
                            && let Some(inner) = array_elements(unparenthesized(value))
                        {
                            self.array(unparenthesized(value), inner, level + 1);
                        }
                    }
                } else {
                    self.array(child, child_elements, child_level);
                }
            }
        }
    }

    fn report(&mut self, span: TextSpan, levels: usize) {
        self.findings.push((
            span,
            format!(
                "array nested {levels} levels deep in `{}()` (at most {MAX_LEVEL} allowed): keep plugin arrays flat and move inner groups into their own `get…Plugins()` methods",
                self.method
            ),
        ));
    }
}

/// The elements of `[...]` or `array(...)`.
fn array_elements<'ast, 'arena>(
    expression: &'ast Expression<'arena>,
) -> Option<&'ast TokenSeparatedSequence<'arena, ArrayElement<'arena>>> {
    match expression {
        Expression::Array(array) => Some(&array.elements),
        Expression::LegacyArray(array) => Some(&array.elements),
        _ => None,
    }
}

fn element_value<'ast, 'arena>(
    element: &'ast ArrayElement<'arena>,
) -> Option<&'ast Expression<'arena>> {
    match element {
        ArrayElement::KeyValue(element) => Some(element.value),
        ArrayElement::Value(element) => Some(element.value),
        ArrayElement::Variadic(_) | ArrayElement::Missing(_) => None,
    }
}

fn is_array_value(expression: &Expression<'_>) -> bool {
    array_elements(unparenthesized(expression)).is_some()
}

/// How many levels an array literal has (1 for a flat one).
fn depth(elements: &TokenSeparatedSequence<'_, ArrayElement<'_>>) -> usize {
    1 + elements
        .iter()
        .filter_map(|element| match element {
            ArrayElement::KeyValue(element) => {
                array_elements(unparenthesized(element.value)).map(depth)
            }
            ArrayElement::Value(element) => {
                array_elements(unparenthesized(element.value)).map(depth)
            }
            ArrayElement::Variadic(element) => {
                array_elements(unparenthesized(element.value)).map(|inner| depth(inner) - 1)
            }
            ArrayElement::Missing(_) => None,
        })
        .max()
        .unwrap_or(0)
}

/// `$name` -> (`$name`, 0); `$name['a'][]` -> (`$name`, 2).
fn assignment_target<'arena>(mut target: &Expression<'arena>) -> Option<(&'arena str, usize)> {
    let mut keys = 0;
    loop {
        target = unparenthesized(target);
        match target {
            Expression::ArrayAccess(access) => target = access.array,
            Expression::ArrayAppend(append) => target = append.array,
            _ => return variable_name(target).map(|name| (name, keys)),
        }
        keys += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bumpalo::Bump;

    /// The levels reported for a method body.
    fn reported_levels(body: &str) -> Vec<usize> {
        let arena = Bump::new();
        let source = format!("<?php class ADependencyProvider {{ function get() {{ {body} }} }}");
        let program = upkeep_php::parse::parse_php(&arena, source.as_bytes());
        assert!(program.errors.is_empty(), "{body}");
        let mut bodies = Bodies::default();
        BodyFinder.walk_program(program, &mut bodies);
        let mut check = Check {
            method: "get",
            findings: Vec::new(),
        };
        for (body, _) in bodies.found {
            check.body(body);
        }
        check
            .findings
            .iter()
            .map(|(_, message)| {
                message["array nested ".len()..]
                    .split(' ')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect()
    }

    #[test]
    fn counts_levels_of_returned_arrays() {
        assert_eq!(
            reported_levels("return ['a' => [new P()]];"),
            Vec::<usize>::new()
        );
        assert_eq!(
            reported_levels("return ['a' => ['b' => [new P()]]];"),
            vec![3]
        );
        assert_eq!(reported_levels("return [[[[1]]], [[2]]];"), vec![4, 3]);
        assert_eq!(
            reported_levels("return array('a' => array(array(1)));"),
            vec![3]
        );
        assert_eq!(
            reported_levels("return [new P([[[1]]])];"),
            Vec::<usize>::new()
        );
        assert_eq!(reported_levels("return [...[[1]]];"), Vec::<usize>::new());
        assert_eq!(reported_levels("return [...[[[1]]]];"), vec![3]);
        assert_eq!(
            reported_levels("return array_merge([1], ['a' => ['b' => [1]]]);"),
            vec![3]
        );
        assert_eq!(reported_levels("return fn () => [[[1]]];"), vec![3]);
    }

    #[test]
    fn counts_assignments_of_returned_variables_only() {
        assert_eq!(
            reported_levels("$p = []; $p['a'] = ['b' => [1]]; return $p;"),
            vec![3]
        );
        assert_eq!(
            reported_levels("$p['a']['b'][] = new P(); return $p;"),
            vec![3]
        );
        assert_eq!(
            reported_levels("$p['a'][] = new P(); return $p;"),
            Vec::<usize>::new()
        );
        assert_eq!(
            reported_levels("$x = [[[1]]]; return [];"),
            Vec::<usize>::new()
        );
        assert_eq!(
            reported_levels("$p = [[[1]]]; return array_merge($p, []);"),
            vec![3]
        );
    }
}
