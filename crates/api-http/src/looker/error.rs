//! The Looker error shape: `{"message", "documentation_url"}`, 422 with `errors[]`. The
//! words are in [`super::words`].

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

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

/// One field error of a 422.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub message: String,
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
                    field: e.field,
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
