//! `upkeep-php` reads PHP projects: it parses every file with mago-syntax, resolves class
//! names (namespaces, imports, aliases, `self`/`static`/`parent`), and builds a
//! [`CodebaseIndex`] of the classes, interfaces, traits and enums of a Spryker project and
//! its core, classified by Spryker's layout (project or core, layer, module, role), plus
//! the transfer and schema XML definitions.
//!
//! ```no_run
//! let project = upkeep_php::project::load(std::path::Path::new("path/to/shop"))?;
//! for class in project.index.project_classes() {
//!     println!("{} ({:?})", class.name, class.layout.role);
//! }
//! # Ok::<(), upkeep_php::project::LoadError>(())
//! ```

pub mod cache;
pub mod docblock;
pub mod extract;
pub mod index;
pub mod infer;
pub mod model;
pub mod names;
pub mod parse;
pub mod project;
pub mod references;
pub mod source;
pub mod spryker;
pub mod xml;

pub use index::{CodebaseIndex, FileOrigin};
pub use model::{ClassId, ClassKind, ClassLike, FileId, MethodInfo, Visibility};
pub use project::{LoadOptions, LoadedProject, load, load_with};
