//! [`CredentialStore`] over the email columns of `shop_customers`: a customer "has an email
//! credential" when its `email` is set. The password change itself is in `change.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use resetd_domain::keyed::Digest;
use resetd_domain::keyring::Sealed;
use resetd_domain::password::PasswordHash;
use resetd_domain::reset_token::ResetTokenKind;
use resetd_domain::user::{Email, UserId};
use resetd_ports::audit::AuditEvent;
use resetd_ports::credentials::{
    ChangePassword, ChangePasswordError, CredentialStore, CredentialWriteError, EmailCredential, PasswordState,
    TokenOwner,
};
use resetd_ports::StoreError;
use sqlx::PgConnection;

use super::{broken_constraint, classify, customer_id, CustomerRow, ShopStore, EMAIL_KEY};

/// An instant, as the ports give it.
type At = DateTime<Utc>;

/// What a write of the email login answers.
type Written = Result<EmailCredential, CredentialWriteError>;

/// Ends the customer's outstanding reset link; with `unless_email`, only when the login is
/// about to become another address (the link went to the old one).
pub(crate) async fn end_link(
    conn: &mut PgConnection,
    id: UserId,
    unless_email: Option<&Email>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE shop_customers SET reset_digest = NULL, reset_key_id = NULL, reset_kind = NULL, \
           reset_issued_at = NULL, reset_expires_at = NULL \
         WHERE id = $1 AND ($2::text IS NULL OR email IS DISTINCT FROM $2)",
    )
    .bind(id.as_i64())
    .bind(unless_email.map(Email::as_str))
    .execute(conn)
    .await
    .map_err(classify)?;
    Ok(())
}

/// An email write refused because another customer has the address, or a driver error.
fn email_refused(e: sqlx::Error) -> CredentialWriteError {
    if broken_constraint(&e).as_deref() == Some(EMAIL_KEY) {
        CredentialWriteError::EmailTaken
    } else {
        CredentialWriteError::Store(classify(e))
    }
}

fn login_of(row: CustomerRow) -> Result<EmailCredential, CredentialWriteError> {
    row.into_credential()?.ok_or(CredentialWriteError::UserNotFound)
}

impl ShopStore {
    async fn login(&self, id: UserId) -> Result<Option<EmailCredential>, StoreError> {
        let read = sqlx::query_as::<_, CustomerRow>(concat!(
            "SELECT ",
            customer_columns!(),
            " FROM shop_customers WHERE id = $1"
        ));
        let found = read.bind(id.as_i64()).fetch_optional(&self.pool).await.map_err(classify)?;
        Ok(found.map(CustomerRow::into_credential).transpose()?.flatten())
    }
}

#[async_trait]
impl CredentialStore for ShopStore {
    async fn get(&self, user: UserId) -> Result<Option<EmailCredential>, StoreError> {
        self.bounded(self.login(user)).await
    }

    async fn get_many(&self, users: &[UserId]) -> Result<Vec<EmailCredential>, StoreError> {
        let ids: Vec<i64> = users.iter().map(|u| u.as_i64()).collect();
        let read = sqlx::query_as::<_, CustomerRow>(concat!(
            "SELECT ",
            customer_columns!(),
            " FROM shop_customers WHERE id = ANY($1) AND email IS NOT NULL"
        ))
        .bind(ids);
        self.bounded(async move {
            let rows = read.fetch_all(&self.pool).await.map_err(classify)?;
            rows.into_iter().filter_map(|r| r.into_credential().transpose()).collect()
        })
        .await
    }

    /// Sets the email of a customer that has none.
    async fn create(&self, user: UserId, email: &Email, now: At) -> Written {
        let set = sqlx::query_as::<_, CustomerRow>(concat!(
            "UPDATE shop_customers SET email = $2, email_added_at = $3 WHERE id = $1 AND email IS NULL RETURNING ",
            customer_columns!()
        ))
        .bind(user.as_i64())
        .bind(email.as_str().to_owned())
        .bind(now);
        self.bounded(async move {
            if let Some(row) = set.fetch_optional(&self.pool).await.map_err(email_refused)? {
                return login_of(row);
            }
            // Nothing matched: either no such customer, or one that already has an email.
            let has_email: Option<bool> =
                sqlx::query_scalar("SELECT email IS NOT NULL FROM shop_customers WHERE id = $1")
                    .bind(user.as_i64())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(classify)?;
            Err(match has_email {
                Some(true) => CredentialWriteError::AlreadyExists,
                _ => CredentialWriteError::UserNotFound,
            })
        })
        .await
    }

    /// A new address ends the link sent to the old one, in the same transaction.
    async fn update(&self, user: UserId, email: Option<Email>, forced_reset: Option<bool>) -> Written {
        self.bounded(async {
            let mut tx = self.pool.begin().await.map_err(classify)?;
            if let Some(new) = &email {
                end_link(&mut tx, user, Some(new)).await?;
            }
            let row: Option<CustomerRow> = sqlx::query_as(concat!(
                "UPDATE shop_customers SET email = COALESCE($2, email), \
                   must_change_password = COALESCE($3, must_change_password) \
                 WHERE id = $1 AND email IS NOT NULL RETURNING ",
                customer_columns!()
            ))
            .bind(user.as_i64())
            .bind(email.as_ref().map(Email::as_str))
            .bind(forced_reset)
            .fetch_optional(&mut *tx)
            .await
            .map_err(email_refused)?;
            let login = login_of(row.ok_or(CredentialWriteError::UserNotFound)?)?;
            tx.commit().await.map_err(classify)?;
            Ok(login)
        })
        .await
    }

    /// Clears the email login with its link and flags; the customer stays.
    async fn delete(&self, user: UserId) -> Result<bool, StoreError> {
        let clear = sqlx::query(
            "UPDATE shop_customers SET email = NULL, email_added_at = NULL, last_login_at = NULL, \
               must_change_password = false, reset_digest = NULL, reset_key_id = NULL, reset_kind = NULL, \
               reset_issued_at = NULL, reset_expires_at = NULL \
             WHERE id = $1 AND email IS NOT NULL",
        );
        Ok(self.bounded(self.exec(clear.bind(user.as_i64()))).await? == 1)
    }

    /// One UPDATE: the new link replaces whatever link was there.
    async fn issue_reset_token(
        &self,
        id: UserId,
        link: &Sealed,
        kind: ResetTokenKind,
        ends: Option<At>,
        at: At,
        audit: &AuditEvent,
    ) -> Result<Option<EmailCredential>, StoreError> {
        // The audit event is inserted in the same statement, for the row the update matched.
        let issue = sqlx::query_as::<_, CustomerRow>(concat!(
            "WITH issued AS (UPDATE shop_customers SET reset_issued_at = $2, reset_expires_at = $3, reset_kind = $4, \
               reset_digest = $5, reset_key_id = $6 \
             WHERE id = $1 AND email IS NOT NULL RETURNING *), \
             noted AS (INSERT INTO shop_audit (customer_id, kind, actor, detail, occurred_at) \
               SELECT $7, $8, $9, $10, $11 FROM issued) \
             SELECT ",
            customer_columns!(),
            " FROM issued"
        ))
        .bind(id.as_i64())
        .bind(at)
        .bind(ends)
        .bind(kind.as_str())
        .bind(link.digest.as_bytes().to_vec())
        .bind(link.key.map(|k| k.to_string()))
        .bind(audit.user_id.map(UserId::as_i64))
        .bind(audit.kind.as_str())
        .bind(audit.actor.clone())
        .bind(audit.detail.clone())
        .bind(audit.at);
        self.bounded(async move {
            let found = issue.fetch_optional(&self.pool).await.map_err(classify)?;
            Ok(found.map(CustomerRow::into_credential).transpose()?.flatten())
        })
        .await
    }

    async fn find_reset_token(&self, token: &Digest, now: At) -> Result<Option<TokenOwner>, StoreError> {
        self.bounded(async {
            let found: Option<(i64, String)> = sqlx::query_as(
                "SELECT id, reset_kind FROM shop_customers \
                 WHERE reset_digest = $1 AND (reset_expires_at IS NULL OR reset_expires_at > $2)",
            )
            .bind(token.as_bytes().as_slice())
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)?;
            let Some((id, kind)) = found else { return Ok(None) };
            let kind = ResetTokenKind::parse(&kind).ok_or(StoreError::corrupt("shop_customers.reset_kind"))?;
            Ok(Some(TokenOwner { user_id: customer_id(id)?, kind }))
        })
        .await
    }

    /// The hash, the version and the newest `history_limit` history entries in one SELECT.
    async fn password_state(&self, user: UserId, history_limit: u32) -> Result<Option<PasswordState>, StoreError> {
        self.bounded(async {
            let row: Option<(Option<String>, i64, Vec<String>)> = sqlx::query_as(
                "SELECT c.password_hash, c.password_version, \
                   ARRAY(SELECT h.hash FROM shop_password_history h WHERE h.customer_id = c.id \
                         ORDER BY h.seq DESC LIMIT $2) \
                 FROM shop_customers c WHERE c.id = $1",
            )
            .bind(user.as_i64())
            .bind(i64::from(history_limit))
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)?;
            let Some((current, version, history)) = row else { return Ok(None) };
            let phc = |raw: &str| PasswordHash::parse(raw).map_err(|_| StoreError::corrupt("a password hash"));
            Ok(Some(PasswordState {
                current: current.as_deref().map(phc).transpose()?,
                history: history.iter().map(|h| phc(h)).collect::<Result<_, _>>()?,
                version,
            }))
        })
        .await
    }

    async fn rehash(&self, user: UserId, old: &PasswordHash, new: &PasswordHash) -> Result<bool, StoreError> {
        self.bounded(async {
            let done = sqlx::query("UPDATE shop_customers SET password_hash = $3 WHERE id = $1 AND password_hash = $2")
                .bind(user.as_i64())
                .bind(old.as_str())
                .bind(new.as_str())
                .execute(&self.pool)
                .await
                .map_err(classify)?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }

    async fn change_password(&self, change: ChangePassword) -> Result<i64, ChangePasswordError> {
        self.bounded(super::change::apply(&self.pool, change)).await
    }

    async fn force_reset_all(&self) -> Result<u64, StoreError> {
        let flag = sqlx::query("UPDATE shop_customers SET must_change_password = true WHERE email IS NOT NULL");
        self.bounded(self.exec(flag)).await
    }
}
