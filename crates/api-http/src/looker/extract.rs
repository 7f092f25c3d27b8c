//! Extractors whose rejections are Looker errors, never axum's plain-text ones.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use resetd_app::looker::session::AuthenticateError;
use resetd_domain::access::Principal;
use resetd_domain::user::UserId;
use serde::de::DeserializeOwned;

use super::{fail, LookerError};
use crate::{body, Shared};

/// `Authorization: token X` or `Bearer X` (scheme case-insensitive).
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer")).then(|| token.trim())
}

/// The authenticated caller; 401 `Requires authentication.` otherwise.
pub(super) struct Caller(pub Principal);

impl FromRequestParts<Shared> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Response> {
        let token = bearer(&parts.headers).ok_or_else(|| fail(state, AuthenticateError::Unauthenticated))?;
        state.app.looker.authenticate(token).await.map(Caller).map_err(|e| fail(state, e))
    }
}

/// The `{user_id}` path segment; anything but a positive integer names nobody: 404.
pub(super) struct Target(pub UserId);

impl FromRequestParts<Shared> for Target {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Response> {
        let not_found = || fail(state, LookerError::new(StatusCode::NOT_FOUND, "Not found"));
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state).await.map_err(|_| not_found())?;
        UserId::parse(&raw).map(Target).map_err(|_| not_found())
    }
}

/// Query parameters; a malformed one is a 400.
pub(super) struct LookerQuery<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<Shared> for LookerQuery<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Response> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str(query)
            .map(LookerQuery)
            .map_err(|_| fail(state, LookerError::bad_request("A query parameter is malformed.")))
    }
}

/// A required JSON body.
pub(super) struct LookerJson<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<Shared> for LookerJson<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &Shared) -> Result<Self, Response> {
        let (headers, bytes) = body::read(req).await.map_err(|e| fail(state, e))?;
        body::json(&headers, &bytes).map(LookerJson).map_err(|e| fail(state, e))
    }
}

/// A JSON body that may be empty (the SDKs send empty POSTs): then `T::default()`.
pub(super) struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default + Send> FromRequest<Shared> for OptionalJson<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &Shared) -> Result<Self, Response> {
        let (headers, bytes) = body::read(req).await.map_err(|e| fail(state, e))?;
        body::json_or_empty(&headers, &bytes).map(OptionalJson).map_err(|e| fail(state, e))
    }
}
