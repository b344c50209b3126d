//! Private-API rules (section C of the spec): project code that extends, overrides, calls or
//! instantiates core code that Spryker does not promise to keep stable between minor releases.
//!
//! Spryker's API boundary, shared by every rule here:
//! - public API: facades, clients, services and query containers (and their interfaces),
//!   plugins and plugin interfaces, module configs, controllers, dependency providers,
//!   transfers, Twig functions, console commands and constants interfaces;
//! - private API: everything else in core (business models, readers, writers, mappers,
//!   persistence internals, factories' construction methods);
//! - never private API: the ignore list of [`is_ignored`].
//!
//! Class-level rules use the index (`check_project`); call-site rules walk the method bodies of
//! a file's project classes with [`upkeep_php::infer`] (`check_php_file`).

pub mod private_api_core_persistence_usage;
pub mod private_api_dependency;
pub mod private_api_dependency_in_business_model;
pub mod private_api_extension;
pub mod private_api_facade;
pub mod private_api_method_overridden;
pub mod private_api_object_initialization;
pub mod private_api_persistence;
pub mod private_api_persistence_in_business_model;

use mago_span::HasSpan;
use mago_syntax::ast::{
    AnonymousClass, ArrowFunction, Call, Class, ClassLikeMember, ClassLikeMemberSelector, Closure,
    Expression, Function, Instantiation, MethodBody, Program, Variable,
};
use mago_syntax::walker::Walker;
use upkeep_php::infer::{CallTarget, TypeEnvironment};
use upkeep_php::names::{namespace_of, short_name};
use upkeep_php::spryker::{ClassRole, Origin};
use upkeep_php::{ClassKind, ClassLike, CodebaseIndex};

use crate::rule::{PhpFile, RuleMeta, Sink};

/// What the private-API findings tell the user to do instead.
pub(crate) const USE_PUBLIC_API: &str = "use the module's public API (facade, client, service or a plugin) or ask Spryker for an extension point";

/// Core code that is never reported as private API: the kernel, bootstrapping, development
/// tooling, data importers, and a few base classes that projects are meant to extend.
pub(crate) fn is_ignored(name: &str) -> bool {
    let name = name.trim_start_matches('\\');
    let namespace = namespace_of(name);
    let short = short_name(name);
    let module = name.split('\\').nth(2).unwrap_or_default();
    namespace.split('\\').any(|segment| segment == "Kernel")
        || short.ends_with("Bootstrap")
        || short.ends_with("ConfigurationProvider")
        || module == "Development"
        || module.ends_with("DataImport")
        || name.ends_with("Gui\\Communication\\Table\\AbstractTable")
        || name.ends_with("Gui\\Communication\\Tabs\\AbstractTabs")
        || name.split('\\').any(|segment| segment == "DecimalObject")
}

/// Core code that is public API by Spryker's naming (roles by suffix, plugins by suffix or by a
/// `Plugin` namespace, extension modules, console commands, Twig functions, constants).
pub(crate) fn is_public_api(name: &str) -> bool {
    let name = name.trim_start_matches('\\');
    let short = short_name(name);
    let base = short
        .strip_suffix("Interface")
        .filter(|base| !base.is_empty())
        .unwrap_or(short);
    let segments: Vec<&str> = namespace_of(name).split('\\').collect();
    let module = segments.get(2).copied().unwrap_or_default();
    ClassRole::of(short) != ClassRole::BusinessModel
        || segments.contains(&"Plugin")
        || module.ends_with("Extension")
        || (base.ends_with("Console") && segments.contains(&"Console"))
        || base.ends_with("TwigFunction")
        || base.ends_with("TwigFunctionProvider")
        || base.ends_with("Constants")
}

/// A core class that is private API: core, not ignored, not public API.
pub(crate) fn is_private_api(class: &ClassLike) -> bool {
    class.layout.origin == Origin::Core && !is_ignored(&class.name) && !is_public_api(&class.name)
}

/// [`is_private_api`] for a class known by name (classes the index does not hold are not judged).
pub(crate) fn is_private_api_name(name: &str, index: &CodebaseIndex) -> bool {
    index.class(name).is_some_and(is_private_api)
}

/// The constructor parameters of a project class that extends a private-API core class and
/// only mirror that parent's constructor: each private-API class a parameter's declared type
/// names is one the parent's constructor takes too. A subclass has to take them to call
/// `parent::__construct()`; they go when the extension goes, so `private-api-extension`
/// names them and `private-api-dependency-in-business-model` does not report them again.
/// Returns `(parameter name without `$`, the private-API classes it names)`.
pub(crate) fn mirrored_constructor_parameters<'a>(
    index: &'a CodebaseIndex,
    class: &'a ClassLike,
) -> Vec<(&'a str, Vec<&'a str>)> {
    let Some(parent) = class.parent().and_then(|name| index.class(name)) else {
        return Vec::new();
    };
    let (Some(constructor), Some((owner, core_constructor))) = (
        class.method("__construct"),
        index.find_method(parent, "__construct"),
    ) else {
        return Vec::new();
    };
    if !is_private_api(parent) || owner.layout.origin != Origin::Core {
        return Vec::new();
    }
    let core_types: Vec<String> = core_constructor
        .parameters
        .iter()
        .filter_map(|parameter| parameter.type_hint.as_deref())
        .flat_map(upkeep_php::infer::class_names)
        .map(str::to_ascii_lowercase)
        .collect();
    constructor
        .parameters
        .iter()
        .filter_map(|parameter| {
            let private: Vec<&str> =
                upkeep_php::infer::class_names(parameter.type_hint.as_deref()?)
                    .into_iter()
                    .filter(|name| is_private_api_name(name, index))
                    .collect();
            let mirrored = !private.is_empty()
                && private
                    .iter()
                    .all(|name| core_types.contains(&name.to_ascii_lowercase()));
            mirrored.then(|| (parameter.name.trim_start_matches('$'), private))
        })
        .collect()
}

/// A member declared in core code that is not on the ignore list (kernel base classes declare
/// `getFactory()`, `getConfig()` and friends; those are the framework, not private API).
pub(crate) fn is_core_declared(class: &ClassLike) -> bool {
    class.layout.origin == Origin::Core && !is_ignored(&class.name)
}

/// A project class that is a business model in Spryker's sense (see `ClassRole`).
pub(crate) fn is_project_business_model(class: &ClassLike) -> bool {
    class.kind == ClassKind::Class
        && class.layout.origin == Origin::Project
        && ClassRole::is_business_model_name(class.short_name())
}

/// A project class with one of `roles`.
pub(crate) fn is_project_class_with_role(class: &ClassLike, roles: &[ClassRole]) -> bool {
    class.kind == ClassKind::Class
        && class.layout.origin == Origin::Project
        && roles.contains(&class.layout.role)
}

/// The role of a class by its name.
pub(crate) fn role_of(class: &ClassLike) -> ClassRole {
    ClassRole::of(class.short_name())
}

/// The method name of a call as written (`createReader` in `$x->createReader()`), with its span.
pub(crate) fn called_method<'ast>(call: &'ast Call<'_>) -> Option<(&'ast str, mago_span::Span)> {
    let selector = match call {
        Call::Method(call) => &call.method,
        Call::NullSafeMethod(call) => &call.method,
        Call::StaticMethod(call) => &call.method,
        Call::Function(_) => return None,
    };
    match selector {
        ClassLikeMemberSelector::Identifier(identifier) => {
            Some((std::str::from_utf8(identifier.value).ok()?, identifier.span))
        }
        _ => None,
    }
}

/// A method call (`->` or `?->`) on an object whose class has one of `receiver_roles`, running a
/// method that core declares (outside the ignore list), with the span of the method name.
pub(crate) fn core_declared_call<'a>(
    site: &Site<'_, 'a>,
    call: &Call<'_>,
    receiver_roles: &[ClassRole],
) -> Option<(CallTarget<'a>, mago_span::Span)> {
    if !matches!(call, Call::Method(_) | Call::NullSafeMethod(_)) {
        return None;
    }
    let (_, span) = called_method(call)?;
    let target = site.environment.resolve_call(call)?;
    (receiver_roles.contains(&role_of(target.receiver)) && is_core_declared(target.declaring_class))
        .then_some((target, span))
}

/// True for `$this->m()`, `$this?->m()`, `self::m()`, `static::m()` and `parent::m()`.
pub(crate) fn is_call_on_this(call: &Call<'_>) -> bool {
    match call {
        Call::Method(call) => is_this(call.object),
        Call::NullSafeMethod(call) => is_this(call.object),
        Call::StaticMethod(call) => matches!(
            call.class,
            Expression::Self_(_) | Expression::Static(_) | Expression::Parent(_)
        ),
        Call::Function(_) => false,
    }
}

fn is_this(expression: &Expression<'_>) -> bool {
    matches!(expression, Expression::Variable(Variable::Direct(variable)) if variable.name == b"$this")
}

/// `Short::method()` for messages about a project method.
pub(crate) fn member(class: &ClassLike, method: &str) -> String {
    format!("{}::{method}()", class.short_name())
}

/// Where a visitor is: the environment of the innermost function-like and the method's name.
pub(crate) struct Site<'s, 'a> {
    pub environment: &'s TypeEnvironment<'a>,
    pub method: &'s str,
}

/// Receives the calls and instantiations of project method bodies (closures included).
pub(crate) trait BodyVisitor<'a> {
    fn call(&mut self, _site: &Site<'_, 'a>, _call: &Call<'_>) {}
    fn instantiation(&mut self, _site: &Site<'_, 'a>, _instantiation: &Instantiation<'_>) {}
}

/// Reports, as findings of `rule`, every call in the methods of the file's classes for which
/// `wanted` holds of a method that core declares on a receiver with one of `receiver_roles`;
/// `message` words each finding. The shared shape of the rules about core-declared calls.
pub(crate) fn report_core_declared_calls<'a>(
    file: &PhpFile<'a, '_>,
    sink: &mut Sink,
    rule: &'static RuleMeta,
    wanted: impl Fn(&ClassLike) -> bool,
    receiver_roles: &[ClassRole],
    message: impl Fn(&Site<'_, 'a>, &CallTarget<'a>) -> String,
) {
    struct CoreCalls<'f, 'a, 'arena, 's, 'r, M> {
        file: &'f PhpFile<'a, 'arena>,
        sink: &'s mut Sink,
        rule: &'static RuleMeta,
        receiver_roles: &'r [ClassRole],
        message: M,
    }
    impl<'a, M: Fn(&Site<'_, 'a>, &CallTarget<'a>) -> String> BodyVisitor<'a>
        for CoreCalls<'_, 'a, '_, '_, '_, M>
    {
        fn call(&mut self, site: &Site<'_, 'a>, call: &Call<'_>) {
            if let Some((target, span)) = core_declared_call(site, call, self.receiver_roles) {
                let text = (self.message)(site, &target);
                self.sink.push(self.file.finding(self.rule, span, text));
            }
        }
    }
    let mut visitor = CoreCalls {
        file,
        sink,
        rule,
        receiver_roles,
        message,
    };
    visit_method_bodies(file, wanted, &mut visitor);
}

/// Walks the concrete methods of the file's classes for which `wanted` holds, giving `visitor`
/// each call and instantiation with the inferred types at that point. Code in anonymous classes
/// and named functions nested in a method is skipped: `$this` there is something else.
pub(crate) fn visit_method_bodies<'a>(
    file: &PhpFile<'a, '_>,
    wanted: impl Fn(&ClassLike) -> bool,
    visitor: &mut impl BodyVisitor<'a>,
) {
    for (class, _) in project_classes_of(file, wanted) {
        for member in &class.members {
            let ClassLikeMember::Method(method) = member else {
                continue;
            };
            let MethodBody::Concrete(body) = &method.body else {
                continue;
            };
            let Some(environment) =
                TypeEnvironment::for_method(file.index, file.facts, file.program, method)
            else {
                continue;
            };
            let mut walk = BodyWalk {
                environments: vec![environment],
                method: std::str::from_utf8(method.name.value).unwrap_or_default(),
                program: file.program,
                visitor: &mut *visitor,
                foreign: 0,
            };
            BodyWalker.walk_block(body, &mut walk);
        }
    }
}

/// The classes of the file (syntax and extracted facts) for which `wanted` holds.
pub(crate) fn project_classes_of<'a, 'arena>(
    file: &PhpFile<'a, 'arena>,
    wanted: impl Fn(&ClassLike) -> bool,
) -> Vec<(&'a Class<'arena>, &'a ClassLike)> {
    // The facts already know the file's classes: most files need no walk at all.
    if !file.facts.classes.iter().any(&wanted) {
        return Vec::new();
    }
    let mut classes = Vec::new();
    ClassFinder.walk_program(file.program, &mut classes);
    classes
        .into_iter()
        .filter_map(|class| {
            let facts = file.facts.class_at(class.span().start.offset)?;
            (facts.name_span == class.name.span.into() && wanted(facts)).then_some((class, facts))
        })
        .collect()
}

struct ClassFinder;

impl<'ast, 'arena> Walker<'ast, 'arena, Vec<&'ast Class<'arena>>> for ClassFinder {
    fn walk_in_class(&self, class: &'ast Class<'arena>, found: &mut Vec<&'ast Class<'arena>>) {
        found.push(class);
    }
}

struct BodyWalk<'v, 'a, 'm, 'p, 'arena, V> {
    /// The method's environment, then one per enclosing closure or arrow function.
    environments: Vec<TypeEnvironment<'a>>,
    method: &'m str,
    program: &'p Program<'arena>,
    visitor: &'v mut V,
    /// How many anonymous classes or named functions the walk is inside of.
    foreign: usize,
}

struct BodyWalker;

impl<'ast, 'arena, 'a, V: BodyVisitor<'a>> Walker<'ast, 'arena, BodyWalk<'_, 'a, '_, '_, '_, V>>
    for BodyWalker
{
    fn walk_in_call(&self, call: &'ast Call<'arena>, walk: &mut BodyWalk<'_, 'a, '_, '_, '_, V>) {
        if walk.foreign == 0
            && let Some(environment) = walk.environments.last()
        {
            walk.visitor.call(
                &Site {
                    environment,
                    method: walk.method,
                },
                call,
            );
        }
    }

    fn walk_in_instantiation(
        &self,
        instantiation: &'ast Instantiation<'arena>,
        walk: &mut BodyWalk<'_, 'a, '_, '_, '_, V>,
    ) {
        if walk.foreign == 0
            && let Some(environment) = walk.environments.last()
        {
            walk.visitor.instantiation(
                &Site {
                    environment,
                    method: walk.method,
                },
                instantiation,
            );
        }
    }

    fn walk_in_closure(
        &self,
        closure: &'ast Closure<'arena>,
        walk: &mut BodyWalk<'_, 'a, '_, '_, '_, V>,
    ) {
        if walk.foreign == 0
            && let Some(outer) = walk.environments.last()
        {
            let inner = outer.for_closure(closure, walk.program);
            walk.environments.push(inner);
        }
    }

    fn walk_out_closure(
        &self,
        _: &'ast Closure<'arena>,
        walk: &mut BodyWalk<'_, 'a, '_, '_, '_, V>,
    ) {
        if walk.foreign == 0 {
            walk.environments.pop();
        }
    }

    fn walk_in_arrow_function(
        &self,
        arrow: &'ast ArrowFunction<'arena>,
        walk: &mut BodyWalk<'_, 'a, '_, '_, '_, V>,
    ) {
        if walk.foreign == 0
            && let Some(outer) = walk.environments.last()
        {
            let inner = outer.for_arrow_function(arrow);
            walk.environments.push(inner);
        }
    }

    fn walk_out_arrow_function(
        &self,
        _: &'ast ArrowFunction<'arena>,
        walk: &mut BodyWalk<'_, 'a, '_, '_, '_, V>,
    ) {
        if walk.foreign == 0 {
            walk.environments.pop();
        }
    }

    fn walk_in_anonymous_class(
        &self,
        _: &'ast AnonymousClass<'arena>,
        walk: &mut BodyWalk<'_, 'a, '_, '_, '_, V>,
    ) {
        walk.foreign += 1;
    }

    fn walk_out_anonymous_class(
        &self,
        _: &'ast AnonymousClass<'arena>,
        walk: &mut BodyWalk<'_, 'a, '_, '_, '_, V>,
    ) {
        walk.foreign -= 1;
    }

    fn walk_in_function(
        &self,
        _: &'ast Function<'arena>,
        walk: &mut BodyWalk<'_, 'a, '_, '_, '_, V>,
    ) {
        walk.foreign += 1;
    }

    fn walk_out_function(
        &self,
        _: &'ast Function<'arena>,
        walk: &mut BodyWalk<'_, 'a, '_, '_, '_, V>,
    ) {
        walk.foreign -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignore_list_matches_the_spec() {
        for ignored in [
            "Spryker\\Zed\\Kernel\\Business\\AbstractFacade",
            "Spryker\\Shared\\Kernel\\Store",
            "Spryker\\Zed\\Application\\Communication\\ZedBootstrap",
            "Spryker\\Glue\\GlueApplication\\Rest\\ResourceConfigurationProvider",
            "Spryker\\Zed\\Development\\Business\\CodeStyleSniffer\\CodeStyleSniffer",
            "Spryker\\Zed\\ProductDataImport\\Business\\Model\\ProductWriterStep",
            "Spryker\\Zed\\Gui\\Communication\\Table\\AbstractTable",
            "Spryker\\Zed\\Gui\\Communication\\Tabs\\AbstractTabs",
            "Spryker\\DecimalObject\\Decimal",
        ] {
            assert!(is_ignored(ignored), "{ignored}");
        }
        for reported in [
            "Spryker\\Zed\\Product\\Business\\Product\\ProductAbstractManager",
            "Spryker\\Zed\\KernelApp\\Business\\Reader\\AppReader",
            "Spryker\\Zed\\Gui\\Communication\\Table\\TableFormatter",
        ] {
            assert!(!is_ignored(reported), "{reported}");
        }
    }

    #[test]
    fn public_api_follows_spryker_naming() {
        for public in [
            "Spryker\\Zed\\Product\\Business\\ProductFacadeInterface",
            "Spryker\\Client\\Cart\\CartClient",
            "Spryker\\Zed\\Product\\ProductConfig",
            "Spryker\\Zed\\Product\\Persistence\\ProductQueryContainer",
            "Spryker\\Zed\\ProductExtension\\Dependency\\Plugin\\ProductAbstractPreCreatePluginInterface",
            "Spryker\\Zed\\ProductExtension\\Dependency\\ProductAbstractExpanderInterface",
            "Spryker\\Zed\\Product\\Communication\\Plugin\\AbstractProductPlugin\\Base",
            "Spryker\\Zed\\Queue\\Communication\\Console\\QueueWorkerConsole",
            "Spryker\\Shared\\Product\\ProductConstants",
            "Spryker\\Yves\\Twig\\Plugin\\TwigFunction",
            "Spryker\\Zed\\Product\\Business\\Exception\\MissingProductException",
            "Generated\\Shared\\Transfer\\ProductTransfer",
        ] {
            assert!(is_public_api(public), "{public}");
        }
        for private in [
            "Spryker\\Zed\\Product\\Business\\Product\\ProductAbstractManager",
            "Spryker\\Zed\\Product\\Business\\Reader\\ProductReaderInterface",
            "Spryker\\Zed\\Product\\Persistence\\Propel\\Mapper\\ProductMapper",
            "Spryker\\Zed\\Product\\Dependency\\Facade\\ProductToLocaleFacadeBridge",
        ] {
            assert!(!is_public_api(private), "{private}");
        }
    }
}
