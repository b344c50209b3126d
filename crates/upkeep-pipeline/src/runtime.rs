//! The run of a [`Plan`] as a pure state machine: which phase comes next, what an outcome means
//! for the run, when it waits for approval and when it ends. It does no IO; the runner performs
//! each [`Action`] and reports how it went as an [`Event`]. The state is serializable, so a run
//! that waits for approval is kept in its record and goes on in another process.
//!
//! ```
//! use upkeep_pipeline::project_file::{DeployType, GatePolicy};
//! use upkeep_pipeline::record::RunStatus;
//! use upkeep_pipeline::runtime::{Action, Event, GateResult, Phase, Runtime};
//!
//! let mut run = Runtime::new(vec![
//!     Phase::Build,
//!     Phase::QualityGate { policy: GatePolicy::Block },
//!     Phase::Approval { required: true },
//!     Phase::Promotion,
//!     Phase::Deployment { deploy_type: DeployType::Normal },
//! ]);
//! assert_eq!(run.next_action(), Action::Build);
//! run.apply(Event::Built { status: RunStatus::Succeeded })?;
//! run.apply(Event::GateChecked(GateResult::Passed))?;
//! assert_eq!(run.next_action(), Action::AwaitApproval);
//! run.apply(Event::ApprovalPending)?;
//! assert_eq!(run.status(), RunStatus::WaitingForApproval);
//! // ... later, in another process, from the record:
//! run.apply(Event::Approved)?;
//! assert_eq!(run.next_action(), Action::Promote);
//! # Ok::<(), upkeep_pipeline::runtime::UnexpectedEvent>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::plan::{Plan, SubPipeline};
use crate::project_file::{DeployType, GatePolicy};
use crate::record::{GateVerdict, RunKind, RunStatus, SubPipelineKind};

/// One phase of a run, in plan order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "kebab-case")]
pub enum Phase {
    Build,
    QualityGate {
        policy: GatePolicy,
    },
    Approval {
        required: bool,
    },
    /// The image becomes deployable for its environment: only after its gate allowed it and,
    /// where required, its approval was given.
    Promotion,
    Deployment {
        deploy_type: DeployType,
    },
}

/// What the runner does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Check out the commit, run the build buildspec, write the image.
    Build,
    /// Check the built tree (with policy `off`: record that the gate was skipped).
    CheckGate {
        policy: GatePolicy,
    },
    /// Approval is required: take an approval given in advance, or keep the run waiting.
    AwaitApproval,
    /// Mark the image deployable for the environment.
    Promote,
    Deploy {
        deploy_type: DeployType,
    },
    /// The run waits for a decision; nothing to do in this process.
    Suspend,
    /// The run is over with this status; the sub-pipelines that did not run are `skipped`.
    Finish(RunStatus),
}

/// How the runner's action went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Built {
        status: RunStatus,
    },
    GateChecked(GateResult),
    ApprovalPending,
    Approved,
    Rejected,
    Promoted,
    Deployed {
        status: RunStatus,
    },
    /// Ctrl-C, SIGTERM, a cancel from the server: whatever runs stops.
    Cancelled,
}

/// The gate's own result, before the policy is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateResult {
    Passed,
    /// The gate found errors.
    Failed,
    /// The gate could not run.
    Error,
    /// Policy `off`: it did not run.
    Skipped,
}

/// An event that does not answer the action the run waits for: a bug in the runner, or a
/// decision on a run that is not waiting for one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{event:?} does not answer {action:?}")]
pub struct UnexpectedEvent {
    pub action: Action,
    pub event: Event,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Runtime {
    phases: Vec<Phase>,
    /// The phase being run or waited for; `phases.len()` when all ran.
    position: usize,
    state: State,
    /// The gate's verdict under the policy, once the gate phase is over.
    verdict: Option<GateVerdict>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum State {
    Running,
    WaitingForApproval,
    Finished(RunStatus),
}

impl Runtime {
    pub fn new(phases: Vec<Phase>) -> Self {
        Self {
            phases,
            position: 0,
            state: State::Running,
            verdict: None,
        }
    }

    /// The phases a run of `kind` goes through, as the plan orders them: the main pipeline has
    /// them all; a build alone ends with the promotion; a deployment alone deploys an image
    /// promoted earlier. A rollback has no phase of the plan.
    pub fn for_plan(plan: &Plan, kind: RunKind) -> Self {
        let mut phases = Vec::new();
        for sub_pipeline in &plan.sub_pipelines {
            match sub_pipeline {
                SubPipeline::Build { .. } => phases.push(Phase::Build),
                SubPipeline::QualityGate { policy } => {
                    phases.push(Phase::QualityGate { policy: *policy });
                }
                SubPipeline::Approval { required } => {
                    phases.push(Phase::Approval {
                        required: *required,
                    });
                    phases.push(Phase::Promotion);
                }
                SubPipeline::Deployment { deploy_type, .. } => {
                    phases.push(Phase::Deployment {
                        deploy_type: *deploy_type,
                    });
                }
            }
        }
        phases.retain(|phase| match kind {
            RunKind::Pipeline => true,
            RunKind::Build => !matches!(phase, Phase::Deployment { .. }),
            RunKind::Deployment => matches!(phase, Phase::Deployment { .. }),
            RunKind::Rollback => false,
        });
        Self::new(phases)
    }

    pub fn phases(&self) -> &[Phase] {
        &self.phases
    }

    /// What to do now.
    pub fn next_action(&self) -> Action {
        match self.state {
            State::Finished(status) => Action::Finish(status),
            State::WaitingForApproval => Action::Suspend,
            State::Running => match self.phases.get(self.position) {
                None => Action::Finish(RunStatus::Succeeded),
                Some(Phase::Build) => Action::Build,
                Some(Phase::QualityGate { policy }) => Action::CheckGate { policy: *policy },
                Some(Phase::Approval { .. }) => Action::AwaitApproval,
                Some(Phase::Promotion) => Action::Promote,
                Some(Phase::Deployment { deploy_type }) => Action::Deploy {
                    deploy_type: *deploy_type,
                },
            },
        }
    }

    /// The run's status as it stands.
    pub fn status(&self) -> RunStatus {
        match self.state {
            State::Running => RunStatus::Running,
            State::WaitingForApproval => RunStatus::WaitingForApproval,
            State::Finished(status) => status,
        }
    }

    /// The gate's verdict under the environment's policy, once the gate phase is over.
    pub fn gate_verdict(&self) -> Option<GateVerdict> {
        self.verdict
    }

    /// The sub-pipelines that have not run and will not: the ones to record as `skipped` when
    /// the run finishes early.
    pub fn not_run(&self) -> Vec<SubPipelineKind> {
        if !matches!(self.state, State::Finished(_)) {
            return Vec::new();
        }
        let start = self.position + 1;
        self.phases
            .iter()
            .skip(start)
            .filter_map(|phase| match phase {
                Phase::Build => Some(SubPipelineKind::Build),
                Phase::QualityGate { .. } => Some(SubPipelineKind::QualityGate),
                Phase::Deployment { .. } => Some(SubPipelineKind::Deployment),
                Phase::Approval { .. } | Phase::Promotion => None,
            })
            .collect()
    }

    /// Takes the outcome of the current action.
    pub fn apply(&mut self, event: Event) -> Result<(), UnexpectedEvent> {
        let action = self.next_action();
        let unexpected = || UnexpectedEvent { action, event };
        if event == Event::Cancelled {
            if let State::Finished(_) = self.state {
                return Err(unexpected());
            }
            self.finish(RunStatus::Cancelled);
            return Ok(());
        }
        match (action, event) {
            (Action::Build, Event::Built { status })
            | (Action::Deploy { .. }, Event::Deployed { status }) => {
                if status == RunStatus::Succeeded {
                    self.advance();
                } else {
                    self.finish(status);
                }
            }
            (Action::CheckGate { policy }, Event::GateChecked(result)) => {
                let verdict = verdict(policy, result).ok_or_else(unexpected)?;
                self.verdict = Some(verdict);
                if verdict.allows_promotion() {
                    self.advance();
                } else {
                    self.finish(RunStatus::Failed);
                }
            }
            (Action::AwaitApproval, Event::Approved) | (Action::Promote, Event::Promoted) => {
                self.advance();
            }
            (Action::AwaitApproval, Event::ApprovalPending) if self.approval_required() => {
                self.state = State::WaitingForApproval;
            }
            (Action::AwaitApproval | Action::Suspend, Event::Rejected) => {
                self.finish(RunStatus::Rejected);
            }
            (Action::Suspend, Event::Approved) => {
                self.state = State::Running;
                self.advance();
            }
            _ => return Err(unexpected()),
        }
        Ok(())
    }

    fn approval_required(&self) -> bool {
        matches!(
            self.phases.get(self.position),
            Some(Phase::Approval { required: true })
        )
    }

    /// Moves to the next phase, passing over an approval that is not required.
    fn advance(&mut self) {
        self.position += 1;
        while let Some(Phase::Approval { required: false }) = self.phases.get(self.position) {
            self.position += 1;
        }
        if self.position >= self.phases.len() {
            self.state = State::Finished(RunStatus::Succeeded);
        }
    }

    fn finish(&mut self, status: RunStatus) {
        self.state = State::Finished(status);
    }
}

/// The gate's result under the policy; `None` for a result the policy cannot produce (a gate
/// that ran although it is off, or one skipped although it is on).
fn verdict(policy: GatePolicy, result: GateResult) -> Option<GateVerdict> {
    Some(match (policy, result) {
        (GatePolicy::Off, GateResult::Skipped) => GateVerdict::Skipped,
        (GatePolicy::Off, _) | (_, GateResult::Skipped) => return None,
        (_, GateResult::Passed) => GateVerdict::Passed,
        (GatePolicy::Warn, GateResult::Failed | GateResult::Error) => GateVerdict::Warned,
        (GatePolicy::Block, GateResult::Failed | GateResult::Error) => GateVerdict::Blocked,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn main_pipeline(policy: GatePolicy, approval: bool) -> Runtime {
        Runtime::new(vec![
            Phase::Build,
            Phase::QualityGate { policy },
            Phase::Approval { required: approval },
            Phase::Promotion,
            Phase::Deployment {
                deploy_type: DeployType::Normal,
            },
        ])
    }

    fn built(run: &mut Runtime) {
        run.apply(Event::Built {
            status: RunStatus::Succeeded,
        })
        .expect("built");
    }

    #[test]
    fn a_clean_run_goes_through_every_phase_in_order() {
        let mut run = main_pipeline(GatePolicy::Block, false);
        assert_eq!(run.next_action(), Action::Build);
        built(&mut run);
        assert_eq!(
            run.next_action(),
            Action::CheckGate {
                policy: GatePolicy::Block
            }
        );
        run.apply(Event::GateChecked(GateResult::Passed))
            .expect("gate");
        // No approval required: straight to the promotion.
        assert_eq!(run.next_action(), Action::Promote);
        run.apply(Event::Promoted).expect("promoted");
        assert_eq!(
            run.next_action(),
            Action::Deploy {
                deploy_type: DeployType::Normal
            }
        );
        run.apply(Event::Deployed {
            status: RunStatus::Succeeded,
        })
        .expect("deployed");
        assert_eq!(run.next_action(), Action::Finish(RunStatus::Succeeded));
        assert_eq!(run.gate_verdict(), Some(GateVerdict::Passed));
        assert!(run.not_run().is_empty());
    }

    #[test]
    fn a_blocking_gate_ends_the_run_before_promotion() {
        let mut run = main_pipeline(GatePolicy::Block, false);
        built(&mut run);
        run.apply(Event::GateChecked(GateResult::Failed))
            .expect("gate");
        assert_eq!(run.next_action(), Action::Finish(RunStatus::Failed));
        assert_eq!(run.gate_verdict(), Some(GateVerdict::Blocked));
        assert_eq!(run.not_run(), [SubPipelineKind::Deployment]);
        // Nothing can promote it any more.
        assert!(run.apply(Event::Promoted).is_err());
        assert!(run.apply(Event::Approved).is_err());
    }

    #[test]
    fn a_gate_that_cannot_run_blocks_like_a_failed_one() {
        let mut run = main_pipeline(GatePolicy::Block, false);
        built(&mut run);
        run.apply(Event::GateChecked(GateResult::Error))
            .expect("gate");
        assert_eq!(run.status(), RunStatus::Failed);
    }

    #[test]
    fn a_warning_gate_goes_on_and_an_off_gate_is_skipped() {
        let mut run = main_pipeline(GatePolicy::Warn, false);
        built(&mut run);
        run.apply(Event::GateChecked(GateResult::Failed))
            .expect("gate");
        assert_eq!(run.gate_verdict(), Some(GateVerdict::Warned));
        assert_eq!(run.next_action(), Action::Promote);

        let mut run = main_pipeline(GatePolicy::Off, false);
        built(&mut run);
        assert!(run.apply(Event::GateChecked(GateResult::Passed)).is_err());
        run.apply(Event::GateChecked(GateResult::Skipped))
            .expect("skipped");
        assert_eq!(run.gate_verdict(), Some(GateVerdict::Skipped));
        assert_eq!(run.next_action(), Action::Promote);

        let mut run = main_pipeline(GatePolicy::Block, false);
        built(&mut run);
        assert!(run.apply(Event::GateChecked(GateResult::Skipped)).is_err());
    }

    #[test]
    fn a_failed_build_skips_the_rest() {
        let mut run = main_pipeline(GatePolicy::Block, true);
        run.apply(Event::Built {
            status: RunStatus::TimedOut,
        })
        .expect("built");
        assert_eq!(run.status(), RunStatus::TimedOut);
        assert_eq!(
            run.not_run(),
            [SubPipelineKind::QualityGate, SubPipelineKind::Deployment]
        );
    }

    #[test]
    fn approval_waits_and_goes_on_after_a_round_trip_through_json() {
        let mut run = main_pipeline(GatePolicy::Block, true);
        built(&mut run);
        run.apply(Event::GateChecked(GateResult::Passed))
            .expect("gate");
        assert_eq!(run.next_action(), Action::AwaitApproval);
        run.apply(Event::ApprovalPending).expect("pending");
        assert_eq!(run.status(), RunStatus::WaitingForApproval);
        assert_eq!(run.next_action(), Action::Suspend);
        assert!(run.apply(Event::Promoted).is_err());

        let json = serde_json::to_string(&run).expect("json");
        let mut later: Runtime = serde_json::from_str(&json).expect("back");
        assert_eq!(later, run);
        later.apply(Event::Approved).expect("approved");
        assert_eq!(later.next_action(), Action::Promote);
        later.apply(Event::Promoted).expect("promoted");
        assert!(matches!(later.next_action(), Action::Deploy { .. }));
        // A second approval of the same run is refused.
        assert!(later.apply(Event::Approved).is_err());
    }

    #[test]
    fn approval_given_in_advance_and_rejection() {
        let mut run = main_pipeline(GatePolicy::Warn, true);
        built(&mut run);
        run.apply(Event::GateChecked(GateResult::Passed))
            .expect("gate");
        run.apply(Event::Approved).expect("approved in advance");
        assert_eq!(run.next_action(), Action::Promote);

        let mut run = main_pipeline(GatePolicy::Warn, true);
        built(&mut run);
        run.apply(Event::GateChecked(GateResult::Passed))
            .expect("gate");
        run.apply(Event::ApprovalPending).expect("pending");
        run.apply(Event::Rejected).expect("rejected");
        assert_eq!(run.status(), RunStatus::Rejected);
        assert_eq!(run.not_run(), [SubPipelineKind::Deployment]);
        assert!(run.apply(Event::Approved).is_err());
    }

    #[test]
    fn an_unrequired_approval_cannot_be_left_pending() {
        let mut run = Runtime::new(vec![Phase::Approval { required: false }, Phase::Promotion]);
        // A leading approval that is not required is still the current phase until an event.
        assert!(run.apply(Event::ApprovalPending).is_err());
        run.apply(Event::Approved).expect("approved");
        assert_eq!(run.next_action(), Action::Promote);
    }

    #[test]
    fn cancel_ends_any_unfinished_phase() {
        let mut run = main_pipeline(GatePolicy::Block, true);
        built(&mut run);
        run.apply(Event::Cancelled).expect("cancel");
        assert_eq!(run.status(), RunStatus::Cancelled);
        assert!(run.apply(Event::Cancelled).is_err());
    }

    #[test]
    fn a_failed_deployment_fails_the_run() {
        let mut run = Runtime::new(vec![Phase::Deployment {
            deploy_type: DeployType::Destructive,
        }]);
        assert_eq!(
            run.next_action(),
            Action::Deploy {
                deploy_type: DeployType::Destructive
            }
        );
        run.apply(Event::Deployed {
            status: RunStatus::Failed,
        })
        .expect("deployed");
        assert_eq!(run.status(), RunStatus::Failed);
    }
}
