//! Every request, observed: its latency goes into a histogram per route (for `/metrics`) and
//! a `tracing` event says what was asked and answered. Routes are the router's patterns
//! (`/api/v1/workspaces/{workspace}/runs/{run}`), never the paths people send: no ids, tokens
//! or names end up in metrics or logs, and the number of series stays small.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// Upper bounds of the latency buckets, in seconds: from a cached page to a slow clone.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    /// Requests at or under each bucket's bound (not cumulative here; summed when shown).
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        if let Some(bucket) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            self.counts[bucket] += 1;
        }
        self.count += 1;
        self.sum_seconds += seconds;
    }
}

/// Request latencies by (method, route, status class).
#[derive(Debug, Default)]
pub struct RequestStats {
    histograms: Mutex<BTreeMap<(String, String, &'static str), Histogram>>,
}

impl RequestStats {
    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let class = match status {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        self.histograms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((method.to_string(), route.to_string(), class))
            .or_default()
            .observe(seconds);
    }

    /// The histograms in Prometheus' text format.
    pub fn write_prometheus(&self, text: &mut String) {
        text.push_str(
            "# HELP upkeep_http_request_duration_seconds Time to answer a request (to the response head), by route.\n\
             # TYPE upkeep_http_request_duration_seconds histogram\n",
        );
        let histograms = self
            .histograms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for ((method, route, class), histogram) in histograms {
            let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{class}\"");
            let mut cumulative = 0;
            for (bound, count) in BUCKETS.iter().zip(histogram.counts) {
                cumulative += count;
                let _ = writeln!(
                    text,
                    "upkeep_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                text,
                "upkeep_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                histogram.count
            );
            let _ = writeln!(
                text,
                "upkeep_http_request_duration_seconds_sum{{{labels}}} {}",
                histogram.sum_seconds
            );
            let _ = writeln!(
                text,
                "upkeep_http_request_duration_seconds_count{{{labels}}} {}",
                histogram.count
            );
        }
    }
}

/// The middleware: times the request, records it, logs it.
pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_string();
    // A path no route matched is counted under one name, whatever was sent.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |path| path.as_str().to_string());
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    state
        .inner
        .requests
        .observe(&method, &route, status, elapsed.as_secs_f64());
    tracing::info!(
        target: "upkeep::http",
        method = %method,
        route = %route,
        status,
        millis = elapsed.as_secs_f64() * 1000.0,
        "request"
    );
    response
}
