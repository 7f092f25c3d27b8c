//! High-entropy generated secrets: 256 bits from a CSPRNG, shown once as URL-safe text.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// Bytes of entropy in every generated secret.
pub(crate) const SECRET_BYTES: usize = 32;
/// Length of the URL-safe text of [`SECRET_BYTES`] bytes.
pub(crate) const SECRET_TEXT_LEN: usize = 43;

/// Why text was refused as a generated secret (a reset token, an OTP token, a client or API
/// secret, an access or session token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpaqueSecretError {
    /// The text is not 43 URL-safe base64 characters (for a session token: not `<user id>.`
    /// followed by such a secret), so this service did not issue it.
    #[error("the value is not a token issued by this service")]
    Malformed,
}

pub(crate) fn generate_text(rng: &mut (impl rand::RngCore + rand::CryptoRng)) -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    rng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Accepts exactly the shape [`generate_text`] produces.
pub(crate) fn check_text(raw: &str) -> Result<(), OpaqueSecretError> {
    let ok = raw.len() == SECRET_TEXT_LEN
        && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && URL_SAFE_NO_PAD.decode(raw).is_ok();
    if ok {
        Ok(())
    } else {
        Err(OpaqueSecretError::Malformed)
    }
}

/// Declares a newtype over `SecretString` for one kind of generated secret: `generate`,
/// `parse`, `expose` and `digest` (its keyed hash under its own [`crate::keyed::Purpose`]).
macro_rules! opaque_secret {
    ($(#[$meta:meta])* $name:ident, $purpose:expr) => {
        $(#[$meta])*
        #[derive(Clone)]
        pub struct $name(secrecy::SecretString);

        impl $name {
            /// 256 fresh bits from `rng` (the OS CSPRNG in production).
            pub fn generate(rng: &mut (impl rand::RngCore + rand::CryptoRng)) -> Self {
                Self(secrecy::SecretString::from($crate::opaque::generate_text(rng)))
            }

            /// # Errors
            /// [`crate::OpaqueSecretError::Malformed`] unless `raw` has the generated shape.
            pub fn parse(raw: &str) -> Result<Self, $crate::OpaqueSecretError> {
                $crate::opaque::check_text(raw)?;
                Ok(Self(secrecy::SecretString::from(raw.to_owned())))
            }

            /// The secret text, for the one place it is shown (a URL, a response body).
            pub fn expose(&self) -> &str {
                secrecy::ExposeSecret::expose_secret(&self.0)
            }

            /// The keyed hash, the only form that is stored or compared.
            pub fn digest(&self, key: &$crate::keyed::TokenKey) -> $crate::keyed::Digest {
                key.digest($purpose, &[self.expose().as_bytes()])
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}
pub(crate) use opaque_secret;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    #[test]
    fn generated_text_is_url_safe_and_accepted() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        for _ in 0..100 {
            let text = generate_text(&mut rng);
            assert_eq!(text.len(), SECRET_TEXT_LEN);
            assert!(check_text(&text).is_ok(), "{text}");
        }
    }

    #[test]
    fn two_draws_differ() {
        let mut rng = rand::rngs::OsRng;
        assert_ne!(generate_text(&mut rng), generate_text(&mut rng));
    }

    proptest! {
        #[test]
        fn anything_of_another_shape_is_refused(raw in "\\PC{0,60}") {
            prop_assume!(raw.len() != SECRET_TEXT_LEN);
            prop_assert_eq!(check_text(&raw), Err(OpaqueSecretError::Malformed));
        }

        #[test]
        fn foreign_characters_are_refused(prefix in "[A-Za-z0-9_-]{42}", bad in "[^A-Za-z0-9_-]") {
            let raw = format!("{prefix}{bad}");
            prop_assume!(raw.len() == SECRET_TEXT_LEN);
            prop_assert!(check_text(&raw).is_err());
        }
    }
}
