//! Reads one parsed PHP file into index facts: its classes with members, and the name
//! context (namespace and imports) of each part of the file.

use mago_span::HasSpan;
use mago_syntax::ast::{
    ClassLikeMember, Extends, Hint, Implements, LocalIdentifier, Method, MethodBody, Modifier,
    NamespaceBody, Program, Property, PropertyItem, Sequence, Statement, UseItems,
};
use mago_syntax::comments::docblock::get_docblock_before_position;

use crate::docblock::DocBlock;
use crate::model::{
    ClassKind, ClassLike, ConstantInfo, DocMethodInfo, FileId, MethodInfo, ParameterInfo,
    PropertyInfo, Visibility,
};
use crate::names::{ClassScope, NameContext};
use crate::source::TextSpan;
use crate::spryker::{ProjectNamespaces, SprykerLayout};

/// The namespace and imports in force over a span of a file.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct NameScope {
    pub span: TextSpan,
    pub context: NameContext,
}

/// What one file declares.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct FileFacts {
    pub classes: Vec<ClassLike>,
    pub scopes: Vec<NameScope>,
    /// Lower-cased names of the classes the file refers to (see [`crate::references`]);
    /// collected for project files only, empty otherwise.
    pub references: Vec<String>,
}

impl FileFacts {
    /// The name context at `offset` (the global one when no namespace covers it).
    pub fn context_at(&self, offset: u32) -> &NameContext {
        static GLOBAL: std::sync::OnceLock<NameContext> = std::sync::OnceLock::new();
        self.scopes
            .iter()
            .rev()
            .find(|scope| scope.span.contains(offset))
            .map_or_else(
                || GLOBAL.get_or_init(NameContext::default),
                |scope| &scope.context,
            )
    }

    /// The innermost class declared around `offset`.
    pub fn class_at(&self, offset: u32) -> Option<&ClassLike> {
        self.classes
            .iter()
            .rev()
            .find(|class| class.span.contains(offset))
    }
}

/// Extracts the facts of `program`, whose source is `text`.
pub fn extract_facts(
    program: &Program<'_>,
    text: &[u8],
    file: FileId,
    project: &ProjectNamespaces,
) -> FileFacts {
    let mut extractor = Extractor {
        program,
        text,
        file,
        project,
        facts: FileFacts::default(),
    };
    let mut global = NameContext::default();
    extractor.statements(&program.statements, &mut global);
    let whole_file = TextSpan::new(0, u32::try_from(text.len()).unwrap_or(u32::MAX));
    // The global scope goes first so that namespace scopes, searched from the back, win.
    extractor.facts.scopes.insert(
        0,
        NameScope {
            span: whole_file,
            context: global,
        },
    );
    extractor.facts
}

struct Extractor<'p, 'arena> {
    program: &'p Program<'arena>,
    text: &'p [u8],
    file: FileId,
    project: &'p ProjectNamespaces,
    facts: FileFacts,
}

/// The parts of a class-like declaration that differ between classes, interfaces, traits and enums.
struct ClassDeclaration<'p, 'arena> {
    kind: ClassKind,
    name: &'p LocalIdentifier<'arena>,
    modifiers: Option<&'p Sequence<'arena, Modifier<'arena>>>,
    extends: Option<&'p Extends<'arena>>,
    implements: Option<&'p Implements<'arena>>,
    members: &'p Sequence<'arena, ClassLikeMember<'arena>>,
    span: mago_span::Span,
}

fn utf8(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

impl<'arena> Extractor<'_, 'arena> {
    fn statements(
        &mut self,
        statements: &Sequence<'arena, Statement<'arena>>,
        context: &mut NameContext,
    ) {
        for statement in statements {
            self.statement(statement, context);
        }
    }

    fn statement(&mut self, statement: &Statement<'arena>, context: &mut NameContext) {
        match statement {
            Statement::Namespace(namespace) => {
                let name = namespace
                    .name
                    .as_ref()
                    .map_or("", |name| utf8(name.value()));
                let mut inner = NameContext::new(name);
                match &namespace.body {
                    NamespaceBody::Implicit(body) => self.statements(&body.statements, &mut inner),
                    NamespaceBody::BraceDelimited(block) => {
                        self.statements(&block.statements, &mut inner);
                    }
                }
                self.facts.scopes.push(NameScope {
                    span: namespace.span().into(),
                    context: inner,
                });
            }
            Statement::Use(r#use) => add_imports(&r#use.items, context),
            Statement::Class(class) => self.class_like(
                &ClassDeclaration {
                    kind: ClassKind::Class,
                    name: &class.name,
                    modifiers: Some(&class.modifiers),
                    extends: class.extends.as_ref(),
                    implements: class.implements.as_ref(),
                    members: &class.members,
                    span: class.span(),
                },
                context,
            ),
            Statement::Interface(interface) => self.class_like(
                &ClassDeclaration {
                    kind: ClassKind::Interface,
                    name: &interface.name,
                    modifiers: None,
                    extends: interface.extends.as_ref(),
                    implements: None,
                    members: &interface.members,
                    span: interface.span(),
                },
                context,
            ),
            Statement::Trait(r#trait) => self.class_like(
                &ClassDeclaration {
                    kind: ClassKind::Trait,
                    name: &r#trait.name,
                    modifiers: None,
                    extends: None,
                    implements: None,
                    members: &r#trait.members,
                    span: r#trait.span(),
                },
                context,
            ),
            Statement::Enum(r#enum) => self.class_like(
                &ClassDeclaration {
                    kind: ClassKind::Enum,
                    name: &r#enum.name,
                    modifiers: None,
                    extends: None,
                    implements: r#enum.implements.as_ref(),
                    members: &r#enum.members,
                    span: r#enum.span(),
                },
                context,
            ),
            // Classes declared conditionally (`if (!class_exists(...)) { class ... }`) still count.
            Statement::Block(block) => self.statements(&block.statements, context),
            Statement::If(r#if) => {
                for inner in r#if.body.statements() {
                    self.statement(inner, context);
                }
            }
            _ => {}
        }
    }

    fn doc_before(&self, offset: u32) -> Option<DocBlock> {
        get_docblock_before_position(self.program.trivia.as_slice(), offset)
            .map(|trivia| DocBlock::parse(utf8(trivia.value), trivia.span.start.offset))
    }

    fn source(&self, span: mago_span::Span) -> &str {
        let start = span.start.offset as usize;
        let end = (span.end.offset as usize).min(self.text.len());
        self.text.get(start..end).map_or("", utf8)
    }

    fn class_like(&mut self, declaration: &ClassDeclaration<'_, 'arena>, context: &NameContext) {
        let short = utf8(declaration.name.value);
        let name = if context.namespace.is_empty() {
            short.to_string()
        } else {
            format!("{}\\{short}", context.namespace)
        };
        let resolve_all = |names: Option<
            &mago_syntax::ast::TokenSeparatedSequence<'arena, mago_syntax::ast::Identifier<'arena>>,
        >| {
            names.map_or_else(Vec::new, |names| {
                names
                    .iter()
                    .map(|identifier| context.resolve_class(utf8(identifier.value())))
                    .collect()
            })
        };
        let extends = resolve_all(declaration.extends.map(|extends| &extends.types));
        let implements = resolve_all(declaration.implements.map(|implements| &implements.types));
        let doc = self.doc_before(declaration.span.start.offset);
        let parent = (declaration.kind == ClassKind::Class)
            .then(|| extends.first().cloned())
            .flatten();
        let scope = ClassScope {
            name: &name,
            parent: parent.as_deref(),
        };
        let doc_methods = doc
            .as_ref()
            .map(|doc| {
                doc.methods()
                    .into_iter()
                    .map(|method| DocMethodInfo {
                        name: method.name.to_string(),
                        is_static: method.is_static,
                        return_type: method
                            .return_type
                            .map(|ty| context.resolve_type(ty, Some(scope))),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let modifiers = declaration
            .modifiers
            .map(Sequence::as_slice)
            .unwrap_or_default();

        let mut class = ClassLike {
            layout: SprykerLayout::of(&name, self.project),
            kind: declaration.kind,
            is_abstract: modifiers.iter().any(Modifier::is_abstract),
            is_final: modifiers.iter().any(Modifier::is_final),
            file: self.file,
            span: declaration.span.into(),
            name_span: declaration.name.span.into(),
            extends: extends.clone(),
            implements,
            traits: Vec::new(),
            methods: Vec::new(),
            constants: Vec::new(),
            properties: Vec::new(),
            doc,
            doc_methods,
            name: name.clone(),
        };
        for member in declaration.members {
            self.member(member, &mut class, context, scope);
        }
        self.facts.classes.push(class);
    }

    fn hint(&self, hint: &Hint<'arena>, context: &NameContext, scope: ClassScope<'_>) -> String {
        context.resolve_type(self.source(hint.span()), Some(scope))
    }

    fn member(
        &self,
        member: &ClassLikeMember<'arena>,
        class: &mut ClassLike,
        context: &NameContext,
        scope: ClassScope<'_>,
    ) {
        match member {
            ClassLikeMember::TraitUse(trait_use) => {
                class.traits.extend(
                    trait_use
                        .trait_names
                        .iter()
                        .map(|name| context.resolve_class(utf8(name.value()))),
                );
            }
            ClassLikeMember::Constant(constant) => {
                let visibility = visibility_of(constant.modifiers.as_slice());
                let doc = self.doc_before(constant.span().start.offset);
                for item in &constant.items {
                    class.constants.push(ConstantInfo {
                        name: utf8(item.name.value).to_string(),
                        visibility,
                        name_span: item.name.span.into(),
                        doc: doc.clone(),
                    });
                }
            }
            ClassLikeMember::Property(property) => {
                let (modifiers, hint, items): (&[Modifier<'arena>], _, Vec<&PropertyItem<'arena>>) =
                    match property {
                        Property::Plain(plain) => (
                            plain.modifiers.as_slice(),
                            plain.hint.as_ref(),
                            plain.items.iter().collect(),
                        ),
                        Property::Hooked(hooked) => (
                            hooked.modifiers.as_slice(),
                            hooked.hint.as_ref(),
                            vec![&hooked.item],
                        ),
                    };
                let doc_type = self
                    .doc_before(property.span().start.offset)
                    .and_then(|doc| {
                        doc.var_type()
                            .map(|ty| context.resolve_type(ty, Some(scope)))
                    });
                let type_hint = hint
                    .map(|hint| self.hint(hint, context, scope))
                    .or(doc_type);
                for item in items {
                    let variable = item.variable();
                    class.properties.push(PropertyInfo {
                        name: utf8(variable.name).trim_start_matches('$').to_string(),
                        visibility: visibility_of(modifiers),
                        is_static: modifiers.iter().any(Modifier::is_static),
                        type_hint: type_hint.clone(),
                        name_span: variable.span.into(),
                    });
                }
            }
            ClassLikeMember::EnumCase(_) => {}
            ClassLikeMember::Method(method) => {
                let info = self.method(method, context, scope);
                // Promoted constructor parameters are properties too.
                for parameter in info
                    .parameters
                    .iter()
                    .filter(|parameter| parameter.promoted.is_some())
                {
                    class.properties.push(PropertyInfo {
                        name: parameter.name.clone(),
                        visibility: parameter.promoted.unwrap_or(Visibility::Public),
                        is_static: false,
                        type_hint: parameter.type_hint.clone(),
                        name_span: info.name_span,
                    });
                }
                class.methods.push(info);
            }
        }
    }

    fn method(
        &self,
        method: &Method<'arena>,
        context: &NameContext,
        scope: ClassScope<'_>,
    ) -> MethodInfo {
        let parameters = method
            .parameter_list
            .parameters
            .iter()
            .map(|parameter| ParameterInfo {
                name: utf8(parameter.variable.name)
                    .trim_start_matches('$')
                    .to_string(),
                type_hint: parameter
                    .hint
                    .as_ref()
                    .map(|hint| self.hint(hint, context, scope)),
                promoted: (!parameter.modifiers.is_empty())
                    .then(|| visibility_of(parameter.modifiers.as_slice())),
                has_default: parameter.default_value.is_some(),
                is_variadic: parameter.ellipsis.is_some(),
                by_reference: parameter.ampersand.is_some(),
            })
            .collect();
        let modifiers = method.modifiers.as_slice();
        MethodInfo {
            name: utf8(method.name.value).to_string(),
            visibility: visibility_of(modifiers),
            is_static: modifiers.iter().any(Modifier::is_static),
            is_abstract: modifiers.iter().any(Modifier::is_abstract),
            parameters,
            return_type: method
                .return_type_hint
                .as_ref()
                .map(|ret| self.hint(&ret.hint, context, scope)),
            doc: self.doc_before(method.span().start.offset),
            name_span: method.name.span.into(),
            span: method.span().into(),
            body_span: match &method.body {
                MethodBody::Concrete(block) => Some(block.span().into()),
                MethodBody::Abstract(_) => None,
            },
        }
    }
}

fn visibility_of(modifiers: &[Modifier<'_>]) -> Visibility {
    if modifiers.iter().any(Modifier::is_private) {
        Visibility::Private
    } else if modifiers.iter().any(Modifier::is_protected) {
        Visibility::Protected
    } else {
        Visibility::Public
    }
}

/// Records the class imports of a `use` statement; function and constant imports are skipped.
fn add_imports(items: &UseItems<'_>, context: &mut NameContext) {
    match items {
        UseItems::Sequence(sequence) => {
            for item in &sequence.items {
                context.import_class(
                    utf8(item.name.value()),
                    item.alias
                        .as_ref()
                        .map(|alias| utf8(alias.identifier.value)),
                );
            }
        }
        UseItems::MixedList(list) => {
            let prefix = utf8(list.namespace.value());
            for maybe_typed in list.items.iter().filter(|item| item.r#type.is_none()) {
                let item = &maybe_typed.item;
                let full = format!("{prefix}\\{}", utf8(item.name.value()));
                context.import_class(
                    &full,
                    item.alias
                        .as_ref()
                        .map(|alias| utf8(alias.identifier.value)),
                );
            }
        }
        UseItems::TypedSequence(_) | UseItems::TypedList(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ClassKind, Visibility};
    use crate::parse::parse_php;
    use crate::spryker::{ClassRole, Origin};

    const DEPENDENCY_PROVIDER: &str = r"<?php

namespace Pyz\Zed\Product;

use Spryker\Zed\Kernel\Container;
use Spryker\Zed\Product\ProductDependencyProvider as SprykerProductDependencyProvider;
use Pyz\Zed\Product\Communication\Plugin\{FooPlugin, BarPlugin as Bar};

/**
 * @method \Pyz\Zed\Product\ProductConfig getConfig()
 */
class ProductDependencyProvider extends SprykerProductDependencyProvider implements \Countable
{
    use ProductTrait;

    public const PYZ_FACADE_FOO = 'PYZ_FACADE_FOO';
    protected const BAR = 'bar', BAZ = 'baz';

    /** @var \Spryker\Zed\Kernel\Container|null */
    protected $container;

    private static ?Bar $bar = null;

    public function __construct(private readonly FooPlugin $foo, int ...$rest)
    {
    }

    /**
     * @deprecated Use {@link provideBusinessLayerDependencies()} instead.
     */
    public function provideCommunicationLayerDependencies(Container $container): Container
    {
        return parent::provideCommunicationLayerDependencies($container);
    }

    abstract protected function getPlugins(): array;

    public function count(): int { return 0; }
}

interface ProductReaderInterface extends \Countable, Other\Thing
{
    public function read(?int $id = null): ?self;
}
";

    fn facts(text: &str) -> FileFacts {
        let arena = bumpalo::Bump::new();
        let program = parse_php(&arena, text.as_bytes());
        assert!(program.errors.is_empty(), "{:?}", program.errors);
        extract_facts(
            program,
            text.as_bytes(),
            FileId(7),
            &ProjectNamespaces::default(),
        )
    }

    #[test]
    fn extracts_a_class_with_resolved_names_and_members() {
        let facts = facts(DEPENDENCY_PROVIDER);
        assert_eq!(facts.classes.len(), 2);
        let class = &facts.classes[0];
        assert_eq!(class.name, "Pyz\\Zed\\Product\\ProductDependencyProvider");
        assert_eq!(class.kind, ClassKind::Class);
        assert_eq!(class.file, FileId(7));
        assert_eq!(
            class.extends,
            ["Spryker\\Zed\\Product\\ProductDependencyProvider"]
        );
        assert_eq!(class.implements, ["Countable"]);
        assert_eq!(class.traits, ["Pyz\\Zed\\Product\\ProductTrait"]);
        assert_eq!(class.layout.origin, Origin::Project);
        assert_eq!(class.layout.role, ClassRole::DependencyProvider);
        assert_eq!(class.layout.module.as_deref(), Some("Product"));
        assert_eq!(
            &DEPENDENCY_PROVIDER[class.name_span.start as usize..class.name_span.end as usize],
            "ProductDependencyProvider"
        );

        let constants: Vec<_> = class
            .constants
            .iter()
            .map(|constant| (constant.name.as_str(), constant.visibility))
            .collect();
        assert_eq!(
            constants,
            [
                ("PYZ_FACADE_FOO", Visibility::Public),
                ("BAR", Visibility::Protected),
                ("BAZ", Visibility::Protected)
            ]
        );

        assert_eq!(class.doc_methods.len(), 1);
        assert_eq!(class.doc_methods[0].name, "getConfig");
        assert_eq!(
            class.doc_methods[0].return_type.as_deref(),
            Some("Pyz\\Zed\\Product\\ProductConfig")
        );

        let property = |name: &str| {
            class
                .properties
                .iter()
                .find(|property| property.name == name)
                .unwrap()
        };
        assert_eq!(
            property("container").type_hint.as_deref(),
            Some("Spryker\\Zed\\Kernel\\Container|null")
        );
        assert_eq!(
            property("bar").type_hint.as_deref(),
            Some("?Pyz\\Zed\\Product\\Communication\\Plugin\\BarPlugin")
        );
        assert!(property("bar").is_static);
        assert_eq!(
            property("foo").type_hint.as_deref(),
            Some("Pyz\\Zed\\Product\\Communication\\Plugin\\FooPlugin")
        );
        assert_eq!(property("foo").visibility, Visibility::Private);

        let constructor = class.method("__construct").unwrap();
        assert_eq!(
            constructor.parameters[0].promoted,
            Some(Visibility::Private)
        );
        assert!(constructor.parameters[1].is_variadic);
        let provide = class
            .method("PROVIDECOMMUNICATIONLAYERDEPENDENCIES")
            .unwrap();
        assert_eq!(
            provide.parameters[0].type_hint.as_deref(),
            Some("Spryker\\Zed\\Kernel\\Container")
        );
        assert_eq!(
            provide.return_type.as_deref(),
            Some("Spryker\\Zed\\Kernel\\Container")
        );
        assert!(provide.deprecation().unwrap().starts_with("Use {@link"));
        assert!(provide.body_span.is_some());
        let plugins = class.method("getPlugins").unwrap();
        assert!(plugins.is_abstract && plugins.body_span.is_none());
        assert_eq!(plugins.visibility, Visibility::Protected);
    }

    #[test]
    fn extracts_interfaces_and_self_types() {
        let facts = facts(DEPENDENCY_PROVIDER);
        let interface = &facts.classes[1];
        assert_eq!(interface.kind, ClassKind::Interface);
        assert_eq!(
            interface.extends,
            ["Countable", "Pyz\\Zed\\Product\\Other\\Thing"]
        );
        let read = interface.method("read").unwrap();
        assert_eq!(
            read.return_type.as_deref(),
            Some("?Pyz\\Zed\\Product\\ProductReaderInterface")
        );
        assert!(read.parameters[0].has_default);
    }

    #[test]
    fn name_scopes_follow_namespaces() {
        let text = "<?php\nnamespace A { use X\\Y; class C extends Y {} }\nnamespace B { class D extends Y {} }\n";
        let facts = facts(text);
        assert_eq!(facts.classes[0].extends, ["X\\Y"]);
        assert_eq!(facts.classes[1].extends, ["B\\Y"]);
        let offset_in_b = u32::try_from(text.find("class D").unwrap()).unwrap();
        assert_eq!(facts.context_at(offset_in_b).namespace, "B");
        assert_eq!(facts.class_at(offset_in_b).unwrap().name, "B\\D");
        assert_eq!(facts.context_at(0).namespace, "");
    }

    #[test]
    fn global_code_and_conditional_classes() {
        let facts = facts(
            "<?php\nuse Foo\\Bar;\nif (!class_exists('X')) {\n    class X extends Bar {}\n}\nenum E: string implements Bar { case A = 'a'; }\ntrait T { public function t() {} }\n",
        );
        let names: Vec<_> = facts
            .classes
            .iter()
            .map(|class| (class.name.as_str(), class.kind))
            .collect();
        assert_eq!(
            names,
            [
                ("X", ClassKind::Class),
                ("E", ClassKind::Enum),
                ("T", ClassKind::Trait)
            ]
        );
        assert_eq!(facts.classes[0].extends, ["Foo\\Bar"]);
        assert_eq!(facts.classes[1].implements, ["Foo\\Bar"]);
    }
}
