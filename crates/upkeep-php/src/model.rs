//! The facts the index holds about declarations: classes and their members.
//! Everything is owned, so the index outlives the syntax trees it was read from.

use crate::docblock::DocBlock;
use crate::source::TextSpan;
use crate::spryker::SprykerLayout;

/// Position of a file in the index's file list. Ids follow the sorted file list, so they move
/// when files come and go: facts read from the cache get their file's new id in
/// `cache::relocate`, which must learn about every new field that holds one.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct FileId(pub u32);

/// Position of a class-like in the index's class list.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct ClassId(pub u32);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ClassKind {
    Class,
    Interface,
    Trait,
    Enum,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Visibility {
    Public,
    Protected,
    Private,
}

/// A class, interface, trait or enum.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ClassLike {
    /// Fully qualified name without the leading backslash.
    pub name: String,
    pub kind: ClassKind,
    pub is_abstract: bool,
    pub is_final: bool,
    pub file: FileId,
    pub span: TextSpan,
    pub name_span: TextSpan,
    /// Parent class (for classes, at most one) or parent interfaces (for interfaces).
    pub extends: Vec<String>,
    pub implements: Vec<String>,
    pub traits: Vec<String>,
    pub methods: Vec<MethodInfo>,
    pub constants: Vec<ConstantInfo>,
    pub properties: Vec<PropertyInfo>,
    pub doc: Option<DocBlock>,
    /// `@method` tags of the class doc block, with resolved return types.
    pub doc_methods: Vec<DocMethodInfo>,
    pub layout: SprykerLayout,
}

impl ClassLike {
    pub fn short_name(&self) -> &str {
        crate::names::short_name(&self.name)
    }

    pub fn parent(&self) -> Option<&str> {
        match self.kind {
            ClassKind::Class => self.extends.first().map(String::as_str),
            _ => None,
        }
    }

    pub fn method(&self, name: &str) -> Option<&MethodInfo> {
        self.methods
            .iter()
            .find(|method| method.name.eq_ignore_ascii_case(name))
    }

    pub fn constant(&self, name: &str) -> Option<&ConstantInfo> {
        self.constants.iter().find(|constant| constant.name == name)
    }

    pub fn deprecation(&self) -> Option<&str> {
        self.doc.as_ref().and_then(DocBlock::deprecation)
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MethodInfo {
    pub name: String,
    pub visibility: Visibility,
    pub is_static: bool,
    pub is_abstract: bool,
    pub parameters: Vec<ParameterInfo>,
    /// Resolved return type as declared (`?Pyz\Foo`, `array`), if any.
    pub return_type: Option<String>,
    pub doc: Option<DocBlock>,
    pub name_span: TextSpan,
    pub span: TextSpan,
    /// The `{ ... }` of a concrete method; `None` for abstract and interface methods.
    pub body_span: Option<TextSpan>,
}

impl MethodInfo {
    pub fn deprecation(&self) -> Option<&str> {
        self.doc.as_ref().and_then(DocBlock::deprecation)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ParameterInfo {
    pub name: String,
    /// Resolved type as declared, if any.
    pub type_hint: Option<String>,
    /// Set for constructor-promoted parameters (`public function __construct(private Foo $foo)`).
    pub promoted: Option<Visibility>,
    pub has_default: bool,
    pub is_variadic: bool,
    pub by_reference: bool,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ConstantInfo {
    pub name: String,
    pub visibility: Visibility,
    pub name_span: TextSpan,
    pub doc: Option<DocBlock>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PropertyInfo {
    pub name: String,
    pub visibility: Visibility,
    pub is_static: bool,
    /// Resolved declared type, else the resolved `@var` type.
    pub type_hint: Option<String>,
    pub name_span: TextSpan,
}

/// A `@method` doc tag with its return type resolved against the file's imports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DocMethodInfo {
    pub name: String,
    pub is_static: bool,
    pub return_type: Option<String>,
}
