//! Starting resetd on a fresh database as `resetd serve` does, and reading what it sent.

use std::path::{Path, PathBuf};
use std::time::Duration;

use resetd_server::{Profile, Settings};
use serde_json::{json, Value};
use sqlx::PgPool;

/// A resetd serving on a free port, its base URL, a client, and its use cases.
pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub app: resetd_app::App,
}

impl std::fmt::Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApp").field("base", &self.base).finish_non_exhaustive()
    }
}

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// The SMTP sink of this test process: `scripts/smtp_sink.py` on a free port, writing to its
/// own folder, started once and gone with the process.
struct Sink {
    port: u16,
    dir: PathBuf,
    /// Never waited on: the sink exits by itself when this process ends (`--exit-with-parent`).
    _process: std::sync::Mutex<std::process::Child>,
}

static SINK: std::sync::OnceLock<Sink> = std::sync::OnceLock::new();

fn sink() -> &'static Sink {
    SINK.get_or_init(|| {
        use std::io::BufRead as _;
        let dir = std::env::temp_dir().join(resetd_ports::testkit::unique("resetd-mail-"));
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/smtp_sink.py");
        let mut child = std::process::Command::new(resetd_test_support::python())
            .args([script, "--host", "127.0.0.1", "--port", "0", "--exit-with-parent", "--dir"])
            .arg(&dir)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("the test virtualenv's python runs");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped");
        std::io::BufReader::new(stdout).read_line(&mut line).expect("the sink prints its address");
        let port = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("127.0.0.1:").and_then(|p| p.trim_end_matches(',').parse().ok()))
            .unwrap_or_else(|| panic!("the SMTP sink did not start (the test virtualenv lacks aiosmtpd?): {line:?}"));
        Sink { port, dir, _process: std::sync::Mutex::new(child) }
    })
}

pub fn mail_dir() -> PathBuf {
    sink().dir.clone()
}

/// `DATABASE_URL` as given (host, port, user, password, parameters), naming the database of
/// `pool` (the fresh one `#[sqlx::test]` made for this test).
fn database_url(pool: &PgPool) -> String {
    let mut url = url::Url::parse(&env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")).unwrap();
    url.set_path(pool.connect_options().get_database().unwrap());
    url.to_string()
}

/// With `TEST_LOG` set, the server's log goes to the test's captured output, which the test
/// runner shows for a failing test (`TEST_LOG=1 cargo test …`); its value is the filter
/// (`1` or `true` mean `debug`).
fn init_test_log() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let Ok(filter) = std::env::var("TEST_LOG") else { return };
        let filter = if matches!(filter.as_str(), "1" | "true" | "") { "debug".to_owned() } else { filter };
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    });
}

impl TestApp {
    /// Boots the service on 127.0.0.1:0 over the database of `pool`, a fresh Redis prefix and
    /// the SMTP sink.
    pub async fn spawn(pool: &PgPool) -> Self {
        Self::spawn_with(pool, |_| {}).await
    }

    /// Like [`Self::spawn`], with settings adjusted by `tweak` before the build.
    pub async fn spawn_with(pool: &PgPool, tweak: impl FnOnce(&mut Settings)) -> Self {
        Self::spawn_full(pool, tweak, std::sync::Arc::new(resetd_ports::clock::SystemClock)).await
    }

    /// Like [`Self::spawn_with`], on an injected clock. The server is built by
    /// [`resetd_server::Application`], the boot path of `resetd serve`.
    pub async fn spawn_full(
        pool: &PgPool,
        tweak: impl FnOnce(&mut Settings),
        clock: std::sync::Arc<dyn resetd_ports::clock::Clock>,
    ) -> Self {
        init_test_log();
        let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
        let mut s = Settings::load(&config, Profile::Dev).unwrap();
        s.database.url = database_url(pool).into();
        s.redis.url = resetd_test_support::shared_redis_url().into();
        s.redis.key_prefix = resetd_ports::testkit::unique("test:") + ":";
        // One generated key per test process: apps that share a database share their key.
        static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        s.security.token_key = KEY.get_or_init(resetd_test_support::token_key).clone().into();
        // And one signing key: apps that share a database accept each other's tokens.
        s.oidc.signing_key = resetd_test_support::signing_key_pem().to_owned().into();
        s.mail.smtp_host = "127.0.0.1".into();
        s.mail.smtp_port = sink().port;
        s.mail.tls = "none".into();
        s.argon2.memory_kib = 19_456;
        s.server.bind = "127.0.0.1:0".into();
        s.server.public_base_url = String::new();
        // A dev-profile app on in-memory stores writes its bootstrap secrets here, never into
        // the source tree (the default is relative to the working directory).
        let bootstrap =
            resetd_test_support::target_dir().join("dev-bootstrap").join(resetd_ports::testkit::unique("app"));
        s.dev.bootstrap_file = bootstrap.join("bootstrap.json").to_string_lossy().into_owned();
        tweak(&mut s);
        let notifier = resetd_server::notifier(&s).unwrap();
        let server = resetd_server::Application::build_with(s, clock, notifier).await.unwrap();
        let (base, app) = (server.base_url().to_owned(), server.app().clone());
        tokio::spawn(server.run_until_stopped());
        Self { base, http: reqwest::Client::new(), app }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Logs in as a new admin over HTTP; returns the access token.
    pub async fn admin_token(&self, admin: bool) -> String {
        let email = format!("{}@example.com", resetd_ports::testkit::unique("admin"));
        let c = self.app.bootstrap.create_api_credentials(&email, admin).await.unwrap();
        let r = self
            .http
            .post(self.url("/api/4.0/login"))
            .form(&[("client_id", c.client_id.as_str()), ("client_secret", c.client_secret.expose())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3600);
        body["access_token"].as_str().unwrap().to_owned()
    }
}

/// `POST /users` with an email credential, as `token`; the new id.
pub async fn create_user(app: &TestApp, token: &str, email: &str) -> String {
    let r = app
        .http
        .post(app.url("/api/4.0/users"))
        .bearer_auth(token)
        .json(&json!({"first_name": "Ada", "credentials_email": {"email": email}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    let user: Value = r.json().await.unwrap();
    assert!(user["id"].is_string(), "ids are strings: {user}");
    user["id"].as_str().unwrap().to_owned()
}

/// A new user with `email` (and `locale`) on the resetd at `base`, and a fresh expiring reset
/// link for it, minted as the admin `token` over the Looker API: the link's URL.
pub async fn user_with_link(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    email: &str,
    locale: Option<&str>,
) -> String {
    let mut user = json!({"credentials_email": {"email": email}});
    if let Some(locale) = locale {
        user["locale"] = locale.into();
    }
    let created = http.post(format!("{base}/api/4.0/users")).bearer_auth(token).json(&user).send().await.unwrap();
    assert_eq!(created.status(), reqwest::StatusCode::OK);
    let created: Value = created.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    let url = format!("{base}/api/4.0/users/{id}/credentials_email/password_reset?expires=true");
    let minted = http.post(url).bearer_auth(token).send().await.unwrap();
    assert_eq!(minted.status(), reqwest::StatusCode::OK);
    let minted: Value = minted.json().await.unwrap();
    minted["password_reset_url"].as_str().unwrap().to_owned()
}

/// A new reset link for `id` (`query` is e.g. `?expires=true`); the credential JSON.
pub async fn reset_url(app: &TestApp, token: &str, id: &str, query: &str) -> Value {
    let r = app
        .http
        .post(app.url(&format!("/api/4.0/users/{id}/credentials_email/password_reset{query}")))
        .header("authorization", format!("token {token}"))
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    r.json().await.unwrap()
}

/// Redeems `url` (its token) with `password` through the JSON endpoint.
pub async fn redeem(app: &TestApp, url: &str, password: &str) -> reqwest::Response {
    let token = url.rsplit('/').next().unwrap();
    app.http.post(app.url("/password/reset")).json(&json!({"token": token, "password": password})).send().await.unwrap()
}

/// `GET path` as `token`, as JSON.
pub async fn get_json(app: &TestApp, path: &str, token: &str) -> Value {
    app.http.get(app.url(path)).bearer_auth(token).send().await.unwrap().json().await.unwrap()
}

/// A CIAM application's credentials (public clients have no secret).
#[derive(Debug)]
pub struct Creds {
    pub id: String,
    pub secret: Option<String>,
}

/// Registers an application of `kind` (web, spa, mobile, m2m) with the default policy.
pub async fn client(app: &TestApp, kind: &str) -> Creds {
    let c = app.app.bootstrap.create_client(kind, kind, resetd_app::bootstrap::ClientPolicy::Default).await.unwrap();
    Creds { id: c.client_id.as_str().to_owned(), secret: c.client_secret.map(|s| s.expose().to_owned()) }
}

/// A CIAM call with HTTP Basic; the status and the JSON body (`null` when empty).
pub async fn ciam_post(app: &TestApp, path: &str, c: &Creds, body: Value) -> (reqwest::StatusCode, Value) {
    let r = app.http.post(app.url(path)).basic_auth(&c.id, c.secret.as_deref()).json(&body).send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
}

/// The newest message to `to` in the sink, waiting up to 5 s; its raw text with
/// quoted-printable soft breaks removed.
pub async fn mail_to(to: &str) -> String {
    mail_to_with(to, "").await
}

/// The newest message to `to` that contains `needle`, waiting up to 5 s for one (notices go
/// out through the outbox, so they may land after a later code).
pub async fn mail_to_with(to: &str, needle: &str) -> String {
    for _ in 0..100 {
        if let Ok(entries) = std::fs::read_dir(mail_dir()) {
            let mut found: Vec<(PathBuf, String)> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .filter_map(|p| {
                    std::fs::read_to_string(&p).ok().map(|t| (p, t.replace("=\r\n", "").replace("=\n", "")))
                })
                .filter(|(_, t)| t.lines().any(|l| l.starts_with("To:") && l.contains(to)) && t.contains(needle))
                .collect();
            found.sort();
            if let Some((_, text)) = found.pop() {
                return text;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no mail to {to} with {needle:?} in {}: is the SMTP sink running?", mail_dir().display());
}

/// The code of the newest code mail to `to`.
pub async fn code_to(to: &str) -> String {
    digits_after(&mail_to_with(to, "code is").await, "code is", 6)
}

/// The first run of `len` digits after `marker` in `text`.
pub fn digits_after(text: &str, marker: &str, len: usize) -> String {
    let start = text.find(marker).unwrap_or_else(|| panic!("{marker:?} not in mail")) + marker.len();
    text[start..].chars().skip_while(|c| !c.is_ascii_digit()).take(len).collect()
}

/// A real local HTTP listener standing in for the SMS gateway; it records every JSON body.
#[derive(Debug)]
pub struct SmsGateway {
    pub url: String,
    pub received: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
}

impl SmsGateway {
    pub async fn start() -> Self {
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let store = received.clone();
        let router = axum::Router::new().route(
            "/sms",
            axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
                let store = store.clone();
                async move {
                    store.lock().unwrap().push(body);
                    axum::http::StatusCode::ACCEPTED
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/sms", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { url, received }
    }

    /// The code in the newest message to `to`.
    pub fn code_for(&self, to: &str) -> String {
        let all = self.received.lock().unwrap();
        let msg = all.iter().rev().find(|m| m["to"] == to).unwrap_or_else(|| panic!("no SMS to {to}: {all:?}"));
        digits_after(msg["text"].as_str().unwrap(), "code", 6)
    }
}

/// `POST /oauth2/token` (form) as `c` by HTTP Basic; the status, the `Cache-Control` header
/// and the JSON body.
pub async fn token(app: &TestApp, c: &Creds, form: &[(&str, &str)]) -> (reqwest::StatusCode, String, Value) {
    let r =
        app.http.post(app.url("/oauth2/token")).basic_auth(&c.id, c.secret.as_deref()).form(form).send().await.unwrap();
    let status = r.status();
    let cache = r.headers().get("cache-control").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    (status, cache, r.json().await.unwrap())
}

/// The password grant for `username` and `password` as `c`; the status and the JSON body.
pub async fn login(app: &TestApp, c: &Creds, username: &str, password: &str) -> (reqwest::StatusCode, Value) {
    let (status, _, body) =
        token(app, c, &[("grant_type", "password"), ("username", username), ("password", password)]).await;
    (status, body)
}
