//! Setting a new password, shared by every flow: policy → history (argon2, off the runtime)
//! → one atomic change that may consume a reset token.

use resetd_domain::keyed::Digest;
use resetd_domain::password::Password;
use resetd_domain::policy::{PasswordPolicy, PolicyContext, PolicyViolation};
use resetd_ports::clients::ClientPolicy;
use resetd_ports::credentials::{ChangePassword, ChangePasswordError};
use resetd_ports::users::User;

use crate::{unexpected, Context, Unexpected};

/// Why a new password was not set.
#[derive(Debug, thiserror::Error)]
pub enum SetPasswordError {
    #[error("the password does not satisfy the policy")]
    Policy(Vec<PolicyViolation>),
    #[error("the password was used recently")]
    Recurrent,
    /// The token was consumed or the password changed concurrently: nothing was written.
    #[error("the password changed concurrently or the token is gone")]
    Conflict,
    #[error("no such user")]
    UserGone,
    #[error(transparent)]
    Unexpected(#[from] Unexpected),
}

impl Context {
    /// The default policy: the one `password_config` stored, else the configured one.
    pub(crate) async fn default_policy(&self) -> Result<PasswordPolicy, Unexpected> {
        let stored = self.ports.policies.default_policy().await.map_err(unexpected("reading the default policy"))?;
        Ok(stored.map_or_else(|| self.settings.default_policy.clone(), |s| s.policy))
    }

    /// The policy for a CIAM client's users.
    pub(crate) async fn client_policy(&self, policy: &ClientPolicy) -> Result<PasswordPolicy, Unexpected> {
        match policy {
            ClientPolicy::Default => self.default_policy().await,
            ClientPolicy::Custom(p) => Ok(p.clone()),
            ClientPolicy::Preset(name) => match self.settings.presets.get(name) {
                Some(p) => Ok(p.clone()),
                None => {
                    tracing::warn!(preset = %name, "unknown policy preset; using the default policy");
                    self.default_policy().await
                }
            },
        }
    }

    /// Checks `password` and, if it passes, sets it in one transaction (consuming `consume`).
    pub(crate) async fn set_password(
        &self,
        user: &User,
        password: Password,
        policy: &PasswordPolicy,
        consume: Option<Digest>,
    ) -> Result<(), SetPasswordError> {
        policy.check(&password, &PolicyContext { email: user.email.as_ref() }).map_err(SetPasswordError::Policy)?;
        let ports = &self.ports;
        let state = ports
            .credentials
            .password_state(user.id, policy.history_count)
            .await
            .map_err(unexpected("reading the password state"))?
            .ok_or(SetPasswordError::UserGone)?;
        if policy.history_count > 0 {
            let mut previous = state.history.clone();
            previous.extend(state.current.clone());
            if ports.hasher.matches_any(password.clone(), previous).await.map_err(unexpected("checking the history"))? {
                return Err(SetPasswordError::Recurrent);
            }
        }
        let new_hash = ports.hasher.hash(password).await.map_err(unexpected("hashing the password"))?;
        let change = ChangePassword {
            user_id: user.id,
            new_hash,
            expected_version: state.version,
            history_limit: policy.history_count.max(1),
            consume,
            now: ports.clock.now(),
        };
        match ports.credentials.change_password(change).await {
            Ok(()) => Ok(()),
            Err(ChangePasswordError::VersionMoved | ChangePasswordError::TokenGone) => Err(SetPasswordError::Conflict),
            Err(ChangePasswordError::UserNotFound) => Err(SetPasswordError::UserGone),
            Err(ChangePasswordError::Store(e)) => Err(Unexpected::new("changing the password", e).into()),
        }
    }

    /// After a status change: a user who may no longer sign in (disabled, locked, frozen)
    /// loses every session, in every process (sessions live in the shared store).
    pub(crate) async fn after_status_change(
        &self,
        before: &User,
        now: resetd_domain::user::UserStatus,
    ) -> Result<(), Unexpected> {
        if now != resetd_domain::user::UserStatus::Active && before.status != now {
            self.ports
                .access_tokens
                .revoke_all(before.id)
                .await
                .map_err(unexpected("ending the sessions of a user"))?;
        }
        Ok(())
    }

    /// After any successful change: end API sessions, tell the user. Failures are logged.
    pub(crate) async fn after_password_change(&self, user: &User, to: resetd_domain::otp::Recipient, actor: String) {
        use resetd_ports::notify::{Notice, Notification};
        if let Err(e) = self.ports.access_tokens.revoke_all(user.id).await {
            tracing::error!(error = %e, user_id = %user.id, "could not revoke the sessions of a user whose password changed");
        }
        self.ports.audit(resetd_ports::audit::AuditKind::PasswordChanged, Some(user.id), actor, String::new()).await;
        if !self.settings.delivers(to.channel()) {
            return;
        }
        let notification = Notification {
            to,
            language: resetd_domain::locale::Language::from_locale(user.locale.as_deref()),
            name: user.first_name.clone(),
            notice: Notice::PasswordChanged,
        };
        if let Err(e) = self.ports.notifier.send(notification).await {
            tracing::warn!(error = %e, user_id = %user.id, "could not send the password-changed notice");
        }
    }
}
