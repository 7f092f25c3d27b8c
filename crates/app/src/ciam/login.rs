//! `POST /oauth2/token`: the password grant and the refresh grant (contract §7.2).
//!
//! The password grant reaches argon2 by construction: the per-address limit is checked before
//! it, and the hasher's bounded queue sheds what is left (503). A wrong password and an
//! unknown username do the same work (an unknown one is checked against a dummy hash) and get
//! the same answer, and so does a wrong password for a locked or frozen account: a status
//! answer comes only after the password verified.

use std::net::IpAddr;

use resetd_domain::login::{FamilyId, RefreshToken};
use resetd_domain::otp::Recipient;
use resetd_domain::password::{Password, PasswordHash};
use resetd_domain::user::{Email, PhoneNumber, UserStatus};
use resetd_ports::login::{Family, FamilyKey, LockoutSubject, Rotation};

use super::{CiamService, ClientCredentials, Tokens};
use crate::{fault, Fault};

/// What a grant answers instead of tokens.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// An unknown or switched-off client, or a confidential one without its right secret.
    #[error("client authentication failed")]
    InvalidClient,
    /// This application type may not use the grant (M2M).
    #[error("this client type may not use the grant")]
    UnauthorizedClient,
    /// A required parameter is missing (named).
    #[error("missing parameter {0}")]
    MissingParameter(&'static str),
    /// `username` is neither an email address nor a phone number.
    #[error("unsupported username")]
    UnsupportedUsername,
    /// A wrong password, or no such user: one answer for both.
    #[error("wrong username or password")]
    WrongCredentials,
    /// The password verified, but the account is locked (by the lockout or an administrator),
    /// frozen or disabled.
    #[error("abnormal user status")]
    AbnormalUserStatus,
    /// A refresh token that is unknown, expired, replayed, another client's, or of a login
    /// that a password or status change has ended.
    #[error("invalid refresh token")]
    InvalidGrant,
    /// Too many token requests from this address, or tokens for this client.
    #[error("rate limited")]
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

faults_into!(TokenError);

impl From<super::ClientAuthError> for TokenError {
    fn from(e: super::ClientAuthError) -> Self {
        match e {
            super::ClientAuthError::InvalidClient => Self::InvalidClient,
            super::ClientAuthError::Unavailable(f) => Self::Unavailable(f),
            super::ClientAuthError::Unexpected(f) => Self::Unexpected(f),
        }
    }
}

/// The id of no user: what an unknown username's password read asks for.
const NOBODY: resetd_domain::user::UserId = resetd_domain::user::UserId::MAX;

/// `grant_type=password`. `Debug` never shows the password.
#[derive(Clone, Default)]
pub struct PasswordGrant {
    /// The user's email address or phone number.
    pub username: Option<String>,
    /// The password.
    pub password: Option<String>,
    /// The caller's address (the per-address limit), when known.
    pub ip: Option<IpAddr>,
}

impl std::fmt::Debug for PasswordGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordGrant").field("username", &self.username).field("ip", &self.ip).finish_non_exhaustive()
    }
}

/// `grant_type=refresh_token`. `Debug` never shows the token.
#[derive(Clone, Default)]
pub struct RefreshGrant {
    /// The refresh token.
    pub refresh_token: Option<String>,
    /// The caller's address (the per-address limit), when known.
    pub ip: Option<IpAddr>,
}

impl std::fmt::Debug for RefreshGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshGrant").field("ip", &self.ip).finish_non_exhaustive()
    }
}

/// A username as the password grant reads it: an address with `@` is an email, anything else
/// a phone number, normalised as on every other endpoint.
fn username(raw: &str) -> Result<Recipient, TokenError> {
    if raw.contains('@') {
        Email::parse(raw).map(Recipient::Email).map_err(|_| TokenError::UnsupportedUsername)
    } else {
        PhoneNumber::parse(raw).map(Recipient::Phone).map_err(|_| TokenError::UnsupportedUsername)
    }
}

impl CiamService {
    /// The client of a grant: authenticated, and of a type that logs users in.
    async fn grant_client(
        &self,
        creds: &ClientCredentials,
        ip: Option<IpAddr>,
    ) -> Result<resetd_ports::clients::Client, TokenError> {
        // Per address, before anything else: nothing costly runs for a flooding address.
        if let Some(ip) = ip {
            let limit = self.ctx.settings.login.per_ip;
            if let Some(retry_after) = self.ctx.limited(&crate::limit_keys::tokens_from(ip), limit).await? {
                return Err(TokenError::RateLimited { retry_after });
            }
        }
        let client = self.authenticate(creds).await?;
        if !client.client_type.may_log_users_in() {
            return Err(TokenError::UnauthorizedClient);
        }
        Ok(client)
    }

    /// Counts one token issued to `client`; only issued tokens count, so failed credentials
    /// never spend a client's ceiling.
    async fn count_issue(&self, client: &resetd_domain::client::ClientId) -> Result<(), TokenError> {
        let limit = self.ctx.settings.login.per_client;
        match self.ctx.limited(&crate::limit_keys::tokens_for(client), limit).await? {
            None => Ok(()),
            Some(retry_after) => Err(TokenError::RateLimited { retry_after }),
        }
    }

    /// A hash of nothing anyone knows, made once, that unknown users are checked against so
    /// that they cost the same argon2 work as known ones.
    async fn dummy_hash(&self) -> Result<PasswordHash, Fault> {
        let hasher = self.ctx.ports.hasher.clone();
        let made = self
            .dummy
            .get_or_try_init(|| async move {
                let noise = resetd_domain::access::AccessToken::generate(&mut rand::rngs::OsRng);
                let password = Password::new(noise.expose().to_owned()).map_err(fault("making a dummy password"))?;
                hasher.hash(password).await.map_err(fault("hashing a dummy password"))
            })
            .await?;
        Ok(made.clone())
    }

    /// Stores `password` again under the current argon2 parameters, replacing `old` only if it
    /// is still the current hash. The login does not depend on it: a failure is logged.
    async fn rehash(&self, user: &resetd_ports::users::User, old: &PasswordHash, password: Password) {
        let ports = &self.ctx.ports;
        let new = match ports.hasher.hash(password).await {
            Ok(new) => new,
            Err(e) => return tracing::warn!(error = %e, "could not rehash a password at login"),
        };
        match ports.credentials.rehash(user.id, old, &new).await {
            Ok(true) => tracing::info!(user_id = %user.id, "rehashed a password under the current argon2 parameters"),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "could not store a rehashed password"),
        }
    }

    /// `grant_type=password`.
    ///
    /// # Errors
    /// [`TokenError`]: the address's limit, the client, the parameters, then the password
    /// (one argon2 verification, known user or not), then the lock and the status.
    #[tracing::instrument(name = "ciam.password_grant", skip_all, err(level = "info", Display))]
    pub async fn password_grant(&self, creds: &ClientCredentials, req: PasswordGrant) -> Result<Tokens, TokenError> {
        let client = self.grant_client(creds, req.ip).await?;
        let name = req.username.filter(|s| !s.is_empty()).ok_or(TokenError::MissingParameter("username"))?;
        let password = req.password.filter(|s| !s.is_empty()).ok_or(TokenError::MissingParameter("password"))?;
        let recipient = username(&name)?;
        let ports = &self.ctx.ports;
        let user = self.find_user(&recipient).await?;
        // The same read for an unknown user (of an id no user has), so both cost the same.
        let read_for = user.as_ref().map_or(NOBODY, |u| u.id);
        let state = ports.credentials.password_state(read_for, 0).await.map_err(fault("reading a password"))?;
        let stored = state.filter(|_| user.is_some()).and_then(|s| s.current);
        let hash = match stored {
            Some(hash) => hash,
            None => self.dummy_hash().await?,
        };
        let rules = self.ctx.settings.login.for_client(&client.login);
        let subject = match &user {
            Some(u) => LockoutSubject::User(u.id),
            None => LockoutSubject::Unknown(self.destination_digest(&recipient)),
        };
        let password = Password::new(password).ok();
        let verified = match &password {
            Some(p) => {
                ports.hasher.matches_any(p.clone(), vec![hash.clone()]).await.map_err(fault("verifying a password"))?
            }
            None => false,
        };
        let user = user.filter(|u| verified && u.has_password);
        let Some(user) = user else {
            let failed = ports.lockout.record_failure(&subject, &rules.lockout);
            failed.await.map_err(fault("counting a login failure"))?;
            return Err(TokenError::WrongCredentials);
        };
        if user.status != UserStatus::Active
            || ports.lockout.is_locked(&subject).await.map_err(fault("reading the login lockout"))?
        {
            return Err(TokenError::AbnormalUserStatus);
        }
        self.count_issue(&client.id).await?;
        if let Err(e) = ports.lockout.clear(&subject).await {
            tracing::warn!(error = %e, "could not clear the login failures of a user who logged in");
        }
        if let (true, Some(password)) = (ports.hasher.needs_rehash(&hash), password) {
            self.rehash(&user, &hash, password).await;
        }
        let now = ports.clock.now();
        let id = FamilyId::generate(&mut rand::rngs::OsRng);
        let current = self.ctx.settings.keys.current();
        let key = FamilyKey { user_id: user.id, family: id.session_id(current) };
        let family = Family { client_id: client.id.clone(), generation: user.generation, auth_time: now };
        let refresh = RefreshToken::generate(user.id, id, &mut rand::rngs::OsRng);
        let digest = refresh.digest(current);
        let started = ports.refresh_tokens.start(&key, &family, &digest, rules.refresh_ttl);
        started.await.map_err(fault("starting a login session"))?;
        // A reset (or a status change) that committed while argon2 verified the password made
        // it an old one: no token, since a resource server checking signatures only would take
        // it until it expires. One that commits after this read ends the session just started,
        // as it ends every session before it.
        match ports.users.find(user.id).await.map_err(fault("reading the user again"))? {
            Some(now) if now.generation == user.generation => {}
            changed => {
                ports.refresh_tokens.end(&key).await.map_err(fault("ending a login session"))?;
                let inactive = changed.is_some_and(|u| u.status != UserStatus::Active);
                return Err(if inactive { TokenError::AbnormalUserStatus } else { TokenError::WrongCredentials });
            }
        }
        Ok(self.mint(&user, &key, &family, refresh, now, rules.access_ttl)?)
    }

    /// `grant_type=refresh_token`: rotates the refresh token. A replayed one ends its login;
    /// a retry within the grace window gets the first answer again.
    ///
    /// # Errors
    /// [`TokenError`]; [`TokenError::InvalidGrant`] for every refusal of the token itself.
    #[tracing::instrument(name = "ciam.refresh_grant", skip_all, err(level = "info", Display))]
    pub async fn refresh_grant(&self, creds: &ClientCredentials, req: RefreshGrant) -> Result<Tokens, TokenError> {
        let client = self.grant_client(creds, req.ip).await?;
        let raw = req.refresh_token.filter(|s| !s.is_empty()).ok_or(TokenError::MissingParameter("refresh_token"))?;
        let presented = RefreshToken::parse(&raw).map_err(|_| TokenError::InvalidGrant)?;
        let s = &self.ctx.settings;
        let key = FamilyKey { user_id: presented.user_id(), family: presented.family().session_id(s.keys.current()) };
        let next = presented.successor(s.keys.current());
        let (current, successor) = (presented.digest(s.keys.current()), next.digest(s.keys.current()));
        // The client's ceiling before the rotation (a refused refresh must not rotate the
        // token away from its caller), given back below when no token is issued.
        self.count_issue(&client.id).await?;
        let issued = self.refresh_rotated(&client, key, next, current, successor).await;
        if issued.is_err() {
            let limit_key = crate::limit_keys::tokens_for(&client.id);
            if let Err(e) = self.ctx.ports.rate_limiter.undo(&limit_key).await {
                tracing::warn!(error = %e, "could not give back a client's token count");
            }
        }
        issued
    }

    /// The rotation and re-checks of a refresh whose client is authenticated and counted.
    async fn refresh_rotated(
        &self,
        client: &resetd_ports::clients::Client,
        key: FamilyKey,
        next: RefreshToken,
        current: resetd_domain::keyed::Digest,
        successor: resetd_domain::keyed::Digest,
    ) -> Result<Tokens, TokenError> {
        let (s, ports, now) = (&self.ctx.settings, &self.ctx.ports, self.ctx.ports.clock.now());
        let rules = s.login.for_client(&client.login);
        let rotation = ports.refresh_tokens.rotate(
            &key,
            &client.id,
            &current,
            &successor,
            now,
            s.login.refresh_grace,
            rules.refresh_ttl,
        );
        let (family, at) = match rotation.await.map_err(fault("rotating a refresh token"))? {
            Rotation::Rotated { family, at } | Rotation::Retried { family, at } => (family, at),
            Rotation::Reused => {
                tracing::warn!(user_id = %key.user_id, "a rotated refresh token was presented again; its login is ended");
                return Err(TokenError::InvalidGrant);
            }
            Rotation::Unknown => return Err(TokenError::InvalidGrant),
        };
        // The user as it is now: a password or status change since the login ends it.
        let user = ports.users.find(key.user_id).await.map_err(fault("loading a user"))?;
        let Some(user) = user.filter(|u| u.status == UserStatus::Active && u.generation == family.generation) else {
            ports.refresh_tokens.end(&key).await.map_err(fault("ending a login session"))?;
            return Err(TokenError::InvalidGrant);
        };
        Ok(self.mint(&user, &key, &family, next, at, rules.access_ttl)?)
    }
}
