//! The shop's own tables adapted to resetd's ports.
//!
//! One `shop_customers` row is both resetd's [`User`] and, when its email columns are set,
//! the user's [`EmailCredential`]. [`ShopStore`] implements [`resetd_ports::users::UserStore`]
//! (`customers.rs`), [`resetd_ports::credentials::CredentialStore`] (`logins.rs`, the
//! atomic password change in `change.rs`),
//! [`resetd_ports::audit::AuditLog`] and [`resetd_ports::outbox::Outbox`] (`owed.rs`), and
//! the shop's own sign-up and login queries (`accounts.rs`).
//!
//! Every call runs inside [`resetd_ports::budget::call`], so a request that resetd's router
//! gave a backend budget fails fast when PostgreSQL hangs; driver errors never leave this
//! module: connection failures and timeouts become [`StoreError::Unavailable`] (a 503 in the
//! CIAM dialect), anything else [`StoreError::Unexpected`].

/// The columns every read of a customer selects, as [`CustomerRow`] expects them (a macro,
/// so that queries are whole `&'static str`s built with `concat!`).
macro_rules! customer_columns {
    () => {
        "id, given_name, family_name, locale, phone, status, password_hash IS NOT NULL AS has_password, \
         credential_generation, joined_at, email, email_added_at, last_login_at, must_change_password, \
         reset_kind, reset_issued_at, reset_expires_at"
    };
}

mod accounts;
mod change;
mod customers;
mod logins;
mod owed;

use std::future::Future;
use std::str::FromStr as _;
use std::time::Duration;

use chrono::{DateTime, Utc};
use resetd_domain::reset_token::ResetTokenKind;
use resetd_domain::user::{Email, PhoneNumber, UserId, UserStatus};
use resetd_ports::credentials::{EmailCredential, IssuedToken};
use resetd_ports::users::User;
use resetd_ports::StoreError;
use sqlx::postgres::PgArguments;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};

/// A statement with its arguments bound.
type Statement<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

pub use accounts::{LoginRecord, NewCustomer, SignUpError};

/// How long one store call may take when no request budget ends it sooner (background work
/// such as the outbox worker, the shop's own routes).
pub const CALL_LIMIT: Duration = Duration::from_secs(2);

/// The shop's PostgreSQL tables behind resetd's durable ports. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ShopStore {
    pool: PgPool,
}

impl ShopStore {
    /// Wraps a pool whose database has the shop's migrations ([`crate::MIGRATOR`]).
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Opens a pool on `url` that gives up on a connection after 3 s.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when PostgreSQL cannot be reached.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(StoreError::unexpected)?.application_name("shop");
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(2))
            .acquire_timeout(Duration::from_secs(3))
            .connect_with(options)
            .await
            .map_err(classify)?;
        Ok(Self::new(pool))
    }

    /// Applies the shop's migrations.
    ///
    /// # Errors
    /// [`StoreError`] when they cannot be applied.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        crate::MIGRATOR.run(&self.pool).await.map_err(StoreError::unexpected)
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Runs one statement on the pool; answers how many rows it touched.
    async fn exec(&self, statement: Statement<'_>) -> Result<u64, StoreError> {
        Ok(statement.execute(&self.pool).await.map_err(classify)?.rows_affected())
    }

    /// Runs one port call within [`CALL_LIMIT`] and the request's backend budget.
    async fn bounded<T, E: From<StoreError>>(&self, work: impl Future<Output = Result<T, E>>) -> Result<T, E> {
        match resetd_ports::budget::call(CALL_LIMIT, work).await {
            Some(done) => done,
            None => Err(E::from(StoreError::unavailable("the shop database did not answer in time"))),
        }
    }
}

/// Sorts a driver error: out of reach (try again later) or a failure.
pub(crate) fn classify(e: sqlx::Error) -> StoreError {
    let away = match &e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| sqlstate_is_outage(&code)),
        _ => false,
    };
    if away {
        StoreError::unavailable(e)
    } else {
        StoreError::unexpected(e)
    }
}

/// SQLSTATEs of a server that is out of reach or overwhelmed rather than one that refused:
/// class 08 (connection), class 53 (resources), shutting down or starting (57P01-57P03), and
/// a statement cancelled by `statement_timeout` (57014).
fn sqlstate_is_outage(code: &str) -> bool {
    let class = code.get(..2).unwrap_or_default();
    class == "08" || class == "53" || ["57P01", "57P02", "57P03", "57014"].contains(&code)
}

/// The unique constraint a failed write broke, if that is why it failed.
pub(crate) fn broken_constraint(e: &sqlx::Error) -> Option<String> {
    let sqlx::Error::Database(db) = e else { return None };
    db.is_unique_violation().then(|| db.constraint().map(str::to_owned)).flatten()
}

pub(crate) const PHONE_KEY: &str = "shop_customers_phone_key";
pub(crate) const EMAIL_KEY: &str = "shop_customers_email_key";

/// A customer as read; turned into resetd's types through their parsers, so a corrupt row is
/// an error, never an invalid value.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct CustomerRow {
    id: i64,
    given_name: Option<String>,
    family_name: Option<String>,
    locale: Option<String>,
    phone: Option<String>,
    status: String,
    has_password: bool,
    credential_generation: i64,
    joined_at: DateTime<Utc>,
    email: Option<String>,
    email_added_at: Option<DateTime<Utc>>,
    last_login_at: Option<DateTime<Utc>>,
    must_change_password: bool,
    reset_kind: Option<String>,
    reset_issued_at: Option<DateTime<Utc>>,
    reset_expires_at: Option<DateTime<Utc>>,
}

pub(crate) fn customer_id(raw: i64) -> Result<UserId, StoreError> {
    UserId::from_i64(raw).map_err(|_| StoreError::corrupt("shop_customers.id"))
}

fn parse_email(raw: &str) -> Result<Email, StoreError> {
    Email::parse(raw).map_err(|_| StoreError::corrupt("shop_customers.email"))
}

impl CustomerRow {
    pub(crate) fn into_user(self) -> Result<User, StoreError> {
        let phone = match self.phone.as_deref() {
            Some(p) => Some(PhoneNumber::parse(p).map_err(|_| StoreError::corrupt("shop_customers.phone"))?),
            None => None,
        };
        Ok(User {
            id: customer_id(self.id)?,
            first_name: self.given_name,
            last_name: self.family_name,
            locale: self.locale,
            phone,
            status: UserStatus::parse(&self.status).map_err(|_| StoreError::corrupt("shop_customers.status"))?,
            email: self.email.as_deref().map(parse_email).transpose()?,
            has_password: self.has_password,
            generation: self.credential_generation,
            created_at: self.joined_at,
        })
    }

    /// The email login of the customer; `None` when it has none.
    pub(crate) fn into_credential(self) -> Result<Option<EmailCredential>, StoreError> {
        let (Some(email), Some(added)) = (self.email.as_deref(), self.email_added_at) else {
            return Ok(None);
        };
        let reset = match (self.reset_kind.as_deref(), self.reset_issued_at) {
            (Some(kind), Some(issued_at)) => Some(IssuedToken {
                kind: ResetTokenKind::parse(kind).ok_or(StoreError::corrupt("shop_customers.reset_kind"))?,
                issued_at,
                expires_at: self.reset_expires_at,
            }),
            _ => None,
        };
        Ok(Some(EmailCredential {
            user_id: customer_id(self.id)?,
            email: parse_email(email)?,
            created_at: added,
            logged_in_at: self.last_login_at,
            forced_reset: self.must_change_password,
            reset,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outage(e: sqlx::Error) -> bool {
        matches!(classify(e), StoreError::Unavailable(_))
    }

    #[test]
    fn outages_and_failures_are_told_apart() {
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let cases =
            [(sqlx::Error::PoolTimedOut, true), (sqlx::Error::Io(reset), true), (sqlx::Error::RowNotFound, false)];
        for (error, away) in cases {
            let shown = error.to_string();
            assert_eq!(outage(error), away, "{shown}");
        }
        let states =
            [("08006", true), ("53300", true), ("57P01", true), ("57014", true), ("23505", false), ("40001", false)];
        for (code, away) in states {
            assert_eq!(sqlstate_is_outage(code), away, "{code}");
        }
    }
}
