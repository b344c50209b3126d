//! Images and deployment: reproducible OCI images written to a local OCI image layout store,
//! the local release target (`releases/<id>`, an atomically switched `current`), rollback, the
//! per-environment deployment queue, and the three deployment stages.

pub mod build;
pub mod checkout;
pub mod deployment;
pub mod image;
pub mod layout;
pub mod queue;
pub mod stage;
pub mod target;
