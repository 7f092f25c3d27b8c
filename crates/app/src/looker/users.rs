//! `/users`: list, read, create, update, delete.

use std::collections::HashMap;

use resetd_domain::access::Principal;
use resetd_domain::user::{UserId, UserStatus};
use resetd_ports::audit::AuditKind;
use resetd_ports::credentials::EmailCredential;
use resetd_ports::users::{NewUser, UserPatch, UserWriteError};

use super::{access_into, check_text, is_admin, parse_email, InvalidInput, LookerService, User, UserView, WriteUser};
use crate::{fault, Fault};

/// What `get_user` answers instead of the user.
#[derive(Debug, thiserror::Error)]
pub enum GetUserError {
    /// Another user, and the caller is no admin.
    #[error("forbidden")]
    Forbidden,
    /// No such user.
    #[error("no such user")]
    NotFound,
    /// A backend did not answer in time: answered 503, try again.
    #[error("a backend is unavailable while {0}")]
    Unavailable(Fault),
    /// Anything else, a bug: answered 500.
    #[error("failed while {0}")]
    Unexpected(Fault),
}

/// What `list_users` answers instead of a page.
#[derive(Debug, thiserror::Error)]
pub enum ListUsersError {
    /// A backend did not answer in time: answered 503, try again.
    #[error("a backend is unavailable while {0}")]
    Unavailable(Fault),
    /// Anything else, a bug: answered 500.
    #[error("failed while {0}")]
    Unexpected(Fault),
}

/// What `create_user` answers instead of the new user; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    /// The caller is no admin.
    #[error("forbidden")]
    Forbidden,
    /// A field or the email is malformed.
    #[error("invalid input: {0}")]
    Invalid(InvalidInput),
    /// The email belongs to another user.
    #[error("the email is already in use")]
    EmailTaken,
    /// The phone number belongs to another user.
    #[error("the phone number is already in use")]
    PhoneTaken,
    /// A backend did not answer in time: answered 503, try again.
    #[error("a backend is unavailable while {0}")]
    Unavailable(Fault),
    /// Anything else, a bug: answered 500.
    #[error("failed while {0}")]
    Unexpected(Fault),
}

/// What `update_user` answers instead of the updated user.
#[derive(Debug, thiserror::Error)]
pub enum UpdateUserError {
    /// The caller is no admin, or switches its own account on or off.
    #[error("forbidden")]
    Forbidden,
    /// No such user.
    #[error("no such user")]
    NotFound,
    /// Nothing was written.
    #[error("invalid input: {0}")]
    Invalid(InvalidInput),
    /// The new email belongs to another user.
    #[error("the email is already in use")]
    EmailTaken,
    /// The phone number belongs to another user.
    #[error("the phone number is already in use")]
    PhoneTaken,
    /// A backend did not answer in time: answered 503, try again.
    #[error("a backend is unavailable while {0}")]
    Unavailable(Fault),
    /// Anything else, a bug: answered 500.
    #[error("failed while {0}")]
    Unexpected(Fault),
}

/// What `delete_user` answers when it deletes nothing.
#[derive(Debug, thiserror::Error)]
pub enum DeleteUserError {
    /// The caller is no admin.
    #[error("forbidden")]
    Forbidden,
    /// No such user.
    #[error("no such user")]
    NotFound,
    /// A backend did not answer in time: answered 503, try again.
    #[error("a backend is unavailable while {0}")]
    Unavailable(Fault),
    /// Anything else, a bug: answered 500.
    #[error("failed while {0}")]
    Unexpected(Fault),
}

faults_into!(GetUserError, ListUsersError, CreateUserError, UpdateUserError, DeleteUserError);
access_into!(GetUserError, UpdateUserError, DeleteUserError);

impl LookerService {
    /// `GET /users/{id}` (and `GET /user` with the caller's id).
    ///
    /// # Errors
    /// [`GetUserError`]: another user without admin rights, or no such user.
    pub async fn get_user(&self, caller: Principal, id: UserId) -> Result<UserView, GetUserError> {
        let user = self.user(caller, id).await?;
        Ok(self.with_credential(user).await?)
    }

    /// `GET /users`: everyone for admins, only themselves for others.
    ///
    /// # Errors
    /// [`ListUsersError`]: only a backend's failure (a caller who is no admin gets what it
    /// may see: itself).
    pub async fn list_users(
        &self,
        caller: Principal,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<UserView>, ListUsersError> {
        let ports = &self.ctx.ports;
        let users = if is_admin(caller) {
            ports.users.list(offset, limit.min(1000)).await.map_err(fault("listing users"))?
        } else {
            ports.users.find(caller.user_id).await.map_err(fault("loading a user"))?.into_iter().collect()
        };
        let ids: Vec<UserId> = users.iter().map(|u| u.id).collect();
        let found = ports.credentials.get_many(&ids).await.map_err(fault("loading credentials"))?;
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
    pub(super) async fn with_credential(&self, user: User) -> Result<UserView, Fault> {
        let found = self.ctx.ports.credentials.get(user.id).await.map_err(fault("loading a credential"))?;
        let credential = found.map(|c| self.view(c, &user, None));
        Ok(UserView { user, credential })
    }

    /// `POST /users` (admins), with an optional email credential.
    ///
    /// # Errors
    /// [`CreateUserError`], checked in this order: the caller, the fields, then the write,
    /// which refuses a taken email or phone and then writes nothing.
    pub async fn create_user(&self, caller: Principal, body: WriteUser) -> Result<UserView, CreateUserError> {
        if !is_admin(caller) {
            return Err(CreateUserError::Forbidden);
        }
        check_text(&body).map_err(CreateUserError::Invalid)?;
        let email = parse_email(body.email.as_deref()).map_err(CreateUserError::Invalid)?;
        let ports = &self.ctx.ports;
        let new = NewUser {
            first_name: body.first_name.flatten(),
            last_name: body.last_name.flatten(),
            locale: body.locale.flatten(),
            phone: None,
            disabled: body.is_disabled.unwrap_or(false),
            email,
        };
        // The user and its email credential are one write: a taken email leaves nothing.
        let user = ports.users.create(new, ports.clock.now()).await.map_err(|e| match e {
            UserWriteError::PhoneTaken => CreateUserError::PhoneTaken,
            UserWriteError::EmailTaken => CreateUserError::EmailTaken,
            UserWriteError::Store(e) => Fault::new("creating a user", e).into(),
        })?;
        ports
            .audit(AuditKind::UserCreated, Some(user.id), format!("api-user:{}", caller.user_id), String::new())
            .await?;
        Ok(self.with_credential(user).await?)
    }

    /// `PATCH /users/{id}`.
    ///
    /// # Errors
    /// [`UpdateUserError`], checked in this order: the caller, the user, the fields; nothing
    /// is written before all of them pass.
    pub async fn update_user(
        &self,
        caller: Principal,
        id: UserId,
        body: WriteUser,
    ) -> Result<UserView, UpdateUserError> {
        let before = self.administered(caller, id).await?;
        // Nobody switches their own account on or off (a disabled admin re-enabling itself).
        if body.is_disabled.is_some() && caller.user_id == id {
            return Err(UpdateUserError::Forbidden);
        }
        // The fields and a new email (`credentials_email.email`) are checked before anything
        // is written.
        check_text(&body).map_err(UpdateUserError::Invalid)?;
        let email = parse_email(body.email.as_deref()).map_err(UpdateUserError::Invalid)?;
        let status = body.is_disabled.map(|d| if d { UserStatus::Disabled } else { UserStatus::Active });
        // What the patch changes that is audited, written in its own step: a new status, and a
        // new address (where the user's reset links go).
        let ports = &self.ctx.ports;
        let actor = format!("api-user:{}", caller.user_id);
        let mut audit = Vec::new();
        if let Some(s) = status.filter(|s| *s != before.status) {
            audit.push(ports.event(AuditKind::UserStatusChanged, Some(id), actor.clone(), s.as_str().to_owned()));
        }
        if email.as_ref().is_some_and(|e| before.email.as_ref() != Some(e)) {
            audit.push(ports.event(AuditKind::EmailCredentialChanged, Some(id), actor, "updated".to_owned()));
        }
        let patch = UserPatch {
            first_name: body.first_name,
            last_name: body.last_name,
            locale: body.locale,
            phone: None,
            status,
            email,
            audit,
        };
        // One write, the email included: a taken email leaves the user as it was.
        let updated = ports.users.update(id, patch).await.map_err(|e| match e {
            UserWriteError::PhoneTaken => UpdateUserError::PhoneTaken,
            UserWriteError::EmailTaken => UpdateUserError::EmailTaken,
            UserWriteError::Store(e) => Fault::new("updating a user", e).into(),
        })?;
        let updated = updated.ok_or(UpdateUserError::NotFound)?;
        self.ctx.after_status_change(&before, &updated).await;
        Ok(self.with_credential(updated).await?)
    }

    /// `DELETE /users/{id}` (admins).
    ///
    /// # Errors
    /// [`DeleteUserError`]; `Forbidden` also for an admin deleting itself (as nobody switches
    /// their own account off), so the last admin cannot leave the service without one.
    pub async fn delete_user(&self, caller: Principal, id: UserId) -> Result<(), DeleteUserError> {
        if !is_admin(caller) || caller.user_id == id {
            return Err(DeleteUserError::Forbidden);
        }
        let ports = &self.ctx.ports;
        // The delete and its audit event are one write.
        let event =
            ports.event(AuditKind::UserDeleted, Some(id), format!("api-user:{}", caller.user_id), String::new());
        if !ports.users.delete(id, &event).await.map_err(fault("deleting a user"))? {
            return Err(DeleteUserError::NotFound);
        }
        // Its sessions end for good (the delete's outbox row retries this if it fails).
        self.ctx.publish_generation(id, i64::MAX).await;
        Ok(())
    }
}
