use std::path::{Path, PathBuf};
use std::time::Duration;

use resetd_server::{Profile, Settings};
use serde_json::Value;
use sqlx::PgPool;

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub app: resetd_app::App,
}

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

pub fn mail_dir() -> PathBuf {
    PathBuf::from(env("RESETD_TEST_SMTP_DIR", concat!(env!("CARGO_MANIFEST_DIR"), "/../target/smtp-sink")))
}

impl TestApp {
    /// Boots the service on 127.0.0.1:0 over the database of `pool`, a fresh Redis prefix and
    /// the SMTP sink.
    pub async fn spawn(pool: &PgPool) -> Self {
        let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
        let mut s = Settings::load(&config, Profile::Dev).unwrap();
        let db = pool.connect_options().get_database().unwrap().to_owned();
        s.database.url = format!("postgres://postgres@127.0.0.1:5432/{db}").into();
        s.redis.url = env("RESETD_TEST_REDIS_URL", "redis://127.0.0.1:6379").into();
        s.redis.key_prefix = resetd_ports::testkit::unique("test:") + ":";
        s.security.token_key = "an-end-to-end-test-key-of-32-bytes-or-more".to_owned().into();
        s.mail.smtp_host = "127.0.0.1".into();
        s.mail.smtp_port = env("RESETD_TEST_SMTP_PORT", "2525").parse().unwrap();
        s.mail.tls = "none".into();
        s.argon2.memory_kib = 19_456;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        s.server.public_base_url = format!("http://{addr}");
        let built = resetd_server::build_default(&s).await.unwrap();
        let app = built.app.clone();
        let state = resetd_api_http::HttpState {
            app: built.app,
            probes: built.probes,
            docs_base: s.server.docs_base_url.clone(),
        };
        let router = resetd_api_http::router(state);
        let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, service).await });
        Self { base: format!("http://{addr}"), http: reqwest::Client::new(), app }
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

/// The newest message to `to` in the sink, waiting up to 5 s; its raw text with
/// quoted-printable soft breaks removed.
pub async fn mail_to(to: &str) -> String {
    for _ in 0..100 {
        if let Ok(entries) = std::fs::read_dir(mail_dir()) {
            let mut found: Vec<(PathBuf, String)> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .filter_map(|p| std::fs::read_to_string(&p).ok().map(|t| (p, t)))
                .filter(|(_, t)| t.lines().any(|l| l.starts_with("To:") && l.contains(to)))
                .collect();
            found.sort();
            if let Some((_, text)) = found.pop() {
                return text.replace("=\r\n", "").replace("=\n", "");
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no mail to {to} in {}: is the SMTP sink running (make test starts it)?", mail_dir().display());
}

/// The first run of `len` digits after `marker` in `text`.
pub fn digits_after(text: &str, marker: &str, len: usize) -> String {
    let start = text.find(marker).unwrap_or_else(|| panic!("{marker:?} not in mail")) + marker.len();
    text[start..].chars().skip_while(|c| !c.is_ascii_digit()).take(len).collect()
}
