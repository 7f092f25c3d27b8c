//! Entry points for the fuzz targets in `fuzz/`: every parser of untrusted input this crate
//! has, reachable without a server. Not an API (hidden; it follows the parsers). Each function
//! only parses: a panic, a hang or a crash inside is the finding.

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue};

use crate::body;
use crate::ciam::{credentials, ResetBody, SendBody};
use crate::looker::handlers::config::PasswordConfigBody;
use crate::looker::handlers::session::LoginForm;
use crate::looker::handlers::users::{WriteCredential, WriteUserBody};
use crate::redeem::Submit;

fn headers(content_type: &[u8], authorization: Option<&[u8]>) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_bytes(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Some(Ok(v)) = authorization.map(HeaderValue::from_bytes) {
        h.insert(header::AUTHORIZATION, v);
    }
    h
}

/// The Looker bodies: login (form or JSON), users, email credentials, `password_config`.
pub fn looker_bodies(content_type: &[u8], bytes: &[u8]) {
    let (h, b) = (headers(content_type, None), Bytes::copy_from_slice(bytes));
    let _: Option<LoginForm> = body::json_or_form(&h, &b).ok();
    let _: Option<WriteUserBody> = body::json_or_empty(&h, &b).ok();
    let _: Option<WriteCredential> = body::json_or_empty(&h, &b).ok();
    let _: Option<PasswordConfigBody> = body::json(&h, &b).ok();
}

/// The CIAM bodies with the client's credentials (HTTP Basic, URL-decoded halves).
pub fn ciam_bodies(content_type: &[u8], authorization: &[u8], bytes: &[u8]) {
    let (h, b) = (headers(content_type, Some(authorization)), Bytes::copy_from_slice(bytes));
    if let Ok(send) = body::json::<SendBody>(&h, &b) {
        let _ = credentials(&h, send.client_id, send.client_secret);
    }
    if let Ok(reset) = body::json::<ResetBody>(&h, &b) {
        let _ = credentials(&h, reset.client_id, reset.client_secret);
    }
    let _ = credentials(&h, None, None);
}

/// The reset page's form or JSON body.
pub fn page_body(content_type: &[u8], bytes: &[u8]) {
    let (h, b) = (headers(content_type, None), Bytes::copy_from_slice(bytes));
    let _: Option<Submit> = body::json_or_form(&h, &b).ok();
}

/// `Authorization: token X` / `Bearer X`, and the session token inside.
pub fn looker_authorization(value: &[u8]) {
    let h = headers(b"", Some(value));
    if let Some(token) = crate::looker::extract::bearer(&h) {
        let _ = resetd_domain::access::SessionToken::parse(token);
    }
}

/// Looker's `fields` parameter applied to a JSON answer.
pub fn fields(json: &[u8], fields: &str) {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(json) {
        let _ = crate::looker::view::select(value, Some(fields));
    }
}
