//! End-to-end tests live in `api/`; this crate has no library code.
