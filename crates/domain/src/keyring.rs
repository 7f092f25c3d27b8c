//! Several token keys at once, so that the key can change without downtime.
//!
//! The first key of a [`KeyRing`] makes every new digest; every key verifies. A digest that
//! never expires (a client or API secret) carries the id of its key ([`Sealed`]), and is sealed
//! again under the current key the first time it verifies under an older one; short-lived ones
//! (links, sessions, codes) are looked up under each key in turn and die with their lifetime.

use crate::keyed::{Digest, KeyId, TokenKey};

/// At most this many keys: every lookup of a short-lived secret may try each of them.
pub const MAX_KEYS: usize = 4;

/// The server's keys, newest first.
#[derive(Debug, Clone)]
pub struct KeyRing {
    keys: Vec<TokenKey>,
}

/// Why a list of keys was refused as a [`KeyRing`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRingError {
    /// No key was given.
    #[error("the key list is empty")]
    Empty,
    /// More than [`MAX_KEYS`] keys were given (how many).
    #[error("at most {MAX_KEYS} keys are accepted, got {0}")]
    TooMany(usize),
    /// The same key is listed twice (its id).
    #[error("the same key is listed twice (key id {0})")]
    Duplicate(KeyId),
}

impl KeyRing {
    /// A ring of `keys`, newest first: the first one is the current key.
    ///
    /// # Errors
    /// An empty list, more than [`MAX_KEYS`] keys, or a key listed twice.
    pub fn new(keys: Vec<TokenKey>) -> Result<Self, KeyRingError> {
        if keys.is_empty() {
            return Err(KeyRingError::Empty);
        }
        if keys.len() > MAX_KEYS {
            return Err(KeyRingError::TooMany(keys.len()));
        }
        for (i, key) in keys.iter().enumerate() {
            if keys[..i].iter().any(|k| k.id() == key.id()) {
                return Err(KeyRingError::Duplicate(key.id()));
            }
        }
        Ok(Self { keys })
    }

    /// A ring of one key.
    pub fn single(key: TokenKey) -> Self {
        Self { keys: vec![key] }
    }

    /// The key that makes every new digest.
    pub fn current(&self) -> &TokenKey {
        &self.keys[0]
    }

    /// Every key, the current one first.
    pub fn all(&self) -> &[TokenKey] {
        &self.keys
    }

    /// Seals a new secret under the current key.
    pub fn seal(&self, digest_of: impl Fn(&TokenKey) -> Digest) -> Sealed {
        let key = self.current();
        Sealed { digest: digest_of(key), key: Some(key.id()) }
    }

    /// Checks a presented secret against a stored digest: under the key the digest names, or,
    /// for a digest written before key ids were recorded, under each key. `None` when it does
    /// not match (or its key has left the ring).
    pub fn verify(&self, stored: &Sealed, digest_of: impl Fn(&TokenKey) -> Digest) -> Option<Verified> {
        let candidates: Vec<&TokenKey> = match stored.key {
            Some(id) => self.keys.iter().filter(|k| k.id() == id).collect(),
            None => self.keys.iter().collect(),
        };
        // Every candidate is computed and compared (in constant time), whatever matched first.
        let mut matched = false;
        for key in candidates {
            matched |= digest_of(key).ct_eq(&stored.digest);
        }
        if !matched {
            return None;
        }
        let current = self.current();
        let reseal =
            (stored.key != Some(current.id())).then(|| Sealed { digest: digest_of(current), key: Some(current.id()) });
        Some(Verified { reseal })
    }
}

/// A stored digest with the id of the key that made it; `None` for a digest written before
/// key ids were recorded (any key of the ring may verify it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sealed {
    /// The keyed digest of the secret.
    pub digest: Digest,
    /// The id of the key that made `digest`; `None` when it was written before key ids were
    /// recorded.
    pub key: Option<KeyId>,
}

/// A secret that verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The digest to store in place of the old one when it was not made under the current key.
    pub reseal: Option<Sealed>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyed::Purpose;
    use rand::SeedableRng;

    fn key(seed: u64) -> TokenKey {
        TokenKey::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(seed))
    }

    fn secret(key: &TokenKey) -> Digest {
        key.digest(Purpose::ClientSecret, &[b"s3cret"])
    }

    fn other(key: &TokenKey) -> Digest {
        key.digest(Purpose::ClientSecret, &[b"guess"])
    }

    #[test]
    fn the_list_is_checked() {
        assert_eq!(KeyRing::new(vec![]).unwrap_err(), KeyRingError::Empty);
        assert_eq!(KeyRing::new(vec![key(1), key(2), key(1)]).unwrap_err(), KeyRingError::Duplicate(key(1).id()));
        assert_eq!(KeyRing::new((0..5).map(key).collect()).unwrap_err(), KeyRingError::TooMany(5));
        assert_eq!(KeyRing::new(vec![key(2), key(1)]).unwrap().current().id(), key(2).id());
    }

    #[test]
    fn key_ids_name_keys_apart_and_print_as_hex() {
        assert_eq!(key(1).id(), key(1).id());
        assert_ne!(key(1).id(), key(2).id());
        let text = key(1).id().to_string();
        assert_eq!(text.len(), 16);
        assert_eq!(KeyId::from_hex(&text).unwrap(), key(1).id());
    }

    #[test]
    fn a_current_seal_verifies_without_a_reseal() {
        let ring = KeyRing::new(vec![key(1), key(2)]).unwrap();
        let sealed = ring.seal(secret);
        assert_eq!(sealed.key, Some(key(1).id()));
        assert_eq!(ring.verify(&sealed, secret), Some(Verified { reseal: None }));
        assert_eq!(ring.verify(&sealed, other), None);
    }

    #[test]
    fn an_old_seal_verifies_and_is_resealed_under_the_current_key() {
        let old = KeyRing::single(key(2)).seal(secret);
        let ring = KeyRing::new(vec![key(1), key(2)]).unwrap();
        let verified = ring.verify(&old, secret).unwrap();
        let fresh = verified.reseal.unwrap();
        assert_eq!(fresh, KeyRing::single(key(1)).seal(secret));
        assert_eq!(ring.verify(&fresh, secret), Some(Verified { reseal: None }));
        assert_eq!(ring.verify(&old, other), None);
    }

    #[test]
    fn a_seal_whose_key_left_the_ring_does_not_verify() {
        let old = KeyRing::single(key(3)).seal(secret);
        assert_eq!(KeyRing::new(vec![key(1), key(2)]).unwrap().verify(&old, secret), None);
    }

    #[test]
    fn an_unlabelled_digest_verifies_under_any_key_and_gets_labelled() {
        let ring = KeyRing::new(vec![key(1), key(2)]).unwrap();
        for k in [key(1), key(2)] {
            let unlabelled = Sealed { digest: secret(&k), key: None };
            let verified = ring.verify(&unlabelled, secret).unwrap();
            assert_eq!(verified.reseal, Some(ring.seal(secret)));
        }
        let stranger = Sealed { digest: secret(&key(3)), key: None };
        assert_eq!(ring.verify(&stranger, secret), None);
    }
}
