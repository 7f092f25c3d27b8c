//! What an application calls with a login: `GET /userinfo`, `POST /change_user_password`
//! (Bearer access token) and `POST /oauth2/revoke` (RFC 7009).

use resetd_domain::login::{AccessClaims, RefreshToken};
use resetd_domain::password::Password;
use resetd_domain::user::UserStatus;
use resetd_ports::login::{FamilyKey, LockoutSubject};
use resetd_ports::users::User;
use subtle::ConstantTimeEq as _;

use super::{BearerError, BlockedStatus, CiamService, ClientAuthError, ClientCredentials};
use crate::password::SetPasswordError;
use crate::{fault, Fault};

/// `/change_user_password` input. `Debug` never shows the token or the passwords.
#[derive(Clone, Default)]
pub struct ChangeOwnPassword {
    /// The Bearer access token, when one was sent.
    pub token: Option<String>,
    /// The current password.
    pub old_password: Option<String>,
    /// The new password.
    pub new_password: Option<String>,
    /// The caller's address (the per-address limit of password changes), when known.
    pub ip: Option<std::net::IpAddr>,
}

impl std::fmt::Debug for ChangeOwnPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeOwnPassword").field("ip", &self.ip).finish_non_exhaustive()
    }
}

/// What `change_own_password` answers instead of a changed password; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum ChangeOwnPasswordError {
    /// The Bearer token is missing, or not a live access token.
    #[error(transparent)]
    Bearer(BearerError),
    /// `old_password` or `new_password` is missing.
    #[error("missing parameter {0}")]
    MissingParameter(&'static str),
    /// Too many password changes from this address.
    #[error("rate limited")]
    RateLimited {
        /// How long until the limit lets a request through again.
        retry_after: std::time::Duration,
    },
    /// The user is locked (by the lockout or an administrator), frozen or disabled.
    #[error("the user is {0:?}")]
    AbnormalUserStatus(BlockedStatus),
    /// The old password is wrong (a login failure for the lockout).
    #[error("wrong old password")]
    WrongOldPassword,
    /// The new password is the current one.
    #[error("the new password is the current one")]
    DuplicatePassword,
    /// The new password is one of the last ones.
    #[error("the password was used recently")]
    RecurrentPassword,
    /// The new password breaks the policy (empty when it is unusable at all).
    #[error("the password breaks the policy")]
    InvalidNewPassword(Vec<resetd_domain::policy::PolicyViolation>),
    /// A backend did not answer in time: answered 503, try again.
    #[error("a backend is unavailable while {0}")]
    Unavailable(Fault),
    /// Anything else, a bug: answered 500.
    #[error("failed while {0}")]
    Unexpected(Fault),
}

/// What `revoke` answers instead of `200`: only client failures (RFC 7009 answers `200`
/// for any token, valid or not).
#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    /// An unknown or switched-off client, or a confidential one without its right secret.
    #[error("client authentication failed")]
    InvalidClient,
    /// No `token` parameter.
    #[error("missing parameter token")]
    MissingToken,
    /// A backend did not answer in time: answered 503, try again.
    #[error("a backend is unavailable while {0}")]
    Unavailable(Fault),
    /// Anything else, a bug: answered 500.
    #[error("failed while {0}")]
    Unexpected(Fault),
}

faults_into!(ChangeOwnPasswordError, RevokeError);

impl From<BearerError> for ChangeOwnPasswordError {
    fn from(e: BearerError) -> Self {
        match e {
            BearerError::Unavailable(f) => Self::Unavailable(f),
            BearerError::Unexpected(f) => Self::Unexpected(f),
            other => Self::Bearer(other),
        }
    }
}

impl From<ClientAuthError> for RevokeError {
    fn from(e: ClientAuthError) -> Self {
        match e {
            ClientAuthError::InvalidClient => Self::InvalidClient,
            ClientAuthError::Unavailable(f) => Self::Unavailable(f),
            ClientAuthError::Unexpected(f) => Self::Unexpected(f),
        }
    }
}

fn blocked(status: UserStatus) -> Option<BlockedStatus> {
    match status {
        UserStatus::Active => None,
        UserStatus::Locked => Some(BlockedStatus::Locked),
        UserStatus::Frozen => Some(BlockedStatus::Frozen),
        UserStatus::Disabled => Some(BlockedStatus::Disabled),
    }
}

impl CiamService {
    /// `GET /userinfo`: the token's user, re-checked (it must still be active, and the token
    /// issued under its current credential generation).
    ///
    /// # Errors
    /// [`BearerError`].
    pub async fn userinfo(&self, token: Option<&str>) -> Result<User, BearerError> {
        let bearer = self.bearer(token).await?;
        if bearer.user.status != UserStatus::Active || bearer.user.generation != bearer.claims.r#gen {
            return Err(BearerError::Invalid);
        }
        // A client switched off since: its tokens stop working here too.
        match self.client_of(&bearer.claims).await {
            Ok(_) => Ok(bearer.user),
            Err(ChangeOwnPasswordError::Unavailable(f)) => Err(BearerError::Unavailable(f)),
            Err(ChangeOwnPasswordError::Unexpected(f)) => Err(BearerError::Unexpected(f)),
            Err(_) => Err(BearerError::Invalid),
        }
    }

    /// `POST /change_user_password`: the old password, then the new one through the policy
    /// and the history, in one transaction that also bumps the credential generation (every
    /// token of the user, the caller's included, is revoked) and sends the notice.
    ///
    /// # Errors
    /// [`ChangeOwnPasswordError`].
    #[tracing::instrument(name = "ciam.change_user_password", skip_all, err(level = "info", Display))]
    pub async fn change_own_password(&self, req: ChangeOwnPassword) -> Result<(), ChangeOwnPasswordError> {
        let ports = &self.ctx.ports;
        // Per address, before any argon2 work.
        if let Some(ip) = req.ip {
            let limit = self.ctx.settings.changes_per_ip;
            if let Some(retry_after) = self.ctx.limited(&crate::limit_keys::changes_from(ip), limit).await? {
                return Err(ChangeOwnPasswordError::RateLimited { retry_after });
            }
        }
        let bearer = self.bearer(req.token.as_deref()).await?;
        let user = bearer.user;
        // An administrator's status first (it also moved the generation): the documented words.
        if let Some(status) = blocked(user.status) {
            return Err(ChangeOwnPasswordError::AbnormalUserStatus(status));
        }
        if user.generation != bearer.claims.r#gen {
            return Err(BearerError::Invalid.into());
        }
        let subject = LockoutSubject::User(user.id);
        if ports.lockout.is_locked(&subject).await.map_err(fault("reading the login lockout"))? {
            return Err(ChangeOwnPasswordError::AbnormalUserStatus(BlockedStatus::Locked));
        }
        let old = req.old_password.filter(|s| !s.is_empty());
        let old = old.ok_or(ChangeOwnPasswordError::MissingParameter("old_password"))?;
        let new = req.new_password.filter(|s| !s.is_empty());
        let new = new.ok_or(ChangeOwnPasswordError::MissingParameter("new_password"))?;
        let client = self.client_of(&bearer.claims).await?;
        let rules = self.ctx.settings.login.for_client(&client.login);
        let state = ports.credentials.password_state(user.id, 0).await.map_err(fault("reading a password"))?;
        let current = state.and_then(|s| s.current);
        let verified = match (Password::new(old.clone()), current) {
            (Ok(p), Some(hash)) => {
                ports.hasher.matches_any(p, vec![hash]).await.map_err(fault("verifying a password"))?
            }
            _ => false,
        };
        if !verified {
            let failed = ports.lockout.record_failure(&subject, &rules.lockout);
            failed.await.map_err(fault("counting a login failure"))?;
            return Err(ChangeOwnPasswordError::WrongOldPassword);
        }
        // The old password verified, so it is the current one: no argon2 needed to tell.
        if bool::from(old.as_bytes().ct_eq(new.as_bytes())) {
            return Err(ChangeOwnPasswordError::DuplicatePassword);
        }
        let password = Password::new(new).map_err(|_| ChangeOwnPasswordError::InvalidNewPassword(Vec::new()))?;
        let policy = self.ctx.client_policy(&client.policy).await?;
        let notify = user.email.clone().map(resetd_domain::otp::Recipient::Email);
        let notify = notify.or_else(|| user.phone.clone().map(resetd_domain::otp::Recipient::Phone));
        let actor = format!("ciam:{}", client.id);
        match self.ctx.set_password(&user, password, &policy, None, actor, notify).await {
            Ok(()) => Ok(()),
            Err(SetPasswordError::Policy(v)) => Err(ChangeOwnPasswordError::InvalidNewPassword(v)),
            Err(SetPasswordError::Recurrent) => Err(ChangeOwnPasswordError::RecurrentPassword),
            Err(SetPasswordError::UserGone) => Err(BearerError::UserNotFound.into()),
            // The password or status changed meanwhile: the token is no longer live.
            Err(SetPasswordError::Conflict) => Err(BearerError::Invalid.into()),
            Err(SetPasswordError::Fault(e)) => Err(e.into()),
        }
    }

    /// The client an access token was issued to, while it is still enabled.
    async fn client_of(&self, claims: &AccessClaims) -> Result<resetd_ports::clients::Client, ChangeOwnPasswordError> {
        let id = resetd_domain::client::ClientId::parse(&claims.client_id).map_err(|_| BearerError::Invalid)?;
        let found = self.ctx.ports.clients.find(&id).await.map_err(fault("loading a client"))?;
        Ok(found.filter(|c| c.enabled).ok_or(BearerError::Invalid)?)
    }

    /// `POST /oauth2/revoke`: ends the login session of a refresh token or an access token
    /// (its refresh tokens and the access tokens issued in it), when it is the caller's.
    /// Anything else (unknown, expired, another client's) is ignored, as RFC 7009 asks.
    ///
    /// # Errors
    /// [`RevokeError`]: client authentication only.
    pub async fn revoke(&self, creds: &ClientCredentials, token: Option<&str>) -> Result<(), RevokeError> {
        let client = self.authenticate(creds).await?;
        let token = token.filter(|t| !t.is_empty()).ok_or(RevokeError::MissingToken)?;
        let ports = &self.ctx.ports;
        let keys: Vec<FamilyKey> = if let Ok(refresh) = RefreshToken::parse(token) {
            // Under each token key: a login started before a key rotation is still ended.
            let ring = self.ctx.settings.keys.all();
            ring.iter()
                .map(|k| FamilyKey { user_id: refresh.user_id(), family: refresh.family().session_id(k) })
                .collect()
        } else {
            let login = &self.ctx.settings.login;
            let verified =
                login.signer.as_ref().map(|s| s.verify_typed(token, &login.issuer, super::tokens::ACCESS_TYP));
            let claims: Option<AccessClaims> = verified.and_then(Result::ok);
            let key = claims.and_then(|c| {
                let user_id = resetd_domain::user::UserId::parse(&c.sub).ok()?;
                let family = resetd_domain::login::FamilyId::parse(&c.sid).ok()?;
                Some(FamilyKey { user_id, family })
            });
            key.into_iter().collect()
        };
        for key in keys {
            let family = ports.refresh_tokens.find(&key).await.map_err(fault("loading a login session"))?;
            if family.is_some_and(|f| f.client_id == client.id) {
                ports.refresh_tokens.end(&key).await.map_err(fault("ending a login session"))?;
            }
        }
        Ok(())
    }
}
