//! [`CredentialStore`]: the `credentials_email` table and its single reset token per user.
//! Password state and changes are in [`crate::password`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use resetd_domain::keyed::Digest;
use resetd_domain::keyring::Sealed;
use resetd_domain::password::PasswordHash;
use resetd_domain::reset_token::ResetTokenKind;
use resetd_domain::user::{Email, UserId};
use resetd_ports::audit::AuditEvent;
use resetd_ports::credentials::{
    ChangePassword, ChangePasswordError, CredentialStore, CredentialWriteError, EmailCredential, IssuedToken,
    PasswordState, TokenOwner,
};
use resetd_ports::StoreError;

use crate::error::{self, constraint};
use crate::PgStore;

/// The columns of a [`CredentialRow`].
const COLUMNS: &str = "user_id, email, created_at, logged_in_at, forced_reset, \
                       reset_token_hash IS NOT NULL AS has_token, reset_token_kind, reset_token_issued_at, \
                       reset_token_expires_at";

#[derive(sqlx::FromRow)]
struct CredentialRow {
    user_id: i64,
    email: String,
    created_at: DateTime<Utc>,
    logged_in_at: Option<DateTime<Utc>>,
    forced_reset: bool,
    has_token: bool,
    reset_token_kind: Option<String>,
    reset_token_issued_at: Option<DateTime<Utc>>,
    reset_token_expires_at: Option<DateTime<Utc>>,
}

impl TryFrom<CredentialRow> for EmailCredential {
    type Error = StoreError;

    fn try_from(row: CredentialRow) -> Result<Self, StoreError> {
        let reset = if row.has_token {
            Some(IssuedToken {
                kind: parse_kind(row.reset_token_kind.as_deref())?,
                issued_at: row
                    .reset_token_issued_at
                    .ok_or(StoreError::corrupt("credentials_email.reset_token_issued_at"))?,
                expires_at: row.reset_token_expires_at,
            })
        } else {
            None
        };
        Ok(EmailCredential {
            user_id: user_id(row.user_id)?,
            email: Email::parse(&row.email).map_err(|_| StoreError::corrupt("credentials_email.email"))?,
            created_at: row.created_at,
            logged_in_at: row.logged_in_at,
            forced_reset: row.forced_reset,
            reset,
        })
    }
}

#[derive(sqlx::FromRow)]
struct OwnerRow {
    user_id: i64,
    reset_token_kind: Option<String>,
}

fn user_id(raw: i64) -> Result<UserId, StoreError> {
    UserId::from_i64(raw).map_err(|_| StoreError::corrupt("credentials_email.user_id"))
}

fn parse_kind(raw: Option<&str>) -> Result<ResetTokenKind, StoreError> {
    raw.and_then(ResetTokenKind::parse).ok_or(StoreError::corrupt("credentials_email.reset_token_kind"))
}

/// Maps a write's error by the constraint it violated.
fn write_error(e: sqlx::Error) -> CredentialWriteError {
    match error::violated(&e) {
        Some(constraint::CREDENTIALS_EMAIL_PKEY) => CredentialWriteError::AlreadyExists,
        Some(constraint::CREDENTIALS_EMAIL_EMAIL) => CredentialWriteError::EmailTaken,
        Some(constraint::CREDENTIALS_EMAIL_USER) => CredentialWriteError::UserNotFound,
        _ => CredentialWriteError::Store(error::store(e)),
    }
}

#[async_trait]
impl CredentialStore for PgStore {
    async fn get(&self, user: UserId) -> Result<Option<EmailCredential>, StoreError> {
        crate::within(async move {
            let sql = format!("SELECT {COLUMNS} FROM credentials_email WHERE user_id = $1");
            let mut conn = self.conn().await?;
            let row = self
                .query_as::<CredentialRow>(&sql)
                .bind(user.as_i64())
                .fetch_optional(&mut *conn)
                .await
                .map_err(error::store)?;
            conn.finish().await?;
            row.map(EmailCredential::try_from).transpose()
        })
        .await
    }

    async fn get_many(&self, users: &[UserId]) -> Result<Vec<EmailCredential>, StoreError> {
        let ids: Vec<i64> = users.iter().map(|u| u.as_i64()).collect();
        crate::within(async move {
            let sql = format!("SELECT {COLUMNS} FROM credentials_email WHERE user_id = ANY($1)");
            let mut conn = self.conn().await?;
            let rows = self.query_as::<CredentialRow>(&sql).bind(&ids).fetch_all(&mut *conn).await;
            let rows = rows.map_err(error::store)?;
            conn.finish().await?;
            rows.into_iter().map(EmailCredential::try_from).collect()
        })
        .await
    }

    async fn create(
        &self,
        user: UserId,
        email: &Email,
        now: DateTime<Utc>,
    ) -> Result<EmailCredential, CredentialWriteError> {
        crate::within(async move {
            let sql = format!(
                "INSERT INTO credentials_email (user_id, email, created_at) VALUES ($1, $2, $3) RETURNING {COLUMNS}"
            );
            let mut conn = self.conn().await?;
            let row = self
                .query_as::<CredentialRow>(&sql)
                .bind(user.as_i64())
                .bind(email.as_str())
                .bind(now)
                .fetch_one(&mut *conn)
                .await
                .map_err(write_error)?;
            conn.finish().await?;
            Ok(EmailCredential::try_from(row)?)
        })
        .await
    }

    async fn update(
        &self,
        user: UserId,
        email: Option<Email>,
        forced_reset: Option<bool>,
    ) -> Result<EmailCredential, CredentialWriteError> {
        crate::within(async move {
            let sql = format!(
                "UPDATE credentials_email SET email = COALESCE($2, email), forced_reset = COALESCE($3, forced_reset), \
                 reset_token_hash = CASE WHEN {MOVED} THEN NULL ELSE reset_token_hash END, \
                 reset_token_key = CASE WHEN {MOVED} THEN NULL ELSE reset_token_key END, \
                 reset_token_kind = CASE WHEN {MOVED} THEN NULL ELSE reset_token_kind END, \
                 reset_token_issued_at = CASE WHEN {MOVED} THEN NULL ELSE reset_token_issued_at END, \
                 reset_token_expires_at = CASE WHEN {MOVED} THEN NULL ELSE reset_token_expires_at END \
             WHERE user_id = $1 RETURNING {COLUMNS}"
            );
            let mut conn = self.conn().await?;
            let row = self
                .query_as::<CredentialRow>(&sql)
                .bind(user.as_i64())
                .bind(email.as_ref().map(Email::as_str))
                .bind(forced_reset)
                .fetch_optional(&mut *conn)
                .await
                .map_err(write_error)?
                .ok_or(CredentialWriteError::UserNotFound)?;
            conn.finish().await?;
            Ok(EmailCredential::try_from(row)?)
        })
        .await
    }

    async fn delete(&self, user: UserId) -> Result<bool, StoreError> {
        crate::within(async move {
            let mut conn = self.conn().await?;
            let done = self
                .query("DELETE FROM credentials_email WHERE user_id = $1")
                .bind(user.as_i64())
                .execute(&mut *conn)
                .await
                .map_err(error::store)?;
            conn.finish().await?;
            Ok(done.rows_affected() > 0)
        })
        .await
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
        crate::within(async move {
            // One statement: the UPDATE overwrites the previous token (so there is never more
            // than one), and the audit event is inserted only for the row it updated.
            let sql = format!(
                "WITH issued AS (UPDATE credentials_email SET reset_token_hash = $2, reset_token_kind = $3, \
                     reset_token_issued_at = $4, reset_token_expires_at = $5, reset_token_key = $6 \
                     WHERE user_id = $1 RETURNING {COLUMNS}), \
                 logged AS (INSERT INTO audit_events (at, kind, user_id, actor, detail) \
                     SELECT $7, $8, $9, $10, $11 FROM issued) \
                 SELECT * FROM issued"
            );
            let mut conn = self.conn().await?;
            let row = self
                .query_as::<CredentialRow>(&sql)
                .bind(user.as_i64())
                .bind(token.digest.as_bytes().as_slice())
                .bind(kind.as_str())
                .bind(now)
                .bind(expires_at)
                .bind(crate::keys::key_column(token))
                .bind(audit.at)
                .bind(audit.kind.as_str())
                .bind(audit.user_id.map(UserId::as_i64))
                .bind(&audit.actor)
                .bind(&audit.detail)
                .fetch_optional(&mut *conn)
                .await
                .map_err(error::store)?;
            conn.finish().await?;
            row.map(EmailCredential::try_from).transpose()
        })
        .await
    }

    async fn find_reset_token(&self, token: &Digest, now: DateTime<Utc>) -> Result<Option<TokenOwner>, StoreError> {
        crate::within(async move {
            let mut conn = self.conn().await?;
            let row = self
                .query_as::<OwnerRow>(
                    "SELECT user_id, reset_token_kind FROM credentials_email WHERE reset_token_hash = $1 \
             AND (reset_token_expires_at IS NULL OR reset_token_expires_at > $2)",
                )
                .bind(token.as_bytes().as_slice())
                .bind(now)
                .fetch_optional(&mut *conn)
                .await
                .map_err(error::store)?;
            conn.finish().await?;
            row.map(|r| {
                Ok(TokenOwner { user_id: user_id(r.user_id)?, kind: parse_kind(r.reset_token_kind.as_deref())? })
            })
            .transpose()
        })
        .await
    }

    async fn password_state(&self, user: UserId, history_limit: u32) -> Result<Option<PasswordState>, StoreError> {
        crate::within(async move { self.read_password_state(user, history_limit).await }).await
    }

    async fn rehash(&self, user: UserId, old: &PasswordHash, new: &PasswordHash) -> Result<bool, StoreError> {
        crate::within(async move {
            let mut conn = self.conn().await?;
            let done = self
                .query("UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2")
                .bind(user.as_i64())
                .bind(old.as_str())
                .bind(new.as_str())
                .execute(&mut *conn)
                .await
                .map_err(crate::error::store)?;
            conn.finish().await?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }

    async fn change_password(&self, change: ChangePassword) -> Result<i64, ChangePasswordError> {
        crate::within(async move { self.apply_password_change(change).await }).await
    }

    async fn force_reset_all(&self) -> Result<u64, StoreError> {
        crate::within(async move {
            let mut conn = self.conn().await?;
            let done = self
                .query("UPDATE credentials_email SET forced_reset = true")
                .execute(&mut *conn)
                .await
                .map_err(error::store)?;
            conn.finish().await?;
            Ok(done.rows_affected())
        })
        .await
    }
}

/// The address moves (an outstanding link was mailed to the old one, so it dies).
const MOVED: &str = "$2 IS NOT NULL AND $2 <> email";

/// Gives `user` the email credential `email`, or moves its credential there (ending the
/// outstanding link when the address changes), inside the caller's transaction. Another
/// user's address violates `credentials_email_email_key`.
pub(crate) async fn write_email(
    store: &PgStore,
    conn: &mut sqlx::PgConnection,
    user: UserId,
    email: &Email,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    const MOVES: &str = "c.email <> EXCLUDED.email";
    let sql = format!(
        "INSERT INTO credentials_email AS c (user_id, email, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO UPDATE SET email = EXCLUDED.email, \
             reset_token_hash = CASE WHEN {MOVES} THEN NULL ELSE c.reset_token_hash END, \
             reset_token_key = CASE WHEN {MOVES} THEN NULL ELSE c.reset_token_key END, \
             reset_token_kind = CASE WHEN {MOVES} THEN NULL ELSE c.reset_token_kind END, \
             reset_token_issued_at = CASE WHEN {MOVES} THEN NULL ELSE c.reset_token_issued_at END, \
             reset_token_expires_at = CASE WHEN {MOVES} THEN NULL ELSE c.reset_token_expires_at END"
    );
    store.query(&sql).bind(user.as_i64()).bind(email.as_str()).bind(now).execute(conn).await?;
    Ok(())
}

/// Ends the user's outstanding reset or setup link, inside the caller's transaction.
pub(crate) async fn clear_reset_token(
    store: &PgStore,
    conn: &mut sqlx::PgConnection,
    user: UserId,
) -> Result<(), StoreError> {
    store
        .query(
            "UPDATE credentials_email SET reset_token_hash = NULL, reset_token_kind = NULL, reset_token_key = NULL, \
             reset_token_issued_at = NULL, reset_token_expires_at = NULL \
         WHERE user_id = $1 AND reset_token_hash IS NOT NULL",
        )
        .bind(user.as_i64())
        .execute(conn)
        .await
        .map_err(error::store)?;
    Ok(())
}
