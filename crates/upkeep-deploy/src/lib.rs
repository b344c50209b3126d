//! Images and deployment: reproducible OCI images written to a local OCI image layout store (or
//! built from the project's Dockerfile with buildah), the local release target
//! (`releases/<id>`, an atomically switched `current`) and its copies on remote hosts over ssh,
//! rollback, the per-environment deployment
//! queue, the promotion of images that may be deployed, and the three deployment stages.

pub mod app_containers;
pub mod build;
pub mod checkout;
pub mod containers;
pub mod deployment;
pub mod dockerfile;
pub mod image;
pub mod layout;
pub mod promotion;
pub mod queue;
pub mod registry;
pub mod remote_hosts;
pub mod stage;
pub mod target;
#[cfg(feature = "testing")]
pub mod testing;
