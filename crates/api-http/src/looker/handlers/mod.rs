//! The Looker handlers, one module per resource: extract, call one use case, shape the answer.
//! Each handler's `#[utoipa::path]` is its entry in `GET /openapi.json`.

pub(crate) mod config;
pub(crate) mod credentials;
pub(crate) mod session;
pub(crate) mod users;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use resetd_app::looker::{CredentialView, UserView};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, IntoResponses};

use super::error::ErrorBody;
use super::{fail, ok_json, view, LookerError, Outcome};
use crate::Shared;

/// The query parameters these endpoints take.
#[derive(Debug, Default, Deserialize)]
pub(in crate::looker) struct Params {
    pub fields: Option<String>,
    pub expires: Option<String>,
    pub offset: Option<u64>,
    pub limit: Option<u64>,
}

/// A user as Looker shows it, with its email credential (`null` when it has none), both read
/// by the one use case that answered.
pub(in crate::looker) fn user_json(state: &Shared, v: &UserView, p: &Params) -> Result<Value, Response> {
    let base = state.app.looker_base();
    let cred = v.credential.as_ref().map(|c| view::credential(&base, c));
    view::shaped(&view::user(&base, &v.user, cred), p.fields.as_deref()).map_err(|e| unserialisable(state, &e))
}

pub(in crate::looker) fn credential_json(state: &Shared, c: &CredentialView, p: &Params) -> Outcome {
    let shaped = view::shaped(&view::credential(&state.app.looker_base(), c), p.fields.as_deref());
    ok_json(shaped.map_err(|e| unserialisable(state, &e))?)
}

/// An answer that could not be serialised: a bug, a 500.
pub(in crate::looker) fn unserialisable(state: &Shared, e: &serde_json::Error) -> Response {
    tracing::error!(error = %e, "a Looker answer could not be serialised");
    fail(state, LookerError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error"))
}

pub(in crate::looker) fn no_content() -> Outcome {
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `absent` → `None`, `null` → `Some(None)`, a value → `Some(Some(v))`.
pub(in crate::looker) fn nullable<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

// What several operations share in `GET /openapi.json`. These types are never built: they
// only describe.

/// The `{user_id}` of a path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code, reason = "describes the path for the OpenAPI document")]
pub(crate) struct UserPath {
    /// The user's id
    user_id: String,
}

/// The `fields` query parameter.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "describes the query for the OpenAPI document")]
pub(crate) struct FieldsQuery {
    /// Comma-separated top-level fields to keep, e.g. `email,password_reset_url`
    fields: Option<String>,
}

/// The caller may not do this.
#[derive(IntoResponses)]
#[allow(dead_code, reason = "describes answers for the OpenAPI document")]
pub(crate) enum Denied {
    /// No or an unknown access token
    #[response(status = 401)]
    Unauthenticated(ErrorBody),
    /// Not an admin, and not the caller's own record
    #[response(status = 403)]
    Forbidden(ErrorBody),
}

/// The body could not be read.
#[derive(IntoResponses)]
#[allow(dead_code, reason = "describes answers for the OpenAPI document")]
pub(crate) enum BadBody {
    /// Malformed JSON or form
    #[response(status = 400)]
    Malformed(ErrorBody),
    /// A body over 64 KiB
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// A body that is not JSON (login: nor a form)
    #[response(status = 415)]
    NotJson(ErrorBody),
}
