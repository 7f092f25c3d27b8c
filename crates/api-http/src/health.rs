//! `GET /healthz` (the process is up) and `GET /readyz` (every backend answers).

use std::collections::BTreeMap;

use async_trait::async_trait;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

use crate::Shared;

/// A backend the service needs (PostgreSQL, Redis).
#[async_trait]
pub trait Probe: Send + Sync {
    /// The backend's name in `/readyz` (`postgres`, `redis`).
    fn name(&self) -> &'static str;
    /// Whether the backend answers now; `/readyz` gives up on it after 2 s.
    ///
    /// # Errors
    /// A short reason, without secrets.
    async fn check(&self) -> Result<(), String>;
}

pub(crate) fn router() -> Router<Shared> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz))
}

/// The answer of the health endpoints.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Health {
    /// `ok`, or `unavailable`.
    status: String,
    /// `/readyz` only: each backend, `ok` or why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    checks: Option<BTreeMap<String, String>>,
}

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "Operations",
    summary = "Liveness: the process answers",
    responses((status = 200, description = "Up", body = Health))
)]
pub(crate) async fn healthz() -> Json<Health> {
    Json(Health { status: "ok".into(), checks: None })
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "Operations",
    summary = "Readiness: PostgreSQL and Redis answer within 2 s each",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "A backend does not answer; `checks` names it", body = Health),
    )
)]
pub(crate) async fn readyz(axum::extract::State(state): axum::extract::State<Shared>) -> Response {
    let mut checks = BTreeMap::new();
    let mut ready = true;
    for probe in &state.probes {
        let result = tokio::time::timeout(std::time::Duration::from_secs(2), probe.check()).await;
        let status = match result {
            Ok(Ok(())) => "ok".to_owned(),
            Ok(Err(reason)) => {
                ready = false;
                reason
            }
            Err(_) => {
                ready = false;
                "timed out".to_owned()
            }
        };
        checks.insert(probe.name().to_owned(), status);
    }
    let code = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let status = if ready { "ok" } else { "unavailable" };
    (code, Json(Health { status: status.into(), checks: Some(checks) })).into_response()
}
