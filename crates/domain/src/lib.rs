//! resetd's domain: the values and rules of password reset, with no I/O and no async.
//!
//! Every type here is built by a fallible constructor (`parse`, `new`, `generate`), so a value
//! that exists is valid. Secrets (passwords, tokens, codes, keys) are wrapped in `secrecy`
//! types and print as `[redacted]` through `Debug`; `Display` is not implemented for them.
//! What is stored is never the secret itself: passwords as argon2id PHC strings, generated
//! secrets as HMAC-SHA-256 digests under the server's [`keyed::TokenKey`].

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod access;
pub mod client;
pub mod keyed;
pub mod keyring;
pub mod locale;
pub mod otp;
pub mod password;
pub mod policy;
pub mod reset_token;
pub mod user;

mod opaque;

pub use opaque::OpaqueSecretError;
