//! The CIAM bodies and the client's HTTP Basic credentials: first line the content type,
//! second the Authorization header, the rest the body.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |b| *b == b'\n');
    let content_type = parts.next().unwrap_or_default();
    let authorization = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();
    resetd_api_http::fuzzing::ciam_bodies(content_type, authorization, body);
});
