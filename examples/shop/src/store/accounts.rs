//! The shop's own queries, beside the ports: signing a customer up and reading what a login
//! checks. They keep the invariants resetd relies on: the current hash is also the newest
//! history entry, and every account change leaves an audit event.

use chrono::{DateTime, Utc};
use resetd_domain::password::PasswordHash;
use resetd_domain::user::{Email, PhoneNumber, UserId, UserStatus};
use resetd_ports::audit::{AuditEvent, AuditKind};
use resetd_ports::StoreError;

use super::{broken_constraint, classify, customer_id, owed, ShopStore, EMAIL_KEY, PHONE_KEY};

/// A customer signing up, its password already hashed.
#[derive(Debug, Clone)]
pub struct NewCustomer {
    pub email: Email,
    pub phone: Option<PhoneNumber>,
    pub name: Option<String>,
    pub locale: Option<String>,
    pub hash: PasswordHash,
    pub now: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum SignUpError {
    #[error("the email is already registered")]
    EmailTaken,
    #[error("the phone number is already registered")]
    PhoneTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a login checks.
#[derive(Debug, Clone)]
pub struct LoginRecord {
    pub id: UserId,
    pub status: UserStatus,
    pub hash: Option<PasswordHash>,
}

impl ShopStore {
    /// Creates the customer with its email login and password, its first history entry and
    /// its audit event, in one transaction.
    ///
    /// # Errors
    /// [`SignUpError::EmailTaken`], [`SignUpError::PhoneTaken`], [`SignUpError::Store`].
    pub async fn sign_up(&self, new: NewCustomer) -> Result<UserId, SignUpError> {
        self.bounded(async {
            let mut tx = self.pool.begin().await.map_err(classify)?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO shop_customers (given_name, locale, phone, password_hash, joined_at, email, email_added_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $5) RETURNING id",
            )
            .bind(&new.name)
            .bind(&new.locale)
            .bind(new.phone.as_ref().map(PhoneNumber::as_str))
            .bind(new.hash.as_str())
            .bind(new.now)
            .bind(new.email.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| match broken_constraint(&e).as_deref() {
                Some(EMAIL_KEY) => SignUpError::EmailTaken,
                Some(PHONE_KEY) => SignUpError::PhoneTaken,
                _ => SignUpError::Store(classify(e)),
            })?;
            sqlx::query("INSERT INTO shop_password_history (customer_id, hash, set_at) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(new.hash.as_str())
                .bind(new.now)
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
            let id = customer_id(id)?;
            let event = AuditEvent {
                at: new.now,
                kind: AuditKind::UserCreated,
                user_id: Some(id),
                actor: "shop:signup".into(),
                detail: String::new(),
            };
            owed::note(&mut tx, &event).await?;
            tx.commit().await.map_err(classify)?;
            Ok(id)
        })
        .await
    }

    /// The customer whose login is `email`: id, status and password hash.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn login_record(&self, email: &Email) -> Result<Option<LoginRecord>, StoreError> {
        self.bounded(async {
            let row: Option<(i64, String, Option<String>)> =
                sqlx::query_as("SELECT id, status, password_hash FROM shop_customers WHERE email = $1")
                    .bind(email.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(classify)?;
            let Some((id, status, hash)) = row else { return Ok(None) };
            Ok(Some(LoginRecord {
                id: customer_id(id)?,
                status: UserStatus::parse(&status).map_err(|_| StoreError::corrupt("shop_customers.status"))?,
                hash: hash
                    .as_deref()
                    .map(PasswordHash::parse)
                    .transpose()
                    .map_err(|_| StoreError::corrupt("shop_customers.password_hash"))?,
            }))
        })
        .await
    }

    /// Records a successful login (resetd's `logged_in_at`).
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn note_login(&self, id: UserId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let touch =
            sqlx::query("UPDATE shop_customers SET last_login_at = $2 WHERE id = $1").bind(id.as_i64()).bind(at);
        self.bounded(self.exec(touch)).await.map(drop)
    }
}
