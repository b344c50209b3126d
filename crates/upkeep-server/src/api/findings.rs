//! The quality gate's findings of a run, grouped by rule, each with a source excerpt: its
//! line with up to two lines around it, as the runner kept it in the report; from the run's
//! checkout while it is there, for a report written without excerpts; else the finding's
//! `source_line` alone. Messages and excerpts are data, answered as JSON text: a page escapes
//! them.

use std::collections::HashMap;
use std::path::Path;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use upkeep_pipeline::record::RunRecord;
use upkeep_store::{Role, StoredRun, WorkspaceId};
use utoipa::ToSchema;

use super::PathParams;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::runs::{RunPath, find_run};
use crate::AppState;
use crate::auth::{Caller, require_role};

/// A run's gate findings, grouped by rule.
#[derive(Serialize, ToSchema)]
pub struct RunFindings {
    pub run_id: String,
    /// `passed`, `warned`, `blocked` or `skipped`.
    pub verdict: &'static str,
    /// `block`, `warn` or `off`: the environment's policy the verdict was reached under.
    pub policy: String,
    pub findings: usize,
    pub errors: usize,
    pub warnings: usize,
    /// Errors first, then by how many findings; each rule once.
    pub rules: Vec<RuleFindings>,
    /// What the gate said besides findings (a rule that could not check, and why).
    pub notices: Vec<GateNotice>,
}

#[derive(Serialize, ToSchema)]
pub struct RuleFindings {
    /// The rule's name, e.g. `single-plugin-argument`.
    pub rule: String,
    /// The id Spryker's tools print for the same check.
    pub spryker_id: Option<String>,
    /// `error` (fails the gate) or `warning`.
    pub severity: String,
    /// The upgradability guideline the rule enforces.
    pub guideline: Option<String>,
    pub count: usize,
    pub findings: Vec<FindingView>,
}

#[derive(Serialize, ToSchema)]
pub struct FindingView {
    pub message: String,
    /// Relative to the project root.
    pub file: String,
    pub line: u64,
    pub column: u64,
    pub end_line: Option<u64>,
    pub end_column: Option<u64>,
    /// The finding's line with up to two lines around it, when there is a source to show.
    pub excerpt: Option<Excerpt>,
}

#[derive(Serialize, ToSchema)]
pub struct Excerpt {
    /// The number of the first line of `lines`.
    pub first_line: u64,
    pub lines: Vec<String>,
    /// `report` (kept by the run), `checkout` (read from the run's checkout) or
    /// `source_line` (the finding's line alone).
    pub source: &'static str,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct GateNotice {
    pub rule: String,
    pub message: String,
}

/// The gate's JSON report as the runner writes it (`upkeep-gate`'s report with excerpts).
#[derive(Deserialize)]
struct Report {
    findings: Vec<ReportFinding>,
    #[serde(default)]
    notices: Vec<GateNotice>,
}

#[derive(Deserialize)]
struct ReportFinding {
    rule: String,
    #[serde(default)]
    spryker_id: Option<String>,
    severity: String,
    message: String,
    file: String,
    line: u64,
    column: u64,
    #[serde(default)]
    end_line: Option<u64>,
    #[serde(default)]
    end_column: Option<u64>,
    #[serde(default)]
    guideline: Option<String>,
    #[serde(default)]
    excerpt: Option<ReportExcerpt>,
    #[serde(default)]
    source_line: Option<String>,
}

#[derive(Deserialize)]
struct ReportExcerpt {
    first_line: u64,
    lines: Vec<String>,
}

/// The findings of a run's quality gate, grouped by rule, with source excerpts.
#[utoipa::path(
    get,
    path = "/workspaces/{workspace}/runs/{run}/findings",
    tag = "runs",
    params(RunPath),
    responses(
        (status = 200, description = "The gate's findings by rule, each with its excerpt", body = RunFindings),
        (status = 404, description = "`not_found`: no such run, or it has no gate report (the gate did not run, not yet, or the run's agent keeps it)", body = ErrorBody),
        (status = 500, description = "`internal`: the run's gate report is damaged", body = ErrorBody),
    ),
    extensions(("x-upkeep-role" = json!("member"))),
)]
pub async fn findings(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(RunPath { workspace, run }): PathParams<RunPath>,
) -> ApiResult<Json<RunFindings>> {
    let workspace = WorkspaceId(workspace);
    require_role(&state, &caller, workspace, Role::RegularUser).await?;
    let (stored, record) = find_run(&state, workspace, &run).await?;
    run_findings(&stored, record.as_ref()).await.map(Json)
}

/// The gate findings of a run the caller found already (the API, the run's page), by rule;
/// `not_found` when the run has no gate report.
pub async fn run_findings(
    stored: &StoredRun,
    record: Option<&RunRecord>,
) -> ApiResult<RunFindings> {
    let Some(gate) = record.and_then(|record| record.gate.clone()) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "the run has no gate report: its gate has not run",
        ));
    };
    let Some(report) = &gate.report else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            match &gate.error {
                Some(error) => {
                    format!("the run has no gate report: the gate could not run: {error}")
                }
                None => format!(
                    "the run has no gate report: its gate policy is `{}`",
                    gate.policy
                ),
            },
        ));
    };
    let run_dir = stored.run_dir.clone();
    let report = upkeep_runner::logs::confined(&run_dir, report)
        .map_err(|error| ApiError::internal(&error))?;
    let read = tokio::task::spawn_blocking(move || read_report(&run_dir, &report))
        .await
        .map_err(|error| ApiError::internal(&error))??;
    let (rules, notices) = read;
    Ok(RunFindings {
        run_id: stored.run_id.as_str().to_string(),
        verdict: gate.verdict.as_str(),
        policy: gate.policy.to_string(),
        findings: gate.findings,
        errors: gate.errors,
        warnings: gate.warnings,
        rules,
        notices,
    })
}

/// The report's findings grouped by rule, and its notices.
fn read_report(run_dir: &Path, path: &Path) -> ApiResult<(Vec<RuleFindings>, Vec<GateNotice>)> {
    let bytes = match fs_err::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "the run's gate report is not on this server (a remote agent that ran it keeps it)",
            ));
        }
        Err(error) => return Err(ApiError::internal(&error)),
    };
    let report: Report = serde_json::from_slice(&bytes).map_err(|error| {
        ApiError::internal(&format!("the run's gate report is damaged ({error})"))
    })?;
    let checkout = run_dir.join("checkout");
    let mut sources: HashMap<String, Option<Vec<String>>> = HashMap::new();
    let mut rules: Vec<RuleFindings> = Vec::new();
    for finding in report.findings {
        let excerpt = excerpt_of(&finding, &checkout, &mut sources);
        let view = FindingView {
            message: finding.message,
            file: finding.file,
            line: finding.line,
            column: finding.column,
            end_line: finding.end_line,
            end_column: finding.end_column,
            excerpt,
        };
        match rules.iter_mut().find(|group| group.rule == finding.rule) {
            Some(group) => {
                if finding.severity == "error" {
                    group.severity = finding.severity;
                }
                group.count += 1;
                group.findings.push(view);
            }
            None => rules.push(RuleFindings {
                rule: finding.rule,
                spryker_id: finding.spryker_id,
                severity: finding.severity,
                guideline: finding.guideline,
                count: 1,
                findings: vec![view],
            }),
        }
    }
    rules.sort_by(|left, right| {
        (right.severity == "error")
            .cmp(&(left.severity == "error"))
            .then(right.count.cmp(&left.count))
            .then_with(|| left.rule.cmp(&right.rule))
    });
    Ok((rules, report.notices))
}

/// The finding's excerpt: the report's, else from the checkout, else its source line.
fn excerpt_of(
    finding: &ReportFinding,
    checkout: &Path,
    sources: &mut HashMap<String, Option<Vec<String>>>,
) -> Option<Excerpt> {
    if let Some(excerpt) = &finding.excerpt {
        return Some(Excerpt {
            first_line: excerpt.first_line,
            lines: excerpt.lines.clone(),
            source: "report",
        });
    }
    let lines = sources
        .entry(finding.file.clone())
        .or_insert_with(|| upkeep_runner::jobs::gate::source_lines(checkout, &finding.file));
    if let Some((first_line, lines)) = lines
        .as_deref()
        .and_then(|lines| upkeep_runner::jobs::gate::excerpt(lines, finding.line))
    {
        return Some(Excerpt {
            first_line,
            lines: lines.to_vec(),
            source: "checkout",
        });
    }
    finding.source_line.as_ref().map(|line| Excerpt {
        first_line: finding.line,
        lines: vec![line.clone()],
        source: "source_line",
    })
}
