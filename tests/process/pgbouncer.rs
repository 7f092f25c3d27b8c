//! resetd behind a real PgBouncer in transaction mode: `resetd serve` with its database URL
//! through a throwaway PgBouncer (four server connections for sixteen client ones), the
//! statement cache off and the migrations on a direct URL; Looker and CIAM flows under
//! concurrent load answer without a 5xx. Without a direct URL for the migrations, such a
//! resetd refuses to start.

use std::time::Duration;

use futures::future::join_all;
use reqwest::StatusCode;
use resetd_app::bootstrap::ClientPolicy;
use resetd_test_support::pgbouncer::PgBouncer;
use resetd_test_support::{shared_postgres_url, shared_redis_url, ResetdProcess, SmtpSink};
use serde_json::{json, Value};

use super::backends::{as_refs, env, fresh_database, login, operator, TOKEN_KEY};
use super::leaks::{digits, mail_to};

/// Parallel requests per wave.
const WAVE: usize = 40;

fn email(i: usize) -> String {
    format!("bouncer-{i:02}@example.com")
}

/// Sends every request of a wave at once; the statuses and bodies, none of them a 5xx.
async fn wave(what: &str, requests: Vec<reqwest::RequestBuilder>) -> Vec<(StatusCode, Value)> {
    let answers = join_all(requests.into_iter().map(|r| async move {
        let r = r.send().await.unwrap();
        let status = r.status();
        (status, r.json::<Value>().await.unwrap_or(Value::Null))
    }))
    .await;
    let failed: Vec<_> = answers.iter().filter(|(s, _)| s.is_server_error()).collect();
    assert!(failed.is_empty(), "{what}: {} of {} answered 5xx: {failed:?}", failed.len(), answers.len());
    answers
}

#[tokio::test(flavor = "multi_thread")]
async fn looker_and_ciam_flows_work_under_load_through_pgbouncer_in_transaction_mode() {
    let server = shared_postgres_url();
    let direct = fresh_database(&server).await;
    let name = direct.rsplit('/').next().unwrap().to_owned();
    let bouncer = PgBouncer::start(&server);
    let (redis, prefix, sink) =
        (shared_redis_url(), resetd_ports::testkit::unique("bouncer:") + ":", SmtpSink::start());
    let mut envs = env(&bouncer.url(&name), &redis, &prefix);
    let smtp_port = sink.port().to_string();
    for (k, v) in [
        ("RESETD__DATABASE__STATEMENT_CACHE", "false"),
        ("RESETD__DATABASE__MIGRATE_URL", direct.as_str()),
        ("RESETD__DATABASE__MAX_CONNECTIONS", "16"),
        ("RESETD__MAIL__SMTP_HOST", "127.0.0.1"),
        ("RESETD__MAIL__SMTP_PORT", smtp_port.as_str()),
        ("RESETD__SMS__ENABLED", "false"),
    ] {
        envs.push((k.to_owned(), v.to_owned()));
    }
    // On a fresh database: it migrates through the direct URL before serving.
    let resetd = ResetdProcess::start(&as_refs(&envs));
    let base = resetd.base_url();
    let ops = operator(&direct, &redis, &prefix).await;
    let admin = ops.bootstrap.create_api_credentials("bouncer-admin@example.com", true).await.unwrap();
    let web = ops.bootstrap.create_client("web", "bouncer", ClientPolicy::Default).await.unwrap();
    let web_secret = web.client_secret.as_ref().unwrap().expose().to_owned();
    let session = login(&base, admin.client_id.as_str(), admin.client_secret.expose()).await;
    let http = reqwest::Client::new();
    let looker =
        |method: reqwest::Method, path: &str| http.request(method, format!("{base}{path}")).bearer_auth(&session);
    let ciam = |path: &str, body: Value| {
        http.post(format!("{base}{path}")).basic_auth(web.client_id.as_str(), Some(&web_secret)).json(&body)
    };

    // Looker: users created, then read, listed, renamed and sent reset links, all at once.
    let created = wave(
        "creating users",
        (0..WAVE)
            .map(|i| {
                let user = json!({"first_name": format!("User {i}"), "credentials_email": {"email": email(i)}});
                looker(reqwest::Method::POST, "/api/4.0/users").json(&user)
            })
            .collect(),
    )
    .await;
    let ids: Vec<String> = created
        .iter()
        .map(|(status, user)| {
            assert_eq!(*status, StatusCode::OK, "{user}");
            user["id"].as_str().unwrap().to_owned()
        })
        .collect();
    let mixed = (0..WAVE).map(|i| {
        let id = &ids[i];
        match i % 4 {
            0 => looker(reqwest::Method::GET, &format!("/api/4.0/users/{id}")),
            1 => looker(reqwest::Method::GET, "/api/4.0/users?limit=10"),
            2 => looker(reqwest::Method::PATCH, &format!("/api/4.0/users/{id}")).json(&json!({"last_name": "Load"})),
            _ => looker(reqwest::Method::POST, &format!("/api/4.0/users/{id}/credentials_email/password_reset")),
        }
    });
    let answers = wave("reading and writing users", mixed.collect()).await;
    for (i, (status, body)) in answers.iter().enumerate() {
        assert_eq!(*status, StatusCode::OK, "request {i}: {body}");
    }
    let links: Vec<String> = answers
        .iter()
        .filter_map(|(_, body)| body["password_reset_url"].as_str())
        .map(|url| url.rsplit('/').next().unwrap().to_owned())
        .collect();
    assert_eq!(links.len(), WAVE / 4);

    // CIAM: a code to every user at once, then half of them reset with theirs, while the
    // other links are redeemed.
    let sends = (0..WAVE).map(|i| ciam("/otp/send", json!({"usage": "reset_password", "email": email(i)})));
    let sent = wave("sending codes", sends.collect()).await;
    let mut resets = Vec::new();
    for (i, (status, body)) in sent.iter().enumerate() {
        assert_eq!(*status, StatusCode::OK, "code {i}: {body}");
        if i % 2 == 0 {
            let code = digits(mail_to(&sink, &email(i)).await.split("code is").nth(1).unwrap());
            let token = body["otp_token"].as_str().unwrap();
            let reset =
                json!({"password": "New-Zeppelin-77", "email": email(i), "email_otp_token": token, "email_otp": code});
            resets.push(ciam("/reset_user_password", reset));
        }
    }
    for token in &links {
        resets.push(
            http.post(format!("{base}/password/reset"))
                .json(&json!({"token": token, "password": "Tr4vel-by-Zeppelin"})),
        );
    }
    for (i, (status, body)) in wave("resetting passwords", resets).await.iter().enumerate() {
        assert_eq!(*status, StatusCode::OK, "reset {i}: {body}");
    }

    let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK, "{}", ready.text().await.unwrap());
    let log = resetd.log();
    assert!(!log.contains("prepared statement"), "{log}");
    let through = bouncer.log();
    assert!(through.contains(&format!("login attempt: db={name}")), "resetd went through PgBouncer: {through}");
    assert!(!through.contains("unsupported startup parameter"), "{through}");
}

#[test]
fn with_the_statement_cache_off_resetd_needs_a_direct_url_for_its_migrations() {
    let envs = [
        ("RESETD__DATABASE__URL", "postgres://postgres@127.0.0.1:1/none"),
        ("RESETD__DATABASE__STATEMENT_CACHE", "false"),
        ("RESETD__REDIS__URL", "redis://127.0.0.1:1"),
        ("RESETD__SECURITY__TOKEN_KEY", TOKEN_KEY.as_str()),
        ("RESETD__MAIL__ENABLED", "false"),
        ("RESETD__SMS__ENABLED", "false"),
    ];
    let (status, output) = ResetdProcess::run_to_exit(&envs, Duration::from_secs(20));
    assert!(!status.success(), "it must not start: {output}");
    let lines: Vec<_> = output.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line: {output}");
    assert!(lines[0].contains("RESETD__DATABASE__MIGRATE_URL"), "{output}");

    let (status, _, err) = ResetdProcess::run(&["migrate"], &envs);
    assert!(!status.success() && err.contains("RESETD__DATABASE__MIGRATE_URL"), "resetd migrate too: {err}");
}
