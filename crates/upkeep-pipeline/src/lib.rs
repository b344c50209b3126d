//! The pipeline model and runtime: the project's `upkeep.yml`, AWS `CodeBuild` style
//! `buildspec.yml` files, Spryker docker-sdk deploy files, the resolved plan of an environment,
//! the run's state machine over that plan (`runtime`), and the machinery that runs steps: the
//! process executor, the log store with byte offsets, secret masking and the typed run record.
//!
//! ```no_run
//! let project = upkeep_pipeline::project_file::ProjectFile::load(std::path::Path::new("upkeep.yml"))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod buildspec;
pub mod buildspec_run;
pub mod container;
pub mod deploy_file;
pub mod executor;
pub mod log_store;
pub mod mask;
pub mod plan;
pub mod project_file;
pub mod provided;
pub mod record;
pub mod runtime;
pub mod ssh;
#[cfg(feature = "testing")]
pub mod testing;
pub mod yaml;
