//! The rules, one file each, grouped by category.
pub mod dependency_provider;
pub mod packages;
pub mod syntax;
