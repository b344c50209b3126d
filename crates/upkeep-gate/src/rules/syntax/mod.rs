//! Files that cannot be read, and suppressions that do not apply.
pub mod parse_error;
pub mod unmatched_suppression;
