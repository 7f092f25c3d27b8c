//! Outages: PostgreSQL or Redis killed or hung (SIGSTOP). Every request that needs the missing
//! backend answers 503 in its API's dialect within the backend budget, `/readyz` names the
//! backend, and the service recovers by itself once the backend is back.

use std::time::{Duration, Instant};

use resetd_test_support::{Postgres, Redis};
use serde_json::{json, Value};

use super::backends::{link, login, serve};

/// The budget plus a generous margin for a loaded machine.
const FAST: Duration = Duration::from_millis(2_000);

struct Probe {
    base: String,
    session: String,
    admin: (String, String),
    web: (String, String),
    link: String,
}

/// One answer: status, body, and how long it took.
async fn ask(req: reqwest::RequestBuilder) -> (u16, String, Duration) {
    let started = Instant::now();
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap(), started.elapsed())
}

impl Probe {
    fn looker(&self) -> reqwest::RequestBuilder {
        reqwest::Client::new().get(format!("{}/api/4.0/user", self.base)).bearer_auth(&self.session)
    }

    fn ciam(&self) -> reqwest::RequestBuilder {
        let to = format!("{}@example.com", resetd_ports::testkit::unique("fault"));
        reqwest::Client::new()
            .post(format!("{}/otp/send", self.base))
            .basic_auth(&self.web.0, Some(&self.web.1))
            .json(&json!({"usage": "reset_password", "email": to}))
    }

    fn page(&self) -> reqwest::RequestBuilder {
        reqwest::Client::new().get(format!("{}/password/reset/{}", self.base, self.link))
    }

    fn ready(&self) -> reqwest::RequestBuilder {
        reqwest::Client::new().get(format!("{}/readyz", self.base))
    }

    /// The median of three interleaved samples of each call, all expected to be 503 in their
    /// dialect (the page only when PostgreSQL is the backend that is gone).
    async fn all_unavailable(&self, backend: &str, page_too: bool) {
        let mut took: Vec<Duration> = Vec::new();
        for _ in 0..3 {
            let (status, body, t) = ask(self.looker()).await;
            let body: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(status, 503, "Looker, {backend}: {body}");
            assert!(body["message"].is_string() && body["documentation_url"].is_string(), "{body}");
            took.push(t);
            let (status, body, t) = ask(self.ciam()).await;
            let body: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(
                (status, body["error"].as_str()),
                (503, Some("temporarily_unavailable")),
                "CIAM, {backend}: {body}"
            );
            took.push(t);
            if page_too {
                let (status, html, t) = ask(self.page()).await;
                assert_eq!(status, 503, "page, {backend}: {html}");
                assert!(html.contains("temporarily unavailable"), "{html}");
                took.push(t);
            }
        }
        took.sort();
        let median = took[took.len() / 2];
        assert!(median < FAST, "{backend}: answers took {took:?}, median {median:?}");
        let (status, body, _) = ask(self.ready()).await;
        assert_eq!(status, 503, "{body}");
        assert!(body.contains(backend), "/readyz names {backend}: {body}");
    }

    /// Polls until every call answers as it should again (no restart of resetd). A Redis that
    /// restarted empty lost the session: the admin logs in again, as a client would.
    async fn recovers(&mut self, backend: &str) {
        let started = Instant::now();
        loop {
            let answers = [
                ask(self.looker()).await.0,
                ask(self.ciam()).await.0,
                ask(self.page()).await.0,
                ask(self.ready()).await.0,
            ];
            if answers == [200; 4] {
                return;
            }
            if answers[0] == 401 {
                self.session = login(&self.base, &self.admin.0, &self.admin.1).await;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "{backend} back, still {answers:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

async fn setup(pg: &Postgres, redis: &Redis) -> Probe {
    let (base, app) = serve(&pg.url(), &redis.url(), |s| {
        s.mail.enabled = true;
        s.mail.smtp_host = "127.0.0.1".into();
        s.mail.smtp_port = 1; // nobody is ever sent to: the addresses are unknown
    })
    .await;
    let admin = app.bootstrap.create_api_credentials("fault-admin@example.com", true).await.unwrap();
    let session = login(&base, admin.client_id.as_str(), admin.client_secret.expose()).await;
    let web = app.bootstrap.create_client("web", "faults", resetd_app::bootstrap::ClientPolicy::Default).await.unwrap();
    let web = (web.client_id.as_str().to_owned(), web.client_secret.unwrap().expose().to_owned());
    let link = link(&base, &session, &admin.user_id.to_string()).await;
    let admin = (admin.client_id.as_str().to_owned(), admin.client_secret.expose().to_owned());
    let mut probe = Probe { base, session, admin, web, link };
    probe.recovers("nothing").await;
    probe
}

/// New in Hardening II: outages answered 500, and a hung PostgreSQL held requests for the pool
/// timeout or the whole request deadline.
#[tokio::test(flavor = "multi_thread")]
async fn postgres_killed_or_hung_answers_503_fast_and_recovers() {
    let (mut pg, redis) = (Postgres::start(), Redis::start());
    let mut probe = setup(&pg, &redis).await;
    pg.crash();
    probe.all_unavailable("postgres", true).await;
    pg.restart();
    probe.recovers("postgres").await;
    pg.pause();
    probe.all_unavailable("postgres", true).await;
    pg.resume();
    probe.recovers("postgres").await;
}

/// New in Hardening II, as above, for Redis.
#[tokio::test(flavor = "multi_thread")]
async fn redis_killed_or_hung_answers_503_fast_and_recovers() {
    let (pg, mut redis) = (Postgres::start(), Redis::start());
    let mut probe = setup(&pg, &redis).await;
    redis.kill();
    probe.all_unavailable("redis", false).await;
    redis.restart();
    probe.recovers("redis").await;
    redis.pause();
    probe.all_unavailable("redis", false).await;
    redis.resume();
    probe.recovers("redis").await;
}
