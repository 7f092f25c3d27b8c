//! The shop's own routes. Errors are `{"error": "<code>"}`; the codes are the shop's, not
//! resetd's.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use resetd_domain::password::{Password, PasswordHash};
use resetd_domain::policy::{PasswordPolicy, PolicyContext, PolicyViolation};
use resetd_domain::user::{Email, PhoneNumber};
use resetd_ports::clock::Clock;
use resetd_ports::hasher::{HasherError, PasswordHasher};
use resetd_ports::rate_limit::{RateDecision, RateLimiter};
use resetd_ports::StoreError;
use serde::Deserialize;
use serde_json::json;

use crate::store::{NewCustomer, ShopStore, SignUpError};

/// How long the store calls of one shop request may take in all (resetd's CIAM routes have
/// their own, `CiamRoutes::backend_budget`).
const BACKEND_BUDGET: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub(crate) struct ShopState {
    pub store: Arc<ShopStore>,
    pub hasher: Arc<dyn PasswordHasher>,
    pub clock: Arc<dyn Clock>,
    pub policy: PasswordPolicy,
    pub decoy: PasswordHash,
    /// resetd's Redis rate limiter, shared by every shop process.
    pub limiter: Arc<dyn RateLimiter>,
}

/// Logins tried from one address per minute, before any argon2 work.
const LOGINS_PER_ADDRESS_PER_MINUTE: u32 = 10;

pub(crate) fn router(state: ShopState) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/signup", post(signup))
        .route("/login", post(login))
        .layer(axum::middleware::from_fn(within_budget))
        .with_state(state)
}

/// Charges the store calls of a shop request to one budget, as resetd's routers do.
async fn within_budget(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    resetd_ports::budget::scope(BACKEND_BUDGET, next.run(req)).await
}

pub(crate) async fn not_found() -> (StatusCode, &'static str) {
    (StatusCode::NOT_FOUND, "not found")
}

async fn home() -> &'static str {
    "Welcome to the shop. POST /signup, POST /login; forgot your password? POST /auth/otp/send.\n"
}

/// A refusal in the shop's words.
struct Refusal(StatusCode, &'static str);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        tracing::warn!(error = %e, "a shop request failed in the store");
        match e {
            StoreError::Unavailable(_) => Self(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable"),
            StoreError::Unexpected(_) => Self(StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<HasherError> for Refusal {
    fn from(e: HasherError) -> Self {
        match e {
            HasherError::Busy | HasherError::ShuttingDown => {
                Self(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable")
            }
            HasherError::Failed => Self(StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

#[derive(Deserialize)]
struct SignUp {
    email: String,
    phone: Option<String>,
    password: String,
    name: Option<String>,
    locale: Option<String>,
}

/// `POST /signup`: 201 `{"id"}`; 400 `invalid_email`, `invalid_phone`; 422 `weak_password`
/// (with `violations`); 409 `email_taken`, `phone_taken`.
async fn signup(State(s): State<ShopState>, Json(body): Json<SignUp>) -> Result<Response, Refusal> {
    let email = Email::parse(&body.email).map_err(|_| Refusal(StatusCode::BAD_REQUEST, "invalid_email"))?;
    let phone = body.phone.as_deref().filter(|p| !p.is_empty()).map(PhoneNumber::parse).transpose();
    let phone = phone.map_err(|_| Refusal(StatusCode::BAD_REQUEST, "invalid_phone"))?;
    let password =
        Password::new(body.password).map_err(|_| Refusal(StatusCode::UNPROCESSABLE_ENTITY, "weak_password"))?;
    // The same policy a CIAM reset applies, off the async workers (zxcvbn takes milliseconds).
    let (policy, candidate, address) = (s.policy.clone(), password.clone(), email.clone());
    let verdict =
        tokio::task::spawn_blocking(move || policy.check(&candidate, &PolicyContext { email: Some(&address) }))
            .await
            .map_err(|_| Refusal(StatusCode::INTERNAL_SERVER_ERROR, "internal"))?;
    if let Err(violations) = verdict {
        let said: Vec<&str> = violations.iter().map(violation_code).collect();
        let body = json!({ "error": "weak_password", "violations": said });
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response());
    }
    let hash = s.hasher.hash(password).await?;
    let new = NewCustomer { email, phone, name: body.name, locale: body.locale, hash, now: s.clock.now() };
    let id = s.store.sign_up(new).await.map_err(|e| match e {
        SignUpError::EmailTaken => Refusal(StatusCode::CONFLICT, "email_taken"),
        SignUpError::PhoneTaken => Refusal(StatusCode::CONFLICT, "phone_taken"),
        SignUpError::Store(e) => e.into(),
    })?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id.to_string() }))).into_response())
}

/// The shop's own code for a broken rule (its dialect: an app words them for its users).
fn violation_code(v: &PolicyViolation) -> &'static str {
    match v {
        PolicyViolation::TooShort { .. } => "too_short",
        PolicyViolation::TooLong { .. } => "too_long",
        PolicyViolation::MissingDigit => "missing_digit",
        PolicyViolation::MissingUpperLower => "missing_upper_and_lower_case",
        PolicyViolation::MissingSpecial => "missing_special_character",
        PolicyViolation::Common => "too_common",
        PolicyViolation::ContainsEmailLocalPart => "contains_email_name",
        PolicyViolation::Breached => "breached",
    }
}

#[derive(Deserialize)]
struct Login {
    email: String,
    password: String,
}

/// `POST /login`: 200 `{"id"}`; 401 `invalid_credentials` for an unknown email or a wrong
/// password alike (both cost one argon2 verification); 403 `account_not_active` for a right
/// password of a locked, frozen or disabled customer.
async fn login(
    State(s): State<ShopState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Json(body): Json<Login>,
) -> Result<Response, Refusal> {
    // Online guessing is bounded per address before any argon2 work (a real application adds
    // a per-account lockout; resetd's CIAM routes have their own limits).
    if let Some(Extension(ConnectInfo(peer))) = peer {
        let key = format!("shop:login:ip:{}", peer.ip());
        let window = Duration::from_secs(60);
        if let RateDecision::Limited { .. } = s.limiter.hit(&key, LOGINS_PER_ADDRESS_PER_MINUTE, window).await? {
            return Err(Refusal(StatusCode::TOO_MANY_REQUESTS, "too_many_logins"));
        }
    }
    let refused = Refusal(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let Ok(password) = Password::new(body.password) else { return Err(refused) };
    let record = match Email::parse(&body.email) {
        Ok(email) => s.store.login_record(&email).await?,
        Err(_) => None,
    };
    let hash = record.as_ref().and_then(|r| r.hash.clone());
    let matched = s.hasher.matches_any(password, vec![hash.unwrap_or_else(|| s.decoy.clone())]).await?;
    let Some(customer) = record.filter(|r| matched && r.hash.is_some()) else { return Err(refused) };
    if !customer.status.is_active() {
        return Err(Refusal(StatusCode::FORBIDDEN, "account_not_active"));
    }
    s.store.note_login(customer.id, s.clock.now()).await?;
    Ok(Json(json!({ "id": customer.id.to_string() })).into_response())
}
