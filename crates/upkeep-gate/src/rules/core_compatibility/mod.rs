//! Rules that compare project code with core and find what breaks, or silently stops
//! working, when core changes (section D of the spec, and `dead-code`).

pub mod core_signature_mismatch;
pub mod dead_code;
pub mod deprecated_core_usage;
