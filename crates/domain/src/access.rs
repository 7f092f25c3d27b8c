//! Looker API credentials and the sessions they open.

use crate::keyed::{Digest, Purpose, TokenKey};
use crate::opaque::{opaque_secret, OpaqueSecretError};
use crate::user::UserId;

/// What an API session may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Manages every user.
    Admin,
    /// Sees and manages only itself.
    User,
}

impl Role {
    /// The name stored with a credential or a session: `admin` or `user`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::User => "user",
        }
    }

    /// The role named by [`Self::as_str`].
    ///
    /// # Errors
    /// `None` for an unknown name.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "admin" => Some(Self::Admin),
            "user" => Some(Self::User),
            _ => None,
        }
    }
}

/// The caller behind an access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    /// The user the session was opened for, whom it acts as.
    pub user_id: UserId,
    /// What the session may do: the role of the API credential that logged in.
    pub role: Role,
}

impl Principal {
    /// Admins act on anyone; other users only on themselves.
    pub fn may_manage(&self, target: UserId) -> bool {
        self.role == Role::Admin || self.user_id == target
    }
}

opaque_secret!(
    /// A Looker API client secret (the `client_secret` of `POST /api/4.0/login`).
    ApiSecret,
    Purpose::ApiSecret
);

opaque_secret!(
    /// A Looker API access token, presented as `Authorization: token X` or `Bearer X`.
    AccessToken,
    Purpose::AccessToken
);

/// A Looker API session token as presented: `<user id>.<secret>`, the secret an
/// [`AccessToken`]. The user id names where the session lives (next to the user's credential
/// generation, in one Redis hash slot), so a session check is one round trip. Only the keyed
/// digest of the whole text is stored: a token whose id was altered digests differently and
/// names a session that does not exist.
#[derive(Clone)]
pub struct SessionToken {
    user_id: UserId,
    secret: AccessToken,
}

impl SessionToken {
    /// A new session token of `user_id`, 256 fresh bits from `rng`.
    pub fn generate(user_id: UserId, rng: &mut (impl rand::RngCore + rand::CryptoRng)) -> Self {
        Self { user_id, secret: AccessToken::generate(rng) }
    }

    /// Reads a token as a client presents it.
    ///
    /// # Errors
    /// [`OpaqueSecretError::Malformed`] unless `raw` has the generated shape, with the user id
    /// in its one canonical spelling (no sign, no leading zero).
    pub fn parse(raw: &str) -> Result<Self, OpaqueSecretError> {
        let (user, secret) = raw.split_once('.').ok_or(OpaqueSecretError::Malformed)?;
        let user_id = UserId::parse(user).map_err(|_| OpaqueSecretError::Malformed)?;
        // Only the canonical spelling: "0042." is not another name of user 42's token.
        if user_id.to_string() != user {
            return Err(OpaqueSecretError::Malformed);
        }
        Ok(Self { user_id, secret: AccessToken::parse(secret)? })
    }

    /// The user whose session the token names (the text before the dot).
    pub fn user_id(&self) -> UserId {
        self.user_id
    }

    /// The token text, for the one answer that shows it.
    pub fn expose(&self) -> String {
        format!("{}.{}", self.user_id, self.secret.expose())
    }

    /// The keyed hash of the whole token, the only form that is stored.
    pub fn digest(&self, key: &TokenKey) -> Digest {
        key.digest(Purpose::AccessToken, &[self.user_id.to_string().as_bytes(), b".", self.secret.expose().as_bytes()])
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionToken").field("user_id", &self.user_id).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_tokens_round_trip_and_bind_their_user() {
        let key = TokenKey::generate(&mut rand::rngs::OsRng);
        let ada = UserId::from_i64(42).unwrap();
        let t = SessionToken::generate(ada, &mut rand::rngs::OsRng);
        let text = t.expose();
        assert!(text.starts_with("42."), "{text}");
        let back = SessionToken::parse(&text).unwrap();
        assert_eq!((back.user_id(), back.digest(&key)), (ada, t.digest(&key)));
        let (_, secret) = text.split_once('.').unwrap();
        let moved = SessionToken::parse(&format!("43.{secret}")).unwrap();
        assert_ne!(moved.digest(&key), t.digest(&key), "another user's id names another session");
        for bad in ["", "42", "42.", ".abc", "x.y", secret] {
            assert!(SessionToken::parse(bad).is_err(), "{bad:?}");
        }
        // Found by the domain_inputs fuzz target: a token read back must be the text given.
        assert!(SessionToken::parse(&format!("0042.{secret}")).is_err(), "one spelling per token");
        assert!(SessionToken::parse(&format!("+42.{secret}")).is_err());
        assert!(!format!("{t:?}").contains(secret), "Debug leaves the secret out");
    }

    #[test]
    fn admins_manage_everyone_users_only_themselves() {
        let me = UserId::from_i64(7).unwrap();
        let other = UserId::from_i64(8).unwrap();
        assert!(Principal { user_id: me, role: Role::Admin }.may_manage(other));
        assert!(Principal { user_id: me, role: Role::User }.may_manage(me));
        assert!(!Principal { user_id: me, role: Role::User }.may_manage(other));
        assert_eq!(Role::parse(Role::Admin.as_str()), Some(Role::Admin));
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn tokens_do_not_print() {
        let t = AccessToken::generate(&mut rand::rngs::OsRng);
        assert_eq!(format!("{t:?}"), "AccessToken([redacted])");
        let s = ApiSecret::generate(&mut rand::rngs::OsRng);
        assert_eq!(format!("{s:?}"), "ApiSecret([redacted])");
    }
}
