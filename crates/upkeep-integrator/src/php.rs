//! What the edits need to know about one PHP file, read from its syntax tree into owned data
//! with byte offsets: the namespace and `use` imports, the classes with their constants and
//! methods, and in each method body the plugin stacks (array literals, collection calls,
//! `$stack[] = ...` appends) with the classes they instantiate. Also: text edits applied by
//! offset, the file's line ending and indentation, and the imports a change adds.

use std::collections::HashSet;
use std::fmt::Write as _;

use bumpalo::Bump;
use mago_span::HasSpan;
use mago_syntax::ast::{
    Access, Argument, ArgumentList, ArrayElement, Block, Call, ClassLikeConstantSelector,
    ClassLikeMember, Expression, Method, MethodBody, Statement, UseItems,
};
use mago_syntax::walker::Walker;
use upkeep_php::extract::extract_facts;
use upkeep_php::names::NameContext;
use upkeep_php::parse::{parse_php, syntax_problems};
use upkeep_php::spryker::ProjectNamespaces;

/// A byte range of the file.
pub type Range = (usize, usize);

fn range(span: mago_span::Span) -> Range {
    (span.start.offset as usize, span.end.offset as usize)
}

/// One `use` import at the top level of the file.
#[derive(Debug, Clone)]
pub struct UseImport {
    /// Fully qualified, without the leading backslash.
    pub name: String,
    pub alias: String,
    /// The whole statement, and whether it imports one class only (`use A\B;`, `use A\B as C;`).
    pub statement: Range,
    pub single: bool,
}

/// A class declared in the file.
#[derive(Debug, Clone)]
pub struct ClassView {
    pub short_name: String,
    pub name: String,
    pub start: usize,
    pub left_brace: usize,
    pub right_brace: usize,
    pub constants: Vec<ConstantView>,
    pub methods: Vec<MethodView>,
    /// The end of the last member, if any.
    pub last_member_end: Option<usize>,
}

impl ClassView {
    pub fn method(&self, name: &str) -> Option<&MethodView> {
        self.methods
            .iter()
            .find(|method| method.name.eq_ignore_ascii_case(name))
    }

    pub fn constant(&self, name: &str) -> Option<&ConstantView> {
        self.constants.iter().find(|constant| constant.name == name)
    }
}

#[derive(Debug, Clone)]
pub struct ConstantView {
    pub name: String,
    pub statement: Range,
    pub value: Range,
    /// `public`, `protected`, `private`, or empty.
    pub visibility: String,
}

/// A `return` at the top level of a method body.
#[derive(Debug, Clone)]
pub struct ReturnView {
    pub statement: Range,
    pub keyword: Range,
    pub value: Option<Range>,
}

#[derive(Debug, Clone)]
pub struct MethodView {
    pub name: String,
    /// From the first modifier (or `function`) to the end of the body.
    pub span: Range,
    /// `(visibility) function name(params): type`, as written.
    pub signature: Range,
    pub parameters: Vec<ParameterView>,
    pub return_type: Option<Range>,
    pub is_static: bool,
    pub visibility: String,
    /// The braces of the body; `None` for an abstract method.
    pub body: Option<Range>,
    pub statements: Vec<Range>,
    pub returns: Vec<ReturnView>,
    /// `$name = <array>;` at the top level of the body: variable and value range.
    pub assignments: Vec<(String, Range)>,
    pub instantiations: Vec<Instantiation>,
    pub arrays: Vec<ArrayView>,
    pub calls: Vec<CallStatement>,
    /// Variable names used in the body, with `$`.
    pub variables: HashSet<String>,
    /// `array_merge(...)` calls: each argument's range and the closing parenthesis.
    pub merges: Vec<MergeCall>,
}

#[derive(Debug, Clone)]
pub struct MergeCall {
    pub arguments: Vec<Range>,
    pub right_parenthesis: usize,
}

#[derive(Debug, Clone)]
pub struct ParameterView {
    pub span: Range,
    /// The type as written, and the name with `$`.
    pub hint: Option<Range>,
    pub variable: String,
    pub by_reference: bool,
    pub variadic: bool,
    pub default: Option<Range>,
}

/// `new Class(...)` or `Class::class` in a method body.
#[derive(Debug, Clone)]
pub struct Instantiation {
    /// Fully qualified, without the leading backslash.
    pub class: String,
    pub span: Range,
    /// The argument list's parentheses, when written.
    pub arguments: Option<Range>,
    pub is_class_constant: bool,
}

#[derive(Debug, Clone)]
pub struct ArrayView {
    /// The brackets (`[`/`]`, or `array(`/`)`): offsets of the opening and closing byte.
    pub open: usize,
    pub close: usize,
    pub elements: Vec<ElementView>,
}

#[derive(Debug, Clone)]
pub struct ElementView {
    pub span: Range,
    pub key: Option<Range>,
    pub value: Range,
    /// The offset just after the comma that follows the element, if one does.
    pub comma_end: Option<usize>,
    /// The class the value instantiates (`new X`) or names (`X::class`).
    pub class: Option<String>,
}

/// An expression statement `$receiver->method(..., new Plugin(...), ...);` or
/// `$stack[] = new Plugin();`.
#[derive(Debug, Clone)]
pub struct CallStatement {
    pub statement: Range,
    /// For a call: the receiver and the method; for an append: the array expression and `[]`.
    pub receiver: Range,
    pub method: Option<String>,
    pub arguments: Vec<Range>,
    pub class: Option<String>,
    /// The call's argument list parentheses.
    pub argument_list: Option<Range>,
}

/// A file as the edits see it.
#[derive(Debug, Clone)]
pub struct PhpView {
    pub namespace: Option<String>,
    /// The end of `namespace X;` (after the semicolon).
    pub namespace_end: Option<usize>,
    /// The end of the opening tag `<?php`.
    pub open_tag_end: usize,
    pub uses: Vec<UseImport>,
    pub classes: Vec<ClassView>,
    /// Name resolution at the file's top level (the namespace and its imports).
    pub context: NameContext,
    pub syntax_errors: usize,
    /// Lower-cased names of the classes the file refers to.
    pub references: Vec<String>,
}

impl PhpView {
    pub fn read(text: &str) -> Self {
        let arena = Bump::new();
        let program = parse_php(&arena, text.as_bytes());
        let syntax_errors = syntax_problems(program).len();
        let facts = extract_facts(
            program,
            text.as_bytes(),
            upkeep_php::FileId(u32::MAX),
            &ProjectNamespaces::default(),
        );
        let mut view = Self {
            namespace: None,
            namespace_end: None,
            open_tag_end: 0,
            uses: Vec::new(),
            classes: Vec::new(),
            context: NameContext::default(),
            syntax_errors,
            references: upkeep_php::references::collect_references(
                program,
                text.as_bytes(),
                &facts,
            ),
        };
        let mut reader = Reader {
            text,
            facts: &facts,
            view: &mut view,
        };
        reader.statements(program.statements.iter());
        let probe = view
            .classes
            .first()
            .map_or(text.len(), |class| class.left_brace);
        view.context = facts
            .context_at(u32::try_from(probe).unwrap_or(u32::MAX))
            .clone();
        view
    }

    pub fn class(&self, short_name: &str) -> Option<&ClassView> {
        self.classes
            .iter()
            .find(|class| class.short_name.eq_ignore_ascii_case(short_name))
    }

    /// [`Self::class`], or why the file does not do.
    pub fn require_class(&self, short_name: &str) -> Result<&ClassView, String> {
        self.class(short_name)
            .ok_or_else(|| format!("the file does not declare class {short_name}"))
    }
}

struct Reader<'r> {
    text: &'r str,
    facts: &'r upkeep_php::extract::FileFacts,
    view: &'r mut PhpView,
}

impl Reader<'_> {
    fn slice(&self, (start, end): Range) -> &str {
        self.text.get(start..end).unwrap_or_default()
    }

    fn statements<'a, 'arena: 'a>(
        &mut self,
        statements: impl Iterator<Item = &'a Statement<'arena>>,
    ) {
        for statement in statements {
            match statement {
                Statement::OpeningTag(tag) if self.view.open_tag_end == 0 => {
                    self.view.open_tag_end = range(tag.span()).1;
                }
                Statement::Namespace(namespace) => {
                    self.view.namespace = namespace
                        .name
                        .as_ref()
                        .map(|name| String::from_utf8_lossy(name.value()).into_owned());
                    if let mago_syntax::ast::NamespaceBody::Implicit(body) = &namespace.body {
                        self.view.namespace_end = Some(range(body.terminator.span()).1);
                    }
                    self.statements(namespace.statements().iter());
                }
                Statement::Use(statement) => {
                    let span = range(statement.span());
                    if let UseItems::Sequence(sequence) = &statement.items {
                        let single = sequence.items.len() == 1;
                        for item in &sequence.items {
                            let name = String::from_utf8_lossy(item.name.value())
                                .trim_start_matches('\\')
                                .to_string();
                            let alias = item.alias.as_ref().map_or_else(
                                || upkeep_php::names::short_name(&name).to_string(),
                                |alias| {
                                    String::from_utf8_lossy(alias.identifier.value).into_owned()
                                },
                            );
                            self.view.uses.push(UseImport {
                                name,
                                alias,
                                statement: span,
                                single,
                            });
                        }
                    }
                }
                Statement::Class(class) => {
                    let short_name = String::from_utf8_lossy(class.name.value).into_owned();
                    let name = match &self.view.namespace {
                        Some(namespace) => format!("{namespace}\\{short_name}"),
                        None => short_name.clone(),
                    };
                    let mut view = ClassView {
                        short_name,
                        name,
                        start: range(class.span()).0,
                        left_brace: range(class.left_brace).0,
                        right_brace: range(class.right_brace).0,
                        constants: Vec::new(),
                        methods: Vec::new(),
                        last_member_end: None,
                    };
                    for member in &class.members {
                        view.last_member_end = Some(range(member.span()).1);
                        match member {
                            ClassLikeMember::Constant(constant) => {
                                let visibility = constant
                                    .modifiers
                                    .iter()
                                    .map(|modifier| {
                                        String::from_utf8_lossy(
                                            self.slice(range(modifier.span())).as_bytes(),
                                        )
                                        .to_ascii_lowercase()
                                    })
                                    .find(|word| {
                                        matches!(word.as_str(), "public" | "protected" | "private")
                                    })
                                    .unwrap_or_default();
                                for item in &constant.items {
                                    view.constants.push(ConstantView {
                                        name: String::from_utf8_lossy(item.name.value).into_owned(),
                                        statement: range(constant.span()),
                                        value: range(item.value.span()),
                                        visibility: visibility.clone(),
                                    });
                                }
                            }
                            ClassLikeMember::Method(method) => {
                                let method = self.method(method);
                                view.methods.push(method);
                            }
                            _ => {}
                        }
                    }
                    self.view.classes.push(view);
                }
                Statement::Block(block) => self.statements(block.statements.iter()),
                _ => {}
            }
        }
    }

    fn method(&self, method: &Method<'_>) -> MethodView {
        let span = range(method.span());
        let signature_end = method.return_type_hint.as_ref().map_or_else(
            || range(method.parameter_list.right_parenthesis).1,
            |hint| range(hint.span()).1,
        );
        let modifiers: Vec<String> = method
            .modifiers
            .iter()
            .map(|modifier| self.slice(range(modifier.span())).to_ascii_lowercase())
            .collect();
        let parameters = method
            .parameter_list
            .parameters
            .iter()
            .map(|parameter| ParameterView {
                span: range(parameter.span()),
                hint: parameter.hint.as_ref().map(|hint| range(hint.span())),
                variable: String::from_utf8_lossy(parameter.variable.name).into_owned(),
                by_reference: parameter.ampersand.is_some(),
                variadic: parameter.ellipsis.is_some(),
                default: parameter
                    .default_value
                    .as_ref()
                    .map(|default| range(default.value.span())),
            })
            .collect();
        let mut view = MethodView {
            name: String::from_utf8_lossy(method.name.value).into_owned(),
            span,
            signature: (span.0, signature_end),
            parameters,
            return_type: method
                .return_type_hint
                .as_ref()
                .map(|hint| range(hint.hint.span())),
            is_static: modifiers.iter().any(|modifier| modifier == "static"),
            visibility: modifiers
                .iter()
                .find(|modifier| matches!(modifier.as_str(), "public" | "protected" | "private"))
                .cloned()
                .unwrap_or_default(),
            body: None,
            statements: Vec::new(),
            returns: Vec::new(),
            assignments: Vec::new(),
            instantiations: Vec::new(),
            arrays: Vec::new(),
            calls: Vec::new(),
            variables: HashSet::new(),
            merges: Vec::new(),
        };
        if let MethodBody::Concrete(block) = &method.body {
            view.body = Some((range(block.left_brace).0, range(block.right_brace).0));
            for statement in &block.statements {
                view.statements.push(range(statement.span()));
                match statement {
                    Statement::Return(r#return) => view.returns.push(ReturnView {
                        statement: range(r#return.span()),
                        keyword: range(r#return.r#return.span),
                        value: r#return.value.map(|value| range(value.span())),
                    }),
                    Statement::Expression(statement) => {
                        if let Expression::Assignment(assignment) = statement.expression
                            && let Expression::Variable(_) = assignment.lhs
                        {
                            view.assignments.push((
                                self.slice(range(assignment.lhs.span())).to_string(),
                                range(assignment.rhs.span()),
                            ));
                        }
                    }
                    _ => {}
                }
            }
            let collector = Collector { reader: self };
            let mut found = Found::default();
            collector.walk_block(block, &mut found);
            view.instantiations = found.instantiations;
            view.arrays = found.arrays;
            view.calls = found.calls;
            view.variables = found.variables;
            view.merges = found.merges;
        }
        view
    }

    /// The fully qualified name of a class written at `span` (as `new X` or `X::class` use it).
    fn resolve(&self, span: Range) -> String {
        let written = self.slice(span);
        self.facts
            .context_at(u32::try_from(span.0).unwrap_or(u32::MAX))
            .resolve_class(written)
            .trim_start_matches('\\')
            .to_string()
    }

    /// The class `expression` instantiates or names with `::class`.
    fn class_of(&self, expression: &Expression<'_>) -> Option<(String, bool)> {
        match expression {
            Expression::Instantiation(instantiation) => match instantiation.class {
                Expression::Identifier(identifier) => {
                    Some((self.resolve(range(identifier.span())), false))
                }
                _ => None,
            },
            Expression::Access(Access::ClassConstant(access)) => {
                let ClassLikeConstantSelector::Identifier(constant) = &access.constant else {
                    return None;
                };
                if !constant.value.eq_ignore_ascii_case(b"class") {
                    return None;
                }
                match access.class {
                    Expression::Identifier(identifier) => {
                        Some((self.resolve(range(identifier.span())), true))
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

#[derive(Default)]
struct Found {
    instantiations: Vec<Instantiation>,
    arrays: Vec<ArrayView>,
    calls: Vec<CallStatement>,
    variables: HashSet<String>,
    merges: Vec<MergeCall>,
}

struct Collector<'c, 'r> {
    reader: &'c Reader<'r>,
}

impl Collector<'_, '_> {
    fn elements<'arena>(
        &self,
        elements: &mago_syntax::ast::TokenSeparatedSequence<'arena, ArrayElement<'arena>>,
    ) -> Vec<ElementView> {
        elements
            .iter_with_tokens()
            .filter_map(|(_, element, comma)| {
                let (key, value) = match element {
                    ArrayElement::KeyValue(pair) => (Some(range(pair.key.span())), pair.value),
                    ArrayElement::Value(value) => (None, value.value),
                    _ => return None,
                };
                Some(ElementView {
                    span: range(element.span()),
                    key,
                    value: range(value.span()),
                    comma_end: comma.map(|token| token.start.offset as usize + token.value.len()),
                    class: self.reader.class_of(value).map(|(class, _)| class),
                })
            })
            .collect()
    }

    fn arguments<'a, 'arena>(
        list: &'a ArgumentList<'arena>,
    ) -> Vec<(Range, &'a Expression<'arena>)> {
        list.arguments
            .iter()
            .map(|argument| match argument {
                Argument::Positional(positional) => (range(argument.span()), positional.value),
                Argument::Named(named) => (range(argument.span()), named.value),
            })
            .collect()
    }
}

impl<'ast, 'arena> Walker<'ast, 'arena, Found> for Collector<'_, '_> {
    fn walk_in_instantiation(
        &self,
        instantiation: &'ast mago_syntax::ast::Instantiation<'arena>,
        found: &mut Found,
    ) {
        if let Expression::Identifier(identifier) = instantiation.class {
            found.instantiations.push(Instantiation {
                class: self.reader.resolve(range(identifier.span())),
                span: range(instantiation.span()),
                arguments: instantiation.argument_list.as_ref().map(|list| {
                    (
                        range(list.left_parenthesis).0,
                        range(list.right_parenthesis).1,
                    )
                }),
                is_class_constant: false,
            });
        }
    }

    fn walk_in_class_constant_access(
        &self,
        access: &'ast mago_syntax::ast::ClassConstantAccess<'arena>,
        found: &mut Found,
    ) {
        let expression = Expression::Access(Access::ClassConstant(access.clone()));
        if let Some((class, true)) = self.reader.class_of(&expression) {
            found.instantiations.push(Instantiation {
                class,
                span: range(access.span()),
                arguments: None,
                is_class_constant: true,
            });
        }
    }

    fn walk_in_array(&self, array: &'ast mago_syntax::ast::Array<'arena>, found: &mut Found) {
        found.arrays.push(ArrayView {
            open: range(array.left_bracket).0,
            close: range(array.right_bracket).0,
            elements: self.elements(&array.elements),
        });
    }

    fn walk_in_legacy_array(
        &self,
        array: &'ast mago_syntax::ast::LegacyArray<'arena>,
        found: &mut Found,
    ) {
        found.arrays.push(ArrayView {
            open: range(array.left_parenthesis).0,
            close: range(array.right_parenthesis).0,
            elements: self.elements(&array.elements),
        });
    }

    fn walk_in_function_call(
        &self,
        call: &'ast mago_syntax::ast::FunctionCall<'arena>,
        found: &mut Found,
    ) {
        if let Expression::Identifier(name) = call.function
            && name.value().eq_ignore_ascii_case(b"array_merge")
        {
            found.merges.push(MergeCall {
                arguments: Self::arguments(&call.argument_list)
                    .iter()
                    .map(|(span, _)| *span)
                    .collect(),
                right_parenthesis: range(call.argument_list.right_parenthesis).0,
            });
        }
    }

    fn walk_in_direct_variable(
        &self,
        variable: &'ast mago_syntax::ast::DirectVariable<'arena>,
        found: &mut Found,
    ) {
        found
            .variables
            .insert(String::from_utf8_lossy(variable.name).into_owned());
    }

    fn walk_in_block(&self, block: &'ast Block<'arena>, found: &mut Found) {
        for statement in &block.statements {
            let Statement::Expression(expression_statement) = statement else {
                continue;
            };
            let statement_range = range(statement.span());
            match expression_statement.expression {
                Expression::Call(Call::Method(call)) => {
                    let arguments = Self::arguments(&call.argument_list);
                    let class = arguments
                        .iter()
                        .find_map(|(_, value)| self.reader.class_of(value))
                        .map(|(class, _)| class);
                    let method = match &call.method {
                        mago_syntax::ast::ClassLikeMemberSelector::Identifier(identifier) => {
                            Some(String::from_utf8_lossy(identifier.value).into_owned())
                        }
                        _ => None,
                    };
                    found.calls.push(CallStatement {
                        statement: statement_range,
                        receiver: range(call.object.span()),
                        method,
                        arguments: arguments.iter().map(|(span, _)| *span).collect(),
                        class,
                        argument_list: Some((
                            range(call.argument_list.left_parenthesis).0,
                            range(call.argument_list.right_parenthesis).1,
                        )),
                    });
                }
                Expression::Assignment(assignment) => {
                    // `$stack[] = new Plugin();` and `$stack[KEY] = new Plugin();`
                    let array = match assignment.lhs {
                        Expression::ArrayAppend(append) => Some(append.array),
                        Expression::ArrayAccess(access) => Some(access.array),
                        _ => None,
                    };
                    if let Some(array) = array {
                        found.calls.push(CallStatement {
                            statement: statement_range,
                            receiver: range(array.span()),
                            method: None,
                            arguments: vec![range(assignment.rhs.span())],
                            class: self.reader.class_of(assignment.rhs).map(|(class, _)| class),
                            argument_list: None,
                        });
                    }
                }
                _ => {}
            }
        }
    }
}

/// One replacement of `start..end` by `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

impl Edit {
    pub fn insert(at: usize, text: impl Into<String>) -> Self {
        Self {
            start: at,
            end: at,
            text: text.into(),
        }
    }

    pub fn replace((start, end): Range, text: impl Into<String>) -> Self {
        Self {
            start,
            end,
            text: text.into(),
        }
    }
}

/// `text` with `edits` made; edits at the same offset go in the order given. Overlapping edits
/// are a bug of the caller: the later one is dropped.
pub fn apply_edits(text: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|edit| (edit.start, edit.end));
    let mut out = String::with_capacity(text.len() + 256);
    let mut position = 0;
    for edit in edits {
        if edit.start < position {
            continue;
        }
        out.push_str(&text[position..edit.start]);
        out.push_str(&edit.text);
        position = edit.end;
    }
    out.push_str(&text[position..]);
    out
}

/// The file's line ending and one level of indentation.
#[derive(Debug, Clone)]
pub struct Layout {
    pub newline: &'static str,
    pub unit: String,
}

impl Layout {
    pub fn of(text: &str) -> Self {
        let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
        // A class member's line gives one level; Spryker uses four spaces.
        let unit = text
            .lines()
            .find_map(|line| {
                let trimmed = line.trim_start();
                let indentation = &line[..line.len() - trimmed.len()];
                (!indentation.is_empty()
                    && ["public ", "protected ", "private ", "const ", "function "]
                        .iter()
                        .any(|start| trimmed.starts_with(start)))
                .then(|| indentation.to_string())
            })
            .unwrap_or_else(|| "    ".to_string());
        Self { newline, unit }
    }
}

/// The offset where the line holding `offset` starts.
pub fn line_start(text: &str, offset: usize) -> usize {
    text[..offset].rfind('\n').map_or(0, |newline| newline + 1)
}

/// The offset just after the line break that ends the line holding `offset` (or the end).
pub fn line_end(text: &str, offset: usize) -> usize {
    text[offset..]
        .find('\n')
        .map_or(text.len(), |newline| offset + newline + 1)
}

/// The white space that starts the line holding `offset`.
pub fn indentation(text: &str, offset: usize) -> &str {
    let start = line_start(text, offset);
    let line = &text[start..];
    &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
}

/// True when only white space precedes `offset` on its line.
pub fn starts_line(text: &str, offset: usize) -> bool {
    text[line_start(text, offset)..offset].trim().is_empty()
}

/// Code with white space removed and every qualified class name cut to its last segment, for
/// comparing what is written with what a manifest asks for (aliases and imports aside).
pub fn normalized(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let last = word.rsplit('\\').next().unwrap_or_default();
        out.push_str(last);
        word.clear();
    };
    for character in code.chars() {
        if character.is_alphanumeric() || character == '_' || character == '\\' {
            word.push(character);
        } else {
            flush(&mut word, &mut out);
            if !character.is_whitespace() {
                out.push(character);
            }
        }
    }
    flush(&mut word, &mut out);
    out.trim_end_matches(';').replace('"', "'")
}

/// The imports one change adds to a file, and the names to write for classes.
#[derive(Debug)]
pub struct Imports {
    existing: Vec<UseImport>,
    namespace: Option<String>,
    /// Lower-cased short names taken by imports or the file's own classes.
    taken: HashSet<String>,
    added: Vec<(String, String)>,
}

impl Imports {
    pub fn of(view: &PhpView) -> Self {
        let mut taken: HashSet<String> = view
            .uses
            .iter()
            .map(|import| import.alias.to_ascii_lowercase())
            .collect();
        taken.extend(
            view.classes
                .iter()
                .map(|class| class.short_name.to_ascii_lowercase()),
        );
        // A class of the file's own namespace used without an import: an import of another
        // class with that short name would change what it means.
        if let Some(namespace) = &view.namespace {
            let own = namespace.to_ascii_lowercase();
            taken.extend(
                view.references
                    .iter()
                    .filter(|reference| upkeep_php::names::namespace_of(reference) == own)
                    .map(|reference| upkeep_php::names::short_name(reference).to_string()),
            );
        }
        Self {
            existing: view.uses.clone(),
            namespace: view.namespace.clone(),
            taken,
            added: Vec::new(),
        }
    }

    /// How to write class `name` (with or without a leading backslash) here: its alias when
    /// imported, its short name after adding an import, or fully qualified when the short
    /// name is taken by something else.
    pub fn name(&mut self, name: &str) -> String {
        let name = name.trim_start_matches('\\');
        if let Some(import) = self
            .existing
            .iter()
            .find(|import| import.name.eq_ignore_ascii_case(name))
        {
            return import.alias.clone();
        }
        if let Some((_, alias)) = self
            .added
            .iter()
            .find(|(added, _)| added.eq_ignore_ascii_case(name))
        {
            return alias.clone();
        }
        let short = upkeep_php::names::short_name(name).to_string();
        let namespace = upkeep_php::names::namespace_of(name);
        if self.taken.contains(&short.to_ascii_lowercase()) {
            return format!("\\{name}");
        }
        if !namespace.is_empty()
            && self
                .namespace
                .as_deref()
                .is_some_and(|own| own.eq_ignore_ascii_case(namespace))
        {
            self.taken.insert(short.to_ascii_lowercase());
            return short;
        }
        if namespace.is_empty() {
            return format!("\\{name}");
        }
        self.taken.insert(short.to_ascii_lowercase());
        self.added.push((name.to_string(), short.clone()));
        short
    }

    /// Every fully qualified class name in PHP `code` (outside strings) written as [`Self::name`]
    /// says.
    pub fn shorten(&mut self, code: &str) -> String {
        let mut out = String::with_capacity(code.len());
        let mut characters = code.char_indices().peekable();
        while let Some((index, character)) = characters.next() {
            match character {
                '\'' | '"' => {
                    let mut end = code.len();
                    let mut escaped = false;
                    for (at, next) in code[index + 1..].char_indices() {
                        if escaped {
                            escaped = false;
                        } else if next == '\\' {
                            escaped = true;
                        } else if next == character {
                            end = index + 1 + at + 1;
                            break;
                        }
                    }
                    out.push_str(&code[index..end]);
                    while characters.peek().is_some_and(|(at, _)| *at < end) {
                        characters.next();
                    }
                }
                '\\' if !out.ends_with(|c: char| c.is_alphanumeric() || c == '_') => {
                    let end = code[index + 1..]
                        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '\\'))
                        .map_or(code.len(), |at| index + 1 + at);
                    let name = &code[index..end];
                    if name[1..].contains('\\') {
                        out.push_str(&self.name(name));
                    } else {
                        out.push_str(name);
                    }
                    while characters.peek().is_some_and(|(at, _)| *at < end) {
                        characters.next();
                    }
                }
                _ => out.push(character),
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
    }

    /// The edits that add the new imports: each at its sorted place when the file's imports
    /// are sorted, else after the last one; after the namespace (or the opening tag) when
    /// there are none.
    pub fn edits(&self, view: &PhpView, text: &str, layout: &Layout) -> Vec<Edit> {
        let newline = layout.newline;
        let mut added: Vec<&(String, String)> = self.added.iter().collect();
        added.sort_by_key(|(name, _)| name.to_ascii_lowercase());
        let statements: Vec<&UseImport> = {
            let mut seen = HashSet::new();
            self.existing
                .iter()
                .filter(|import| seen.insert(import.statement))
                .collect()
        };
        if statements.is_empty() {
            let lines: String = added.iter().fold(String::new(), |mut lines, (name, _)| {
                let _ = write!(lines, "{newline}use {name};");
                lines
            });
            let at = view.namespace_end.unwrap_or(view.open_tag_end);
            if at == 0 {
                return Vec::new();
            }
            // After `<?php` the tag's own line break is part of it.
            let separator = if view.namespace_end.is_some() || !text[..at].ends_with('\n') {
                newline
            } else {
                ""
            };
            let block = format!("{separator}{}", lines.trim_start_matches(['\r', '\n']));
            return vec![Edit::insert(
                at,
                if view.namespace_end.is_some() {
                    format!("{newline}{block}")
                } else {
                    format!("{block}{newline}")
                },
            )];
        }
        let sorted = statements
            .windows(2)
            .all(|pair| pair[0].name.to_ascii_lowercase() <= pair[1].name.to_ascii_lowercase());
        let last_end = statements
            .iter()
            .map(|import| import.statement.1)
            .max()
            .unwrap_or(0);
        let mut edits = Vec::new();
        for (name, _) in added {
            let line = format!("use {name};");
            let before = sorted
                .then(|| {
                    statements
                        .iter()
                        .find(|import| import.name.to_ascii_lowercase() > name.to_ascii_lowercase())
                })
                .flatten();
            match before {
                Some(import) => {
                    let at = line_start(text, import.statement.0);
                    edits.push(Edit::insert(at, format!("{line}{newline}")));
                }
                None => edits.push(Edit::insert(last_end, format!("{newline}{line}"))),
            }
        }
        edits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "<?php\n\nnamespace Pyz\\Zed\\Foo;\n\nuse Spryker\\Zed\\Foo\\FooDependencyProvider as SprykerFooDependencyProvider;\nuse Spryker\\Zed\\Kernel\\Container;\n\nclass FooDependencyProvider extends SprykerFooDependencyProvider\n{\n    public const X = 'x';\n\n    protected function getPlugins(): array\n    {\n        return [\n            new \\Spryker\\Zed\\Bar\\BarPlugin(),\n            'k' => new Container(),\n        ];\n    }\n}\n";

    #[test]
    fn reads_imports_classes_methods_and_stacks() {
        let view = PhpView::read(FILE);
        assert_eq!(view.syntax_errors, 0);
        assert_eq!(view.namespace.as_deref(), Some("Pyz\\Zed\\Foo"));
        assert_eq!(view.uses.len(), 2);
        assert_eq!(view.uses[0].alias, "SprykerFooDependencyProvider");
        let class = view.class("FooDependencyProvider").unwrap();
        assert_eq!(
            class.constant("X").map(|c| &FILE[c.value.0..c.value.1]),
            Some("'x'")
        );
        let method = class.method("getPlugins").unwrap();
        assert_eq!(method.visibility, "protected");
        assert_eq!(method.arrays.len(), 1);
        let classes: Vec<Option<&str>> = method.arrays[0]
            .elements
            .iter()
            .map(|element| element.class.as_deref())
            .collect();
        assert_eq!(
            classes,
            vec![
                Some("Spryker\\Zed\\Bar\\BarPlugin"),
                Some("Spryker\\Zed\\Kernel\\Container")
            ]
        );
        assert_eq!(method.returns.len(), 1);
    }

    #[test]
    fn imports_go_in_sorted_order_or_fully_qualified_on_a_clash() {
        let view = PhpView::read(FILE);
        let mut imports = Imports::of(&view);
        assert_eq!(
            imports.name("\\Spryker\\Zed\\Kernel\\Container"),
            "Container"
        );
        assert_eq!(imports.name("\\Spryker\\Zed\\Aaa\\AaaPlugin"), "AaaPlugin");
        assert_eq!(imports.name("\\Spryker\\Zed\\Zzz\\ZzzPlugin"), "ZzzPlugin");
        assert_eq!(
            imports.name("\\Other\\Container"),
            "\\Other\\Container",
            "the short name is taken"
        );
        assert_eq!(
            imports.name("Pyz\\Zed\\Foo\\Local"),
            "Local",
            "same namespace"
        );
        assert_eq!(
            imports.shorten("\\A\\B::X . '\\\\Not\\\\Name' . static::Y"),
            "B::X . '\\\\Not\\\\Name' . static::Y"
        );
        let layout = Layout::of(FILE);
        let text = apply_edits(FILE, imports.edits(&view, FILE, &layout));
        assert!(
            text.contains("\n\nuse A\\B;\nuse Spryker\\Zed\\Aaa\\AaaPlugin;\nuse Spryker\\Zed\\Foo\\FooDependencyProvider as SprykerFooDependencyProvider;\nuse Spryker\\Zed\\Kernel\\Container;\nuse Spryker\\Zed\\Zzz\\ZzzPlugin;\n\nclass"),
            "{text}"
        );
    }

    #[test]
    fn a_class_of_the_own_namespace_in_use_is_not_shadowed_by_an_import() {
        let text = "<?php\n\nnamespace Pyz\\Zed\\Foo;\n\nclass FooDependencyProvider\n{\n    protected function getPlugins(): array\n    {\n        return [new BarPlugin()];\n    }\n}\n";
        let view = PhpView::read(text);
        let mut imports = Imports::of(&view);
        assert_eq!(
            imports.name("Spryker\\Zed\\Bar\\BarPlugin"),
            "\\Spryker\\Zed\\Bar\\BarPlugin"
        );
        assert_eq!(imports.name("Spryker\\Zed\\Baz\\BazPlugin"), "BazPlugin");
    }

    #[test]
    fn normalizes_names_and_white_space() {
        assert_eq!(
            normalized("new \\Spryker\\Zed\\Bar\\BarPlugin( \"a\" );"),
            "newBarPlugin('a')"
        );
    }
}
