//! The durable ports (PostgreSQL's, in production) in memory.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use resetd_domain::client::ClientId;
use resetd_domain::keyed::Digest;
use resetd_domain::keyring::Sealed;
use resetd_domain::password::PasswordHash;
use resetd_domain::policy::PasswordPolicy;
use resetd_domain::reset_token::{is_live, ResetTokenKind};
use resetd_domain::user::{Email, PhoneNumber, UserId};
use resetd_ports::access::{ApiCredential, ApiCredentialStore, ApiCredentialWriteError};
use resetd_ports::audit::{AuditEvent, AuditLog};
use resetd_ports::clients::{Client, ClientRegistry, ClientSwitches, ClientWriteError};
use resetd_ports::credentials::{
    ChangePassword, ChangePasswordError, CredentialStore, CredentialWriteError, EmailCredential, IssuedToken,
    PasswordState, TokenOwner,
};
use resetd_ports::policy::{PolicyStore, StoredPolicy};
use resetd_ports::users::User;
use resetd_ports::StoreError;

use crate::{CredentialRow, MemoryStore, State, TokenRow};

impl State {
    pub(crate) fn user(&self, id: i64) -> Option<User> {
        let row = self.users.get(&id)?;
        Some(User {
            id: UserId::from_i64(id).ok()?,
            first_name: row.first_name.clone(),
            last_name: row.last_name.clone(),
            locale: row.locale.clone(),
            phone: row.phone.clone(),
            status: row.status,
            email: self.credentials.get(&id).map(|c| c.email.clone()),
            has_password: row.password.is_some(),
            generation: row.generation,
            created_at: row.created_at,
        })
    }

    fn credential(&self, id: i64) -> Option<EmailCredential> {
        let row = self.credentials.get(&id)?;
        Some(EmailCredential {
            user_id: UserId::from_i64(id).ok()?,
            email: row.email.clone(),
            created_at: row.created_at,
            logged_in_at: None,
            forced_reset: row.forced_reset,
            reset: row.token.map(|t| IssuedToken { kind: t.kind, issued_at: t.issued_at, expires_at: t.expires_at }),
        })
    }

    pub(crate) fn phone_taken(&self, phone: &PhoneNumber, except: Option<i64>) -> bool {
        self.users.iter().any(|(id, u)| Some(*id) != except && u.phone.as_ref() == Some(phone))
    }

    pub(crate) fn email_owner(&self, email: &Email) -> Option<i64> {
        self.credentials.iter().find(|(_, c)| &c.email == email).map(|(id, _)| *id)
    }

    fn token_owner(&self, digest: &Digest, now: DateTime<Utc>) -> Option<(i64, ResetTokenKind)> {
        self.credentials.iter().find_map(|(id, c)| {
            c.token.filter(|t| t.digest == *digest && is_live(t.expires_at, now)).map(|t| (*id, t.kind))
        })
    }
}

#[async_trait]
impl CredentialStore for MemoryStore {
    async fn get(&self, user: UserId) -> Result<Option<EmailCredential>, StoreError> {
        Ok(self.lock().credential(user.as_i64()))
    }

    async fn get_many(&self, users: &[UserId]) -> Result<Vec<EmailCredential>, StoreError> {
        let s = self.lock();
        Ok(users.iter().filter_map(|u| s.credential(u.as_i64())).collect())
    }

    async fn create(
        &self,
        user: UserId,
        email: &Email,
        now: DateTime<Utc>,
    ) -> Result<EmailCredential, CredentialWriteError> {
        let mut s = self.lock();
        let key = user.as_i64();
        if !s.users.contains_key(&key) {
            return Err(CredentialWriteError::UserNotFound);
        }
        if s.credentials.contains_key(&key) {
            return Err(CredentialWriteError::AlreadyExists);
        }
        if s.email_owner(email).is_some() {
            return Err(CredentialWriteError::EmailTaken);
        }
        let row = CredentialRow { email: email.clone(), created_at: now, forced_reset: false, token: None };
        s.credentials.insert(key, row);
        s.credential(key).ok_or_else(|| StoreError::corrupt("credential").into())
    }

    async fn update(
        &self,
        user: UserId,
        email: Option<Email>,
        forced_reset: Option<bool>,
    ) -> Result<EmailCredential, CredentialWriteError> {
        let mut s = self.lock();
        let key = user.as_i64();
        if !s.credentials.contains_key(&key) {
            return Err(CredentialWriteError::UserNotFound);
        }
        if email.as_ref().is_some_and(|e| s.email_owner(e).is_some_and(|owner| owner != key)) {
            return Err(CredentialWriteError::EmailTaken);
        }
        if let Some(e) = email {
            s.write_email(key, e, self.clock.now());
        }
        if let (Some(row), Some(f)) = (s.credentials.get_mut(&key), forced_reset) {
            row.forced_reset = f;
        }
        s.credential(key).ok_or_else(|| StoreError::corrupt("credential").into())
    }

    async fn delete(&self, user: UserId) -> Result<bool, StoreError> {
        Ok(self.lock().credentials.remove(&user.as_i64()).is_some())
    }

    async fn issue_reset_token(
        &self,
        user: UserId,
        token: &Sealed,
        kind: ResetTokenKind,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<Option<EmailCredential>, StoreError> {
        let mut s = self.lock();
        let Some(row) = s.credentials.get_mut(&user.as_i64()) else { return Ok(None) };
        row.token = Some(TokenRow { digest: token.digest, key: token.key, kind, issued_at: now, expires_at });
        s.audit.push(audit.clone());
        Ok(s.credential(user.as_i64()))
    }

    async fn find_reset_token(&self, token: &Digest, now: DateTime<Utc>) -> Result<Option<TokenOwner>, StoreError> {
        let s = self.lock();
        Ok(s.token_owner(token, now)
            .and_then(|(id, kind)| UserId::from_i64(id).ok().map(|user_id| TokenOwner { user_id, kind })))
    }

    async fn password_state(&self, user: UserId, history_limit: u32) -> Result<Option<PasswordState>, StoreError> {
        let s = self.lock();
        let key = user.as_i64();
        let Some(row) = s.users.get(&key) else { return Ok(None) };
        let limit = usize::try_from(history_limit).unwrap_or(usize::MAX);
        let history = s.history.get(&key).map(|h| h.iter().take(limit).cloned().collect()).unwrap_or_default();
        Ok(Some(PasswordState { current: row.password.clone(), history, version: row.version }))
    }

    async fn rehash(&self, user: UserId, old: &PasswordHash, new: &PasswordHash) -> Result<bool, StoreError> {
        let mut s = self.lock();
        let row = s.users.get_mut(&user.as_i64()).filter(|r| r.password.as_ref() == Some(old));
        Ok(row.map(|r| r.password = Some(new.clone())).is_some())
    }

    async fn change_password(&self, change: ChangePassword) -> Result<i64, ChangePasswordError> {
        let mut s = self.lock();
        let key = change.user_id.as_i64();
        let Some(row) = s.users.get(&key) else { return Err(ChangePasswordError::UserNotFound) };
        if row.version != change.expected_version || row.generation != change.expected_generation {
            return Err(ChangePasswordError::VersionMoved);
        }
        if let Some(token) = change.consume {
            if s.token_owner(&token, change.now).map(|(id, _)| id) != Some(key) {
                return Err(ChangePasswordError::TokenGone);
            }
        }
        // Every check passed: apply all writes under the same lock.
        let mut generation = 0;
        if let Some(row) = s.users.get_mut(&key) {
            row.password = Some(change.new_hash.clone());
            row.version += 1;
            row.generation += 1;
            generation = row.generation;
        }
        if let Some(cred) = s.credentials.get_mut(&key) {
            // The used link, or any other outstanding one: a changed password ends them all.
            cred.forced_reset = false;
            cred.token = None;
        }
        let history = s.history.entry(key).or_default();
        history.insert(0, change.new_hash);
        history.truncate(usize::try_from(change.history_limit.max(1)).unwrap_or(usize::MAX));
        s.audit.push(change.audit);
        s.owe(change.user_id, Some(generation), change.notice, change.now);
        Ok(generation)
    }

    async fn force_reset_all(&self) -> Result<u64, StoreError> {
        let mut s = self.lock();
        s.credentials.values_mut().for_each(|c| c.forced_reset = true);
        Ok(s.credentials.len() as u64)
    }
}

#[async_trait]
impl ApiCredentialStore for MemoryStore {
    async fn create(&self, credential: ApiCredential) -> Result<(), ApiCredentialWriteError> {
        let mut s = self.lock();
        if !s.users.contains_key(&credential.user_id.as_i64()) {
            return Err(ApiCredentialWriteError::UserNotFound);
        }
        let id = credential.client_id.as_str().to_owned();
        if s.api_credentials.contains_key(&id) {
            return Err(ApiCredentialWriteError::Duplicate);
        }
        s.api_credentials.insert(id, credential);
        Ok(())
    }

    async fn find(&self, client_id: &ClientId) -> Result<Option<ApiCredential>, StoreError> {
        Ok(self.lock().api_credentials.get(client_id.as_str()).cloned())
    }

    async fn reseal(&self, client_id: &ClientId, old: &Digest, new: &Sealed) -> Result<(), StoreError> {
        let mut s = self.lock();
        if let Some(c) = s.api_credentials.get_mut(client_id.as_str()).filter(|c| c.secret.digest == *old) {
            c.secret = *new;
        }
        Ok(())
    }
}

#[async_trait]
impl ClientRegistry for MemoryStore {
    async fn create(&self, client: Client) -> Result<(), ClientWriteError> {
        let mut s = self.lock();
        let id = client.id.as_str().to_owned();
        if s.clients.contains_key(&id) {
            return Err(ClientWriteError::Duplicate);
        }
        s.clients.insert(id, client);
        Ok(())
    }

    async fn find(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        Ok(self.lock().clients.get(id.as_str()).cloned())
    }

    async fn set_switches(&self, id: &ClientId, switches: ClientSwitches) -> Result<bool, StoreError> {
        let mut s = self.lock();
        let Some(client) = s.clients.get_mut(id.as_str()) else { return Ok(false) };
        client.switch(switches);
        Ok(true)
    }

    async fn reseal(&self, id: &ClientId, old: &Digest, new: &Sealed) -> Result<(), StoreError> {
        let mut s = self.lock();
        if let Some(c) = s.clients.get_mut(id.as_str()).filter(|c| c.secret.is_some_and(|s| s.digest == *old)) {
            c.secret = Some(*new);
        }
        Ok(())
    }
}

#[async_trait]
impl PolicyStore for MemoryStore {
    async fn default_policy(&self) -> Result<Option<StoredPolicy>, StoreError> {
        Ok(self.lock().policy.clone())
    }

    async fn set_default_policy(&self, policy: &PasswordPolicy, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.lock().policy = Some(StoredPolicy { policy: policy.clone(), updated_at: now });
        Ok(())
    }
}

#[async_trait]
impl AuditLog for MemoryStore {
    async fn record(&self, event: AuditEvent) -> Result<(), StoreError> {
        self.lock().audit.push(event);
        Ok(())
    }

    async fn for_user(&self, user: UserId, limit: u32) -> Result<Vec<AuditEvent>, StoreError> {
        let s = self.lock();
        let mut events: Vec<_> = s.audit.iter().rev().filter(|e| e.user_id == Some(user)).cloned().collect();
        events.sort_by_key(|e| std::cmp::Reverse(e.at));
        events.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(events)
    }
}
