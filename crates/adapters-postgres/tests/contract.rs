//! The port contract suite against PostgreSQL: each test gets a fresh, migrated database from
//! `#[sqlx::test]` (which needs `DATABASE_URL`), plus checks of `connect` and `ping`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use resetd_adapters_postgres::{connect, migrate, PgStore, StoreError};
use resetd_ports::testkit;
use sqlx::PgPool;

fn store(pool: PgPool) -> Arc<PgStore> {
    Arc::new(PgStore::new(pool))
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn users_follow_the_contract(pool: PgPool) {
    let s = store(pool);
    testkit::user_store(s.clone(), s).await;
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn credentials_follow_the_contract(pool: PgPool) {
    let s = store(pool);
    testkit::credential_store(s.clone(), s).await;
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn changes_write_their_audit_and_outbox_rows(pool: PgPool) {
    let s = store(pool);
    testkit::changes_write_their_records(s.clone(), s.clone(), s.clone(), s).await;
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn api_credentials_follow_the_contract(pool: PgPool) {
    let s = store(pool);
    testkit::api_credential_store(s.clone(), s).await;
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn clients_follow_the_contract(pool: PgPool) {
    testkit::client_registry(store(pool)).await;
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn key_usage_follows_the_contract(pool: PgPool) {
    let s = store(pool);
    let stores = testkit::KeyedStores {
        usage: s.clone(),
        users: s.clone(),
        credentials: s.clone(),
        api_credentials: s.clone(),
        clients: s,
    };
    testkit::key_usage(stores).await;
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn the_default_policy_follows_the_contract(pool: PgPool) {
    testkit::policy_store(store(pool)).await;
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn the_audit_log_follows_the_contract(pool: PgPool) {
    let s = store(pool);
    testkit::audit_log(s.clone(), s).await;
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn ping_answers_while_the_pool_is_open_and_fails_once_closed(pool: PgPool) {
    let s = PgStore::new(pool.clone());
    s.ping().await.unwrap();
    pool.close().await;
    assert!(matches!(s.ping().await, Err(StoreError::Unavailable(_))));
}

#[sqlx::test(migrations = false)]
async fn migrating_twice_is_harmless(pool: PgPool) {
    migrate(&pool).await.unwrap();
    migrate(&pool).await.unwrap();
    PgStore::new(pool).ping().await.unwrap();
}

#[tokio::test]
async fn an_unreachable_database_is_unavailable_within_seconds() {
    let started = Instant::now();
    let got = connect("postgres://postgres@127.0.0.1:1/postgres", 2).await;
    assert!(matches!(got, Err(StoreError::Unavailable(_))), "{got:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn a_malformed_url_is_refused() {
    assert!(matches!(connect("not a url", 2).await, Err(StoreError::Unexpected(_))));
}

#[tokio::test]
async fn connect_opens_a_pool_to_the_test_server() {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL names the test server");
    let pool = connect(&url, 2).await.unwrap();
    PgStore::new(pool).ping().await.unwrap();
}

/// The pool pings a connection only after it sat idle: one whose server went away in the
/// meantime is replaced before the query, not handed out broken.
#[tokio::test]
async fn a_connection_that_died_while_idle_is_replaced_before_use() {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL names the test server");
    let pool = connect(&url, 1).await.unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&pool).await.unwrap();
    let admin = connect(&url, 1).await.unwrap();
    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)").bind(pid).fetch_one(&admin).await.unwrap();
    assert!(killed);
    tokio::time::sleep(resetd_adapters_postgres::PING_IF_IDLE_FOR + Duration::from_millis(200)).await;
    let again: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&pool).await.unwrap();
    assert_ne!(again, pid, "a new connection serves the query");
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn a_corrupt_row_is_an_error_not_a_value(pool: PgPool) {
    use resetd_domain::user::UserId;
    use resetd_ports::users::UserStore;
    let id: i64 =
        sqlx::query_scalar("INSERT INTO users (phone, created_at) VALUES ('not a phone', now()) RETURNING id")
            .fetch_one(&pool)
            .await
            .unwrap();
    let got = PgStore::new(pool).find(UserId::from_i64(id).unwrap()).await;
    assert!(matches!(got, Err(StoreError::Unexpected(_))), "{got:?}");
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn password_changes_racing_a_user_deletion_neither_deadlock_nor_fail(pool: PgPool) {
    use resetd_domain::keyed::Digest;
    use resetd_domain::password::PasswordHash;
    use resetd_domain::reset_token::ResetTokenKind;
    use resetd_domain::user::Email;
    use resetd_ports::credentials::{ChangePassword, ChangePasswordError, CredentialStore};
    use resetd_ports::users::{NewUser, UserStore};

    let s = store(pool);
    let now = testkit::t0();
    let hash = PasswordHash::parse("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA").unwrap();
    for round in 0..5 {
        let user = UserStore::create(&*s, NewUser::default(), now).await.unwrap();
        let email = Email::parse(&format!("race{round}@example.com")).unwrap();
        CredentialStore::create(&*s, user.id, &email, now).await.unwrap();
        let token = Digest::from_bytes([round; 32]);
        assert!(s
            .issue_reset_token(
                user.id,
                &resetd_domain::keyring::Sealed { digest: token, key: None },
                ResetTokenKind::PasswordReset,
                None,
                now,
                &resetd_ports::audit::AuditEvent {
                    at: now,
                    kind: resetd_ports::audit::AuditKind::ResetTokenIssued,
                    user_id: Some(user.id),
                    actor: "test".into(),
                    detail: String::new(),
                },
            )
            .await
            .unwrap()
            .is_some());
        let changes: Vec<_> = (0..10)
            .map(|_| {
                let (s, hash) = (Arc::clone(&s), hash.clone());
                let change = ChangePassword {
                    user_id: user.id,
                    new_hash: hash,
                    expected_version: 0,
                    expected_generation: user.generation,
                    history_limit: 3,
                    consume: Some(token),
                    now,
                    audit: resetd_ports::audit::AuditEvent {
                        at: now,
                        kind: resetd_ports::audit::AuditKind::PasswordChanged,
                        user_id: Some(user.id),
                        actor: "test".into(),
                        detail: String::new(),
                    },
                    notice: None,
                };
                tokio::spawn(async move { s.change_password(change).await })
            })
            .collect();
        let event = resetd_ports::audit::AuditEvent {
            at: now,
            kind: resetd_ports::audit::AuditKind::UserDeleted,
            user_id: Some(user.id),
            actor: "test".into(),
            detail: String::new(),
        };
        let deleted = UserStore::delete(&*s, user.id, &event).await;
        assert!(matches!(deleted, Ok(true)), "{deleted:?}");
        for t in changes {
            match t.await.unwrap() {
                Ok(_)
                | Err(
                    ChangePasswordError::TokenGone
                    | ChangePasswordError::VersionMoved
                    | ChangePasswordError::UserNotFound,
                ) => {}
                Err(other) => panic!("unexpected error: {other:?}"),
            }
        }
    }
}
