//! Package, platform and advisory rules (section B of the spec).
