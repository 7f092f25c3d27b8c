//! The port contract suite, and a concurrent mixed load, against a [`PgStore`] reached through a
//! throwaway PgBouncer in transaction mode with the statement cache off (`connect_with(..,
//! false)` and `with_statement_cache(false)`). Each test gets a fresh, migrated database from
//! `#[sqlx::test]` (migrated directly: migrations need a session) and its own PgBouncer.

use std::sync::Arc;
use std::time::Duration;

use resetd_adapters_postgres::{connect_with, migrate_at, PgStore};
use resetd_domain::user::{Email, UserId};
use resetd_ports::audit::{AuditEvent, AuditKind, AuditLog};
use resetd_ports::credentials::CredentialStore;
use resetd_ports::policy::PolicyStore;
use resetd_ports::testkit;
use resetd_ports::users::{NewUser, UserStore};
use resetd_test_support::pgbouncer::PgBouncer;
use sqlx::PgPool;

/// Client connections of the store's pool: four times PgBouncer's server connections.
const CLIENTS: u32 = 16;

/// PgBouncer in front of the server of `pool` (the test's database), and a store on that
/// database through it, its pool's statement cache off; `wrapped`: each call in a transaction
/// (`with_statement_cache(false)`, as it must be), or not. The store works while PgBouncer lives.
async fn through_pgbouncer(pool: &PgPool, wrapped: bool) -> (PgBouncer, Arc<PgStore>) {
    let options = pool.connect_options();
    let database = options.get_database().expect("#[sqlx::test] names the database").to_owned();
    let server = std::env::var("DATABASE_URL").expect("DATABASE_URL names the test server");
    let bouncer = PgBouncer::start(&server);
    let through = connect_with(&bouncer.url(&database), CLIENTS, false).await.unwrap();
    let store = PgStore::new(through).with_statement_timeout(Duration::from_secs(5));
    (bouncer, Arc::new(store.with_statement_cache(!wrapped)))
}

async fn store(pool: &PgPool) -> (PgBouncer, Arc<PgStore>) {
    through_pgbouncer(pool, true).await
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn users_follow_the_contract_through_pgbouncer(pool: PgPool) {
    let (_bouncer, s) = store(&pool).await;
    testkit::user_store(s.clone(), s).await;
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn credentials_follow_the_contract_through_pgbouncer(pool: PgPool) {
    let (_bouncer, s) = store(&pool).await;
    testkit::credential_store(s.clone(), s).await;
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn changes_write_their_audit_and_outbox_rows_through_pgbouncer(pool: PgPool) {
    let (_bouncer, s) = store(&pool).await;
    testkit::changes_write_their_records(s.clone(), s.clone(), s.clone(), s).await;
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn api_credentials_follow_the_contract_through_pgbouncer(pool: PgPool) {
    let (_bouncer, s) = store(&pool).await;
    testkit::api_credential_store(s.clone(), s).await;
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn clients_follow_the_contract_through_pgbouncer(pool: PgPool) {
    let (_bouncer, s) = store(&pool).await;
    testkit::client_registry(s).await;
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn key_usage_follows_the_contract_through_pgbouncer(pool: PgPool) {
    let (_bouncer, s) = store(&pool).await;
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
async fn the_default_policy_follows_the_contract_through_pgbouncer(pool: PgPool) {
    let (_bouncer, s) = store(&pool).await;
    testkit::policy_store(s).await;
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn the_audit_log_follows_the_contract_through_pgbouncer(pool: PgPool) {
    let (_bouncer, s) = store(&pool).await;
    testkit::audit_log(s.clone(), s).await;
}

/// The readiness ping works through PgBouncer, and the store's `statement_timeout` ends with
/// each transaction: no server connection PgBouncer hands to others keeps it.
#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn ping_answers_through_pgbouncer_and_no_setting_outlives_a_call(pool: PgPool) {
    let (_bouncer, s) = store(&pool).await;
    let users = seed(&pool, 8).await;
    assert!(mixed_load(s.clone(), users, 5).await.is_empty());
    for _ in 0..(2 * PgBouncer::POOL_SIZE) {
        s.ping().await.unwrap();
        // One simple-protocol message, so it needs no transaction of its own.
        let row = sqlx::raw_sql("SHOW statement_timeout").fetch_one(s.pool()).await.unwrap();
        let timeout: String = sqlx::Row::get(&row, 0);
        assert_eq!(timeout, "0", "a server connection kept the store's statement_timeout");
    }
}

/// The set-up resetd runs behind PgBouncer: migrations straight to PostgreSQL (they need a
/// session), the store through PgBouncer.
#[sqlx::test(migrations = false)]
async fn migrations_run_directly_and_the_store_through_pgbouncer(pool: PgPool) {
    let server = std::env::var("DATABASE_URL").expect("DATABASE_URL names the test server");
    let database = pool.connect_options().get_database().expect("#[sqlx::test] names the database").to_owned();
    let server = &server[..server.rfind('/').expect("a URL with a database")];
    migrate_at(&format!("{server}/{database}")).await.unwrap();
    let (_bouncer, s) = store(&pool).await;
    let user = UserStore::create(&*s, NewUser::default(), testkit::t0()).await.unwrap();
    assert_eq!(UserStore::find(&*s, user.id).await.unwrap().map(|u| u.id), Some(user.id));
}

/// `tasks` users with an email each, written directly (not through PgBouncer).
async fn seed(pool: &PgPool, tasks: usize) -> Vec<(UserId, Email)> {
    let direct = PgStore::new(pool.clone());
    let mut users = Vec::new();
    for i in 0..tasks {
        let email = Email::parse(&format!("load{i}@example.com")).unwrap();
        let new = NewUser { first_name: Some(format!("user{i}")), email: Some(email.clone()), ..NewUser::default() };
        users.push((UserStore::create(&direct, new, testkit::t0()).await.unwrap().id, email));
    }
    users
}

/// Each of `users` gets a task of `rounds` rounds of single-statement calls, reads and writes,
/// each checked against what that task's user must answer; what went wrong, as text.
async fn mixed_load(store: Arc<PgStore>, users: Vec<(UserId, Email)>, rounds: usize) -> Vec<String> {
    let tasks: Vec<_> = users
        .into_iter()
        .enumerate()
        .map(|(i, (id, email))| {
            let s = Arc::clone(&store);
            tokio::spawn(async move {
                let mut wrong = Vec::new();
                for round in 0..rounds {
                    if let Err(e) = one_round(&s, i, id, &email, round).await {
                        wrong.push(format!("task {i}, round {round}: {e}"));
                    }
                }
                wrong
            })
        })
        .collect();
    let mut wrong = Vec::new();
    for task in tasks {
        wrong.extend(task.await.unwrap());
    }
    wrong
}

/// One round of task `i`: a different statement per task and round, with a different number
/// and type of parameters, so a statement bound on another client's server shows.
async fn one_round(s: &PgStore, i: usize, id: UserId, email: &Email, round: usize) -> Result<(), String> {
    let e = |e: &dyn std::fmt::Debug| format!("{e:?}");
    let own = |user: Option<resetd_ports::users::User>| match user {
        Some(u) if u.id == id && u.email.as_ref() == Some(email) => Ok(()),
        other => Err(format!("user {id:?} read as {other:?}")),
    };
    match (i + round) % 6 {
        0 => own(UserStore::find(s, id).await.map_err(|x| e(&x))?),
        1 => own(s.find_by_email(email).await.map_err(|x| e(&x))?),
        2 => match CredentialStore::get(s, id).await.map_err(|x| e(&x))? {
            Some(c) if c.user_id == id && &c.email == email => Ok(()),
            other => Err(format!("credential of {id:?} read as {other:?}")),
        },
        3 => {
            let forced = round.is_multiple_of(2);
            let c = CredentialStore::update(s, id, None, Some(forced)).await.map_err(|x| e(&x))?;
            if c.user_id == id && c.forced_reset == forced {
                Ok(())
            } else {
                Err(format!("credential of {id:?} written as {c:?}"))
            }
        }
        4 => {
            let event = AuditEvent {
                at: testkit::t0(),
                kind: AuditKind::PasswordChanged,
                user_id: Some(id),
                actor: format!("task {i}"),
                detail: format!("round {round}"),
            };
            s.record(event).await.map_err(|x| e(&x))
        }
        _ => s.default_policy().await.map(|_| ()).map_err(|x| e(&x)),
    }
}

/// Fails with the statement cache off but the calls sent bare (the transaction wrapping
/// removed): Parse and Bind then reach different servers.
#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn concurrent_single_statements_through_pgbouncer_each_reach_their_own_server(pool: PgPool) {
    let users = seed(&pool, 32).await;
    let (bouncer, s) = store(&pool).await;
    let wrong = mixed_load(s, users.clone(), 40).await;
    assert!(wrong.is_empty(), "{} of 1280 calls went wrong, first: {:#?}", wrong.len(), &wrong[..wrong.len().min(5)]);
    for (id, _) in &users {
        let audited = PgStore::new(pool.clone()).for_user(*id, 100).await.unwrap();
        assert!(!audited.is_empty(), "{id:?}: the audit rows are committed");
    }
    assert!(!bouncer.log().contains("FATAL"), "{}", bouncer.log());
}

/// The load above through the same kind of PgBouncer and pool, on a store left with its default
/// `with_statement_cache(true)`: its statements go out named and outside transactions, and
/// clients' statements collide on the shared servers.
#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn a_store_left_with_its_statement_cache_on_goes_astray_through_pgbouncer(pool: PgPool) {
    let users = seed(&pool, 32).await;
    let (_bouncer, s) = through_pgbouncer(&pool, false).await;
    let wrong = mixed_load(s, users, 40).await;
    assert!(!wrong.is_empty(), "no call went wrong: the load does not reach the hazard");
}
