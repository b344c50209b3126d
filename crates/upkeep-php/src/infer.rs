//! Per-method type inference: which class an expression inside a method (or closure) evaluates
//! to, from what the code declares — native types, doc-block `@param`, `@var`, `@return` and
//! class-level `@method` tags — looked up through the [`CodebaseIndex`].
//!
//! It is small and exact rather than clever: it answers only when the declarations name exactly
//! one class (`?Foo` and `Foo|null` count as `Foo`), and says nothing otherwise. Variables are
//! flow-insensitive: the last assignment in source order wins.
//!
//! ```no_run
//! # use upkeep_php::infer::TypeEnvironment;
//! # fn demo(index: &upkeep_php::CodebaseIndex, facts: &upkeep_php::extract::FileFacts,
//! #         program: &mago_syntax::ast::Program<'_>, method: &mago_syntax::ast::Method<'_>,
//! #         expression: &mago_syntax::ast::Expression<'_>) {
//! if let Some(environment) = TypeEnvironment::for_method(index, facts, program, method) {
//!     // `$this->getFactory()->createProductReader()` -> `Pyz\Zed\Product\Business\Reader\ProductReader`
//!     let class = environment.type_of(expression);
//! }
//! # }
//! ```

use std::collections::{HashMap, HashSet, VecDeque};

use mago_span::HasSpan;
use mago_syntax::ast::{
    Access, AnonymousClass, ArrowFunction, Assignment, Binary, Block, Call,
    ClassLikeMemberSelector, Closure, Expression, Function, FunctionLikeParameterList, Hint,
    Method, MethodBody, Program, Statement, Trivia, TryCatchClause, Variable,
};
use mago_syntax::comments::docblock::get_docblock_before_position;
use mago_syntax::walker::Walker;

use crate::docblock::DocBlock;
use crate::extract::FileFacts;
use crate::index::CodebaseIndex;
use crate::model::{ClassKind, ClassLike, MethodInfo};
use crate::names::{ClassScope, NameContext, is_builtin_type, namespace_of, short_name};

/// What is known about the variables of one method or closure body.
#[derive(Debug, Clone)]
pub struct TypeEnvironment<'a> {
    index: &'a CodebaseIndex,
    context: &'a NameContext,
    class: &'a ClassLike,
    /// Variable name without `$` -> fully qualified class name.
    variables: HashMap<String, String>,
}

/// A method call resolved to the method it runs.
#[derive(Debug, Clone, Copy)]
pub struct CallTarget<'a> {
    /// The class the call is made on (the receiver's inferred class).
    pub receiver: &'a ClassLike,
    /// The class, interface or trait that declares the method.
    pub declaring_class: &'a ClassLike,
    pub method: &'a MethodInfo,
}

impl<'a> TypeEnvironment<'a> {
    /// An environment for code in `class` with no variables known yet; `context` is the name
    /// context (namespace and imports) the code is written in.
    pub fn new(index: &'a CodebaseIndex, context: &'a NameContext, class: &'a ClassLike) -> Self {
        Self {
            index,
            context,
            class,
            variables: HashMap::new(),
        }
    }

    /// The environment of a method declared in a class of `facts` (the facts of the file
    /// `program` was parsed from): its parameters, then the variables assigned in its body.
    /// `None` when the method is not a member of a class, interface, trait or enum of `facts`.
    pub fn for_method(
        index: &'a CodebaseIndex,
        facts: &'a FileFacts,
        program: &Program<'_>,
        method: &Method<'_>,
    ) -> Option<Self> {
        let start = method.span().start.offset;
        let class = facts.class_at(start)?;
        let info = class.methods.iter().find(|info| info.span.start == start)?;
        let mut environment = Self::new(index, facts.context_at(start), class);
        environment.add_parameters(info);
        if let MethodBody::Concrete(body) = &method.body {
            environment.collect_block(body, program.trivia.as_slice());
        }
        Some(environment)
    }

    /// The environment inside a closure written in this environment's code: its parameters,
    /// the variables it imports with `use`, and those it assigns.
    #[must_use]
    pub fn for_closure(&self, closure: &Closure<'_>, program: &Program<'_>) -> Self {
        let mut inner = Self::new(self.index, self.context, self.class);
        if let Some(use_clause) = &closure.use_clause {
            for imported in &use_clause.variables {
                let name = variable_key(imported.variable.name);
                if let Some(class) = self.variables.get(name) {
                    inner.variables.insert(name.to_string(), class.clone());
                }
            }
        }
        inner.add_hinted_parameters(&closure.parameter_list);
        inner.collect_block(&closure.body, program.trivia.as_slice());
        inner
    }

    /// The environment inside an arrow function: it sees every variable of the enclosing code.
    #[must_use]
    pub fn for_arrow_function(&self, arrow: &ArrowFunction<'_>) -> Self {
        let mut inner = self.clone();
        inner.add_hinted_parameters(&arrow.parameter_list);
        inner
    }

    /// The class the code is written in (what `$this`, `self` and `static` name).
    pub fn class(&self) -> &'a ClassLike {
        self.class
    }

    pub fn context(&self) -> &'a NameContext {
        self.context
    }

    pub fn index(&self) -> &'a CodebaseIndex {
        self.index
    }

    /// The class of a variable (name with or without `$`), if known.
    pub fn variable(&self, name: &str) -> Option<&str> {
        if variable_key(name.as_bytes()) == "this" {
            return Some(&self.class.name);
        }
        self.variables
            .get(variable_key(name.as_bytes()))
            .map(String::as_str)
    }

    /// Declares a variable's class (for callers that know more, e.g. from their own analysis).
    pub fn set_variable(&mut self, name: &str, class: impl Into<String>) {
        self.variables
            .insert(variable_key(name.as_bytes()).to_string(), class.into());
    }

    fn scope(&self) -> ClassScope<'a> {
        ClassScope {
            name: &self.class.name,
            parent: self.class.parent(),
        }
    }

    /// Resolves a class name as written in this code (imports, aliases, `self`/`static`/`parent`).
    pub fn resolve_class(&self, written: &str) -> String {
        self.context.resolve_class_in(written, Some(self.scope()))
    }

    /// The class an expression evaluates to, fully qualified without leading backslash.
    pub fn type_of(&self, expression: &Expression<'_>) -> Option<String> {
        match expression {
            Expression::Parenthesized(inner) => self.type_of(inner.expression),
            Expression::Variable(Variable::Direct(variable)) => self
                .variable(std::str::from_utf8(variable.name).ok()?)
                .map(str::to_string),
            Expression::Instantiation(instantiation) => self.class_expression(instantiation.class),
            Expression::Clone(clone) => self.type_of(clone.object),
            Expression::Assignment(assignment) if assignment.operator.is_assign() => {
                self.type_of(assignment.rhs)
            }
            Expression::Access(Access::Property(access)) => {
                self.property_type(access.object, &access.property)
            }
            Expression::Access(Access::NullSafeProperty(access)) => {
                self.property_type(access.object, &access.property)
            }
            Expression::Access(Access::StaticProperty(access)) => {
                let class = self.class_expression(access.class)?;
                let Variable::Direct(property) = &access.property else {
                    return None;
                };
                self.property_of(&class, variable_key(property.name))
            }
            Expression::Call(call) => self.call_type(call),
            Expression::Conditional(conditional) => self.agreeing([
                conditional.then.unwrap_or(conditional.condition),
                conditional.r#else,
            ]),
            Expression::Binary(Binary {
                lhs, operator, rhs, ..
            }) if operator.is_null_coalesce() => self.agreeing([*lhs, *rhs]),
            _ => None,
        }
    }

    /// The class both branches evaluate to (a `null` branch is ignored).
    fn agreeing<const N: usize>(&self, branches: [&Expression<'_>; N]) -> Option<String> {
        let mut agreed: Option<String> = None;
        for branch in branches {
            if is_null_literal(branch) {
                continue;
            }
            let class = self.type_of(branch)?;
            match &agreed {
                Some(previous) if !previous.eq_ignore_ascii_case(&class) => return None,
                _ => agreed = Some(class),
            }
        }
        agreed
    }

    /// The class named by the class part of `new X`, `X::m()`, `X::$p`: a name, `self`,
    /// `static`, `parent`, or an expression holding an object.
    pub fn class_expression(&self, class: &Expression<'_>) -> Option<String> {
        match class {
            Expression::Identifier(identifier) => {
                Some(self.resolve_class(std::str::from_utf8(identifier.value()).ok()?))
            }
            Expression::Self_(_) | Expression::Static(_) => Some(self.class.name.clone()),
            Expression::Parent(_) => self.class.parent().map(str::to_string),
            Expression::AnonymousClass(_) => None,
            other => self.type_of(other),
        }
    }

    fn property_type(
        &self,
        object: &Expression<'_>,
        property: &ClassLikeMemberSelector<'_>,
    ) -> Option<String> {
        let ClassLikeMemberSelector::Identifier(name) = property else {
            return None;
        };
        let receiver = self.type_of(object)?;
        self.property_of(&receiver, std::str::from_utf8(name.value).ok()?)
    }

    /// The class of property `name` of `class`, through parents and used traits.
    fn property_of(&self, class: &str, name: &str) -> Option<String> {
        let class = self.lookup(class)?;
        let receiver = class.name.clone();
        self.class_chain(class).find_map(|owner| {
            let property = owner
                .properties
                .iter()
                .find(|property| property.name == name)?;
            let declared = single_class(property.type_hint.as_deref()?)?;
            Some(member_class(declared, owner, &receiver))
        })
    }

    /// `class`, its used traits, then each ancestor and its traits.
    fn class_chain(&self, class: &'a ClassLike) -> impl Iterator<Item = &'a ClassLike> + '_ {
        std::iter::once(class)
            .chain(self.index.ancestors(class))
            .flat_map(|owner| {
                std::iter::once(owner).chain(
                    owner
                        .traits
                        .iter()
                        .filter_map(|name| self.index.class(name)),
                )
            })
    }

    /// The class named `name`: this environment's own class (as read from its file), else the
    /// index's.
    fn lookup(&self, name: &str) -> Option<&'a ClassLike> {
        let name = name.trim_start_matches('\\');
        if self.class.name.eq_ignore_ascii_case(name) {
            return Some(self.class);
        }
        self.index.class(name)
    }

    fn call_type(&self, call: &Call<'_>) -> Option<String> {
        let (receiver, selector) = self.call_receiver(call)?;
        let ClassLikeMemberSelector::Identifier(name) = selector else {
            return None;
        };
        self.method_return(&receiver, std::str::from_utf8(name.value).ok()?)
    }

    /// The receiver class of a method call and the selector of the method.
    fn call_receiver<'c, 'arena>(
        &self,
        call: &'c Call<'arena>,
    ) -> Option<(String, &'c ClassLikeMemberSelector<'arena>)> {
        match call {
            Call::Method(call) => Some((self.type_of(call.object)?, &call.method)),
            Call::NullSafeMethod(call) => Some((self.type_of(call.object)?, &call.method)),
            Call::StaticMethod(call) => {
                // `parent::m()` and `self::m()` in an instance method still run on `$this`.
                let receiver = match call.class {
                    Expression::Parent(_) | Expression::Self_(_) | Expression::Static(_) => {
                        self.class.name.clone()
                    }
                    other => self.class_expression(other)?,
                };
                Some((receiver, &call.method))
            }
            Call::Function(_) => None,
        }
    }

    /// The method a call runs: the declaring class and the method, found through the
    /// receiver's parents, traits and interfaces. `parent::m()` starts the search at the parent.
    pub fn resolve_call(&self, call: &Call<'_>) -> Option<CallTarget<'a>> {
        let (receiver, selector) = self.call_receiver(call)?;
        let ClassLikeMemberSelector::Identifier(name) = selector else {
            return None;
        };
        let name = std::str::from_utf8(name.value).ok()?;
        let receiver = self.lookup(&receiver)?;
        let search_from = match call {
            Call::StaticMethod(call) if matches!(call.class, Expression::Parent(_)) => {
                self.lookup(self.class.parent()?)?
            }
            _ => receiver,
        };
        let (declaring_class, method) = find_method(self.index, search_from, name)?;
        Some(CallTarget {
            receiver,
            declaring_class,
            method,
        })
    }

    /// The class a call of `method` on an object of class `receiver` returns. Searches from the
    /// receiver upwards; on each class a declared method wins over its `@method` tag, and a
    /// tag wins over a method declared further up (this is how Spryker narrows `getFactory()`).
    fn method_return(&self, receiver: &str, method: &str) -> Option<String> {
        let class = self.lookup(receiver)?;
        for owner in std::iter::once(class).chain(self.index.ancestors(class)) {
            let native = owner
                .method(method)
                .map(|found| (owner, found))
                .or_else(|| {
                    owner
                        .traits
                        .iter()
                        .filter_map(|name| self.index.class(name))
                        .find_map(|used| used.method(method).map(|found| (used, found)))
                });
            if let Some((declaring, found)) = native {
                return self.return_class(declaring, found, &class.name);
            }
            if let Some(tag) = owner
                .doc_methods
                .iter()
                .find(|tag| tag.name.eq_ignore_ascii_case(method))
            {
                let declared = single_class(tag.return_type.as_deref()?)?;
                return Some(member_class(declared, owner, &class.name));
            }
        }
        let (declaring, found) = find_in_interfaces(self.index, class, method)?;
        self.return_class(declaring, found, &class.name)
    }

    /// The class a method returns: its declared type if that names one class, else its
    /// `@return` tag; `self`, `static` and `$this` mean the receiver.
    fn return_class(
        &self,
        declaring: &ClassLike,
        method: &MethodInfo,
        receiver: &str,
    ) -> Option<String> {
        if let Some(declared) = method.return_type.as_deref().and_then(single_class) {
            return Some(member_class(declared, declaring, receiver));
        }
        let written = method.doc.as_ref()?.return_type()?;
        let resolved = self.resolve_foreign_type(declaring, written);
        let declared = single_class(&resolved)?;
        Some(member_class(declared, declaring, receiver))
    }

    /// Resolves a doc-block type written in the class `declaring`. In this environment's own
    /// class the file's imports are known; for other classes the index keeps no imports, so
    /// names resolve against the classes that class's signatures mention (a doc block names
    /// what the code imports), then against its namespace.
    fn resolve_foreign_type(&self, declaring: &ClassLike, written: &str) -> String {
        let scope = ClassScope {
            name: &declaring.name,
            parent: declaring.parent(),
        };
        if declaring.name.eq_ignore_ascii_case(&self.class.name)
            && declaring.file == self.class.file
        {
            return self.context.resolve_type(written, Some(scope));
        }
        let mut context = NameContext::new(namespace_of(&declaring.name));
        for name in referenced_classes(declaring) {
            context.import_class(name, None);
        }
        context.resolve_type(written, Some(scope))
    }

    fn add_parameters(&mut self, method: &MethodInfo) {
        let documented: Vec<(&str, &str)> = method
            .doc
            .as_ref()
            .map(DocBlock::params)
            .unwrap_or_default();
        for parameter in &method.parameters {
            let declared = parameter
                .type_hint
                .as_deref()
                .and_then(single_class)
                .map(str::to_string);
            let class = declared.or_else(|| {
                let (written, _) = documented
                    .iter()
                    .find(|(_, name)| *name == parameter.name)?;
                let resolved = self.context.resolve_type(written, Some(self.scope()));
                single_class(&resolved).map(str::to_string)
            });
            if let Some(class) = class {
                self.variables.insert(parameter.name.clone(), class);
            }
        }
    }

    fn add_hinted_parameters(&mut self, parameters: &FunctionLikeParameterList<'_>) {
        for parameter in &parameters.parameters {
            let name = variable_key(parameter.variable.name).to_string();
            match parameter
                .hint
                .as_ref()
                .and_then(|hint| self.hint_class(hint))
            {
                Some(class) => {
                    self.variables.insert(name, class);
                }
                // A parameter shadows the enclosing variable of the same name.
                None => {
                    self.variables.remove(&name);
                }
            }
        }
    }

    /// The single class a native type hint names (`Foo`, `?Foo`, `Foo|null`, `self`).
    pub fn hint_class(&self, hint: &Hint<'_>) -> Option<String> {
        match hint {
            Hint::Identifier(identifier) => {
                Some(self.resolve_class(std::str::from_utf8(identifier.value()).ok()?))
            }
            Hint::Nullable(nullable) => self.hint_class(nullable.hint),
            Hint::Parenthesized(inner) => self.hint_class(inner.hint),
            Hint::Union(union) => match (union.left, union.right) {
                (Hint::Null(_), other) | (other, Hint::Null(_)) => self.hint_class(other),
                _ => None,
            },
            Hint::Self_(_) | Hint::Static(_) => Some(self.class.name.clone()),
            Hint::Parent(_) => self.class.parent().map(str::to_string),
            _ => None,
        }
    }

    fn collect_block(&mut self, body: &Block<'_>, trivia: &[Trivia<'_>]) {
        let mut collecting = Collecting {
            environment: self,
            trivia,
            nesting: 0,
        };
        VariableCollector.walk_block(body, &mut collecting);
    }

    /// The class of a `@var` doc block right before `offset` for variable `name`: a tag that
    /// names the variable, or one that names none.
    fn documented_variable(
        &self,
        trivia: &[Trivia<'_>],
        offset: u32,
        name: &str,
    ) -> Option<String> {
        let doc = doc_before(trivia, offset)?;
        var_tags(&doc)
            .into_iter()
            .find(|(_, variable)| variable.is_none_or(|variable| variable == name))
            .and_then(|(written, _)| {
                let resolved = self.context.resolve_type(written, Some(self.scope()));
                single_class(&resolved).map(str::to_string)
            })
    }
}

/// Finds `method` on `class`: the class, its parents and used traits (`CodebaseIndex::find_method`),
/// then the interfaces they implement and those interfaces' parents. Interfaces are searched
/// too when `class` is itself an interface.
pub fn find_method<'a>(
    index: &'a CodebaseIndex,
    class: &'a ClassLike,
    method: &str,
) -> Option<(&'a ClassLike, &'a MethodInfo)> {
    index
        .find_method(class, method)
        .or_else(|| find_in_interfaces(index, class, method))
}

fn find_in_interfaces<'a>(
    index: &'a CodebaseIndex,
    class: &'a ClassLike,
    method: &str,
) -> Option<(&'a ClassLike, &'a MethodInfo)> {
    let mut queue: VecDeque<&str> = VecDeque::new();
    for owner in std::iter::once(class).chain(index.ancestors(class)) {
        if owner.kind == ClassKind::Interface {
            queue.extend(owner.extends.iter().map(String::as_str));
        }
        queue.extend(owner.implements.iter().map(String::as_str));
    }
    let mut seen = HashSet::new();
    while let Some(name) = queue.pop_front() {
        if !seen.insert(name.to_ascii_lowercase()) {
            continue;
        }
        let Some(interface) = index.class(name) else {
            continue;
        };
        if let Some(found) = interface.method(method) {
            return Some((interface, found));
        }
        queue.extend(interface.extends.iter().map(String::as_str));
    }
    None
}

/// The one class a resolved type names, ignoring `null`: `?Foo`, `Foo|null` and `\Foo` give
/// `Foo`; `Foo|Bar`, `Foo[]`, `int` and `Foo&Bar` give nothing. `$this`, `self` and `static`
/// are returned as written. Generic arguments are dropped (`Collection<Foo>` is `Collection`).
pub fn single_class(resolved: &str) -> Option<&str> {
    let resolved = resolved.trim();
    let resolved = resolved.strip_prefix('?').unwrap_or(resolved);
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (position, character) in resolved.char_indices() {
        match character {
            '<' | '(' | '{' => depth += 1,
            '>' | ')' | '}' => depth -= 1,
            '|' if depth == 0 => {
                parts.push(&resolved[start..position]);
                start = position + 1;
            }
            _ => {}
        }
    }
    parts.push(&resolved[start..]);
    let mut classes = parts
        .into_iter()
        .map(str::trim)
        .filter(|part| !part.eq_ignore_ascii_case("null"));
    let only = classes.next()?;
    if classes.next().is_some() {
        return None;
    }
    let base = only.split('<').next().unwrap_or(only).trim();
    let base = base.trim_start_matches('\\');
    if base.is_empty() || base.ends_with("[]") || base.contains(['&', '(', '{', ' ']) {
        return None;
    }
    let is_receiver_keyword = ["$this", "self", "static"]
        .iter()
        .any(|keyword| base.eq_ignore_ascii_case(keyword));
    if is_receiver_keyword {
        return Some(base);
    }
    if base.starts_with('$') || is_builtin_type(base) {
        return None;
    }
    Some(base)
}

/// Every class name a resolved type mentions (`?Foo|array<int, Bar>` -> `Foo`, `Bar`), without
/// built-in types.
pub fn class_names(resolved: &str) -> Vec<&str> {
    resolved
        .split(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '\\' | '$' | '-')))
        .map(|word| word.trim_start_matches('\\'))
        .filter(|word| {
            !word.is_empty()
                && !word.starts_with('$')
                && !word.starts_with(|c: char| c.is_ascii_digit())
                && !is_builtin_type(word)
        })
        .collect()
}

/// The class a member typed `declared` has when reached through `receiver`: `self`, `static`
/// and `$this` (which extraction resolves to the declaring class) mean the receiver.
fn member_class(declared: &str, declaring: &ClassLike, receiver: &str) -> String {
    let is_receiver = ["$this", "static", "self"]
        .iter()
        .any(|keyword| declared.eq_ignore_ascii_case(keyword))
        || declared.eq_ignore_ascii_case(&declaring.name);
    if is_receiver {
        receiver.to_string()
    } else {
        declared.to_string()
    }
}

/// The classes a class's own declarations mention, already resolved by extraction.
fn referenced_classes(class: &ClassLike) -> impl Iterator<Item = &str> {
    let signatures = class.methods.iter().flat_map(|method| {
        method
            .parameters
            .iter()
            .filter_map(|parameter| parameter.type_hint.as_deref())
            .chain(method.return_type.as_deref())
    });
    class
        .extends
        .iter()
        .chain(&class.implements)
        .chain(&class.traits)
        .map(String::as_str)
        .chain(signatures.flat_map(class_names))
        .chain(
            class
                .properties
                .iter()
                .filter_map(|property| property.type_hint.as_deref())
                .flat_map(class_names),
        )
        .chain(
            class
                .doc_methods
                .iter()
                .filter_map(|method| method.return_type.as_deref())
                .flat_map(class_names),
        )
        .filter(|name| !matches!(short_name(name), "self" | "static" | "parent"))
}

/// A variable name as the map keys it: without `$`.
fn variable_key(name: &[u8]) -> &str {
    std::str::from_utf8(name)
        .unwrap_or_default()
        .trim_start_matches('$')
}

fn is_null_literal(expression: &Expression<'_>) -> bool {
    matches!(
        expression,
        Expression::Literal(mago_syntax::ast::Literal::Null(_))
    )
}

fn doc_before(trivia: &[Trivia<'_>], offset: u32) -> Option<DocBlock> {
    get_docblock_before_position(trivia, offset).map(|trivia| {
        DocBlock::parse(
            std::str::from_utf8(trivia.value).unwrap_or_default(),
            trivia.span.start.offset,
        )
    })
}

/// `(type, variable name without $)` of each `@var Type [$name]` tag.
fn var_tags(doc: &DocBlock) -> Vec<(&str, Option<&str>)> {
    doc.tags_named("var")
        .filter_map(|tag| {
            let text = tag.text.trim();
            let mut depth = 0i32;
            let end = text
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '<' | '(' | '{' => depth += 1,
                        '>' | ')' | '}' => depth -= 1,
                        _ => {}
                    }
                    c.is_whitespace() && depth <= 0
                })
                .map_or(text.len(), |(position, _)| position);
            let written = &text[..end];
            if written.is_empty() || written.starts_with('$') {
                return None;
            }
            let name = text[end..]
                .split_whitespace()
                .next()
                .filter(|word| word.starts_with('$'))
                .map(|word| word.trim_start_matches('$'));
            Some((written, name))
        })
        .collect()
}

/// The walk that records variable types, in source order, skipping nested function bodies.
struct Collecting<'e, 'a, 't, 'p> {
    environment: &'e mut TypeEnvironment<'a>,
    trivia: &'t [Trivia<'p>],
    nesting: usize,
}

struct VariableCollector;

impl<'ast, 'arena> Walker<'ast, 'arena, Collecting<'_, '_, '_, '_>> for VariableCollector {
    fn walk_in_statement(&self, statement: &'ast Statement<'arena>, state: &mut Collecting) {
        if state.nesting > 0 {
            return;
        }
        // `/** @var \Foo $foo */` before any statement declares `$foo` (PHPStan's reading).
        let Some(doc) = doc_before(state.trivia, statement.span().start.offset) else {
            return;
        };
        let environment = &mut *state.environment;
        for (written, name) in var_tags(&doc) {
            let Some(name) = name else { continue };
            let resolved = environment
                .context
                .resolve_type(written, Some(environment.scope()));
            if let Some(class) = single_class(&resolved) {
                environment
                    .variables
                    .insert(name.to_string(), class.to_string());
            }
        }
    }

    fn walk_out_assignment(&self, assignment: &'ast Assignment<'arena>, state: &mut Collecting) {
        if state.nesting > 0 {
            return;
        }
        let Expression::Variable(Variable::Direct(variable)) = assignment.lhs else {
            return;
        };
        let name = variable_key(variable.name);
        if name == "this" {
            return;
        }
        let environment = &*state.environment;
        let class = if assignment.operator.is_assign() {
            environment
                .documented_variable(state.trivia, assignment.span().start.offset, name)
                .or_else(|| environment.type_of(assignment.rhs))
        } else if matches!(
            assignment.operator,
            mago_syntax::ast::AssignmentOperator::Coalesce(_)
        ) {
            // `$x ??= new Foo()` keeps a known `$x`.
            environment
                .variable(name)
                .map(str::to_string)
                .or_else(|| environment.type_of(assignment.rhs))
        } else {
            None
        };
        match class {
            Some(class) => {
                state.environment.variables.insert(name.to_string(), class);
            }
            None => {
                state.environment.variables.remove(name);
            }
        }
    }

    fn walk_in_try_catch_clause(
        &self,
        clause: &'ast TryCatchClause<'arena>,
        state: &mut Collecting,
    ) {
        if state.nesting > 0 {
            return;
        }
        let Some(variable) = &clause.variable else {
            return;
        };
        if let Some(class) = state.environment.hint_class(&clause.hint) {
            state
                .environment
                .variables
                .insert(variable_key(variable.name).to_string(), class);
        }
    }

    fn walk_in_closure(&self, _: &'ast Closure<'arena>, state: &mut Collecting) {
        state.nesting += 1;
    }

    fn walk_out_closure(&self, _: &'ast Closure<'arena>, state: &mut Collecting) {
        state.nesting -= 1;
    }

    fn walk_in_arrow_function(&self, _: &'ast ArrowFunction<'arena>, state: &mut Collecting) {
        state.nesting += 1;
    }

    fn walk_out_arrow_function(&self, _: &'ast ArrowFunction<'arena>, state: &mut Collecting) {
        state.nesting -= 1;
    }

    fn walk_in_function(&self, _: &'ast Function<'arena>, state: &mut Collecting) {
        state.nesting += 1;
    }

    fn walk_out_function(&self, _: &'ast Function<'arena>, state: &mut Collecting) {
        state.nesting -= 1;
    }

    fn walk_in_anonymous_class(&self, _: &'ast AnonymousClass<'arena>, state: &mut Collecting) {
        state.nesting += 1;
    }

    fn walk_out_anonymous_class(&self, _: &'ast AnonymousClass<'arena>, state: &mut Collecting) {
        state.nesting -= 1;
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use bumpalo::Bump;
    use mago_syntax::ast::Return;

    use super::*;
    use crate::extract::extract_facts;
    use crate::index::FileOrigin;
    use crate::model::FileId;
    use crate::parse::parse_php;
    use crate::spryker::ProjectNamespaces;

    const KERNEL_FACADE: &str = r"<?php
namespace Spryker\Zed\Kernel\Business;

abstract class AbstractFacade
{
    /**
     * @return \Spryker\Zed\Kernel\Business\AbstractBusinessFactory
     */
    protected function getFactory()
    {
    }
}
";

    const KERNEL_FACTORY: &str = r"<?php
namespace Spryker\Zed\Kernel\Business;

use Spryker\Zed\Kernel\AbstractBundleConfig;

abstract class AbstractBusinessFactory
{
    /** @var \Spryker\Zed\Kernel\Container|null */
    protected $container;

    protected function getConfig(): AbstractBundleConfig
    {
    }
}
";

    const CORE_FACADE: &str = r"<?php
namespace Spryker\Zed\Product\Business;

use Spryker\Zed\Kernel\Business\AbstractFacade;

/**
 * @method \Spryker\Zed\Product\Business\ProductBusinessFactory getFactory()
 */
class ProductFacade extends AbstractFacade
{
}
";

    const CORE_FACTORY: &str = r"<?php
namespace Spryker\Zed\Product\Business;

use Spryker\Zed\Kernel\Business\AbstractBusinessFactory;
use Spryker\Zed\Product\Business\Reader\ProductReader;
use Spryker\Zed\Product\Business\Reader\ProductReaderInterface;

class ProductBusinessFactory extends AbstractBusinessFactory
{
    /**
     * @return \Spryker\Zed\Product\Business\Reader\ProductReaderInterface
     */
    public function createProductReader()
    {
        return new ProductReader();
    }

    /**
     * Resolved through the import that `wrapReader()`'s signature also uses.
     *
     * @return ProductReaderInterface
     */
    public function createCachedProductReader()
    {
    }

    public function wrapReader(ProductReaderInterface $reader): void
    {
    }

    /**
     * Resolved relative to the namespace of the factory.
     *
     * @return Writer\ProductWriter|null
     */
    public function createProductWriter()
    {
    }

    /**
     * @return static
     */
    public function withCache()
    {
    }

    public function fresh(): self
    {
    }

    /**
     * @return \Spryker\Zed\Product\Business\Reader\ProductReader|\Spryker\Zed\Product\Business\Writer\ProductWriter
     */
    public function createEither()
    {
    }
}
";

    const CORE_READER: &str = r"<?php
namespace Spryker\Zed\Product\Business\Reader;

use Generated\Shared\Transfer\ProductTransfer;

interface ProductReaderInterface extends ProductFinderInterface
{
}

interface ProductFinderInterface
{
    public function findProduct(int $id): ?ProductTransfer;
}

class ProductReader implements ProductReaderInterface
{
    use ReaderCacheTrait;

    public function findProduct(int $id): ?ProductTransfer
    {
    }
}

trait ReaderCacheTrait
{
    protected ?\Spryker\Zed\Product\Business\Cache\ReaderCache $readerCache = null;

    public function getCache(): \Spryker\Zed\Product\Business\Cache\ReaderCache
    {
    }
}
";

    const PROJECT_FACTORY: &str = r"<?php
namespace Pyz\Zed\Product\Business;

use Spryker\Zed\Product\Business\ProductBusinessFactory as SprykerProductBusinessFactory;

/**
 * @method \Pyz\Zed\Product\ProductConfig getConfig()
 */
class ProductBusinessFactory extends SprykerProductBusinessFactory
{
    public function createProductExporter(): Exporter\ProductExporter
    {
    }
}
";

    /// The file under test: its methods return the expressions whose classes the tests check.
    const PROJECT_FACADE: &str = r"<?php
namespace Pyz\Zed\Product\Business;

use Generated\Shared\Transfer\ProductTransfer;
use Pyz\Zed\Product\Business\Exporter\ProductExporter as Exporter;
use Spryker\Zed\Product\Business\ProductFacade as SprykerProductFacade;
use Spryker\Zed\Product\Business\Reader\ProductReaderInterface;

/**
 * @method \Pyz\Zed\Product\Business\ProductBusinessFactory getFactory()
 */
class ProductFacade extends SprykerProductFacade
{
    /** @var \Pyz\Zed\Product\Business\Exporter\ProductExporter */
    protected $exporter;

    protected ?ProductReaderInterface $reader = null;

    public function __construct(private readonly Exporter $promotedExporter)
    {
    }

    public function facadeChain(int $id)
    {
        return $this;
        return $this->getFactory();
        return $this->getFactory()->createProductReader();
        return $this->getFactory()->createProductReader()->findProduct($id);
        return $this->getFactory()->createCachedProductReader();
        return $this->getFactory()->createProductWriter();
        return $this->getFactory()->withCache();
        return $this->getFactory()->fresh();
        return $this->getFactory()->getConfig();
        return $this->getFactory()->createEither();
        return $this->getFactory()->createProductExporter();
        return parent::getFactory();
    }

    /**
     * @param \Generated\Shared\Transfer\ProductTransfer $documented
     * @param mixed $unknown
     */
    public function variables(ProductTransfer $declared, $documented, ?Exporter $nullable, $unknown, int $scalar)
    {
        return $declared;
        return $documented;
        return $nullable;
        return $unknown;
        return $scalar;

        $factory = $this->getFactory();
        $reader = $factory->createProductReader();
        $overwritten = new Exporter();
        $overwritten = $reader;
        /** @var \Spryker\Zed\Product\Business\Reader\ProductReader $concrete */
        $concrete = $factory->createProductReader();
        /** @var \Generated\Shared\Transfer\ProductTransfer $declaredLater */
        $chained = $copy = clone $declared;
        $either = $id ? new Exporter() : null;
        $mixed = $id ? new Exporter() : $declared;
        $coalesced = $this->reader ?? $reader;
        $lost = new Exporter();
        $lost = $id + 1;

        return $factory;
        return $reader;
        return $overwritten;
        return $concrete;
        return $declaredLater;
        return $chained;
        return $copy;
        return $either;
        return $mixed;
        return $coalesced;
        return $lost;
        return $nowhere;
    }

    public function members()
    {
        return $this->exporter;
        return $this->reader;
        return $this->promotedExporter;
        return $this->getFactory()->container;
        return (new \Spryker\Zed\Product\Business\Reader\ProductReader())->readerCache;
        return new static();
        return new self();
        return new parent();
        return new Exporter();
        return new \Spryker\Zed\Product\Business\Reader\ProductReader();
        return self::create();
        return (new \Spryker\Zed\Product\Business\Reader\ProductReader())->getCache();
    }

    public static function create(): static
    {
    }

    public function closures(ProductTransfer $product)
    {
        $reader = $this->getFactory()->createProductReader();
        $notImported = new Exporter();

        return function (Exporter $exporter, $untyped) use ($reader, $product) {
            return $exporter;
            return $reader;
            return $product;
            return $notImported;
            return $this->getFactory();
            return $untyped;
        };
    }

    public function failures()
    {
        try {
        } catch (\RuntimeException $exception) {
        }

        return $exception;
    }
}
";

    fn load_index(files: &[&str]) -> CodebaseIndex {
        let mut index = CodebaseIndex::default();
        for (number, text) in files.iter().enumerate() {
            let arena = Bump::new();
            let program = parse_php(&arena, text.as_bytes());
            assert!(
                program.errors.is_empty(),
                "file {number}: {:?}",
                program.errors
            );
            let file = index.add_file(PathBuf::from(format!("f{number}.php")), FileOrigin::Project);
            let facts = extract_facts(
                program,
                text.as_bytes(),
                file,
                &ProjectNamespaces::default(),
            );
            for class in facts.classes {
                index.add_class(class);
            }
        }
        index
    }

    struct MethodFinder<'n>(&'n str);

    impl<'ast, 'arena> Walker<'ast, 'arena, Vec<&'ast Method<'arena>>> for MethodFinder<'_> {
        fn walk_in_method(
            &self,
            method: &'ast Method<'arena>,
            found: &mut Vec<&'ast Method<'arena>>,
        ) {
            if method.name.value == self.0.as_bytes() {
                found.push(method);
            }
        }
    }

    struct ClosureFinder;

    impl<'ast, 'arena> Walker<'ast, 'arena, Vec<&'ast Closure<'arena>>> for ClosureFinder {
        fn walk_in_closure(
            &self,
            closure: &'ast Closure<'arena>,
            found: &mut Vec<&'ast Closure<'arena>>,
        ) {
            found.push(closure);
        }
    }

    fn returned_values<'ast, 'arena>(block: &'ast Block<'arena>) -> Vec<&'ast Expression<'arena>> {
        block
            .statements
            .iter()
            .filter_map(|statement| match statement {
                Statement::Return(Return {
                    value: Some(value), ..
                }) => Some(*value),
                _ => None,
            })
            .collect()
    }

    fn all_files() -> Vec<&'static str> {
        vec![
            PROJECT_FACADE,
            KERNEL_FACADE,
            KERNEL_FACTORY,
            CORE_FACADE,
            CORE_FACTORY,
            CORE_READER,
            PROJECT_FACTORY,
        ]
    }

    /// The inferred class of each top-level `return` of `method` in the project facade (or of
    /// its first closure).
    fn returned_types(method: &str, in_closure: bool) -> Vec<Option<String>> {
        let index = load_index(&all_files());
        let arena = Bump::new();
        let program = parse_php(&arena, PROJECT_FACADE.as_bytes());
        let facts = extract_facts(
            program,
            PROJECT_FACADE.as_bytes(),
            FileId(0),
            &ProjectNamespaces::default(),
        );
        let mut methods = Vec::new();
        MethodFinder(method).walk_program(program, &mut methods);
        let method = methods[0];
        let environment = TypeEnvironment::for_method(&index, &facts, program, method).unwrap();
        let MethodBody::Concrete(body) = &method.body else {
            panic!("abstract");
        };
        let (environment, body) = if in_closure {
            let mut closures = Vec::new();
            ClosureFinder.walk_block(body, &mut closures);
            (
                environment.for_closure(closures[0], program),
                &closures[0].body,
            )
        } else {
            (environment, body)
        };
        returned_values(body)
            .into_iter()
            .map(|value| environment.type_of(value))
            .collect()
    }

    fn some(names: &[&str]) -> Vec<Option<String>> {
        names
            .iter()
            .map(|name| (!name.is_empty()).then(|| (*name).to_string()))
            .collect()
    }

    #[test]
    fn follows_a_spryker_facade_through_method_tags_to_factory_methods() {
        assert_eq!(
            returned_types("facadeChain", false),
            some(&[
                "Pyz\\Zed\\Product\\Business\\ProductFacade",
                // The class's `@method` tag wins over Kernel's declared `getFactory()`.
                "Pyz\\Zed\\Product\\Business\\ProductBusinessFactory",
                // Inherited from core, typed by its `@return`.
                "Spryker\\Zed\\Product\\Business\\Reader\\ProductReaderInterface",
                // Declared on a parent interface of the interface, nullable.
                "Generated\\Shared\\Transfer\\ProductTransfer",
                // `@return ProductReaderInterface` in core, resolved through core's import.
                "Spryker\\Zed\\Product\\Business\\Reader\\ProductReaderInterface",
                "Spryker\\Zed\\Product\\Business\\Writer\\ProductWriter",
                // `@return static` and `: self` mean the receiver.
                "Pyz\\Zed\\Product\\Business\\ProductBusinessFactory",
                "Pyz\\Zed\\Product\\Business\\ProductBusinessFactory",
                // The project factory's `@method` narrows Kernel's `getConfig()`.
                "Pyz\\Zed\\Product\\ProductConfig",
                // A union of two classes names no single class.
                "",
                "Pyz\\Zed\\Product\\Business\\Exporter\\ProductExporter",
                // `parent::getFactory()` runs on `$this`: the tag of this class applies.
                "Pyz\\Zed\\Product\\Business\\ProductBusinessFactory",
            ])
        );
    }

    #[test]
    fn types_parameters_and_local_variables() {
        assert_eq!(
            returned_types("variables", false),
            some(&[
                "Generated\\Shared\\Transfer\\ProductTransfer",
                "Generated\\Shared\\Transfer\\ProductTransfer",
                "Pyz\\Zed\\Product\\Business\\Exporter\\ProductExporter",
                "",
                "",
                "Pyz\\Zed\\Product\\Business\\ProductBusinessFactory",
                "Spryker\\Zed\\Product\\Business\\Reader\\ProductReaderInterface",
                // The last assignment wins.
                "Spryker\\Zed\\Product\\Business\\Reader\\ProductReaderInterface",
                // An inline `@var` overrides the call's declared type.
                "Spryker\\Zed\\Product\\Business\\Reader\\ProductReader",
                // A named `@var` before any statement declares that variable.
                "Generated\\Shared\\Transfer\\ProductTransfer",
                "Generated\\Shared\\Transfer\\ProductTransfer",
                "Generated\\Shared\\Transfer\\ProductTransfer",
                "Pyz\\Zed\\Product\\Business\\Exporter\\ProductExporter",
                "",
                "Spryker\\Zed\\Product\\Business\\Reader\\ProductReaderInterface",
                // Reassigned to something that is not an object.
                "",
                "",
            ])
        );
    }

    #[test]
    fn types_properties_instantiations_and_static_calls() {
        assert_eq!(
            returned_types("members", false),
            some(&[
                "Pyz\\Zed\\Product\\Business\\Exporter\\ProductExporter",
                "Spryker\\Zed\\Product\\Business\\Reader\\ProductReaderInterface",
                "Pyz\\Zed\\Product\\Business\\Exporter\\ProductExporter",
                // Inherited from Kernel's factory, typed by `@var` (nullable).
                "Spryker\\Zed\\Kernel\\Container",
                // A property of a trait used by the class.
                "Spryker\\Zed\\Product\\Business\\Cache\\ReaderCache",
                "Pyz\\Zed\\Product\\Business\\ProductFacade",
                "Pyz\\Zed\\Product\\Business\\ProductFacade",
                "Spryker\\Zed\\Product\\Business\\ProductFacade",
                "Pyz\\Zed\\Product\\Business\\Exporter\\ProductExporter",
                "Spryker\\Zed\\Product\\Business\\Reader\\ProductReader",
                "Pyz\\Zed\\Product\\Business\\ProductFacade",
                // A method of a trait used by the class.
                "Spryker\\Zed\\Product\\Business\\Cache\\ReaderCache",
            ])
        );
    }

    #[test]
    fn closures_see_their_parameters_and_imports_only() {
        assert_eq!(
            returned_types("closures", true),
            some(&[
                "Pyz\\Zed\\Product\\Business\\Exporter\\ProductExporter",
                "Spryker\\Zed\\Product\\Business\\Reader\\ProductReaderInterface",
                "Generated\\Shared\\Transfer\\ProductTransfer",
                "",
                "Pyz\\Zed\\Product\\Business\\ProductBusinessFactory",
                "",
            ])
        );
    }

    #[test]
    fn caught_exceptions_are_typed() {
        assert_eq!(
            returned_types("failures", false),
            some(&["RuntimeException"])
        );
    }

    #[test]
    fn resolves_calls_to_the_declaring_class() {
        let index = load_index(&all_files());
        let arena = Bump::new();
        let source = r"<?php
namespace Pyz\Zed\Product\Business;

use Spryker\Zed\Product\Business\ProductFacade as SprykerProductFacade;

/**
 * @method \Pyz\Zed\Product\Business\ProductBusinessFactory getFactory()
 */
class ProductFacade extends SprykerProductFacade
{
    public function calls(int $id)
    {
        $this->getFactory()->createProductReader()->findProduct($id);
        $this->getFactory()->createProductExporter();
        $this->getFactory()->getConfig();
        parent::getFactory();
        $this->getFactory();
        $this->unknown();
    }
}
";
        let program = parse_php(&arena, source.as_bytes());
        let facts = extract_facts(
            program,
            source.as_bytes(),
            FileId(0),
            &ProjectNamespaces::default(),
        );
        let mut methods = Vec::new();
        MethodFinder("calls").walk_program(program, &mut methods);
        let environment = TypeEnvironment::for_method(&index, &facts, program, methods[0]).unwrap();
        let MethodBody::Concrete(body) = &methods[0].body else {
            panic!("abstract");
        };
        let targets: Vec<Option<(String, String, String)>> = body
            .statements
            .iter()
            .filter_map(|statement| match statement {
                Statement::Expression(statement) => match statement.expression {
                    Expression::Call(call) => Some(call),
                    _ => None,
                },
                _ => None,
            })
            .map(|call| {
                environment.resolve_call(call).map(|target| {
                    (
                        target.receiver.name.clone(),
                        target.declaring_class.name.clone(),
                        target.method.name.clone(),
                    )
                })
            })
            .collect();
        let target = |receiver: &str, declaring: &str, method: &str| {
            Some((
                receiver.to_string(),
                declaring.to_string(),
                method.to_string(),
            ))
        };
        assert_eq!(
            targets,
            vec![
                target(
                    "Spryker\\Zed\\Product\\Business\\Reader\\ProductReaderInterface",
                    "Spryker\\Zed\\Product\\Business\\Reader\\ProductFinderInterface",
                    "findProduct"
                ),
                target(
                    "Pyz\\Zed\\Product\\Business\\ProductBusinessFactory",
                    "Pyz\\Zed\\Product\\Business\\ProductBusinessFactory",
                    "createProductExporter"
                ),
                target(
                    "Pyz\\Zed\\Product\\Business\\ProductBusinessFactory",
                    "Spryker\\Zed\\Kernel\\Business\\AbstractBusinessFactory",
                    "getConfig"
                ),
                // `parent::` searches from the parent.
                target(
                    "Pyz\\Zed\\Product\\Business\\ProductFacade",
                    "Spryker\\Zed\\Kernel\\Business\\AbstractFacade",
                    "getFactory"
                ),
                target(
                    "Pyz\\Zed\\Product\\Business\\ProductFacade",
                    "Spryker\\Zed\\Kernel\\Business\\AbstractFacade",
                    "getFactory"
                ),
                None,
            ]
        );
    }

    #[test]
    fn single_class_takes_exactly_one_non_null_class() {
        assert_eq!(single_class("?Foo\\Bar"), Some("Foo\\Bar"));
        assert_eq!(single_class("\\Foo|null"), Some("Foo"));
        assert_eq!(single_class("null|Foo"), Some("Foo"));
        assert_eq!(single_class("Foo|Bar"), None);
        assert_eq!(single_class("Foo[]"), None);
        assert_eq!(single_class("array<int,Foo>"), None);
        assert_eq!(single_class("ArrayObject<int,Foo>"), Some("ArrayObject"));
        assert_eq!(single_class("int"), None);
        assert_eq!(single_class("Foo&Bar"), None);
        assert_eq!(single_class("$this"), Some("$this"));
        assert_eq!(single_class("static|null"), Some("static"));
        assert_eq!(single_class(""), None);
        assert_eq!(
            class_names("?Foo|array<int,\\Bar\\Baz>|null"),
            vec!["Foo", "Bar\\Baz"]
        );
    }
}
