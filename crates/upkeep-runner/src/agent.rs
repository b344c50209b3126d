//! The remote agent's side of the agent protocol ([`crate::protocol`]): ask the server for a
//! job, do it with this crate's runner in a work directory of the agent's own (a clone and a
//! state directory per workspace, as the server keeps them), and meanwhile keep the lease, send
//! the run's record and its step logs at byte offsets, and stop the step when the run is
//! cancelled or the lease is lost. The server never reaches into the agent: the agent calls.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use upkeep_forge::git_auth::GitCredentials;
use upkeep_pipeline::executor::CancelToken;
use upkeep_pipeline::provided::ProvidedVariables;
use upkeep_pipeline::record::{RunKind, RunRecord, RunStatus};

use crate::checkout::{CheckoutError, GitPlaces, check_out_for_run, prepare_clone};
use crate::context::EnvironmentContext;
use crate::error::RunError;
use crate::observer::Quiet;
use crate::pipeline::{Decision, PipelineRequest, decide, run_pipeline};
use crate::protocol::{
    AGENT_API, JobFinished, JobOffer, LeaseAnswer, LeaseRequest, MAX_WAIT_SECONDS, OfferedWork,
};

/// How often the logs and the record go to the server while a job runs.
const SHIP_EVERY: Duration = Duration::from_millis(200);

#[derive(Debug, Clone)]
pub struct AgentSettings {
    /// The server's URL, e.g. `https://upkeep.agency.test`.
    pub server: String,
    /// The agent's token (`upa_…`).
    pub token: String,
    /// Where the agent keeps its clones, runs, images and targets.
    pub work_dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("cannot reach the server at {server}: {reason}")]
    Unreachable { server: String, reason: String },
    #[error("the server refused the agent ({status}): {message}")]
    Refused { status: u16, message: String },
    #[error("the server answered something that is not the agent protocol: {0}")]
    Protocol(String),
}

impl upkeep_hint::Hint for AgentError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Refused { status: 401, .. } => Some(
                "register the agent on the server (`POST /api/v1/agents`, by the server's admin) and give its token in UPKEEP_AGENT_TOKEN".to_string(),
            ),
            Self::Unreachable { .. } => Some(
                "check `--server`; the agent keeps trying while it runs, this was its first call".to_string(),
            ),
            _ => None,
        }
    }
}

/// What the agent tells whoever runs it (the binary prints it).
pub trait AgentEvents: Sync {
    fn say(&self, text: &str);
}

/// The agent's calls to the server.
#[derive(Clone)]
struct Client {
    http: ureq::Agent,
    base: String,
    token: String,
}

impl Client {
    fn new(settings: &AgentSettings) -> Self {
        let http: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(MAX_WAIT_SECONDS + 30)))
            .build()
            .into();
        Self {
            http,
            base: format!("{}{AGENT_API}", settings.server.trim_end_matches('/')),
            token: settings.token.clone(),
        }
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<(u16, String), AgentError> {
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", content_type)
            .body(body)
            .map_err(|error| AgentError::Protocol(error.to_string()))?;
        let mut response = self
            .http
            .run(request)
            .map_err(|error| AgentError::Unreachable {
                server: self.base.clone(),
                reason: error.to_string(),
            })?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        if status == 401 || status == 403 {
            let message = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|value| value["error"]["message"].as_str().map(str::to_string))
                .unwrap_or(text);
            return Err(AgentError::Refused { status, message });
        }
        Ok((status, text))
    }

    fn json(
        &self,
        method: &str,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<(u16, String), AgentError> {
        let body =
            serde_json::to_vec(body).map_err(|error| AgentError::Protocol(error.to_string()))?;
        self.send(method, path, "application/json", body)
    }

    fn lease(&self, wait_seconds: u64) -> Result<Option<JobOffer>, AgentError> {
        let (status, text) = self.json("POST", "/jobs/lease", &LeaseRequest { wait_seconds })?;
        if status != 200 {
            return Err(AgentError::Protocol(format!("{status}: {text}")));
        }
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|error| AgentError::Protocol(error.to_string()))?;
        if value.get("job").is_some_and(serde_json::Value::is_null) {
            return Ok(None);
        }
        serde_json::from_value(value)
            .map(Some)
            .map_err(|error| AgentError::Protocol(error.to_string()))
    }

    fn extend(&self, job: i64) -> Result<LeaseAnswer, AgentError> {
        let (status, text) = self.send(
            "POST",
            &format!("/jobs/{job}/lease"),
            "application/json",
            Vec::new(),
        )?;
        if status != 200 {
            return Err(AgentError::Protocol(format!("{status}: {text}")));
        }
        serde_json::from_str(&text).map_err(|error| AgentError::Protocol(error.to_string()))
    }
}

/// Serves jobs until `stop` is set (between jobs, or while waiting for one).
pub fn run_agent(
    settings: &AgentSettings,
    stop: &AtomicBool,
    events: &dyn AgentEvents,
) -> Result<(), AgentError> {
    let client = Client::new(settings);
    // The first call tells at once whether the server and the token are right.
    let mut first = true;
    while !stop.load(Ordering::SeqCst) {
        let offer = match client.lease(if first { 0 } else { MAX_WAIT_SECONDS }) {
            Ok(offer) => offer,
            Err(error) if first => return Err(error),
            Err(error @ AgentError::Refused { .. }) => return Err(error),
            Err(error) => {
                events.say(&format!(
                    "cannot ask for work: {error}; trying again in 5 s"
                ));
                std::thread::sleep(Duration::from_secs(5));
                continue;
            }
        };
        first = false;
        if let Some(offer) = offer {
            events.say(&format!(
                "job {}: {} of run {} ({}), by {}",
                offer.job,
                match offer.work {
                    OfferedWork::Pipeline => RunKind::Pipeline.pipeline_name(&offer.environment),
                    OfferedWork::Approve => "the approved deployment".to_string(),
                    OfferedWork::Reject => "the rejection".to_string(),
                },
                offer.run_id,
                offer.environment,
                offer.requested_by
            ));
            let status = do_job(&client, settings, &offer);
            events.say(&format!("job {}: the run {}", offer.job, status.describe()));
        }
    }
    Ok(())
}

/// Does one job and tells the server how it ended; returns how the run stands.
fn do_job(client: &Client, settings: &AgentSettings, offer: &JobOffer) -> RunStatus {
    let workspace = settings
        .work_dir
        .join("workspaces")
        .join(offer.workspace.to_string());
    let clone = workspace.join("repository");
    let state = workspace.join("state");
    let run_dir = state.join("runs").join(offer.run_id.as_str());
    let cancel = CancelToken::new();
    let shipper = Shipper::start(client.clone(), offer, run_dir.clone(), cancel.clone());
    let outcome = run_job(settings, offer, &clone, &state, &run_dir, &cancel);
    let status = match outcome {
        Ok(record) => record.status,
        Err(error) => {
            // A job that failed before the runner kept a record gets one that says why.
            let mut record = RunRecord::load(&run_dir).unwrap_or_else(|_| {
                RunRecord::new(offer.run_id.clone(), RunKind::Pipeline, &offer.environment)
            });
            record.status = RunStatus::Failed;
            record.finished_at = Some(Timestamp::now());
            record
                .notes
                .push(format!("the agent could not do the job: {error}"));
            let _ = record.save(&run_dir);
            RunStatus::Failed
        }
    };
    shipper.finish();
    let _ = client.json(
        "POST",
        &format!("/jobs/{}/finish", offer.job),
        &JobFinished { status },
    );
    status
}

#[derive(Debug, thiserror::Error)]
enum JobError {
    #[error(transparent)]
    Checkout(#[from] CheckoutError),
    #[error(transparent)]
    Run(Box<RunError>),
    #[error(transparent)]
    Git(#[from] upkeep_forge::git::GitError),
    #[error("variable `{0}` cannot be given to steps")]
    Variable(String),
    #[error("the run's record is not on this agent: {0}")]
    NoRecord(String),
}

impl From<RunError> for JobError {
    fn from(error: RunError) -> Self {
        Self::Run(Box::new(error))
    }
}

fn run_job(
    settings: &AgentSettings,
    offer: &JobOffer,
    clone: &Path,
    state: &Path,
    run_dir: &Path,
    cancel: &CancelToken,
) -> Result<RunRecord, JobError> {
    let repository = &offer.repository;
    let credentials = match (&repository.password, &repository.ssh_key) {
        (Some(password), _) => GitCredentials::Basic {
            username: repository.username.clone().unwrap_or_default(),
            password: password.clone(),
        },
        (None, Some(key)) => GitCredentials::SshKey {
            private_key: key.clone(),
        },
        (None, None) => GitCredentials::None,
    };
    let places = GitPlaces {
        scratch: settings.work_dir.join("scratch"),
        known_hosts: settings.work_dir.join("known_hosts"),
    };
    let git = prepare_clone(&repository.url, &credentials, clone, &places)?;
    let mut provided = ProvidedVariables::default();
    for variable in &offer.variables {
        provided
            .set(&variable.name, &variable.value, variable.secret)
            .map_err(|_| JobError::Variable(variable.name.clone()))?;
    }
    match offer.work {
        OfferedWork::Pipeline => {
            let (mut context, revision) = check_out_for_run(
                &git,
                clone,
                &offer.environment,
                offer.revision.as_deref(),
                state,
            )?;
            context.provided = provided;
            let request = PipelineRequest {
                kind: RunKind::Pipeline,
                revision,
                deploy_type: None,
                approve: false,
                overrides: crate::Overrides::default(),
                requested_by: Some(offer.requested_by.clone()),
            };
            Ok(run_pipeline(
                &context,
                &request,
                offer.run_id.clone(),
                cancel.clone(),
                &Quiet,
            )?)
        }
        OfferedWork::Approve | OfferedWork::Reject => {
            let record =
                RunRecord::load(run_dir).map_err(|error| JobError::NoRecord(error.to_string()))?;
            let commit = record
                .commit
                .ok_or_else(|| JobError::NoRecord("it names no commit".to_string()))?;
            git.checkout_detached(&commit)?;
            let mut context = EnvironmentContext::load(clone, &offer.environment, Some(state))?;
            context.provided = provided;
            let decision = if offer.work == OfferedWork::Approve {
                Decision::Approve
            } else {
                Decision::Reject
            };
            Ok(decide(
                &context,
                Some(&offer.run_id),
                decision,
                Some(offer.requested_by.clone()),
                cancel.clone(),
                &Quiet,
            )?)
        }
    }
}

/// Sends the run's record and logs as they grow, and keeps the lease, on a thread of its own
/// beside the runner.
struct Shipper {
    done: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Shipper {
    fn start(client: Client, offer: &JobOffer, run_dir: PathBuf, cancel: CancelToken) -> Self {
        let done = Arc::new(AtomicBool::new(false));
        let finished = Arc::clone(&done);
        let job = offer.job;
        // Often enough that a cancelled run stops within seconds, well within the lease.
        let extend_every = Duration::from_secs((offer.lease_seconds / 3).clamp(1, 2));
        let thread = std::thread::spawn(move || {
            let mut sent = Sent::default();
            let mut extended = Instant::now();
            loop {
                let last = finished.load(Ordering::SeqCst);
                sent.ship(&client, job, &run_dir);
                if last {
                    break;
                }
                if extended.elapsed() >= extend_every {
                    extended = Instant::now();
                    match client.extend(job) {
                        Ok(answer) if !answer.held || answer.cancel => cancel.cancel(),
                        _ => {}
                    }
                }
                std::thread::sleep(SHIP_EVERY);
            }
        });
        Self {
            done,
            thread: Some(thread),
        }
    }

    /// Sends what is left, then stops.
    fn finish(mut self) {
        self.done.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What the server has of the run: the record as last sent, and each log's length.
#[derive(Default)]
struct Sent {
    record: Option<Vec<u8>>,
    logs: BTreeMap<PathBuf, u64>,
}

impl Sent {
    fn ship(&mut self, client: &Client, job: i64, run_dir: &Path) {
        // Logs first: a record that names a finished step comes after the step's last lines.
        for log in log_files(&run_dir.join("logs")) {
            let Ok(relative) = log.strip_prefix(run_dir) else {
                continue;
            };
            let offset = self.logs.get(relative).copied().unwrap_or(0);
            // Only what the server does not have yet is read: a long log is not read again
            // every round.
            let Some(new) = read_from(&log, offset) else {
                continue;
            };
            let path = format!(
                "/jobs/{job}/logs?path={}&offset={offset}",
                url_encoded(&relative.display().to_string())
            );
            let sent = new.len() as u64;
            if let Ok((200, _)) = client.send("POST", &path, "application/octet-stream", new) {
                self.logs.insert(relative.to_path_buf(), offset + sent);
            }
        }
        if let Ok(record) = std::fs::read(run_dir.join("record.json"))
            && self.record.as_ref() != Some(&record)
            && let Ok((204, _)) = client.send(
                "PUT",
                &format!("/jobs/{job}/record"),
                "application/json",
                record.clone(),
            )
        {
            self.record = Some(record);
        }
    }
}

/// The bytes of `log` from `offset` on; `None` when there are none (or it cannot be read).
fn read_from(log: &Path, offset: u64) -> Option<Vec<u8>> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut file = std::fs::File::open(log).ok()?;
    file.seek(SeekFrom::Start(offset)).ok()?;
    let mut new = Vec::new();
    file.read_to_end(&mut new).ok()?;
    (!new.is_empty()).then_some(new)
}

/// Every file under `dir`, recursively.
fn log_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(log_files(&path));
        } else if path.extension().is_some_and(|extension| extension == "log") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// A query value, percent-encoded (log paths are plain, but never trusted to be).
fn url_encoded(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'/') {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}
