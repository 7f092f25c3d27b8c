//! The answers a handler cannot give itself: when it panicked, or ran past the request
//! deadline. Each router hands in its own [`Responder`], so a Looker SDK still reads
//! `{"message", "documentation_url"}`, a CIAM client `{"error", ...}`, and a browser on the
//! reset page a page; this module knows no dialect.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use futures::FutureExt as _;
use serde_json::json;

/// Why the handler gave no answer of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    Panicked,
    TimedOut,
}

/// What was asked, for a responder that answers in more than one shape (the reset page:
/// HTML to a browser, JSON to a program).
#[derive(Debug)]
pub(crate) struct Asked {
    pub method: Method,
    pub headers: HeaderMap,
}

/// A router's answer to a [`Failure`].
pub(crate) type Responder = Arc<dyn Fn(&Asked, Failure) -> Response + Send + Sync>;

/// Health, metrics and the OpenAPI document: `{"error"}`.
pub(crate) fn plain(_: &Asked, failure: Failure) -> Response {
    let (status, error) = match failure {
        Failure::Panicked => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
        Failure::TimedOut => (StatusCode::SERVICE_UNAVAILABLE, "timeout"),
    };
    (status, Json(json!({"error": error}))).into_response()
}

/// A router's responder and the request deadline.
#[derive(Clone)]
pub(crate) struct Guard {
    pub responder: Responder,
    pub timeout: Duration,
}

impl Guard {
    /// Wraps every route of `router` so that a panic or the deadline is answered by the
    /// router's responder.
    pub fn wrap<S: Clone + Send + Sync + 'static>(self, router: Router<S>) -> Router<S> {
        router.layer(middleware::from_fn_with_state(self, guarded))
    }
}

async fn guarded(State(guard): State<Guard>, req: Request, next: Next) -> Response {
    let asked = Asked { method: req.method().clone(), headers: req.headers().clone() };
    let run = std::panic::AssertUnwindSafe(next.run(req)).catch_unwind();
    match tokio::time::timeout(guard.timeout, run).await {
        Ok(Ok(response)) => response,
        Ok(Err(_)) => {
            tracing::error!("a request handler panicked");
            (guard.responder)(&asked, Failure::Panicked)
        }
        Err(_) => {
            tracing::warn!(timeout = ?guard.timeout, "request timed out");
            (guard.responder)(&asked, Failure::TimedOut)
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt as _;

    use super::*;

    async fn call(responder: Responder, path: &str) -> (StatusCode, serde_json::Value) {
        let router: Router = Router::new()
            .route("/slow", get(|| async { tokio::time::sleep(Duration::from_secs(60)).await }))
            .route("/panics", get(|| async { panic!("boom") as &str }));
        let guard = Guard { responder, timeout: Duration::from_millis(50) };
        let response =
            guard.wrap(router).oneshot(axum::http::Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn looker_answers_a_timeout_and_a_panic_in_its_dialect() {
        let (status, body) = call(crate::looker::responder("https://docs.example/api".into()), "/slow").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            body,
            json!({"message": "The request took too long. Please try again later.",
                   "documentation_url": "https://docs.example/api/errors/503"})
        );
        let (status, body) = call(crate::looker::responder("https://docs.example/api".into()), "/panics").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            body,
            json!({"message": "Internal server error", "documentation_url": "https://docs.example/api/errors/500"})
        );
    }

    #[tokio::test]
    async fn ciam_answers_a_timeout_and_a_panic_in_its_dialect() {
        let (status, body) = call(crate::ciam::responder(), "/slow").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            body,
            json!({"error": "temporarily_unavailable",
                   "error_description": "The request took too long. Please try again later."})
        );
        let (status, body) = call(crate::ciam::responder(), "/panics").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body, json!({"error": "server_error", "error_description": "Internal server error."}));
    }

    #[tokio::test]
    async fn the_reset_page_answers_a_program_in_json_and_a_browser_with_a_page() {
        let router: Router = Router::new()
            .route("/slow", axum::routing::any(|| async { tokio::time::sleep(Duration::from_secs(60)).await }));
        let guard = Guard {
            responder: crate::redeem::responder("https://docs.example/api".into()),
            timeout: Duration::from_millis(50),
        };
        let ask = |method: &str, content_type: &str, language: &str| {
            axum::http::Request::builder()
                .method(method)
                .uri("/slow")
                .header("content-type", content_type)
                .header("accept-language", language)
                .body(Body::empty())
                .unwrap()
        };
        let json = guard.clone().wrap(router.clone()).oneshot(ask("POST", "application/json", "es")).await.unwrap();
        assert_eq!(json.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body: serde_json::Value =
            serde_json::from_slice(&axum::body::to_bytes(json.into_body(), 1 << 16).await.unwrap()).unwrap();
        assert_eq!(body["documentation_url"], "https://docs.example/api/errors/503", "the Looker shape: {body}");
        for (method, content_type) in [("POST", "application/x-www-form-urlencoded"), ("GET", "")] {
            let page = guard.clone().wrap(router.clone()).oneshot(ask(method, content_type, "es")).await.unwrap();
            assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
            let html =
                String::from_utf8(axum::body::to_bytes(page.into_body(), 1 << 16).await.unwrap().to_vec()).unwrap();
            assert!(html.contains("<html lang=\"es\">") && html.contains("Servicio no disponible"), "{method}: {html}");
        }
    }

    #[tokio::test]
    async fn the_other_routes_answer_plainly() {
        assert_eq!(
            call(Arc::new(plain), "/slow").await,
            (StatusCode::SERVICE_UNAVAILABLE, json!({"error": "timeout"}))
        );
        assert_eq!(
            call(Arc::new(plain), "/panics").await,
            (StatusCode::INTERNAL_SERVER_ERROR, json!({"error": "server_error"}))
        );
    }
}
