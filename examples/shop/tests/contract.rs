//! resetd's port contract suite against the shop's store, on real PostgreSQL: every test gets
//! a fresh database with the shop's migrations (`#[sqlx::test]`, from `DATABASE_URL`; run
//! through `target/debug/with-test-servers`, which points it at a server that answers).

use std::sync::Arc;

use resetd_example_shop::ShopStore;
use resetd_ports::audit::AuditLog;
use resetd_ports::credentials::CredentialStore;
use resetd_ports::outbox::Outbox;
use resetd_ports::testkit;
use resetd_ports::users::UserStore;
use resetd_ports::StoreError;
use sqlx::PgPool;

/// The four ports one [`ShopStore`] fills, as resetd's use cases hold them.
struct Filled {
    users: Arc<dyn UserStore>,
    credentials: Arc<dyn CredentialStore>,
    audit: Arc<dyn AuditLog>,
    outbox: Arc<dyn Outbox>,
}

fn filled(pool: PgPool) -> Filled {
    let store = Arc::new(ShopStore::new(pool));
    Filled { users: store.clone(), credentials: store.clone(), audit: store.clone(), outbox: store }
}

#[sqlx::test(migrator = "resetd_example_shop::MIGRATOR")]
async fn customers_follow_the_user_store_contract(pool: PgPool) {
    let p = filled(pool);
    testkit::user_store(p.users, p.credentials).await;
}

/// Single use under concurrency, expiry, the version and generation guards, history trim,
/// and (through `outstanding_links_die`) every change that ends a link.
#[sqlx::test(migrator = "resetd_example_shop::MIGRATOR")]
async fn logins_follow_the_credential_store_contract(pool: PgPool) {
    let p = filled(pool);
    testkit::credential_store(p.users, p.credentials).await;
}

/// The password change writes its audit event and outbox row with itself; the outbox leases,
/// retries and clears rows; status changes and deletions owe their generations.
#[sqlx::test(migrator = "resetd_example_shop::MIGRATOR")]
async fn changes_write_their_audit_event_and_outbox_row(pool: PgPool) {
    let Filled { users, credentials, audit, outbox } = filled(pool);
    testkit::changes_write_their_records(users, credentials, audit, outbox).await;
}

#[sqlx::test(migrator = "resetd_example_shop::MIGRATOR")]
async fn the_audit_trail_follows_the_contract(pool: PgPool) {
    let p = filled(pool);
    testkit::audit_log(p.audit, p.users).await;
}

#[sqlx::test(migrator = "resetd_example_shop::MIGRATOR")]
async fn the_tables_are_the_shops_own(pool: PgPool) {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_name NOT LIKE '\\_sqlx%' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(tables, ["shop_audit", "shop_customers", "shop_outbox", "shop_password_history"]);
}

#[sqlx::test(migrator = "resetd_example_shop::MIGRATOR")]
async fn a_closed_pool_is_an_outage_not_a_failure(pool: PgPool) {
    let s = ShopStore::new(pool.clone());
    pool.close().await;
    let id = resetd_domain::user::UserId::from_i64(1).unwrap();
    assert!(matches!(s.find(id).await, Err(StoreError::Unavailable(_))));
}

#[tokio::test]
async fn an_unreachable_database_is_an_outage() {
    let port = resetd_test_support::free_port();
    let refused = ShopStore::connect(&format!("postgres://shop@127.0.0.1:{port}/shop"), 2).await;
    assert!(matches!(refused, Err(StoreError::Unavailable(_))), "{refused:?}");
}

/// Inside a request's budget, a call that would outlast it fails at once as an outage.
#[sqlx::test(migrator = "resetd_example_shop::MIGRATOR")]
async fn a_spent_budget_is_an_outage(pool: PgPool) {
    let s = ShopStore::new(pool);
    let id = resetd_domain::user::UserId::from_i64(1).unwrap();
    let within = resetd_ports::budget::scope(std::time::Duration::ZERO, s.find(id)).await;
    assert!(matches!(within, Err(StoreError::Unavailable(_))), "{within:?}");
    assert!(matches!(s.find(id).await, Ok(None)), "outside a scope only the store's own limit applies");
}
