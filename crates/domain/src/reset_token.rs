//! Reset links: the token in `password_reset_url`, its stored digest, kind and lifetime.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::keyed::Purpose;
use crate::opaque::opaque_secret;

opaque_secret!(
    /// The secret in a reset or account-setup link. Only its digest is stored.
    ResetToken,
    Purpose::ResetToken
);

/// Which link a token was issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResetTokenKind {
    /// A link that resets a forgotten password.
    PasswordReset,
    /// A link that sets the first password of a new account.
    AccountSetup,
}

impl ResetTokenKind {
    /// The name stored with the token: `password_reset` or `account_setup`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::AccountSetup => "account_setup",
        }
    }

    /// The kind named by [`Self::as_str`]; `None` for any other text.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "password_reset" => Some(Self::PasswordReset),
            "account_setup" => Some(Self::AccountSetup),
            _ => None,
        }
    }

    /// The path of the web page that redeems it.
    pub fn path(self) -> &'static str {
        match self {
            Self::PasswordReset => "/password/reset",
            Self::AccountSetup => "/account/setup",
        }
    }
}

/// How long a token lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenLifetime {
    /// The token dies this long after it is issued.
    Expiring(Duration),
    /// The token lives until it is used or replaced (Looker's `expires=false`).
    NonExpiring,
}

impl TokenLifetime {
    /// Looker's `expires=true`: 60 minutes.
    pub const LOOKER_EXPIRING: Self = Self::Expiring(Duration::from_secs(60 * 60));

    /// Looker's `expires` flag.
    pub fn from_expires(expires: bool) -> Self {
        if expires {
            Self::LOOKER_EXPIRING
        } else {
            Self::NonExpiring
        }
    }

    /// The instant after which a token issued at `now` is dead, if any.
    pub fn expires_at(self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Self::Expiring(d) => Some(now + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)),
            Self::NonExpiring => None,
        }
    }
}

/// Whether a token with this expiry is still good at `now` (the expiry instant itself is dead).
pub fn is_live(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    expires_at.is_none_or(|at| now < at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyed::TokenKey;

    #[test]
    fn expiring_tokens_die_at_sixty_minutes() {
        let now = Utc::now();
        let at = TokenLifetime::from_expires(true).expires_at(now).unwrap();
        assert_eq!(at - now, chrono::Duration::minutes(60));
        assert!(is_live(Some(at), at - chrono::Duration::seconds(1)));
        assert!(!is_live(Some(at), at));
        assert_eq!(TokenLifetime::from_expires(false).expires_at(now), None);
        assert!(is_live(None, now + chrono::Duration::days(10_000)));
    }

    #[test]
    fn tokens_hash_stably_and_never_print() {
        let key = TokenKey::generate(&mut rand::rngs::OsRng);
        let t = ResetToken::generate(&mut rand::rngs::OsRng);
        let again = ResetToken::parse(t.expose()).unwrap();
        assert_eq!(t.digest(&key), again.digest(&key));
        assert_eq!(format!("{t:?}"), "ResetToken([redacted])");
        assert!(ResetToken::parse("short").is_err());
    }

    #[test]
    fn kinds_round_trip() {
        for k in [ResetTokenKind::PasswordReset, ResetTokenKind::AccountSetup] {
            assert_eq!(ResetTokenKind::parse(k.as_str()), Some(k));
        }
    }
}
