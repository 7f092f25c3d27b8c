//! The ephemeral ports (Redis's, in production) in memory: OTP challenges, rate-limit
//! windows and API sessions.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use resetd_domain::access::{Principal, Role};
use resetd_domain::keyed::Digest;
use resetd_domain::otp::{Channel, OtpBinding, OtpChallenge, Verdict};
use resetd_domain::user::UserId;
use resetd_ports::access::{AccessTokenStore, SessionKey};
use resetd_ports::health::ChannelHealth;
use resetd_ports::otp::{Claim, ClaimOutcome, OtpStore};
use resetd_ports::rate_limit::{RateDecision, RateLimiter};
use resetd_ports::StoreError;

use crate::{random_id, MemoryStore, OtpEntry};

/// `d` for chrono arithmetic, saturating.
pub(crate) fn span(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

#[async_trait]
impl OtpStore for MemoryStore {
    async fn create(&self, challenge: &OtpChallenge, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut s = self.lock();
        s.otps.retain(|_, e| e.challenge.expires_at > now);
        s.otps.insert(challenge.token, OtpEntry { challenge: challenge.clone(), claim: None });
        Ok(())
    }

    async fn verify_and_claim(
        &self,
        token: &Digest,
        guess: &Digest,
        binding: &OtpBinding,
        now: DateTime<Utc>,
    ) -> Result<ClaimOutcome, StoreError> {
        let mut s = self.lock();
        let Some(entry) = s.otps.get_mut(token) else { return Ok(ClaimOutcome::Gone) };
        if entry.claim.is_some() {
            return Ok(ClaimOutcome::Gone);
        }
        let outcome = match entry.challenge.judge(guess, binding, now) {
            Verdict::Accept => {
                let claim = Claim { token: *token, id: random_id() };
                entry.claim = Some(claim.id.clone());
                ClaimOutcome::Claimed(claim)
            }
            Verdict::WrongCode { attempts_left } => {
                entry.challenge.attempts_left = attempts_left;
                ClaimOutcome::WrongCode { attempts_left }
            }
            Verdict::CodeExpired => ClaimOutcome::CodeExpired,
            Verdict::Mismatch => ClaimOutcome::Mismatch,
            Verdict::Expired => ClaimOutcome::Gone,
        };
        if matches!(outcome, ClaimOutcome::Gone | ClaimOutcome::WrongCode { attempts_left: 0 }) {
            s.otps.remove(token);
        }
        Ok(outcome)
    }

    async fn release(&self, claim: &Claim) -> Result<(), StoreError> {
        let mut s = self.lock();
        if let Some(entry) = s.otps.get_mut(&claim.token).filter(|e| e.claim.as_deref() == Some(claim.id.as_str())) {
            entry.claim = None;
        }
        Ok(())
    }

    async fn consume(&self, claim: &Claim) -> Result<(), StoreError> {
        let mut s = self.lock();
        if s.otps.get(&claim.token).is_some_and(|e| e.claim.as_deref() == Some(claim.id.as_str())) {
            s.otps.remove(&claim.token);
        }
        Ok(())
    }

    async fn discard(&self, token: &Digest) -> Result<(), StoreError> {
        self.lock().otps.remove(token);
        Ok(())
    }
}

#[async_trait]
impl RateLimiter for MemoryStore {
    async fn hit(&self, key: &str, limit: u32, window: Duration) -> Result<RateDecision, StoreError> {
        let now = self.clock.now();
        let mut s = self.lock();
        s.windows.retain(|_, (_, end)| *end > now);
        let (count, end) = s.windows.entry(key.to_owned()).or_insert((0, now + span(window)));
        if *count >= limit {
            let retry_after = (*end - now).to_std().unwrap_or(Duration::ZERO).max(Duration::from_millis(1));
            return Ok(RateDecision::Limited { retry_after: retry_after.min(window.max(Duration::from_millis(1))) });
        }
        *count += 1;
        Ok(RateDecision::Allowed)
    }

    async fn clear(&self, key: &str) -> Result<(), StoreError> {
        self.lock().windows.remove(key);
        Ok(())
    }

    async fn undo(&self, key: &str) -> Result<(), StoreError> {
        let now = self.clock.now();
        if let Some((count, _)) = self.lock().windows.get_mut(key).filter(|(_, end)| *end > now) {
            *count = count.saturating_sub(1);
        }
        Ok(())
    }

    async fn count(&self, key: &str) -> Result<u32, StoreError> {
        let now = self.clock.now();
        Ok(self.lock().windows.get(key).filter(|(_, end)| *end > now).map_or(0, |(n, _)| *n))
    }
}

#[async_trait]
impl AccessTokenStore for MemoryStore {
    async fn issue(&self, session: &SessionKey, role: Role, generation: i64, ttl: Duration) -> Result<(), StoreError> {
        let expires = self.clock.now() + span(ttl);
        let mut s = self.lock();
        let published = s.generations.entry(session.user_id).or_insert(generation);
        *published = (*published).max(generation);
        s.sessions.insert((session.user_id, session.token), (role, generation, expires));
        Ok(())
    }

    async fn resolve(&self, session: &SessionKey) -> Result<Option<Principal>, StoreError> {
        let now = self.clock.now();
        let mut s = self.lock();
        s.sessions.retain(|_, (_, _, expires)| *expires > now);
        let key = (session.user_id, session.token);
        let Some((role, generation, _)) = s.sessions.get(&key).copied() else { return Ok(None) };
        if s.generations.get(&session.user_id) == Some(&generation) {
            return Ok(Some(Principal { user_id: session.user_id, role }));
        }
        s.sessions.remove(&key);
        Ok(None)
    }

    async fn revoke(&self, session: &SessionKey) -> Result<(), StoreError> {
        self.lock().sessions.remove(&(session.user_id, session.token));
        Ok(())
    }

    async fn publish_generation(&self, user: UserId, generation: i64, _ttl: Duration) -> Result<(), StoreError> {
        let mut s = self.lock();
        let published = s.generations.entry(user).or_insert(generation);
        *published = (*published).max(generation);
        Ok(())
    }
}

#[async_trait]
impl ChannelHealth for MemoryStore {
    async fn mark_failing(&self, channel: Channel, for_at_most: Duration) -> Result<(), StoreError> {
        let until = self.clock.now() + span(for_at_most);
        self.lock().failing.insert(channel, until);
        Ok(())
    }

    async fn mark_working(&self, channel: Channel) -> Result<(), StoreError> {
        self.lock().failing.remove(&channel);
        Ok(())
    }

    async fn is_failing(&self, channel: Channel) -> Result<bool, StoreError> {
        let now = self.clock.now();
        Ok(self.lock().failing.get(&channel).is_some_and(|until| *until > now))
    }
}
