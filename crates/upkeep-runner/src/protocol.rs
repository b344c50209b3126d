//! What a remote agent and the server say to each other over HTTP (JSON), shared by both
//! sides so that they cannot drift apart. An agent asks for a job (`POST
//! /api/v1/agent/jobs/lease`, long poll), holds its lease by extending it while it works (the
//! answer also says when the run was cancelled), sends the run's record as it changes and its
//! step logs in batches at byte offsets, and says how the job ended.

use serde::{Deserialize, Serialize};
use upkeep_pipeline::record::{RunId, RunStatus};

/// Where the agent endpoints live, under the server's URL.
pub const AGENT_API: &str = "/api/v1/agent";

/// The prefix of agent tokens, so that a leaked one is recognised for what it is.
pub const AGENT_TOKEN_PREFIX: &str = "upa_";

/// How long the server holds a lease request open when no job waits.
pub const MAX_WAIT_SECONDS: u64 = 30;

/// An agent asking for work.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({ "wait_seconds": 0 })))]
#[serde(deny_unknown_fields)]
pub struct LeaseRequest {
    /// How long to wait for a job before answering "none" (at most [`MAX_WAIT_SECONDS`]).
    #[serde(default)]
    pub wait_seconds: u64,
}

/// What a job asks of the agent.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OfferedWork {
    /// Drive the queued run: build, gate, and on to approval or deployment.
    Pipeline,
    /// Deploy the image the waiting run built.
    Approve,
    /// End the waiting run as rejected.
    Reject,
}

/// The repository to clone, with what git needs to authenticate (sent over the server's
/// connection only; the agent keeps it in memory, as the server does).
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfferedRepository {
    pub url: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub ssh_key: Option<String>,
}

impl std::fmt::Debug for OfferedRepository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The credentials are never shown, only whether there are any.
        f.debug_struct("OfferedRepository")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("ssh_key", &self.ssh_key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A variable or secret of the workspace or environment, for every step of the run.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfferedVariable {
    pub name: String,
    pub value: String,
    pub secret: bool,
}

impl std::fmt::Debug for OfferedVariable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = if self.secret { "***" } else { &self.value };
        write!(f, "{}={value}", self.name)
    }
}

/// A job the agent got, with everything it needs to do it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobOffer {
    pub job: i64,
    pub work: OfferedWork,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub run_id: RunId,
    pub workspace: i64,
    pub environment: String,
    /// A branch, tag or commit; `None`: the environment's branch.
    pub revision: Option<String>,
    pub requested_by: String,
    pub repository: OfferedRepository,
    pub variables: Vec<OfferedVariable>,
    /// Extend the lease well within this many seconds, or lose the job to another agent.
    pub lease_seconds: u64,
}

/// The answer to a lease extension.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LeaseAnswer {
    /// `false`: the lease was lost (it expired and another agent took the job, or the job was
    /// ended elsewhere); the agent stops the work.
    pub held: bool,
    /// Someone cancelled the run: the agent stops its step and ends the run `cancelled`.
    pub cancel: bool,
}

/// How a job ended, as the agent says it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({ "status": "succeeded" })))]
pub struct JobFinished {
    /// The run's status at the end: `succeeded`, `failed`, `cancelled`, `waiting_for_approval`, ….
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub status: RunStatus,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let offer = JobOffer {
            job: 7,
            work: OfferedWork::Pipeline,
            run_id: "20261206T100000.000Z-00000001".parse().unwrap(),
            workspace: 1,
            environment: "staging".to_string(),
            revision: None,
            requested_by: "push to main".to_string(),
            repository: OfferedRepository {
                url: "https://git.example.test/shop.git".to_string(),
                username: Some("x-access-token".to_string()),
                password: Some("ghp_secret_token".to_string()),
                ssh_key: None,
            },
            variables: vec![OfferedVariable {
                name: "DB_PASSWORD".to_string(),
                value: "hunter2-long".to_string(),
                secret: true,
            }],
            lease_seconds: 60,
        };
        let shown = format!("{offer:?}");
        assert!(!shown.contains("ghp_secret_token") && !shown.contains("hunter2-long"));
        let json = serde_json::to_string(&offer).unwrap();
        assert_eq!(serde_json::from_str::<JobOffer>(&json).unwrap(), offer);
    }
}
