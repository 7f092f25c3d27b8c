//! User passwords: the secret, its argon2id hash, and the (synchronous, CPU-bound) hasher.
//!
//! Hashing is pure CPU and lives here so it can be benchmarked and used without tokio; the
//! `app` crate runs it on the blocking pool with bounded concurrency.

use std::fmt;

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _, SaltString};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// A password as typed by a user. Never printed.
#[derive(Clone)]
pub struct Password(SecretString);

/// Why text was refused as a [`Password`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// The text is empty.
    #[error("the password is empty")]
    Empty,
    /// The text is longer than [`Password::MAX_BYTES`] (whatever the policy allows).
    #[error("the password is longer than {max} bytes")]
    TooLong {
        /// The limit, in bytes of UTF-8.
        max: usize,
    },
}

impl Password {
    /// Upper bound on input to the hasher, whatever the policy says.
    pub const MAX_BYTES: usize = 1024;

    /// Wraps a password as typed. Only its size is checked here; the rules are the policy's
    /// ([`crate::policy::PasswordPolicy::check`]).
    ///
    /// # Errors
    /// [`PasswordError::Empty`] or [`PasswordError::TooLong`].
    pub fn new(raw: String) -> Result<Self, PasswordError> {
        if raw.is_empty() {
            Err(PasswordError::Empty)
        } else if raw.len() > Self::MAX_BYTES {
            Err(PasswordError::TooLong { max: Self::MAX_BYTES })
        } else {
            Ok(Self(SecretString::from(raw)))
        }
    }

    /// The password text, for the hasher and the policy check only.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// An argon2 hash in PHC string form (`$argon2id$v=19$m=…`).
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

/// Why text was refused as a [`PasswordHash`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordHashError {
    /// The text is not a PHC string (a corrupt stored value).
    #[error("not a PHC password hash string")]
    Malformed,
}

impl PasswordHash {
    /// Reads a hash back from the store. Any PHC string is accepted; [`Argon2Hasher::verify`]
    /// uses the parameters it records.
    ///
    /// # Errors
    /// [`PasswordHashError::Malformed`] unless `phc` is a PHC string.
    pub fn parse(phc: &str) -> Result<Self, PasswordHashError> {
        argon2::PasswordHash::new(phc).map_err(|_| PasswordHashError::Malformed)?;
        Ok(Self(phc.to_owned()))
    }

    /// The PHC string, the form that is stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash([redacted])")
    }
}

/// argon2id cost parameters. Defaults are OWASP's: 19 MiB, 2 passes, 1 lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Argon2Params {
    /// Memory per hash, in KiB (argon2 `m`).
    pub memory_kib: u32,
    /// Passes over that memory (argon2 `t`).
    pub iterations: u32,
    /// Lanes (argon2 `p`).
    pub parallelism: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self { memory_kib: 19_456, iterations: 2, parallelism: 1 }
    }
}

/// Why argon2 could not be set up or could not hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// argon2 refused the cost parameters (outside its ranges).
    #[error("invalid argon2 parameters")]
    Params,
    /// argon2 failed while hashing (it does not with valid parameters).
    #[error("argon2 failed")]
    Failed,
}

/// argon2id hashing and verification.
#[derive(Debug, Clone)]
pub struct Argon2Hasher {
    argon2: argon2::Argon2<'static>,
}

impl Argon2Hasher {
    /// An argon2id (version 0x13) hasher with these costs; new hashes record them.
    ///
    /// # Errors
    /// [`HashError::Params`] when argon2 refuses the parameters.
    pub fn new(params: Argon2Params) -> Result<Self, HashError> {
        let params = argon2::Params::new(params.memory_kib, params.iterations, params.parallelism, None)
            .map_err(|_| HashError::Params)?;
        Ok(Self { argon2: argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params) })
    }

    /// Hashes with a fresh 128-bit salt from `rng`.
    ///
    /// # Errors
    /// [`HashError::Failed`] if argon2 fails (it does not for valid parameters).
    pub fn hash(
        &self,
        password: &Password,
        rng: &mut (impl rand::RngCore + rand::CryptoRng),
    ) -> Result<PasswordHash, HashError> {
        let salt = SaltString::generate(rng);
        self.argon2
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| PasswordHash(h.to_string()))
            .map_err(|_| HashError::Failed)
    }

    /// Whether `hash` is not an argon2id v0x13 hash with this hasher's parameters (an older
    /// configuration, or another algorithm): it should be made again at the next login.
    pub fn needs_rehash(&self, hash: &PasswordHash) -> bool {
        let Ok(parsed) = argon2::PasswordHash::new(hash.as_str()) else { return true };
        let Ok(params) = argon2::Params::try_from(&parsed) else { return true };
        let current = self.argon2.params();
        parsed.algorithm != argon2::Algorithm::Argon2id.ident()
            || parsed.version != Some(argon2::Version::V0x13.into())
            || params.m_cost() != current.m_cost()
            || params.t_cost() != current.t_cost()
            || params.p_cost() != current.p_cost()
    }

    /// Whether `password` matches `hash` (with the parameters recorded in the hash).
    pub fn verify(&self, password: &Password, hash: &PasswordHash) -> bool {
        argon2::PasswordHash::new(hash.as_str())
            .is_ok_and(|parsed| self.argon2.verify_password(password.expose().as_bytes(), &parsed).is_ok())
    }

    /// Whether `password` matches any of `hashes` (the current one and the history). Every
    /// distinct hash is checked, so the time depends only on how many there are.
    pub fn matches_any<'a>(&self, password: &Password, hashes: impl IntoIterator<Item = &'a PasswordHash>) -> bool {
        let mut seen: Vec<&str> = Vec::new();
        let mut found = false;
        for hash in hashes {
            if seen.contains(&hash.as_str()) {
                continue;
            }
            seen.push(hash.as_str());
            found |= self.verify(password, hash);
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap parameters: these tests check behaviour, not cost.
    fn cheap() -> Argon2Hasher {
        Argon2Hasher::new(Argon2Params { memory_kib: 64, iterations: 1, parallelism: 1 }).unwrap()
    }

    fn pw(s: &str) -> Password {
        Password::new(s.to_owned()).unwrap()
    }

    #[test]
    fn a_hash_needs_rehashing_under_other_parameters_only() {
        let h = cheap().hash(&pw("correct horse"), &mut rand::rngs::OsRng).unwrap();
        assert!(!cheap().needs_rehash(&h));
        let stronger = Argon2Hasher::new(Argon2Params { memory_kib: 128, iterations: 1, parallelism: 1 }).unwrap();
        assert!(stronger.needs_rehash(&h));
        let argon2i =
            PasswordHash::parse("$argon2i$v=19$m=64,t=1,p=1$c29tZXNhbHQ$iWh06vD8Fy27wf9npn6FXWiCX4K6pW6Ue1Bnzz07Z8A")
                .unwrap();
        assert!(cheap().needs_rehash(&argon2i), "another algorithm");
    }

    #[test]
    fn hashes_verify_and_carry_argon2id() {
        let h = cheap().hash(&pw("correct horse"), &mut rand::rngs::OsRng).unwrap();
        assert!(h.as_str().starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(cheap().verify(&pw("correct horse"), &h));
        assert!(!cheap().verify(&pw("correct horsE"), &h));
        assert_eq!(PasswordHash::parse(h.as_str()).unwrap(), h);
        assert!(PasswordHash::parse("plain").is_err());
    }

    #[test]
    fn same_password_gets_a_new_salt_each_time() {
        let a = cheap().hash(&pw("x"), &mut rand::rngs::OsRng).unwrap();
        let b = cheap().hash(&pw("x"), &mut rand::rngs::OsRng).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn matches_any_finds_a_history_entry() {
        let h = cheap();
        let hashes: Vec<_> =
            ["one", "two", "three"].iter().map(|p| h.hash(&pw(p), &mut rand::rngs::OsRng).unwrap()).collect();
        assert!(h.matches_any(&pw("two"), &hashes));
        assert!(!h.matches_any(&pw("four"), &hashes));
        assert!(!h.matches_any(&pw("one"), &[]));
    }

    #[test]
    fn default_parameters_are_owasp() {
        let h = Argon2Hasher::new(Argon2Params::default()).unwrap();
        let hash = h.hash(&pw("p"), &mut rand::rngs::OsRng).unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(Argon2Hasher::new(Argon2Params { memory_kib: 1, iterations: 0, parallelism: 0 }).is_err());
    }

    #[test]
    fn passwords_and_hashes_never_print() {
        assert_eq!(format!("{:?}", pw("hunter2")), "Password([redacted])");
        let h = cheap().hash(&pw("hunter2"), &mut rand::rngs::OsRng).unwrap();
        assert_eq!(format!("{h:?}"), "PasswordHash([redacted])");
        assert_eq!(Password::new(String::new()).unwrap_err(), PasswordError::Empty);
        assert!(Password::new("x".repeat(1025)).is_err());
    }
}
