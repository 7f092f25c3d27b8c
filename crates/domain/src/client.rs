//! Applications that call the CIAM API, and the rule of which must present a secret.

use std::fmt;

use crate::keyed::Purpose;
use crate::opaque::opaque_secret;

/// A client (application) id: 1 to 128 URL-safe characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientId(String);

/// Why text was refused as a [`ClientId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientIdError {
    /// Empty, over 128 bytes, or holding a character other than a letter, a digit, `.`, `_`,
    /// `~` or `-`.
    #[error("a client id is 1 to 128 letters, digits, '.', '_', '~' or '-'")]
    Malformed,
}

impl ClientId {
    /// Checks an id as an operator or a request gives it. It is kept as given, never normalised.
    ///
    /// # Errors
    /// [`ClientIdError::Malformed`] for an empty, long or oddly-spelled id.
    pub fn parse(raw: &str) -> Result<Self, ClientIdError> {
        let ok = !raw.is_empty()
            && raw.len() <= 128
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b"._~-".contains(&b));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ClientIdError::Malformed)
        }
    }

    /// A fresh id: 20 random letters and digits, like Looker's API client ids.
    pub fn generate(rng: &mut (impl rand::RngCore + rand::CryptoRng)) -> Self {
        use rand::distributions::{Alphanumeric, DistString};
        Self(Alphanumeric.sample_string(rng, 20))
    }

    /// The id as it was given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The four CIAM application types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientType {
    /// A server-side web application: confidential, holds a secret.
    Web,
    /// A single-page application running in the browser: public, has no secret.
    Spa,
    /// A native mobile application: public, has no secret.
    Mobile,
    /// A machine-to-machine service: confidential, holds a secret, may not reset passwords.
    M2m,
}

/// A client type name that is none of `web`, `spa`, `mobile` and `m2m`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("client type is one of web, spa, mobile, m2m")]
pub struct ClientTypeError;

impl ClientType {
    /// Every client type.
    pub const ALL: [Self; 4] = [Self::Web, Self::Spa, Self::Mobile, Self::M2m];

    /// Confidential clients (web, m2m) must present their secret; public ones (spa, mobile)
    /// have none and any secret they send is ignored.
    pub fn requires_secret(self) -> bool {
        matches!(self, Self::Web | Self::M2m)
    }

    /// Whether this type may call `POST /otp/send` without an operator's opt-in (contract
    /// §2.2 lists Web and M2M): a public client has no secret, so anyone could send in its name.
    pub fn may_send_otp(self) -> bool {
        matches!(self, Self::Web | Self::M2m)
    }

    /// Whether this type may call `POST /reset_user_password` (contract §2.2).
    pub fn may_reset_password(self) -> bool {
        !matches!(self, Self::M2m)
    }

    /// Whether the type may log users in (the password and refresh grants): every type but
    /// M2M, which has no user (contract §2.2).
    pub fn may_log_users_in(self) -> bool {
        !matches!(self, Self::M2m)
    }

    /// The type's name in configuration, in the store and on the wire: `web`, `spa`, `mobile`
    /// or `m2m`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::Spa => "spa",
            Self::Mobile => "mobile",
            Self::M2m => "m2m",
        }
    }

    /// The type named by [`Self::as_str`].
    ///
    /// # Errors
    /// [`ClientTypeError`] for an unknown name.
    pub fn parse(raw: &str) -> Result<Self, ClientTypeError> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw).ok_or(ClientTypeError)
    }
}

opaque_secret!(
    /// A CIAM client secret, shown once at creation.
    ClientSecret,
    Purpose::ClientSecret
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_confidential_clients_need_a_secret() {
        assert!(ClientType::Web.requires_secret());
        assert!(ClientType::M2m.requires_secret());
        assert!(!ClientType::Spa.requires_secret());
        assert!(!ClientType::Mobile.requires_secret());
        assert!(!ClientType::M2m.may_reset_password());
        for t in ClientType::ALL {
            assert_eq!(ClientType::parse(t.as_str()), Ok(t));
        }
    }

    #[test]
    fn client_ids_are_checked_and_generated() {
        assert!(ClientId::parse("TENANT_CLIENT_ID").is_ok());
        for bad in ["", "a b", "a:b", &"x".repeat(129)] {
            assert!(ClientId::parse(bad).is_err(), "{bad:?}");
        }
        let id = ClientId::generate(&mut rand::rngs::OsRng);
        assert_eq!(id.as_str().len(), 20);
        assert_eq!(ClientId::parse(id.as_str()), Ok(id));
    }

    #[test]
    fn secrets_do_not_print() {
        let s = ClientSecret::generate(&mut rand::rngs::OsRng);
        assert_eq!(format!("{s:?}"), "ClientSecret([redacted])");
        assert!(!format!("{s:?}").contains(s.expose()));
    }
}
