//! [`UserStore`]: the `users` table, with the email read from the user's email credential.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use resetd_domain::user::{Email, PhoneNumber, UserId, UserStatus};
use resetd_ports::audit::AuditEvent;
use resetd_ports::users::{NewUser, User, UserPatch, UserStore, UserWriteError};
use resetd_ports::StoreError;

use crate::error::{self, constraint};
use crate::PgStore;

/// The columns of a [`UserRow`], read from `users u LEFT JOIN credentials_email c`.
macro_rules! user_columns {
    () => {
        "u.id, u.first_name, u.last_name, u.locale, u.phone, u.status, c.email, \
         u.password_hash IS NOT NULL AS has_password, u.generation, u.created_at"
    };
}

/// `SELECT` of users with their email, followed by the given clauses.
macro_rules! select_users {
    ($tail:literal) => {
        concat!("SELECT ", user_columns!(), " FROM users u LEFT JOIN credentials_email c ON c.user_id = u.id ", $tail)
    };
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    first_name: Option<String>,
    last_name: Option<String>,
    locale: Option<String>,
    phone: Option<String>,
    status: String,
    email: Option<String>,
    has_password: bool,
    generation: i64,
    created_at: DateTime<Utc>,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(row: UserRow) -> Result<Self, StoreError> {
        Ok(User {
            id: UserId::from_i64(row.id).map_err(|_| StoreError::corrupt("users.id"))?,
            first_name: row.first_name,
            last_name: row.last_name,
            locale: row.locale,
            phone: row
                .phone
                .map(|p| PhoneNumber::parse(&p))
                .transpose()
                .map_err(|_| StoreError::corrupt("users.phone"))?,
            status: UserStatus::parse(&row.status).map_err(|_| StoreError::corrupt("users.status"))?,
            email: row
                .email
                .map(|e| Email::parse(&e))
                .transpose()
                .map_err(|_| StoreError::corrupt("credentials_email.email"))?,
            has_password: row.has_password,
            generation: row.generation,
            created_at: row.created_at,
        })
    }
}

/// Maps a write's error: the phone's unique constraint is [`UserWriteError::PhoneTaken`].
fn write_error(e: sqlx::Error) -> UserWriteError {
    match error::violated(&e) {
        Some(constraint::USERS_PHONE) => UserWriteError::PhoneTaken,
        Some(constraint::CREDENTIALS_EMAIL_EMAIL) => UserWriteError::EmailTaken,
        _ => UserWriteError::Store(error::store(e)),
    }
}

/// A `u64` bound as a `bigint`, saturating (an offset or limit beyond `i64::MAX` means "all").
fn bigint(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl PgStore {
    /// The one user `sql` (a [`select_users!`] with one parameter) finds.
    async fn find_user<'q, T>(&self, sql: &'static str, value: T) -> Result<Option<User>, StoreError>
    where
        T: 'q + Send + sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    {
        let mut conn = self.conn().await?;
        let row = self.query_as::<UserRow>(sql).bind(value).fetch_optional(&mut *conn).await.map_err(error::store)?;
        conn.finish().await?;
        row.map(User::try_from).transpose()
    }
}

#[async_trait]
impl UserStore for PgStore {
    /// One statement, or with an email one transaction: the user and its credential.
    async fn create(&self, new: NewUser, now: DateTime<Utc>) -> Result<User, UserWriteError> {
        crate::within(async move {
            let status = if new.disabled { UserStatus::Disabled } else { UserStatus::Active };
            let insert = self
                .query_as::<UserRow>(
                    "INSERT INTO users (first_name, last_name, locale, phone, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             RETURNING id, first_name, last_name, locale, phone, status, NULL::text AS email, \
                       password_hash IS NOT NULL AS has_password, generation, created_at",
                )
                .bind(new.first_name)
                .bind(new.last_name)
                .bind(new.locale)
                .bind(new.phone.as_ref().map(PhoneNumber::as_str))
                .bind(status.as_str())
                .bind(now);
            let Some(email) = new.email else {
                let mut conn = self.conn().await?;
                let row = insert.fetch_one(&mut *conn).await.map_err(write_error)?;
                conn.finish().await?;
                return Ok(User::try_from(row)?);
            };
            let mut tx = self.begin().await?;
            let user = User::try_from(insert.fetch_one(&mut *tx).await.map_err(write_error)?)?;
            crate::credentials::write_email(self, &mut tx, user.id, &email, now).await.map_err(write_error)?;
            tx.commit().await.map_err(error::store)?;
            Ok(User { email: Some(email), ..user })
        })
        .await
    }

    async fn find(&self, id: UserId) -> Result<Option<User>, StoreError> {
        crate::within(async move { self.find_user(select_users!("WHERE u.id = $1"), id.as_i64()).await }).await
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        crate::within(async move { self.find_user(select_users!("WHERE c.email = $1"), email.as_str()).await }).await
    }

    async fn find_by_phone(&self, phone: &PhoneNumber) -> Result<Option<User>, StoreError> {
        crate::within(async move { self.find_user(select_users!("WHERE u.phone = $1"), phone.as_str()).await }).await
    }

    async fn list(&self, offset: u64, limit: u64) -> Result<Vec<User>, StoreError> {
        crate::within(async move {
            let mut conn = self.conn().await?;
            let rows = self
                .query_as::<UserRow>(select_users!("ORDER BY u.id OFFSET $1 LIMIT $2"))
                .bind(bigint(offset))
                .bind(bigint(limit))
                .fetch_all(&mut *conn)
                .await
                .map_err(error::store)?;
            conn.finish().await?;
            rows.into_iter().map(User::try_from).collect()
        })
        .await
    }

    /// One transaction: the user's row first (the lock order of every password change), and
    /// when the status becomes one that may not sign in, the outstanding link in the same
    /// commit. A status change bumps the credential generation.
    async fn update(&self, id: UserId, patch: UserPatch) -> Result<Option<User>, UserWriteError> {
        crate::within(async move {
            // Each optional field is a (set?, value) pair, so `Some(None)` can clear a column.
            // Answers the generation before and after: a bump owes its publication.
            const SQL: &str = "UPDATE users u SET \
                 first_name = CASE WHEN $2 THEN $3 ELSE u.first_name END, \
                 last_name = CASE WHEN $4 THEN $5 ELSE u.last_name END, \
                 locale = CASE WHEN $6 THEN $7 ELSE u.locale END, \
                 phone = CASE WHEN $8 THEN $9 ELSE u.phone END, \
                 status = COALESCE($10, u.status), \
                 generation = u.generation + CASE WHEN $10 IS NOT NULL AND $10 <> u.status THEN 1 ELSE 0 END \
             FROM (SELECT generation FROM users WHERE id = $1 FOR UPDATE) old \
             WHERE u.id = $1 RETURNING old.generation AS before, u.generation AS after";
            let (first_name_set, first_name) = split(patch.first_name);
            let (last_name_set, last_name) = split(patch.last_name);
            let (locale_set, locale) = split(patch.locale);
            let (phone_set, phone) = split(patch.phone);
            let mut tx = self.begin().await?;
            let generations: Option<(i64, i64)> = self
                .query_as(SQL)
                .bind(id.as_i64())
                .bind(first_name_set)
                .bind(first_name)
                .bind(last_name_set)
                .bind(last_name)
                .bind(locale_set)
                .bind(locale)
                .bind(phone_set)
                .bind(phone.as_ref().map(PhoneNumber::as_str))
                .bind(patch.status.map(UserStatus::as_str))
                .fetch_optional(&mut *tx)
                .await
                .map_err(write_error)?;
            let Some((before, after)) = generations else { return Ok(None) };
            if after != before {
                crate::outbox::owe(self, &mut tx, id, Some(after), None, chrono::Utc::now()).await?;
            }
            if patch.status.is_some_and(|s| s != UserStatus::Active) {
                crate::credentials::clear_reset_token(self, &mut tx, id).await?;
            }
            if let Some(email) = &patch.email {
                crate::credentials::write_email(self, &mut tx, id, email, chrono::Utc::now())
                    .await
                    .map_err(write_error)?;
            }
            for event in &patch.audit {
                crate::audit::insert(self, &mut *tx, event).await?;
            }
            let row = self
                .query_as::<UserRow>(select_users!("WHERE u.id = $1"))
                .bind(id.as_i64())
                .fetch_optional(&mut *tx)
                .await
                .map_err(error::store)?;
            tx.commit().await.map_err(error::store)?;
            Ok(row.map(User::try_from).transpose()?)
        })
        .await
    }

    async fn delete(&self, id: UserId, audit: &AuditEvent) -> Result<bool, StoreError> {
        crate::within(async move {
            let mut tx = self.begin().await?;
            let done = self
                .query("DELETE FROM users WHERE id = $1")
                .bind(id.as_i64())
                .execute(&mut *tx)
                .await
                .map_err(error::store)?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            // Its sessions end for good, whatever happens to this process after the commit.
            crate::outbox::owe(self, &mut tx, id, Some(i64::MAX), None, chrono::Utc::now()).await?;
            crate::audit::insert(self, &mut *tx, audit).await?;
            tx.commit().await.map_err(error::store)?;
            Ok(true)
        })
        .await
    }
}

/// `None` → leave alone, `Some(v)` → set to `v` (which may be `None`).
fn split<T>(field: Option<Option<T>>) -> (bool, Option<T>) {
    match field {
        Some(value) => (true, value),
        None => (false, None),
    }
}
