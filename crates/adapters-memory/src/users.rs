//! [`UserStore`] in memory, with the email written in the same step as the user.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use resetd_domain::user::{Email, PhoneNumber, UserId, UserStatus};
use resetd_ports::audit::AuditEvent;
use resetd_ports::users::{NewUser, User, UserPatch, UserStore, UserWriteError};
use resetd_ports::StoreError;

use crate::{CredentialRow, MemoryStore, State, UserRow};

impl State {
    /// Gives `user` the email credential `email`, or moves its credential there; a new
    /// address ends the outstanding link. The caller checked that nobody else has it.
    pub(crate) fn write_email(&mut self, user: i64, email: Email, now: DateTime<Utc>) {
        match self.credentials.get_mut(&user) {
            Some(row) => {
                if row.email != email {
                    row.token = None;
                }
                row.email = email;
            }
            None => {
                let row = CredentialRow { email, created_at: now, forced_reset: false, token: None };
                self.credentials.insert(user, row);
            }
        }
    }
}

#[async_trait]
impl UserStore for MemoryStore {
    async fn create(&self, new: NewUser, now: DateTime<Utc>) -> Result<User, UserWriteError> {
        let mut s = self.lock();
        if new.phone.as_ref().is_some_and(|p| s.phone_taken(p, None)) {
            return Err(UserWriteError::PhoneTaken);
        }
        if new.email.as_ref().is_some_and(|e| s.email_owner(e).is_some()) {
            return Err(UserWriteError::EmailTaken);
        }
        s.next_user += 1;
        let id = s.next_user;
        let status = if new.disabled { UserStatus::Disabled } else { UserStatus::Active };
        let row = UserRow {
            first_name: new.first_name,
            last_name: new.last_name,
            locale: new.locale,
            phone: new.phone,
            status,
            password: None,
            version: 0,
            generation: 0,
            created_at: now,
        };
        s.users.insert(id, row);
        if let Some(email) = new.email {
            s.write_email(id, email, now);
        }
        s.user(id).ok_or_else(|| StoreError::corrupt("user").into())
    }

    async fn find(&self, id: UserId) -> Result<Option<User>, StoreError> {
        Ok(self.lock().user(id.as_i64()))
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        let s = self.lock();
        Ok(s.email_owner(email).and_then(|id| s.user(id)))
    }

    async fn find_by_phone(&self, phone: &PhoneNumber) -> Result<Option<User>, StoreError> {
        let s = self.lock();
        let id = s.users.iter().find(|(_, u)| u.phone.as_ref() == Some(phone)).map(|(id, _)| *id);
        Ok(id.and_then(|id| s.user(id)))
    }

    async fn list(&self, offset: u64, limit: u64) -> Result<Vec<User>, StoreError> {
        let s = self.lock();
        let skip = usize::try_from(offset).unwrap_or(usize::MAX);
        let take = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(s.users.keys().skip(skip).take(take).filter_map(|id| s.user(*id)).collect())
    }

    async fn update(&self, id: UserId, patch: UserPatch) -> Result<Option<User>, UserWriteError> {
        let mut s = self.lock();
        let key = id.as_i64();
        // As in PostgreSQL: no such user is `None` before any conflict is judged.
        if !s.users.contains_key(&key) {
            return Ok(None);
        }
        if let Some(Some(phone)) = &patch.phone {
            if s.phone_taken(phone, Some(key)) {
                return Err(UserWriteError::PhoneTaken);
            }
        }
        if patch.email.as_ref().is_some_and(|e| s.email_owner(e).is_some_and(|owner| owner != key)) {
            return Err(UserWriteError::EmailTaken);
        }
        // Every check passed: the writes follow under the same lock.
        let now = self.clock.now();
        let Some(row) = s.users.get_mut(&key) else { return Ok(None) };
        if let Some(v) = patch.first_name {
            row.first_name = v;
        }
        if let Some(v) = patch.last_name {
            row.last_name = v;
        }
        if let Some(v) = patch.locale {
            row.locale = v;
        }
        if let Some(v) = patch.phone {
            row.phone = v;
        }
        let mut ends_links = false;
        let mut bumped = None;
        if let Some(v) = patch.status {
            if v != row.status {
                row.generation += 1;
                bumped = Some(row.generation);
            }
            ends_links = v != UserStatus::Active;
            row.status = v;
        }
        if ends_links {
            if let Some(cred) = s.credentials.get_mut(&key) {
                cred.token = None;
            }
        }
        if let Some(email) = patch.email {
            s.write_email(key, email, now);
        }
        s.audit.extend(patch.audit);
        if let Some(generation) = bumped {
            s.owe(id, Some(generation), None, now);
        }
        Ok(s.user(key))
    }

    async fn delete(&self, id: UserId, audit: &AuditEvent) -> Result<bool, StoreError> {
        let mut s = self.lock();
        let key = id.as_i64();
        s.credentials.remove(&key);
        s.history.remove(&key);
        s.api_credentials.retain(|_, c| c.user_id != id);
        let gone = s.users.remove(&key).is_some();
        if gone {
            let now = self.clock.now();
            s.owe(id, Some(i64::MAX), None, now);
            s.audit.push(audit.clone());
        }
        Ok(gone)
    }
}
