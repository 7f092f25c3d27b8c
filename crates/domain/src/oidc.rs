//! The OIDC signing keys: JWTs (access and ID tokens) signed ES256 or RS256 with the current
//! key, verified under it and the previous ones, and the JWKS that publishes them, each key
//! named by its RFC 7638 thumbprint. The JOSE work is `jsonwebtoken`'s; nothing here is
//! cryptography of its own.

use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Why a key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Neither a P-256 EC nor an RSA private key in PKCS#8 PEM.
    #[error("not a PKCS#8 PEM P-256 (ES256) or RSA (RS256) private key")]
    Unreadable,
    /// Generating a key failed (the OS random source).
    #[error("a signing key could not be generated")]
    Generation,
}

/// Why a token was not signed.
#[derive(Debug, thiserror::Error)]
#[error("the token could not be signed")]
pub struct SignError(#[source] jsonwebtoken::errors::Error);

/// Why a token was not accepted: one answer for a bad signature, an unknown key, a wrong
/// issuer or audience, or an expired token (the caller says "invalid token").
#[derive(Debug, thiserror::Error)]
#[error("not a valid token of this issuer")]
pub struct InvalidToken;

/// One private signing key, with its public JWK and thumbprint. `Debug` shows the algorithm
/// and key id only.
#[derive(Clone)]
pub struct SigningKey {
    algorithm: Algorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: Jwk,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("algorithm", &self.algorithm).field("kid", &self.kid()).finish()
    }
}

impl SigningKey {
    /// The key in `pem` (PKCS#8): P-256 signs ES256, RSA signs RS256.
    ///
    /// # Errors
    /// [`KeyError::Unreadable`] for anything else.
    pub fn from_pem(pem: &SecretString) -> Result<Self, KeyError> {
        let bytes = pem.expose_secret().as_bytes();
        if let Ok(key) = EncodingKey::from_ec_pem(bytes) {
            return Self::with(Algorithm::ES256, key);
        }
        let key = EncodingKey::from_rsa_pem(bytes).map_err(|_| KeyError::Unreadable)?;
        Self::with(Algorithm::RS256, key)
    }

    /// A new random P-256 key (the dev profile's, made at start), and its PKCS#8 PEM.
    ///
    /// # Errors
    /// [`KeyError::Generation`] if the OS random source fails.
    pub fn generate_es256() -> Result<(Self, SecretString), KeyError> {
        use p256::pkcs8::EncodePrivateKey as _;
        use rand::RngCore as _;
        // A random scalar below the group order; one in ~2^32 draws is out of range: retry.
        let secret = loop {
            let mut bytes = [0_u8; 32];
            rand::rngs::OsRng.try_fill_bytes(&mut bytes).map_err(|_| KeyError::Generation)?;
            if let Ok(secret) = p256::SecretKey::from_slice(&bytes) {
                break secret;
            }
        };
        let pem = secret.to_pkcs8_pem(p256::pkcs8::LineEnding::LF).map_err(|_| KeyError::Generation)?;
        let pem = SecretString::from(pem.as_str().to_owned());
        Ok((Self::from_pem(&pem)?, pem))
    }

    fn with(algorithm: Algorithm, encoding: EncodingKey) -> Result<Self, KeyError> {
        let mut jwk = Jwk::from_encoding_key(&encoding, algorithm).map_err(|_| KeyError::Unreadable)?;
        let kid = jwk.thumbprint(ThumbprintHash::SHA256).map_err(|_| KeyError::Unreadable)?;
        jwk.common.key_id = Some(kid);
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let decoding = DecodingKey::from_jwk(&jwk).map_err(|_| KeyError::Unreadable)?;
        Ok(Self { algorithm, encoding, decoding, jwk })
    }

    /// The key id: the RFC 7638 SHA-256 thumbprint of the public key.
    #[must_use]
    pub fn kid(&self) -> &str {
        self.jwk.common.key_id.as_deref().unwrap_or_default()
    }

    /// `ES256` or `RS256`.
    #[must_use]
    pub fn algorithm_name(&self) -> &'static str {
        match self.algorithm {
            Algorithm::RS256 => "RS256",
            _ => "ES256",
        }
    }
}

/// The keys a process signs and verifies with: the current one signs, it and the previous
/// ones verify (during a rotation every process must hold the same current key).
#[derive(Debug, Clone)]
pub struct Signer {
    current: SigningKey,
    previous: Vec<SigningKey>,
}

impl Signer {
    /// Signs with `current`; verifies with it and `previous`.
    #[must_use]
    pub fn new(current: SigningKey, previous: Vec<SigningKey>) -> Self {
        Self { current, previous }
    }

    /// The signing key.
    #[must_use]
    pub fn current(&self) -> &SigningKey {
        &self.current
    }

    /// `claims` as a compact JWS under the current key, its `kid` in the header.
    ///
    /// # Errors
    /// [`SignError`] if the claims cannot be serialised or signed.
    pub fn sign<C: Serialize>(&self, claims: &C) -> Result<String, SignError> {
        self.sign_typed(claims, "JWT")
    }

    /// [`Self::sign`] with the header's `typ` set to `typ` (RFC 9068's `at+jwt` for access
    /// tokens, so that no other token of this issuer passes for one).
    ///
    /// # Errors
    /// [`SignError`] if the claims cannot be serialised or signed.
    pub fn sign_typed<C: Serialize>(&self, claims: &C, typ: &str) -> Result<String, SignError> {
        let mut header = Header::new(self.current.algorithm);
        header.kid = Some(self.current.kid().to_owned());
        header.typ = Some(typ.to_owned());
        jsonwebtoken::encode(&header, claims, &self.current.encoding).map_err(SignError)
    }

    /// [`Self::verify`], only for a token whose header's `typ` is `typ` (compared without
    /// regard to case, as RFC 7515 says media types are).
    ///
    /// # Errors
    /// [`InvalidToken`], also for another `typ`.
    pub fn verify_typed<C: DeserializeOwned>(&self, token: &str, issuer: &str, typ: &str) -> Result<C, InvalidToken> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| InvalidToken)?;
        if !header.typ.is_some_and(|t| t.eq_ignore_ascii_case(typ)) {
            return Err(InvalidToken);
        }
        self.verify(token, issuer)
    }

    /// The claims of `token` if one of the keys signed it for `issuer` and it has not expired
    /// (`exp` required); the audience is the caller's to judge.
    ///
    /// # Errors
    /// [`InvalidToken`].
    pub fn verify<C: DeserializeOwned>(&self, token: &str, issuer: &str) -> Result<C, InvalidToken> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| InvalidToken)?;
        let kid = header.kid.ok_or(InvalidToken)?;
        let key = std::iter::once(&self.current).chain(&self.previous).find(|k| k.kid() == kid).ok_or(InvalidToken)?;
        let mut validation = Validation::new(key.algorithm);
        validation.set_issuer(&[issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.validate_aud = false;
        validation.leeway = 0;
        jsonwebtoken::decode::<C>(token, &key.decoding, &validation).map(|data| data.claims).map_err(|_| InvalidToken)
    }

    /// The public keys, current first, as the JWKS publishes them.
    #[must_use]
    pub fn jwks(&self) -> JwkSet {
        JwkSet { keys: std::iter::once(&self.current).chain(&self.previous).map(|k| k.jwk.clone()).collect() }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
    struct Claims {
        iss: String,
        sub: String,
        exp: u64,
    }

    fn now() -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
    }

    fn claims(iss: &str, exp: u64) -> Claims {
        Claims { iss: iss.into(), sub: "7".into(), exp }
    }

    fn key() -> SigningKey {
        SigningKey::generate_es256().unwrap().0
    }

    #[test]
    fn a_token_signed_now_verifies_for_its_issuer_only() {
        let signer = Signer::new(key(), Vec::new());
        let token = signer.sign(&claims("https://id.example.com", now() + 600)).unwrap();
        let read: Claims = signer.verify(&token, "https://id.example.com").unwrap();
        assert_eq!(read, claims("https://id.example.com", read.exp));
        assert!(signer.verify::<Claims>(&token, "https://other.example.com").is_err(), "another issuer");
        let expired = signer.sign(&claims("https://id.example.com", now() - 1)).unwrap();
        assert!(signer.verify::<Claims>(&expired, "https://id.example.com").is_err(), "expired");
        let mut forged = token.clone();
        forged.replace_range(forged.len() - 4.., "AAAA");
        assert!(signer.verify::<Claims>(&forged, "https://id.example.com").is_err(), "a bad signature");
    }

    #[test]
    fn a_typed_token_verifies_only_as_its_type() {
        let signer = Signer::new(key(), Vec::new());
        let access = signer.sign_typed(&claims("iss", now() + 600), "at+jwt").unwrap();
        assert!(signer.verify_typed::<Claims>(&access, "iss", "at+jwt").is_ok());
        assert!(signer.verify_typed::<Claims>(&access, "iss", "AT+JWT").is_ok(), "media types ignore case");
        let id = signer.sign(&claims("iss", now() + 600)).unwrap();
        assert!(signer.verify_typed::<Claims>(&id, "iss", "at+jwt").is_err(), "an ID token is no access token");
    }

    #[test]
    fn previous_keys_verify_and_unknown_ones_do_not() {
        let (old, new) = (key(), key());
        let before = Signer::new(old.clone(), Vec::new());
        let token = before.sign(&claims("iss", now() + 600)).unwrap();
        let rotated = Signer::new(new.clone(), vec![old]);
        assert!(rotated.verify::<Claims>(&token, "iss").is_ok(), "a token of the previous key lives out its life");
        let dropped = Signer::new(new, Vec::new());
        assert!(dropped.verify::<Claims>(&token, "iss").is_err(), "a dropped key verifies nothing");
    }

    #[test]
    fn the_jwks_publishes_each_key_under_its_thumbprint() {
        let (current, previous) = (key(), key());
        let signer = Signer::new(current.clone(), vec![previous.clone()]);
        let jwks = serde_json::to_value(signer.jwks()).unwrap();
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0]["kid"], current.kid());
        assert_eq!(keys[1]["kid"], previous.kid());
        for k in keys {
            assert_eq!(
                (k["kty"].as_str(), k["crv"].as_str(), k["use"].as_str()),
                (Some("EC"), Some("P-256"), Some("sig"))
            );
            assert!(k.get("d").is_none(), "no private part: {k}");
        }
        assert_eq!(current.kid().len(), 43, "a base64url SHA-256");
        assert_ne!(current.kid(), previous.kid());
    }

    #[test]
    fn the_thumbprint_is_rfc_7638s() {
        // RFC 7638 §3.1: this RSA key's SHA-256 thumbprint.
        let jwk: Jwk = serde_json::from_value(serde_json::json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        }))
        .unwrap();
        assert_eq!(jwk.thumbprint(ThumbprintHash::SHA256).unwrap(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn a_pem_round_trips_and_garbage_is_refused_and_debug_shows_no_key() {
        let (made, pem) = SigningKey::generate_es256().unwrap();
        let read = SigningKey::from_pem(&pem).unwrap();
        assert_eq!((read.kid(), read.algorithm_name()), (made.kid(), "ES256"));
        assert!(matches!(SigningKey::from_pem(&SecretString::from("not a key")), Err(KeyError::Unreadable)));
        let shown = format!("{read:?}");
        assert!(shown.contains(read.kid()) && !shown.contains("PRIVATE"), "{shown}");
    }
}
