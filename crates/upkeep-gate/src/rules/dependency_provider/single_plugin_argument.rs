//! `single-plugin-argument`: a plugin instantiated in a dependency provider with a
//! constructor argument that is not a scalar, a constant, a plain `new`, or a concatenation
//! of those.

use std::collections::{HashMap, HashSet};

use mago_span::HasSpan;
use mago_syntax::ast::{
    Access, Argument, ArgumentList, ArrayElement, ArrowFunction, Assignment, BinaryOperator, Block,
    ClassLikeConstantSelector, Closure, CompositeString, DirectVariable, Expression, Function,
    Instantiation, Literal, Method, MethodBody, StringPart, UnaryPrefixOperator, Variable,
};
use mago_syntax::walker::Walker;
use upkeep_php::names::short_name;

use super::{OwnBody, dependency_providers, snippet, unparenthesized, written_class_name};
use crate::rule::{Category, Example, PhpFile, Rule, RuleMeta, Sink};

pub struct SinglePluginArgument;

pub static META: RuleMeta = RuleMeta {
    name: "single-plugin-argument",
    spryker_ids: &["SINGLE_PLUGIN_ARGUMENT"],
    category: Category::DependencyProvider,
    summary: "A plugin instantiated in a dependency provider with a constructor argument that is not a scalar, constant or plain `new`.",
    documentation: "\
## What it finds
`new SomePlugin(...)` anywhere in a `*DependencyProvider` class (plugin lists, single
returns, closures), where the class's short name ends with `Plugin` after resolving imports
and aliases, and an argument is not one of:

- a scalar literal: string (without interpolation), integer, float (signed too), `true`,
  `false`, `null`;
- a constant: `FOO`, `Foo::BAR`, `static::BAR`, `self::BAR`, `Foo::class`, or a magic
  constant such as `__DIR__`;
- `new X()` without arguments, or whose arguments are themselves all of this list;
- a string concatenation (`.`) of the above;
- an array literal whose keys and values are all of this list (`[Foo::BAR, 'baz']`): it is as
  static as its elements. Spryker's own b2c demo shop passes such arrays
  (`new CustomerUnsubscribePlugin([NewsletterConstants::DEFAULT_NEWSLETTER_TYPE])`);
- a local variable of the same method or closure that is assigned once, with `=`, one of the
  above (`$types = [NewsletterConstants::DEFAULT_NEWSLETTER_TYPE]; return new
  CustomerUnsubscribePlugin($types);`), and otherwise only passed to plugin constructors. A
  variable that is assigned again, changed (`.=`, `$types[] = ...`, `$x->set(...)`), passed to
  a call, a parameter, a `foreach` target or captured by a closure is not followed.

Everything else is reported: other variables, method and function calls (`$this->getConfig()`,
also a setter chained on `new X()`), closures, spreads (`...$arguments`). The finding points at the first unsupported
part of the argument (the call inside `new X($this->getConfig())`, the variable inside
`'prefix' . $name`), once per argument.

Beyond Spryker's checker, which looks only at `return new Spryker…(...)` statements directly
in a method body, accepts any `new` with any arguments, and accepts concatenations of strings
and class constants only, this rule checks every plugin instantiation in the class (project
plugins and aliased imports included, resolved through `use`) and the arguments of a nested
`new`, and points at the offending argument.

## Why it matters
A plugin is the unit that Spryker's integration guides add, replace and remove. A plugin
that needs objects, configuration reads or computed values passed in from the dependency
provider cannot be moved or swapped without the code around it, and that wiring breaks on
updates.

## Example
```php
protected function getConsoleCommands(Container $container): array
{
    return [
        new MonitoringConsolePlugin($this->getConfig()->getMonitoringOptions()),
    ];
}
```

## Instead
```php
    return [
        new MonitoringConsolePlugin(),
    ];
```

## Fix
Let the plugin get what it needs itself (through its factory, config or facade), and pass
only constants, scalars or argument-free objects to its constructor.

## Configuration
`@evaluator-skip-single-plugin-argument` (Spryker's annotation) or
`@upkeep-ignore single-plugin-argument` in the doc block of the method or class silences
the rule there.

## Spryker id
`SINGLE_PLUGIN_ARGUMENT`
",
    bad_example: Example {
        files: &[(
            "src/Pyz/Zed/Console/ConsoleDependencyProvider.php",
            "<?php\nnamespace Pyz\\Zed\\Console;\n\nclass ConsoleDependencyProvider\n{\n    protected function getMonitoringConsolePlugin(): MonitoringConsolePlugin\n    {\n        return new MonitoringConsolePlugin($this->getConfig()->getMonitoringOptions());\n    }\n}\n",
        )],
    },
    good_example: Example {
        files: &[(
            "src/Pyz/Zed/Console/ConsoleDependencyProvider.php",
            "<?php\nnamespace Pyz\\Zed\\Console;\n\nclass ConsoleDependencyProvider\n{\n    protected function getMonitoringConsolePlugin(): MonitoringConsolePlugin\n    {\n        return new MonitoringConsolePlugin(static::MONITORING_PREFIX . 'console', new MonitoringOptions());\n    }\n}\n",
        )],
    },
    guideline: "https://docs.spryker.com/docs/dg/dev/guidelines/keeping-a-project-upgradable/upgradability-guidelines/single-plugin-argument.html",
    needs_core: false,
};

impl Rule for SinglePluginArgument {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_php_file(&self, file: &PhpFile<'_, '_>, sink: &mut Sink) {
        for class in dependency_providers(file) {
            let plugin_of = |instantiation: &Instantiation<'_>| {
                let written = written_class_name(instantiation.class)?;
                let plugin = file.resolve_class(written, instantiation.span().start.offset);
                let plugin = short_name(&plugin).to_string();
                plugin.ends_with("Plugin").then_some(plugin)
            };
            let mut bodies = FunctionBodies::default();
            FunctionBodyFinder.walk_class(class, &mut bodies);
            let plugins: Vec<(&Instantiation<'_>, String)> = bodies
                .instantiations
                .iter()
                .filter_map(|instantiation| Some((*instantiation, plugin_of(instantiation)?)))
                .collect();
            let plugin_starts: HashSet<u32> = plugins
                .iter()
                .map(|(instantiation, _)| instantiation.span().start.offset)
                .collect();
            let mut locals_by_body: HashMap<Option<u32>, LocalValues<'_, '_>> = HashMap::new();
            for (instantiation, plugin) in plugins {
                let Some(arguments) = &instantiation.argument_list else {
                    continue;
                };
                // A plugin list holds hundreds of plugins in one body: read it once.
                let body = bodies.innermost(instantiation.span().start.offset);
                let locals = locals_by_body
                    .entry(body.map(|body| body.left_brace.start.offset))
                    .or_insert_with(|| {
                        body.map_or_else(LocalValues::default, |body| {
                            LocalValues::of(body, &plugin_starts)
                        })
                    });
                for argument in &arguments.arguments {
                    let Some(unsupported) = unsupported_part(argument, locals) else {
                        continue;
                    };
                    sink.push(file.finding(
                        &META,
                        unsupported.span(),
                        format!(
                            "`{}` passed to the constructor of `{plugin}`: plugin arguments in a dependency provider must be scalars, constants, `new X()` of those, or concatenations of those; let the plugin get this through its factory or config",
                            snippet(file.source(unsupported.span()), 60)
                        ),
                    ));
                }
            }
        }
    }
}

/// The instantiations of a class and the function bodies around them (methods, closures,
/// functions; arrow functions, which have no body of statements, by their span).
#[derive(Default)]
struct FunctionBodies<'ast, 'arena> {
    instantiations: Vec<&'ast Instantiation<'arena>>,
    /// `(span of the function-like, its body)`; `None` for an arrow function.
    bodies: Vec<(mago_span::Span, Option<&'ast Block<'arena>>)>,
}

impl<'ast, 'arena> FunctionBodies<'ast, 'arena> {
    /// The body of the innermost function-like around `offset`; `None` inside an arrow
    /// function, whose parameters and captured variables are not followed.
    fn innermost(&self, offset: u32) -> Option<&'ast Block<'arena>> {
        self.bodies
            .iter()
            .filter(|(span, _)| span.start.offset <= offset && offset < span.end.offset)
            .min_by_key(|(span, _)| span.end.offset - span.start.offset)
            .and_then(|(_, body)| *body)
    }
}

struct FunctionBodyFinder;

impl<'ast, 'arena> Walker<'ast, 'arena, FunctionBodies<'ast, 'arena>> for FunctionBodyFinder {
    fn walk_in_instantiation(
        &self,
        instantiation: &'ast Instantiation<'arena>,
        found: &mut FunctionBodies<'ast, 'arena>,
    ) {
        found.instantiations.push(instantiation);
    }

    fn walk_in_method(
        &self,
        method: &'ast Method<'arena>,
        found: &mut FunctionBodies<'ast, 'arena>,
    ) {
        if let MethodBody::Concrete(body) = &method.body {
            found.bodies.push((method.span(), Some(body)));
        }
    }

    fn walk_in_closure(
        &self,
        closure: &'ast Closure<'arena>,
        found: &mut FunctionBodies<'ast, 'arena>,
    ) {
        found.bodies.push((closure.span(), Some(&closure.body)));
    }

    fn walk_in_function(
        &self,
        function: &'ast Function<'arena>,
        found: &mut FunctionBodies<'ast, 'arena>,
    ) {
        found.bodies.push((function.span(), Some(&function.body)));
    }

    fn walk_in_arrow_function(
        &self,
        arrow: &'ast ArrowFunction<'arena>,
        found: &mut FunctionBodies<'ast, 'arena>,
    ) {
        found.bodies.push((arrow.span(), None));
    }
}

/// The local variables of a function body that stand for one expression: assigned once with
/// `=` (`$options = [Config::A];`), and otherwise only read as a plugin's constructor argument.
/// Any other appearance (a second assignment, `.=`, `$x[] =`, `$x->set(...)`, passing it to a
/// call, a parameter, a `foreach` target, a closure's `use`) may change its value, so such a
/// variable is not followed.
#[derive(Default)]
struct LocalValues<'ast, 'arena> {
    values: HashMap<&'arena [u8], &'ast Expression<'arena>>,
}

impl<'ast, 'arena> LocalValues<'ast, 'arena> {
    /// `plugins`: the start offsets of the plugin instantiations.
    fn of(body: &'ast Block<'arena>, plugins: &HashSet<u32>) -> Self {
        let own = OwnBody::of(body);
        let mut assigned: HashMap<&'arena [u8], Vec<&'ast Assignment<'arena>>> = HashMap::new();
        for assignment in &own.assignments {
            if let Expression::Variable(Variable::Direct(variable)) = assignment.lhs {
                assigned.entry(variable.name).or_default().push(assignment);
            }
        }
        let mut uses = VariableUses::default();
        VariableUseFinder { plugins }.walk_block(body, &mut uses);
        let values = assigned
            .into_iter()
            .filter_map(|(name, assignments)| {
                let [assignment] = assignments.as_slice() else {
                    return None;
                };
                if !assignment.operator.is_assign() {
                    return None;
                }
                let mut outside = uses
                    .variables
                    .iter()
                    .filter(|(used, _)| *used == name)
                    .filter(|(_, offset)| !uses.in_plugin_arguments(*offset));
                // The one appearance outside plugin arguments is the assignment's own.
                let only = outside.next()?;
                (outside.next().is_none() && only.1 == assignment.lhs.span().start.offset)
                    .then_some((name, assignment.rhs))
            })
            .collect();
        Self { values }
    }

    fn value(&self, variable: &Expression<'arena>) -> Option<&'ast Expression<'arena>> {
        match variable {
            Expression::Variable(Variable::Direct(variable)) => {
                self.values.get(variable.name).copied()
            }
            _ => None,
        }
    }
}

#[derive(Default)]
struct VariableUses {
    /// `(name, offset)` of every `$variable` in the body, nested functions included.
    variables: Vec<(Vec<u8>, u32)>,
    /// The spans of plugin constructor argument lists.
    plugin_arguments: Vec<(u32, u32)>,
}

impl VariableUses {
    fn in_plugin_arguments(&self, offset: u32) -> bool {
        self.plugin_arguments
            .iter()
            .any(|(start, end)| *start <= offset && offset < *end)
    }
}

struct VariableUseFinder<'f> {
    plugins: &'f HashSet<u32>,
}

impl<'ast, 'arena> Walker<'ast, 'arena, VariableUses> for VariableUseFinder<'_> {
    fn walk_in_direct_variable(
        &self,
        variable: &'ast DirectVariable<'arena>,
        uses: &mut VariableUses,
    ) {
        uses.variables
            .push((variable.name.to_vec(), variable.span.start.offset));
    }

    fn walk_in_instantiation(
        &self,
        instantiation: &'ast Instantiation<'arena>,
        uses: &mut VariableUses,
    ) {
        if let Some(arguments) = &instantiation.argument_list
            && self.plugins.contains(&instantiation.span().start.offset)
        {
            let span = arguments.span();
            uses.plugin_arguments
                .push((span.start.offset, span.end.offset));
        }
    }
}

/// How deep variables are followed. A variable read in another's assignment is not followed
/// (see [`LocalValues`]), so values never chain today; the bound keeps recursion finite should
/// that change.
const MAX_FOLLOWED: usize = 8;

/// The first part of an argument that is not supported, if any. A spread (`...$args`) is
/// unsupported as a whole.
fn unsupported_part<'ast>(
    argument: &'ast Argument<'_>,
    locals: &LocalValues<'ast, '_>,
) -> Option<&'ast dyn HasSpan> {
    match argument {
        Argument::Positional(argument) if argument.ellipsis.is_some() => Some(argument),
        Argument::Positional(argument) => unsupported(argument.value, locals, 0).map(as_span),
        Argument::Named(argument) => unsupported(argument.value, locals, 0).map(as_span),
    }
}

fn as_span<'ast>(expression: &'ast Expression<'_>) -> &'ast dyn HasSpan {
    expression
}

/// The first unsupported sub-expression of a supported-looking value, or the value itself.
/// A local variable assigned once is as supported as its value; when that value is not, the
/// variable is what the finding points at.
fn unsupported<'ast, 'arena>(
    value: &'ast Expression<'arena>,
    locals: &LocalValues<'ast, 'arena>,
    followed: usize,
) -> Option<&'ast Expression<'arena>> {
    let value = unparenthesized(value);
    let nested = |inner| unsupported(inner, locals, followed);
    match value {
        Expression::Literal(_) | Expression::ConstantAccess(_) | Expression::MagicConstant(_) => {
            None
        }
        Expression::UnaryPrefix(prefix)
            if matches!(
                prefix.operator,
                UnaryPrefixOperator::Negation(_) | UnaryPrefixOperator::Plus(_)
            ) && matches!(
                unparenthesized(prefix.operand),
                Expression::Literal(Literal::Integer(_) | Literal::Float(_))
            ) =>
        {
            None
        }
        Expression::Access(Access::ClassConstant(access))
            if written_class_name(access.class).is_some()
                && matches!(access.constant, ClassLikeConstantSelector::Identifier(_)) =>
        {
            None
        }
        Expression::Instantiation(instantiation)
            if written_class_name(instantiation.class).is_some() =>
        {
            instantiation
                .argument_list
                .as_ref()
                .and_then(|arguments| first_unsupported_argument(arguments, locals, followed))
        }
        Expression::Binary(binary)
            if matches!(binary.operator, BinaryOperator::StringConcat(_)) =>
        {
            nested(binary.lhs).or_else(|| nested(binary.rhs))
        }
        Expression::CompositeString(string) if is_plain_string(string) => None,
        Expression::Array(array) => {
            first_unsupported_element(array.elements.iter(), value, locals, followed)
        }
        Expression::LegacyArray(array) => {
            first_unsupported_element(array.elements.iter(), value, locals, followed)
        }
        Expression::Variable(_) if followed < MAX_FOLLOWED => match locals.value(value) {
            Some(assigned) if unsupported(assigned, locals, followed + 1).is_none() => None,
            _ => Some(value),
        },
        _ => Some(value),
    }
}

/// The first unsupported key or value of an array literal; a spread reports the whole array.
fn first_unsupported_element<'ast, 'arena>(
    mut elements: impl Iterator<Item = &'ast ArrayElement<'arena>>,
    array: &'ast Expression<'arena>,
    locals: &LocalValues<'ast, 'arena>,
    followed: usize,
) -> Option<&'ast Expression<'arena>> {
    elements.find_map(|element| match element {
        ArrayElement::KeyValue(pair) => unsupported(pair.key, locals, followed)
            .or_else(|| unsupported(pair.value, locals, followed)),
        ArrayElement::Value(item) => unsupported(item.value, locals, followed),
        ArrayElement::Variadic(_) => Some(array),
        ArrayElement::Missing(_) => None,
    })
}

fn first_unsupported_argument<'ast, 'arena>(
    arguments: &'ast ArgumentList<'arena>,
    locals: &LocalValues<'ast, 'arena>,
    followed: usize,
) -> Option<&'ast Expression<'arena>> {
    arguments
        .arguments
        .iter()
        .find_map(|argument| match argument {
            Argument::Positional(argument) if argument.ellipsis.is_some() => Some(argument.value),
            Argument::Positional(argument) => unsupported(argument.value, locals, followed),
            Argument::Named(argument) => unsupported(argument.value, locals, followed),
        })
}

/// A heredoc, nowdoc or double-quoted string without interpolation.
fn is_plain_string(string: &CompositeString<'_>) -> bool {
    let parts = match string {
        CompositeString::Interpolated(string) => &string.parts,
        CompositeString::Document(string) => &string.parts,
        CompositeString::ShellExecute(_) => return false,
    };
    parts
        .iter()
        .all(|part| matches!(part, StringPart::Literal(_)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bumpalo::Bump;

    /// The instantiations and function bodies of `source`, which must parse.
    fn parsed<'a>(arena: &'a Bump, source: &'a str) -> FunctionBodies<'a, 'a> {
        let program = upkeep_php::parse::parse_php(arena, source.as_bytes());
        assert!(program.errors.is_empty(), "{source}");
        let mut found = FunctionBodies::default();
        FunctionBodyFinder.walk_program(program, &mut found);
        found
    }

    /// The unsupported part of the first argument of `new P(...)`, as source text.
    fn unsupported_text(argument: &str) -> Option<String> {
        let arena = Bump::new();
        let source = format!("<?php new P({argument});");
        let found = parsed(&arena, &source);
        let first = found.instantiations[0]
            .argument_list
            .as_ref()?
            .arguments
            .first()?;
        unsupported_part(first, &LocalValues::default()).map(|part| {
            let span = part.span();
            source[span.start.offset as usize..span.end.offset as usize].to_string()
        })
    }

    #[test]
    fn accepts_scalars_constants_plain_new_and_concatenations() {
        for argument in [
            "'a'",
            "\"a\"",
            "1",
            "-1.5",
            "true",
            "null",
            "FOO",
            "Foo::BAR",
            "static::BAR",
            "Foo::class",
            "__DIR__",
            "new Bar()",
            "new Bar",
            "new Bar(Bar::X, new Baz())",
            "static::PREFIX . 'a' . Foo::BAR",
            "<<<'TXT'\nplain\nTXT",
            "name: 'a'",
            "[Foo::A, 'b' => 'c' . Bar::D]",
            "array(1, 2)",
        ] {
            assert_eq!(unsupported_text(argument), None, "{argument}");
        }
    }

    /// The unsupported part of each `new *Plugin(...)` in the body of function `f`, with its
    /// local variables followed.
    fn unsupported_in_body(body: &str) -> Vec<Option<String>> {
        let arena = Bump::new();
        let source = format!("<?php function f($parameter) {{ {body} }}");
        let found = parsed(&arena, &source);
        let plugins: Vec<&Instantiation<'_>> = found
            .instantiations
            .iter()
            .copied()
            .filter(|instantiation| {
                written_class_name(instantiation.class).is_some_and(|name| name.ends_with("Plugin"))
            })
            .collect();
        let starts: HashSet<u32> = plugins
            .iter()
            .map(|instantiation| instantiation.span().start.offset)
            .collect();
        plugins
            .iter()
            .map(|instantiation| {
                let offset = instantiation.span().start.offset;
                let locals = found
                    .innermost(offset)
                    .map_or_else(LocalValues::default, |body| LocalValues::of(body, &starts));
                let first = instantiation.argument_list.as_ref()?.arguments.first()?;
                unsupported_part(first, &locals).map(|part| {
                    let span = part.span();
                    source[span.start.offset as usize..span.end.offset as usize].to_string()
                })
            })
            .collect()
    }

    #[test]
    fn follows_a_single_local_assignment_of_a_supported_value() {
        let supported = [
            "$options = [Foo::A, 'b']; return new APlugin($options);",
            "$name = static::PREFIX . ':x'; return new APlugin($name);",
            "$options = new Options(Options::X); return [new APlugin($options), new BPlugin($options)];",
            "$parameter = 'reset'; return new APlugin($parameter);",
        ];
        for body in supported {
            assert_eq!(
                unsupported_in_body(body),
                vec![None; unsupported_in_body(body).len()],
                "{body}"
            );
        }
        let unsupported = [
            (
                "$config = $this->getConfig(); return new APlugin($config);",
                "$config",
            ),
            ("$a = 'x'; $a = $this->y(); return new APlugin($a);", "$a"),
            ("$a = 'x'; $a .= $this->y(); return new APlugin($a);", "$a"),
            ("$a = []; $a[] = $this->y(); return new APlugin($a);", "$a"),
            (
                "$a = new Options(); $a->set($this->y()); return new APlugin($a);",
                "$a",
            ),
            ("$a = 'x'; modify($a); return new APlugin($a);", "$a"),
            ("foreach ($list as $a) {} return new APlugin($a);", "$a"),
            ("return new APlugin($parameter);", "$parameter"),
            (
                "$a = 'x'; $f = function () use (&$a) { $a = $this->y(); }; return new APlugin($a);",
                "$a",
            ),
            ("$a = 'x'; return fn () => new APlugin($a);", "$a"),
            ("$a = $b; $b = $a; return new APlugin($a);", "$a"),
            // A variable read in another's assignment is not followed either.
            (
                "$prefix = 'a'; $name = $prefix; return new APlugin($name);",
                "$name",
            ),
        ];
        for (body, expected) in unsupported {
            assert_eq!(
                unsupported_in_body(body)
                    .first()
                    .cloned()
                    .flatten()
                    .as_deref(),
                Some(expected),
                "{body}"
            );
        }
    }

    #[test]
    fn points_at_the_unsupported_part() {
        let cases = [
            ("$this->getConfig()", "$this->getConfig()"),
            ("new Bar($this->getConfig())", "$this->getConfig()"),
            ("'a' . $name", "$name"),
            ("[Foo::A, $b]", "$b"),
            ("array('k' => $this->x())", "$this->x()"),
            ("[...$rest]", "[...$rest]"),
            ("\"a{$b}\"", "\"a{$b}\""),
            ("...$arguments", "...$arguments"),
            ("$class::BAR", "$class::BAR"),
            ("fn () => 1", "fn () => 1"),
            ("new $class()", "new $class()"),
            ("-$x", "-$x"),
        ];
        for (argument, expected) in cases {
            assert_eq!(
                unsupported_text(argument).as_deref(),
                Some(expected),
                "{argument}"
            );
        }
    }
}
