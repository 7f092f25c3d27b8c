//! Looker API credentials and the sessions they open.

use crate::keyed::Purpose;
use crate::opaque::opaque_secret;
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
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::User => "user",
        }
    }

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
    pub user_id: UserId,
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

#[cfg(test)]
mod tests {
    use super::*;

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
