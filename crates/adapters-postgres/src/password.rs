//! Password state and the atomic, version-checked password change of [`CredentialStore`].
//!
//! Lock order: every writer of a user's password state takes the `users` row first (the
//! version-checked `UPDATE`), then the `credentials_email` row (the token). `DELETE FROM users`
//! takes the same two locks in the same order through its cascade, so no pair of these
//! statements can deadlock. Concurrent changes of one user queue on the `users` row; after the
//! winner commits, the others find the version moved and write nothing.
//!
//! [`CredentialStore`]: resetd_ports::credentials::CredentialStore

use chrono::{DateTime, Utc};
use resetd_domain::password::PasswordHash;
use resetd_domain::user::UserId;
use resetd_ports::credentials::{ChangePassword, ChangePasswordError, PasswordState};
use resetd_ports::StoreError;
use sqlx::PgConnection;

use crate::error;
use crate::PgStore;

#[derive(sqlx::FromRow)]
struct StateRow {
    password_hash: Option<String>,
    password_version: i64,
    history: Vec<String>,
}

fn hash(raw: &str, what: &'static str) -> Result<PasswordHash, StoreError> {
    PasswordHash::parse(raw).map_err(|_| StoreError::corrupt(what))
}

impl PgStore {
    /// The current hash, the newest `history_limit` history entries and the version, read in
    /// one statement (one snapshot).
    pub(crate) async fn read_password_state(
        &self,
        user: UserId,
        history_limit: u32,
    ) -> Result<Option<PasswordState>, StoreError> {
        let mut conn = self.conn().await?;
        let row = self
            .query_as::<StateRow>(
                "SELECT u.password_hash, u.password_version, \
                    ARRAY(SELECT h.hash FROM password_history h WHERE h.user_id = u.id \
                          ORDER BY h.id DESC LIMIT $2) AS history \
             FROM users u WHERE u.id = $1",
            )
            .bind(user.as_i64())
            .bind(i64::from(history_limit))
            .fetch_optional(&mut *conn)
            .await
            .map_err(error::store)?;
        conn.finish().await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(PasswordState {
            current: row.password_hash.as_deref().map(|h| hash(h, "users.password_hash")).transpose()?,
            history: row.history.iter().map(|h| hash(h, "password_history.hash")).collect::<Result<_, _>>()?,
            version: row.password_version,
        }))
    }

    /// Runs [`change`] in one transaction, committed only if every step succeeds; answers the
    /// new credential generation.
    pub(crate) async fn apply_password_change(&self, change: ChangePassword) -> Result<i64, ChangePasswordError> {
        let mut tx = self.begin().await?;
        match change_in(self, &mut tx, &change).await {
            Ok(generation) => {
                tx.commit().await.map_err(error::store)?;
                Ok(generation)
            }
            Err(e) => {
                // Release the row locks now rather than when the connection is next used; a
                // failed rollback leaves the connection to the pool, which discards it.
                tx.rollback().await.ok();
                Err(e)
            }
        }
    }
}

/// The steps of one password change; the caller commits or rolls back.
async fn change_in(
    store: &PgStore,
    conn: &mut PgConnection,
    change: &ChangePassword,
) -> Result<i64, ChangePasswordError> {
    let user = change.user_id.as_i64();

    // 1. Version and generation check (a password or status change since the read stops
    //    this one), new hash, new generation: locks the user's row, so changes of one
    //    user queue here.
    let generation: Option<i64> = store
        .query_scalar(
            "UPDATE users SET password_hash = $2, password_version = password_version + 1, \
                          generation = generation + 1 \
         WHERE id = $1 AND password_version = $3 AND generation = $4 RETURNING generation",
        )
        .bind(user)
        .bind(change.new_hash.as_str())
        .bind(change.expected_version)
        .bind(change.expected_generation)
        .fetch_optional(&mut *conn)
        .await
        .map_err(error::store)?;
    let Some(generation) = generation else {
        let exists: bool = store
            .query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)")
            .bind(user)
            .fetch_one(&mut *conn)
            .await
            .map_err(error::store)?;
        return Err(if exists { ChangePasswordError::VersionMoved } else { ChangePasswordError::UserNotFound });
    };

    // 2. Consume the token (it must be this user's and live at `now`), or end any other
    //    outstanding link, and clear the forced-reset flag in the same statement.
    if let Some(token) = &change.consume {
        let consumed = store.query(
            "UPDATE credentials_email SET reset_token_hash = NULL, reset_token_kind = NULL, reset_token_key = NULL, \
                 reset_token_issued_at = NULL, reset_token_expires_at = NULL, forced_reset = false \
             WHERE user_id = $1 AND reset_token_hash = $2 \
               AND (reset_token_expires_at IS NULL OR reset_token_expires_at > $3)",
        )
        .bind(user)
        .bind(token.as_bytes().as_slice())
        .bind(change.now)
        .execute(&mut *conn)
        .await
        .map_err(error::store)?;
        if consumed.rows_affected() == 0 {
            return Err(ChangePasswordError::TokenGone);
        }
    } else {
        // Any other outstanding link dies with the change too.
        store.query(
            "UPDATE credentials_email SET reset_token_hash = NULL, reset_token_kind = NULL, reset_token_key = NULL, \
                 reset_token_issued_at = NULL, reset_token_expires_at = NULL, forced_reset = false \
             WHERE user_id = $1 AND (forced_reset OR reset_token_hash IS NOT NULL)",
        )
        .bind(user)
        .execute(&mut *conn)
        .await
        .map_err(error::store)?;
    }

    // 3. Append to the history and keep only the newest `history_limit` entries.
    append_history(store, conn, user, &change.new_hash, change.now, change.history_limit).await?;

    // 4. The audit event, and what the change owes: publishing the new generation (which ends
    //    older sessions) and the notice.
    crate::audit::insert(store, &mut *conn, &change.audit).await?;
    crate::outbox::owe(store, conn, change.user_id, Some(generation), change.notice.as_ref(), change.now).await?;
    Ok(generation)
}

async fn append_history(
    store: &PgStore,
    conn: &mut PgConnection,
    user: i64,
    new_hash: &PasswordHash,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<(), StoreError> {
    store
        .query("INSERT INTO password_history (user_id, hash, created_at) VALUES ($1, $2, $3)")
        .bind(user)
        .bind(new_hash.as_str())
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(error::store)?;
    // Deletes everything older than the `limit`-th newest entry (nothing when there are fewer).
    let keep_after = i64::from(limit.max(1)) - 1;
    store
        .query(
            "DELETE FROM password_history WHERE user_id = $1 AND id < \
             (SELECT id FROM password_history WHERE user_id = $1 ORDER BY id DESC OFFSET $2 LIMIT 1)",
        )
        .bind(user)
        .bind(keep_after)
        .execute(&mut *conn)
        .await
        .map_err(error::store)?;
    Ok(())
}
