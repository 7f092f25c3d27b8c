//! `/password_config`.

use resetd_domain::access::Principal;
use resetd_domain::policy::PolicyConfigError;
use resetd_ports::audit::AuditKind;

use super::{is_admin, LookerService, PasswordConfig, PasswordConfigPatch};
use crate::{fault, Fault};

/// What `password_config` answers instead of the configuration.
#[derive(Debug, thiserror::Error)]
pub enum GetPasswordConfigError {
    /// The caller is no admin.
    #[error("forbidden")]
    Forbidden,
    /// A backend did not answer in time: answered 503, try again.
    #[error("a backend is unavailable while {0}")]
    Unavailable(Fault),
    /// Anything else, a bug: answered 500.
    #[error("failed while {0}")]
    Unexpected(Fault),
}

/// What `update_password_config` answers instead of the new configuration; nothing was
/// written.
#[derive(Debug, thiserror::Error)]
pub enum UpdatePasswordConfigError {
    /// The caller is no admin.
    #[error("forbidden")]
    Forbidden,
    /// Every field out of range, in the order of the patch.
    #[error("the configuration is out of range")]
    Invalid(Vec<PolicyConfigError>),
    /// A backend did not answer in time: answered 503, try again.
    #[error("a backend is unavailable while {0}")]
    Unavailable(Fault),
    /// Anything else, a bug: answered 500.
    #[error("failed while {0}")]
    Unexpected(Fault),
}

/// What `force_reset_all` answers instead of the number of users marked.
#[derive(Debug, thiserror::Error)]
pub enum ForceResetAllError {
    /// The caller is no admin.
    #[error("forbidden")]
    Forbidden,
    /// A backend did not answer in time: answered 503, try again.
    #[error("a backend is unavailable while {0}")]
    Unavailable(Fault),
    /// Anything else, a bug: answered 500.
    #[error("failed while {0}")]
    Unexpected(Fault),
}

faults_into!(GetPasswordConfigError, UpdatePasswordConfigError, ForceResetAllError);

impl LookerService {
    /// `GET /password_config` (admins).
    ///
    /// # Errors
    /// [`GetPasswordConfigError`].
    pub async fn password_config(&self, caller: Principal) -> Result<PasswordConfig, GetPasswordConfigError> {
        if !is_admin(caller) {
            return Err(GetPasswordConfigError::Forbidden);
        }
        let stored = self.ctx.ports.policies.default_policy().await.map_err(fault("reading the policy"))?;
        Ok(match stored {
            Some(s) => PasswordConfig { policy: s.policy, policy_enabled_at: Some(s.updated_at) },
            None => PasswordConfig { policy: self.ctx.settings.default_policy.clone(), policy_enabled_at: None },
        })
    }

    /// `PATCH /password_config` (admins): `min_length` 7–100, `expiration_duration_days` 30–365.
    ///
    /// # Errors
    /// [`UpdatePasswordConfigError`].
    pub async fn update_password_config(
        &self,
        caller: Principal,
        patch: PasswordConfigPatch,
    ) -> Result<PasswordConfig, UpdatePasswordConfigError> {
        let mut policy = match self.password_config(caller).await {
            Ok(config) => config.policy,
            Err(GetPasswordConfigError::Forbidden) => return Err(UpdatePasswordConfigError::Forbidden),
            Err(GetPasswordConfigError::Unavailable(f) | GetPasswordConfigError::Unexpected(f)) => return Err(f.into()),
        };
        let mut errors = Vec::new();
        let range = |v: i64, lo: i64, hi: i64| (lo..=hi).contains(&v).then(|| u32::try_from(v).ok()).flatten();
        if let Some(v) = patch.min_length {
            match range(v, 7, 100) {
                Some(v) => policy.min_length = v,
                None => errors.push(PolicyConfigError::MinLength { min: 7, max: 100 }),
            }
        }
        if let Some(v) = patch.expiration_duration_days {
            match v.map(|d| range(d, 30, 365)) {
                None => policy.expiration_duration_days = None,
                Some(Some(d)) => policy.expiration_duration_days = Some(d),
                Some(None) => errors.push(PolicyConfigError::ExpirationDays),
            }
        }
        policy.require_numeric = patch.require_numeric.unwrap_or(policy.require_numeric);
        policy.require_upperlower = patch.require_upperlower.unwrap_or(policy.require_upperlower);
        policy.require_special = patch.require_special.unwrap_or(policy.require_special);
        policy.expiration_enabled = patch.expiration_enabled.unwrap_or(policy.expiration_enabled);
        policy.max_length = policy.max_length.max(policy.min_length);
        if errors.is_empty() {
            if let Err(e) = policy.validate(7) {
                errors = e;
            }
        }
        if !errors.is_empty() {
            return Err(UpdatePasswordConfigError::Invalid(errors));
        }
        let now = self.ctx.ports.clock.now();
        self.ctx.ports.policies.set_default_policy(&policy, now).await.map_err(fault("storing the policy"))?;
        self.ctx
            .ports
            .audit(AuditKind::PolicyChanged, None, format!("api-user:{}", caller.user_id), String::new())
            .await?;
        Ok(PasswordConfig { policy, policy_enabled_at: Some(now) })
    }

    /// `PUT /password_config/force_password_reset_at_next_login_for_all_users` (admins).
    ///
    /// # Errors
    /// [`ForceResetAllError`].
    pub async fn force_reset_all(&self, caller: Principal) -> Result<u64, ForceResetAllError> {
        if !is_admin(caller) {
            return Err(ForceResetAllError::Forbidden);
        }
        let n = self.ctx.ports.credentials.force_reset_all().await.map_err(fault("forcing resets"))?;
        self.ctx
            .ports
            .audit(AuditKind::ForcedResetAll, None, format!("api-user:{}", caller.user_id), n.to_string())
            .await?;
        Ok(n)
    }
}
