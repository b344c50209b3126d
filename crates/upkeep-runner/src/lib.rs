//! Runs Upkeep's jobs on this machine, for the command line now and for the server's embedded
//! executor and remote agents later: the environment context, run sessions (ids given by the
//! caller, no signal handlers installed), the jobs (build, gate, deploy, rollback), the drive of
//! a run over the plan's state machine, the guard rails of deployment, the run index, and the
//! reading of run logs (following a running step). Progress goes to a [`RunObserver`]; nothing
//! here writes to the terminal.
//!
//! ```no_run
//! use upkeep_runner::{EnvironmentContext, PipelineRequest, Quiet, new_run_id, run_pipeline};
//! use upkeep_pipeline::executor::CancelToken;
//! use upkeep_pipeline::record::RunKind;
//!
//! let context = EnvironmentContext::load(std::path::Path::new("."), "staging", None)?;
//! let request = PipelineRequest {
//!     kind: RunKind::Pipeline,
//!     revision: "HEAD".to_string(),
//!     deploy_type: None,
//!     approve: false,
//!     overrides: Default::default(),
//!     requested_by: None,
//! };
//! let record = run_pipeline(&context, &request, new_run_id(), CancelToken::new(), &Quiet)?;
//! println!("{}", record.status.describe());
//! # Ok::<(), upkeep_runner::RunError>(())
//! ```

pub mod agent;
pub mod checkout;
pub mod context;
pub mod error;
pub mod gate_inputs;
pub mod index;
pub mod jobs;
pub mod logs;
pub mod observer;
pub mod pipeline;
pub mod process;
pub mod protocol;
pub mod session;

pub use context::EnvironmentContext;
pub use error::{ErrorKind, Hint, RunError};
pub use index::RunIndex;
pub use jobs::deploy::Overrides;
pub use observer::{Quiet, RunObserver};
pub use pipeline::{
    Decision, DeployRequest, PipelineRequest, decide, run_deployment, run_pipeline, run_rollback,
};
pub use session::{RunSession, new_run_id};
