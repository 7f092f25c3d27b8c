//! `GET /users` costs the same SQL statements for a page of one user as for a page of 500:
//! counted at PostgreSQL itself (`log_statement = 'all'` on a throwaway server), so an N+1
//! read anywhere on the path shows up whatever layer it hides in.

use resetd_test_support::{shared_redis_url, Postgres};

use super::backends::{login, serve};

async fn exec(url: &str, sql: &str) {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
}

/// The statements PostgreSQL executed for `GET /users?limit=<limit>`, between two markers,
/// without the outbox worker's polls (they run on their own clock).
async fn statements(pg: &Postgres, base: &str, token: &str, limit: usize) -> Vec<String> {
    let tag = resetd_ports::testkit::unique("marker");
    exec(&pg.url(), &format!("SELECT '{tag}-start'")).await;
    let r = reqwest::Client::new().get(format!("{base}/api/4.0/users?limit={limit}")).bearer_auth(token).send().await;
    let users: Vec<serde_json::Value> = r.unwrap().json().await.unwrap();
    assert_eq!(users.len(), limit);
    assert!(users.iter().all(|u| u["email"].is_string()), "every user comes with its email credential");
    exec(&pg.url(), &format!("SELECT '{tag}-end'")).await;
    let log = pg.log();
    let from = log.find(&format!("{tag}-start")).unwrap();
    let to = log.find(&format!("{tag}-end")).unwrap();
    log[from..to]
        .lines()
        .skip(1)
        .filter(|l| l.contains("LOG:  execute") || l.contains("LOG:  statement:"))
        .filter(|l| !l.contains("outbox"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn listing_users_costs_the_same_statements_for_one_or_five_hundred() {
    let pg = Postgres::start();
    exec(&pg.url(), "ALTER SYSTEM SET log_statement = 'all'").await;
    exec(&pg.url(), "SELECT pg_reload_conf()").await;
    let (base, app) = serve(&pg.url(), &shared_redis_url(), |_| {}).await;
    let admin = app.bootstrap.create_api_credentials("stmt-admin@example.com", true).await.unwrap();
    for i in 0..500 {
        app.bootstrap.create_user(&format!("stmt{i}@example.com"), None, None, None).await.unwrap();
    }
    let token = login(&base, admin.client_id.as_str(), admin.client_secret.expose()).await;

    let one = statements(&pg, &base, &token, 1).await;
    let many = statements(&pg, &base, &token, 500).await;
    assert_eq!(one.len(), many.len(), "constant statements:\none: {one:#?}\nmany: {many:#?}");
    assert!(!many.is_empty() && many.len() <= 3, "{many:#?}");
    let credential_reads = many.iter().filter(|l| l.contains("FROM credentials_email")).count();
    assert_eq!(credential_reads, 1, "one read for the whole page: {many:#?}");
}
