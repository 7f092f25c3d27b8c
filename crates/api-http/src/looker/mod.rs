//! The Looker API 4.0 router (admin side). Every answer is JSON; every error is
//! `{"message", "documentation_url"}`.

// Handlers return `Result<Response, Response>`, axum's idiom; the error is already a response.
#![allow(clippy::result_large_err)]

mod error;
mod view;

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use resetd_app::admin::{PasswordConfigPatch, WriteUser};
use resetd_domain::access::Principal;
use resetd_domain::user::UserId;
use serde::Deserialize;
use serde_json::{json, Value};

pub(crate) use self::error::LookerError;
use crate::{body, Shared};

pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .route("/api/4.0/login", post(login))
        .route("/api/4.0/logout", delete(logout))
        .route("/api/logout", delete(logout))
        .route("/api/4.0/user", get(me))
        .route("/api/4.0/users", get(list_users).post(create_user))
        .route("/api/4.0/users/{user_id}", get(get_user).patch(update_user).delete(delete_user))
        .route(
            "/api/4.0/users/{user_id}/credentials_email",
            get(get_credential).post(create_credential).patch(update_credential).delete(delete_credential),
        )
        .route("/api/4.0/users/{user_id}/credentials_email/password_reset", post(password_reset))
        .route("/api/4.0/users/{user_id}/credentials_email/send_password_reset", post(send_password_reset))
        .route("/api/4.0/password_config", get(get_password_config).patch(update_password_config))
        .route("/api/4.0/password_config/force_password_reset_at_next_login_for_all_users", put(force_reset_all))
        .fallback(not_found)
}

type Outcome = Result<Response, Response>;

fn fail(state: &Shared, e: impl Into<LookerError>) -> Response {
    e.into().render(&state.docs_base)
}

fn ok_json(value: Value) -> Outcome {
    Ok((StatusCode::OK, Json(value)).into_response())
}

async fn not_found(State(state): State<Shared>) -> Response {
    fail(&state, LookerError::new(StatusCode::NOT_FOUND, "Not found"))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer")).then(|| token.trim())
}

async fn caller(state: &Shared, headers: &HeaderMap) -> Result<Principal, Response> {
    let token = bearer(headers).ok_or_else(|| fail(state, resetd_app::admin::AdminError::Unauthenticated))?;
    state.app.admin.authenticate(token).await.map_err(|e| fail(state, e))
}

fn user_id(state: &Shared, raw: &str) -> Result<UserId, Response> {
    // A well-formed id that names nobody is a 404, like any unknown user.
    UserId::parse(raw).map_err(|_| fail(state, LookerError::new(StatusCode::NOT_FOUND, "Not found")))
}

#[derive(Debug, Default, Deserialize)]
struct LoginForm {
    client_id: Option<String>,
    client_secret: Option<String>,
}

async fn login(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
    req: Request,
) -> Outcome {
    let (headers, bytes) = body::read(req).await.map_err(|e| fail(&state, e))?;
    let form: LoginForm = if bytes.is_empty() {
        LoginForm::default()
    } else {
        body::json_or_form(&headers, &bytes).map_err(|e| fail(&state, e))?
    };
    let id = form.client_id.or_else(|| query.get("client_id").cloned()).unwrap_or_default();
    let secret = form.client_secret.or_else(|| query.get("client_secret").cloned()).unwrap_or_default();
    let session = state.app.admin.login(&id, &secret, Some(peer.ip())).await.map_err(|e| fail(&state, e))?;
    ok_json(json!({
        "access_token": session.access_token.expose(),
        "token_type": "Bearer",
        "expires_in": session.expires_in.as_secs(),
        "refresh_token": null,
    }))
}

async fn logout(State(state): State<Shared>, headers: HeaderMap) -> Outcome {
    let token = bearer(&headers).ok_or_else(|| fail(&state, resetd_app::admin::AdminError::Unauthenticated))?;
    state.app.admin.logout(token).await.map_err(|e| fail(&state, e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Default, Deserialize)]
struct Fields {
    fields: Option<String>,
    expires: Option<String>,
    offset: Option<u64>,
    limit: Option<u64>,
}

async fn user_json(state: &Shared, who: Principal, u: &resetd_app::admin::User) -> Value {
    let base = &state.app.admin_base();
    let cred = state.app.admin.get_credential(who, u.id).await.ok().map(|c| view::credential(base, &c));
    view::user(base, u, cred)
}

async fn me(State(state): State<Shared>, headers: HeaderMap, Query(q): Query<Fields>) -> Outcome {
    let who = caller(&state, &headers).await?;
    let u = state.app.admin.get_user(who, who.user_id).await.map_err(|e| fail(&state, e))?;
    ok_json(view::select(user_json(&state, who, &u).await, q.fields.as_deref()))
}

async fn list_users(State(state): State<Shared>, headers: HeaderMap, Query(q): Query<Fields>) -> Outcome {
    let who = caller(&state, &headers).await?;
    let users = state
        .app
        .admin
        .list_users(who, q.offset.unwrap_or(0), q.limit.unwrap_or(100))
        .await
        .map_err(|e| fail(&state, e))?;
    let mut out = Vec::with_capacity(users.len());
    for u in &users {
        out.push(view::select(user_json(&state, who, u).await, q.fields.as_deref()));
    }
    ok_json(Value::Array(out))
}

#[derive(Debug, Default, Deserialize)]
struct WriteUserBody {
    #[serde(default, deserialize_with = "nullable")]
    first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    last_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    locale: Option<Option<String>>,
    is_disabled: Option<bool>,
    credentials_email: Option<WriteCredential>,
}

#[derive(Debug, Default, Deserialize)]
struct WriteCredential {
    email: Option<String>,
    forced_password_reset_at_next_login: Option<bool>,
}

/// `absent` → `None`, `null` → `Some(None)`, a value → `Some(Some(v))`.
fn nullable<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

impl From<WriteUserBody> for WriteUser {
    fn from(b: WriteUserBody) -> Self {
        Self {
            first_name: b.first_name,
            last_name: b.last_name,
            locale: b.locale,
            is_disabled: b.is_disabled,
            email: b.credentials_email.and_then(|c| c.email),
        }
    }
}

async fn create_user(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<Fields>,
    req: Request,
) -> Outcome {
    let who = caller(&state, &headers).await?;
    let (h, bytes) = body::read(req).await.map_err(|e| fail(&state, e))?;
    let b: WriteUserBody = body::json_or_empty(&h, &bytes).map_err(|e| fail(&state, e))?;
    let u = state.app.admin.create_user(who, b.into()).await.map_err(|e| fail(&state, e))?;
    ok_json(view::select(user_json(&state, who, &u).await, q.fields.as_deref()))
}

async fn get_user(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<Fields>,
) -> Outcome {
    let who = caller(&state, &headers).await?;
    let u = state.app.admin.get_user(who, user_id(&state, &id)?).await.map_err(|e| fail(&state, e))?;
    ok_json(view::select(user_json(&state, who, &u).await, q.fields.as_deref()))
}

async fn update_user(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<Fields>,
    req: Request,
) -> Outcome {
    let who = caller(&state, &headers).await?;
    let id = user_id(&state, &id)?;
    let (h, bytes) = body::read(req).await.map_err(|e| fail(&state, e))?;
    let b: WriteUserBody = body::json(&h, &bytes).map_err(|e| fail(&state, e))?;
    let u = state.app.admin.update_user(who, id, b.into()).await.map_err(|e| fail(&state, e))?;
    ok_json(view::select(user_json(&state, who, &u).await, q.fields.as_deref()))
}

async fn delete_user(State(state): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Outcome {
    let who = caller(&state, &headers).await?;
    state.app.admin.delete_user(who, user_id(&state, &id)?).await.map_err(|e| fail(&state, e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn get_credential(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<Fields>,
) -> Outcome {
    let who = caller(&state, &headers).await?;
    let c = state.app.admin.get_credential(who, user_id(&state, &id)?).await.map_err(|e| fail(&state, e))?;
    ok_json(view::select(view::credential(&state.app.admin_base(), &c), q.fields.as_deref()))
}

async fn create_credential(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<Fields>,
    req: Request,
) -> Outcome {
    let who = caller(&state, &headers).await?;
    let id = user_id(&state, &id)?;
    let (h, bytes) = body::read(req).await.map_err(|e| fail(&state, e))?;
    let b: WriteCredential = body::json(&h, &bytes).map_err(|e| fail(&state, e))?;
    let c = state.app.admin.create_credential(who, id, b.email.as_deref()).await.map_err(|e| fail(&state, e))?;
    ok_json(view::select(view::credential(&state.app.admin_base(), &c), q.fields.as_deref()))
}

async fn update_credential(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<Fields>,
    req: Request,
) -> Outcome {
    let who = caller(&state, &headers).await?;
    let id = user_id(&state, &id)?;
    let (h, bytes) = body::read(req).await.map_err(|e| fail(&state, e))?;
    let b: WriteCredential = body::json(&h, &bytes).map_err(|e| fail(&state, e))?;
    let c = state
        .app
        .admin
        .update_credential(who, id, b.email.as_deref(), b.forced_password_reset_at_next_login)
        .await
        .map_err(|e| fail(&state, e))?;
    ok_json(view::select(view::credential(&state.app.admin_base(), &c), q.fields.as_deref()))
}

async fn delete_credential(State(state): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Outcome {
    let who = caller(&state, &headers).await?;
    state.app.admin.delete_credential(who, user_id(&state, &id)?).await.map_err(|e| fail(&state, e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `expires`: `true`/`false` in any case, or `1`/`0`; absent means false.
fn parse_expires(raw: Option<&str>) -> Result<bool, LookerError> {
    match raw.map(str::to_ascii_lowercase).as_deref() {
        None | Some("false" | "0") => Ok(false),
        Some("true" | "1") => Ok(true),
        Some(_) => Err(LookerError::bad_request("expires must be true or false.")),
    }
}

async fn password_reset(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<Fields>,
    req: Request,
) -> Outcome {
    let who = caller(&state, &headers).await?;
    let id = user_id(&state, &id)?;
    let expires = parse_expires(q.expires.as_deref()).map_err(|e| fail(&state, e))?;
    body::read(req).await.map_err(|e| fail(&state, e))?;
    let c = state.app.admin.create_password_reset(who, id, expires).await.map_err(|e| fail(&state, e))?;
    ok_json(view::select(view::credential(&state.app.admin_base(), &c), q.fields.as_deref()))
}

async fn send_password_reset(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<Fields>,
) -> Outcome {
    let who = caller(&state, &headers).await?;
    let c = state.app.admin.send_password_reset(who, user_id(&state, &id)?).await.map_err(|e| fail(&state, e))?;
    ok_json(view::select(view::credential(&state.app.admin_base(), &c), q.fields.as_deref()))
}

async fn get_password_config(State(state): State<Shared>, headers: HeaderMap, Query(q): Query<Fields>) -> Outcome {
    let who = caller(&state, &headers).await?;
    let c = state.app.admin.password_config(who).await.map_err(|e| fail(&state, e))?;
    ok_json(view::select(view::password_config(&c), q.fields.as_deref()))
}

#[derive(Debug, Default, Deserialize)]
struct PasswordConfigBody {
    min_length: Option<i64>,
    require_numeric: Option<bool>,
    require_upperlower: Option<bool>,
    require_special: Option<bool>,
    expiration_enabled: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    expiration_duration_days: Option<Option<i64>>,
}

async fn update_password_config(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<Fields>,
    req: Request,
) -> Outcome {
    let who = caller(&state, &headers).await?;
    let (h, bytes) = body::read(req).await.map_err(|e| fail(&state, e))?;
    let b: PasswordConfigBody = body::json(&h, &bytes).map_err(|e| fail(&state, e))?;
    let patch = PasswordConfigPatch {
        min_length: b.min_length,
        require_numeric: b.require_numeric,
        require_upperlower: b.require_upperlower,
        require_special: b.require_special,
        expiration_enabled: b.expiration_enabled,
        expiration_duration_days: b.expiration_duration_days,
    };
    let c = state.app.admin.update_password_config(who, patch).await.map_err(|e| fail(&state, e))?;
    ok_json(view::select(view::password_config(&c), q.fields.as_deref()))
}

async fn force_reset_all(State(state): State<Shared>, headers: HeaderMap) -> Outcome {
    let who = caller(&state, &headers).await?;
    state.app.admin.force_reset_all(who).await.map_err(|e| fail(&state, e))?;
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], "\"\"").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_token_schemes_are_accepted() {
        for (value, want) in [
            ("token abc", Some("abc")),
            ("Bearer abc", Some("abc")),
            ("bearer  abc ", Some("abc")),
            ("Basic abc", None),
            ("abc", None),
        ] {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, value.parse().unwrap());
            assert_eq!(bearer(&h), want, "{value}");
        }
    }

    #[test]
    fn expires_is_parsed_strictly() {
        assert!(!parse_expires(None).unwrap());
        assert!(parse_expires(Some("TRUE")).unwrap());
        assert!(parse_expires(Some("1")).unwrap());
        assert!(!parse_expires(Some("False")).unwrap());
        assert!(parse_expires(Some("yes")).is_err());
    }
}
