//! Where `sqlx::Error` stops: mapping driver errors to [`StoreError`] and telling constraint
//! violations apart by the constraint names the migrations give.

use resetd_ports::StoreError;

/// Constraint names from `migrations/`, matched against violations.
pub(crate) mod constraint {
    pub const USERS_PHONE: &str = "users_phone_key";
    pub const CREDENTIALS_EMAIL_PKEY: &str = "credentials_email_pkey";
    pub const CREDENTIALS_EMAIL_USER: &str = "credentials_email_user_id_fkey";
    pub const CREDENTIALS_EMAIL_EMAIL: &str = "credentials_email_email_key";
    pub const API_CREDENTIALS_PKEY: &str = "api_credentials_pkey";
    pub const API_CREDENTIALS_USER: &str = "api_credentials_user_id_fkey";
    pub const CLIENTS_PKEY: &str = "clients_pkey";
}

/// The name of the constraint a statement violated, if that is what failed.
pub(crate) fn violated(e: &sqlx::Error) -> Option<&str> {
    match e {
        sqlx::Error::Database(db) => db.constraint(),
        _ => None,
    }
}

/// Any other driver error: the backend is out of reach, or it failed.
pub(crate) fn store(e: sqlx::Error) -> StoreError {
    if is_unavailable(&e) {
        StoreError::unavailable(e)
    } else {
        StoreError::unexpected(e)
    }
}

fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => true,
        // SQLSTATE classes 08 (connection exception) and 53 (insufficient resources, e.g. too
        // many connections), 57014 (cancelled at `statement_timeout`: it hung past its budget)
        // and 57P01-57P03 (the server is shutting down or starting up).
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || code.starts_with("53") || matches!(&*code, "57014" | "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_timeouts_and_io_errors_are_unavailable() {
        assert!(matches!(store(sqlx::Error::PoolTimedOut), StoreError::Unavailable(_)));
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(matches!(store(sqlx::Error::Io(io)), StoreError::Unavailable(_)));
    }

    /// A statement the server cancels at `statement_timeout` (57014) hung past its budget: an
    /// outage, answered 503, like the client-side deadline that usually fires first.
    #[sqlx::test(migrations = false)]
    async fn a_statement_cancelled_by_its_timeout_is_unavailable(pool: sqlx::PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        sqlx::query("SET statement_timeout = '20ms'").execute(&mut *conn).await.unwrap();
        let e = sqlx::query("SELECT pg_sleep(1)").execute(&mut *conn).await.unwrap_err();
        assert!(matches!(store(e), StoreError::Unavailable(_)));
    }

    #[test]
    fn other_errors_are_unexpected() {
        assert!(matches!(store(sqlx::Error::RowNotFound), StoreError::Unexpected(_)));
        assert_eq!(violated(&sqlx::Error::RowNotFound), None);
    }
}
