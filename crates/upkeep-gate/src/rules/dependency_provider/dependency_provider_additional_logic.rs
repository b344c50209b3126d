//! `dependency-provider-additional-logic`: a condition in a dependency provider other than
//! an `is…Development…()` call or `class_exists()`.

use mago_span::HasSpan;
use mago_syntax::ast::{
    BinaryOperator, Call, ClassLikeMemberSelector, Conditional, Expression, If,
    IfColonDelimitedBodyElseIfClause, IfStatementBodyElseIfClause, UnaryPrefixOperator,
};
use mago_syntax::walker::Walker;

use super::{dependency_providers, snippet, text, unparenthesized};
use crate::rule::{Category, Example, PhpFile, Rule, RuleMeta, Sink};

pub struct DependencyProviderAdditionalLogic;

pub static META: RuleMeta = RuleMeta {
    name: "dependency-provider-additional-logic",
    spryker_ids: &["DEPENDENCY_PROVIDER_ADDITIONAL_LOGIC_CHECKER"],
    category: Category::DependencyProvider,
    summary: "A condition in a dependency provider that is not an `is…Development…()` call or `class_exists()`.",
    documentation: "\
## What it finds
Conditions in a `*DependencyProvider` class that decide which plugins get registered, when
the condition is anything other than:

- a call of a method whose name starts with `is` and contains `Development`, on an object or
  a class (`$this->getConfig()->isDevelopmentConsoleCommandsEnabled()`,
  `Environment::isDevelopment()`);
- a call of `class_exists(...)` (or `\\class_exists(...)`);
- a negation (`!`), or an `&&` / `||` / `and` / `or` combination, of those only.

It checks the condition of every `if`, every `elseif` and `else if` (brace and colon
syntax alike), and of every ternary (`a ? b : c` and `a ?: b`), anywhere in the class,
closures included. The finding points at the condition itself.

Beyond Spryker's checker, which checks `if` conditions only (never `elseif`) and accepts
only a bare instance `is…Development…()` call or a bare `class_exists()`, this rule also
checks `elseif` and ternaries, accepts static `is…Development…()` calls, `!class_exists(...)`
and `&&` / `||` of allowed calls, and reports each offending condition at its own line.
`switch` and `match` are not checked.

## Why it matters
A dependency provider is a plugin list that Spryker's integration guides and upgrade tools
edit. Business decisions hidden in it (feature flags, store checks, constants) are invisible
to those tools, and each update has to be merged by hand.

## Example
```php
class ConsoleDependencyProvider extends SprykerConsoleDependencyProvider
{
    protected function getConsoleCommands(Container $container): array
    {
        $commands = [new CacheWarmerConsole()];
        if (static::IS_DEV) {
            $commands[] = new QueueDumpConsole();
        }

        return $commands;
    }
}
```

## Instead
```php
        if ($this->getConfig()->isDevelopmentConsoleCommandsEnabled()) {
            $commands[] = new QueueDumpConsole();
        }
```

## Fix
Register the plugin unconditionally and move the decision into the plugin itself, or into
the module's config behind an `is…Development…()` method. `class_exists()` is meant only for
optional packages that may not be installed.

## Configuration
None. Vendor files are never reported.

## Spryker id
`DEPENDENCY_PROVIDER_ADDITIONAL_LOGIC_CHECKER`
",
    bad_example: Example {
        files: &[(
            "src/Pyz/Zed/Console/ConsoleDependencyProvider.php",
            "<?php\nnamespace Pyz\\Zed\\Console;\n\nclass ConsoleDependencyProvider\n{\n    public const IS_DEV = true;\n\n    protected function getConsoleCommands(): array\n    {\n        $commands = [];\n        if (static::IS_DEV) {\n            $commands[] = new QueueDumpConsole();\n        }\n\n        return $commands;\n    }\n}\n",
        )],
    },
    good_example: Example {
        files: &[(
            "src/Pyz/Zed/Console/ConsoleDependencyProvider.php",
            "<?php\nnamespace Pyz\\Zed\\Console;\n\nclass ConsoleDependencyProvider\n{\n    protected function getConsoleCommands(): array\n    {\n        $commands = [];\n        if ($this->getConfig()->isDevelopmentConsoleCommandsEnabled()) {\n            $commands[] = new QueueDumpConsole();\n        }\n        if (!class_exists(QueueDumpConsole::class)) {\n            return $commands;\n        }\n\n        return $commands;\n    }\n}\n",
        )],
    },
    guideline: "https://docs.spryker.com/docs/dg/dev/guidelines/keeping-a-project-upgradable/upgradability-guidelines/additional-logic-in-dependency-provider.html",
    needs_core: false,
};

impl Rule for DependencyProviderAdditionalLogic {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_php_file(&self, file: &PhpFile<'_, '_>, sink: &mut Sink) {
        for class in dependency_providers(file) {
            let mut conditions = Vec::new();
            ConditionFinder.walk_class(class, &mut conditions);
            for (construct, condition) in conditions {
                if is_allowed(condition) {
                    continue;
                }
                let written = snippet(file.source(condition.span()), 60);
                let shown = match construct {
                    Construct::If => format!("`if ({written})`"),
                    Construct::ElseIf => format!("`elseif ({written})`"),
                    Construct::Ternary => format!("ternary `{written} ? …`"),
                };
                sink.push(file.finding(
                    &META,
                    condition.span(),
                    format!(
                        "{shown} in a dependency provider: conditions other than `is…Development…()` and `class_exists()` are additional logic; move the decision into a plugin or the module's config"
                    ),
                ));
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Construct {
    If,
    ElseIf,
    Ternary,
}

type Conditions<'ast, 'arena> = Vec<(Construct, &'ast Expression<'arena>)>;

struct ConditionFinder;

impl<'ast, 'arena> Walker<'ast, 'arena, Conditions<'ast, 'arena>> for ConditionFinder {
    fn walk_in_if(&self, r#if: &'ast If<'arena>, found: &mut Conditions<'ast, 'arena>) {
        found.push((Construct::If, r#if.condition));
    }

    fn walk_in_if_statement_body_else_if_clause(
        &self,
        clause: &'ast IfStatementBodyElseIfClause<'arena>,
        found: &mut Conditions<'ast, 'arena>,
    ) {
        found.push((Construct::ElseIf, clause.condition));
    }

    fn walk_in_if_colon_delimited_body_else_if_clause(
        &self,
        clause: &'ast IfColonDelimitedBodyElseIfClause<'arena>,
        found: &mut Conditions<'ast, 'arena>,
    ) {
        found.push((Construct::ElseIf, clause.condition));
    }

    fn walk_in_conditional(
        &self,
        conditional: &'ast Conditional<'arena>,
        found: &mut Conditions<'ast, 'arena>,
    ) {
        found.push((Construct::Ternary, conditional.condition));
    }
}

/// An allowed condition: an `is…Development…()` call, `class_exists()`, or `!`, `&&`, `||`
/// of allowed conditions.
fn is_allowed(condition: &Expression<'_>) -> bool {
    match unparenthesized(condition) {
        Expression::UnaryPrefix(prefix) => {
            matches!(prefix.operator, UnaryPrefixOperator::Not(_)) && is_allowed(prefix.operand)
        }
        Expression::Binary(binary) => {
            matches!(
                binary.operator,
                BinaryOperator::And(_)
                    | BinaryOperator::Or(_)
                    | BinaryOperator::LowAnd(_)
                    | BinaryOperator::LowOr(_)
            ) && is_allowed(binary.lhs)
                && is_allowed(binary.rhs)
        }
        Expression::Call(Call::Function(call)) => match call.function {
            Expression::Identifier(name) => {
                // `class_exists` or `\class_exists`; a qualified `Foo\class_exists` is another function.
                let name = text(name.value());
                name.strip_prefix('\\')
                    .unwrap_or(name)
                    .eq_ignore_ascii_case("class_exists")
            }
            _ => false,
        },
        Expression::Call(Call::Method(call)) => is_development_method(&call.method),
        Expression::Call(Call::NullSafeMethod(call)) => is_development_method(&call.method),
        Expression::Call(Call::StaticMethod(call)) => is_development_method(&call.method),
        _ => false,
    }
}

/// `is…Development…` (PHP method names are case-insensitive, so is this).
fn is_development_method(selector: &ClassLikeMemberSelector<'_>) -> bool {
    let ClassLikeMemberSelector::Identifier(name) = selector else {
        return false;
    };
    let name = text(name.value).to_ascii_lowercase();
    name.strip_prefix("is")
        .is_some_and(|rest| rest.contains("development"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bumpalo::Bump;

    fn condition_allowed(condition: &str) -> bool {
        let arena = Bump::new();
        let source = format!("<?php if ({condition}) {{}}");
        let program = upkeep_php::parse::parse_php(&arena, source.as_bytes());
        let mut found = Vec::new();
        ConditionFinder.walk_program(program, &mut found);
        assert_eq!(found.len(), 1, "{condition}");
        is_allowed(found[0].1)
    }

    #[test]
    fn allows_development_calls_class_exists_and_their_combinations() {
        assert!(condition_allowed(
            "$this->getConfig()->isDevelopmentConsoleCommandsEnabled()"
        ));
        assert!(condition_allowed("Environment::isDevelopment()"));
        assert!(condition_allowed("$config?->isInDevelopmentMode()"));
        assert!(condition_allowed("class_exists(Foo::class)"));
        assert!(condition_allowed("\\class_exists('Foo')"));
        assert!(condition_allowed("!class_exists(Foo::class)"));
        assert!(condition_allowed(
            "(class_exists(A::class) && $this->isDevelopment()) || class_exists(B::class)"
        ));
    }

    #[test]
    fn rejects_everything_else() {
        assert!(!condition_allowed("static::IS_DEV"));
        assert!(!condition_allowed(
            "$this->getConfig()->isProductionEnabled()"
        ));
        assert!(!condition_allowed("$this->getDevelopmentMode()"));
        assert!(!condition_allowed("interface_exists(Foo::class)"));
        assert!(!condition_allowed("Foo\\class_exists(Foo::class)"));
        assert!(!condition_allowed("class_exists(A::class) && $enabled"));
        assert!(!condition_allowed("$this->isDevelopment() === true"));
    }
}
