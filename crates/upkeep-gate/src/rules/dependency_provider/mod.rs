//! Spryker dependency-provider rules (section A of the spec).
//!
//! Every rule here looks only inside classes whose short name ends with `DependencyProvider`
//! (Spryker's naming convention, which its own checker keys on too), in project files.
//! The helpers below are shared by the rules: finding those classes, and reading the parts
//! of the syntax tree that the rules have in common.

pub mod container_set_returns_array;
pub mod dependency_provider_additional_logic;
pub mod multidimensional_plugin_array;
pub mod plugin_restriction_docblock;
pub mod single_plugin_argument;

use mago_syntax::ast::{
    AnonymousClass, ArrowFunction, Assignment, Block, Class, Closure, Expression, Function, Return,
};
use mago_syntax::walker::Walker;

use crate::rule::PhpFile;

/// The suffix that makes a class a dependency provider.
const DEPENDENCY_PROVIDER_SUFFIX: &str = "DependencyProvider";

/// The dependency-provider classes of a file, wherever they are declared (braced namespaces,
/// conditional declarations included).
pub(crate) fn dependency_providers<'a, 'arena>(
    file: &PhpFile<'a, 'arena>,
) -> Vec<&'a Class<'arena>> {
    // The extracted facts already know the file's classes: most files have no dependency
    // provider and need no walk at all.
    if !file.facts.classes.iter().any(|class| {
        class.kind == upkeep_php::ClassKind::Class
            && class.short_name().ends_with(DEPENDENCY_PROVIDER_SUFFIX)
    }) {
        return Vec::new();
    }
    let mut found = Vec::new();
    ClassFinder.walk_program(file.program, &mut found);
    found
}

struct ClassFinder;

impl<'ast, 'arena> Walker<'ast, 'arena, Vec<&'ast Class<'arena>>> for ClassFinder {
    fn walk_in_class(&self, class: &'ast Class<'arena>, found: &mut Vec<&'ast Class<'arena>>) {
        if text(class.name.value).ends_with(DEPENDENCY_PROVIDER_SUFFIX) {
            found.push(class);
        }
    }
}

/// Source bytes as text (identifiers are ASCII in practice; anything else reads as empty).
pub(crate) fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

/// The expression inside any number of parentheses.
pub(crate) fn unparenthesized<'ast, 'arena>(
    mut expression: &'ast Expression<'arena>,
) -> &'ast Expression<'arena> {
    while let Expression::Parenthesized(inner) = expression {
        expression = inner.expression;
    }
    expression
}

/// True for `[...]` and `array(...)`.
pub(crate) fn is_array_literal(expression: &Expression<'_>) -> bool {
    matches!(
        unparenthesized(expression),
        Expression::Array(_) | Expression::LegacyArray(_)
    )
}

/// The class name as written in `new X`, `X::class` or `X::CONST`: an identifier or
/// `self`/`static`/`parent`; `None` for dynamic class expressions (`new $class`).
pub(crate) fn written_class_name<'arena>(class: &Expression<'arena>) -> Option<&'arena str> {
    match class {
        Expression::Identifier(identifier) => Some(text(identifier.value())),
        Expression::Self_(_) => Some("self"),
        Expression::Static(_) => Some("static"),
        Expression::Parent(_) => Some("parent"),
        _ => None,
    }
}

/// The name of a plain variable (`$plugins` -> `$plugins`), `None` for `$$name` and friends.
pub(crate) fn variable_name<'arena>(expression: &Expression<'arena>) -> Option<&'arena str> {
    match unparenthesized(expression) {
        Expression::Variable(mago_syntax::ast::Variable::Direct(variable)) => {
            Some(text(variable.name))
        }
        _ => None,
    }
}

/// Source text for a message: whitespace runs collapsed, cut after `max` characters.
pub(crate) fn snippet(source: &str, max: usize) -> String {
    let collapsed = source.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= max {
        collapsed
    } else {
        let mut cut: String = collapsed.chars().take(max).collect();
        cut.push('…');
        cut
    }
}

/// The `return` statements and assignments of one function body, without those of the
/// functions, closures and classes nested in it (their returns are not this body's).
#[derive(Default)]
pub(crate) struct OwnBody<'ast, 'arena> {
    pub returns: Vec<&'ast Return<'arena>>,
    pub assignments: Vec<&'ast Assignment<'arena>>,
    /// How many nested function-likes the walk is inside of.
    nesting: usize,
}

impl<'ast, 'arena> OwnBody<'ast, 'arena> {
    pub fn of(body: &'ast Block<'arena>) -> Self {
        let mut own = Self::default();
        OwnBodyWalker.walk_block(body, &mut own);
        own
    }

    /// True when `name` is assigned an array literal (`$name = [...]`) in this body.
    pub fn assigns_array_literal(&self, name: &str) -> bool {
        self.assignments.iter().any(|assignment| {
            assignment.operator.is_assign()
                && variable_name(assignment.lhs) == Some(name)
                && is_array_literal(assignment.rhs)
        })
    }
}

/// What every own `return` of a method body returns, each classified by `classify` (`None`
/// for a bare `return;`). `body` is the text of the method's `{ ... }`, which may be another
/// file's (core's) than the one being checked. `None` when the body does not parse.
pub(crate) fn classify_returns<T>(
    body: &str,
    classify: impl Fn(&Expression<'_>) -> T,
) -> Option<Vec<Option<T>>> {
    let arena = bumpalo::Bump::new();
    let wrapped = format!("<?php function upkeep_body() {body}");
    let program = upkeep_php::parse::parse_php(&arena, wrapped.as_bytes());
    if !program.errors.is_empty() {
        return None;
    }
    let function = program
        .statements
        .iter()
        .find_map(|statement| match statement {
            mago_syntax::ast::Statement::Function(function) => Some(function),
            _ => None,
        })?;
    let own = OwnBody::of(&function.body);
    Some(
        own.returns
            .iter()
            .map(|r#return| r#return.value.map(|value| classify(unparenthesized(value))))
            .collect(),
    )
}

/// The boolean literal every own `return` of a method body returns (`{ return true; }`);
/// `None` when a return returns anything else, or there is none.
pub(crate) fn returned_bool(body: &str) -> Option<bool> {
    let returns = classify_returns(body, |value| match value {
        Expression::Literal(mago_syntax::ast::Literal::True(_)) => Some(true),
        Expression::Literal(mago_syntax::ast::Literal::False(_)) => Some(false),
        _ => None,
    })?;
    let first = returns.first().copied().flatten().flatten()?;
    returns
        .iter()
        .all(|value| *value == Some(Some(first)))
        .then_some(first)
}

struct OwnBodyWalker;

impl<'ast, 'arena> Walker<'ast, 'arena, OwnBody<'ast, 'arena>> for OwnBodyWalker {
    fn walk_in_return(&self, r#return: &'ast Return<'arena>, own: &mut OwnBody<'ast, 'arena>) {
        if own.nesting == 0 {
            own.returns.push(r#return);
        }
    }

    fn walk_in_assignment(
        &self,
        assignment: &'ast Assignment<'arena>,
        own: &mut OwnBody<'ast, 'arena>,
    ) {
        if own.nesting == 0 {
            own.assignments.push(assignment);
        }
    }

    fn walk_in_closure(&self, _: &'ast Closure<'arena>, own: &mut OwnBody<'ast, 'arena>) {
        own.nesting += 1;
    }

    fn walk_out_closure(&self, _: &'ast Closure<'arena>, own: &mut OwnBody<'ast, 'arena>) {
        own.nesting -= 1;
    }

    fn walk_in_arrow_function(
        &self,
        _: &'ast ArrowFunction<'arena>,
        own: &mut OwnBody<'ast, 'arena>,
    ) {
        own.nesting += 1;
    }

    fn walk_out_arrow_function(
        &self,
        _: &'ast ArrowFunction<'arena>,
        own: &mut OwnBody<'ast, 'arena>,
    ) {
        own.nesting -= 1;
    }

    fn walk_in_function(&self, _: &'ast Function<'arena>, own: &mut OwnBody<'ast, 'arena>) {
        own.nesting += 1;
    }

    fn walk_out_function(&self, _: &'ast Function<'arena>, own: &mut OwnBody<'ast, 'arena>) {
        own.nesting -= 1;
    }

    fn walk_in_anonymous_class(
        &self,
        _: &'ast AnonymousClass<'arena>,
        own: &mut OwnBody<'ast, 'arena>,
    ) {
        own.nesting += 1;
    }

    fn walk_out_anonymous_class(
        &self,
        _: &'ast AnonymousClass<'arena>,
        own: &mut OwnBody<'ast, 'arena>,
    ) {
        own.nesting -= 1;
    }
}

/// Resolves a type as written at `offset` and tells whether it names a Spryker container.
pub(crate) fn is_container_type(file: &PhpFile<'_, '_>, written: &str, offset: u32) -> bool {
    names_container(&file.facts.context_at(offset).resolve_type(written, None))
}

/// True when a resolved type names a Spryker container: any class whose short name is
/// `Container` (`Spryker\Zed\Kernel\Container`, the Client, Yves, Glue and Service ones, or
/// an alias of them), alone, nullable or in a union.
pub(crate) fn names_container(resolved: &str) -> bool {
    resolved
        .split(['|', '&', '(', ')', '?'])
        .map(str::trim)
        .any(|name| upkeep_php::names::short_name(name).eq_ignore_ascii_case("Container"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returned_booleans() {
        assert_eq!(returned_bool("{\n    return true;\n}"), Some(true));
        assert_eq!(
            returned_bool("{ if ($a) { return (false); } return FALSE; }"),
            Some(false)
        );
        assert_eq!(
            returned_bool("{ if ($a) { return true; } return false; }"),
            None
        );
        assert_eq!(returned_bool("{ return $this->get('x', true); }"), None);
        assert_eq!(
            returned_bool("{ $f = function () { return true; }; }"),
            None
        );
        assert_eq!(returned_bool("{ return; }"), None);
        assert_eq!(returned_bool("{ return true "), None);
    }

    #[test]
    fn snippets_collapse_whitespace_and_cut() {
        assert_eq!(snippet("a  &&\n   b", 20), "a && b");
        assert_eq!(snippet("abcdef", 3), "abc…");
    }
}
