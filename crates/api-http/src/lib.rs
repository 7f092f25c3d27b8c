//! resetd's HTTP surface: two routers with two error dialects (Looker API 4.0 under
//! `/api/4.0`, Tencent CIAM at `/otp/send`, `/reset_user_password`, `/oauth2/…`, `/userinfo`,
//! `/change_user_password` and the OIDC discovery documents), the reset-link page,
//! and health endpoints. Handlers are thin: extract, call one use case, map the result.
//!
//! Two entry points, both over a built [`resetd_app::App`]:
//!
//! - [`ciam_router`]: only the CIAM routes, for another axum application to mount beside
//!   its own (see its example).
//! - [`router`]: the whole service as resetd serves it, configured by [`HttpState`]:
//!
//! ```
//! use std::time::Duration;
//!
//! use resetd_api_http::{router, HttpState, ProxyTrust};
//!
//! fn service(app: resetd_app::App) -> axum::Router {
//!     router(HttpState {
//!         app,
//!         probes: Vec::new(),
//!         docs_base: "https://docs.example.com/resetd".into(),
//!         request_timeout: Duration::from_secs(30),
//!         metrics: None,
//!         proxies: ProxyTrust::default(),
//!         backend_budget: Duration::from_secs(1),
//!         dev_outbox: None,
//!     })
//! }
//! ```
//!
//! Serve either with `into_make_service_with_connect_info::<SocketAddr>()`: the per-address
//! limits key on the client's address.

#![warn(missing_docs)]
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
    /// The use cases the handlers call.
    pub app: App,
    /// What `/readyz` checks; empty: it answers ready.
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
    let routes = Router::new()
        .merge(guard(Arc::new(guard::plain)).wrap(plain))
        .merge(guard(redeem::responder(docs_base.clone())).wrap(redeem::router()))
        .merge(guard(looker::responder(docs_base)).wrap(looker::router()))
        .merge(guard(ciam::responder()).wrap(ciam::router()))
        .with_state(Arc::new(state));
    hardened(routes, budget)
        .layer(axum::middleware::from_fn(telemetry::track))
        .layer(TraceLayer::new_for_http().make_span_with(span_for))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// What every resetd route needs around it: the body limit, the backend budget, and headers
/// that keep answers (which carry tokens, links and secrets) out of caches: no cache keeps
/// them (an answer that may be cached says so itself); no browser sniffs a type or sends a
/// Referer onward.
fn hardened(routes: Router, budget: Duration) -> Router {
    routes
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(axum::middleware::from_fn_with_state(budget, with_budget))
}

/// How [`ciam_router`] runs its routes.
#[derive(Debug, Clone)]
pub struct CiamRoutes {
    /// How long one request may take before it is answered `503 temporarily_unavailable`.
    pub request_timeout: Duration,
    /// How long the store calls of one request may take in all (see `resetd_app::budget`).
    pub backend_budget: Duration,
    /// Which peers may name the client; the per-address limits key on the client.
    pub proxies: ProxyTrust,
}

impl Default for CiamRoutes {
    /// resetd's own defaults: 30 s per request, 1 s of backend time, no trusted proxy.
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            backend_budget: Duration::from_secs(1),
            proxies: ProxyTrust::default(),
        }
    }
}

/// Tencent CIAM's routes alone (`/otp/send`, `/reset_user_password`, `/oauth2/token`,
/// `/oauth2/revoke`, `/userinfo`, `/change_user_password`, `/.well-known/openid-configuration`
/// and `/.well-known/jwks.json`), for another axum application to mount beside its own
/// routes, under its own prefix: set the app's `Settings::login.issuer` to the URL of that
/// prefix, and give every process the same signing key. The routes answer every
/// failure, panics and timeouts included, in the CIAM dialect, and carry the same limits and
/// headers as in resetd itself. Serve the host application with
/// `into_make_service_with_connect_info::<SocketAddr>()` so the per-address limits see the
/// client; without it they are skipped.
///
/// ```no_run
/// # async fn host(app: resetd_app::App) {
/// use axum::{routing::get, Router};
///
/// let shop = Router::new()
///     .route("/", get(|| async { "the shop" }))
///     .nest("/auth", resetd_api_http::ciam_router(app, resetd_api_http::CiamRoutes::default()));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await.unwrap();
/// let service = shop.into_make_service_with_connect_info::<std::net::SocketAddr>();
/// axum::serve(listener, service).await.unwrap();
/// # }
/// ```
pub fn ciam_router(app: App, options: CiamRoutes) -> Router {
    let budget = options.backend_budget;
    let state = HttpState {
        app,
        probes: Vec::new(),
        docs_base: String::new(),
        request_timeout: options.request_timeout,
        metrics: None,
        proxies: options.proxies,
        backend_budget: budget,
        dev_outbox: None,
    };
    let guard = Guard { responder: ciam::responder(), timeout: options.request_timeout };
    hardened(guard.wrap(ciam::router()).with_state(Arc::new(state)), budget)
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
