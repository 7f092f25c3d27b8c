//! Reading request bodies so that every rejection can be answered in the API's own dialect.

use axum::body::Bytes;
use axum::http::{header, HeaderMap};
use serde::de::DeserializeOwned;
use serde_json::Value;

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
    if bytes.iter().all(u8::is_ascii_whitespace) || bytes.as_ref() == b"null" {
        return Ok(T::default());
    }
    json(headers, bytes)
}

/// A JSON body (`application/json` or `+json`) holding one object: every body of both APIs is
/// an object, and reading through a map keeps serde from filling a struct from an array.
pub(crate) fn json<T: DeserializeOwned>(headers: &HeaderMap, bytes: &Bytes) -> Result<T, BodyError> {
    let ct = content_type(headers);
    if !(ct == "application/json" || ct.ends_with("+json")) {
        return Err(BodyError::UnsupportedMediaType);
    }
    let malformed =
        |e: serde_json::Error| BodyError::Malformed(format!("The body is not valid JSON for this request: {e}."));
    let object: serde_json::Map<String, Value> = serde_json::from_slice(bytes).map_err(malformed)?;
    T::deserialize(Value::Object(object)).map_err(malformed)
}

/// For a nested object field: absent or `null` is `None`, an object is read into `T`, and
/// anything else (an array, say) is an error.
pub(crate) fn nested_object<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: DeserializeOwned,
{
    use serde::Deserialize as _;
    match Option::<serde_json::Map<String, Value>>::deserialize(d)? {
        None => Ok(None),
        Some(object) => T::deserialize(Value::Object(object)).map(Some).map_err(serde::de::Error::custom),
    }
}

/// A JSON or urlencoded-form body, by content type.
pub(crate) fn json_or_form<T: DeserializeOwned>(headers: &HeaderMap, bytes: &Bytes) -> Result<T, BodyError> {
    if content_type(headers) == "application/x-www-form-urlencoded" {
        return serde_urlencoded::from_bytes(bytes)
            .map_err(|_| BodyError::Malformed("The form body is malformed.".into()));
    }
    json(headers, bytes)
}
