//! Prometheus metrics at `/metrics`, in the text exposition format: runs by status, runs this
//! process drives now, webhook deliveries by verdict, uptime, and request latencies by route. Counts only: no names, no
//! secrets.

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use upkeep_store::{DeliveryStore, RunStore};

use crate::AppState;

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let store = &state.inner.store;
    let (Ok(runs), Ok(deliveries)) = (
        store.count_runs_by_status().await,
        store.count_deliveries_by_verdict().await,
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
