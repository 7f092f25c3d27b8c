//! `POST /otp/send`: the client, the request, the channel and the limits, then the challenge;
//! a known account is sent its code, an unknown one waits as long as a delivery takes.

use std::time::{Duration, Instant};

use resetd_domain::locale::Language;
use resetd_domain::otp::{OtpBinding, OtpChallenge, OtpCode, OtpToken, OtpUsage};
use resetd_ports::audit::AuditKind;
use resetd_ports::notify::{Notice, Notification};
use resetd_ports::rate_limit::{RateCheck, RateDecision};

use super::{parse_recipient, BadRequest, CiamService, ClientCredentials, SendOtp, SendOtpError, DELIVERY_SAMPLES};
use crate::{fault, limit_keys, RateLimit};

/// How long a failed delivery marks its channel failing, unless a good one clears it first.
const CHANNEL_FAILING_FOR: Duration = Duration::from_secs(30);

impl CiamService {
    /// `POST /otp/send` with `usage=reset_password`: the same answer whether or not the account
    /// exists; for an unknown account nothing is delivered, and as much time is spent.
    ///
    /// # Errors
    /// [`SendOtpError`], checked in the documented order: the client, the request, the
    /// channel, the limits; an unknown account is no error.
    #[tracing::instrument(name = "ciam.otp_send", skip_all, err(level = "info", Display))]
    pub async fn send_otp(&self, creds: &ClientCredentials, req: SendOtp) -> Result<OtpToken, SendOtpError> {
        let client = self.authenticate(creds).await?;
        if !client.client_type.may_send_otp() && !client.public_otp_send {
            return Err(SendOtpError::PublicClientMayNotSend);
        }
        // A code for a flow that is switched off could never be used.
        if !client.reset_enabled {
            return Err(SendOtpError::Misconfigured);
        }
        match req.usage.as_deref().map(OtpUsage::parse) {
            Some(Some(OtpUsage::ResetPassword)) => {}
            Some(None) => return Err(SendOtpError::BadRequest(BadRequest::UsageUnknown)),
            _ => return Err(SendOtpError::BadRequest(BadRequest::UsageUnsupported)),
        }
        let recipient = parse_recipient(req.email.as_deref(), req.phone_number.as_deref())?;
        let o = &self.ctx.settings.otp;
        let channel = recipient.channel();
        // Before any limit, and alike for known and unknown accounts.
        if !self.ctx.settings.delivers(channel) {
            return Err(SendOtpError::ChannelOff(channel));
        }
        let dest = self.destination(&recipient);
        let check = |key: String, l: RateLimit| RateCheck { key, limit: l.limit, window: l.window };
        let mut checks = vec![
            check(limit_keys::destination_cooldown(&dest), o.destination_cooldown),
            check(limit_keys::destination_daily(&dest), o.destination_daily),
            check(limit_keys::sends_by(&client.id), o.per_client),
        ];
        if let Some(ip) = req.ip {
            checks.push(check(limit_keys::sends_from(ip), o.per_ip));
        }
        // One round trip for every limit; the destination's answer wins (it has its own code).
        let decisions = self.ctx.ports.rate_limiter.hit_all(&checks).await.map_err(fault("rate limiting"))?;
        for (i, d) in decisions.into_iter().enumerate() {
            if let RateDecision::Limited { retry_after } = d {
                return Err(if i < 2 {
                    SendOtpError::DestinationRateLimited { channel, retry_after }
                } else {
                    SendOtpError::RateLimited { retry_after }
                });
            }
        }
        let user = self.find_user(&recipient).await?;

        let ports = &self.ctx.ports;
        let key = self.ctx.settings.keys.current();
        let token = OtpToken::generate(&mut rand::rngs::OsRng);
        let code = OtpCode::generate(&mut rand::rngs::OsRng, o.code_length);
        let now = ports.clock.now();
        let span = |d: Duration| chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
        let token_digest = token.digest(key);
        let challenge = OtpChallenge {
            token: token_digest,
            code: code.digest(key, &token_digest),
            binding: OtpBinding {
                client_id: client.id.clone(),
                usage: OtpUsage::ResetPassword,
                recipient: recipient.clone(),
                generation: Some(user.as_ref().map_or(0, |u| u.generation)),
            },
            attempts_left: o.max_attempts,
            code_expires_at: now + span(o.code_ttl),
            expires_at: now + span(o.token_ttl.max(o.code_ttl)),
        };
        // Both at once: on one multiplexed connection they share a write and a wake-up. While
        // the channel fails (as every process sees it), unknown addresses fail alike.
        let (created, failing) = tokio::join!(ports.otps.create(&challenge, now), ports.health.is_failing(channel));
        created.map_err(fault("storing a challenge"))?;
        let failing = failing.map_err(fault("reading the channel's health"))?;

        let started = Instant::now();
        match user {
            Some(user) => {
                let notification = Notification {
                    to: recipient,
                    language: Language::from_locale(user.locale.as_deref()),
                    name: user.first_name.clone(),
                    notice: Notice::OtpCode { code, valid_for: o.code_ttl },
                };
                if let Err(e) = ports.notifier.send(notification).await {
                    tracing::warn!(error = %e, "OTP delivery failed");
                    let marked = ports.health.mark_failing(channel, CHANNEL_FAILING_FOR).await;
                    marked.map_err(fault("marking a channel failing"))?;
                    ports.otps.discard(&token_digest).await.map_err(fault("discarding a challenge"))?;
                    return Err(SendOtpError::DeliveryFailed);
                }
                if failing {
                    ports.health.mark_working(channel).await.map_err(fault("marking a channel working"))?;
                }
                ports
                    .audit(
                        AuditKind::OtpSent,
                        Some(user.id),
                        format!("ciam:{}", client.id),
                        channel.as_str().to_owned(),
                    )
                    .await?;
                self.learn_delivery_time(started.elapsed());
            }
            None => {
                // Spend what a delivery costs, so timing does not tell the account is unknown.
                tokio::time::sleep(self.sample_delivery_time()).await;
                if failing {
                    ports.otps.discard(&token_digest).await.map_err(fault("discarding a challenge"))?;
                    return Err(SendOtpError::DeliveryFailed);
                }
            }
        }
        Ok(token)
    }

    fn learn_delivery_time(&self, took: Duration) {
        let mut times = self.delivery_times.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if times.len() == DELIVERY_SAMPLES {
            times.pop_front();
        }
        times.push_back(took);
    }

    fn sample_delivery_time(&self) -> Duration {
        use rand::Rng as _;
        let times = self.delivery_times.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if times.is_empty() {
            return Duration::ZERO;
        }
        times[rand::thread_rng().gen_range(0..times.len())]
    }
}
