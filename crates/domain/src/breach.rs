//! The breached-password check's query: the SHA-1 of a password split as the k-anonymity range
//! API wants it. Only [`BreachQuery::prefix`] (five hex digits) leaves the process; the rest
//! of the hash is compared here with the suffixes the range answers.

use sha1::{Digest as _, Sha1};

use crate::password::Password;

/// How many hex digits of the SHA-1 are sent.
pub const PREFIX_LEN: usize = 5;

/// A password's SHA-1, as the range API asks for it (upper-case hex).
#[derive(Clone, PartialEq, Eq)]
pub struct BreachQuery {
    prefix: String,
    suffix: String,
}

impl std::fmt::Debug for BreachQuery {
    /// The prefix only: it is all that is ever sent, and the suffix would narrow the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BreachQuery").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl BreachQuery {
    /// The query for `password`.
    #[must_use]
    pub fn of(password: &Password) -> Self {
        let digest = Sha1::digest(password.expose().as_bytes());
        let hex = hex::encode_upper(digest);
        let (prefix, suffix) = hex.split_at(PREFIX_LEN);
        Self { prefix: prefix.to_owned(), suffix: suffix.to_owned() }
    }

    /// The five upper-case hex digits sent to the range API.
    #[must_use]
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether the range's answer (the suffixes seen in breaches, in any case) holds this
    /// password's.
    #[must_use]
    pub fn found_in<S: AsRef<str>>(&self, suffixes: &[S]) -> bool {
        use subtle::ConstantTimeEq as _;
        let mine = self.suffix.as_bytes();
        // Every entry is compared in full, in constant time: the suffix is password-derived.
        suffixes
            .iter()
            .fold(subtle::Choice::from(0), |found, s| found | s.as_ref().to_ascii_uppercase().as_bytes().ct_eq(mine))
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sha1_is_split_after_five_hex_digits() {
        // SHA-1("password") = 5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8, the range API's own example.
        let q = BreachQuery::of(&Password::new("password".into()).unwrap());
        assert_eq!(q.prefix(), "5BAA6");
        assert!(q.found_in(&["0018A45C4D1DEF81644B54AB7F969B88D65", "1e4c9b93f3f0682250b6cf8331b7ee68fd8"]));
        assert!(!q.found_in(&["0018A45C4D1DEF81644B54AB7F969B88D65"]));
        assert!(!q.found_in::<&str>(&[]));
    }

    #[test]
    fn debug_shows_the_prefix_only() {
        let q = BreachQuery::of(&Password::new("password".into()).unwrap());
        let shown = format!("{q:?}");
        assert!(shown.contains("5BAA6") && !shown.contains("1E4C9B93"), "{shown}");
    }
}
