//! The Bearer-protected CIAM endpoints: `GET /userinfo` and `POST /change_user_password`.
//! Token failures are RFC 6750's: a `WWW-Authenticate: Bearer error="…"` header and no body
//! (400 `invalid_request` without a token, 401 `invalid_token` for a bad, expired or revoked
//! one); the other errors are the CIAM JSON body.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use resetd_app::ciam::{BearerError, ChangeOwnPassword, ChangeOwnPasswordError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{CiamErrorBody, CiamReply};
use crate::body;
use crate::client_ip::ClientIp;
use crate::Shared;

const RFC_6750: &str = "https://tools.ietf.org/html/rfc6750#section-3.1";

/// The token in `Authorization: Bearer …`, when there is one.
fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
}

/// An RFC 6750 answer: the error in the header, no body.
fn challenge(status: StatusCode, error: &'static str, description: &str) -> Response {
    metrics::counter!("resetd_ciam_errors_total", "error" => error).increment(1);
    let value = format!(r#"Bearer error="{error}", error_description="{description}", error_uri="{RFC_6750}""#);
    let mut r = status.into_response();
    if let Ok(v) = HeaderValue::from_str(&value) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

fn bearer_error(e: BearerError) -> Response {
    {
        match e {
            BearerError::Missing => challenge(StatusCode::BAD_REQUEST, "invalid_request", "Missing access token"),
            BearerError::Invalid => challenge(StatusCode::UNAUTHORIZED, "invalid_token", "Error decoding JWT"),
            BearerError::UserNotFound => CiamReply::new(StatusCode::NOT_FOUND, "user_not_found", None).into_response(),
            BearerError::Unavailable(f) => CiamReply::unavailable(&f).into_response(),
            BearerError::Unexpected(f) => CiamReply::unexpected(&f).into_response(),
        }
    }
}

/// The answer of `GET /userinfo` (OpenID Connect standard claims).
#[derive(Serialize, ToSchema)]
pub(crate) struct UserInfoBody {
    /// The user id.
    sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number: Option<String>,
    /// Given and family name, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    locale: Option<String>,
}

#[utoipa::path(
    get,
    path = "/userinfo",
    tag = "Tencent CIAM",
    summary = "The logged-in user",
    description = "Bearer access token from `/oauth2/token`. The user's status and credential generation are re-checked: a token issued before a password or status change is refused.",
    responses(
        (status = 200, description = "The user", body = UserInfoBody),
        (status = 400, description = "No token: `WWW-Authenticate: Bearer error=\"invalid_request\"`, no body"),
        (status = 401, description = "A bad, expired or revoked token: `WWW-Authenticate: Bearer error=\"invalid_token\"`, no body"),
        (status = 404, description = "`user_not_found`", body = CiamErrorBody),
        (status = 503, description = "`temporarily_unavailable`", body = CiamErrorBody),
    ),
    security(("ciam_bearer" = []), ())
)]
pub(crate) async fn userinfo(State(state): State<Shared>, headers: HeaderMap) -> Response {
    match state.app.ciam.userinfo(bearer(&headers).as_deref()).await {
        Ok(u) => {
            let name = [u.first_name.as_deref(), u.last_name.as_deref()].into_iter().flatten().collect::<Vec<_>>();
            Json(UserInfoBody {
                sub: u.id.to_string(),
                email: u.email.map(|e| e.as_str().to_owned()),
                phone_number: u.phone.map(|p| p.as_str().to_owned()),
                name: (!name.is_empty()).then(|| name.join(" ")),
                locale: u.locale,
            })
            .into_response()
        }
        Err(e) => bearer_error(e),
    }
}

/// The body of `POST /change_user_password`.
#[derive(Default, Deserialize, ToSchema)]
pub(crate) struct ChangeBody {
    old_password: Option<String>,
    new_password: Option<String>,
}

#[utoipa::path(
    post,
    path = "/change_user_password",
    tag = "Tencent CIAM",
    summary = "Change the logged-in user's password",
    description = "Bearer access token. The change, its history entry, the audit event and the generation bump are one transaction: every token of the user, the caller's included, is revoked (log in again). A wrong old password counts as a login failure for the lockout.",
    request_body = ChangeBody,
    responses(
        (status = 200, description = "Changed; the body is empty"),
        (status = 400, description = "`wrong_old_password`, `duplicate_password`, `recurrent_password`, `invalid_new_password`, `user_not_found`, `abnormal_user_status` (`User is frozen.` / `User is locked.`), `invalid_request`; or, with no token, `WWW-Authenticate: Bearer error=\"invalid_request\"` and no body", body = CiamErrorBody),
        (status = 401, description = "A bad, expired or revoked token: `WWW-Authenticate: Bearer error=\"invalid_token\"`, no body"),
                (status = 413, description = "`invalid_request`: a body over 64 KiB", body = CiamErrorBody),
        (status = 415, description = "`invalid_request`: a body that is not JSON", body = CiamErrorBody),
        (status = 429, description = "`rate_limit_exceeded`: the per-address limit of password changes", body = CiamErrorBody),
        (status = 503, description = "`temporarily_unavailable`", body = CiamErrorBody),
    ),
    security(("ciam_bearer" = []), ())
)]
pub(crate) async fn change_password(State(state): State<Shared>, ClientIp(ip): ClientIp, req: Request) -> Response {
    let token = bearer(req.headers());
    let read = async {
        let (headers, bytes) = body::read(req).await?;
        body::json::<ChangeBody>(&headers, &bytes)
    };
    let b = match read.await {
        Ok(b) => b,
        Err(e) => return CiamReply::from(e).into_response(),
    };
    let req = ChangeOwnPassword { token, old_password: b.old_password, new_password: b.new_password, ip };
    match state.app.ciam.change_own_password(req).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => change_error(e),
    }
}

fn change_error(e: ChangeOwnPasswordError) -> Response {
    let reply = match e {
        // The contract's 404 is GET /userinfo's; on a change, user_not_found is a 400.
        ChangeOwnPasswordError::Bearer(BearerError::UserNotFound) => CiamReply::bad("user_not_found"),
        ChangeOwnPasswordError::Bearer(b) => return bearer_error(b),
        ChangeOwnPasswordError::MissingParameter(name) => CiamReply::invalid_request(&format!("Missing {name}.")),
        ChangeOwnPasswordError::RateLimited { retry_after } => CiamReply::rate_limited(retry_after),
        ChangeOwnPasswordError::AbnormalUserStatus(status) => CiamReply::abnormal_user_status(status),
        ChangeOwnPasswordError::WrongOldPassword => CiamReply::bad("wrong_old_password"),
        ChangeOwnPasswordError::DuplicatePassword => CiamReply::bad("duplicate_password"),
        ChangeOwnPasswordError::RecurrentPassword => CiamReply::bad("recurrent_password"),
        ChangeOwnPasswordError::InvalidNewPassword(v) => CiamReply::invalid_new_password(&v),
        ChangeOwnPasswordError::Unavailable(f) => CiamReply::unavailable(&f),
        ChangeOwnPasswordError::Unexpected(f) => CiamReply::unexpected(&f),
    };
    reply.into_response()
}
