//! `POST /oauth2/token` (the password and refresh grants) and `POST /oauth2/revoke`, form
//! encoded (JSON is read too), with client authentication as on the other CIAM endpoints.

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use resetd_app::ciam::{PasswordGrant, RefreshGrant, RevokeError, TokenError, Tokens};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{credentials, CiamErrorBody, CiamReply};
use crate::body;
use crate::client_ip::ClientIp;
use crate::Shared;

/// The form of `POST /oauth2/token`.
#[derive(Default, Deserialize, ToSchema)]
pub(crate) struct TokenForm {
    /// `password` or `refresh_token` (the OTP and authorization-code grants are not served).
    #[schema(example = "password")]
    grant_type: Option<String>,
    /// Password grant: the user's email address or phone number.
    username: Option<String>,
    /// Password grant: the password.
    password: Option<String>,
    /// Password grant: accepted and ignored (resetd has one username-password source).
    auth_source_id: Option<String>,
    /// Refresh grant: the refresh token.
    refresh_token: Option<String>,
    /// Accepted and ignored: the scope is always `openid`.
    scope: Option<String>,
    /// When not sent by HTTP Basic.
    client_id: Option<String>,
    /// When not sent by HTTP Basic (confidential clients only).
    client_secret: Option<String>,
}

/// The answer of a successful grant.
#[derive(Serialize, ToSchema)]
pub(crate) struct TokenBody {
    /// A JWT signed like the ID token: validate it against the JWKS.
    access_token: String,
    /// Present it once to `grant_type=refresh_token`: it is rotated.
    refresh_token: String,
    /// The OpenID Connect ID token.
    id_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    token_type: &'static str,
    /// The access token's lifetime in seconds.
    #[schema(example = 600)]
    expires_in: u64,
    /// Always `openid`.
    #[schema(example = "openid")]
    scope: &'static str,
}

#[utoipa::path(
    post,
    path = "/oauth2/token",
    tag = "Tencent CIAM",
    summary = "Log a user in (password grant) or refresh its tokens",
    description = "Form encoded. `grant_type=password` with `username` (email or phone number) and `password`; `grant_type=refresh_token` with `refresh_token`, which is rotated: a rotated one presented again ends the login, except a retry within the grace window, which gets the same answer. A wrong password and an unknown user get the same answer; a status answer comes only after the password verified. Answers carry `Cache-Control: no-store`.",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Tokens", body = TokenBody),
        (status = 400, description = "`invalid_request` (a missing parameter), `unsupported_grant_type`, `unauthorized_client` (an M2M client), `invalid_grant` (`Wrong username or password`, `Abnormal user status`, `Unsupported username identifier`, or a bad refresh token)", body = CiamErrorBody),
        (status = 401, description = "`invalid_client`", body = CiamErrorBody),
        (status = 413, description = "`invalid_request`: a body over 64 KiB", body = CiamErrorBody),
        (status = 415, description = "`invalid_request`: a body that is neither a form nor JSON", body = CiamErrorBody),
        (status = 429, description = "`rate_limit_exceeded`: the per-address or per-client limit", body = CiamErrorBody),
        (status = 503, description = "`temporarily_unavailable`", body = CiamErrorBody),
    ),
    security(("ciam_client" = []), ())
)]
pub(crate) async fn token(state: State<Shared>, ip: ClientIp, req: Request) -> Response {
    no_store(grant(state, ip, req).await.into_response())
}

async fn grant(State(state): State<Shared>, ClientIp(ip): ClientIp, req: Request) -> Result<Response, CiamReply> {
    let (headers, bytes) = body::read(req).await?;
    let f: TokenForm = body::json_or_form(&headers, &bytes)?;
    let _ignored = (f.auth_source_id, f.scope);
    let grant =
        f.grant_type.filter(|g| !g.is_empty()).ok_or_else(|| CiamReply::invalid_request("Missing grant_type."))?;
    let creds = credentials(&headers, f.client_id, f.client_secret)?;
    let tokens = match grant.as_str() {
        "password" => {
            let req = PasswordGrant { username: f.username, password: f.password, ip };
            state.app.ciam.password_grant(&creds, req).await?
        }
        "refresh_token" => {
            let req = RefreshGrant { refresh_token: f.refresh_token, ip };
            state.app.ciam.refresh_grant(&creds, req).await?
        }
        _ => {
            let unsupported = CiamReply::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                Some("OAuth 2.0 Parameter: grant_type".into()),
            );
            return Err(unsupported.with_uri("https://datatracker.ietf.org/doc/html/rfc6749#section-5.2"));
        }
    };
    tokens_body(tokens)
}

fn tokens_body(t: Tokens) -> Result<Response, CiamReply> {
    let body = TokenBody {
        access_token: t.access_token,
        refresh_token: t.refresh_token.expose(),
        id_token: t.id_token,
        token_type: "Bearer",
        expires_in: t.expires_in.as_secs(),
        scope: "openid",
    };
    let text = serde_json::to_string(&body).map_err(|e| CiamReply::unserialisable(&e))?;
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], text).into_response())
}

/// Token answers, good or bad, are never cached (RFC 6749 §5.1).
pub(super) fn no_store(mut r: Response) -> Response {
    r.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    r.headers_mut().insert(header::PRAGMA, header::HeaderValue::from_static("no-cache"));
    r
}

/// The form of `POST /oauth2/revoke` (RFC 7009).
#[derive(Default, Deserialize, ToSchema)]
pub(crate) struct RevokeForm {
    /// A refresh token or an access token.
    token: Option<String>,
    /// Accepted and ignored: both kinds are recognised by their shape.
    token_type_hint: Option<String>,
    /// When not sent by HTTP Basic.
    client_id: Option<String>,
    /// When not sent by HTTP Basic (confidential clients only).
    client_secret: Option<String>,
}

#[utoipa::path(
    post,
    path = "/oauth2/revoke",
    tag = "Tencent CIAM",
    summary = "End a login (RFC 7009)",
    description = "Form encoded. Ends the login of a refresh token or an access token: its refresh tokens, and the access tokens issued in it at resetd's own endpoints. `200` whether or not the token was valid; another client's token is left alone.",
    request_body(content = RevokeForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked, or nothing to revoke"),
        (status = 400, description = "`invalid_request`: no `token`", body = CiamErrorBody),
        (status = 401, description = "`invalid_client`", body = CiamErrorBody),
        (status = 413, description = "`invalid_request`: a body over 64 KiB", body = CiamErrorBody),
        (status = 415, description = "`invalid_request`: a body that is neither a form nor JSON", body = CiamErrorBody),
        (status = 503, description = "`temporarily_unavailable`", body = CiamErrorBody),
    ),
    security(("ciam_client" = []), ())
)]
pub(crate) async fn revoke(state: State<Shared>, req: Request) -> Response {
    no_store(end_login(state, req).await.into_response())
}

async fn end_login(State(state): State<Shared>, req: Request) -> Result<Response, CiamReply> {
    let (headers, bytes) = body::read(req).await?;
    let f: RevokeForm = body::json_or_form(&headers, &bytes)?;
    let _ignored = f.token_type_hint;
    let creds = credentials(&headers, f.client_id, f.client_secret)?;
    state.app.ciam.revoke(&creds, f.token.as_deref()).await?;
    Ok(StatusCode::OK.into_response())
}

impl From<TokenError> for CiamReply {
    fn from(e: TokenError) -> Self {
        let grant = |d: &str| Self::new(StatusCode::BAD_REQUEST, "invalid_grant", Some(d.to_owned()));
        match e {
            TokenError::InvalidClient => Self::invalid_client(),
            TokenError::UnauthorizedClient => Self::new(
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                Some("This application type may not use this grant.".into()),
            ),
            TokenError::MissingParameter(name) => Self::invalid_request(&format!("Missing {name}.")),
            TokenError::UnsupportedUsername => grant("Unsupported username identifier"),
            TokenError::WrongCredentials => grant("Wrong username or password"),
            TokenError::AbnormalUserStatus => grant("Abnormal user status"),
            TokenError::InvalidGrant => grant("Invalid refresh token"),
            TokenError::RateLimited { retry_after } => Self::rate_limited(retry_after),
            TokenError::Unavailable(f) => Self::unavailable(&f),
            TokenError::Unexpected(f) => Self::unexpected(&f),
        }
    }
}

impl From<RevokeError> for CiamReply {
    fn from(e: RevokeError) -> Self {
        match e {
            RevokeError::InvalidClient => Self::invalid_client(),
            RevokeError::MissingToken => Self::invalid_request("Missing token."),
            RevokeError::Unavailable(f) => Self::unavailable(&f),
            RevokeError::Unexpected(f) => Self::unexpected(&f),
        }
    }
}
