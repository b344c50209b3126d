//! The upgrader: plans the minor and patch updates of a Composer project (`plan`, `project`),
//! applies them with Composer group by group on a branch (`apply`, `composer_cli`), checks the
//! result with the quality gate, and opens the pull or merge request (`pull_request`). The
//! server runs the same on a schedule (`schedule`, `scheduled`). Majors are listed, never applied.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use upkeep_upgrade::settings::UpgradeSettings;
//! let project = std::path::Path::new(".");
//! let settings = UpgradeSettings::read(project)?;
//! let planned = upkeep_upgrade::project::plan_project(project, &settings, &Default::default())?;
//! println!("{} groups to update", planned.plan.groups.len());
//! # Ok(()) }
//! ```

pub mod apply;
pub mod composer_cli;
pub mod manifests;
pub mod plan;
pub mod project;
pub mod pull_request;
pub mod schedule;
pub mod scheduled;
pub mod settings;
