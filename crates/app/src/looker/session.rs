//! `POST /login`, session checks and `DELETE /logout`.

use resetd_domain::access::{ApiSecret, Principal, SessionToken};
use resetd_domain::client::ClientId;
use resetd_domain::user::UserStatus;
use resetd_ports::access::SessionKey;
use resetd_ports::audit::AuditKind;

use super::{AdminError, LookerService, Session};
use crate::unexpected;

impl LookerService {
    /// `POST /login`: client id and secret to an access token.
    ///
    /// # Errors
    /// [`AdminError::NotFound`] for bad credentials, [`AdminError::RateLimited`].
    #[tracing::instrument(name = "admin.login", skip_all, err(level = "info", Display))]
    pub async fn login(
        &self,
        client_id: &str,
        client_secret: &str,
        ip: Option<std::net::IpAddr>,
    ) -> Result<Session, AdminError> {
        let s = &self.ctx.settings;
        if let Some(ip) = ip {
            self.limit(crate::limit_keys::login_from(ip), s.login_per_ip).await?;
        }
        let id = ClientId::parse(client_id).map_err(|_| AdminError::NotFound)?;
        // Failures count per client and address: a right secret from elsewhere still logs in,
        // so guessing at an integration's id cannot lock the integration out.
        let failures = crate::limit_keys::login_failures(&id, ip);
        let ports = &self.ctx.ports;
        let spent = ports.rate_limiter.count(&failures).await.map_err(unexpected("reading the login failures"))?;
        if spent >= s.login_failures.limit {
            return Err(AdminError::RateLimited { retry_after: s.login_failures.window });
        }
        let cred = ports.api_credentials.find(&id).await.map_err(unexpected("loading an API credential"))?;
        let presented = ApiSecret::parse(client_secret).ok();
        let verified = match (&cred, &presented) {
            (Some(c), Some(p)) => s.keys.verify(&c.secret, |k| p.digest(k)),
            _ => None,
        };
        let cred = cred.filter(|_| verified.is_some());
        // A user who may not log in (disabled, locked, frozen) is answered as bad credentials.
        let owner = match &cred {
            Some(c) => ports.users.find(c.user_id).await.map_err(unexpected("loading a user"))?,
            None => None,
        };
        let (Some(cred), Some(owner)) = (cred, owner.filter(|u| u.status == UserStatus::Active)) else {
            ports
                .rate_limiter
                .hit(&failures, s.login_failures.limit, s.login_failures.window)
                .await
                .map_err(unexpected("counting a login failure"))?;
            ports.audit(AuditKind::ApiLoginFailed, None, format!("api:{id}"), String::new()).await?;
            return Err(AdminError::NotFound);
        };
        // A secret that verified under an old key is stored again under the current one, so the
        // old key can leave the ring (`resetd admin key-status`).
        if let Some(fresh) = verified.and_then(|v| v.reseal) {
            let reseal = ports.api_credentials.reseal(&cred.client_id, &cred.secret.digest, &fresh);
            reseal.await.map_err(unexpected("resealing an API secret"))?;
        }
        // The session lives under the user's credential generation as read with its status: a
        // password or status change committed since ends it.
        let token = SessionToken::generate(cred.user_id, &mut rand::rngs::OsRng);
        let session = SessionKey { user_id: cred.user_id, token: token.digest(s.keys.current()) };
        ports
            .access_tokens
            .issue(&session, cred.role, owner.generation, s.access_token_ttl)
            .await
            .map_err(unexpected("storing a session"))?;
        ports.audit(AuditKind::ApiLogin, Some(cred.user_id), format!("api:{id}"), String::new()).await?;
        Ok(Session { access_token: token, expires_in: s.access_token_ttl })
    }

    /// Resolves an access token.
    ///
    /// # Errors
    /// [`AdminError::Unauthenticated`] for unknown, revoked or expired tokens.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, AdminError> {
        Ok(self.resolve(token).await?.1)
    }

    /// Ends the session of `token`.
    ///
    /// # Errors
    /// [`AdminError::Unauthenticated`] when it is not a live session.
    pub async fn logout(&self, token: &str) -> Result<(), AdminError> {
        let (session, _) = self.resolve(token).await?;
        self.ctx.ports.access_tokens.revoke(&session).await.map_err(unexpected("revoking a session"))?;
        Ok(())
    }

    /// The live session of `token`, looked up under each token key in turn (the current one
    /// first): a session opened before a key rotation lives out its lifetime.
    async fn resolve(&self, token: &str) -> Result<(SessionKey, Principal), AdminError> {
        let token = SessionToken::parse(token).map_err(|_| AdminError::Unauthenticated)?;
        for key in self.ctx.settings.keys.all() {
            let session = SessionKey { user_id: token.user_id(), token: token.digest(key) };
            let found = self.ctx.ports.access_tokens.resolve(&session).await;
            if let Some(principal) = found.map_err(unexpected("resolving a session"))? {
                return Ok((session, principal));
            }
        }
        Err(AdminError::Unauthenticated)
    }
}
