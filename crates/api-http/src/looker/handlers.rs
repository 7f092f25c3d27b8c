//! The Looker handlers: extract, call one use case, shape the answer.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use resetd_app::admin::{AdminError, CredentialView, PasswordConfigPatch, User, WriteUser};
use resetd_domain::access::Principal;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::error::ErrorBody;
use super::extract::{bearer, Caller, LookerJson, LookerQuery, OptionalJson, Target};
use super::view::{CredentialsEmail, LookerPasswordConfig, LookerUser};
use super::{fail, ok_json, view, LookerError, Outcome};
use crate::{body, Shared};

/// The query parameters these endpoints take.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Params {
    fields: Option<String>,
    expires: Option<String>,
    offset: Option<u64>,
    limit: Option<u64>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub(crate) struct LoginForm {
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// Looker's `AccessToken`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AccessToken {
    access_token: String,
    /// Always `Bearer`.
    token_type: String,
    /// Seconds.
    expires_in: u64,
    /// Always `null`.
    refresh_token: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/4.0/login",
    operation_id = "login",
    tag = "Looker API 4.0",
    summary = "Log in with API client credentials",
    params(("client_id" = Option<String>, Query, description = "Used when the body has none"), ("client_secret" = Option<String>, Query, description = "Used when the body has none")),
    request_body(content = LoginForm, content_type = "application/x-www-form-urlencoded", description = "Also accepted as JSON"),
    responses(
        (status = 200, description = "A session", body = AccessToken),
        (status = 404, description = "Unknown client id or wrong secret", body = ErrorBody),
        (status = 429, description = "Too many logins from this client id or address (`Retry-After`)", body = ErrorBody),
        (status = 400, description = "Malformed JSON or form", body = ErrorBody),
        (status = 413, description = "A body over 64 KiB", body = ErrorBody),
        (status = 415, description = "A body that is not JSON (login: nor a form)", body = ErrorBody)
    )
)]
pub(super) async fn login(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    LookerQuery(query): LookerQuery<HashMap<String, String>>,
    req: axum::extract::Request,
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
    ok_json(json!(AccessToken {
        access_token: session.access_token.expose().to_owned(),
        token_type: "Bearer".into(),
        expires_in: session.expires_in.as_secs(),
        refresh_token: None,
    }))
}

#[utoipa::path(
    delete,
    path = "/api/4.0/logout",
    operation_id = "logout",
    tag = "Looker API 4.0",
    summary = "End the session",
    responses(
        (status = 204, description = "The session is over"),
        (status = 401, description = "No or an unknown access token", body = ErrorBody)
    ),
    security(("looker_token" = []))
)]
pub(super) async fn logout(State(state): State<Shared>, headers: HeaderMap) -> Outcome {
    let token = bearer(&headers).ok_or_else(|| fail(&state, AdminError::Unauthenticated))?;
    state.app.admin.logout(token).await.map_err(|e| fail(&state, e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    delete,
    path = "/api/logout",
    operation_id = "logout_unversioned",
    tag = "Looker API 4.0",
    summary = "End the session (the path the Python SDK calls)",
    responses(
        (status = 204, description = "The session is over"),
        (status = 401, description = "No or an unknown access token", body = ErrorBody)
    ),
    security(("looker_token" = []))
)]
pub(super) async fn logout_unversioned(state: State<Shared>, headers: HeaderMap) -> Outcome {
    logout(state, headers).await
}

async fn user_json(state: &Shared, who: Principal, u: &User, p: &Params) -> Value {
    let base = state.app.admin_base();
    let cred = state.app.admin.get_credential(who, u.id).await.ok().map(|c| view::credential(&base, &c));
    view::shaped(&view::user(&base, u, cred), p.fields.as_deref())
}

fn credential_json(state: &Shared, c: &CredentialView, p: &Params) -> Outcome {
    ok_json(view::shaped(&view::credential(&state.app.admin_base(), c), p.fields.as_deref()))
}

fn no_content() -> Outcome {
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    get,
    path = "/api/4.0/user",
    operation_id = "me",
    tag = "Looker API 4.0",
    summary = "The caller",
    params(("fields" = Option<String>, Query, description = "Comma-separated top-level fields to keep, e.g. `email,password_reset_url`")),
    responses(
        (status = 200, description = "The caller", body = LookerUser),
        (status = 401, description = "No or an unknown access token", body = ErrorBody)
    ),
    security(("looker_token" = []))
)]
pub(super) async fn me(
    State(state): State<Shared>,
    Caller(who): Caller,
    LookerQuery(p): LookerQuery<Params>,
) -> Outcome {
    let u = state.app.admin.get_user(who, who.user_id).await.map_err(|e| fail(&state, e))?;
    ok_json(user_json(&state, who, &u, &p).await)
}

#[utoipa::path(
    get,
    path = "/api/4.0/users",
    operation_id = "all_users",
    tag = "Looker API 4.0",
    summary = "Users (only the caller, for non-admins)",
    params(("fields" = Option<String>, Query, description = "Comma-separated top-level fields to keep, e.g. `email,password_reset_url`"), ("offset" = Option<i64>, Query, minimum = 0, description = "Users to skip"), ("limit" = Option<i64>, Query, minimum = 0, description = "At most this many (default 100, at most 1000)")),
    responses(
        (status = 200, description = "Users by id", body = Vec<LookerUser>),
        (status = 400, description = "`offset` or `limit` is not a whole number from 0 to 2⁶³−1", body = ErrorBody),
        (status = 401, description = "No or an unknown access token", body = ErrorBody)
    ),
    security(("looker_token" = []))
)]
pub(super) async fn list_users(
    State(state): State<Shared>,
    Caller(who): Caller,
    LookerQuery(p): LookerQuery<Params>,
) -> Outcome {
    let (offset, limit) = (p.offset.unwrap_or(0), p.limit.unwrap_or(100));
    if i64::try_from(offset.max(limit)).is_err() {
        return Err(fail(&state, LookerError::bad_request("offset and limit must be at most 9223372036854775807.")));
    }
    let users = state.app.admin.list_users(who, offset, limit).await.map_err(|e| fail(&state, e))?;
    let mut out = Vec::with_capacity(users.len());
    for u in &users {
        out.push(user_json(&state, who, u, &p).await);
    }
    ok_json(Value::Array(out))
}

/// Looker's `WriteUser`: absent fields are left alone, `null` clears.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub(crate) struct WriteUserBody {
    #[serde(default, deserialize_with = "nullable")]
    first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    last_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    locale: Option<Option<String>>,
    is_disabled: Option<bool>,
    #[serde(default, deserialize_with = "body::nested_object")]
    credentials_email: Option<WriteCredential>,
}

/// Looker's `WriteCredentialsEmail`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub(crate) struct WriteCredential {
    #[schema(format = Email)]
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

#[utoipa::path(
    post,
    path = "/api/4.0/users",
    operation_id = "create_user",
    tag = "Looker API 4.0",
    summary = "Create a user",
    params(("fields" = Option<String>, Query, description = "Comma-separated top-level fields to keep, e.g. `email,password_reset_url`")),
    request_body(content = Option<WriteUserBody>, description = "May be empty"),
    responses(
        (status = 200, description = "The new user", body = LookerUser),
        (status = 401, description = "No or an unknown access token", body = ErrorBody),
        (status = 403, description = "Not an admin, and not the caller's own record", body = ErrorBody),
        (status = 409, description = "The email is taken", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        (status = 400, description = "Malformed JSON or form", body = ErrorBody),
        (status = 413, description = "A body over 64 KiB", body = ErrorBody),
        (status = 415, description = "A body that is not JSON (login: nor a form)", body = ErrorBody)
    ),
    security(("looker_token" = []))
)]
pub(super) async fn create_user(
    State(state): State<Shared>,
    Caller(who): Caller,
    LookerQuery(p): LookerQuery<Params>,
    OptionalJson(b): OptionalJson<WriteUserBody>,
) -> Outcome {
    let u = state.app.admin.create_user(who, b.into()).await.map_err(|e| fail(&state, e))?;
    ok_json(user_json(&state, who, &u, &p).await)
}

#[utoipa::path(
    get,
    path = "/api/4.0/users/{user_id}",
    operation_id = "user",
    tag = "Looker API 4.0",
    summary = "A user",
    params(("user_id" = String, Path, description = "The user's id"), ("fields" = Option<String>, Query, description = "Comma-separated top-level fields to keep, e.g. `email,password_reset_url`")),
    responses(
        (status = 200, description = "The user", body = LookerUser),
        (status = 401, description = "No or an unknown access token", body = ErrorBody),
        (status = 403, description = "Not an admin, and not the caller's own record", body = ErrorBody),
        (status = 404, description = "No such user (or credential)", body = ErrorBody)
    ),
    security(("looker_token" = []))
)]
pub(super) async fn get_user(
    State(state): State<Shared>,
    Caller(who): Caller,
    Target(id): Target,
    LookerQuery(p): LookerQuery<Params>,
) -> Outcome {
    let u = state.app.admin.get_user(who, id).await.map_err(|e| fail(&state, e))?;
    ok_json(user_json(&state, who, &u, &p).await)
}

#[utoipa::path(
    patch,
    path = "/api/4.0/users/{user_id}",
    operation_id = "update_user",
    tag = "Looker API 4.0",
    summary = "Change a user (absent fields stay, `null` clears)",
    params(("user_id" = String, Path, description = "The user's id"), ("fields" = Option<String>, Query, description = "Comma-separated top-level fields to keep, e.g. `email,password_reset_url`")),
    request_body = WriteUserBody,
    responses(
        (status = 200, description = "The user", body = LookerUser),
        (status = 401, description = "No or an unknown access token", body = ErrorBody),
        (status = 403, description = "Not an admin, and not the caller's own record", body = ErrorBody),
        (status = 404, description = "No such user (or credential)", body = ErrorBody),
        (status = 409, description = "The email is taken", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        (status = 400, description = "Malformed JSON or form", body = ErrorBody),
        (status = 413, description = "A body over 64 KiB", body = ErrorBody),
        (status = 415, description = "A body that is not JSON (login: nor a form)", body = ErrorBody)
    ),
    security(("looker_token" = []))
)]
pub(super) async fn update_user(
    State(state): State<Shared>,
    Caller(who): Caller,
    Target(id): Target,
    LookerQuery(p): LookerQuery<Params>,
    LookerJson(b): LookerJson<WriteUserBody>,
) -> Outcome {
    let u = state.app.admin.update_user(who, id, b.into()).await.map_err(|e| fail(&state, e))?;
    ok_json(user_json(&state, who, &u, &p).await)
}

#[utoipa::path(
    delete,
    path = "/api/4.0/users/{user_id}",
    operation_id = "delete_user",
    tag = "Looker API 4.0",
    summary = "Delete a user",
    params(("user_id" = String, Path, description = "The user's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No or an unknown access token", body = ErrorBody),
        (status = 403, description = "Not an admin, and not the caller's own record", body = ErrorBody),
        (status = 404, description = "No such user (or credential)", body = ErrorBody)
    ),
    security(("looker_token" = []))
)]
pub(super) async fn delete_user(State(state): State<Shared>, Caller(who): Caller, Target(id): Target) -> Outcome {
    state.app.admin.delete_user(who, id).await.map_err(|e| fail(&state, e))?;
    no_content()
}

#[utoipa::path(
    get,
    path = "/api/4.0/users/{user_id}/credentials_email",
    operation_id = "user_credentials_email",
    tag = "Looker API 4.0",
    summary = "A user's email credential",
    params(("user_id" = String, Path, description = "The user's id"), ("fields" = Option<String>, Query, description = "Comma-separated top-level fields to keep, e.g. `email,password_reset_url`")),
    responses(
        (status = 200, description = "The credential", body = CredentialsEmail),
        (status = 401, description = "No or an unknown access token", body = ErrorBody),
        (status = 403, description = "Not an admin, and not the caller's own record", body = ErrorBody),
        (status = 404, description = "No such user (or credential)", body = ErrorBody)
    ),
    security(("looker_token" = []))
)]
pub(super) async fn get_credential(
    State(state): State<Shared>,
    Caller(who): Caller,
    Target(id): Target,
    LookerQuery(p): LookerQuery<Params>,
) -> Outcome {
    let c = state.app.admin.get_credential(who, id).await.map_err(|e| fail(&state, e))?;
    credential_json(&state, &c, &p)
}

#[utoipa::path(
    post,
    path = "/api/4.0/users/{user_id}/credentials_email",
    operation_id = "create_user_credentials_email",
    tag = "Looker API 4.0",
    summary = "Give a user an email credential",
    params(("user_id" = String, Path, description = "The user's id"), ("fields" = Option<String>, Query, description = "Comma-separated top-level fields to keep, e.g. `email,password_reset_url`")),
    request_body = WriteCredential,
    responses(
        (status = 200, description = "The credential", body = CredentialsEmail),
        (status = 401, description = "No or an unknown access token", body = ErrorBody),
        (status = 403, description = "Not an admin, and not the caller's own record", body = ErrorBody),
        (status = 404, description = "No such user (or credential)", body = ErrorBody),
        (status = 409, description = "The user has one, or the email is taken", body = ErrorBody),
        (status = 422, description = "Invalid email", body = ErrorBody),
        (status = 400, description = "Malformed JSON or form", body = ErrorBody),
        (status = 413, description = "A body over 64 KiB", body = ErrorBody),
        (status = 415, description = "A body that is not JSON (login: nor a form)", body = ErrorBody)
    ),
    security(("looker_token" = []))
)]
pub(super) async fn create_credential(
    State(state): State<Shared>,
    Caller(who): Caller,
    Target(id): Target,
    LookerQuery(p): LookerQuery<Params>,
    LookerJson(b): LookerJson<WriteCredential>,
) -> Outcome {
    let c = state.app.admin.create_credential(who, id, b.email.as_deref()).await.map_err(|e| fail(&state, e))?;
    credential_json(&state, &c, &p)
}

#[utoipa::path(
    patch,
    path = "/api/4.0/users/{user_id}/credentials_email",
    operation_id = "update_user_credentials_email",
    tag = "Looker API 4.0",
    summary = "Change a user's email credential",
    params(("user_id" = String, Path, description = "The user's id"), ("fields" = Option<String>, Query, description = "Comma-separated top-level fields to keep, e.g. `email,password_reset_url`")),
    request_body = WriteCredential,
    responses(
        (status = 200, description = "The credential", body = CredentialsEmail),
        (status = 401, description = "No or an unknown access token", body = ErrorBody),
        (status = 403, description = "Not an admin, and not the caller's own record", body = ErrorBody),
        (status = 404, description = "No such user (or credential)", body = ErrorBody),
        (status = 409, description = "The email is taken", body = ErrorBody),
        (status = 422, description = "Invalid email", body = ErrorBody),
        (status = 400, description = "Malformed JSON or form", body = ErrorBody),
        (status = 413, description = "A body over 64 KiB", body = ErrorBody),
        (status = 415, description = "A body that is not JSON (login: nor a form)", body = ErrorBody)
    ),
    security(("looker_token" = []))
)]
pub(super) async fn update_credential(
    State(state): State<Shared>,
    Caller(who): Caller,
    Target(id): Target,
    LookerQuery(p): LookerQuery<Params>,
    LookerJson(b): LookerJson<WriteCredential>,
) -> Outcome {
    let forced = b.forced_password_reset_at_next_login;
    let c =
        state.app.admin.update_credential(who, id, b.email.as_deref(), forced).await.map_err(|e| fail(&state, e))?;
    credential_json(&state, &c, &p)
}

#[utoipa::path(
    delete,
    path = "/api/4.0/users/{user_id}/credentials_email",
    operation_id = "delete_user_credentials_email",
    tag = "Looker API 4.0",
    summary = "Remove a user's email credential",
    params(("user_id" = String, Path, description = "The user's id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No or an unknown access token", body = ErrorBody),
        (status = 403, description = "Not an admin, and not the caller's own record", body = ErrorBody),
        (status = 404, description = "No such user (or credential)", body = ErrorBody)
    ),
    security(("looker_token" = []))
)]
pub(super) async fn delete_credential(State(state): State<Shared>, Caller(who): Caller, Target(id): Target) -> Outcome {
    state.app.admin.delete_credential(who, id).await.map_err(|e| fail(&state, e))?;
    no_content()
}

/// `expires`: `true`/`false` in any case, or `1`/`0`; absent means false.
fn parse_expires(raw: Option<&str>) -> Result<bool, LookerError> {
    match raw.map(str::to_ascii_lowercase).as_deref() {
        None | Some("false" | "0") => Ok(false),
        Some("true" | "1") => Ok(true),
        Some(_) => Err(LookerError::bad_request("expires must be true or false.")),
    }
}

#[utoipa::path(
    post,
    path = "/api/4.0/users/{user_id}/credentials_email/password_reset",
    operation_id = "create_user_credentials_email_password_reset",
    tag = "Looker API 4.0",
    summary = "Create a single-use password reset token",
    params(("user_id" = String, Path, description = "The user's id"), ("expires" = Option<bool>, Query, description = "`true`: the link lives 60 minutes; absent or `false`: it does not expire"), ("fields" = Option<String>, Query, description = "Comma-separated top-level fields to keep, e.g. `email,password_reset_url`")),
    request_body(content = Option<Object>, description = "Ignored; may be empty"),
    responses(
        (status = 200, description = "The credential with `password_reset_url` (this answer only)", body = CredentialsEmail),
        (status = 400, description = "`expires` is not a boolean", body = ErrorBody),
        (status = 401, description = "No or an unknown access token", body = ErrorBody),
        (status = 403, description = "Not an admin, and not the caller's own record", body = ErrorBody),
        (status = 404, description = "No such user (or credential)", body = ErrorBody),
        (status = 429, description = "Too many tokens issued by this caller (`Retry-After`)", body = ErrorBody),
        (status = 413, description = "A body over 64 KiB", body = ErrorBody),
        (status = 415, description = "A body that is not JSON (login: nor a form)", body = ErrorBody)
    ),
    security(("looker_token" = []))
)]
pub(super) async fn password_reset(
    State(state): State<Shared>,
    Caller(who): Caller,
    Target(id): Target,
    LookerQuery(p): LookerQuery<Params>,
    OptionalJson(_): OptionalJson<Value>,
) -> Outcome {
    let expires = parse_expires(p.expires.as_deref()).map_err(|e| fail(&state, e))?;
    let c = state.app.admin.create_password_reset(who, id, expires).await.map_err(|e| fail(&state, e))?;
    credential_json(&state, &c, &p)
}

#[utoipa::path(
    post,
    path = "/api/4.0/users/{user_id}/credentials_email/send_password_reset",
    operation_id = "send_user_credentials_email_password_reset",
    tag = "Looker API 4.0",
    summary = "Email the user an expiring reset (or account-setup) link",
    params(("user_id" = String, Path, description = "The user's id"), ("fields" = Option<String>, Query, description = "Comma-separated top-level fields to keep, e.g. `email,password_reset_url`")),
    responses(
        (status = 200, description = "The credential; the link went by email", body = CredentialsEmail),
        (status = 401, description = "No or an unknown access token", body = ErrorBody),
        (status = 403, description = "Not an admin, and not the caller's own record", body = ErrorBody),
        (status = 404, description = "No such user (or credential)", body = ErrorBody),
        (status = 429, description = "Too many tokens issued by this caller (`Retry-After`)", body = ErrorBody)
    ),
    security(("looker_token" = []))
)]
pub(super) async fn send_password_reset(
    State(state): State<Shared>,
    Caller(who): Caller,
    Target(id): Target,
    LookerQuery(p): LookerQuery<Params>,
) -> Outcome {
    let c = state.app.admin.send_password_reset(who, id).await.map_err(|e| fail(&state, e))?;
    credential_json(&state, &c, &p)
}

#[utoipa::path(
    get,
    path = "/api/4.0/password_config",
    operation_id = "password_config",
    tag = "Looker API 4.0",
    summary = "The default password policy",
    params(("fields" = Option<String>, Query, description = "Comma-separated top-level fields to keep, e.g. `email,password_reset_url`")),
    responses(
        (status = 200, description = "The policy", body = LookerPasswordConfig),
        (status = 401, description = "No or an unknown access token", body = ErrorBody),
        (status = 403, description = "Not an admin, and not the caller's own record", body = ErrorBody)
    ),
    security(("looker_token" = []))
)]
pub(super) async fn get_password_config(
    State(state): State<Shared>,
    Caller(who): Caller,
    LookerQuery(p): LookerQuery<Params>,
) -> Outcome {
    let c = state.app.admin.password_config(who).await.map_err(|e| fail(&state, e))?;
    ok_json(view::shaped(&view::password_config(&c), p.fields.as_deref()))
}

/// Looker's `WritePasswordConfig`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub(crate) struct PasswordConfigBody {
    #[schema(minimum = 7, maximum = 100)]
    min_length: Option<i64>,
    require_numeric: Option<bool>,
    require_upperlower: Option<bool>,
    require_special: Option<bool>,
    expiration_enabled: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(minimum = 30, maximum = 365)]
    expiration_duration_days: Option<Option<i64>>,
}

#[utoipa::path(
    patch,
    path = "/api/4.0/password_config",
    operation_id = "update_password_config",
    tag = "Looker API 4.0",
    summary = "Change the default password policy",
    params(("fields" = Option<String>, Query, description = "Comma-separated top-level fields to keep, e.g. `email,password_reset_url`")),
    request_body = PasswordConfigBody,
    responses(
        (status = 200, description = "The policy", body = LookerPasswordConfig),
        (status = 401, description = "No or an unknown access token", body = ErrorBody),
        (status = 403, description = "Not an admin, and not the caller's own record", body = ErrorBody),
        (status = 422, description = "`min_length` outside 7–100 or `expiration_duration_days` outside 30–365", body = ErrorBody),
        (status = 400, description = "Malformed JSON or form", body = ErrorBody),
        (status = 413, description = "A body over 64 KiB", body = ErrorBody),
        (status = 415, description = "A body that is not JSON (login: nor a form)", body = ErrorBody)
    ),
    security(("looker_token" = []))
)]
pub(super) async fn update_password_config(
    State(state): State<Shared>,
    Caller(who): Caller,
    LookerQuery(p): LookerQuery<Params>,
    LookerJson(b): LookerJson<PasswordConfigBody>,
) -> Outcome {
    let patch = PasswordConfigPatch {
        min_length: b.min_length,
        require_numeric: b.require_numeric,
        require_upperlower: b.require_upperlower,
        require_special: b.require_special,
        expiration_enabled: b.expiration_enabled,
        expiration_duration_days: b.expiration_duration_days,
    };
    let c = state.app.admin.update_password_config(who, patch).await.map_err(|e| fail(&state, e))?;
    ok_json(view::shaped(&view::password_config(&c), p.fields.as_deref()))
}

#[utoipa::path(
    put,
    path = "/api/4.0/password_config/force_password_reset_at_next_login_for_all_users",
    operation_id = "force_password_reset_at_next_login_for_all_users",
    tag = "Looker API 4.0",
    summary = "Require every user to choose a new password",
    responses(
        (status = 200, description = "Done: the JSON string `\"\"`", body = String),
        (status = 401, description = "No or an unknown access token", body = ErrorBody),
        (status = 403, description = "Not an admin, and not the caller's own record", body = ErrorBody)
    ),
    security(("looker_token" = []))
)]
pub(super) async fn force_reset_all(State(state): State<Shared>, Caller(who): Caller) -> Result<Response, Response> {
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
