//! resetd's domain: the values and rules of password reset, with no I/O and no async.
//!
//! Every type here is built by a fallible constructor (`parse`, `new`, `generate`), so a value
//! that exists is valid. Secrets (passwords, tokens, codes, keys) are wrapped in `secrecy`
//! types and print as `[redacted]` through `Debug`; `Display` is not implemented for them.
//! What is stored is never the secret itself: passwords as argon2id PHC strings, generated
//! secrets as HMAC-SHA-256 digests under the server's [`keyed::TokenKey`].
//!
//! Reuse it wherever these values cross a boundary: parse what arrives ([`user::Email`],
//! [`user::PhoneNumber`], [`otp::OtpCode`], …), generate secrets and keep only their digests
//! ([`reset_token::ResetToken`], [`otp::OtpToken`], [`keyring::KeyRing`] to change keys without
//! downtime), judge one-time-code guesses ([`otp::OtpChallenge::judge`]), check new passwords
//! against a [`policy::PasswordPolicy`] and hash them ([`password::Argon2Hasher`], synchronous:
//! run it off an async runtime).
//!
//! ```
//! use resetd_domain::keyed::TokenKey;
//! use resetd_domain::password::Password;
//! use resetd_domain::policy::{PasswordPolicy, PolicyContext, PolicyViolation};
//! use resetd_domain::reset_token::ResetToken;
//! use resetd_domain::user::Email;
//!
//! let email = Email::parse("  Ada.Lovelace@Example.COM ")?;
//! assert_eq!(email.as_str(), "ada.lovelace@example.com");
//!
//! // A reset link's token is shown once; only its keyed digest is stored and compared.
//! let key = TokenKey::generate(&mut rand::rngs::OsRng);
//! let token = ResetToken::generate(&mut rand::rngs::OsRng);
//! let stored = token.digest(&key);
//! let presented = ResetToken::parse(token.expose())?;
//! assert_eq!(presented.digest(&key), stored);
//!
//! // Every violated rule is reported, in a stable order.
//! let policy = PasswordPolicy::default();
//! let ctx = PolicyContext { email: Some(&email) };
//! assert_eq!(policy.check(&Password::new("Tr4vel-by-Zeppelin".to_owned())?, &ctx), Ok(()));
//! let refused = policy.check(&Password::new("ada.lovelace-1815".to_owned())?, &ctx).unwrap_err();
//! assert_eq!(refused, [PolicyViolation::MissingUpperLower, PolicyViolation::ContainsEmailLocalPart]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod access;
pub mod breach;
pub mod client;
pub mod keyed;
pub mod keyring;
pub mod locale;
pub mod login;
pub mod oidc;
pub mod otp;
pub mod password;
pub mod policy;
pub mod reset_token;
pub mod user;

mod opaque;

pub use opaque::OpaqueSecretError;
