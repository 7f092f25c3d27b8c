//! The Tencent CIAM router: `POST /otp/send` and `POST /reset_user_password`. Errors are
//! `{"error", "error_description"?}` with `application/json;charset=UTF-8`.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine as _;
use resetd_app::ciam::{ClientCredentials, ResetWithOtp, SendOtp};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::body;
use crate::client_ip::ClientIp;
use crate::Shared;

pub(crate) mod bearer;
pub(crate) mod oidc;
mod reply;
pub(crate) mod token;

pub(crate) use reply::{responder, CiamErrorBody, CiamReply};

pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .route("/otp/send", post(send))
        .route("/reset_user_password", post(reset))
        .route("/oauth2/token", post(token::token))
        .route("/oauth2/revoke", post(token::revoke))
        .route("/userinfo", get(bearer::userinfo))
        .route("/change_user_password", post(bearer::change_password))
        .route("/.well-known/openid-configuration", get(oidc::discovery))
        .route(oidc::JWKS_PATH, get(oidc::jwks))
}

/// Client credentials from HTTP Basic (URL-decoded halves) and/or the body.
pub(crate) fn credentials(
    headers: &HeaderMap,
    body_id: Option<String>,
    body_secret: Option<String>,
) -> Result<ClientCredentials, CiamReply> {
    let basic = match headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        Some(value) => {
            let (scheme, encoded) =
                value.trim().split_once(' ').ok_or(CiamReply::new(StatusCode::UNAUTHORIZED, "invalid_client", None))?;
            if !scheme.eq_ignore_ascii_case("basic") {
                return Err(CiamReply::new(StatusCode::UNAUTHORIZED, "invalid_client", None));
            }
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or(CiamReply::new(StatusCode::UNAUTHORIZED, "invalid_client", None))?;
            let (id, secret) = decoded.split_once(':').unwrap_or((decoded.as_str(), ""));
            let dec = |s: &str| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            Some((dec(id), dec(secret)))
        }
        None => None,
    };
    let body_id = body_id.filter(|s| !s.is_empty());
    let (client_id, secret) = match (basic, body_id) {
        (Some((a, _)), Some(b)) if a != b => {
            return Err(CiamReply::invalid_request("The client_id in the Authorization header and in the body differ."))
        }
        (Some((id, secret)), _) => (id, Some(secret).filter(|s| !s.is_empty()).or(body_secret)),
        (None, Some(id)) => (id, body_secret),
        (None, None) => return Err(CiamReply::new(StatusCode::UNAUTHORIZED, "invalid_client", None)),
    };
    Ok(ClientCredentials { client_id, client_secret: secret.filter(|s| !s.is_empty()).map(SecretString::from) })
}

/// The body of `POST /otp/send`: exactly one of `email` and `phone_number`.
#[derive(Default, Deserialize, ToSchema)]
pub(crate) struct SendBody {
    /// Only `reset_password` is supported (`login`, `signup` and `update_userinfo` are
    /// answered `invalid_request`).
    #[schema(required = true, pattern = "^reset_password$", example = "reset_password")]
    usage: Option<String>,
    email: Option<String>,
    /// E.164 (`+8613612345678`) or the 11-digit mainland form.
    phone_number: Option<String>,
    /// When not sent by HTTP Basic.
    pub(crate) client_id: Option<String>,
    /// When not sent by HTTP Basic (confidential clients only).
    pub(crate) client_secret: Option<String>,
}

/// The answer of `POST /otp/send`.
#[derive(Serialize, ToSchema)]
pub(crate) struct OtpTokenBody {
    /// Goes with the code to `POST /reset_user_password`.
    otp_token: String,
}

#[utoipa::path(
    post,
    path = "/otp/send",
    tag = "Tencent CIAM",
    summary = "Send a one-time code for a password reset",
    description = "The same answer for unknown accounts (nothing is delivered). Rate limits: per destination, per client, per address; every limit answer carries `Retry-After`.",
    request_body = SendBody,
    responses(
        (status = 200, description = "Sent (or, for an unknown account, pretended)", body = OtpTokenBody),
        (status = 400, description = "`invalid_request`, `unauthorized_client` (a public client no operator opted in), `insufficient_sms_quota` / `insufficient_email_quota` (the channel is switched off), `malformed_email`, `malformed_phone_number`, `sms_rate_limit_exceeded`, `email_rate_limit_exceeded` (extension)", body = CiamErrorBody),
        (status = 401, description = "`invalid_client`", body = CiamErrorBody),
        (status = 413, description = "`invalid_request`: a body over 64 KiB", body = CiamErrorBody),
        (status = 415, description = "`invalid_request`: a body that is not JSON", body = CiamErrorBody),
        (status = 429, description = "`rate_limit_exceeded` (extension): the per-client or per-address limit", body = CiamErrorBody),
        (status = 503, description = "`temporarily_unavailable`: delivery failed, or a backend is unavailable", body = CiamErrorBody),
    ),
    security(("ciam_client" = []), ())
)]
pub(crate) async fn send(
    State(state): State<Shared>,
    ClientIp(ip): ClientIp,
    req: Request,
) -> Result<Response, CiamReply> {
    let (headers, bytes) = body::read(req).await?;
    let b: SendBody = body::json(&headers, &bytes)?;
    let creds = credentials(&headers, b.client_id, b.client_secret)?;
    let req = SendOtp { usage: b.usage, email: b.email, phone_number: b.phone_number, ip };
    let token = state.app.ciam.send_otp(&creds, req).await?;
    let body = serde_json::to_string(&OtpTokenBody { otp_token: token.expose().to_owned() })
        .map_err(|e| CiamReply::unserialisable(&e))?;
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The body of `POST /reset_user_password`: `password` and the email triple or the phone
/// triple.
#[derive(Default, Deserialize, ToSchema)]
pub(crate) struct ResetBody {
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<String>,
    password: Option<String>,
    email: Option<String>,
    email_otp_token: Option<String>,
    email_otp: Option<String>,
    phone_number: Option<String>,
    phone_number_otp_token: Option<String>,
    phone_number_otp: Option<String>,
}

#[utoipa::path(
    post,
    path = "/reset_user_password",
    tag = "Tencent CIAM",
    summary = "Reset a password with a one-time code",
    description = "Checks in order: client, body, OTP token, code, user, status, policy, history; then one transaction. A refused password leaves the code usable.",
    request_body = ResetBody,
    responses(
        (status = 200, description = "Changed; the body is empty"),
        (status = 400, description = "`invalid_request`, `unauthorized_client`, `misconfigured`, `bad_email_otp_token`, `bad_phone_number_otp_token`, `bad_email_otp`, `bad_phone_number_otp`, `user_not_found`, `abnormal_user_status`, `invalid_new_password`, `recurrent_password`", body = CiamErrorBody),
        (status = 401, description = "`invalid_client`", body = CiamErrorBody),
        (status = 413, description = "`invalid_request`: a body over 64 KiB", body = CiamErrorBody),
        (status = 415, description = "`invalid_request`: a body that is not JSON", body = CiamErrorBody),
        (status = 429, description = "`rate_limit_exceeded` (extension): the per-address limit of password changes", body = CiamErrorBody),
        (status = 503, description = "`temporarily_unavailable`: a backend is unavailable", body = CiamErrorBody),
    ),
    security(("ciam_client" = []), ())
)]
pub(crate) async fn reset(
    State(state): State<Shared>,
    ClientIp(ip): ClientIp,
    req: Request,
) -> Result<Response, CiamReply> {
    let (headers, bytes) = body::read(req).await?;
    let b: ResetBody = body::json(&headers, &bytes)?;
    let creds = credentials(&headers, b.client_id, b.client_secret)?;
    let req = ResetWithOtp {
        password: b.password,
        email: b.email,
        email_otp_token: b.email_otp_token,
        email_otp: b.email_otp,
        phone_number: b.phone_number,
        phone_number_otp_token: b.phone_number_otp_token,
        phone_number_otp: b.phone_number_otp,
        ip,
    };
    state.app.ciam.reset_password(&creds, req).await?;
    Ok(StatusCode::OK.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(raw: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let v = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw));
        h.insert(header::AUTHORIZATION, v.parse().unwrap());
        h
    }

    #[test]
    fn basic_halves_are_url_decoded() {
        let c = credentials(&basic("my%20app:s%3Acret"), None, None).unwrap();
        assert_eq!(c.client_id, "my app");
        assert_eq!(secrecy::ExposeSecret::expose_secret(c.client_secret.as_ref().unwrap()), "s:cret");
    }

    #[test]
    fn public_clients_may_send_an_id_alone() {
        let c = credentials(&basic("spa-app:"), None, None).unwrap();
        assert!(c.client_secret.is_none());
        let c = credentials(&HeaderMap::new(), Some("spa-app".into()), None).unwrap();
        assert_eq!(c.client_id, "spa-app");
    }

    #[test]
    fn differing_ids_and_missing_ids_are_refused() {
        let e = credentials(&basic("a:b"), Some("c".into()), None).unwrap_err();
        assert_eq!((e.status, e.error), (StatusCode::BAD_REQUEST, "invalid_request"));
        let e = credentials(&HeaderMap::new(), None, None).unwrap_err();
        assert_eq!((e.status, e.error), (StatusCode::UNAUTHORIZED, "invalid_client"));
    }
}
