//! The atomic password change of [`resetd_ports::credentials::CredentialStore`]: one
//! transaction whose first statement is a guarded UPDATE of the customer row. It matches only
//! the customer as the caller read it (its password version and its credential generation)
//! and, when a link is to be consumed, only while that live link is the customer's. Everything
//! else (the history entry and its trim, the audit event, the outbox row) follows it in the
//! same transaction, so a refused change writes nothing at all.
//!
//! Concurrent changes queue on the row lock the UPDATE takes; once the first commits, the
//! others find the version moved and match nothing, so a link or code is used once.

use resetd_domain::user::UserId;
use resetd_ports::credentials::{ChangePassword, ChangePasswordError};
use sqlx::{PgConnection, PgPool};

use super::{classify, owed};

pub(super) async fn apply(pool: &PgPool, change: ChangePassword) -> Result<i64, ChangePasswordError> {
    let id = change.user_id;
    let consume = change.consume.map(|d| d.as_bytes().to_vec());
    let mut tx = pool.begin().await.map_err(classify)?;
    let generation: Option<i64> = sqlx::query_scalar(
        "UPDATE shop_customers SET password_hash = $2, \
           password_version = password_version + 1, \
           credential_generation = credential_generation + 1, \
           must_change_password = false, \
           reset_digest = NULL, reset_key_id = NULL, reset_kind = NULL, \
           reset_issued_at = NULL, reset_expires_at = NULL \
         WHERE id = $1 AND password_version = $3 AND credential_generation = $4 \
           AND ($5::bytea IS NULL \
                OR (reset_digest = $5 AND (reset_expires_at IS NULL OR reset_expires_at > $6))) \
         RETURNING credential_generation",
    )
    .bind(id.as_i64())
    .bind(change.new_hash.as_str())
    .bind(change.expected_version)
    .bind(change.expected_generation)
    .bind(consume.as_deref())
    .bind(change.now)
    .fetch_optional(&mut *tx)
    .await
    .map_err(classify)?;
    let Some(generation) = generation else {
        return Err(refusal(&mut tx, id, &change).await);
    };

    sqlx::query("INSERT INTO shop_password_history (customer_id, hash, set_at) VALUES ($1, $2, $3)")
        .bind(id.as_i64())
        .bind(change.new_hash.as_str())
        .bind(change.now)
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
    sqlx::query(
        "DELETE FROM shop_password_history WHERE seq IN \
           (SELECT seq FROM shop_password_history WHERE customer_id = $1 ORDER BY seq DESC OFFSET $2)",
    )
    .bind(id.as_i64())
    .bind(i64::from(change.history_limit.max(1)))
    .execute(&mut *tx)
    .await
    .map_err(classify)?;
    owed::note(&mut tx, &change.audit).await?;
    owed::owe(&mut tx, change.now, id, Some(generation), change.notice.as_ref()).await?;
    tx.commit().await.map_err(classify)?;
    Ok(generation)
}

/// Why the guarded UPDATE matched nothing (read in the same transaction, which then rolls
/// back): no customer, a customer changed since it was read, or a link that is not (or no
/// longer) this customer's live one.
async fn refusal(conn: &mut PgConnection, id: UserId, change: &ChangePassword) -> ChangePasswordError {
    let as_read: Result<Option<bool>, _> = sqlx::query_scalar(
        "SELECT password_version = $2 AND credential_generation = $3 FROM shop_customers WHERE id = $1",
    )
    .bind(id.as_i64())
    .bind(change.expected_version)
    .bind(change.expected_generation)
    .fetch_optional(conn)
    .await;
    match as_read {
        Err(e) => ChangePasswordError::Store(classify(e)),
        Ok(None) => ChangePasswordError::UserNotFound,
        Ok(Some(false)) => ChangePasswordError::VersionMoved,
        Ok(Some(true)) => ChangePasswordError::TokenGone,
    }
}
