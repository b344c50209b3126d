//! The rules, one file each, grouped by category.
pub mod core_compatibility;
pub mod dependency_provider;
pub mod not_unique;
pub mod packages;
pub mod private_api;
pub mod syntax;
