//! The fix of `not-unique-constant`: rename a class constant (`FOO` -> `PYZ_FOO`) at its
//! declaration and at every use in the project, or give no fix when that cannot be done safely.
//!
//! Uses are found by re-parsing only the project files whose text contains the constant's
//! name: project PHP under `src/` and the PHP files Spryker loads by path (`config/`,
//! `public/`). A use `X::FOO` (also `self::`, `static::`, `parent::`, aliases, subclasses and
//! implementers that inherit the constant) is renamed when PHP would look `FOO` up from `X`
//! and find the renamed declaration. The fix is withheld when the answer depends on runtime
//! values or on code the index does not hold:
//! - a fetch on an object or expression (`$object::FOO`, `$class::FOO`), a dynamic constant
//!   name (`X::{$name}`), `constant(...)`/`defined(...)` with a computed argument, or a string
//!   that names the constant (`'FOO'`, `'...\Foo::FOO'`, as reflection and `constant()` use);
//! - `self::FOO`/`static::FOO` in a trait or an anonymous class, or `static::FOO` in an
//!   ancestor that relies on a subclass declaring it;
//! - the new name already exists in the class, what it inherits from, or a subclass, or a
//!   subclass redeclares the old name (its override would silently stop overriding);
//! - the class inherits from a class or interface the index does not hold, other than PHP's
//!   own interfaces and exceptions (the constant might override one declared there), or a file
//!   that contains the name does not parse.

use bumpalo::Bump;
use mago_span::HasSpan;
use mago_syntax::ast::{
    AnonymousClass, ClassConstantAccess, ClassLikeConstantSelector, Expression, FunctionCall,
    LiteralString,
};
use mago_syntax::walker::Walker;
use upkeep_php::extract::{FileFacts, extract_facts};
use upkeep_php::parse::parse_php;
use upkeep_php::source::TextSpan;
use upkeep_php::{ClassKind, ClassLike, CodebaseIndex, FileId};

use super::Lineage;
use super::rename_sources::{RenameSources, relative};
use crate::finding::{Edit, Fix};

/// Why a rename was not offered (for tests and debugging; the finding just has no fix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsafe(pub String);

/// The fix that renames constant `old` of `class` to `new` everywhere in the project.
pub fn rename_constant(
    index: &CodebaseIndex,
    sources: &RenameSources<'_>,
    class: &ClassLike,
    old: &str,
    new: &str,
) -> Result<Fix, Unsafe> {
    let Some(declaration) = class.constant(old) else {
        return Err(Unsafe(format!("`{}` does not declare `{old}`", class.name)));
    };
    let lineage = Lineage::of(index, class);
    if let Some(unknown) = lineage.opaque().next() {
        return Err(Unsafe(format!(
            "`{}` inherits from `{unknown}`, which is not in the index",
            class.name
        )));
    }
    if class.constant(new).is_some() || lineage.declares_constant(new) {
        return Err(Unsafe(format!("`{new}` already exists")));
    }
    if !sources.indexed(old) {
        return Err(Unsafe(format!("the sources were not indexed for `{old}`")));
    }
    for descendant in sources.descendants_of(class) {
        if descendant.constant(new).is_some() {
            return Err(Unsafe(format!("`{}` declares `{new}`", descendant.name)));
        }
        if descendant.constant(old).is_some() {
            return Err(Unsafe(format!("`{}` redeclares `{old}`", descendant.name)));
        }
    }

    let mut edits = vec![Edit {
        file: relative(&index.file(class.file).path),
        span: declaration.name_span,
        replacement: new.to_string(),
    }];
    let mut arena = Bump::new();
    for file in sources.mentioning(old) {
        if file.broken {
            return Err(Unsafe(format!("{} does not parse", file.path)));
        }
        arena.reset();
        let program = parse_php(&arena, &file.text);
        let facts = extract_facts(program, &file.text, FileId(u32::MAX), sources.namespaces);
        let mut scan = UseScan {
            old,
            anonymous_depth: 0,
            accesses: Vec::new(),
            problem: None,
        };
        UseWalker.walk_program(program, &mut scan);
        if let Some(problem) = scan.problem {
            return Err(Unsafe(format!("{}: {problem}", file.path)));
        }
        for access in scan.accesses {
            let target = Target {
                index,
                facts: &facts,
                renamed: class,
                lineage: &lineage,
                old,
            };
            if target
                .refers_to_renamed(&access)
                .map_err(|problem| Unsafe(format!("{}: {problem}", file.path)))?
            {
                edits.push(Edit {
                    file: file.path.clone(),
                    span: access.name_span,
                    replacement: new.to_string(),
                });
            }
        }
    }
    edits.sort();
    edits.dedup();
    let uses = edits.len() - 1;
    let plural = if uses == 1 { "" } else { "s" };
    Ok(Fix {
        description: format!(
            "rename `{}::{old}` to `{new}` and its {uses} use{plural}",
            upkeep_php::names::short_name(&class.name)
        ),
        edits,
    })
}

/// `X::FOO` as written: the class part and where the constant name is.
struct Access<'f> {
    class: WrittenClass<'f>,
    name_span: TextSpan,
    in_anonymous_class: bool,
}

enum WrittenClass<'f> {
    Name(&'f str),
    SelfKeyword,
    Static,
    Parent,
}

struct Target<'a, 'f> {
    index: &'a CodebaseIndex,
    facts: &'f FileFacts,
    renamed: &'a ClassLike,
    lineage: &'a Lineage<'a>,
    old: &'a str,
}

impl Target<'_, '_> {
    /// True when `access` reads the renamed constant; an error when that cannot be known.
    fn refers_to_renamed(&self, access: &Access<'_>) -> Result<bool, String> {
        let offset = access.name_span.start;
        let owner = self.facts.class_at(offset);
        let keyword = !matches!(access.class, WrittenClass::Name(_));
        if keyword && access.in_anonymous_class {
            return Err("a use inside an anonymous class".to_string());
        }
        let target = match access.class {
            WrittenClass::Name(written) => self.facts.context_at(offset).resolve_class(written),
            WrittenClass::SelfKeyword | WrittenClass::Static => match owner {
                Some(owner) => owner.name.clone(),
                None => return Ok(false),
            },
            WrittenClass::Parent => match owner.and_then(ClassLike::parent) {
                Some(parent) => parent.to_string(),
                None => return Ok(false),
            },
        };
        let Some(target) = self.index.class(&target) else {
            return Ok(false);
        };
        let old = self.old;
        match declaring_class(self.index, target, old) {
            Some(declaring) => Ok(declaring.name.eq_ignore_ascii_case(&self.renamed.name)),
            None if keyword && target.kind == ClassKind::Trait => {
                Err("`self`/`static` in a trait".to_string())
            }
            None if matches!(access.class, WrittenClass::Static)
                && self
                    .lineage
                    .members()
                    .any(|member| member.name.eq_ignore_ascii_case(&target.name)) =>
            {
                Err(format!(
                    "`static::{old}` in `{}` relies on a subclass declaring it",
                    target.name
                ))
            }
            None => Ok(false),
        }
    }
}

/// The class-like whose declaration PHP finds for constant `name` looked up from `class`:
/// the class itself, its parent chain, the traits and interfaces it inherits.
fn declaring_class<'a>(
    index: &'a CodebaseIndex,
    class: &'a ClassLike,
    name: &str,
) -> Option<&'a ClassLike> {
    if class.constant(name).is_some() {
        return Some(class);
    }
    let lineage = Lineage::of(index, class);
    lineage
        .ancestors
        .iter()
        .chain(&lineage.traits)
        .chain(&lineage.interfaces)
        .copied()
        .find(|member| member.constant(name).is_some())
}

struct UseScan<'f> {
    old: &'f str,
    anonymous_depth: usize,
    accesses: Vec<Access<'f>>,
    problem: Option<String>,
}

impl UseScan<'_> {
    fn unsafe_use(&mut self, problem: String) {
        self.problem.get_or_insert(problem);
    }
}

struct UseWalker;

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

impl<'ast, 'arena: 'ast> Walker<'ast, 'arena, UseScan<'ast>> for UseWalker {
    fn walk_in_anonymous_class(&self, _: &'ast AnonymousClass<'arena>, scan: &mut UseScan<'ast>) {
        scan.anonymous_depth += 1;
    }

    fn walk_out_anonymous_class(&self, _: &'ast AnonymousClass<'arena>, scan: &mut UseScan<'ast>) {
        scan.anonymous_depth -= 1;
    }

    fn walk_in_class_constant_access(
        &self,
        access: &'ast ClassConstantAccess<'arena>,
        scan: &mut UseScan<'ast>,
    ) {
        let name = match &access.constant {
            ClassLikeConstantSelector::Identifier(identifier) => identifier,
            ClassLikeConstantSelector::Expression(_) => {
                let problem = format!(
                    "a constant fetched by a computed name at offset {}",
                    access.span().start.offset
                );
                scan.unsafe_use(problem);
                return;
            }
            ClassLikeConstantSelector::Missing(_) => return,
        };
        if text(name.value) != scan.old {
            return;
        }
        let class = match access.class {
            Expression::Identifier(identifier) => WrittenClass::Name(text(identifier.value())),
            Expression::Self_(_) => WrittenClass::SelfKeyword,
            Expression::Static(_) => WrittenClass::Static,
            Expression::Parent(_) => WrittenClass::Parent,
            other => {
                let problem = format!(
                    "`{}` is read from an expression at offset {}",
                    scan.old,
                    other.span().start.offset
                );
                scan.unsafe_use(problem);
                return;
            }
        };
        scan.accesses.push(Access {
            class,
            name_span: name.span.into(),
            in_anonymous_class: scan.anonymous_depth > 0,
        });
    }

    fn walk_in_function_call(&self, call: &'ast FunctionCall<'arena>, scan: &mut UseScan<'ast>) {
        let Expression::Identifier(function) = call.function else {
            return;
        };
        let function = text(function.value()).trim_start_matches('\\');
        if !function.eq_ignore_ascii_case("constant") && !function.eq_ignore_ascii_case("defined") {
            return;
        }
        let computed = call.argument_list.arguments.iter().any(|argument| {
            !matches!(
                argument.value(),
                Expression::Literal(mago_syntax::ast::Literal::String(_))
            )
        });
        if computed {
            let problem = format!(
                "`{function}()` with a computed name at offset {}",
                call.span().start.offset
            );
            scan.unsafe_use(problem);
        }
    }

    fn walk_in_literal_string(
        &self,
        string: &'ast LiteralString<'arena>,
        scan: &mut UseScan<'ast>,
    ) {
        let value = string.value.map_or_else(|| text(string.raw), text);
        let names_constant = value == scan.old
            || value
                .rsplit_once("::")
                .is_some_and(|(_, constant)| constant == scan.old);
        if names_constant {
            let problem = format!("the string {} names `{}`", text(string.raw), scan.old);
            scan.unsafe_use(problem);
        }
    }
}
