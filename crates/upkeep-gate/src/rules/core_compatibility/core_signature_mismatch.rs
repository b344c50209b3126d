//! `core-signature-mismatch`: a project method that overrides or implements a core method
//! with a signature PHP refuses (Liskov rules for parameters, return types, `static`,
//! visibility and by-reference passing). This is what breaks when a core update changes a
//! method the project overrides.
//!
//! The hierarchy helpers at the bottom (nearest core declaration, interfaces, class
//! relations, signatures) are shared with `deprecated-core-usage` and the upgrade preview.

use std::collections::HashSet;

use upkeep_php::model::ParameterInfo;
use upkeep_php::names::{is_builtin_type, short_name};
use upkeep_php::spryker::Origin;
use upkeep_php::{ClassKind, ClassLike, CodebaseIndex, MethodInfo, Visibility};

use crate::rule::{Category, Example, PhpFile, Rule, RuleMeta, Sink};

pub struct CoreSignatureMismatch;

pub static META: RuleMeta = RuleMeta {
    name: "core-signature-mismatch",
    spryker_ids: &[],
    category: Category::CoreCompatibility,
    summary: "A project method overrides or implements a core method with a signature PHP no longer accepts.",
    documentation: "\
## What it finds
A method of a project class (or interface) that overrides a core method, or implements a
method of a core interface, with a signature that PHP rejects when it loads the class
(\"Declaration of ... must be compatible with ...\"). The core method compared is the nearest
declaration in the core part of the parent chain, and every core interface the class
implements (directly, through its parents or through interface inheritance). The finding
points at the project method's name; the message shows both signatures and every reason.

PHP's rules, as checked here:

- **Parameters.** The override must accept every parameter of the core method: it may not
  have fewer parameters, and it may not require more (a parameter it adds needs a default
  value). If the core method is variadic, the override must be too.
- **Parameter types may only widen** (contravariance): the same type, no type, a union that
  contains the core type (`?Foo` or `Foo|null` for `Foo`), a parent class or interface of the
  core type, `object` for a class, `mixed` for anything.
- **Return types may only narrow** (covariance): the same type, a subclass or implementation
  of it (looked up in the project and core index), `Foo` for `?Foo`, `never`; and an override
  must declare a return type when the core method does.
- **`static`** must match, **visibility** may only widen (`protected` to `public`), and
  **by-reference** parameters (`&$x`) must stay by-reference, and the reverse.

Constructors are compared only when the core constructor is abstract or declared in an
interface, as PHP does. Private core methods are not inherited and are never compared. When a
type names a class the index does not know (a third-party library not under
`vendor/spryker*`), the rule cannot decide the relation and stays silent rather than guess.

## Why it matters
Spryker releases minor versions that add parameters (with defaults), tighten return types or
change parameter types of public API methods. A project method that overrode the old
signature can stop matching the new one: PHP then refuses to load the class, and the first
request after deployment fails with a fatal error. Checking the signatures against the core
code in `vendor/` finds this right after `composer update`, before anything runs.

## Example
```php
// vendor/spryker/product/src/Spryker/Zed/Product/Business/ProductFacade.php (after the update)
public function findProductAbstractById(int $idProductAbstract, bool $withDeleted = false): ?ProductAbstractTransfer

// src/Pyz/Zed/Product/Business/ProductFacade.php
public function findProductAbstractById($idProductAbstract)
{
    // ...
}
```

## Instead
```php
public function findProductAbstractById(int $idProductAbstract, bool $withDeleted = false): ?ProductAbstractTransfer
{
    // ...
}
```

## Fix
Copy the core method's new signature into the override (parameters with their defaults and
types, return type, `static`, visibility), then adapt the body. If the override only existed to
change behaviour that core now offers through configuration or a plugin, remove it.

## Configuration
None. `@upkeep-ignore core-signature-mismatch` in the doc block of the method or class
silences it there.

## Spryker id
None: Spryker's upgradability tools have no such check (their evaluator boots the
project, where the fatal error surfaces only at runtime).
",
    bad_example: Example {
        files: &[
            (
                "vendor/spryker/product/src/Spryker/Zed/Product/Business/ProductFacade.php",
                "<?php\nnamespace Spryker\\Zed\\Product\\Business;\n\nclass ProductFacade\n{\n    public function findProductAbstractById(int $idProductAbstract, bool $withDeleted = false): ?ProductAbstractTransfer\n    {\n        return null;\n    }\n}\n",
            ),
            (
                "src/Pyz/Zed/Product/Business/ProductFacade.php",
                "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\nuse Spryker\\Zed\\Product\\Business\\ProductFacade as SprykerProductFacade;\n\nclass ProductFacade extends SprykerProductFacade\n{\n    public function findProductAbstractById($idProductAbstract)\n    {\n        return null;\n    }\n}\n",
            ),
        ],
    },
    good_example: Example {
        files: &[
            (
                "vendor/spryker/product/src/Spryker/Zed/Product/Business/ProductFacade.php",
                "<?php\nnamespace Spryker\\Zed\\Product\\Business;\n\nclass ProductFacade\n{\n    public function findProductAbstractById(int $idProductAbstract, bool $withDeleted = false): ?ProductAbstractTransfer\n    {\n        return null;\n    }\n}\n",
            ),
            (
                "src/Pyz/Zed/Product/Business/ProductFacade.php",
                "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\nuse Spryker\\Zed\\Product\\Business\\ProductAbstractTransfer;\nuse Spryker\\Zed\\Product\\Business\\ProductFacade as SprykerProductFacade;\n\nclass ProductFacade extends SprykerProductFacade\n{\n    public function findProductAbstractById(int $idProductAbstract, bool $withDeleted = false): ?ProductAbstractTransfer\n    {\n        return null;\n    }\n}\n",
            ),
        ],
    },
    guideline: "https://docs.spryker.com/docs/dg/dev/guidelines/keeping-a-project-upgradable/keeping-a-project-upgradable.html",
    needs_core: true,
};

impl Rule for CoreSignatureMismatch {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_php_file(&self, file: &PhpFile<'_, '_>, sink: &mut Sink) {
        for class in &file.facts.classes {
            if class.layout.origin != Origin::Project || class.kind == ClassKind::Trait {
                continue;
            }
            for method in &class.methods {
                if let Some(message) = mismatch_message(file.index, class, method) {
                    sink.push(file.finding(&META, method.name_span, message));
                }
            }
        }
    }
}

/// The message for `method` of `class` when it does not match a core method it overrides or
/// implements; the first mismatching core declaration wins.
fn mismatch_message(
    index: &CodebaseIndex,
    class: &ClassLike,
    method: &MethodInfo,
) -> Option<String> {
    overridden_core_methods(index, class, &method.name)
        .into_iter()
        .filter(|overridden| is_checked_by_php(overridden))
        .find_map(|overridden| {
            let reasons = incompatibilities(index, method, overridden.method);
            (!reasons.is_empty()).then(|| {
                let relation = if overridden.owner.kind == ClassKind::Interface {
                    "implements"
                } else {
                    "overrides"
                };
                format!(
                    "`{}` no longer matches the core method it {relation}, `{}`: {}; PHP refuses to load the class",
                    signature(class.short_name(), method, TypeNames::Short),
                    signature(&overridden.owner.name, overridden.method, TypeNames::Short),
                    reasons.join("; ")
                )
            })
        })
}

/// PHP compares constructors only with abstract or interface constructors.
fn is_checked_by_php(overridden: &CoreDeclaration<'_>) -> bool {
    !overridden.method.name.eq_ignore_ascii_case("__construct")
        || overridden.method.is_abstract
        || overridden.owner.kind == ClassKind::Interface
}

/// Why `child` cannot override `parent`, in PHP's terms; empty when it can (or when the
/// index cannot tell).
pub(crate) fn incompatibilities(
    index: &CodebaseIndex,
    child: &MethodInfo,
    parent: &MethodInfo,
) -> Vec<String> {
    let mut reasons = Vec::new();
    if child.is_static != parent.is_static {
        reasons.push(if child.is_static {
            "it is static, the core method is not".to_string()
        } else {
            "it is not static, the core method is".to_string()
        });
    }
    if child.visibility > parent.visibility {
        reasons.push(format!(
            "it is {}, the core method is {} (visibility may only widen)",
            visibility_name(child.visibility),
            visibility_name(parent.visibility)
        ));
    }
    parameter_incompatibilities(index, child, parent, &mut reasons);
    if let Some(parent_return) = &parent.return_type {
        match &child.return_type {
            None => reasons.push(format!(
                "it declares no return type, the core method returns `{parent_return}`"
            )),
            Some(child_return) => {
                if within(index, child_return, parent_return) == Verdict::No {
                    reasons.push(format!(
                        "it returns `{child_return}`, which is not within core's `{parent_return}` (return types may only narrow)"
                    ));
                }
            }
        }
    }
    reasons
}

fn parameter_incompatibilities(
    index: &CodebaseIndex,
    child: &MethodInfo,
    parent: &MethodInfo,
    reasons: &mut Vec<String>,
) {
    let fixed = |method: &MethodInfo| {
        method
            .parameters
            .iter()
            .filter(|parameter| !parameter.is_variadic)
            .count()
    };
    let required = |method: &MethodInfo| {
        // A parameter before an optional one is still required (PHP deprecates but honours it).
        method
            .parameters
            .iter()
            .rposition(|parameter| !parameter.has_default && !parameter.is_variadic)
            .map_or(0, |last| last + 1)
    };
    let (child_required, parent_required) = (required(child), required(parent));
    if child_required > parent_required {
        reasons.push(format!(
            "it requires {} where the core method requires {} (a parameter added by an override needs a default value)",
            plural(child_required, "parameter"),
            parent_required
        ));
    }
    if fixed(child) < fixed(parent) && variadic(child).is_none() {
        reasons.push(format!(
            "it takes {} where the core method takes {} (an override must accept every parameter of the core method)",
            plural(fixed(child), "parameter"),
            fixed(parent)
        ));
    }
    if let Some(parent_variadic) = variadic(parent)
        && variadic(child).is_none()
    {
        reasons.push(format!(
            "the core method is variadic (`...${}`), the override is not",
            parent_variadic.name
        ));
    }
    // Pair each core parameter with the child's parameter at the same position, or the
    // child's variadic one that takes it.
    let parent_count = fixed(parent) + usize::from(variadic(parent).is_some());
    for position in 0..parent_count {
        let parent_parameter = &parent.parameters[position.min(parent.parameters.len() - 1)];
        let child_parameter = child
            .parameters
            .get(position)
            .filter(|parameter| !parameter.is_variadic)
            .or_else(|| variadic(child));
        let Some(child_parameter) = child_parameter else {
            continue;
        };
        if child_parameter.by_reference != parent_parameter.by_reference {
            reasons.push(format!(
                "`${}` is {}passed by reference, core's `${}` is {}",
                child_parameter.name,
                if child_parameter.by_reference {
                    ""
                } else {
                    "not "
                },
                parent_parameter.name,
                if parent_parameter.by_reference {
                    "by reference"
                } else {
                    "by value"
                }
            ));
        }
        if let Some(child_type) = &child_parameter.type_hint {
            let parent_type = parent_parameter.type_hint.as_deref().unwrap_or("mixed");
            // `Foo $x = null` accepts null too. The index keeps no default values, so any
            // default counts as `null`: that can miss a mismatch, never invent one.
            let accepted = if child_parameter.has_default && !child_type.contains(['&', '(']) {
                format!("{child_type}|null")
            } else {
                child_type.clone()
            };
            if within(index, parent_type, &accepted) == Verdict::No {
                reasons.push(format!(
                    "`${}` is typed `{child_type}`, which does not accept core's `{parent_type}` (parameter types may only widen)",
                    child_parameter.name
                ));
            }
        }
    }
}

fn variadic(method: &MethodInfo) -> Option<&ParameterInfo> {
    method
        .parameters
        .iter()
        .find(|parameter| parameter.is_variadic)
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("{count} {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

fn visibility_name(visibility: Visibility) -> &'static str {
    match visibility {
        Visibility::Public => "public",
        Visibility::Protected => "protected",
        Visibility::Private => "private",
    }
}

/// An answer that may be unknown because part of a class hierarchy is not in the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Yes,
    No,
    Unknown,
}

/// The members of a declared type: `?Foo` is `Foo|null`, `bool` is `true|false`, `iterable`
/// is `array|Traversable`. `None` for intersection and DNF types, which are only compared as
/// written.
fn type_members(declared: &str) -> Option<Vec<String>> {
    if declared.contains(['&', '(']) {
        return None;
    }
    let (nullable, rest) = match declared.trim().strip_prefix('?') {
        Some(rest) => (true, rest),
        None => (false, declared.trim()),
    };
    let mut members = Vec::new();
    for member in rest
        .split('|')
        .map(|member| member.trim().trim_start_matches('\\'))
    {
        match member.to_ascii_lowercase().as_str() {
            "bool" | "boolean" => members.extend(["true".to_string(), "false".to_string()]),
            "iterable" => members.extend(["array".to_string(), "Traversable".to_string()]),
            lower if is_builtin_type(lower) => members.push(lower.to_string()),
            _ => members.push(member.to_string()),
        }
    }
    if nullable {
        members.push("null".to_string());
    }
    Some(members)
}

/// Whether every value of type `inner` is also of type `outer`.
pub(crate) fn within(index: &CodebaseIndex, inner: &str, outer: &str) -> Verdict {
    let (Some(inner_members), Some(outer_members)) = (type_members(inner), type_members(outer))
    else {
        return if inner.eq_ignore_ascii_case(outer) {
            Verdict::Yes
        } else {
            Verdict::Unknown
        };
    };
    if inner_members.iter().any(|member| member == "mixed") {
        return if outer_members.iter().any(|member| member == "mixed") {
            Verdict::Yes
        } else {
            Verdict::No
        };
    }
    let mut verdict = Verdict::Yes;
    for member in &inner_members {
        match member_within(index, member, &outer_members) {
            Verdict::No => return Verdict::No,
            Verdict::Unknown => verdict = Verdict::Unknown,
            Verdict::Yes => {}
        }
    }
    verdict
}

fn member_within(index: &CodebaseIndex, member: &str, outer: &[String]) -> Verdict {
    let has = |name: &str| {
        outer
            .iter()
            .any(|candidate| candidate.eq_ignore_ascii_case(name))
    };
    if member == "never" || has(member) || (member != "void" && has("mixed")) {
        return Verdict::Yes;
    }
    if is_builtin_type(member) {
        return Verdict::No;
    }
    // A class.
    if has("object") || (has("callable") && member.eq_ignore_ascii_case("Closure")) {
        return Verdict::Yes;
    }
    let mut verdict = Verdict::No;
    for class in outer.iter().filter(|candidate| !is_builtin_type(candidate)) {
        match is_subclass(index, member, class) {
            Verdict::Yes => return Verdict::Yes,
            Verdict::Unknown => verdict = Verdict::Unknown,
            Verdict::No => {}
        }
    }
    verdict
}

/// PHP's own classes and interfaces that project and core types commonly extend, with their
/// parents, so that relations through them are known.
const BUILTIN_CLASSES: &[(&str, &[&str])] = &[
    ("Traversable", &[]),
    ("Iterator", &["Traversable"]),
    ("IteratorAggregate", &["Traversable"]),
    ("Generator", &["Iterator"]),
    ("Countable", &[]),
    ("ArrayAccess", &[]),
    ("Serializable", &[]),
    ("Stringable", &[]),
    ("JsonSerializable", &[]),
    ("SeekableIterator", &["Iterator"]),
    (
        "ArrayIterator",
        &[
            "SeekableIterator",
            "ArrayAccess",
            "Serializable",
            "Countable",
        ],
    ),
    (
        "ArrayObject",
        &[
            "IteratorAggregate",
            "ArrayAccess",
            "Serializable",
            "Countable",
        ],
    ),
    ("Throwable", &["Stringable"]),
    ("Exception", &["Throwable"]),
    ("Error", &["Throwable"]),
    ("Closure", &[]),
    ("stdClass", &[]),
    ("DateTimeInterface", &[]),
    ("DateTime", &["DateTimeInterface"]),
    ("DateTimeImmutable", &["DateTimeInterface"]),
];

/// Whether class `sub` is `sup` or extends or implements it; unknown when part of `sub`'s
/// hierarchy is not in the index.
pub(crate) fn is_subclass(index: &CodebaseIndex, sub: &str, sup: &str) -> Verdict {
    let sup = sup.trim_start_matches('\\');
    let mut queue = vec![sub.trim_start_matches('\\').to_string()];
    let mut seen = HashSet::new();
    let mut unknown = false;
    while let Some(name) = queue.pop() {
        if name.eq_ignore_ascii_case(sup) {
            return Verdict::Yes;
        }
        if !seen.insert(name.to_ascii_lowercase()) {
            continue;
        }
        if let Some(class) = index.class(&name) {
            queue.extend(class.extends.iter().chain(&class.implements).cloned());
        } else if let Some((_, parents)) = BUILTIN_CLASSES
            .iter()
            .find(|(builtin, _)| builtin.eq_ignore_ascii_case(&name))
        {
            queue.extend(parents.iter().map(ToString::to_string));
        } else {
            unknown = true;
        }
    }
    if unknown {
        Verdict::Unknown
    } else {
        Verdict::No
    }
}

/// A core method that a project method overrides or implements.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CoreDeclaration<'a> {
    pub owner: &'a ClassLike,
    pub method: &'a MethodInfo,
}

/// The core methods that a method named `name` of `class` overrides or implements: the
/// nearest declaration in the parent chain when that one is core and not private, then the
/// declarations of every core interface the class implements.
pub(crate) fn overridden_core_methods<'a>(
    index: &'a CodebaseIndex,
    class: &'a ClassLike,
    name: &str,
) -> Vec<CoreDeclaration<'a>> {
    let mut found = Vec::new();
    if let Some(parent) = class.parent().and_then(|parent| index.class(parent))
        && let Some((owner, method)) = index.find_method(parent, name)
        && owner.layout.origin == Origin::Core
        && method.visibility != Visibility::Private
    {
        found.push(CoreDeclaration { owner, method });
    }
    for interface in interfaces(index, class) {
        if interface.layout.origin == Origin::Core
            && let Some(method) = interface.method(name)
        {
            found.push(CoreDeclaration {
                owner: interface,
                method,
            });
        }
    }
    found
}

/// Every interface `class` implements: its own, its parents', and the interfaces those
/// extend (for an interface: the interfaces it extends), nearest first, each once.
pub(crate) fn interfaces<'a>(index: &'a CodebaseIndex, class: &'a ClassLike) -> Vec<&'a ClassLike> {
    let mut queue: Vec<&str> = Vec::new();
    for owner in std::iter::once(class).chain(index.ancestors(class)) {
        queue.extend(owner.implements.iter().map(String::as_str));
        if owner.kind == ClassKind::Interface {
            queue.extend(owner.extends.iter().map(String::as_str));
        }
    }
    let mut seen = HashSet::new();
    let mut found = Vec::new();
    let mut next = 0;
    while let Some(name) = queue.get(next).copied() {
        next += 1;
        let Some(interface) = index.class(name) else {
            continue;
        };
        if !seen.insert(interface.name.to_ascii_lowercase()) {
            continue;
        }
        queue.extend(interface.extends.iter().map(String::as_str));
        found.push(interface);
    }
    found
}

/// How a signature writes class names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TypeNames {
    /// `ProductTransfer`: for messages people read.
    Short,
    /// `Generated\Shared\Transfer\ProductTransfer`: for comparing signatures.
    Full,
}

/// `public static Owner::name(int $a, ?Foo &$b = …, string ...$rest): Bar`, or
/// `public static function name(...)` when `owner` is empty.
pub(crate) fn signature(owner: &str, method: &MethodInfo, names: TypeNames) -> String {
    let render_type = |declared: &str| match names {
        TypeNames::Full => declared.to_string(),
        TypeNames::Short => shorten_type(declared),
    };
    let parameters: Vec<String> = method
        .parameters
        .iter()
        .map(|parameter: &ParameterInfo| {
            let mut rendered = String::new();
            if let Some(declared) = &parameter.type_hint {
                rendered.push_str(&render_type(declared));
                rendered.push(' ');
            }
            if parameter.by_reference {
                rendered.push('&');
            }
            if parameter.is_variadic {
                rendered.push_str("...");
            }
            rendered.push('$');
            rendered.push_str(&parameter.name);
            if parameter.has_default {
                rendered.push_str(" = …");
            }
            rendered
        })
        .collect();
    let mut rendered = format!(
        "{}{} {}{}({})",
        visibility_name(method.visibility),
        if method.is_static { " static" } else { "" },
        if owner.is_empty() {
            "function ".to_string()
        } else {
            format!("{owner}::")
        },
        method.name,
        parameters.join(", ")
    );
    if let Some(returned) = &method.return_type {
        rendered.push_str(": ");
        rendered.push_str(&render_type(returned));
    }
    rendered
}

/// A type with every class name cut to its short name (`?Foo\Bar|null` -> `?Bar|null`).
fn shorten_type(declared: &str) -> String {
    let mut shortened = String::with_capacity(declared.len());
    let mut word = String::new();
    for character in declared.chars().chain(std::iter::once(' ')) {
        if character.is_alphanumeric() || matches!(character, '_' | '\\') {
            word.push(character);
        } else {
            shortened.push_str(short_name(&word));
            word.clear();
            if character != ' ' {
                shortened.push(character);
            }
        }
    }
    shortened
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::packages::test_support::{findings, run_rules};

    const CORE_FACADE: &str = "<?php
namespace Spryker\\Zed\\Product\\Business;

use Generated\\Shared\\Transfer\\ProductTransfer;

class ProductFacade implements ProductFacadeInterface
{
    public function read(int $id, bool $withDeleted = false): ?ProductTransfer { return null; }
    public function save(ProductTransfer $product): ProductTransfer { return $product; }
    public function find(?ProductTransfer $product): void {}
    protected function map(array &$data, string ...$keys): void {}
    public static function create(): static { return new static(); }
    private function secret(int $a): int { return $a; }
    public function __construct(int $cache) {}
}
";

    const CORE_INTERFACE: &str = "<?php
namespace Spryker\\Zed\\Product\\Business;

interface ProductFacadeInterface
{
    public function read(int $id, bool $withDeleted = false): ?\\Generated\\Shared\\Transfer\\ProductTransfer;
    public function export(iterable $items): array;
}
";

    fn run(project_methods: &str) -> Vec<String> {
        let project = format!(
            "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\nuse Generated\\Shared\\Transfer\\ProductTransfer;\nuse Spryker\\Zed\\Product\\Business\\ProductFacade as SprykerProductFacade;\n\nclass ProductFacade extends SprykerProductFacade\n{{\n{project_methods}\n}}\n"
        );
        let report = run_rules(
            &["core-signature-mismatch"],
            &[
                (
                    "vendor/spryker/product/src/Spryker/Zed/Product/Business/ProductFacade.php",
                    CORE_FACADE,
                ),
                (
                    "vendor/spryker/product/src/Spryker/Zed/Product/Business/ProductFacadeInterface.php",
                    CORE_INTERFACE,
                ),
                ("src/Pyz/Zed/Product/Business/ProductFacade.php", &project),
            ],
        );
        findings(&report)
    }

    #[test]
    fn compatible_overrides_pass() {
        let clean = run("    public function read(int $id, bool $withDeleted = false, string $extra = ''): ProductTransfer { return new ProductTransfer(); }
    public function save(?ProductTransfer $product): ProductTransfer { return $product; }
    public function find(ProductTransfer $product = null): void {}
    protected function map(array &$data, string ...$keys): void {}
    public static function create(): static { return new static(); }
    public function secret(string $b): string { return $b; }
    public function __construct() {}
    public function export(array|\\Traversable $items): array { return []; }
    public function newMethod(int $a): int { return $a; }");
        assert_eq!(clean, Vec::<String>::new());
    }

    #[test]
    fn each_kind_of_mismatch_is_reported_with_both_signatures() {
        let found = run("    public function read(int $id, bool $withDeleted, int $store): ?ProductTransfer { return null; }
    public function save(ProductTransfer $product) { return $product; }
    public function map(array $data, string ...$keys): void {}
    public function create(): static { return new static(); }
    public function export(array $items): iterable { return []; }");
        assert_eq!(found.len(), 5, "{found:#?}");
        assert!(found[0].contains(":9: `public ProductFacade::read(int $id, bool $withDeleted, int $store): ?ProductTransfer` no longer matches the core method it overrides, `public Spryker\\Zed\\Product\\Business\\ProductFacade::read(int $id, bool $withDeleted = …): ?ProductTransfer`: it requires 3 parameters where the core method requires 1"), "{}", found[0]);
        assert!(found[1].contains("it declares no return type, the core method returns `Generated\\Shared\\Transfer\\ProductTransfer`"), "{}", found[1]);
        assert!(
            found[2].contains("`$data` is not passed by reference, core's `$data` is by reference"),
            "{}",
            found[2]
        );
        assert!(
            found[3].contains("it is not static, the core method is"),
            "{}",
            found[3]
        );
        assert!(found[4].contains("it implements"), "{}", found[4]);
        assert!(
            found[4].contains("`$items` is typed `array`, which does not accept core's `iterable`"),
            "{}",
            found[4]
        );
        assert!(
            found[4].contains("it returns `iterable`, which is not within core's `array`"),
            "{}",
            found[4]
        );
    }

    #[test]
    fn visibility_and_unknown_types() {
        let found = run(
            "    protected function save(\\Symfony\\Foo $product): ProductTransfer { return $product; }",
        );
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].contains("it is protected, the core method is public"),
            "{}",
            found[0]
        );
        assert!(
            !found[0].contains("does not accept"),
            "a parameter type naming an unknown class is not judged: {}",
            found[0]
        );
    }

    #[test]
    fn type_relations() {
        let index = CodebaseIndex::default();
        assert_eq!(within(&index, "Foo", "?Foo"), Verdict::Yes);
        assert_eq!(within(&index, "?Foo", "Foo"), Verdict::No);
        assert_eq!(within(&index, "bool", "true|false|null"), Verdict::Yes);
        assert_eq!(within(&index, "array", "iterable"), Verdict::Yes);
        assert_eq!(within(&index, "int", "float"), Verdict::No);
        assert_eq!(within(&index, "Foo", "Bar"), Verdict::Unknown);
        assert_eq!(within(&index, "Generator", "Traversable"), Verdict::Yes);
        assert_eq!(within(&index, "Foo", "object"), Verdict::Yes);
        assert_eq!(within(&index, "mixed", "int"), Verdict::No);
        assert_eq!(within(&index, "never", "int"), Verdict::Yes);
        assert_eq!(within(&index, "void", "mixed"), Verdict::No);
        assert_eq!(within(&index, "A&B", "A&B"), Verdict::Yes);
        assert_eq!(within(&index, "A&B", "A"), Verdict::Unknown);
        assert_eq!(
            shorten_type("?Foo\\Bar|array<int,Baz\\Qux>"),
            "?Bar|array<int,Qux>"
        );
    }
}
