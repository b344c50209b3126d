//! Files that cannot be read.
pub mod parse_error;
