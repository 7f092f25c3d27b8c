//! The tokens of a CIAM login: minting the answer of the token endpoint, and reading a
//! Bearer access token back at resetd's own endpoints (`/userinfo`, `/change_user_password`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use resetd_domain::login::{AccessClaims, FamilyId, IdClaims, RefreshToken};
use resetd_domain::user::UserId;
use resetd_ports::login::{Family, FamilyKey};
use resetd_ports::users::User;

use super::CiamService;
use crate::{fault, Fault};

/// The answer of a successful grant.
#[derive(Clone)]
pub struct Tokens {
    /// A JWT the resource servers validate against the JWKS.
    pub access_token: String,
    /// Rotated at each refresh.
    pub refresh_token: RefreshToken,
    /// The OpenID Connect ID token.
    pub id_token: String,
    /// The access token's lifetime.
    pub expires_in: Duration,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens").field("expires_in", &self.expires_in).finish_non_exhaustive()
    }
}

/// What a Bearer access token could not be turned into.
#[derive(Debug, thiserror::Error)]
pub enum BearerError {
    /// No token was sent (RFC 6750 `invalid_request`).
    #[error("no bearer token")]
    Missing,
    /// A token that is not a live access token of this issuer: a bad signature, expired, its
    /// login session ended, or issued before the user's last password or status change.
    #[error("not a live access token")]
    Invalid,
    /// The token is good but its user is gone.
    #[error("the token's user is gone")]
    UserNotFound,
    /// A backend did not answer in time: answered 503, try again.
    #[error("a backend is unavailable while {0}")]
    Unavailable(Fault),
    /// Anything else, a bug: answered 500.
    #[error("failed while {0}")]
    Unexpected(Fault),
}

faults_into!(BearerError);

/// A Bearer access token read back: its claims and its user as it is now.
#[derive(Debug, Clone)]
pub(super) struct Bearer {
    pub claims: AccessClaims,
    pub user: User,
}

/// The header `typ` of access tokens (RFC 9068): what tells them from ID tokens, for resetd's
/// own endpoints and for resource servers.
pub(super) const ACCESS_TYP: &str = "at+jwt";

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl CiamService {
    /// Signs the access and ID tokens of `family` at `at` for `user`, living `access_ttl`,
    /// beside `refresh`. The
    /// same inputs give the same tokens (the claims are fixed by them, and ES256 and RS256
    /// signatures are deterministic), so a retried refresh gets the first answer again.
    pub(super) fn mint(
        &self,
        user: &User,
        key: &FamilyKey,
        family: &Family,
        refresh: RefreshToken,
        at: DateTime<Utc>,
        access_ttl: Duration,
    ) -> Result<Tokens, Fault> {
        let login = &self.ctx.settings.login;
        let signer = login.signer.as_ref().ok_or_else(|| Fault::new("signing tokens", "no signing key"))?;
        let (iat, ttl) = (at.timestamp(), secs(access_ttl));
        let client = family.client_id.as_str().to_owned();
        let sid = key.family.to_hex();
        let access = AccessClaims {
            iss: login.issuer.clone(),
            sub: user.id.to_string(),
            aud: client.clone(),
            client_id: client.clone(),
            iat,
            exp: iat.saturating_add(ttl),
            jti: format!("{sid}.{}", at.timestamp_millis()),
            scope: "openid".into(),
            r#gen: family.generation,
            sid,
        };
        let id = IdClaims {
            iss: login.issuer.clone(),
            sub: user.id.to_string(),
            aud: client,
            iat,
            exp: iat.saturating_add(ttl),
            auth_time: family.auth_time.timestamp(),
            email: user.email.as_ref().map(|e| e.as_str().to_owned()),
            phone_number: user.phone.as_ref().map(|p| p.as_str().to_owned()),
        };
        Ok(Tokens {
            access_token: signer.sign_typed(&access, ACCESS_TYP).map_err(fault("signing an access token"))?,
            id_token: signer.sign(&id).map_err(fault("signing an ID token"))?,
            refresh_token: refresh,
            expires_in: access_ttl,
        })
    }

    /// Reads a Bearer access token: its signature and expiry, its login session (still live,
    /// of the same client) and its user. The caller judges the user's status and generation.
    pub(super) async fn bearer(&self, token: Option<&str>) -> Result<Bearer, BearerError> {
        let token = token.filter(|t| !t.is_empty()).ok_or(BearerError::Missing)?;
        let login = &self.ctx.settings.login;
        let signer = login.signer.as_ref().ok_or_else(|| Fault::new("verifying a token", "no signing key"))?;
        let claims: AccessClaims =
            signer.verify_typed(token, &login.issuer, ACCESS_TYP).map_err(|_| BearerError::Invalid)?;
        let user_id = UserId::parse(&claims.sub).map_err(|_| BearerError::Invalid)?;
        let family = FamilyId::parse(&claims.sid).map_err(|_| BearerError::Invalid)?;
        let key = FamilyKey { user_id, family };
        let ports = &self.ctx.ports;
        let session = ports.refresh_tokens.find(&key).await.map_err(fault("loading a login session"))?;
        if session.is_none_or(|s| s.client_id.as_str() != claims.client_id) {
            return Err(BearerError::Invalid);
        }
        let user = ports.users.find(user_id).await.map_err(fault("loading a user"))?;
        Ok(Bearer { claims, user: user.ok_or(BearerError::UserNotFound)? })
    }
}
