//! The reset-link page: `GET /password/reset/{token}` and `GET /account/setup/{token}` show a
//! form (consuming nothing, so mail scanners that fetch links do no harm); `POST
//! /password/reset` (form or JSON `{token, password}`) sets the password.

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use resetd_app::redeem::RedeemError;
use resetd_domain::password::Password;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::body;
use crate::client_ip::ClientIp;
use crate::looker::error::ErrorBody;
use crate::looker::LookerError;
use crate::Shared;

pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .route(STYLESHEET, get(stylesheet))
        .route("/password/reset/{token}", get(show))
        .route("/account/setup/{token}", get(show_setup))
        .route("/password/reset", post(submit))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// The pages' one stylesheet, a file of its own so the CSP needs no `'unsafe-inline'`.
const STYLESHEET: &str = "/password/assets/page.css";
const CSS: &str =
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.5}\
label,input,button{display:block;font-size:1rem}input{width:100%;padding:.5rem;margin:.25rem 0 1rem}\
button{padding:.5rem 1rem}.error{color:#a00;border-left:4px solid #a00;padding-left:.75rem}\n";

/// Nothing runs, nothing frames the page, the form posts only here.
const CSP: &str = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn stylesheet() -> Response {
    let mut r = ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("public, max-age=3600"));
    r
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\"><title>{t}</title>\
         <link rel=\"stylesheet\" href=\"{STYLESHEET}\"></head>\
         <body><main><h1>{t}</h1>{body}</main></body></html>",
        t = escape(title)
    );
    let mut r = (status, Html(html)).into_response();
    let headers = r.headers_mut();
    headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    headers.insert(header::CONTENT_SECURITY_POLICY, header::HeaderValue::from_static(CSP));
    r
}

fn form(token: &str, rules: &[String], errors: &[String]) -> String {
    let rules: String = rules.iter().map(|r| format!("<li>{}</li>", escape(r))).collect();
    let errors = if errors.is_empty() {
        String::new()
    } else {
        let items: String = errors.iter().map(|e| format!("<li>{}</li>", escape(e))).collect();
        format!("<div class=\"error\" role=\"alert\" id=\"errors\"><p>Your password was not changed:</p><ul>{items}</ul></div>")
    };
    format!(
        "{errors}<form method=\"post\" action=\"/password/reset\">\
         <input type=\"hidden\" name=\"token\" value=\"{token}\">\
         <label for=\"password\">New password</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" required aria-describedby=\"rules\">\
         <p id=\"rules\">Your new password must be:</p><ul>{rules}</ul>\
         <button type=\"submit\">Set password</button></form>",
        token = escape(token)
    )
}

const INVALID: &str = "This link is invalid or has expired. Ask for a new one.";

#[utoipa::path(
    get,
    path = "/password/reset/{token}",
    tag = "Reset link",
    summary = "The form behind `password_reset_url` (consumes nothing)",
    params(("token" = String, Path, description = "The token from the link")),
    responses(
        (status = 200, description = "The form, with the policy's rules", content_type = "text/html", body = String),
        (status = 404, description = "Unknown, used or expired link", content_type = "text/html", body = String),
    )
)]
pub(crate) async fn show(State(state): State<Shared>, Path(token): Path<String>) -> Response {
    match state.app.redeem.inspect(&token).await {
        Ok(f) => page(StatusCode::OK, "Choose a new password", &form(&token, &f.rules, &[])),
        Err(RedeemError::Unexpected(e)) => failed(&e),
        Err(_) => page(StatusCode::NOT_FOUND, "Link expired", &format!("<p>{INVALID}</p>")),
    }
}

#[utoipa::path(
    get,
    path = "/account/setup/{token}",
    tag = "Reset link",
    summary = "The form behind `account_setup_url` (consumes nothing)",
    params(("token" = String, Path, description = "The token from the link")),
    responses(
        (status = 200, description = "The form, with the policy's rules", content_type = "text/html", body = String),
        (status = 404, description = "Unknown, used or expired link", content_type = "text/html", body = String),
    )
)]
pub(crate) async fn show_setup(state: State<Shared>, token: Path<String>) -> Response {
    show(state, token).await
}

/// The form's fields, posted as a form or as JSON.
#[derive(Default, Deserialize, ToSchema)]
pub(crate) struct Submit {
    token: Option<String>,
    password: Option<String>,
}

fn wants_json(headers: &HeaderMap) -> bool {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    !ct.starts_with("application/x-www-form-urlencoded")
}

/// The JSON answer of a redeemed link.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Redeemed {
    /// `Your password was changed.`
    message: String,
}

#[utoipa::path(
    post,
    path = "/password/reset",
    tag = "Reset link",
    summary = "Redeem a reset or account-setup link: set the password, consume the token",
    description = "A form post answers with an HTML page; any other content type is read as JSON and answered in JSON (errors in the Looker dialect).",
    request_body(content(
        (Submit = "application/x-www-form-urlencoded"),
        (Submit = "application/json"),
    )),
    responses(
        (status = 200, description = "Changed", content(
            (Redeemed = "application/json"),
            (String = "text/html"),
        )),
        (status = 400, description = "Malformed body", content(
            (ErrorBody = "application/json"),
            (String = "text/html"),
        )),
        (status = 404, description = "Unknown, used or expired link", content(
            (ErrorBody = "application/json"),
            (String = "text/html"),
        )),
        (status = 413, description = "A body over 64 KiB", body = ErrorBody),
        (status = 415, description = "A body that is neither a form nor JSON", body = ErrorBody),
        (status = 422, description = "The password breaks the policy or was used recently (the form again, with the reasons)", content(
            (ErrorBody = "application/json"),
            (String = "text/html"),
        )),
    )
)]
pub(crate) async fn submit(State(state): State<Shared>, ClientIp(ip): ClientIp, req: Request) -> Response {
    let (headers, bytes) = match body::read(req).await {
        Ok(b) => b,
        Err(e) => return LookerError::from(e).render(&state.docs_base),
    };
    let json = wants_json(&headers);
    let parsed: Result<Submit, _> = body::json_or_form(&headers, &bytes);
    let b = match parsed {
        Ok(b) => b,
        Err(e) if json => return LookerError::from(e).render(&state.docs_base),
        Err(_) => return page(StatusCode::BAD_REQUEST, "Link expired", &format!("<p>{INVALID}</p>")),
    };
    let token = b.token.unwrap_or_default();
    let result = match Password::new(b.password.unwrap_or_default()) {
        Ok(p) => state.app.redeem.redeem_from(&token, p, ip).await,
        Err(e) => Err(bad_password(e)),
    };
    match (result, json) {
        (Ok(()), true) => {
            (StatusCode::OK, Json(Redeemed { message: "Your password was changed.".into() })).into_response()
        }
        (Ok(()), false) => {
            page(StatusCode::OK, "Password changed", "<p>Your password was changed. You can sign in with it now.</p>")
        }
        (Err(e), true) => redeem_error(e).render(&state.docs_base),
        (Err(RedeemError::InvalidToken), false) => {
            page(StatusCode::NOT_FOUND, "Link expired", &format!("<p>{INVALID}</p>"))
        }
        (Err(RedeemError::Unexpected(e)), false) => failed(&e),
        (Err(RedeemError::RateLimited { retry_after }), false) => {
            let mut r =
                page(StatusCode::TOO_MANY_REQUESTS, "Too many attempts", "<p>Please wait a minute and try again.</p>");
            r.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(retry_after.as_secs().max(1)));
            r
        }
        (Err(e), false) => match state.app.redeem.rules().await {
            Ok(rules) => {
                page(StatusCode::UNPROCESSABLE_ENTITY, "Choose a new password", &form(&token, &rules, &messages(&e)))
            }
            Err(failure) => failed(&failure),
        },
    }
}

/// A page for a failure of the service: 503 (try again) while a backend is unavailable, 500
/// otherwise; the cause goes to the log only.
fn failed(e: &resetd_app::Unexpected) -> Response {
    if e.is_unavailable() {
        tracing::warn!(error = %e, cause = ?e.source, "a backend is unavailable");
        page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Temporarily unavailable",
            "<p>The service is temporarily unavailable. Please try again in a minute.</p>",
        )
    } else {
        tracing::error!(error = %e, cause = ?e.source, "the reset page failed");
        page(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", "<p>Please try again later.</p>")
    }
}

fn bad_password(e: resetd_domain::password::PasswordError) -> RedeemError {
    RedeemError::Rejected(e.to_string())
}

fn messages(e: &RedeemError) -> Vec<String> {
    match e {
        RedeemError::Policy(v) => v.iter().map(ToString::to_string).collect(),
        RedeemError::Recurrent => vec!["You used this password recently; choose another.".into()],
        RedeemError::Rejected(m) => vec![format!("{m}.")],
        RedeemError::InvalidToken | RedeemError::Unexpected(_) | RedeemError::RateLimited { .. } => {
            vec![INVALID.into()]
        }
    }
}

fn redeem_error(e: RedeemError) -> LookerError {
    let field =
        |code: &'static str, message: String| resetd_app::admin::FieldError { field: "password", code, message };
    match e {
        RedeemError::InvalidToken => LookerError::new(StatusCode::NOT_FOUND, INVALID),
        RedeemError::RateLimited { retry_after } => resetd_app::admin::AdminError::RateLimited { retry_after }.into(),
        RedeemError::Policy(v) => LookerError::validation(v.iter().map(|m| field("invalid", m.to_string())).collect()),
        RedeemError::Recurrent => {
            LookerError::validation(vec![field("recurrent", "The password was used recently.".into())])
        }
        RedeemError::Rejected(m) => LookerError::validation(vec![field("invalid", m)]),
        RedeemError::Unexpected(e) => resetd_app::admin::AdminError::Unexpected(e).into(),
    }
}
