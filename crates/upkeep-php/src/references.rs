//! The classes a PHP file refers to, resolved to fully qualified names: what `dead-code`
//! needs to know whether anything in the project uses a class.
//!
//! A reference is any place where code names a class: `extends`, `implements` and trait
//! `use`, `new X`, `X::method()`, `X::CONST`, `X::$property`, `X::class`, `instanceof X`,
//! `catch (X $e)`, type hints, attributes, the types of doc-block tags (`@var`, `@param`,
//! `@return`, `@throws`, `@property`, `@method`, `@mixin`, `@see`, `{@link X}`), and strings
//! that spell a fully qualified class name (`'Pyz\\Zed\\Foo\\Bar'`, which Spryker's config
//! files use to register classes). Names are resolved against the namespace and imports in
//! force where they are written; a class that names itself does not count.
//!
//! ```
//! let text = b"<?php\nnamespace Pyz\\Zed\\Foo;\nuse Pyz\\Zed\\Bar\\Reader;\nclass Baz { public function x(): Reader { return new Writer(); } }\n";
//! let arena = bumpalo::Bump::new();
//! let program = upkeep_php::parse::parse_php(&arena, text);
//! let facts = upkeep_php::extract::extract_facts(program, text, upkeep_php::FileId(0), &Default::default());
//! let references = upkeep_php::references::collect_references(program, text, &facts);
//! assert_eq!(references, ["pyz\\zed\\bar\\reader", "pyz\\zed\\foo\\writer"]);
//! ```

use mago_span::HasSpan;
use mago_syntax::ast::{
    Attribute, Binary, BinaryOperator, ClassConstantAccess, Expression, Extends, Hint, Implements,
    Instantiation, LiteralString, Program, StaticMethodCall, StaticMethodPartialApplication,
    StaticPropertyAccess, TraitUse, TriviaKind,
};
use mago_syntax::walker::Walker;

use crate::docblock::DocBlock;
use crate::extract::FileFacts;
use crate::model::ClassLike;
use crate::names::{ClassScope, is_builtin_type};

/// The lower-cased fully qualified names of the classes `program` refers to, sorted and
/// without duplicates. `facts` are the file's extracted facts (for namespaces and imports).
pub fn collect_references(program: &Program<'_>, text: &[u8], facts: &FileFacts) -> Vec<String> {
    let mut collector = Collector {
        facts,
        names: Vec::new(),
    };
    ReferenceWalker.walk_program(program, &mut collector);
    for trivia in &program.trivia {
        if trivia.kind == TriviaKind::DocBlockComment {
            let owner = documented_class(facts, text, trivia.span.end.offset);
            collector.doc_comment(
                &String::from_utf8_lossy(trivia.value),
                trivia.span.start.offset,
                owner,
            );
        }
    }
    let mut names = collector.names;
    names.sort_unstable();
    names.dedup();
    names
}

/// True when `value` spells a fully qualified class name: at least two segments joined by
/// backslashes, each a PHP identifier (`Pyz\Zed\Foo\Bar`, optionally with a leading `\`).
pub fn is_class_name_string(value: &str) -> bool {
    let value = value.strip_prefix('\\').unwrap_or(value);
    let mut segments = 0;
    for segment in value.split('\\') {
        let mut characters = segment.chars();
        let starts_well = characters
            .next()
            .is_some_and(|first| first.is_ascii_alphabetic() || first == '_');
        if !starts_well || !characters.all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return false;
        }
        segments += 1;
    }
    segments >= 2
}

struct Collector<'f> {
    facts: &'f FileFacts,
    names: Vec<String>,
}

impl Collector<'_> {
    /// Records the class `written` at `offset`, unless it is the class the code is in.
    fn add(&mut self, written: &str, offset: u32) {
        let owner = self.facts.class_at(offset);
        self.add_in(written, offset, owner);
    }

    fn add_in(&mut self, written: &str, offset: u32, owner: Option<&ClassLike>) {
        let written = written.trim();
        if written.is_empty()
            || is_builtin_type(written)
            || written.starts_with('$')
            || written.chars().next().is_some_and(|c| c.is_ascii_digit())
        {
            return;
        }
        let scope = owner.map(|class| ClassScope {
            name: &class.name,
            parent: class.parent(),
        });
        let resolved = self
            .facts
            .context_at(offset)
            .resolve_class_in(written, scope);
        if owner.is_some_and(|class| class.name.eq_ignore_ascii_case(&resolved)) {
            return;
        }
        self.names.push(resolved.to_ascii_lowercase());
    }

    fn class_expression(&mut self, class: &Expression<'_>) {
        if let Expression::Identifier(identifier) = class {
            self.add(utf8(identifier.value()), identifier.span().start.offset);
        }
    }

    /// The class names in the types of a doc comment's tags and `{@link}`/`{@see}` references.
    fn doc_comment(&mut self, raw: &str, offset: u32, owner: Option<&ClassLike>) {
        let block = DocBlock::parse(raw, offset);
        for tag in &block.tags {
            let name = tag.name.to_ascii_lowercase();
            let name = name
                .strip_prefix("phpstan-")
                .or_else(|| name.strip_prefix("psalm-"))
                .unwrap_or(&name);
            let types: Vec<&str> = match name {
                "var"
                | "param"
                | "return"
                | "throws"
                | "property"
                | "property-read"
                | "property-write"
                | "mixin"
                | "extends"
                | "implements"
                | "use"
                | "template-extends"
                | "template-implements" => leading_type(&tag.text).into_iter().collect(),
                "see" | "uses" | "link" => leading_type(&tag.text)
                    .map(|target| target.split("::").next().unwrap_or(target))
                    .into_iter()
                    .collect(),
                "method" => method_tag_types(&tag.text),
                _ => Vec::new(),
            };
            for ty in types {
                for word in type_words(ty) {
                    self.add_in(word, tag.offset, owner);
                }
            }
        }
        // Inline `{@link X}` and `{@see X::method()}`, also in the free text before the tags.
        for marker in ["{@link ", "{@see "] {
            for (start, _) in raw.match_indices(marker) {
                let rest = &raw[start + marker.len()..];
                let target = rest
                    .split(|c: char| c == '}' || c.is_whitespace())
                    .next()
                    .unwrap_or_default();
                let target = target.split("::").next().unwrap_or(target);
                let position = offset + u32::try_from(start).unwrap_or(0);
                for word in type_words(target) {
                    self.add_in(word, position, owner);
                }
            }
        }
    }
}

/// The class a doc comment ending at `end` documents (its declaration follows the comment
/// with only whitespace between), else the class the comment is inside of.
fn documented_class<'f>(facts: &'f FileFacts, text: &[u8], end: u32) -> Option<&'f ClassLike> {
    facts
        .classes
        .iter()
        .find(|class| {
            class.span.start >= end
                && text
                    .get(end as usize..class.span.start as usize)
                    .is_some_and(|gap| gap.iter().all(u8::is_ascii_whitespace))
        })
        .or_else(|| facts.class_at(end))
}

/// The leading type expression of a tag's text: up to the first whitespace outside brackets.
fn leading_type(text: &str) -> Option<&str> {
    let mut depth = 0i32;
    let end = text
        .char_indices()
        .find_map(|(index, character)| {
            match character {
                '<' | '(' | '{' | '[' => depth += 1,
                '>' | ')' | '}' | ']' => depth -= 1,
                c if c.is_whitespace() && depth <= 0 => return Some(index),
                _ => {}
            }
            None
        })
        .unwrap_or(text.len());
    let ty = &text[..end];
    (!ty.is_empty() && !ty.starts_with('$')).then_some(ty)
}

/// The return type and parameter types of a `@method [static] [Type] name(Type $a, ...)` tag.
fn method_tag_types(text: &str) -> Vec<&str> {
    let Some(open) = text.find('(') else {
        return Vec::new();
    };
    let mut types: Vec<&str> = text[..open].split_whitespace().collect();
    types.pop(); // the method name
    types.retain(|word| !word.eq_ignore_ascii_case("static"));
    let close = text[open..]
        .rfind(')')
        .map_or(text.len(), |close| open + close);
    for parameter in text[open + 1..close].split(',') {
        if let Some(ty) = leading_type(parameter.trim())
            && !ty.starts_with("...")
            && !ty.starts_with('&')
        {
            types.push(ty);
        }
    }
    types
}

/// The words of a type expression that may be class names (`?Foo`, `Foo[]|null`,
/// `array<int, \Bar\Baz>`, `Foo&Bar`), without built-in types, variables and literals.
fn type_words(ty: &str) -> impl Iterator<Item = &str> {
    ty.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '\\' || c == '$'))
        .filter(|word| !word.trim_start_matches('\\').is_empty())
}

fn utf8(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

struct ReferenceWalker;

impl<'ast, 'arena, 'f> Walker<'ast, 'arena, Collector<'f>> for ReferenceWalker {
    fn walk_in_extends(&self, extends: &'ast Extends<'arena>, collector: &mut Collector<'f>) {
        for name in &extends.types {
            collector.add(utf8(name.value()), name.span().start.offset);
        }
    }

    fn walk_in_implements(
        &self,
        implements: &'ast Implements<'arena>,
        collector: &mut Collector<'f>,
    ) {
        for name in &implements.types {
            collector.add(utf8(name.value()), name.span().start.offset);
        }
    }

    fn walk_in_trait_use(&self, trait_use: &'ast TraitUse<'arena>, collector: &mut Collector<'f>) {
        for name in &trait_use.trait_names {
            collector.add(utf8(name.value()), name.span().start.offset);
        }
    }

    fn walk_in_instantiation(
        &self,
        instantiation: &'ast Instantiation<'arena>,
        collector: &mut Collector<'f>,
    ) {
        collector.class_expression(instantiation.class);
    }

    fn walk_in_static_method_call(
        &self,
        call: &'ast StaticMethodCall<'arena>,
        collector: &mut Collector<'f>,
    ) {
        collector.class_expression(call.class);
    }

    fn walk_in_static_method_partial_application(
        &self,
        application: &'ast StaticMethodPartialApplication<'arena>,
        collector: &mut Collector<'f>,
    ) {
        collector.class_expression(application.class);
    }

    fn walk_in_static_property_access(
        &self,
        access: &'ast StaticPropertyAccess<'arena>,
        collector: &mut Collector<'f>,
    ) {
        collector.class_expression(access.class);
    }

    fn walk_in_class_constant_access(
        &self,
        access: &'ast ClassConstantAccess<'arena>,
        collector: &mut Collector<'f>,
    ) {
        collector.class_expression(access.class);
    }

    fn walk_in_binary(&self, binary: &'ast Binary<'arena>, collector: &mut Collector<'f>) {
        if matches!(binary.operator, BinaryOperator::Instanceof(_)) {
            collector.class_expression(binary.rhs);
        }
    }

    /// Type hints of parameters, returns, properties, typed constants and `catch` clauses;
    /// union, nullable and intersection hints are walked down to their identifiers.
    fn walk_in_hint(&self, hint: &'ast Hint<'arena>, collector: &mut Collector<'f>) {
        if let Hint::Identifier(identifier) = hint {
            collector.add(utf8(identifier.value()), identifier.span().start.offset);
        }
    }

    fn walk_in_attribute(&self, attribute: &'ast Attribute<'arena>, collector: &mut Collector<'f>) {
        collector.add(
            utf8(attribute.name.value()),
            attribute.name.span().start.offset,
        );
    }

    fn walk_in_literal_string(
        &self,
        string: &'ast LiteralString<'arena>,
        collector: &mut Collector<'f>,
    ) {
        let value = string.value.map_or_else(
            || {
                let raw = utf8(string.raw);
                raw.get(1..raw.len().saturating_sub(1))
                    .unwrap_or_default()
                    .replace("\\\\", "\\")
            },
            |value| utf8(value).to_string(),
        );
        // `'Pyz\Zed\Foo\Bar::method'` names the class too.
        let class = value.split("::").next().unwrap_or_default();
        if is_class_name_string(class) {
            // Strings are never resolved against imports: PHP reads them as fully qualified.
            let absolute = format!("\\{}", class.trim_start_matches('\\'));
            collector.add(&absolute, string.span.start.offset);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::extract_facts;
    use crate::model::FileId;
    use crate::parse::parse_php;
    use crate::spryker::ProjectNamespaces;

    fn references(text: &str) -> Vec<String> {
        let arena = bumpalo::Bump::new();
        let program = parse_php(&arena, text.as_bytes());
        assert!(program.errors.is_empty(), "{:?}", program.errors);
        let facts = extract_facts(
            program,
            text.as_bytes(),
            FileId(0),
            &ProjectNamespaces::default(),
        );
        collect_references(program, text.as_bytes(), &facts)
    }

    #[test]
    fn collects_every_kind_of_code_reference() {
        let found = references(
            r"<?php
namespace Pyz\Zed\Foo;

use Pyz\Zed\Bar\Business\Reader as BarReader;
use Spryker\Zed\Foo\Business\FooFacade as SprykerFooFacade;

#[Attr\Marker]
final class FooFacade extends SprykerFooFacade implements FooFacadeInterface
{
    use FooTrait;

    protected ?Typed $typed = null;

    public function run(BarReader|Other $reader): Result
    {
        new Created();
        Helper::call();
        Statics::$value;
        Constants::VALUE;
        Named::class;
        $callable = Partial::make(...);
        if ($reader instanceof Checked) {}
        try {} catch (Failure | \Global\Failure2 $e) {}
        $anonymous = new class extends AnonymousBase {};
        self::X;
        static::y();
        return new FooFacade();
    }
}
",
        );
        let expected = [
            "global\\failure2",
            "pyz\\zed\\bar\\business\\reader",
            "pyz\\zed\\foo\\anonymousbase",
            "pyz\\zed\\foo\\attr\\marker",
            "pyz\\zed\\foo\\checked",
            "pyz\\zed\\foo\\constants",
            "pyz\\zed\\foo\\created",
            "pyz\\zed\\foo\\failure",
            "pyz\\zed\\foo\\foofacadeinterface",
            "pyz\\zed\\foo\\footrait",
            "pyz\\zed\\foo\\helper",
            "pyz\\zed\\foo\\named",
            "pyz\\zed\\foo\\other",
            "pyz\\zed\\foo\\partial",
            "pyz\\zed\\foo\\result",
            "pyz\\zed\\foo\\statics",
            "pyz\\zed\\foo\\typed",
            "spryker\\zed\\foo\\business\\foofacade",
        ];
        assert_eq!(found, expected);
    }

    #[test]
    fn collects_doc_block_types_and_class_name_strings() {
        let found = references(
            r"<?php
namespace Pyz\Zed\Foo;

use Pyz\Zed\Foo\Business\Imported;

/**
 * @method \Pyz\Zed\Foo\FooConfig getConfig()
 * @method static Imported create(ParamType $a, int $b)
 * @see SeeTarget::method()
 */
class FooFactory
{
    /** @var array<int, VarType>|null */
    protected $items;

    /**
     * Uses {@link LinkTarget} for the work. Description words like Unused are ignored.
     *
     * @param ParamTag $value the value, mentioning Ignored
     * @return ReturnTag[]
     * @throws ThrownTag
     */
    public function make($value)
    {
        $config['plugins'] = ['Pyz\\Zed\\Foo\\Communication\\Plugin\\StringPlugin', '\Pyz\Yves\Bar\Single'];
        $notAClass = 'hello world';
        $single = 'Word';
        return \FooFactory::class . 'Pyz\Zed\Foo\FooFactory';
    }
}
",
        );
        let expected = [
            "foofactory",
            "pyz\\yves\\bar\\single",
            "pyz\\zed\\foo\\business\\imported",
            "pyz\\zed\\foo\\communication\\plugin\\stringplugin",
            "pyz\\zed\\foo\\fooconfig",
            "pyz\\zed\\foo\\linktarget",
            "pyz\\zed\\foo\\paramtag",
            "pyz\\zed\\foo\\paramtype",
            "pyz\\zed\\foo\\returntag",
            "pyz\\zed\\foo\\seetarget",
            "pyz\\zed\\foo\\throwntag",
            "pyz\\zed\\foo\\vartype",
        ];
        assert_eq!(found, expected);
    }

    #[test]
    fn a_class_naming_itself_is_no_reference() {
        let found = references(
            r"<?php
namespace Pyz\Zed\Foo;

/**
 * @see \Pyz\Zed\Foo\Reader
 */
class Reader
{
    /** @return \Pyz\Zed\Foo\Reader */
    public static function create(): self { return new Reader(); }

    public function copy(): Reader { return new static(); }
}

class Writer
{
    public function reader(): Reader { return Reader::create(); }
}
",
        );
        assert_eq!(found, ["pyz\\zed\\foo\\reader"]);
        let only_self = references(
            "<?php\nnamespace A;\nclass B { public function c(): B { return new \\A\\B(); } }\n",
        );
        assert!(only_self.is_empty(), "{only_self:?}");
    }

    #[test]
    fn config_files_without_namespace_resolve_imports() {
        let found = references(
            "<?php\nuse Pyz\\Shared\\Foo\\FooConstants;\nuse Spryker\\Shared\\Kernel\\KernelConstants;\n$config[FooConstants::BAR] = \\Pyz\\Zed\\Foo\\Handler::class;\n$config[KernelConstants::X] = [\"Pyz\\\\Zed\\\\Foo\\\\Other\"];\n",
        );
        assert_eq!(
            found,
            [
                "pyz\\shared\\foo\\fooconstants",
                "pyz\\zed\\foo\\handler",
                "pyz\\zed\\foo\\other",
                "spryker\\shared\\kernel\\kernelconstants"
            ]
        );
    }

    #[test]
    fn recognises_class_name_strings() {
        assert!(is_class_name_string("Pyz\\Zed\\Foo"));
        assert!(is_class_name_string("\\Pyz\\Foo"));
        assert!(!is_class_name_string("Foo"));
        assert!(!is_class_name_string("Pyz\\\\Foo"));
        assert!(!is_class_name_string("Pyz\\Foo bar"));
        assert!(!is_class_name_string("C:\\1data"));
        assert!(!is_class_name_string(""));
    }
}
