//! The Looker API 4.0 router (admin side). Every answer is JSON; every error is
//! `{"message", "documentation_url"}`. Extractors (`extract`) authenticate and parse, so each
//! handler calls one use case and shapes its answer.

// Handlers return `Result<Response, Response>`, axum's idiom; the error is already a response.
#![allow(clippy::result_large_err)]

pub(crate) mod error;
pub(crate) mod extract;
pub(crate) mod handlers;
pub(crate) mod view;
pub(crate) mod words;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde_json::Value;

pub(crate) use self::error::LookerError;
use self::handlers::{config, credentials, session, users};
pub(crate) use self::words::{failure, responder};
use crate::Shared;

pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .route("/api/4.0/login", post(session::login))
        .route("/api/4.0/logout", delete(session::logout))
        .route("/api/logout", delete(session::logout_unversioned))
        .route("/api/4.0/user", get(session::me))
        .route("/api/4.0/users", get(users::list_users).post(users::create_user))
        .route("/api/4.0/users/{user_id}", get(users::get_user).patch(users::update_user).delete(users::delete_user))
        .route(
            "/api/4.0/users/{user_id}/credentials_email",
            get(credentials::get_credential)
                .post(credentials::create_credential)
                .patch(credentials::update_credential)
                .delete(credentials::delete_credential),
        )
        .route("/api/4.0/users/{user_id}/credentials_email/password_reset", post(credentials::password_reset))
        .route("/api/4.0/users/{user_id}/credentials_email/send_password_reset", post(credentials::send_password_reset))
        .route("/api/4.0/password_config", get(config::get_password_config).patch(config::update_password_config))
        .route(
            "/api/4.0/password_config/force_password_reset_at_next_login_for_all_users",
            put(config::force_reset_all),
        )
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
