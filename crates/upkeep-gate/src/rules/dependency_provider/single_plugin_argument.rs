//! `single-plugin-argument`: a plugin instantiated in a dependency provider with a
//! constructor argument that is not a scalar, a constant, a plain `new`, or a concatenation
//! of those.

use mago_span::HasSpan;
use mago_syntax::ast::{
    Access, Argument, ArgumentList, ArrayElement, BinaryOperator, ClassLikeConstantSelector,
    CompositeString, Expression, Instantiation, Literal, StringPart, UnaryPrefixOperator,
};
use mago_syntax::walker::Walker;
use upkeep_php::names::short_name;

use super::{dependency_providers, snippet, unparenthesized, written_class_name};
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
  (`new CustomerUnsubscribePlugin([NewsletterConstants::DEFAULT_NEWSLETTER_TYPE])`).

Everything else is reported: variables, method and function calls (`$this->getConfig()`,
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
            let mut instantiations = Vec::new();
            InstantiationFinder.walk_class(class, &mut instantiations);
            for instantiation in instantiations {
                let Some(written) = written_class_name(instantiation.class) else {
                    continue;
                };
                let plugin = file.resolve_class(written, instantiation.span().start.offset);
                let plugin = short_name(&plugin);
                if !plugin.ends_with("Plugin") {
                    continue;
                }
                let Some(arguments) = &instantiation.argument_list else {
                    continue;
                };
                for argument in &arguments.arguments {
                    let Some(unsupported) = unsupported_part(argument) else {
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

struct InstantiationFinder;

impl<'ast, 'arena> Walker<'ast, 'arena, Vec<&'ast Instantiation<'arena>>> for InstantiationFinder {
    fn walk_in_instantiation(
        &self,
        instantiation: &'ast Instantiation<'arena>,
        found: &mut Vec<&'ast Instantiation<'arena>>,
    ) {
        found.push(instantiation);
    }
}

/// The first part of an argument that is not supported, if any. A spread (`...$args`) is
/// unsupported as a whole.
fn unsupported_part<'ast>(argument: &'ast Argument<'_>) -> Option<&'ast dyn HasSpan> {
    match argument {
        Argument::Positional(argument) if argument.ellipsis.is_some() => Some(argument),
        Argument::Positional(argument) => unsupported(argument.value).map(as_span),
        Argument::Named(argument) => unsupported(argument.value).map(as_span),
    }
}

fn as_span<'ast>(expression: &'ast Expression<'_>) -> &'ast dyn HasSpan {
    expression
}

/// The first unsupported sub-expression of a supported-looking value, or the value itself.
fn unsupported<'ast, 'arena>(value: &'ast Expression<'arena>) -> Option<&'ast Expression<'arena>> {
    let value = unparenthesized(value);
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
                .and_then(first_unsupported_argument)
        }
        Expression::Binary(binary)
            if matches!(binary.operator, BinaryOperator::StringConcat(_)) =>
        {
            unsupported(binary.lhs).or_else(|| unsupported(binary.rhs))
        }
        Expression::CompositeString(string) if is_plain_string(string) => None,
        Expression::Array(array) => first_unsupported_element(array.elements.iter(), value),
        Expression::LegacyArray(array) => first_unsupported_element(array.elements.iter(), value),
        _ => Some(value),
    }
}

/// The first unsupported key or value of an array literal; a spread reports the whole array.
fn first_unsupported_element<'ast, 'arena>(
    mut elements: impl Iterator<Item = &'ast ArrayElement<'arena>>,
    array: &'ast Expression<'arena>,
) -> Option<&'ast Expression<'arena>> {
    elements.find_map(|element| match element {
        ArrayElement::KeyValue(pair) => unsupported(pair.key).or_else(|| unsupported(pair.value)),
        ArrayElement::Value(item) => unsupported(item.value),
        ArrayElement::Variadic(_) => Some(array),
        ArrayElement::Missing(_) => None,
    })
}

fn first_unsupported_argument<'ast, 'arena>(
    arguments: &'ast ArgumentList<'arena>,
) -> Option<&'ast Expression<'arena>> {
    arguments
        .arguments
        .iter()
        .find_map(|argument| match argument {
            Argument::Positional(argument) if argument.ellipsis.is_some() => Some(argument.value),
            Argument::Positional(argument) => unsupported(argument.value),
            Argument::Named(argument) => unsupported(argument.value),
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

    /// The unsupported part of the first argument of `new P(...)`, as source text.
    fn unsupported_text(argument: &str) -> Option<String> {
        let arena = Bump::new();
        let source = format!("<?php new P({argument});");
        let program = upkeep_php::parse::parse_php(&arena, source.as_bytes());
        assert!(program.errors.is_empty(), "{argument}");
        let mut found = Vec::new();
        InstantiationFinder.walk_program(program, &mut found);
        let first = found[0].argument_list.as_ref()?.arguments.first()?;
        unsupported_part(first).map(|part| {
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
