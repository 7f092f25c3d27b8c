//! Request metrics and the Prometheus endpoint.
//!
//! Every request counts in `http_requests_total{method, route, status}` and
//! `http_request_duration_seconds{method, route}`, labelled by the route template (never the
//! URI: reset links carry their token in the path). `GET /metrics` renders whatever recorder
//! the embedding binary installed ([`RenderMetrics`]); without one it is a `404`.
//!
//! Nothing here tells one account from another: the labels are what any caller already sees
//! in its own answers (route, status, CIAM error code). Deliveries are not counted, since a
//! count that moved after an `/otp/send` would say the account exists.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::Shared;

/// Renders the process's metrics in the Prometheus text format.
pub type RenderMetrics = Arc<dyn Fn() -> String + Send + Sync>;

/// Counts and times one request.
pub(crate) async fn track(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!("http_request_duration_seconds", "method" => method.clone(), "route" => route.clone())
        .record(started.elapsed());
    metrics::counter!("http_requests_total", "method" => method, "route" => route, "status" => status).increment(1);
    response
}

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "Operations",
    summary = "Prometheus metrics",
    responses(
        (status = 200, description = "The text exposition format", content_type = "text/plain; version=0.0.4", body = String),
        (status = 404, description = "No recorder installed"),
    )
)]
pub(crate) async fn render(State(state): State<Shared>) -> Response {
    match &state.metrics {
        Some(render) => {
            ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], render()).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
