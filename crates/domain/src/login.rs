//! CIAM logins: the refresh tokens of a login session ("family") and the claims of the JWTs
//! resetd signs (access and ID tokens).
//!
//! A refresh token reads `<user id>.<family id>.<secret>`: the user id names where its
//! family lives (the user's Redis hash slot, beside the lockout counters), the family id which
//! login it belongs to, and only the keyed digest of the whole text is stored. The token that
//! replaces a presented one is derived from it under the token key ([`RefreshToken::successor`]),
//! so a client retrying the same refresh is given the same new token, not a second one.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::keyed::{Digest, Purpose, TokenKey};
use crate::opaque::{check_text, generate_text};
use crate::user::UserId;
use crate::OpaqueSecretError;

/// One login session of one user at one client: every refresh token it rotates through, and
/// the access tokens issued from them, carry its id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FamilyId([u8; 16]);

impl FamilyId {
    /// 128 fresh bits from `rng`.
    pub fn generate(rng: &mut (impl rand::RngCore + rand::CryptoRng)) -> Self {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// # Errors
    /// [`OpaqueSecretError::Malformed`] unless `text` is 32 lowercase hex digits.
    pub fn parse(text: &str) -> Result<Self, OpaqueSecretError> {
        let mut bytes = [0u8; 16];
        let lower = text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        hex::decode_to_slice(text, &mut bytes).map_err(|_| OpaqueSecretError::Malformed)?;
        if lower {
            Ok(Self(bytes))
        } else {
            Err(OpaqueSecretError::Malformed)
        }
    }

    /// The name the session is stored and referred to by (an access token's `sid`): a keyed
    /// digest of this id, so that whoever sees an access token cannot write the family part
    /// of a refresh token with it (and replay a made-up token to end the session).
    pub fn session_id(&self, key: &TokenKey) -> Self {
        let digest = key.digest(Purpose::LoginSession, &[&self.0]);
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest.as_bytes()[..16]);
        Self(bytes)
    }

    /// 32 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl std::fmt::Debug for FamilyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FamilyId({})", self.to_hex())
    }
}

/// A CIAM refresh token as issued or presented. `Debug` shows where it lives, never the secret.
#[derive(Clone)]
pub struct RefreshToken {
    user_id: UserId,
    family: FamilyId,
    secret: SecretString,
}

impl RefreshToken {
    /// The first token of a new family of `user_id`.
    pub fn generate(user_id: UserId, family: FamilyId, rng: &mut (impl rand::RngCore + rand::CryptoRng)) -> Self {
        Self { user_id, family, secret: SecretString::from(generate_text(rng)) }
    }

    /// Reads a token as a client presents it.
    ///
    /// # Errors
    /// [`OpaqueSecretError::Malformed`] unless `raw` has the issued shape, the user id in its
    /// one canonical spelling.
    pub fn parse(raw: &str) -> Result<Self, OpaqueSecretError> {
        let mut parts = raw.splitn(3, '.');
        let (Some(user), Some(family), Some(secret)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(OpaqueSecretError::Malformed);
        };
        let user_id = UserId::parse(user).map_err(|_| OpaqueSecretError::Malformed)?;
        if user_id.to_string() != user {
            return Err(OpaqueSecretError::Malformed);
        }
        check_text(secret)?;
        Ok(Self { user_id, family: FamilyId::parse(family)?, secret: SecretString::from(secret.to_owned()) })
    }

    /// The user the token was issued to.
    pub fn user_id(&self) -> UserId {
        self.user_id
    }

    /// The login session the token belongs to.
    pub fn family(&self) -> FamilyId {
        self.family
    }

    /// The token text, for the one answer that shows it.
    pub fn expose(&self) -> String {
        format!("{}.{}.{}", self.user_id, self.family.to_hex(), self.secret.expose_secret())
    }

    /// The keyed hash of the whole token, the only form that is stored.
    pub fn digest(&self, key: &TokenKey) -> Digest {
        key.digest(Purpose::RefreshToken, &[self.expose().as_bytes()])
    }

    /// The token that replaces this one at a refresh: derived from it under `key`, so the
    /// same presented token always gives the same successor (a retried refresh gets the
    /// answer the first one got), and nobody without the key can compute it.
    pub fn successor(&self, key: &TokenKey) -> Self {
        let derived = key.digest(Purpose::RefreshSuccessor, &[self.expose().as_bytes()]);
        let secret = SecretString::from(URL_SAFE_NO_PAD.encode(derived.as_bytes()));
        Self { user_id: self.user_id, family: self.family, secret }
    }
}

impl std::fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshToken")
            .field("user_id", &self.user_id)
            .field("family", &self.family)
            .finish_non_exhaustive()
    }
}

/// The claims of an access token (a JWT, RFC 9068's shape): resource servers validate it
/// against the JWKS; resetd's own endpoints also check `gen` against the user's credential
/// generation and `sid` against the live login sessions, so a reset or a revocation ends it
/// there at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The issuer (`oidc.issuer`).
    pub iss: String,
    /// The user id.
    pub sub: String,
    /// The client the token was issued to.
    pub aud: String,
    /// The client the token was issued to (RFC 9068).
    pub client_id: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// The token's id.
    pub jti: String,
    /// Always `openid`.
    pub scope: String,
    /// The user's credential generation at issue.
    pub r#gen: i64,
    /// The login session (refresh-token family) the token was issued in.
    pub sid: String,
}

/// The claims of an ID token (OpenID Connect Core §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdClaims {
    /// The issuer (`oidc.issuer`).
    pub iss: String,
    /// The user id.
    pub sub: String,
    /// The client the token was issued to.
    pub aud: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// When the user last proved its password (seconds since the epoch).
    pub auth_time: i64,
    /// The user's email, when it has one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub email: Option<String>,
    /// The user's phone number, when it has one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub phone_number: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> UserId {
        UserId::from_i64(42).unwrap()
    }

    #[test]
    fn refresh_tokens_round_trip_and_name_their_user_and_family() {
        let family = FamilyId::generate(&mut rand::rngs::OsRng);
        let t = RefreshToken::generate(user(), family, &mut rand::rngs::OsRng);
        let text = t.expose();
        assert!(text.starts_with(&format!("42.{}.", family.to_hex())), "{text}");
        let read = RefreshToken::parse(&text).unwrap();
        assert_eq!((read.user_id(), read.family()), (user(), family));
        let key = TokenKey::generate(&mut rand::rngs::OsRng);
        assert_eq!(read.digest(&key), t.digest(&key));
        assert!(!format!("{t:?}").contains(&text[text.len() - 43..]), "Debug hides the secret");
    }

    #[test]
    fn altered_or_foreign_shapes_are_refused() {
        let family = FamilyId::generate(&mut rand::rngs::OsRng);
        let text = RefreshToken::generate(user(), family, &mut rand::rngs::OsRng).expose();
        let secret = &text[text.len() - 43..];
        for bad in [
            format!("042.{}.{secret}", family.to_hex()),
            format!("42.{}.{secret}", family.to_hex().to_uppercase()),
            format!("42.{}.{secret}", &family.to_hex()[1..]),
            format!("42.{secret}"),
            format!("42.{}.{}x", family.to_hex(), secret),
            String::new(),
        ] {
            assert!(RefreshToken::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_successor_is_the_same_for_the_same_token_and_key_only() {
        let (k1, k2) = (TokenKey::generate(&mut rand::rngs::OsRng), TokenKey::generate(&mut rand::rngs::OsRng));
        let t = RefreshToken::generate(user(), FamilyId::generate(&mut rand::rngs::OsRng), &mut rand::rngs::OsRng);
        let next = t.successor(&k1);
        assert_eq!(next.expose(), t.successor(&k1).expose());
        assert_ne!(next.expose(), t.successor(&k2).expose());
        assert_ne!(next.expose(), t.expose());
        assert_eq!((next.user_id(), next.family()), (t.user_id(), t.family()));
        assert!(RefreshToken::parse(&next.expose()).is_ok(), "a successor has the issued shape");
        assert_ne!(next.successor(&k1).expose(), next.expose());
    }

    #[test]
    fn a_session_id_is_keyed_and_not_the_family_id() {
        let (k1, k2) = (TokenKey::generate(&mut rand::rngs::OsRng), TokenKey::generate(&mut rand::rngs::OsRng));
        let family = FamilyId::generate(&mut rand::rngs::OsRng);
        assert_eq!(family.session_id(&k1), family.session_id(&k1));
        assert_ne!(family.session_id(&k1), family);
        assert_ne!(family.session_id(&k1), family.session_id(&k2));
    }
}
