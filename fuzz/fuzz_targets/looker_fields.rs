//! Looker's `fields` parameter over a JSON answer: first line the parameter, the rest JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (fields, json) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    if let Ok(fields) = std::str::from_utf8(fields) {
        resetd_api_http::fuzzing::fields(json, fields);
    }
});
