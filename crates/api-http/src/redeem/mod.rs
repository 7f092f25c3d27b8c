//! The reset-link page: `GET /password/reset/{token}` and `GET /account/setup/{token}` show a
//! form (consuming nothing, so mail scanners that fetch links do no harm); `POST
//! /password/reset` (form or JSON `{token, password}`) sets the password. The HTML speaks the
//! user's language (see [`words`]); JSON answers in the Looker dialect.

mod html;
pub(crate) mod words;

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use resetd_app::redeem::{InspectError, RedeemError, ResetForm};
use resetd_app::Fault;
use resetd_domain::locale::Language;
use resetd_domain::password::{Password, PasswordError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::body;
use crate::client_ip::ClientIp;
use crate::looker::error::ErrorBody;
use crate::looker::error::FieldError;
use crate::looker::LookerError;
use crate::Shared;
use html::{form, message, CSS, JS, SCRIPT, STYLESHEET};
use words::{from_browser, ours, words};

pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .route(STYLESHEET, get(stylesheet))
        .route(SCRIPT, get(script))
        .route("/password/reset/{token}", get(show))
        .route("/account/setup/{token}", get(show_setup))
        .route("/password/reset", post(submit))
}

async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", CSS)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", JS)
}

fn asset(content_type: &'static str, text: &'static str) -> Response {
    let mut r = ([(header::CONTENT_TYPE, content_type)], text).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("public, max-age=3600"));
    r
}

/// The user's language when the link names a user whose locale is one of ours, else the
/// browser's.
fn language(f: &ResetForm, browser: Language) -> Language {
    f.locale.as_deref().and_then(ours).unwrap_or(browser)
}

fn invalid(status: StatusCode, lang: Language) -> Response {
    let w = words(lang);
    message(status, lang, w.invalid_title, w.invalid_text)
}

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
pub(crate) async fn show(State(state): State<Shared>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    let browser = from_browser(&headers);
    match inspect(&state, &token, browser).await {
        Ok(f) => form(StatusCode::OK, language(&f, browser), &token, &f, &[]),
        Err(page) => page,
    }
}

/// The link's form, or the page that says why there is none, in the browser's language.
async fn inspect(state: &Shared, token: &str, browser: Language) -> Result<ResetForm, Response> {
    state.app.redeem.inspect(token).await.map_err(|e| match e {
        InspectError::InvalidToken => invalid(StatusCode::NOT_FOUND, browser),
        InspectError::Unavailable(e) => unavailable(browser, &e),
        InspectError::Unexpected(e) => failed(browser, &e),
    })
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
pub(crate) async fn show_setup(state: State<Shared>, token: Path<String>, headers: HeaderMap) -> Response {
    show(state, token, headers).await
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
    let browser = from_browser(&headers);
    let json = wants_json(&headers);
    let parsed: Result<Submit, _> = body::json_or_form(&headers, &bytes);
    let b = match parsed {
        Ok(b) => b,
        Err(e) if json => return LookerError::from(e).render(&state.docs_base),
        Err(_) => return invalid(StatusCode::BAD_REQUEST, browser),
    };
    let token = b.token.unwrap_or_default();
    let password = Password::new(b.password.unwrap_or_default());
    if json {
        let result = match password {
            Ok(p) => state.app.redeem.redeem_from(&token, p, ip).await,
            Err(e) => return unusable(&e).render(&state.docs_base),
        };
        return match result {
            Ok(()) => (StatusCode::OK, Json(Redeemed { message: "Your password was changed.".into() })).into_response(),
            Err(e) => redeem_error(e).render(&state.docs_base),
        };
    }
    // The page: the link's user and language first (a refused password shows the form again).
    let f = match inspect(&state, &token, browser).await {
        Ok(f) => f,
        Err(page) => return page,
    };
    let lang = language(&f, browser);
    let w = words(lang);
    let result = match password {
        Ok(p) => state.app.redeem.redeem_from(&token, p, ip).await,
        Err(e) => return form(StatusCode::UNPROCESSABLE_ENTITY, lang, &token, &f, &[words::unusable(lang, &e)]),
    };
    match result {
        Ok(()) => message(StatusCode::OK, lang, w.done_title, w.done_text),
        Err(RedeemError::InvalidToken) => invalid(StatusCode::NOT_FOUND, lang),
        Err(RedeemError::Unavailable(e)) => unavailable(lang, &e),
        Err(RedeemError::Unexpected(e)) => failed(lang, &e),
        Err(RedeemError::RateLimited { retry_after }) => {
            let mut r = message(StatusCode::TOO_MANY_REQUESTS, lang, w.busy_title, w.busy_text);
            r.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(retry_after.as_secs().max(1)));
            r
        }
        Err(RedeemError::Policy(v)) => {
            let reasons: Vec<String> = v.iter().map(|v| words::violation(lang, v)).collect();
            form(StatusCode::UNPROCESSABLE_ENTITY, lang, &token, &f, &reasons)
        }
        Err(RedeemError::Recurrent) => form(StatusCode::UNPROCESSABLE_ENTITY, lang, &token, &f, &[w.recurrent.into()]),
    }
}

/// The reset page's answers to a panic or the deadline, in the shape of its other answers: a
/// program posting JSON gets the Looker dialect, a browser a page in its language.
pub(crate) fn responder(docs_base: std::sync::Arc<str>) -> crate::guard::Responder {
    std::sync::Arc::new(move |asked: &crate::guard::Asked, f: crate::guard::Failure| {
        if asked.method == axum::http::Method::POST && wants_json(&asked.headers) {
            return crate::looker::failure(&docs_base, f);
        }
        let lang = from_browser(&asked.headers);
        let w = words(lang);
        match f {
            crate::guard::Failure::Panicked => {
                message(StatusCode::INTERNAL_SERVER_ERROR, lang, w.failed_title, w.failed_text)
            }
            crate::guard::Failure::TimedOut => {
                message(StatusCode::SERVICE_UNAVAILABLE, lang, w.unavailable_title, w.unavailable_text)
            }
        }
    })
}

/// The page while a backend is unavailable: 503, try again; the cause goes to the log only.
fn unavailable(lang: Language, e: &Fault) -> Response {
    tracing::warn!(error = %e, cause = ?e.source, "a backend is unavailable");
    let w = words(lang);
    message(StatusCode::SERVICE_UNAVAILABLE, lang, w.unavailable_title, w.unavailable_text)
}

/// The page for a bug: 500; the cause goes to the log only.
fn failed(lang: Language, e: &Fault) -> Response {
    tracing::error!(error = %e, cause = ?e.source, "the reset page failed");
    let w = words(lang);
    message(StatusCode::INTERNAL_SERVER_ERROR, lang, w.failed_title, w.failed_text)
}

const INVALID: &str = "This link is invalid or has expired. Ask for a new one.";

fn password_field(code: &'static str, message: String) -> FieldError {
    FieldError { field: "password".into(), code, message }
}

/// A password no policy could accept (empty, or too long for the hasher), in the JSON answer.
fn unusable(e: &PasswordError) -> LookerError {
    let message = match e {
        PasswordError::Empty => "the password is empty".to_owned(),
        PasswordError::TooLong { max } => format!("the password is longer than {max} bytes"),
    };
    LookerError::validation(vec![password_field("invalid", message)])
}

/// The JSON answers, in the Looker dialect.
fn redeem_error(e: RedeemError) -> LookerError {
    match e {
        RedeemError::InvalidToken => LookerError::new(StatusCode::NOT_FOUND, INVALID),
        RedeemError::RateLimited { retry_after } => LookerError::rate_limited(retry_after),
        RedeemError::Policy(v) => LookerError::validation(
            v.iter().map(|m| password_field("invalid", words::violation(Language::English, m))).collect(),
        ),
        RedeemError::Recurrent => {
            LookerError::validation(vec![password_field("recurrent", "The password was used recently.".into())])
        }
        RedeemError::Unavailable(f) => LookerError::unavailable(&f),
        RedeemError::Unexpected(f) => LookerError::unexpected(&f),
    }
}
