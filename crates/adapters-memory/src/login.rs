//! CIAM logins in memory: login sessions (refresh-token families) and the login lockout,
//! timed by the store's clock like the other ephemeral ports.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use resetd_domain::client::ClientId;
use resetd_domain::keyed::Digest;
use resetd_domain::user::UserId;
use resetd_ports::login::{Family, FamilyKey, LockoutRule, LockoutSubject, LoginLockout, RefreshTokenStore, Rotation};
use resetd_ports::StoreError;

use crate::ephemeral::span;
use crate::MemoryStore;

/// One login session: what it was opened with, its current token, the one it replaced (with
/// when), and when it dies unless rotated.
#[derive(Debug, Clone)]
pub(crate) struct FamilyRow {
    family: Family,
    current: Digest,
    previous: Option<(Digest, DateTime<Utc>)>,
    expires: DateTime<Utc>,
}

/// Whose failures are counted: [`LockoutSubject`] as a map key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Subject {
    User(UserId),
    Unknown(Digest),
}

impl From<&LockoutSubject> for Subject {
    fn from(subject: &LockoutSubject) -> Self {
        match *subject {
            LockoutSubject::User(user) => Self::User(user),
            LockoutSubject::Unknown(digest) => Self::Unknown(digest),
        }
    }
}

#[async_trait]
impl RefreshTokenStore for MemoryStore {
    async fn start(&self, key: &FamilyKey, family: &Family, token: &Digest, ttl: Duration) -> Result<(), StoreError> {
        let row = FamilyRow {
            family: family.clone(),
            current: *token,
            previous: None,
            expires: self.clock.now() + span(ttl),
        };
        self.lock().families.insert((key.user_id, key.family), row);
        Ok(())
    }

    async fn rotate(
        &self,
        key: &FamilyKey,
        client: &ClientId,
        presented: &Digest,
        next: &Digest,
        now: DateTime<Utc>,
        grace: Duration,
        ttl: Duration,
    ) -> Result<Rotation, StoreError> {
        let clock_now = self.clock.now();
        let mut s = self.lock();
        s.families.retain(|_, row| row.expires > clock_now);
        let id = (key.user_id, key.family);
        let Some(row) = s.families.get_mut(&id).filter(|row| row.family.client_id == *client) else {
            return Ok(Rotation::Unknown);
        };
        if row.current == *presented {
            row.previous = Some((*presented, now));
            row.current = *next;
            row.expires = clock_now + span(ttl);
            return Ok(Rotation::Rotated { family: row.family.clone(), at: now });
        }
        if let Some((previous, at)) = row.previous {
            if previous == *presented && row.current == *next && now - at <= span(grace) {
                return Ok(Rotation::Retried { family: row.family.clone(), at });
            }
        }
        s.families.remove(&id);
        Ok(Rotation::Reused)
    }

    async fn find(&self, key: &FamilyKey) -> Result<Option<Family>, StoreError> {
        let now = self.clock.now();
        let s = self.lock();
        let row = s.families.get(&(key.user_id, key.family)).filter(|row| row.expires > now);
        Ok(row.map(|row| row.family.clone()))
    }

    async fn end(&self, key: &FamilyKey) -> Result<(), StoreError> {
        self.lock().families.remove(&(key.user_id, key.family));
        Ok(())
    }
}

#[async_trait]
impl LoginLockout for MemoryStore {
    async fn is_locked(&self, subject: &LockoutSubject) -> Result<bool, StoreError> {
        let now = self.clock.now();
        Ok(self.lock().login_locks.get(&Subject::from(subject)).is_some_and(|until| *until > now))
    }

    /// The rule of the Redis script, in the same order: count within the window opened by the
    /// first failure, and at the threshold lock and forget the count.
    async fn record_failure(&self, subject: &LockoutSubject, rule: &LockoutRule) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let subject = Subject::from(subject);
        let mut s = self.lock();
        s.login_failures.retain(|_, (_, ends)| *ends > now);
        s.login_locks.retain(|_, until| *until > now);
        if rule.threshold > 0 {
            let (count, _) = s.login_failures.entry(subject).or_insert((0, now + span(rule.window)));
            *count = count.saturating_add(1);
            if *count >= rule.threshold {
                s.login_failures.remove(&subject);
                s.login_locks.insert(subject, now + span(rule.lock_for));
            }
        }
        Ok(s.login_locks.contains_key(&subject))
    }

    async fn clear(&self, subject: &LockoutSubject) -> Result<(), StoreError> {
        let subject = Subject::from(subject);
        let mut s = self.lock();
        s.login_failures.remove(&subject);
        s.login_locks.remove(&subject);
        Ok(())
    }
}
