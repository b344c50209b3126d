//! The fix of `not-unique-method`: rename a public method (`getColors` -> `getPyzColors`) where
//! it is declared, where project classes override or implement it, and at every call in the
//! project — or give no fix when that cannot be done safely.
//!
//! Calls are found by re-parsing only the project files that contain the method's name as a
//! word (any case: PHP method names are case-insensitive). A call is renamed when the class of
//! its receiver is known from declarations (`$this`, `self::`, `parent::`, `X::`, typed
//! parameters and properties, `@var`, `@method` tags such as Spryker's `getFacade()`, return
//! types; see `upkeep_php::infer`) and the method PHP would run there is one of the renamed
//! declarations. Unrelated classes with a method of the same name keep theirs. The fix is
//! withheld when a call might reach the method but cannot be proven to:
//! - the receiver's class is not known (an untyped variable, a mixed return), or it is a
//!   supertype that does not declare the method (a core interface: the object may be the
//!   project's class), or the call is written in a trait;
//! - the method is called by a computed name (`$object->$name()`), or a string names it
//!   (`[$this, 'getColors']`, `method_exists(...)`, `call_user_func(...)`);
//! - a Twig template under `src/` mentions it (`reader.getColors()`, or `reader.colors`, which
//!   Twig turns into `getColors()`), for classes that templates can see;
//! - the new name already exists in the class, what it inherits from, or a class inheriting from
//!   it; the hierarchy reaches code the index does not hold; a `@method` tag of a subclass
//!   documents the old name; or a file that contains the name does not parse.

use std::collections::HashSet;

use bumpalo::Bump;
use mago_span::HasSpan;
use mago_syntax::ast::{
    ArrowFunction, ClassLikeMemberSelector, Closure, Expression, Function, LiteralString, Method,
    MethodCall, MethodPartialApplication, NullSafeMethodCall, Program, StaticMethodCall,
    StaticMethodPartialApplication,
};
use mago_syntax::walker::Walker;
use upkeep_php::extract::{FileFacts, extract_facts};
use upkeep_php::infer::{TypeEnvironment, find_method};
use upkeep_php::parse::parse_php;
use upkeep_php::source::TextSpan;
use upkeep_php::{ClassKind, ClassLike, CodebaseIndex, FileId};

use super::constant_rename::Unsafe;
use super::rename_sources::{RenameSources, relative};
use super::{Lineage, lower_first};
use crate::finding::{Edit, Fix};

/// The words a rename of method `name` must look for: the name itself and, for a getter
/// (`getColors`, `isActive`, `hasItems`), the attribute a Twig template reads it by (`colors`).
pub fn searched_words(name: &str) -> Vec<String> {
    let mut words = vec![name.to_string()];
    words.extend(template_attribute(name));
    words
}

fn template_attribute(name: &str) -> Option<String> {
    ["get", "is", "has"].iter().find_map(|prefix| {
        let rest = name.strip_prefix(prefix)?;
        rest.starts_with(|c: char| c.is_ascii_uppercase())
            .then(|| lower_first(rest))
    })
}

/// The fix that renames method `old` of `class` to `new` everywhere in the project.
pub fn rename_method(
    index: &CodebaseIndex,
    sources: &RenameSources<'_>,
    class: &ClassLike,
    old: &str,
    new: &str,
) -> Result<Fix, Unsafe> {
    if class.method(old).is_none() {
        return Err(Unsafe(format!(
            "`{}` does not declare `{old}()`",
            class.name
        )));
    }
    if !sources.indexed(old) {
        return Err(Unsafe(format!("the sources were not indexed for `{old}`")));
    }
    let descendants = sources.descendants_of(class);
    check_hierarchy(index, class, descendants, old, new)?;
    if seen_by_templates(class) {
        for word in searched_words(old) {
            if let Some(template) = sources.template_mentioning(&word) {
                return Err(Unsafe(format!("{template} mentions `{word}`")));
            }
        }
    }
    let family = Family::of(index, class, descendants, old);

    let mut edits: Vec<Edit> = family
        .members
        .iter()
        .filter_map(|member| {
            let method = member.method(old)?;
            Some(Edit {
                file: relative(&index.file(member.file).path),
                span: method.name_span,
                replacement: new.to_string(),
            })
        })
        .collect();
    let declarations = edits.len();
    let mut arena = Bump::new();
    for file in sources.mentioning(old) {
        if file.broken {
            return Err(Unsafe(format!("{} does not parse", file.path)));
        }
        arena.reset();
        let program = parse_php(&arena, &file.text);
        let facts = extract_facts(program, &file.text, FileId(u32::MAX), sources.namespaces);
        let mut scan = CallScan {
            index,
            facts: &facts,
            program,
            family: &family,
            environments: Vec::new(),
            renamed: Vec::new(),
            problem: None,
        };
        CallWalker.walk_program(program, &mut scan);
        if let Some(problem) = scan.problem {
            return Err(Unsafe(format!("{}: {problem}", file.path)));
        }
        edits.extend(scan.renamed.into_iter().map(|span| Edit {
            file: file.path.clone(),
            span,
            replacement: new.to_string(),
        }));
    }
    edits.sort();
    edits.dedup();
    let description = describe(
        class,
        old,
        new,
        edits.len() - declarations,
        declarations - 1,
    );
    Ok(Fix { description, edits })
}

/// Refuses a rename when the class or a project class inheriting from it already has the new
/// name (declared, inherited or documented), documents the old one in a `@method` tag, or
/// inherits from code the index does not hold.
fn check_hierarchy(
    index: &CodebaseIndex,
    class: &ClassLike,
    descendants: &[&ClassLike],
    old: &str,
    new: &str,
) -> Result<(), Unsafe> {
    // The class and every project class or interface inheriting from it: each must be free of
    // the new name, and those that declare the old one are renamed with it.
    for member in std::iter::once(class).chain(descendants.iter().copied()) {
        let lineage = Lineage::of(index, member);
        if let Some(unknown) = lineage.opaque().next() {
            return Err(Unsafe(format!(
                "`{}` inherits from `{unknown}`, which is not in the index",
                member.name
            )));
        }
        let documents = |name: &str| {
            member
                .doc_methods
                .iter()
                .any(|method| method.name.eq_ignore_ascii_case(name))
        };
        if member.method(new).is_some() || documents(new) || lineage.declares_method(new) {
            return Err(Unsafe(format!(
                "`{new}()` already exists for `{}`",
                member.name
            )));
        }
        if documents(old) {
            return Err(Unsafe(format!(
                "a `@method` tag of `{}` documents `{old}()`",
                member.name
            )));
        }
    }
    Ok(())
}
/// "rename `ProductFacade::getColors()` to `getPyzColors()` and its 3 calls, with 1
/// declaration in subclasses".
fn describe(class: &ClassLike, old: &str, new: &str, calls: usize, overrides: usize) -> String {
    let short = upkeep_php::names::short_name(&class.name);
    let call_plural = if calls == 1 { "" } else { "s" };
    let description =
        format!("rename `{short}::{old}()` to `{new}()` and its {calls} call{call_plural}");
    match overrides {
        0 => description,
        1 => format!("{description}, with 1 declaration in subclasses"),
        _ => format!("{description}, with {overrides} declarations in subclasses"),
    }
}

/// Classes whose objects Twig templates may be given: everything but the kernel's service
/// classes, which Spryker never hands to a template.
fn seen_by_templates(class: &ClassLike) -> bool {
    !class.layout.role.is_kernel_service()
}

/// The declarations that are renamed together, and the types through which a call might reach
/// them without naming them.
struct Family<'a> {
    /// The method's name as declared.
    method: String,
    members: Vec<&'a ClassLike>,
    /// Lower-cased names of the members.
    names: HashSet<String>,
    /// Lower-cased names of everything the members inherit from, and the members.
    supertypes: HashSet<String>,
}

impl<'a> Family<'a> {
    fn of(
        index: &'a CodebaseIndex,
        class: &'a ClassLike,
        descendants: &[&'a ClassLike],
        old: &str,
    ) -> Self {
        let members: Vec<&ClassLike> = std::iter::once(class)
            .chain(
                descendants
                    .iter()
                    .copied()
                    .filter(|descendant| descendant.method(old).is_some()),
            )
            .collect();
        let names = members
            .iter()
            .map(|member| member.name.to_ascii_lowercase())
            .collect();
        let supertypes = std::iter::once(class)
            .chain(descendants.iter().copied())
            .flat_map(|member| {
                let lineage = Lineage::of(index, member);
                std::iter::once(member.name.to_ascii_lowercase()).chain(
                    lineage
                        .members()
                        .map(|ancestor| ancestor.name.to_ascii_lowercase())
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        Self {
            method: old.to_string(),
            members,
            names,
            supertypes,
        }
    }

    fn contains(&self, class: &ClassLike) -> bool {
        self.names.contains(&class.name.to_ascii_lowercase())
    }
}

/// What the walk over one file needs and finds.
struct CallScan<'f, 'ast, 'arena> {
    index: &'f CodebaseIndex,
    facts: &'f FileFacts,
    program: &'ast Program<'arena>,
    family: &'f Family<'f>,
    /// The type environments of the functions the walk is in (innermost last); `None` for
    /// code whose variables are not known (a function, a method of an anonymous class).
    environments: Vec<Option<TypeEnvironment<'f>>>,
    /// Method names in calls to rename.
    renamed: Vec<TextSpan>,
    problem: Option<String>,
}

/// The class part of a call as written.
#[derive(Clone, Copy)]
enum Receiver<'c, 'arena> {
    /// `$object->m()`, `$object?->m()`.
    Object(&'c Expression<'arena>),
    /// `X::m()`, `self::m()`, `static::m()`, `parent::m()`, `$class::m()`.
    Class(&'c Expression<'arena>),
}

impl<'f> CallScan<'f, '_, '_> {
    fn unsafe_call(&mut self, problem: String) {
        self.problem.get_or_insert(problem);
    }

    fn environment(&self) -> Option<&TypeEnvironment<'f>> {
        self.environments.last().and_then(Option::as_ref)
    }

    /// Looks at one call of a method: renames it, passes over it, or records why the fix
    /// cannot be made.
    fn call(&mut self, receiver: Receiver<'_, '_>, selector: &ClassLikeMemberSelector<'_>) {
        let name = match selector {
            ClassLikeMemberSelector::Identifier(name) => name,
            ClassLikeMemberSelector::Missing(_) => return,
            computed => {
                let problem = format!(
                    "a method called by a computed name at offset {}",
                    computed.span().start.offset
                );
                self.unsafe_call(problem);
                return;
            }
        };
        let old = self.family.method.as_str();
        if !std::str::from_utf8(name.value).is_ok_and(|name| name.eq_ignore_ascii_case(old)) {
            return;
        }
        let offset = name.span.start.offset;
        match self.called_class(&receiver, offset) {
            Ok(Some((class, from_parent))) => match self.runs_renamed(class, from_parent) {
                Ok(true) => self.renamed.push(name.span.into()),
                Ok(false) => {}
                Err(problem) => self.unsafe_call(format!("{problem} at offset {offset}")),
            },
            // A class the index does not hold cannot be one the rename touches.
            Ok(None) => {}
            Err(problem) => self.unsafe_call(format!("{problem} at offset {offset}")),
        }
    }

    /// The class a call is made on and whether the lookup starts at its parent (`parent::`);
    /// `Ok(None)` for a class the index does not hold.
    fn called_class(
        &self,
        receiver: &Receiver<'_, '_>,
        offset: u32,
    ) -> Result<Option<(&ClassLike, bool)>, String> {
        let environment = self.environment();
        let (name, from_parent) = match receiver {
            Receiver::Class(Expression::Identifier(identifier)) => {
                let written = std::str::from_utf8(identifier.value()).unwrap_or_default();
                (self.facts.context_at(offset).resolve_class(written), false)
            }
            Receiver::Class(
                keyword @ (Expression::Self_(_) | Expression::Static(_) | Expression::Parent(_)),
            ) => {
                let Some(environment) = environment else {
                    return Err("`self`/`static`/`parent` outside a known class".to_string());
                };
                let class = environment.class();
                if class.kind == ClassKind::Trait {
                    return Err("a call in a trait".to_string());
                }
                (class.name.clone(), matches!(keyword, Expression::Parent(_)))
            }
            Receiver::Class(expression) | Receiver::Object(expression) => {
                let known = environment.and_then(|environment| environment.type_of(expression));
                let Some(name) = known else {
                    return Err("a call on something whose class is not known".to_string());
                };
                (name, false)
            }
        };
        let Some(class) = self.index.class(name.trim_start_matches('\\')) else {
            return Ok(None);
        };
        if class.kind == ClassKind::Trait {
            return Err("a call in a trait".to_string());
        }
        Ok(Some((class, from_parent)))
    }

    /// True when calling the method on `class` runs one of the renamed declarations.
    fn runs_renamed(&self, class: &ClassLike, from_parent: bool) -> Result<bool, String> {
        let old = self.family.method.as_str();
        let search_from = if from_parent {
            match class.parent().and_then(|parent| self.index.class(parent)) {
                Some(parent) => parent,
                None => return Ok(false),
            }
        } else {
            class
        };
        match find_method(self.index, search_from, old) {
            Some((declaring, _)) => Ok(self.family.contains(declaring)),
            None if self
                .family
                .supertypes
                .contains(&search_from.name.to_ascii_lowercase()) =>
            {
                Err(format!(
                    "a call on `{}`, which does not declare `{old}()` (the object may be a `{}`)",
                    search_from.name, self.family.members[0].name
                ))
            }
            None => Ok(false),
        }
    }
}

struct CallWalker;

impl<'ast, 'arena: 'ast, 'f> Walker<'ast, 'arena, CallScan<'f, 'ast, 'arena>> for CallWalker {
    fn walk_in_method(&self, method: &'ast Method<'arena>, scan: &mut CallScan<'f, 'ast, 'arena>) {
        let environment = TypeEnvironment::for_method(scan.index, scan.facts, scan.program, method);
        scan.environments.push(environment);
    }

    fn walk_out_method(&self, _: &'ast Method<'arena>, scan: &mut CallScan<'f, 'ast, 'arena>) {
        scan.environments.pop();
    }

    fn walk_in_function(&self, _: &'ast Function<'arena>, scan: &mut CallScan<'f, 'ast, 'arena>) {
        scan.environments.push(None);
    }

    fn walk_out_function(&self, _: &'ast Function<'arena>, scan: &mut CallScan<'f, 'ast, 'arena>) {
        scan.environments.pop();
    }

    fn walk_in_closure(
        &self,
        closure: &'ast Closure<'arena>,
        scan: &mut CallScan<'f, 'ast, 'arena>,
    ) {
        let inner = scan
            .environment()
            .map(|environment| environment.for_closure(closure, scan.program));
        scan.environments.push(inner);
    }

    fn walk_out_closure(&self, _: &'ast Closure<'arena>, scan: &mut CallScan<'f, 'ast, 'arena>) {
        scan.environments.pop();
    }

    fn walk_in_arrow_function(
        &self,
        arrow: &'ast ArrowFunction<'arena>,
        scan: &mut CallScan<'f, 'ast, 'arena>,
    ) {
        let inner = scan
            .environment()
            .map(|environment| environment.for_arrow_function(arrow));
        scan.environments.push(inner);
    }

    fn walk_out_arrow_function(
        &self,
        _: &'ast ArrowFunction<'arena>,
        scan: &mut CallScan<'f, 'ast, 'arena>,
    ) {
        scan.environments.pop();
    }

    fn walk_in_method_call(
        &self,
        call: &'ast MethodCall<'arena>,
        scan: &mut CallScan<'f, 'ast, 'arena>,
    ) {
        scan.call(Receiver::Object(call.object), &call.method);
    }

    fn walk_in_null_safe_method_call(
        &self,
        call: &'ast NullSafeMethodCall<'arena>,
        scan: &mut CallScan<'f, 'ast, 'arena>,
    ) {
        scan.call(Receiver::Object(call.object), &call.method);
    }

    fn walk_in_static_method_call(
        &self,
        call: &'ast StaticMethodCall<'arena>,
        scan: &mut CallScan<'f, 'ast, 'arena>,
    ) {
        scan.call(Receiver::Class(call.class), &call.method);
    }

    fn walk_in_method_partial_application(
        &self,
        call: &'ast MethodPartialApplication<'arena>,
        scan: &mut CallScan<'f, 'ast, 'arena>,
    ) {
        scan.call(Receiver::Object(call.object), &call.method);
    }

    fn walk_in_static_method_partial_application(
        &self,
        call: &'ast StaticMethodPartialApplication<'arena>,
        scan: &mut CallScan<'f, 'ast, 'arena>,
    ) {
        scan.call(Receiver::Class(call.class), &call.method);
    }

    fn walk_in_literal_string(
        &self,
        string: &'ast LiteralString<'arena>,
        scan: &mut CallScan<'f, 'ast, 'arena>,
    ) {
        let value = string.value.unwrap_or(string.raw);
        let old = scan.family.method.as_str();
        if std::str::from_utf8(value).is_ok_and(|value| value.eq_ignore_ascii_case(old)) {
            let problem = format!(
                "the string {} may name the method (a callable, `method_exists()`)",
                String::from_utf8_lossy(string.raw)
            );
            scan.unsafe_call(problem);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::searched_words;
    use crate::finding::Finding;
    use crate::rules::packages::test_support::{apply_fix, run_rules};

    const CORE_INTERFACE: (&str, &str) = (
        "vendor/spryker/product/src/Spryker/Zed/Product/Business/ProductFacadeInterface.php",
        "<?php\nnamespace Spryker\\Zed\\Product\\Business;\n\ninterface ProductFacadeInterface\n{\n    public function getProduct(int $id): array;\n}\n",
    );
    const CORE_FACADE: (&str, &str) = (
        "vendor/spryker/product/src/Spryker/Zed/Product/Business/ProductFacade.php",
        "<?php\nnamespace Spryker\\Zed\\Product\\Business;\n\nclass ProductFacade implements ProductFacadeInterface\n{\n    public function getProduct(int $id): array\n    {\n        return [];\n    }\n}\n",
    );
    const INTERFACE: &str = "src/Pyz/Zed/Product/Business/ProductFacadeInterface.php";
    const FACADE: &str = "src/Pyz/Zed/Product/Business/ProductFacade.php";
    const CONTROLLER: &str = "src/Pyz/Zed/Product/Communication/Controller/IndexController.php";
    const READER: &str = "src/Pyz/Zed/Product/Business/ColorReader.php";

    /// A project facade with a new method on its interface, its implementation, and callers.
    fn shop(reader_body: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut files = vec![
            CORE_INTERFACE,
            CORE_FACADE,
            (
                INTERFACE,
                "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\nuse Spryker\\Zed\\Product\\Business\\ProductFacadeInterface as SprykerProductFacadeInterface;\n\ninterface ProductFacadeInterface extends SprykerProductFacadeInterface\n{\n    public function getColors(): array;\n}\n",
            ),
            (
                FACADE,
                "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\nuse Spryker\\Zed\\Product\\Business\\ProductFacade as SprykerProductFacade;\n\nclass ProductFacade extends SprykerProductFacade implements ProductFacadeInterface\n{\n    public function getColors(): array\n    {\n        return ['red'];\n    }\n}\n",
            ),
            (
                CONTROLLER,
                "<?php\nnamespace Pyz\\Zed\\Product\\Communication\\Controller;\n\n/**\n * @method \\Pyz\\Zed\\Product\\Business\\ProductFacadeInterface getFacade()\n */\nclass IndexController\n{\n    public function indexAction(): array\n    {\n        return ['colors' => $this->getFacade()->getColors()];\n    }\n}\n",
            ),
            (
                "src/Pyz/Zed/Other/Palette.php",
                "<?php\nnamespace Pyz\\Zed\\Other;\n\nclass Palette\n{\n    public function getColors(): array\n    {\n        return [];\n    }\n}\n",
            ),
        ];
        files.extend_from_slice(extra);
        let reader = format!(
            "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\nuse Pyz\\Zed\\Other\\Palette;\n\nclass ColorReader\n{{\n    protected ProductFacadeInterface $productFacade;\n\n{reader_body}}}\n"
        );
        let mut files: Vec<(String, String)> = files
            .into_iter()
            .map(|(path, text)| (path.to_string(), text.to_string()))
            .collect();
        files.push((READER.to_string(), reader));
        files
    }

    fn findings(files: &[(String, String)]) -> Vec<Finding> {
        let borrowed: Vec<(&str, &str)> = files
            .iter()
            .map(|(path, text)| (path.as_str(), text.as_str()))
            .collect();
        run_rules(&["not-unique-method"], &borrowed).findings
    }

    fn only_finding(files: &[(String, String)]) -> Finding {
        let found = findings(files);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].location.file, INTERFACE);
        found.into_iter().next().unwrap()
    }

    const RESOLVABLE_CALLS: &str = "    public function read(ProductFacade $facade): array\n    {\n        $palette = new Palette();\n\n        return array_merge($this->productFacade->getColors(), $facade->GETCOLORS(), $palette->getColors(), array_map(fn () => $this->productFacade->getColors(), [1]));\n    }\n";

    #[test]
    fn renames_the_declarations_and_every_call_that_runs_them() {
        let files = shop(RESOLVABLE_CALLS, &[]);
        let finding = only_finding(&files);
        let fix = finding.fix.as_ref().expect("a fix");
        assert_eq!(
            fix.description,
            "rename `ProductFacadeInterface::getColors()` to `getPyzColors()` and its 4 calls, with 1 declaration in subclasses"
        );
        let fixed = apply_fix(&files, fix);
        assert_eq!(
            fixed.keys().map(String::as_str).collect::<Vec<_>>(),
            [READER, FACADE, INTERFACE, CONTROLLER]
                .into_iter()
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
        );
        assert!(fixed[INTERFACE].contains("public function getPyzColors(): array;"));
        assert!(fixed[FACADE].contains("public function getPyzColors(): array\n"));
        assert!(fixed[CONTROLLER].contains("$this->getFacade()->getPyzColors()"));
        // The unrelated `Palette::getColors()` keeps its name; the rest are renamed, whatever
        // their case, inside an arrow function too.
        assert!(fixed[READER].contains(
            "array_merge($this->productFacade->getPyzColors(), $facade->getPyzColors(), $palette->getColors(), array_map(fn () => $this->productFacade->getPyzColors(), [1]))"
        ));
        for (path, text) in &fixed {
            let arena = bumpalo::Bump::new();
            let program = upkeep_php::parse::parse_php(&arena, text.as_bytes());
            assert!(
                upkeep_php::parse::syntax_problems(program).is_empty(),
                "{path} does not parse:\n{text}"
            );
        }
    }

    #[test]
    fn a_call_that_might_reach_the_method_unproven_withholds_the_fix() {
        let cases = [
            (
                "an untyped receiver",
                "    public function read($facade): array\n    {\n        return $facade->getColors();\n    }\n",
            ),
            (
                "core's interface, which lacks the method",
                "    public function read(\\Spryker\\Zed\\Product\\Business\\ProductFacadeInterface $facade): array\n    {\n        return $facade->getColors();\n    }\n",
            ),
            (
                "a callable array",
                "    public function read(): array\n    {\n        return call_user_func([$this->productFacade, 'getColors']);\n    }\n",
            ),
            (
                "a computed name",
                "    public function read(string $name): array\n    {\n        // getColors\n        return $this->productFacade->$name();\n    }\n",
            ),
        ];
        for (case, body) in cases {
            let files = shop(body, &[]);
            let finding = only_finding(&files);
            assert!(finding.fix.is_none(), "{case}: {:?}", finding.fix);
        }
        // The near miss: the same shapes with a known receiver get the fix.
        let files = shop(RESOLVABLE_CALLS, &[]);
        assert!(only_finding(&files).fix.is_some());
    }

    #[test]
    fn a_taken_new_name_withholds_the_fix() {
        let files = shop(
            "",
            &[(
                "src/Pyz/Zed/Product/Business/SpecialFacade.php",
                "<?php\nnamespace Pyz\\Zed\\Product\\Business;\n\nclass SpecialFacade extends ProductFacade\n{\n    public function getPyzColors(): array\n    {\n        return [];\n    }\n}\n",
            )],
        );
        let found = findings(&files);
        let on_interface: Vec<&Finding> = found
            .iter()
            .filter(|finding| finding.location.file == INTERFACE)
            .collect();
        assert_eq!(on_interface.len(), 1, "{found:#?}");
        assert!(on_interface[0].fix.is_none());
    }

    #[test]
    fn templates_that_read_a_getter_withhold_the_fix_for_classes_they_can_see() {
        let core_reader = (
            "vendor/spryker/product/src/Spryker/Yves/Product/Reader/ColorReader.php",
            "<?php\nnamespace Spryker\\Yves\\Product\\Reader;\n\nclass ColorReader\n{\n    public function read(): array\n    {\n        return [];\n    }\n}\n",
        );
        let project_reader = (
            "src/Pyz/Yves/Product/Reader/ColorReader.php",
            "<?php\nnamespace Pyz\\Yves\\Product\\Reader;\n\nuse Spryker\\Yves\\Product\\Reader\\ColorReader as SprykerColorReader;\n\nclass ColorReader extends SprykerColorReader\n{\n    public function getShades(): array\n    {\n        return [];\n    }\n}\n",
        );
        let template = |text: &'static str| {
            vec![
                core_reader,
                project_reader,
                (
                    "src/Pyz/Yves/Product/Theme/default/views/index/index.twig",
                    text,
                ),
            ]
        };
        let reads = template("{% for shade in reader.shades %}{{ shade }}{% endfor %}\n");
        let report = run_rules(&["not-unique-method"], &reads);
        assert_eq!(report.findings.len(), 1, "{:#?}", report.findings);
        assert!(report.findings[0].fix.is_none());

        let unrelated = template("{{ 'shades of grey' | trans }}\n");
        let report = run_rules(&["not-unique-method"], &unrelated);
        assert!(report.findings[0].fix.is_none(), "`shades` is mentioned");
        let silent = template("{{ product.name }}\n");
        let report = run_rules(&["not-unique-method"], &silent);
        let fix = report.findings[0].fix.as_ref().expect("a fix");
        assert_eq!(
            fix.description,
            "rename `ColorReader::getShades()` to `getPyzShades()` and its 0 calls"
        );
    }

    #[test]
    fn getters_are_searched_by_their_template_attribute_too() {
        assert_eq!(searched_words("getColors"), ["getColors", "colors"]);
        assert_eq!(searched_words("isActive"), ["isActive", "active"]);
        assert_eq!(searched_words("history"), ["history"]);
        assert_eq!(searched_words("getaway"), ["getaway"]);
    }
}
