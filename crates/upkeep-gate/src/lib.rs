//! `upkeep-gate` checks a Spryker project against the upgradability rules: a registry of
//! rules (one file each, with documentation and examples), the engine that runs them over a
//! [`upkeep_php`] index, Spryker's `tooling.yml` compatibility, in-code suppressions, the
//! report formats CIs read, baselines ([`baseline`]), reporting on changed files only
//! ([`changed`]) and applying fixes ([`fix`]).
//!
//! ```no_run
//! use upkeep_gate::{GateOptions, run};
//! let report = run(&GateOptions { root: "path/to/shop".into(), ..GateOptions::default() })?;
//! for finding in &report.findings {
//!     println!("{}: {} at {}:{}", finding.rule.name, finding.message, finding.location.file, finding.location.start.line);
//! }
//! # Ok::<(), upkeep_gate::GateError>(())
//! ```

pub mod advisories;
pub mod baseline;
pub mod changed;
pub mod compare_core;
pub mod config;
pub mod engine;
pub mod finding;
pub mod fix;
pub mod inputs;
pub mod manifests;
pub mod registry;
pub mod report;
pub mod repository;
pub mod rule;
pub mod rules;
pub mod settings;
pub mod suppress;
mod yaml;

pub use engine::{FileCounts, GateError, GateOptions, GateReport, run};
pub use finding::{Finding, Location, Severity};
pub use inputs::GateInputs;
pub use rule::{Category, Rule, RuleMeta};
