//! The Looker bodies (login form or JSON, users, credentials, password_config) under any
//! content type the first line names.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (content_type, body) = split(data);
    resetd_api_http::fuzzing::looker_bodies(content_type, body);
    resetd_api_http::fuzzing::looker_authorization(content_type);
});

fn split(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}
