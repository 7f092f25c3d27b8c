//! Reading request bodies so that every rejection can be answered in the API's own dialect.

use axum::body::Bytes;
use axum::http::{header, HeaderMap};
use serde::de::DeserializeOwned;

/// Why a body could not be read.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// 413.
    TooLarge,
    /// 415.
    UnsupportedMediaType,
    /// 400, with a reason.
    Malformed(String),
}

/// The body bytes (axum's `Bytes` extractor already enforced the size limit).
pub(crate) async fn read(req: axum::extract::Request) -> Result<(HeaderMap, Bytes), BodyError> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, crate::BODY_LIMIT).await.map_err(|_| BodyError::TooLarge)?;
    Ok((parts.headers, bytes))
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// A JSON body; an empty body is `T::default()` (Looker SDKs send empty POSTs).
pub(crate) fn json_or_empty<T: DeserializeOwned + Default>(headers: &HeaderMap, bytes: &Bytes) -> Result<T, BodyError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    json(headers, bytes)
}

/// A JSON body (`application/json` or `+json`).
pub(crate) fn json<T: DeserializeOwned>(headers: &HeaderMap, bytes: &Bytes) -> Result<T, BodyError> {
    let ct = content_type(headers);
    if !(ct == "application/json" || ct.ends_with("+json")) {
        return Err(BodyError::UnsupportedMediaType);
    }
    serde_json::from_slice(bytes)
        .map_err(|e| BodyError::Malformed(format!("The body is not valid JSON for this request: {e}.")))
}

/// A JSON or urlencoded-form body, by content type.
pub(crate) fn json_or_form<T: DeserializeOwned>(headers: &HeaderMap, bytes: &Bytes) -> Result<T, BodyError> {
    if content_type(headers) == "application/x-www-form-urlencoded" {
        return serde_urlencoded::from_bytes(bytes)
            .map_err(|_| BodyError::Malformed("The form body is malformed.".into()));
    }
    json(headers, bytes)
}
