//! `GET /healthz` (the process is up) and `GET /readyz` (every backend answers).

use async_trait::async_trait;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::Shared;

/// A backend the service needs (PostgreSQL, Redis).
#[async_trait]
pub trait Probe: Send + Sync {
    fn name(&self) -> &'static str;
    /// # Errors
    /// A short reason, without secrets.
    async fn check(&self) -> Result<(), String>;
}

pub(crate) fn router() -> Router<Shared> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

async fn readyz(axum::extract::State(state): axum::extract::State<Shared>) -> Response {
    let mut checks = serde_json::Map::new();
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
        checks.insert(probe.name().to_owned(), json!(status));
    }
    let code = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(json!({"status": if ready { "ok" } else { "unavailable" }, "checks": checks}))).into_response()
}
