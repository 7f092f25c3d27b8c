//! `POST /reset_user_password`: client, body, the code (one reserved guess), the user and its
//! status, the policy and the history, then one change; the claim is consumed or released.

use resetd_domain::otp::{Channel, OtpBinding, OtpCode, OtpToken, OtpUsage, Recipient};
use resetd_domain::password::Password;
use resetd_domain::user::UserStatus;
use resetd_ports::clients::Client;
use resetd_ports::otp::ClaimOutcome;
use resetd_ports::rate_limit::RateDecision;
use resetd_ports::users::User;
use tracing::Instrument as _;

use super::{BadRequest, BlockedStatus, CiamService, ClientCredentials, ResetPasswordError, ResetWithOtp};
use crate::password::SetPasswordError;
use crate::{fault, Fault};

impl CiamService {
    /// `POST /reset_user_password`. Checks run in the documented order; a refused password
    /// releases the OTP so it can be used again; success consumes it.
    ///
    /// # Errors
    /// [`ResetPasswordError`], checked in the documented order.
    #[tracing::instrument(name = "ciam.reset_user_password", skip_all, err(level = "info", Display))]
    pub async fn reset_password(&self, creds: &ClientCredentials, req: ResetWithOtp) -> Result<(), ResetPasswordError> {
        let client = self.authenticate(creds).await?;
        if !client.client_type.may_reset_password() {
            return Err(ResetPasswordError::UnauthorizedClient);
        }
        if !client.reset_enabled {
            return Err(ResetPasswordError::Misconfigured);
        }
        // Per address, before anything costly (argon2) can run.
        if let Some(ip) = req.ip {
            let l = self.ctx.settings.changes_per_ip;
            let decided =
                self.ctx.ports.rate_limiter.hit(&crate::limit_keys::changes_from(ip), l.limit, l.window).await;
            if let RateDecision::Limited { retry_after } = decided.map_err(fault("rate limiting"))? {
                return Err(ResetPasswordError::RateLimited { retry_after });
            }
        }
        let present = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
        let email_triple = [&req.email, &req.email_otp_token, &req.email_otp].into_iter().all(present);
        let phone_triple =
            [&req.phone_number, &req.phone_number_otp_token, &req.phone_number_otp].into_iter().all(present);
        let password = req.password.clone().filter(|p| !p.is_empty());
        let (Some(password), true) = (password, email_triple ^ phone_triple) else {
            return Err(ResetPasswordError::BadRequest(BadRequest::MissingParameters));
        };
        let (channel, address, token, code) = if email_triple {
            (Channel::Email, req.email, req.email_otp_token, req.email_otp)
        } else {
            (Channel::Sms, req.phone_number, req.phone_number_otp_token, req.phone_number_otp)
        };
        let (address, token, code) = (address.unwrap_or_default(), token.unwrap_or_default(), code.unwrap_or_default());
        let recipient = Recipient::from_parts(channel, &address).ok_or(ResetPasswordError::BadOtpToken(channel))?;
        let token = OtpToken::parse(&token).map_err(|_| ResetPasswordError::BadOtpToken(channel))?;
        let code = OtpCode::parse(&code).map_err(|_| ResetPasswordError::BadOtp(channel))?;

        // From the claim on, the reset runs in its own task: should the caller go away (a
        // timeout, a closed connection), the claim is still consumed or released, never left
        // held, and the password change is whole or absent.
        let this = self.clone();
        let reset = async move { this.claim_and_reset(client, recipient, token, code, password).await };
        tokio::spawn(reset.in_current_span()).await.map_err(fault("resetting a password"))?
    }

    async fn claim_and_reset(
        self,
        client: Client,
        recipient: Recipient,
        token: OtpToken,
        code: OtpCode,
        password: String,
    ) -> Result<(), ResetPasswordError> {
        let channel = recipient.channel();
        let o = &self.ctx.settings.otp;
        let ports = &self.ctx.ports;
        // The user now: its generation must be the one the code was sent under (a password or
        // status change since kills the code); its absence and status are answered after the code.
        let user = self.find_user(&recipient).await?;
        let binding = OtpBinding {
            client_id: client.id.clone(),
            usage: OtpUsage::ResetPassword,
            recipient: recipient.clone(),
            generation: user.as_ref().map(|u| u.generation),
        };
        // The account's budget of guesses (all its channels, codes and clients): one is reserved
        // atomically before the code is compared, so concurrent guesses cannot all slip under
        // it, and refunded unless a wrong code spent it.
        let budget = match &user {
            Some(u) => crate::limit_keys::guesses_of(u.id),
            None => crate::limit_keys::guesses_at(&self.destination(&recipient)),
        };
        let limiter = &ports.rate_limiter;
        let reserved = limiter.hit(&budget, o.account_guesses.limit, o.account_guesses.window).await;
        if reserved.map_err(fault("reserving a guess"))? != RateDecision::Allowed {
            return Err(ResetPasswordError::BadOtp(channel));
        }
        let outcome = self.verify_under_each_key(&token, &code, &binding).await;
        if !matches!(outcome, Ok(ClaimOutcome::WrongCode { .. })) {
            limiter.undo(&budget).await.map_err(fault("refunding a guess"))?;
        }
        let claim = match outcome? {
            ClaimOutcome::Claimed(claim) => claim,
            ClaimOutcome::WrongCode { .. } | ClaimOutcome::CodeExpired => {
                return Err(ResetPasswordError::BadOtp(channel))
            }
            ClaimOutcome::Mismatch | ClaimOutcome::Gone => return Err(ResetPasswordError::BadOtpToken(channel)),
        };
        let result = self.reset_claimed(&client, &recipient, user, password).await;
        match &result {
            Ok(_) => {
                // The new generation already killed the code; consuming it also frees the key.
                if let Err(e) = ports.otps.consume(&claim).await {
                    tracing::warn!(error = %e, "could not consume a used OTP; it stays claimed until it expires");
                }
                // A reset clears what was spent against the account.
                if let Err(e) = limiter.clear(&budget).await {
                    tracing::warn!(error = %e, "could not clear the guess budget of a reset account");
                }
            }
            Err(_) => {
                if let Err(e) = ports.otps.release(&claim).await {
                    tracing::warn!(error = %e, "could not release an OTP claim; it stays claimed until it expires");
                }
            }
        }
        result.map(|_| ())
    }

    /// Judges the code under each token key in turn (the current one first) until one knows
    /// the token: a code sent before a key rotation stays usable for its lifetime. Only the
    /// challenge that knows the token spends an attempt.
    async fn verify_under_each_key(
        &self,
        token: &OtpToken,
        code: &OtpCode,
        binding: &OtpBinding,
    ) -> Result<ClaimOutcome, Fault> {
        let ports = &self.ctx.ports;
        let now = ports.clock.now();
        let mut outcome = ClaimOutcome::Gone;
        for key in self.ctx.settings.keys.all() {
            let token_digest = token.digest(key);
            let guess = code.digest(key, &token_digest);
            outcome = ports
                .otps
                .verify_and_claim(&token_digest, &guess, binding, now)
                .await
                .map_err(fault("verifying a code"))?;
            if outcome != ClaimOutcome::Gone {
                break;
            }
        }
        Ok(outcome)
    }

    async fn reset_claimed(
        &self,
        client: &Client,
        recipient: &Recipient,
        user: Option<User>,
        password: String,
    ) -> Result<User, ResetPasswordError> {
        let user = user.ok_or(ResetPasswordError::UserNotFound)?;
        let blocked = match user.status {
            UserStatus::Active => None,
            UserStatus::Frozen => Some(BlockedStatus::Frozen),
            UserStatus::Locked => Some(BlockedStatus::Locked),
            UserStatus::Disabled => Some(BlockedStatus::Disabled),
        };
        if let Some(status) = blocked {
            return Err(ResetPasswordError::AbnormalUserStatus(status));
        }
        let password = Password::new(password).map_err(|_| ResetPasswordError::InvalidNewPassword(Vec::new()))?;
        let policy = self.ctx.client_policy(&client.policy).await?;
        let actor = format!("ciam:{}", client.id);
        match self.ctx.set_password(&user, password, &policy, None, actor, Some(recipient.clone())).await {
            Ok(()) => Ok(user),
            Err(SetPasswordError::Policy(v)) => Err(ResetPasswordError::InvalidNewPassword(v)),
            Err(SetPasswordError::Recurrent) => Err(ResetPasswordError::RecurrentPassword),
            Err(SetPasswordError::UserGone) => Err(ResetPasswordError::UserNotFound),
            Err(SetPasswordError::Conflict) => Err(ResetPasswordError::BadOtpToken(recipient.channel())),
            Err(SetPasswordError::Fault(e)) => Err(e.into()),
        }
    }
}
