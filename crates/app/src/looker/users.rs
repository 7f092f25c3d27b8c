//! `/users`: list, read, create, update, delete.

use resetd_domain::access::{Principal, Role};
use resetd_domain::user::{Email, UserId, UserStatus};
use resetd_ports::audit::AuditKind;
use resetd_ports::users::{NewUser, UserPatch, UserWriteError};

use std::collections::HashMap;

use resetd_ports::credentials::EmailCredential;

use super::{check_text, invalid_email, AdminError, LookerService, User, UserView, WriteUser};
use crate::{unexpected, Unexpected};

impl LookerService {
    /// `GET /users/{id}` (and `GET /user` with the caller's id).
    ///
    /// # Errors
    /// 403 for another user without admin rights, 404.
    pub async fn get_user(&self, caller: Principal, id: UserId) -> Result<UserView, AdminError> {
        let user = self.user(caller, id).await?;
        self.with_credential(user).await
    }

    /// `GET /users`: everyone for admins, only themselves for others.
    ///
    /// # Errors
    /// [`AdminError::Unexpected`].
    pub async fn list_users(&self, caller: Principal, offset: u64, limit: u64) -> Result<Vec<UserView>, AdminError> {
        let ports = &self.ctx.ports;
        let users = if caller.role == Role::Admin {
            ports.users.list(offset, limit.min(1000)).await.map_err(unexpected("listing users"))?
        } else {
            self.user(caller, caller.user_id).await.into_iter().collect()
        };
        let ids: Vec<UserId> = users.iter().map(|u| u.id).collect();
        let found = ports.credentials.get_many(&ids).await.map_err(unexpected("loading credentials"))?;
        let mut credentials: HashMap<UserId, EmailCredential> = found.into_iter().map(|c| (c.user_id, c)).collect();
        Ok(users
            .into_iter()
            .map(|user| {
                let credential = credentials.remove(&user.id).map(|c| self.view(c, &user, None));
                UserView { user, credential }
            })
            .collect())
    }

    /// `user` with its email credential.
    pub(super) async fn with_credential(&self, user: User) -> Result<UserView, AdminError> {
        let found = self.ctx.ports.credentials.get(user.id).await.map_err(unexpected("loading a credential"))?;
        let credential = found.map(|c| self.view(c, &user, None));
        Ok(UserView { user, credential })
    }

    /// `POST /users` (admins), with an optional email credential.
    ///
    /// # Errors
    /// 403, 422 for a bad email, 409 for a taken email.
    pub async fn create_user(&self, caller: Principal, body: WriteUser) -> Result<UserView, AdminError> {
        Self::admin_only(caller)?;
        check_text(&body)?;
        let email = body.email.as_deref().map(Email::parse).transpose().map_err(|_| invalid_email())?;
        let ports = &self.ctx.ports;
        if let Some(e) = &email {
            if ports.users.find_by_email(e).await.map_err(unexpected("looking up an email"))?.is_some() {
                return Err(AdminError::Conflict("The email is already in use."));
            }
        }
        let new = NewUser {
            first_name: body.first_name.flatten(),
            last_name: body.last_name.flatten(),
            locale: body.locale.flatten(),
            phone: None,
            disabled: body.is_disabled.unwrap_or(false),
        };
        let now = ports.clock.now();
        let user = ports.users.create(new, now).await.map_err(|e| match e {
            UserWriteError::PhoneTaken => AdminError::Conflict("The phone number is already in use."),
            UserWriteError::Store(e) => Unexpected::new("creating a user", e).into(),
        })?;
        if let Some(e) = email {
            self.write_credential(ports.credentials.create(user.id, &e, now).await)?;
        }
        ports
            .audit(AuditKind::UserCreated, Some(user.id), format!("api-user:{}", caller.user_id), String::new())
            .await?;
        let user = self.user(caller, user.id).await?;
        self.with_credential(user).await
    }

    /// `PATCH /users/{id}`.
    ///
    /// # Errors
    /// 403, 404.
    pub async fn update_user(&self, caller: Principal, id: UserId, body: WriteUser) -> Result<UserView, AdminError> {
        let before = self.administered(caller, id).await?;
        // Nobody switches their own account on or off (a disabled admin re-enabling itself).
        if body.is_disabled.is_some() && caller.user_id == id {
            return Err(AdminError::Forbidden);
        }
        // The fields and a new email (`credentials_email.email`) are checked before anything
        // is written.
        check_text(&body)?;
        let email = body.email.as_deref().map(Email::parse).transpose().map_err(|_| invalid_email())?;
        let patch = UserPatch {
            first_name: body.first_name,
            last_name: body.last_name,
            locale: body.locale,
            phone: None,
            status: body.is_disabled.map(|d| if d { UserStatus::Disabled } else { UserStatus::Active }),
        };
        let updated = self.ctx.ports.users.update(id, patch).await.map_err(|e| match e {
            UserWriteError::PhoneTaken => AdminError::Conflict("The phone number is already in use."),
            UserWriteError::Store(e) => Unexpected::new("updating a user", e).into(),
        })?;
        let updated = updated.ok_or(AdminError::NotFound)?;
        self.ctx.after_status_change(&before, &updated).await;
        if let Some(email) = email {
            let credentials = &self.ctx.ports.credentials;
            let exists = credentials.get(id).await.map_err(unexpected("loading a credential"))?.is_some();
            let written = if exists {
                credentials.update(id, Some(email), None).await
            } else {
                credentials.create(id, &email, self.ctx.ports.clock.now()).await
            };
            self.write_credential(written)?;
            // The user as it now reads, its new email included.
            let reread = self.user(caller, id).await?;
            return self.with_credential(reread).await;
        }
        self.with_credential(updated).await
    }

    /// `DELETE /users/{id}` (admins).
    ///
    /// # Errors
    /// 403, 404.
    pub async fn delete_user(&self, caller: Principal, id: UserId) -> Result<(), AdminError> {
        Self::admin_only(caller)?;
        let ports = &self.ctx.ports;
        if !ports.users.delete(id).await.map_err(unexpected("deleting a user"))? {
            return Err(AdminError::NotFound);
        }
        // Its sessions end for good (the delete's outbox row retries this if it fails).
        self.ctx.publish_generation(id, i64::MAX).await;
        ports.audit(AuditKind::UserDeleted, Some(id), format!("api-user:{}", caller.user_id), String::new()).await?;
        Ok(())
    }
}
