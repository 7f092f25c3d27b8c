//! Setting a new password, shared by every flow: policy → history (argon2, off the runtime)
//! → one atomic change that may consume a reset token.

use std::sync::Arc;

use resetd_domain::breach::BreachQuery;
use resetd_domain::keyed::Digest;
use resetd_domain::locale::Language;
use resetd_domain::otp::Recipient;
use resetd_domain::password::Password;
use resetd_domain::policy::{PasswordPolicy, PolicyContext, PolicyViolation};
use resetd_domain::user::UserId;
use resetd_ports::audit::{AuditEvent, AuditKind};
use resetd_ports::clients::ClientPolicy;
use resetd_ports::credentials::{ChangePassword, ChangePasswordError};
use resetd_ports::outbox::PendingNotice;
use resetd_ports::users::User;

use crate::{fault, Context, Fault};

/// Why a new password was not set.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SetPasswordError {
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
    Fault(#[from] Fault),
}

impl Context {
    /// The default policy: the one `password_config` stored, else the configured one.
    pub(crate) async fn default_policy(&self) -> Result<PasswordPolicy, Fault> {
        let stored = self.ports.policies.default_policy().await.map_err(fault("reading the default policy"))?;
        Ok(stored.map_or_else(|| self.settings.default_policy.clone(), |s| s.policy))
    }

    /// The policy for a CIAM client's users.
    pub(crate) async fn client_policy(&self, policy: &ClientPolicy) -> Result<PasswordPolicy, Fault> {
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

    /// Checks `password` and, if it passes, sets it in one transaction (consuming `consume`)
    /// together with its audit event (by `actor`) and the outbox row that publishes the new
    /// credential generation and sends the "password changed" notice to `notify`. Then
    /// publishes the generation at once, ending the user's older sessions.
    pub(crate) async fn set_password(
        &self,
        user: &User,
        password: Password,
        policy: &PasswordPolicy,
        consume: Option<Digest>,
        actor: String,
        notify: Option<Recipient>,
    ) -> Result<(), SetPasswordError> {
        self.check_policy(&password, policy, user.email.clone()).await?.map_err(SetPasswordError::Policy)?;
        let ports = &self.ports;
        let state = ports
            .credentials
            .password_state(user.id, policy.history_count)
            .await
            .map_err(fault("reading the password state"))?
            .ok_or(SetPasswordError::UserGone)?;
        if policy.history_count > 0 {
            let mut previous = state.history.clone();
            previous.extend(state.current.clone());
            if ports.hasher.matches_any(password.clone(), previous).await.map_err(fault("checking the history"))? {
                return Err(SetPasswordError::Recurrent);
            }
        }
        let new_hash = ports.hasher.hash(password).await.map_err(fault("hashing the password"))?;
        let now = ports.clock.now();
        let notice = notify.filter(|to| self.settings.delivers(to.channel())).map(|to| PendingNotice {
            to,
            language: Language::from_locale(user.locale.as_deref()),
            name: user.first_name.clone(),
        });
        let change = ChangePassword {
            user_id: user.id,
            new_hash,
            expected_version: state.version,
            // The user as read with its status: a status change since stops the change.
            expected_generation: user.generation,
            // What every policy in force needs, not only this one: a weaker policy's change
            // must not trim what a stronger one checks.
            history_limit: self.settings.history_retention.max(policy.history_count).max(1),
            consume,
            now,
            audit: AuditEvent {
                at: now,
                kind: AuditKind::PasswordChanged,
                user_id: Some(user.id),
                actor,
                detail: String::new(),
            },
            notice,
        };
        let generation = match ports.credentials.change_password(change).await {
            Ok(generation) => generation,
            Err(ChangePasswordError::VersionMoved | ChangePasswordError::TokenGone) => {
                return Err(SetPasswordError::Conflict)
            }
            Err(ChangePasswordError::UserNotFound) => return Err(SetPasswordError::UserGone),
            Err(ChangePasswordError::Store(e)) => return Err(Fault::new("changing the password", e).into()),
        };
        self.publish_generation(user.id, generation).await;
        // A new password clears the login lockout: a reset unlocks a user the lockout locked
        // (an administrator's lock is a status, which the flows refuse before this).
        let subject = resetd_ports::login::LockoutSubject::User(user.id);
        if let Err(e) = ports.lockout.clear(&subject).await {
            tracing::warn!(error = %e, user_id = %user.id, "could not clear the login lockout after a password change");
        }
        Ok(())
    }

    /// The policy check (the dictionary, zxcvbn, costs a few milliseconds) off the async
    /// workers, at most as many at once as there are cores.
    pub(crate) async fn check_policy(
        &self,
        password: &Password,
        policy: &PasswordPolicy,
        email: Option<resetd_domain::user::Email>,
    ) -> Result<Result<(), Vec<PolicyViolation>>, Fault> {
        let permit = Arc::clone(&self.checks)
            .acquire_owned()
            .await
            .map_err(|_| Fault::new("checking a password", "the service is shutting down"))?;
        let (candidate, rules) = (password.clone(), policy.clone());
        let check = move || {
            let _permit = permit;
            rules.check(&candidate, &PolicyContext { email: email.as_ref() })
        };
        let judged = tokio::task::spawn_blocking(check).await.map_err(fault("checking a password"))?;
        if judged.is_err() || !policy.check_breached {
            return Ok(judged);
        }
        Ok(if self.breached(password).await? { Err(vec![PolicyViolation::Breached]) } else { Ok(()) })
    }

    /// Whether the breached-password service knows `password` (`false` without one). Only the
    /// SHA-1's five-digit prefix is sent. When the service cannot answer, `breached.fail_open`
    /// decides: accept (a warning and a metric) or fail (answered 503).
    async fn breached(&self, password: &Password) -> Result<bool, Fault> {
        let Some(service) = &self.ports.breached else { return Ok(false) };
        let query = BreachQuery::of(password);
        match service.range(query.prefix()).await {
            Ok(suffixes) => Ok(query.found_in(&suffixes)),
            Err(e) if self.settings.breached_fail_open => {
                metrics::counter!("resetd_breached_check_failures_total").increment(1);
                tracing::warn!(error = %e, cause = ?e, "the breached-password check failed; the password is accepted (fail_open)");
                Ok(false)
            }
            Err(e) => Err(Fault::new("checking for a breached password", e)),
        }
    }

    /// Publishes a committed generation to the session store, ending older sessions. A
    /// failure is not lost: the change's outbox row publishes it again until it lands (the
    /// window this leaves is documented in docs/operations.md).
    pub(crate) async fn publish_generation(&self, user: UserId, generation: i64) {
        let ttl = self.settings.access_token_ttl;
        if let Err(e) = self.ports.access_tokens.publish_generation(user, generation, ttl).await {
            tracing::warn!(error = %e, user_id = %user, "publishing a credential generation failed; the outbox retries");
        }
    }

    /// After a committed status change: its new generation ends the user's sessions.
    pub(crate) async fn after_status_change(&self, before: &User, after: &User) {
        if after.generation != before.generation {
            self.publish_generation(after.id, after.generation).await;
        }
    }
}
