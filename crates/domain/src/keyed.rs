//! Keyed hashing of generated secrets: HMAC-SHA-256 under the server's token key.
//!
//! Reset tokens, OTP tokens and codes, client secrets and access tokens are high-entropy (or
//! short-lived and attempt-capped), so a keyed hash is enough to store them and is cheap to
//! check on every request. A [`Purpose`] label separates the domains, so a digest of one kind
//! can never be replayed as another.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretSlice};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// What a digest is of. Mixed into the MAC so the same bytes hash differently per use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The token of a reset or account-setup link ([`crate::reset_token::ResetToken`]).
    ResetToken,
    /// The `otp_token` of a one-time-code challenge ([`crate::otp::OtpToken`]).
    OtpToken,
    /// A one-time code, bound to its challenge's token digest ([`crate::otp::OtpCode::digest`]).
    OtpCode,
    /// A CIAM client secret ([`crate::client::ClientSecret`]).
    ClientSecret,
    /// A Looker API client secret ([`crate::access::ApiSecret`]).
    ApiSecret,
    /// A Looker API session token ([`crate::access::SessionToken`], [`crate::access::AccessToken`]).
    AccessToken,
    /// A normalised email address or phone number, where it names a counter (rate-limit and
    /// budget keys): keys then hold no personal data and no character of the address.
    Destination,
    /// The key's own public name ([`TokenKey::id`]).
    KeyId,
    /// A CIAM refresh token ([`crate::login::RefreshToken`]).
    RefreshToken,
    /// The derivation of the refresh token that replaces a presented one
    /// ([`crate::login::RefreshToken::successor`]).
    RefreshSuccessor,
    /// The stored name of a login session ([`crate::login::FamilyId::session_id`]).
    LoginSession,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Self::ResetToken => b"resetd/reset-token/v1",
            Self::OtpToken => b"resetd/otp-token/v1",
            Self::OtpCode => b"resetd/otp-code/v1",
            Self::ClientSecret => b"resetd/client-secret/v1",
            Self::ApiSecret => b"resetd/api-secret/v1",
            Self::AccessToken => b"resetd/access-token/v1",
            Self::Destination => b"resetd/destination/v1",
            Self::KeyId => b"resetd/key-id/v1",
            Self::RefreshToken => b"resetd/refresh-token/v1",
            Self::RefreshSuccessor => b"resetd/refresh-successor/v1",
            Self::LoginSession => b"resetd/login-session/v1",
        }
    }
}

/// The server secret under which every generated secret is hashed.
#[derive(Clone)]
pub struct TokenKey(SecretSlice<u8>);

/// Why bytes were refused as a [`TokenKey`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenKeyError {
    /// The key is shorter than [`TokenKey::MIN_LEN`].
    #[error("the token key must be at least {min} bytes long, got {len}")]
    TooShort {
        /// The shortest length accepted, in bytes.
        min: usize,
        /// The length given, in bytes.
        len: usize,
    },
}

impl TokenKey {
    /// Shortest key accepted: 256 bits.
    pub const MIN_LEN: usize = 32;

    /// Wraps raw key bytes.
    ///
    /// # Errors
    /// [`TokenKeyError::TooShort`] under [`Self::MIN_LEN`] bytes.
    pub fn new(bytes: Vec<u8>) -> Result<Self, TokenKeyError> {
        if bytes.len() < Self::MIN_LEN {
            return Err(TokenKeyError::TooShort { min: Self::MIN_LEN, len: bytes.len() });
        }
        Ok(Self(SecretSlice::from(bytes)))
    }

    /// A fresh random key (development profile, tests).
    pub fn generate(rng: &mut (impl rand::RngCore + rand::CryptoRng)) -> Self {
        let mut bytes = vec![0u8; Self::MIN_LEN];
        rng.fill_bytes(&mut bytes);
        Self(SecretSlice::from(bytes))
    }

    /// HMAC-SHA-256 of `parts` (length-prefixed, so part boundaries are unambiguous).
    pub fn digest(&self, purpose: Purpose, parts: &[&[u8]]) -> Digest {
        #[allow(clippy::expect_used)] // HMAC accepts keys of any length.
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.expose_secret()).expect("any key length");
        mac.update(purpose.label());
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        Digest(mac.finalize().into_bytes().into())
    }

    /// The key's public name, stored beside every long-lived digest made under it so that an
    /// operator can tell which records still need an old key. It is a MAC of a fixed label:
    /// it names the key without saying anything about it.
    pub fn id(&self) -> KeyId {
        let d = self.digest(Purpose::KeyId, &[]);
        let mut id = [0u8; 8];
        id.copy_from_slice(&d.as_bytes()[..8]);
        KeyId(id)
    }
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey([redacted])")
    }
}

/// The public name of a [`TokenKey`]: 16 hexadecimal characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId([u8; 8]);

impl KeyId {
    /// # Errors
    /// [`DigestParseError`] unless `text` is 16 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, DigestParseError> {
        let mut bytes = [0u8; 8];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| DigestParseError)?;
        Ok(Self(bytes))
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl std::fmt::Debug for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// A keyed digest: the only stored form of a generated secret. Compared in constant time.
#[derive(Clone, Copy, Eq)]
pub struct Digest([u8; 32]);

/// Text or bytes that are not a [`Digest`] (or a [`KeyId`]): wrong length or not hexadecimal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a digest in hexadecimal")]
pub struct DigestParseError;

impl Digest {
    /// A digest from its 32 raw bytes, as a store gives them back.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 raw bytes, the form a binary column stores.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 64 lower-case hexadecimal digits, the form a text key (Redis) stores; read back by
    /// [`Self::from_hex`].
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// # Errors
    /// [`DigestParseError`] unless `text` is 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, DigestParseError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| DigestParseError)?;
        Ok(Self(bytes))
    }

    /// Constant-time equality (also what `==` does).
    pub(crate) fn ct_eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl TryFrom<&[u8]> for Digest {
    type Error = DigestParseError;
    fn try_from(value: &[u8]) -> Result<Self, Self::Error> {
        <[u8; 32]>::try_from(value).map(Self).map_err(|_| DigestParseError)
    }
}

impl PartialEq for Digest {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other)
    }
}

impl std::hash::Hash for Digest {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl std::fmt::Debug for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Digest({}…)", &self.to_hex()[..8])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn key(seed: u64) -> TokenKey {
        TokenKey::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(seed))
    }

    #[test]
    fn short_keys_are_refused() {
        assert_eq!(TokenKey::new(vec![1; 31]).unwrap_err(), TokenKeyError::TooShort { min: 32, len: 31 });
        assert!(TokenKey::new(vec![1; 32]).is_ok());
    }

    #[test]
    fn purpose_key_and_boundaries_all_change_the_digest() {
        let (a, b) = (key(1), key(2));
        let base = a.digest(Purpose::ResetToken, &[b"ab", b"c"]);
        assert_eq!(base, a.digest(Purpose::ResetToken, &[b"ab", b"c"]));
        assert_ne!(base, b.digest(Purpose::ResetToken, &[b"ab", b"c"]));
        assert_ne!(base, a.digest(Purpose::OtpToken, &[b"ab", b"c"]));
        assert_ne!(base, a.digest(Purpose::ResetToken, &[b"a", b"bc"]));
    }

    #[test]
    fn hex_round_trips_and_debug_shows_only_a_prefix() {
        let d = key(3).digest(Purpose::AccessToken, &[b"x"]);
        assert_eq!(Digest::from_hex(&d.to_hex()).unwrap(), d);
        assert!(Digest::from_hex("zz").is_err());
        assert_eq!(format!("{d:?}").len(), "Digest(12345678…)".len());
        assert_eq!(format!("{:?}", key(3)), "TokenKey([redacted])");
    }
}
