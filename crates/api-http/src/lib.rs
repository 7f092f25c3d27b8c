//! resetd's HTTP surface: two routers with two error dialects (Looker API 4.0 under
//! `/api/4.0`, Tencent CIAM at `/otp/send` and `/reset_user_password`), the reset-link page,
//! and health endpoints. Handlers are thin: extract, call one use case, map the result.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod body;
mod ciam;
mod client_ip;
mod dev;
#[doc(hidden)]
pub mod fuzzing;
mod guard;
mod health;
mod looker;
mod openapi;
mod redeem;
mod telemetry;

use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderValue};
use axum::Router;
use resetd_app::App;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use client_ip::ProxyTrust;
pub use dev::{DevMessage, DevOutbox};
use guard::Guard;
pub use health::Probe;
pub use telemetry::RenderMetrics;

/// Largest request body accepted, in bytes.
pub const BODY_LIMIT: usize = 64 * 1024;

/// What the handlers share.
#[derive(Clone)]
pub struct HttpState {
    pub app: App,
    pub probes: Vec<Arc<dyn Probe>>,
    /// Base of `documentation_url` in Looker errors (must not look like Looker's own).
    pub docs_base: String,
    /// How long one request may take before it is answered with a timeout error in its
    /// router's dialect (Looker and CIAM: 503).
    pub request_timeout: Duration,
    /// What `GET /metrics` serves; `None`: it is a 404.
    pub metrics: Option<RenderMetrics>,
    /// Which peers may name the client (`X-Forwarded-For`, `Forwarded`).
    pub proxies: ProxyTrust,
    /// How long the store calls of one request may take in all.
    pub backend_budget: Duration,
    /// The dev profile's kept messages (`/dev/outbox`); `None`: the routes do not exist.
    pub dev_outbox: Option<Arc<dyn DevOutbox>>,
}

impl std::fmt::Debug for HttpState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpState")
            .field("docs_base", &self.docs_base)
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

/// The whole service. Each router answers panics and timeouts in its own dialect.
pub fn router(state: HttpState) -> Router {
    let request_id = axum::http::HeaderName::from_static("x-request-id");
    let docs_base: Arc<str> = state.docs_base.as_str().into();
    let budget = state.backend_budget;
    let guard = |responder| Guard { responder, timeout: state.request_timeout };
    let mut plain = Router::new()
        .merge(health::router())
        .route("/metrics", axum::routing::get(telemetry::render))
        .route("/openapi.json", axum::routing::get(openapi::document));
    if state.dev_outbox.is_some() {
        plain = plain.merge(dev::router());
    }
    Router::new()
        .merge(guard(Arc::new(guard::plain)).wrap(plain))
        .merge(guard(redeem::responder(docs_base.clone())).wrap(redeem::router()))
        .merge(guard(looker::responder(docs_base)).wrap(looker::router()))
        .merge(guard(ciam::responder()).wrap(ciam::router()))
        .with_state(Arc::new(state))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        // Answers carry tokens, links and secrets: no cache keeps them (an answer that may be
        // cached says so itself); no browser sniffs a type or sends a Referer onward.
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(axum::middleware::from_fn_with_state(budget, with_budget))
        .layer(axum::middleware::from_fn(telemetry::track))
        .layer(TraceLayer::new_for_http().make_span_with(span_for))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

type Shared = Arc<HttpState>;

/// Runs the request within its backend budget (see `resetd_app::budget`).
async fn with_budget(
    axum::extract::State(budget): axum::extract::State<Duration>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    resetd_app::budget::scope(budget, next.run(req)).await
}

/// The span of one request. It names the route template, never the URI: reset links carry
/// their token in the path, and Looker's login accepts its secret in the query.
fn span_for(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let route =
        req.extensions().get::<axum::extract::MatchedPath>().map_or("unmatched", axum::extract::MatchedPath::as_str);
    let request_id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
    tracing::info_span!("request", method = %req.method(), route, request_id, client_ip = tracing::field::Empty)
}
