//! Spryker dependency-provider rules (section A of the spec).
