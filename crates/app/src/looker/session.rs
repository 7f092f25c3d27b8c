//! `POST /login`, session checks and `DELETE /logout`.

use resetd_domain::access::{ApiSecret, Principal, SessionToken};
use resetd_domain::client::ClientId;
use resetd_domain::user::UserStatus;
use resetd_ports::access::SessionKey;
use resetd_ports::audit::AuditKind;

use super::{LookerService, Session};
use crate::{fault, Fault};

/// What `login` answers instead of a session.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// An unknown id, a wrong secret, or an owner who may not log in: one outcome for all.
    #[error("bad API credentials")]
    BadCredentials,
    /// Too many logins from this address, or failures for this id from it.
    #[error("too many logins")]
    RateLimited {
        /// How long until the limit lets a request through again.
        retry_after: std::time::Duration,
    },
    /// A backend did not answer in time: answered 503, try again.
    #[error("a backend is unavailable while {0}")]
    Unavailable(Fault),
    /// Anything else, a bug: answered 500.
    #[error("failed while {0}")]
    Unexpected(Fault),
}

/// What `authenticate` answers instead of the caller.
#[derive(Debug, thiserror::Error)]
pub enum AuthenticateError {
    /// Not a live session: unknown, revoked, expired, or of an older credential generation.
    #[error("not a live session")]
    Unauthenticated,
    /// A backend did not answer in time: answered 503, try again.
    #[error("a backend is unavailable while {0}")]
    Unavailable(Fault),
    /// Anything else, a bug: answered 500.
    #[error("failed while {0}")]
    Unexpected(Fault),
}

/// What `logout` answers when it ends no session.
#[derive(Debug, thiserror::Error)]
pub enum LogoutError {
    /// Not a live session.
    #[error("not a live session")]
    Unauthenticated,
    /// A backend did not answer in time: answered 503, try again.
    #[error("a backend is unavailable while {0}")]
    Unavailable(Fault),
    /// Anything else, a bug: answered 500.
    #[error("failed while {0}")]
    Unexpected(Fault),
}

faults_into!(LoginError, AuthenticateError, LogoutError);

impl From<AuthenticateError> for LogoutError {
    fn from(e: AuthenticateError) -> Self {
        match e {
            AuthenticateError::Unauthenticated => Self::Unauthenticated,
            AuthenticateError::Unavailable(f) => Self::Unavailable(f),
            AuthenticateError::Unexpected(f) => Self::Unexpected(f),
        }
    }
}

impl LookerService {
    /// `POST /login`: client id and secret to an access token.
    ///
    /// # Errors
    /// [`LoginError`]: the address's limit is checked first, then the id's failures from it,
    /// and only then the secret.
    #[tracing::instrument(name = "admin.login", skip_all, err(level = "info", Display))]
    pub async fn login(
        &self,
        client_id: &str,
        client_secret: &str,
        ip: Option<std::net::IpAddr>,
    ) -> Result<Session, LoginError> {
        let s = &self.ctx.settings;
        if let Some(ip) = ip {
            if let Some(retry_after) = self.limited(crate::limit_keys::login_from(ip), s.login_per_ip).await? {
                return Err(LoginError::RateLimited { retry_after });
            }
        }
        let id = ClientId::parse(client_id).map_err(|_| LoginError::BadCredentials)?;
        // Failures count per client and address: a right secret from elsewhere still logs in,
        // so guessing at an integration's id cannot lock the integration out.
        let failures = crate::limit_keys::login_failures(&id, ip);
        let ports = &self.ctx.ports;
        let spent = ports.rate_limiter.count(&failures).await.map_err(fault("reading the login failures"))?;
        if spent >= s.login_failures.limit {
            return Err(LoginError::RateLimited { retry_after: s.login_failures.window });
        }
        let cred = ports.api_credentials.find(&id).await.map_err(fault("loading an API credential"))?;
        let presented = ApiSecret::parse(client_secret).ok();
        let verified = match (&cred, &presented) {
            (Some(c), Some(p)) => s.keys.verify(&c.secret, |k| p.digest(k)),
            _ => None,
        };
        let cred = cred.filter(|_| verified.is_some());
        // A user who may not log in (disabled, locked, frozen) is answered as bad credentials.
        let owner = match &cred {
            Some(c) => ports.users.find(c.user_id).await.map_err(fault("loading a user"))?,
            None => None,
        };
        let (Some(cred), Some(owner)) = (cred, owner.filter(|u| u.status == UserStatus::Active)) else {
            ports
                .rate_limiter
                .hit(&failures, s.login_failures.limit, s.login_failures.window)
                .await
                .map_err(fault("counting a login failure"))?;
            ports.audit(AuditKind::ApiLoginFailed, None, format!("api:{id}"), String::new()).await?;
            return Err(LoginError::BadCredentials);
        };
        // A secret that verified under an old key is stored again under the current one, so the
        // old key can leave the ring (`resetd admin key-status`).
        if let Some(fresh) = verified.and_then(|v| v.reseal) {
            let reseal = ports.api_credentials.reseal(&cred.client_id, &cred.secret.digest, &fresh);
            reseal.await.map_err(fault("resealing an API secret"))?;
        }
        // The session lives under the user's credential generation as read with its status: a
        // password or status change committed since ends it.
        let token = SessionToken::generate(cred.user_id, &mut rand::rngs::OsRng);
        let session = SessionKey { user_id: cred.user_id, token: token.digest(s.keys.current()) };
        ports
            .access_tokens
            .issue(&session, cred.role, owner.generation, s.access_token_ttl)
            .await
            .map_err(fault("storing a session"))?;
        ports.audit(AuditKind::ApiLogin, Some(cred.user_id), format!("api:{id}"), String::new()).await?;
        Ok(Session { access_token: token, expires_in: s.access_token_ttl })
    }

    /// Resolves an access token.
    ///
    /// # Errors
    /// [`AuthenticateError::Unauthenticated`] for unknown, revoked or expired tokens.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, AuthenticateError> {
        Ok(self.resolve(token).await?.1)
    }

    /// Ends the session of `token`.
    ///
    /// # Errors
    /// [`LogoutError::Unauthenticated`] when it is not a live session.
    pub async fn logout(&self, token: &str) -> Result<(), LogoutError> {
        let (session, _) = self.resolve(token).await?;
        self.ctx.ports.access_tokens.revoke(&session).await.map_err(fault("revoking a session"))?;
        Ok(())
    }

    /// The live session of `token`, looked up under each token key in turn (the current one
    /// first): a session opened before a key rotation lives out its lifetime.
    async fn resolve(&self, token: &str) -> Result<(SessionKey, Principal), AuthenticateError> {
        let token = SessionToken::parse(token).map_err(|_| AuthenticateError::Unauthenticated)?;
        for key in self.ctx.settings.keys.all() {
            let session = SessionKey { user_id: token.user_id(), token: token.digest(key) };
            let found = self.ctx.ports.access_tokens.resolve(&session).await;
            if let Some(principal) = found.map_err(fault("resolving a session"))? {
                return Ok((session, principal));
            }
        }
        Err(AuthenticateError::Unauthenticated)
    }
}
