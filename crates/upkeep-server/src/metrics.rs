//! Prometheus metrics at `/metrics`, in the text exposition format: runs by status, runs this
//! process drives now, jobs waiting for an agent, webhook deliveries by verdict, uptime, and
//! request latencies by route. Counts only: no names, no secrets.

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use upkeep_store::{DeliveryStore, JobStore, RunStore};

use crate::AppState;

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let store = &state.inner.store;
    let (Ok(runs), Ok(deliveries), Ok(queued_jobs)) = (
        store.count_runs_by_status().await,
        store.count_deliveries_by_verdict().await,
        store.count_queued_jobs().await,
    ) else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            "# the database does not answer\n".to_string(),
        );
    };
    let mut text = String::new();
    text.push_str("# HELP upkeep_runs Runs by status.\n# TYPE upkeep_runs gauge\n");
    for (status, count) in runs {
        let _ = writeln!(
            text,
            "upkeep_runs{{status=\"{}\"}} {count}",
            status.as_str()
        );
    }
    text.push_str(
        "# HELP upkeep_running_runs Runs this server process drives now.\n# TYPE upkeep_running_runs gauge\n",
    );
    let _ = writeln!(
        text,
        "upkeep_running_runs {}",
        state.inner.executor.running_count()
    );
    // What to scale remote agents by: work that waits for one (none with the embedded executor).
    text.push_str(
        "# HELP upkeep_agent_jobs_queued Jobs waiting for an agent to take them.\n# TYPE upkeep_agent_jobs_queued gauge\n",
    );
    let _ = writeln!(text, "upkeep_agent_jobs_queued {queued_jobs}");
    text.push_str(
        "# HELP upkeep_webhook_deliveries_total Webhook deliveries by verdict.\n# TYPE upkeep_webhook_deliveries_total counter\n",
    );
    for (verdict, count) in deliveries {
        let verdict: String = verdict
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let _ = writeln!(
            text,
            "upkeep_webhook_deliveries_total{{verdict=\"{verdict}\"}} {count}"
        );
    }
    text.push_str("# HELP upkeep_uptime_seconds Seconds since the server started.\n# TYPE upkeep_uptime_seconds gauge\n");
    let _ = writeln!(
        text,
        "upkeep_uptime_seconds {}",
        state.inner.started.elapsed().as_secs()
    );
    state.inner.requests.write_prometheus(&mut text);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        text,
    )
}
