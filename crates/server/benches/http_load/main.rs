//! The HTTP load run of `make bench`: the release `resetd` binary in the production profile on
//! the local PostgreSQL and Redis, loaded over loopback, beside the floors it is compared to.
//!
//! 1. An empty axum handler (the HTTP floor) at the same concurrency.
//! 2. `POST …/credentials_email/password_reset` at 64 connections, and `pgbench` running the
//!    same SQL statements at the same concurrency.
//! 3. `POST /otp/send` (the SMS webhook into the bench's gateway) to known accounts and to unknown ones, beside `pgbench`
//!    running its user lookup: no handler that looks a user up can beat one `SELECT`.
//! 4. `POST /reset_user_password`, beside the argon2 bound `cores / ((history + 2) × one hash)`.
//! 5. `POST /oauth2/token`: the password grant beside one hash per login (`cores / one hash`),
//!    and the refresh grant beside the empty handler.
//!
//! Each load is bounded in time and count and targets 127.0.0.1 only. Results are printed as
//! one table; `docs/benchmarks.md` records them.

mod logins;
mod processes;
mod stats;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use processes::{admin, pgbench_password_reset, pgbench_user_lookup, psql, psql_value, serve};
use stats::load;

use serde_json::{json, Value};

const DB: &str = "resetd_bench";
const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const ADDR: &str = "127.0.0.1:18181";
const CONNECTIONS: usize = 64;
const SECONDS: u64 = 10;
/// Known accounts' phones are `+1` and this plus their id (ten digits).
const KNOWN_PHONES: i64 = 2_000_000_000;
/// Unknown destinations are `+44` and this plus a per-run offset and the call's number.
const UNKNOWN_PHONES: u64 = 7_000_000_000;

async fn wait_ready(http: &reqwest::Client) {
    for _ in 0..200 {
        if http.get(format!("http://{ADDR}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("resetd did not become ready");
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it,
    // and a load run has no place in the test suite.
    if !std::env::args().any(|a| a == "--bench") {
        println!("http_load: run with `make bench` (cargo bench -p resetd-server --bench http_load)");
        return;
    }
    let http = reqwest::Client::builder().pool_max_idle_per_host(CONNECTIONS).build().unwrap_or_default();
    let mut table = Vec::new();

    // 1. The HTTP floor: an empty axum handler in this process.
    let floor_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let floor_addr = floor_listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let floor = axum::Router::new().route("/empty", axum::routing::post(|| async { "" }));
    tokio::spawn(async move { axum::serve(floor_listener, floor).await });
    let c = http.clone();
    let stats = load("empty axum handler (floor)", CONNECTIONS, SECONDS, usize::MAX, move |_| {
        let c = c.clone();
        async move { c.post(format!("http://{floor_addr}/empty")).send().await.is_ok_and(|r| r.status().is_success()) }
    })
    .await;
    let floor_rps = stats.rps();
    table.push(stats.line());

    // The SMS gateway that collects codes for the reset load.
    let codes: Arc<Mutex<std::collections::HashMap<String, String>>> = Arc::default();
    let sink = codes.clone();
    let gateway = axum::Router::new().route(
        "/sms",
        axum::routing::post(move |axum::Json(b): axum::Json<Value>| {
            let sink = sink.clone();
            async move {
                let text = b["text"].as_str().unwrap_or_default();
                let code: String =
                    text.chars().skip_while(|c| !c.is_ascii_digit()).take_while(char::is_ascii_digit).collect();
                sink.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(b["to"].as_str().unwrap_or_default().to_owned(), code);
                "ok"
            }
        }),
    );
    let gw_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let sms = format!("http://{}/sms", gw_listener.local_addr().unwrap_or_else(|e| panic!("{e}")));
    tokio::spawn(async move { axum::serve(gw_listener, gateway).await });

    // A fresh database, the server, an admin.
    psql("postgres", &format!("drop database if exists {DB} with (force)"));
    psql("postgres", &format!("create database {DB}"));
    let _ = PG_ADMIN;
    admin(&["migrate"], &sms);
    let creds = admin(&["admin", "create-api-credentials", "--email", "bench-admin@example.com", "--admin"], &sms);
    let client = admin(&["admin", "create-client", "--type", "web", "--name", "bench"], &sms);
    let server = serve(&sms);
    wait_ready(&http).await;

    let login: Value = http
        .post(format!("http://{ADDR}/api/4.0/login"))
        .form(&[
            ("client_id", creds["client_id"].as_str().unwrap_or_default()),
            ("client_secret", creds["client_secret"].as_str().unwrap_or_default()),
        ])
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .unwrap_or_else(|e| panic!("login: {e}"))
        .json()
        .await
        .unwrap_or_default();
    let token = login["access_token"].as_str().unwrap_or_default().to_owned();
    // Users to reset, so that concurrent calls do not all queue on one row.
    let mut user_ids = Vec::new();
    for i in 0..256 {
        let user: Value = http
            .post(format!("http://{ADDR}/api/4.0/users"))
            .bearer_auth(&token)
            .json(
                &json!({"first_name": "Bench", "credentials_email": {"email": format!("bench-user-{i}@example.com")}}),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("create user: {e}"))
            .json()
            .await
            .unwrap_or_default();
        user_ids.push(user["id"].as_str().unwrap_or_default().parse::<i64>().unwrap_or_default());
    }
    let (first, last) = (user_ids[0], user_ids[user_ids.len() - 1]);
    assert_eq!(last - first + 1, 256, "the bench users have consecutive ids");

    // 2. password_reset vs pgbench.
    let (c, t) = (http.clone(), token.clone());
    let stats = load("POST …/password_reset", CONNECTIONS, SECONDS, usize::MAX, move |n| {
        let (c, t) = (c.clone(), t.clone());
        let u = first + (n as i64 % 256);
        async move {
            c.post(format!("http://{ADDR}/api/4.0/users/{u}/credentials_email/password_reset?expires=true"))
                .bearer_auth(&t)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        }
    })
    .await;
    let reset_rps = stats.rps();
    table.push(stats.line());
    // pgbench gets the database to itself: resetd's pool would hold 64 of its connections.
    drop(server);
    let pg = pgbench_password_reset("simple", CONNECTIONS, first, last);
    let pg_prepared = pgbench_password_reset("prepared", CONNECTIONS, first, last);

    // 3. otp/send. Known accounts: one per call, so that no destination limit applies.
    let known = 200_000i64;
    psql(DB, &format!(
        "with u as (insert into users (first_name, created_at) select 'Known', now() from generate_series(1, {known}) returning id) \
         insert into credentials_email (user_id, email, created_at) select id, 'known-' || id || '@example.com', now() from u"
    ));
    // Known accounts get phones: their codes go by the SMS webhook into the bench's gateway
    // (production has no log sender to stand in for a channel).
    psql(DB, &format!("update users set phone = '+1' || ({KNOWN_PHONES} + id)::text where first_name = 'Known'"));
    psql(DB, "analyze");
    let first_known: i64 = psql_value(DB, "select min(user_id) from credentials_email where email like 'known-%'")
        .parse()
        .unwrap_or_else(|e| panic!("first known user: {e}"));
    let lookup = pgbench_user_lookup(CONNECTIONS);
    let _server = serve(&sms);
    wait_ready(&http).await;
    let (id, secret) = (
        client["client_id"].as_str().unwrap_or_default().to_owned(),
        client["client_secret"].as_str().unwrap_or_default().to_owned(),
    );
    let send = move |c: reqwest::Client, body: Value| {
        let (id, secret) = (id.clone(), secret.clone());
        async move {
            c.post(format!("http://{ADDR}/otp/send"))
                .basic_auth(&id, Some(&secret))
                .json(&body)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        }
    };
    let (c, f) = (http.clone(), send.clone());
    let stats = load("POST /otp/send (known accounts)", CONNECTIONS, SECONDS, known as usize, move |n| {
        let phone = format!("+1{}", KNOWN_PHONES + first_known + n as i64);
        f(c.clone(), json!({"usage": "reset_password", "phone_number": phone}))
    })
    .await;
    let otp_known_rps = stats.rps();
    table.push(stats.line());
    let (c, f) = (http.clone(), send.clone());
    let run = std::process::id();
    let stats = load("POST /otp/send (unknown accounts)", CONNECTIONS, SECONDS, usize::MAX, move |n| {
        let phone = format!("+44{}", UNKNOWN_PHONES + u64::from(run % 1000) * 1_000_000 + n as u64);
        f(c.clone(), json!({"usage": "reset_password", "phone_number": phone}))
    })
    .await;
    let otp_rps = stats.rps();
    table.push(stats.line());

    // 4. reset_user_password: users with phones, one code each, collected by the gateway.
    let users = 200usize;
    let mut tokens = Vec::new();
    for i in 0..users {
        let phone = format!("+1555{:07}", 1_000_000 + i);
        admin(
            &[
                "admin",
                "create-user",
                "--email",
                &format!("r{i}@example.com"),
                "--phone",
                &phone,
                "--password",
                "Old-Zeppelin-42",
            ],
            &sms,
        );
        let sent: Value = http
            .post(format!("http://{ADDR}/otp/send"))
            .basic_auth(client["client_id"].as_str().unwrap_or_default(), client["client_secret"].as_str())
            .json(&json!({"usage": "reset_password", "phone_number": phone}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("otp send: {e}"))
            .json()
            .await
            .unwrap_or_default();
        tokens.push((phone, sent["otp_token"].as_str().unwrap_or_default().to_owned()));
    }
    // Give every user a full history: four older passwords besides the current one, so each
    // reset verifies five distinct hashes and computes one.
    let older: Vec<String> = (0..4)
        .map(|i| {
            let h = resetd_domain::password::Argon2Hasher::new(resetd_domain::password::Argon2Params::default())
                .unwrap_or_else(|e| panic!("{e}"));
            let p =
                resetd_domain::password::Password::new(format!("Older-Zeppelin-{i}")).unwrap_or_else(|e| panic!("{e}"));
            format!("('{}')", h.hash(&p, &mut rand::rngs::OsRng).unwrap_or_else(|e| panic!("{e}")).as_str())
        })
        .collect();
    psql(DB, &format!(
        "insert into password_history (user_id, hash, created_at) select u.id, h.hash, now() from users u cross join (values {}) h(hash) where u.phone is not null",
        older.join(",")
    ));
    let codes = codes.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    let jobs: Arc<Vec<(String, String, String)>> =
        Arc::new(tokens.into_iter().map(|(p, t)| (codes.get(&p).cloned().unwrap_or_default(), p, t)).collect());
    let (c, id, secret) = (
        http.clone(),
        client["client_id"].as_str().unwrap_or_default().to_owned(),
        client["client_secret"].as_str().unwrap_or_default().to_owned(),
    );
    let stats = load("POST /reset_user_password", CONNECTIONS, 30, users, move |n| {
        let (c, id, secret, jobs) = (c.clone(), id.clone(), secret.clone(), jobs.clone());
        async move {
            let (code, phone, token) = &jobs[n];
            c.post(format!("http://{ADDR}/reset_user_password"))
                .basic_auth(&id, Some(&secret))
                .json(&json!({"password": format!("New-Zeppelin-{n}-ok"), "phone_number": phone, "phone_number_otp_token": token, "phone_number_otp": code}))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        }
    })
    .await;
    let resets_rps = stats.rps();
    table.push(stats.line());

    // 5. The token endpoint, as the users just reset.
    let accounts = (0..users).map(|n| (format!("r{n}@example.com"), format!("New-Zeppelin-{n}-ok"))).collect();
    let id = client["client_id"].as_str().unwrap_or_default();
    let logins = logins::run(&http, id, client["client_secret"].as_str().unwrap_or_default(), accounts).await;
    table.extend(logins.lines.iter().cloned());

    // The argon2 bound, measured now.
    let hasher = resetd_domain::password::Argon2Hasher::new(resetd_domain::password::Argon2Params::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let pw = resetd_domain::password::Password::new("Tr4vel-by-Zeppelin".into()).unwrap_or_else(|e| panic!("{e}"));
    let t = Instant::now();
    for _ in 0..10 {
        let _ = hasher.hash(&pw, &mut rand::rngs::OsRng);
    }
    let one_hash = t.elapsed().as_secs_f64() / 10.0;
    let cores = std::thread::available_parallelism().map_or(2, usize::from) as f64;
    // The bound counts history + 2 hashes (history 5). resetd's current password is
    // the newest history entry, so a reset does history + 1: it can beat this bound.
    let bound = cores / (7.0 * one_hash);

    println!("\nresetd HTTP load run ({CONNECTIONS} connections, {SECONDS} s each, loopback, production profile)\n");
    for line in &table {
        println!("  {line}");
    }
    match (pg, pg_prepared) {
        (Some(simple), Some(prepared)) => {
            println!("  pgbench, simple protocol           {simple:>10.0} tx/s   (same statements and users, {CONNECTIONS} clients)");
            println!("  pgbench, prepared statements       {prepared:>10.0} tx/s   (as sqlx sends them)");
            println!("  password_reset / pgbench simple    {:>10.0} %", 100.0 * reset_rps / simple);
            println!("  password_reset / pgbench prepared  {:>10.0} %", 100.0 * reset_rps / prepared);
        }
        _ => println!("  pgbench                            not run (is pgbench installed?)"),
    }
    println!("  otp/send known / floor             {:>10.0} %", 100.0 * otp_known_rps / floor_rps);
    println!("  otp/send unknown / floor           {:>10.0} %", 100.0 * otp_rps / floor_rps);
    if let Some(tps) = lookup {
        // A handler that did nothing but the floor's HTTP work and this one SELECT, on the
        // same two cores: the two costs add up.
        let ceiling = 1.0 / (1.0 / floor_rps + 1.0 / tps);
        println!("  pgbench, the user lookup alone     {:>10.0} tx/s   ({CONNECTIONS} clients, prepared)", tps);
        println!(
            "  floor + one lookup (ceiling)       {:>10.0} req/s  = {:.0} % of the floor",
            ceiling,
            100.0 * ceiling / floor_rps
        );
        println!("  otp/send unknown / ceiling         {:>10.0} %", 100.0 * otp_rps / ceiling);
    }
    println!("  one argon2id hash (m=19456,t=2)    {:>10.1} ms", one_hash * 1e3);
    println!("  argon2 bound cores/((5+2)·hash)    {:>10.1} resets/s", bound);
    println!("  resets / argon2 bound              {:>10.0} %", 100.0 * resets_rps / bound);
    let login_bound = cores / one_hash;
    println!("  argon2 bound cores/hash (logins)   {:>10.1} logins/s", login_bound);
    println!("  password grant / argon2 bound      {:>10.0} %", 100.0 * logins.password_rps / login_bound);
    println!("  refresh grant / floor              {:>10.0} %", 100.0 * logins.refresh_rps / floor_rps);
}
