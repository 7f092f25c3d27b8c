//! The port contract suite against the in-memory adapter, and proof that the suite bites:
//! wrappers that each break one rule must fail it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::FutureExt as _;
use resetd_adapters_memory::MemoryStore;
use resetd_domain::client::ClientId;
use resetd_domain::keyed::Digest;
use resetd_domain::otp::{OtpBinding, OtpChallenge};
use resetd_domain::reset_token::ResetTokenKind;
use resetd_domain::user::{Email, UserId};
use resetd_ports::credentials::{
    ChangePassword, ChangePasswordError, CredentialStore, CredentialWriteError, EmailCredential, PasswordState,
    TokenOwner,
};
use resetd_ports::login::{Family, FamilyKey, LockoutRule, LockoutSubject, LoginLockout, RefreshTokenStore, Rotation};
use resetd_ports::otp::{Claim, ClaimOutcome, OtpStore};
use resetd_ports::testkit::{self, Advance, ManualClock};
use resetd_ports::StoreError;

fn store() -> (Arc<MemoryStore>, Advance) {
    let clock = Arc::new(ManualClock::new(testkit::t0()));
    let store = Arc::new(MemoryStore::new(clock.clone()));
    let advance: Advance = Box::new(move |d| {
        clock.advance(d);
        Box::pin(async {})
    });
    (store, advance)
}

#[tokio::test]
async fn users_follow_the_contract() {
    let (s, _) = store();
    testkit::user_store(s.clone(), s).await;
}

#[tokio::test]
async fn credentials_follow_the_contract() {
    let (s, _) = store();
    testkit::credential_store(s.clone(), s).await;
}

#[tokio::test]
async fn changes_write_their_audit_and_outbox_rows() {
    let (s, _) = store();
    testkit::changes_write_their_records(s.clone(), s.clone(), s.clone(), s).await;
}

#[tokio::test]
async fn the_small_stores_follow_the_contract() {
    let (s, _) = store();
    testkit::client_registry(s.clone()).await;
    testkit::policy_store(s.clone()).await;
    testkit::audit_log(s.clone(), s.clone()).await;
    testkit::api_credential_store(s.clone(), s).await;
}

#[tokio::test]
async fn key_usage_follows_the_contract() {
    let (s, _) = store();
    let stores = testkit::KeyedStores {
        usage: s.clone(),
        users: s.clone(),
        credentials: s.clone(),
        api_credentials: s.clone(),
        clients: s,
    };
    testkit::key_usage(stores).await;
}

#[tokio::test]
async fn otp_challenges_follow_the_contract() {
    let (s, _) = store();
    testkit::otp_store(s).await;
}

#[tokio::test]
async fn sessions_and_rate_limits_follow_the_contract() {
    let (s, advance) = store();
    testkit::access_token_store(s.clone(), advance).await;
    let (s, advance) = store();
    testkit::rate_limiter(s, advance).await;
    let (s, advance) = store();
    testkit::channel_health(s, advance).await;
}

/// An OTP store that forgets to count wrong attempts: after a wrong guess the challenge is
/// as it was before it, and says so. Every other rule is the real store's.
struct NoAttemptCount(MemoryStore, std::sync::Mutex<std::collections::HashMap<Digest, (OtpChallenge, DateTime<Utc>)>>);

#[async_trait]
impl OtpStore for NoAttemptCount {
    async fn create(&self, c: &OtpChallenge, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.1.lock().unwrap().insert(c.token, (c.clone(), now));
        OtpStore::create(&self.0, c, now).await
    }
    async fn verify_and_claim(
        &self,
        t: &Digest,
        g: &Digest,
        b: &OtpBinding,
        now: DateTime<Utc>,
    ) -> Result<ClaimOutcome, StoreError> {
        let outcome = self.0.verify_and_claim(t, g, b, now).await?;
        let before = self.1.lock().unwrap().get(t).cloned();
        match (outcome, before) {
            (ClaimOutcome::WrongCode { .. }, Some((c, at))) => {
                OtpStore::create(&self.0, &c, at).await?;
                Ok(ClaimOutcome::WrongCode { attempts_left: c.attempts_left })
            }
            (other, _) => Ok(other),
        }
    }
    async fn release(&self, c: &Claim) -> Result<(), StoreError> {
        self.0.release(c).await
    }
    async fn consume(&self, c: &Claim) -> Result<(), StoreError> {
        self.0.consume(c).await
    }
    async fn discard(&self, t: &Digest) -> Result<(), StoreError> {
        self.0.discard(t).await
    }
}

/// A credential store whose password change ignores the token it should consume (so a dead,
/// expired or another user's token does not stop it). Every other rule, the version check
/// included, is the real store's.
struct TokenNotConsumed(MemoryStore);

#[async_trait]
impl CredentialStore for TokenNotConsumed {
    async fn get(&self, u: UserId) -> Result<Option<EmailCredential>, StoreError> {
        self.0.get(u).await
    }
    async fn get_many(&self, u: &[UserId]) -> Result<Vec<EmailCredential>, StoreError> {
        self.0.get_many(u).await
    }
    async fn create(&self, u: UserId, e: &Email, now: DateTime<Utc>) -> Result<EmailCredential, CredentialWriteError> {
        CredentialStore::create(&self.0, u, e, now).await
    }
    async fn update(
        &self,
        u: UserId,
        e: Option<Email>,
        f: Option<bool>,
    ) -> Result<EmailCredential, CredentialWriteError> {
        CredentialStore::update(&self.0, u, e, f).await
    }
    async fn delete(&self, u: UserId) -> Result<bool, StoreError> {
        CredentialStore::delete(&self.0, u).await
    }
    async fn issue_reset_token(
        &self,
        u: UserId,
        t: &resetd_domain::keyring::Sealed,
        k: ResetTokenKind,
        e: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        a: &resetd_ports::audit::AuditEvent,
    ) -> Result<Option<EmailCredential>, StoreError> {
        self.0.issue_reset_token(u, t, k, e, now, a).await
    }
    async fn find_reset_token(&self, t: &Digest, now: DateTime<Utc>) -> Result<Option<TokenOwner>, StoreError> {
        self.0.find_reset_token(t, now).await
    }
    async fn password_state(&self, u: UserId, l: u32) -> Result<Option<PasswordState>, StoreError> {
        self.0.password_state(u, l).await
    }
    async fn change_password(&self, c: ChangePassword) -> Result<i64, ChangePasswordError> {
        self.0.change_password(ChangePassword { consume: None, ..c }).await
    }
    async fn rehash(
        &self,
        u: UserId,
        old: &resetd_domain::password::PasswordHash,
        new: &resetd_domain::password::PasswordHash,
    ) -> Result<bool, StoreError> {
        self.0.rehash(u, old, new).await
    }
    async fn force_reset_all(&self) -> Result<u64, StoreError> {
        self.0.force_reset_all().await
    }
}

/// The message of the assertion a broken store failed, or why it did not fail.
fn failed_assertion(result: std::thread::Result<()>) -> String {
    let payload = result.expect_err("the suite must reject the broken store");
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

#[tokio::test]
async fn the_suite_fails_an_otp_store_that_does_not_count_attempts() {
    let clock = Arc::new(ManualClock::new(testkit::t0()));
    let broken = Arc::new(NoAttemptCount(MemoryStore::new(clock), std::sync::Mutex::default()));
    let result = std::panic::AssertUnwindSafe(testkit::otp_store(broken)).catch_unwind().await;
    let message = failed_assertion(result);
    assert!(message.contains("a wrong code costs an attempt"), "failed elsewhere: {message}");
}

#[tokio::test]
async fn the_suite_fails_a_credential_store_with_reusable_tokens() {
    let broken = Arc::new(TokenNotConsumed(MemoryStore::new(Arc::new(ManualClock::new(testkit::t0())))));
    let users: Arc<dyn resetd_ports::users::UserStore> = Arc::new(SharedUsers(broken.clone()));
    let result = std::panic::AssertUnwindSafe(testkit::credential_store(users, broken)).catch_unwind().await;
    let message = failed_assertion(result);
    assert!(message.contains("another user's token"), "failed elsewhere, not on the token rule: {message}");
}

/// Exposes the users of the wrapped store, so the broken credential store and the user store
/// see the same data.
struct SharedUsers(Arc<TokenNotConsumed>);

#[async_trait]
impl resetd_ports::users::UserStore for SharedUsers {
    async fn create(
        &self,
        n: resetd_ports::users::NewUser,
        now: DateTime<Utc>,
    ) -> Result<resetd_ports::users::User, resetd_ports::users::UserWriteError> {
        resetd_ports::users::UserStore::create(&self.0 .0, n, now).await
    }
    async fn find(&self, id: UserId) -> Result<Option<resetd_ports::users::User>, StoreError> {
        resetd_ports::users::UserStore::find(&self.0 .0, id).await
    }
    async fn find_by_email(&self, e: &Email) -> Result<Option<resetd_ports::users::User>, StoreError> {
        self.0 .0.find_by_email(e).await
    }
    async fn find_by_phone(
        &self,
        p: &resetd_domain::user::PhoneNumber,
    ) -> Result<Option<resetd_ports::users::User>, StoreError> {
        self.0 .0.find_by_phone(p).await
    }
    async fn list(&self, o: u64, l: u64) -> Result<Vec<resetd_ports::users::User>, StoreError> {
        self.0 .0.list(o, l).await
    }
    async fn update(
        &self,
        id: UserId,
        p: resetd_ports::users::UserPatch,
    ) -> Result<Option<resetd_ports::users::User>, resetd_ports::users::UserWriteError> {
        resetd_ports::users::UserStore::update(&self.0 .0, id, p).await
    }
    async fn delete(&self, id: UserId, a: &resetd_ports::audit::AuditEvent) -> Result<bool, StoreError> {
        resetd_ports::users::UserStore::delete(&self.0 .0, id, a).await
    }
}

#[tokio::test]
async fn login_sessions_and_lockouts_follow_the_contract() {
    let (s, advance) = store();
    testkit::refresh_token_store(s, advance).await;
    let (s, advance) = store();
    testkit::login_lockout(s, advance).await;
}

/// A session store without the grace window: a retried refresh ends the session as a replay
/// would. Every other rule is the real store's.
struct NoGrace(MemoryStore);

#[async_trait]
impl RefreshTokenStore for NoGrace {
    async fn start(&self, k: &FamilyKey, f: &Family, t: &Digest, ttl: Duration) -> Result<(), StoreError> {
        self.0.start(k, f, t, ttl).await
    }
    async fn rotate(
        &self,
        k: &FamilyKey,
        c: &ClientId,
        p: &Digest,
        n: &Digest,
        now: DateTime<Utc>,
        grace: Duration,
        ttl: Duration,
    ) -> Result<Rotation, StoreError> {
        match self.0.rotate(k, c, p, n, now, grace, ttl).await? {
            Rotation::Retried { .. } => {
                RefreshTokenStore::end(&self.0, k).await?;
                Ok(Rotation::Reused)
            }
            other => Ok(other),
        }
    }
    async fn find(&self, k: &FamilyKey) -> Result<Option<Family>, StoreError> {
        RefreshTokenStore::find(&self.0, k).await
    }
    async fn end(&self, k: &FamilyKey) -> Result<(), StoreError> {
        RefreshTokenStore::end(&self.0, k).await
    }
}

/// A lockout whose clear forgets nothing. Every other rule is the real store's.
struct ClearForgetsNothing(MemoryStore);

#[async_trait]
impl LoginLockout for ClearForgetsNothing {
    async fn is_locked(&self, s: &LockoutSubject) -> Result<bool, StoreError> {
        self.0.is_locked(s).await
    }
    async fn record_failure(&self, s: &LockoutSubject, r: &LockoutRule) -> Result<bool, StoreError> {
        self.0.record_failure(s, r).await
    }
    async fn clear(&self, _: &LockoutSubject) -> Result<(), StoreError> {
        Ok(())
    }
}

#[tokio::test]
async fn the_suite_fails_a_session_store_without_grace() {
    let (s, advance) = store();
    let broken = Arc::new(NoGrace(Arc::into_inner(s).unwrap()));
    let result = std::panic::AssertUnwindSafe(testkit::refresh_token_store(broken, advance)).catch_unwind().await;
    let message = failed_assertion(result);
    assert!(message.contains("the same refresh again, within grace"), "failed elsewhere: {message}");
}

#[tokio::test]
async fn the_suite_fails_a_lockout_that_does_not_clear() {
    let (s, advance) = store();
    let broken = Arc::new(ClearForgetsNothing(Arc::into_inner(s).unwrap()));
    let result = std::panic::AssertUnwindSafe(testkit::login_lockout(broken, advance)).catch_unwind().await;
    let message = failed_assertion(result);
    assert!(message.contains("clear ends a lock"), "failed elsewhere: {message}");
}
