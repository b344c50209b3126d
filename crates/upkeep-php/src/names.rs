//! Name resolution: turns a class name as written (`Foo`, `Bar\Foo`, `\Foo`, an alias,
//! `self`, `static`, `parent`) into its fully qualified name.
//!
//! PHP resolves class names against the current namespace and the `use` imports of that
//! namespace; function and constant names have a global fallback that class names do not.

use std::collections::HashMap;

/// The namespace and class imports in force at a point of a file.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NameContext {
    /// The namespace without leading or trailing backslash; empty for the global namespace.
    pub namespace: String,
    /// Lower-cased alias -> fully qualified name, for `use` imports of classes.
    class_imports: HashMap<String, String>,
}

/// The class a piece of code is written in, for `self`, `static` and `parent`.
#[derive(Debug, Clone, Copy)]
pub struct ClassScope<'a> {
    pub name: &'a str,
    pub parent: Option<&'a str>,
}

impl NameContext {
    pub fn new(namespace: &str) -> Self {
        Self {
            namespace: namespace.trim_matches('\\').to_string(),
            class_imports: HashMap::new(),
        }
    }

    /// Records `use Full\Name [as Alias];`.
    pub fn import_class(&mut self, full_name: &str, alias: Option<&str>) {
        let full_name = full_name.trim_start_matches('\\').to_string();
        let alias = alias.unwrap_or_else(|| short_name(&full_name));
        self.class_imports
            .insert(alias.to_ascii_lowercase(), full_name);
    }

    /// The fully qualified name of an imported alias, if there is such an import.
    pub fn imported(&self, alias: &str) -> Option<&str> {
        self.class_imports
            .get(&alias.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// True when some `use` statement imports exactly this fully qualified class name.
    pub fn imports_class(&self, full_name: &str) -> bool {
        let full_name = full_name.trim_start_matches('\\');
        self.class_imports
            .values()
            .any(|imported| imported.eq_ignore_ascii_case(full_name))
    }

    /// Resolves a class name as written, outside any class (`self` and friends stay as written).
    pub fn resolve_class(&self, written: &str) -> String {
        if let Some(absolute) = written.strip_prefix('\\') {
            return absolute.to_string();
        }
        let (first, rest) = match written.split_once('\\') {
            Some((first, rest)) => (first, Some(rest)),
            None => (written, None),
        };
        if first.eq_ignore_ascii_case("namespace") {
            // `namespace\Foo` is relative to the current namespace.
            return self.prefixed(rest.unwrap_or_default());
        }
        if let Some(imported) = self.imported(first) {
            return match rest {
                Some(rest) => format!("{imported}\\{rest}"),
                None => imported.to_string(),
            };
        }
        self.prefixed(written)
    }

    /// Resolves a class name as written inside `scope`: `self`/`static` name the class,
    /// `parent` its parent (or stays `parent` when the class has none).
    pub fn resolve_class_in(&self, written: &str, scope: Option<ClassScope<'_>>) -> String {
        if let Some(scope) = scope {
            if written.eq_ignore_ascii_case("self") || written.eq_ignore_ascii_case("static") {
                return scope.name.to_string();
            }
            if written.eq_ignore_ascii_case("parent") {
                return scope.parent.unwrap_or("parent").to_string();
            }
        }
        self.resolve_class(written)
    }

    /// Resolves every class name inside a type as written (`?Foo`, `Foo|null`, `Foo[]`,
    /// `array<int, Foo>`), leaving built-in types lower-cased and untouched.
    pub fn resolve_type(&self, written: &str, scope: Option<ClassScope<'_>>) -> String {
        let mut resolved = String::with_capacity(written.len() + 16);
        let mut word = String::new();
        let flush = |word: &mut String, resolved: &mut String| {
            if word.is_empty() {
                return;
            }
            let is_class_keyword = ["self", "static", "parent"]
                .iter()
                .any(|keyword| keyword.eq_ignore_ascii_case(word));
            if is_class_keyword && scope.is_some() {
                resolved.push_str(&self.resolve_class_in(word, scope));
            } else if is_builtin_type(word) {
                resolved.push_str(&word.to_ascii_lowercase());
            } else if word.starts_with('$')
                || word.chars().next().is_some_and(|c| c.is_ascii_digit())
            {
                resolved.push_str(word);
            } else {
                resolved.push_str(&self.resolve_class_in(word, scope));
            }
            word.clear();
        };
        for character in written.chars() {
            if character.is_alphanumeric() || matches!(character, '_' | '\\' | '$') {
                word.push(character);
            } else {
                flush(&mut word, &mut resolved);
                if !character.is_whitespace() {
                    resolved.push(character);
                }
            }
        }
        flush(&mut word, &mut resolved);
        resolved
    }

    fn prefixed(&self, name: &str) -> String {
        if self.namespace.is_empty() {
            name.to_string()
        } else {
            format!("{}\\{name}", self.namespace)
        }
    }
}

/// The last segment of a qualified name: `Pyz\Zed\Foo` -> `Foo`.
pub fn short_name(full_name: &str) -> &str {
    full_name.rsplit('\\').next().unwrap_or(full_name)
}

/// The namespace part of a qualified name: `Pyz\Zed\Foo` -> `Pyz\Zed`.
pub fn namespace_of(full_name: &str) -> &str {
    full_name
        .rsplit_once('\\')
        .map_or("", |(namespace, _)| namespace)
}

/// Types that are keywords, not class names (native and common doc-block pseudo-types).
pub fn is_builtin_type(word: &str) -> bool {
    const BUILTIN: &[&str] = &[
        "int",
        "integer",
        "float",
        "double",
        "string",
        "bool",
        "boolean",
        "array",
        "callable",
        "iterable",
        "object",
        "mixed",
        "void",
        "null",
        "never",
        "false",
        "true",
        "resource",
        "scalar",
        "numeric",
        "list",
        "non-empty-array",
        "non-empty-list",
        "non-empty-string",
        "positive-int",
        "negative-int",
        "class-string",
        "array-key",
        "callable-string",
        "self",
        "static",
        "parent",
        "$this",
    ];
    BUILTIN
        .iter()
        .any(|builtin| builtin.eq_ignore_ascii_case(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> NameContext {
        let mut context = NameContext::new("Pyz\\Zed\\Product");
        context.import_class(
            "Spryker\\Zed\\Product\\ProductDependencyProvider",
            Some("SprykerProductDependencyProvider"),
        );
        context.import_class("\\Spryker\\Zed\\Kernel\\Container", None);
        context.import_class("Spryker\\Zed\\Kernel", Some("K"));
        context
    }

    #[test]
    fn resolves_imports_aliases_and_namespace() {
        let context = context();
        assert_eq!(
            context.resolve_class("SprykerProductDependencyProvider"),
            "Spryker\\Zed\\Product\\ProductDependencyProvider"
        );
        assert_eq!(
            context.resolve_class("container"),
            "Spryker\\Zed\\Kernel\\Container"
        );
        assert_eq!(
            context.resolve_class("K\\Container"),
            "Spryker\\Zed\\Kernel\\Container"
        );
        assert_eq!(
            context.resolve_class("Business\\Reader"),
            "Pyz\\Zed\\Product\\Business\\Reader"
        );
        assert_eq!(context.resolve_class("\\Exception"), "Exception");
        assert_eq!(
            context.resolve_class("namespace\\Foo"),
            "Pyz\\Zed\\Product\\Foo"
        );
        assert_eq!(NameContext::default().resolve_class("Foo"), "Foo");
    }

    #[test]
    fn resolves_self_static_parent_in_a_class() {
        let context = context();
        let scope = ClassScope {
            name: "Pyz\\Zed\\Product\\ProductDependencyProvider",
            parent: Some("Spryker\\Zed\\Product\\ProductDependencyProvider"),
        };
        assert_eq!(
            context.resolve_class_in("static", Some(scope)),
            "Pyz\\Zed\\Product\\ProductDependencyProvider"
        );
        assert_eq!(
            context.resolve_class_in("parent", Some(scope)),
            "Spryker\\Zed\\Product\\ProductDependencyProvider"
        );
        assert_eq!(
            context.resolve_class_in("self", None),
            "Pyz\\Zed\\Product\\self"
        );
    }

    #[test]
    fn resolves_class_names_inside_types() {
        let context = context();
        assert_eq!(
            context.resolve_type("?Container", None),
            "?Spryker\\Zed\\Kernel\\Container"
        );
        assert_eq!(
            context.resolve_type("Container[]|null", None),
            "Spryker\\Zed\\Kernel\\Container[]|null"
        );
        assert_eq!(
            context.resolve_type("array<int, Reader>", None),
            "array<int,Pyz\\Zed\\Product\\Reader>"
        );
        assert_eq!(context.resolve_type("String", None), "string");
    }

    #[test]
    fn names_split_into_namespace_and_short_name() {
        assert_eq!(short_name("Pyz\\Zed\\Foo"), "Foo");
        assert_eq!(namespace_of("Pyz\\Zed\\Foo"), "Pyz\\Zed");
        assert_eq!(namespace_of("Foo"), "");
    }
}
