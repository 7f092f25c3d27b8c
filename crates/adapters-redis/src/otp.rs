//! [`OtpStore`] on Redis: one hash per challenge, judged by one Lua script.
//!
//! The challenge lives at `P{otp:<token digest hex>}:c` (see [`crate::keys`]) with the
//! fields
//!
//! | field      | value                                                     |
//! |------------|-----------------------------------------------------------|
//! | `code`     | the code's keyed digest, hex                              |
//! | `client`   | the client id it was sent for                             |
//! | `usage`    | `login`, `signup`, `update_userinfo` or `reset_password`  |
//! | `channel`  | `email` or `sms`                                          |
//! | `addr`     | the canonical recipient address                           |
//! | `attempts` | wrong guesses still allowed                               |
//! | `code_exp` | when the code stops being accepted, unix ms               |
//! | `exp`      | when the challenge is gone, unix ms                       |
//! | `claim`    | empty, or the id of the claim holding it                  |
//!
//! and a TTL of `expires_at - now`, so Redis drops it on time. The scripts compare instants
//! against the `now` they are given, never Redis's clock, so the rule is exactly
//! `OtpChallenge::judge` and tests can choose their instants. `verify_and_claim`, `release`
//! and `consume` are each one script on that single key: atomic across processes, and
//! Cluster-safe because the hash tag `{otp:<hex>}` pins every key of a challenge to one slot.

use std::sync::LazyLock;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rand::RngCore as _;
use redis::Script;
use resetd_domain::keyed::Digest;
use resetd_domain::otp::{OtpBinding, OtpChallenge};
use resetd_ports::otp::{Claim, ClaimOutcome, OtpStore};
use resetd_ports::StoreError;

use crate::store::deadline;
use crate::{keys, RedisStore};

static VERIFY: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/otp_verify.lua")));
static RELEASE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/otp_release.lua")));
static CONSUME: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/otp_consume.lua")));

/// A fresh, unguessable claim id: 128 bits from the OS RNG, hex.
fn claim_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[async_trait]
impl OtpStore for RedisStore {
    async fn create(&self, challenge: &OtpChallenge, now: DateTime<Utc>) -> Result<(), StoreError> {
        let key = keys::otp_challenge(self.prefix(), &challenge.token);
        let ttl_ms = (challenge.expires_at - now).num_milliseconds();
        let mut conn = self.conn();
        if ttl_ms <= 0 {
            // Already expired: nothing to keep (and nothing older may linger under its token).
            let _: () = deadline(redis::cmd("DEL").arg(&key).query_async(&mut conn)).await?;
            return Ok(());
        }
        let b = &challenge.binding;
        let fields = [
            ("code", challenge.code.to_hex()),
            ("client", b.client_id.as_str().to_owned()),
            ("usage", b.usage.as_str().to_owned()),
            ("channel", b.recipient.channel().as_str().to_owned()),
            ("addr", b.recipient.address().to_owned()),
            ("gen", b.generation.unwrap_or(0).to_string()),
            ("attempts", challenge.attempts_left.to_string()),
            ("code_exp", challenge.code_expires_at.timestamp_millis().to_string()),
            ("exp", challenge.expires_at.timestamp_millis().to_string()),
            ("claim", String::new()),
        ];
        let mut pipe = redis::pipe();
        pipe.atomic().del(&key).ignore().hset_multiple(&key, &fields).ignore().pexpire(&key, ttl_ms).ignore();
        let _: () = deadline(pipe.query_async(&mut conn)).await?;
        Ok(())
    }

    async fn verify_and_claim(
        &self,
        token: &Digest,
        guess: &Digest,
        binding: &OtpBinding,
        now: DateTime<Utc>,
    ) -> Result<ClaimOutcome, StoreError> {
        let id = claim_id();
        let mut call = VERIFY.prepare_invoke();
        call.key(keys::otp_challenge(self.prefix(), token))
            .arg(now.timestamp_millis())
            .arg(guess.to_hex())
            .arg(binding.client_id.as_str())
            .arg(binding.usage.as_str())
            .arg(binding.recipient.channel().as_str())
            .arg(binding.recipient.address())
            .arg(&id)
            .arg(binding.generation.map_or_else(|| "*".to_owned(), |g| g.to_string()));
        let lane = self.lane().await?;
        let (outcome, attempts_left): (String, i64) = deadline(call.invoke_async(&mut lane.conn())).await?;
        if outcome == "wrong" || outcome == "claimed" {
            // A spent attempt, or a claim that keeps the code from a second redemption.
            if let Err(e) = self.replicated(&lane, &keys::otp_challenge(self.prefix(), token)).await {
                if outcome == "claimed" {
                    // The request fails, so nobody would use or release this claim: the code
                    // would stay held until it expires. Given back now, as a failed reset does.
                    let claim = Claim { token: *token, id };
                    if let Err(release) = self.release(&claim).await {
                        tracing::warn!(error = %release, "could not release an OTP claim whose write no replica acknowledged");
                    }
                }
                return Err(e);
            }
        }
        match outcome.as_str() {
            "gone" => Ok(ClaimOutcome::Gone),
            "mismatch" => Ok(ClaimOutcome::Mismatch),
            "code_expired" => Ok(ClaimOutcome::CodeExpired),
            "claimed" => Ok(ClaimOutcome::Claimed(Claim { token: *token, id })),
            "wrong" => u32::try_from(attempts_left)
                .map(|attempts_left| ClaimOutcome::WrongCode { attempts_left })
                .map_err(|_| StoreError::corrupt("otp challenge attempts")),
            _ => Err(StoreError::corrupt("otp challenge")),
        }
    }

    async fn release(&self, claim: &Claim) -> Result<(), StoreError> {
        let mut call = RELEASE.prepare_invoke();
        call.key(keys::otp_challenge(self.prefix(), &claim.token)).arg(&claim.id);
        let mut conn = self.conn();
        let _: i64 = deadline(call.invoke_async(&mut conn)).await?;
        Ok(())
    }

    async fn consume(&self, claim: &Claim) -> Result<(), StoreError> {
        let mut call = CONSUME.prepare_invoke();
        call.key(keys::otp_challenge(self.prefix(), &claim.token)).arg(&claim.id);
        let lane = self.lane().await?;
        let _: i64 = deadline(call.invoke_async(&mut lane.conn())).await?;
        self.replicated(&lane, &keys::otp_challenge(self.prefix(), &claim.token)).await
    }

    async fn discard(&self, token: &Digest) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let _: () =
            deadline(redis::cmd("DEL").arg(keys::otp_challenge(self.prefix(), token)).query_async(&mut conn)).await?;
        Ok(())
    }
}
