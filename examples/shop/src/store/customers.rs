//! [`UserStore`] over `shop_customers`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use resetd_domain::user::{Email, PhoneNumber, UserId, UserStatus};
use resetd_ports::audit::AuditEvent;
use resetd_ports::users::{NewUser, User, UserPatch, UserStore, UserWriteError};
use resetd_ports::StoreError;
use sqlx::{Postgres, Transaction};

use super::{broken_constraint, classify, logins, owed, CustomerRow, ShopStore, EMAIL_KEY, PHONE_KEY};

/// A write refused for a phone number or an email that another customer has, or a driver
/// error.
fn refused(e: sqlx::Error) -> UserWriteError {
    match broken_constraint(&e).as_deref() {
        Some(PHONE_KEY) => UserWriteError::PhoneTaken,
        Some(EMAIL_KEY) => UserWriteError::EmailTaken,
        _ => UserWriteError::Store(classify(e)),
    }
}

/// `(given?, value)` for a field of a [`UserPatch`]: whether to touch it, and what to set.
fn touch(field: Option<Option<String>>) -> (bool, Option<String>) {
    (field.is_some(), field.flatten())
}

impl ShopStore {
    /// The one customer `sql` selects by `$1`, as resetd's user.
    async fn customer<T>(&self, sql: &'static str, key: T) -> Result<Option<User>, StoreError>
    where
        T: for<'e> sqlx::Encode<'e, Postgres> + sqlx::Type<Postgres> + Send,
    {
        let found: Option<CustomerRow> =
            sqlx::query_as(sql).bind(key).fetch_optional(&self.pool).await.map_err(classify)?;
        found.map(CustomerRow::into_user).transpose()
    }

    /// The patch itself, on the row `update` locked.
    async fn apply_patch(
        tx: &mut Transaction<'static, Postgres>,
        id: UserId,
        patch: UserPatch,
        bump: bool,
    ) -> Result<User, UserWriteError> {
        let (given, given_name) = touch(patch.first_name);
        let (family, family_name) = touch(patch.last_name);
        let (lang, locale) = touch(patch.locale);
        let (dial, phone) = touch(patch.phone.map(|p| p.map(|p| p.as_str().to_owned())));
        if let Some(email) = &patch.email {
            // A link mailed to the old address dies with it.
            logins::end_link(tx, id, Some(email)).await?;
        }
        let patched: CustomerRow = sqlx::query_as(concat!(
            "UPDATE shop_customers SET \
               given_name = CASE WHEN $2 THEN $3 ELSE given_name END, \
               family_name = CASE WHEN $4 THEN $5 ELSE family_name END, \
               locale = CASE WHEN $6 THEN $7 ELSE locale END, \
               phone = CASE WHEN $8 THEN $9 ELSE phone END, \
               status = COALESCE($10, status), \
               credential_generation = credential_generation + $11, \
               email_added_at = CASE WHEN $12::text IS NOT NULL AND email IS NULL THEN now() ELSE email_added_at END, \
               email = COALESCE($12, email) \
             WHERE id = $1 RETURNING ",
            customer_columns!()
        ))
        .bind(id.as_i64())
        .bind(given)
        .bind(given_name)
        .bind(family)
        .bind(family_name)
        .bind(lang)
        .bind(locale)
        .bind(dial)
        .bind(phone)
        .bind(patch.status.map(UserStatus::as_str))
        .bind(i64::from(bump))
        .bind(patch.email.as_ref().map(Email::as_str))
        .fetch_one(&mut **tx)
        .await
        .map_err(refused)?;
        Ok(patched.into_user()?)
    }
}

#[async_trait]
impl UserStore for ShopStore {
    async fn create(&self, new: NewUser, now: DateTime<Utc>) -> Result<User, UserWriteError> {
        let status = if new.disabled { UserStatus::Disabled } else { UserStatus::Active };
        let phone = new.phone.as_ref().map(|p| p.as_str().to_owned());
        let insert = sqlx::query_as::<_, CustomerRow>(concat!(
            "INSERT INTO shop_customers (joined_at, status, given_name, family_name, locale, phone, email, \
               email_added_at) VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $7::text IS NULL THEN NULL ELSE $1 END) \
             RETURNING ",
            customer_columns!()
        ))
        .bind(now)
        .bind(status.as_str())
        .bind(new.first_name)
        .bind(new.last_name)
        .bind(new.locale)
        .bind(phone)
        .bind(new.email.as_ref().map(|e| e.as_str().to_owned()));
        self.bounded(async move { Ok(insert.fetch_one(&self.pool).await.map_err(refused)?.into_user()?) }).await
    }

    async fn find(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let sql = concat!("SELECT ", customer_columns!(), " FROM shop_customers WHERE id = $1");
        self.bounded(self.customer(sql, id.as_i64())).await
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        let sql = concat!("SELECT ", customer_columns!(), " FROM shop_customers WHERE email = $1");
        self.bounded(self.customer(sql, email.as_str())).await
    }

    async fn find_by_phone(&self, phone: &PhoneNumber) -> Result<Option<User>, StoreError> {
        let sql = concat!("SELECT ", customer_columns!(), " FROM shop_customers WHERE phone = $1");
        self.bounded(self.customer(sql, phone.as_str())).await
    }

    async fn list(&self, offset: u64, limit: u64) -> Result<Vec<User>, StoreError> {
        let page = sqlx::query_as::<_, CustomerRow>(concat!(
            "SELECT ",
            customer_columns!(),
            " FROM shop_customers ORDER BY id OFFSET $1 LIMIT $2"
        ))
        .bind(i64::try_from(offset).unwrap_or(i64::MAX))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX));
        self.bounded(async move {
            let rows = page.fetch_all(&self.pool).await.map_err(classify)?;
            rows.into_iter().map(CustomerRow::into_user).collect()
        })
        .await
    }

    /// Locks the row, then in one transaction: the patch; for a new status a generation
    /// bump and the outbox row that publishes it; for a status that may not sign in, the end
    /// of the outstanding link.
    async fn update(&self, id: UserId, patch: UserPatch) -> Result<Option<User>, UserWriteError> {
        self.bounded(async {
            let mut tx = self.pool.begin().await.map_err(classify)?;
            let current: Option<String> =
                sqlx::query_scalar("SELECT status FROM shop_customers WHERE id = $1 FOR UPDATE")
                    .bind(id.as_i64())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(classify)?;
            let Some(current) = current else { return Ok(None) };
            let new_status = patch.status.filter(|s| s.as_str() != current);
            let may_not_sign_in = patch.status.is_some_and(|s| !s.is_active());
            let events = patch.audit.clone();
            let user = Self::apply_patch(&mut tx, id, patch, new_status.is_some()).await?;
            for event in &events {
                owed::note(&mut tx, event).await?;
            }
            if may_not_sign_in {
                logins::end_link(&mut tx, id, None).await?;
            }
            if new_status.is_some() {
                owed::owe(&mut tx, Utc::now(), id, Some(user.generation), None).await?;
            }
            tx.commit().await.map_err(classify)?;
            Ok(Some(user))
        })
        .await
    }

    /// Deletes the customer (its history goes by cascade) and owes the end of its sessions:
    /// the highest generation there is.
    async fn delete(&self, id: UserId, audit: &AuditEvent) -> Result<bool, StoreError> {
        self.bounded(async {
            let mut tx = self.pool.begin().await.map_err(classify)?;
            let deleted = sqlx::query("DELETE FROM shop_customers WHERE id = $1")
                .bind(id.as_i64())
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
            if deleted.rows_affected() == 0 {
                return Ok(false);
            }
            owed::owe(&mut tx, Utc::now(), id, Some(i64::MAX), None).await?;
            owed::note(&mut tx, audit).await?;
            tx.commit().await.map_err(classify)?;
            Ok(true)
        })
        .await
    }
}
