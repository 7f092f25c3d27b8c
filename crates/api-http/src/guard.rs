//! The answers a handler cannot give itself: when it panicked, or ran past the request
//! deadline. Each router gets them in its own dialect, so a Looker SDK still reads
//! `{"message", "documentation_url"}` and a CIAM client still reads `{"error", ...}`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;

use crate::{ciam, looker};

/// The error dialect of a router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// Looker API 4.0: `{"message", "documentation_url"}`.
    Looker,
    /// Tencent CIAM: `{"error", "error_description"}`.
    Ciam,
    /// Health checks and the reset page: `{"error"}`.
    Plain,
}

/// Why the handler gave no answer of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    Panicked,
    TimedOut,
}

impl Dialect {
    fn answer(self, docs_base: &str, failure: Failure) -> Response {
        match self {
            Self::Looker => looker::failure(docs_base, failure),
            Self::Ciam => ciam::failure(failure),
            Self::Plain => {
                let (status, error) = match failure {
                    Failure::Panicked => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
                    Failure::TimedOut => (StatusCode::SERVICE_UNAVAILABLE, "timeout"),
                };
                (status, Json(json!({"error": error}))).into_response()
            }
        }
    }
}

/// What a guard needs to answer: the dialect, its documentation base and the deadline.
#[derive(Debug, Clone)]
pub(crate) struct Guard {
    pub dialect: Dialect,
    pub docs_base: Arc<str>,
    pub timeout: Duration,
}

impl Guard {
    /// Wraps every route of `router` so that a panic or the deadline is answered in the
    /// guard's dialect.
    pub fn wrap<S: Clone + Send + Sync + 'static>(self, router: Router<S>) -> Router<S> {
        let on_panic = {
            let guard = self.clone();
            move |_: Box<dyn std::any::Any + Send + 'static>| {
                tracing::error!("a request handler panicked");
                guard.dialect.answer(&guard.docs_base, Failure::Panicked)
            }
        };
        router.layer(CatchPanicLayer::custom(on_panic)).layer(middleware::from_fn_with_state(self, deadline))
    }
}

async fn deadline(State(guard): State<Guard>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(guard.timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(timeout = ?guard.timeout, "request timed out");
            guard.dialect.answer(&guard.docs_base, Failure::TimedOut)
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt as _;

    use super::*;

    async fn call(dialect: Dialect, path: &str) -> (StatusCode, serde_json::Value) {
        let router: Router = Router::new()
            .route("/slow", get(|| async { tokio::time::sleep(Duration::from_secs(60)).await }))
            .route("/panics", get(|| async { panic!("boom") as &str }));
        let guard = Guard { dialect, docs_base: "https://docs.example/api".into(), timeout: Duration::from_millis(50) };
        let response =
            guard.wrap(router).oneshot(axum::http::Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn looker_answers_a_timeout_and_a_panic_in_its_dialect() {
        let (status, body) = call(Dialect::Looker, "/slow").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            body,
            json!({"message": "The request took too long. Please try again later.",
                   "documentation_url": "https://docs.example/api/errors/503"})
        );
        let (status, body) = call(Dialect::Looker, "/panics").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            body,
            json!({"message": "Internal server error", "documentation_url": "https://docs.example/api/errors/500"})
        );
    }

    #[tokio::test]
    async fn ciam_answers_a_timeout_and_a_panic_in_its_dialect() {
        let (status, body) = call(Dialect::Ciam, "/slow").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            body,
            json!({"error": "temporarily_unavailable",
                   "error_description": "The request took too long. Please try again later."})
        );
        let (status, body) = call(Dialect::Ciam, "/panics").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body, json!({"error": "server_error", "error_description": "Internal server error."}));
    }

    #[tokio::test]
    async fn the_other_routes_answer_plainly() {
        assert_eq!(call(Dialect::Plain, "/slow").await, (StatusCode::SERVICE_UNAVAILABLE, json!({"error": "timeout"})));
        assert_eq!(
            call(Dialect::Plain, "/panics").await,
            (StatusCode::INTERNAL_SERVER_ERROR, json!({"error": "server_error"}))
        );
    }
}
