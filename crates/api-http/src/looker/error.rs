//! The Looker error dialect: `{"message", "documentation_url"}`, 422 with `errors[]`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use resetd_app::looker::{AdminError, FieldError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::body::BodyError;
use crate::guard::Failure;

/// Looker's `Error` (and `ValidationError`, with `errors`).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    message: String,
    documentation_url: String,
    /// Only on `422`.
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<Vec<ValidationItem>>,
}

/// Looker's `ValidationErrorDetail`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ValidationItem {
    field: String,
    code: String,
    message: String,
    documentation_url: String,
}

/// A Looker error answer.
#[derive(Debug)]
pub(crate) struct LookerError {
    pub status: StatusCode,
    pub message: String,
    pub errors: Option<Vec<FieldError>>,
    pub retry_after: Option<u64>,
}

impl LookerError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into(), errors: None, retry_after: None }
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        Self { errors: Some(errors), ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "Validation Failed") }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn render(self, docs_base: &str) -> Response {
        let doc = format!("{}/errors/{}", docs_base.trim_end_matches('/'), self.status.as_u16());
        let errors = self.errors.map(|errors| {
            errors
                .into_iter()
                .map(|e| ValidationItem {
                    field: e.field.to_owned(),
                    code: e.code.to_owned(),
                    message: e.message,
                    documentation_url: doc.clone(),
                })
                .collect()
        });
        let body = ErrorBody { message: self.message, documentation_url: doc, errors };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// The answer while a backend is down or hung.
pub(crate) const UNAVAILABLE: &str = "The service is temporarily unavailable. Please try again later.";

/// A panic or a timeout, in this dialect (see [`crate::guard`]).
/// The Looker routers' answers to a panic or the deadline.
pub(crate) fn responder(docs_base: std::sync::Arc<str>) -> crate::guard::Responder {
    std::sync::Arc::new(move |_: &crate::guard::Asked, f: Failure| failure(&docs_base, f))
}

pub(crate) fn failure(docs_base: &str, failure: Failure) -> Response {
    match failure {
        Failure::Panicked => LookerError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error"),
        Failure::TimedOut => {
            LookerError::new(StatusCode::SERVICE_UNAVAILABLE, "The request took too long. Please try again later.")
        }
    }
    .render(docs_base)
}

impl From<AdminError> for LookerError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Unauthenticated => Self::new(StatusCode::UNAUTHORIZED, "Requires authentication."),
            AdminError::Forbidden => Self::new(StatusCode::FORBIDDEN, "Forbidden: the caller may not do this."),
            AdminError::NotFound => Self::new(StatusCode::NOT_FOUND, "Not found"),
            AdminError::Conflict(m) => Self::new(StatusCode::CONFLICT, m),
            AdminError::Validation(errors) => {
                Self { errors: Some(errors), ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "Validation Failed") }
            }
            AdminError::RateLimited { retry_after } => Self {
                retry_after: Some(retry_after.as_secs().max(1)),
                ..Self::new(StatusCode::TOO_MANY_REQUESTS, "Too many requests: try again later.")
            },
            AdminError::Unexpected(e) if e.is_unavailable() => {
                tracing::warn!(error = %e, cause = ?e.source, "a backend is unavailable");
                Self::new(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE)
            }
            AdminError::Unexpected(e) => {
                tracing::error!(error = %e, cause = ?e.source, "admin request failed");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
            }
        }
    }
}

impl From<BodyError> for LookerError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge => Self::new(StatusCode::PAYLOAD_TOO_LARGE, "The request body is too large."),
            BodyError::UnsupportedMediaType => {
                Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "The request body must be application/json.")
            }
            BodyError::Malformed(m) => Self::bad_request(m),
        }
    }
}
