//! Composer's vocabulary for Upkeep: versions normalised and ordered the way Composer does it,
//! version constraints in Composer's syntax, and read models of `composer.json` and
//! `composer.lock`. Everything here is pure data and parsing except reading a document from a
//! path.
//!
//! ```
//! use upkeep_composer::{Constraint, Stability, Version};
//!
//! let constraint = Constraint::parse("^1.2 || ^2.0@beta")?;
//! assert!(constraint.matches(&Version::parse("v1.4.0")?));
//! assert!(!constraint.matches(&Version::parse("3.0.0")?));
//! assert_eq!(constraint.stability_flag(), Some(Stability::Beta));
//! assert_eq!(Version::parse("1.2")?.to_string(), "1.2.0.0");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod constraint;
mod document;
pub mod edit;
pub mod json_layout;
mod lock;
mod manifest;
pub mod repository;
mod version;

pub use constraint::{Constraint, ConstraintError, MAX_CONSTRAINT_BYTES};
pub use document::DocumentError;
pub use edit::is_platform_package;
pub use lock::{ComposerLock, LockedAlias, LockedDist, LockedPackage, LockedSource};
pub use manifest::{ComposerJson, RepositoryEntry};
pub use version::{MAX_VERSION_BYTES, Stability, UnknownStability, Version, VersionError};
