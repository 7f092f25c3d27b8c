//! Redeeming a reset link (`password_reset_url`): showing the form consumes nothing; posting
//! it checks the token, the policy and the history, then changes the password and consumes
//! the token in one transaction.

use std::sync::Arc;

use resetd_domain::keyed::Digest;
use resetd_domain::otp::Recipient;
use resetd_domain::password::Password;
use resetd_domain::policy::{PasswordPolicy, PolicyViolation};
use resetd_domain::reset_token::{ResetToken, ResetTokenKind};
use resetd_domain::user::Email;
use resetd_ports::credentials::TokenOwner;
use resetd_ports::rate_limit::RateDecision;
use resetd_ports::users::User;

use tracing::Instrument as _;

use crate::password::SetPasswordError;
use crate::{fault, Context, Fault};

/// What `redeem` answers instead of a changed password; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum RedeemError {
    /// Unknown, used, replaced or expired: one answer for all.
    #[error("the link is invalid or has expired")]
    InvalidToken,
    /// The new password breaks the policy: every rule it breaks. The link stays usable.
    #[error("the password does not satisfy the policy")]
    Policy(Vec<PolicyViolation>),
    /// Too many changes from this address.
    #[error("too many password changes from this address")]
    RateLimited {
        /// How long until the limit lets a request through again.
        retry_after: std::time::Duration,
    },
    /// The new password is one of the user's last ones. The link stays usable.
    #[error("the password was used recently")]
    Recurrent,
    /// A backend did not answer in time: answered 503, try again.
    #[error("a backend is unavailable while {0}")]
    Unavailable(Fault),
    /// Anything else, a bug: answered 500.
    #[error("failed while {0}")]
    Unexpected(Fault),
}

/// What `inspect` answers instead of the form.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// Unknown, used, replaced or expired, or its user may not reset: one answer for all.
    #[error("the link is invalid or has expired")]
    InvalidToken,
    /// A backend did not answer in time: answered 503, try again.
    #[error("a backend is unavailable while {0}")]
    Unavailable(Fault),
    /// Anything else, a bug: answered 500.
    #[error("failed while {0}")]
    Unexpected(Fault),
}

faults_into!(RedeemError, InspectError);

/// What the form page shows: the policy to describe, and whose account it is (the page's
/// read-only username, for password managers, and the language it speaks).
#[derive(Debug, Clone)]
pub struct ResetForm {
    /// A password reset or an account setup link (the page words them differently).
    pub kind: ResetTokenKind,
    /// The default policy the new password must pass.
    pub policy: PasswordPolicy,
    /// The user's email; `None` when the user has no email credential.
    pub email: Option<Email>,
    /// The user's locale, the page's language; `None` when unset.
    pub locale: Option<String>,
    /// Whether a new password is also looked up in the breached-password range (the policy
    /// asks for it and a service is configured), so the page can say so beforehand.
    pub breached_checked: bool,
}

/// The reset-link page: checking a link ([`Self::inspect`]) and redeeming it
/// ([`Self::redeem`]).
#[derive(Debug, Clone)]
pub struct RedeemService {
    ctx: Arc<Context>,
}

impl RedeemService {
    pub(crate) fn new(ctx: Arc<Context>) -> Self {
        Self { ctx }
    }

    /// Checks a link without consuming it.
    ///
    /// # Errors
    /// [`InspectError::InvalidToken`] for any token that would not redeem now.
    #[tracing::instrument(name = "redeem.inspect", skip_all, err(level = "info", Display))]
    pub async fn inspect(&self, token: &str) -> Result<ResetForm, InspectError> {
        let (owner, user, _) = self.owner(token).await?.ok_or(InspectError::InvalidToken)?;
        let policy = self.ctx.default_policy().await?;
        let breached_checked = policy.check_breached && self.ctx.ports.breached.is_some();
        Ok(ResetForm { kind: owner.kind, policy, email: user.email, locale: user.locale, breached_checked })
    }

    /// Sets the password of the link's user and consumes the link.
    ///
    /// # Errors
    /// [`RedeemError`]; a refused password leaves the link usable.
    #[tracing::instrument(name = "redeem.redeem", skip_all, fields(user_id = tracing::field::Empty), err(level = "info", Display))]
    pub async fn redeem(&self, token: &str, password: Password) -> Result<(), RedeemError> {
        self.redeem_from(token, password, None).await
    }

    /// [`Self::redeem`] for a caller at `ip`, whose changes are limited per address before
    /// any argon2 work.
    ///
    /// # Errors
    /// [`RedeemError`]; a refused password leaves the link usable.
    pub async fn redeem_from(
        &self,
        token: &str,
        password: Password,
        ip: Option<std::net::IpAddr>,
    ) -> Result<(), RedeemError> {
        if let Some(ip) = ip {
            let l = self.ctx.settings.changes_per_ip;
            let decided =
                self.ctx.ports.rate_limiter.hit(&crate::limit_keys::changes_from(ip), l.limit, l.window).await;
            if let RateDecision::Limited { retry_after } = decided.map_err(fault("rate limiting"))? {
                return Err(RedeemError::RateLimited { retry_after });
            }
        }
        let (owner, user, digest) = self.owner(token).await?.ok_or(RedeemError::InvalidToken)?;
        tracing::Span::current().record("user_id", tracing::field::display(owner.user_id));
        let policy = self.ctx.default_policy().await?;
        let notify = user.email.clone().map(Recipient::Email);
        // From here the change runs in a task of its own: a caller that goes away (a timeout,
        // a closed connection) cannot stop it between its commit and the publication of the
        // new generation.
        let ctx = self.ctx.clone();
        let change =
            async move { ctx.set_password(&user, password, &policy, Some(digest), "link".to_owned(), notify).await };
        let changed = tokio::spawn(change.in_current_span()).await.map_err(fault("redeeming a link"))?;
        match changed {
            Ok(()) => Ok(()),
            Err(SetPasswordError::Policy(v)) => Err(RedeemError::Policy(v)),
            Err(SetPasswordError::Recurrent) => Err(RedeemError::Recurrent),
            Err(SetPasswordError::Conflict | SetPasswordError::UserGone) => Err(RedeemError::InvalidToken),
            Err(SetPasswordError::Fault(e)) => Err(e.into()),
        }
    }

    /// The token's owner, the user, and the token's digest as stored: looked up under each
    /// token key in turn (the current one first), so links sent before a key rotation work
    /// until they expire.
    async fn owner(&self, token: &str) -> Result<Option<(TokenOwner, User, Digest)>, Fault> {
        let Ok(token) = ResetToken::parse(token) else {
            return Ok(None);
        };
        let ports = &self.ctx.ports;
        let now = ports.clock.now();
        let mut found = None;
        for key in self.ctx.settings.keys.all() {
            let digest = token.digest(key);
            let owner = ports.credentials.find_reset_token(&digest, now).await;
            if let Some(owner) = owner.map_err(fault("looking up a reset token"))? {
                found = Some((owner, digest));
                break;
            }
        }
        let Some((owner, digest)) = found else {
            return Ok(None);
        };
        let user = ports.users.find(owner.user_id).await.map_err(fault("loading the user"))?;
        // The status at the moment of use: only an active account redeems.
        let user = user.filter(|u| u.status == resetd_domain::user::UserStatus::Active);
        Ok(user.map(|user| (owner, user, digest)))
    }
}
