//! The shop end to end over HTTP, as `main.rs` serves it ([`Shop::serve`]): on a fresh
//! PostgreSQL database (which `Shop::build` migrates), the shared Redis under a prefix of its
//! own, and an SMS gateway stand-in that keeps what resetd posts to it.

use std::time::Duration;

use reqwest::StatusCode;
use resetd_app::bootstrap::ClientPolicy;
use resetd_app::RateLimit;
use resetd_domain::keyed::TokenKey;
use resetd_example_shop::{Shop, ShopConfig};
use serde_json::{json, Value};
use sqlx::PgPool;
use tokio::sync::{mpsc, Mutex};

/// The SMS gateway's place: every JSON body resetd's webhook sender posts, in order.
struct SmsCatcher {
    url: String,
    inbox: Mutex<mpsc::UnboundedReceiver<Value>>,
}

impl SmsCatcher {
    async fn start() -> Self {
        let (keep, inbox) = mpsc::unbounded_channel::<Value>();
        let gateway = axum::Router::new().route(
            "/send",
            axum::routing::post(move |axum::Json(sms): axum::Json<Value>| {
                let keep = keep.clone();
                async move {
                    let _ = keep.send(sms);
                    StatusCode::NO_CONTENT
                }
            }),
        );
        let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/send", socket.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(socket, gateway).await });
        Self { url, inbox: Mutex::new(inbox) }
    }

    /// The next SMS of `template` (`otp_code`, `password_changed`) to `to`, within 10 s;
    /// others before it are passed over.
    async fn next(&self, template: &str, to: &str) -> Value {
        let mut inbox = self.inbox.lock().await;
        let wanted = async {
            while let Some(sms) = inbox.recv().await {
                if sms["template"] == template && sms["to"] == to {
                    return sms;
                }
            }
            panic!("the gateway stand-in stopped");
        };
        tokio::time::timeout(Duration::from_secs(10), wanted)
            .await
            .unwrap_or_else(|_| panic!("no {template} SMS to {to} within 10 s"))
    }
}

/// The first run of digits in an SMS text: the code.
fn code_in(sms: &Value) -> String {
    let text = sms["text"].as_str().unwrap();
    text.chars().skip_while(|c| !c.is_ascii_digit()).take_while(char::is_ascii_digit).collect()
}

/// A shop serving on a free port, its CIAM application, and the SMS it sends.
struct Running {
    base: String,
    http: reqwest::Client,
    sms: SmsCatcher,
    client_id: String,
    client_secret: String,
}

impl Running {
    async fn start(pool: &PgPool, tweak: impl FnOnce(&mut ShopConfig)) -> Self {
        let mut database = url::Url::parse(&std::env::var("DATABASE_URL").unwrap()).unwrap();
        database.set_path(pool.connect_options().get_database().unwrap());
        let sms = SmsCatcher::start().await;
        let key = TokenKey::new(resetd_test_support::token_key().into_bytes()).unwrap();
        let redis = resetd_test_support::shared_redis_url();
        let mut config = ShopConfig::new(database.as_str(), &redis, key, &sms.url);
        config.redis_prefix = resetd_ports::testkit::unique("shop-e2e:") + ":";
        config.outbox_every = Duration::from_millis(100);
        tweak(&mut config);
        let shop = Shop::build(config).await.unwrap();
        let app = shop.app.bootstrap.create_client("web", "shop web", ClientPolicy::Default).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(shop.clone().serve(listener, std::future::pending()));
        Self {
            base,
            http: reqwest::Client::new(),
            sms,
            client_id: app.client_id.as_str().to_owned(),
            client_secret: app.client_secret.unwrap().expose().to_owned(),
        }
    }

    /// POSTs `body` to `path`, as the CIAM application when `ciam`; the status, the content
    /// type and the body (JSON when it parses, else a string).
    async fn post(&self, path: &str, body: Value, ciam: bool) -> (StatusCode, String, Value) {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(&body);
        if ciam {
            request = request.basic_auth(&self.client_id, Some(&self.client_secret));
        }
        answer(request.send().await.unwrap()).await
    }

    async fn login(&self, email: &str, password: &str) -> StatusCode {
        self.post("/login", json!({"email": email, "password": password}), false).await.0
    }
}

async fn answer(r: reqwest::Response) -> (StatusCode, String, Value) {
    let status = r.status();
    let kind = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let text = r.text().await.unwrap();
    (status, kind, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn phone() -> String {
    format!("+1555{:07}", rand_digits())
}

fn rand_digits() -> u64 {
    let unique = resetd_ports::testkit::unique("");
    u64::from_str_radix(&unique, 16).unwrap() % 10_000_000
}

#[sqlx::test(migrations = false)]
async fn a_customer_resets_a_forgotten_password_with_an_sms_code(pool: PgPool) {
    let shop = Running::start(&pool, |_| {}).await;
    let (email, phone) = (format!("{}@example.com", resetd_ports::testkit::unique("ada")), phone());
    let (old, new, third) = ("Zeppelin-Travel-1929", "Lighthouse-Keeper-77", "Quiet-Harbour-2031");

    let signup = json!({"email": email, "phone": phone, "password": old, "name": "Ada", "locale": "en"});
    let (status, _, body) = shop.post("/signup", signup.clone(), false).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(shop.post("/signup", signup, false).await.0, StatusCode::CONFLICT, "one customer per email");
    assert_eq!(shop.login(&email, old).await, StatusCode::OK);

    // resetd's CIAM flow, mounted under /auth, over the shop's own table.
    let send = json!({"usage": "reset_password", "phone_number": phone});
    let (status, _, sent) = shop.post("/auth/otp/send", send, true).await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    let token = sent["otp_token"].as_str().unwrap().to_owned();
    let code = code_in(&shop.sms.next("otp_code", &phone).await);
    assert_eq!(code.len(), 6, "a six-digit code");
    let reset = |password: &str| json!({"phone_number": phone, "phone_number_otp_token": token, "phone_number_otp": code, "password": password});
    let (status, _, body) = shop.post("/auth/reset_user_password", reset(new), true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, Value::String(String::new()), "success has an empty body");

    assert_eq!(shop.login(&email, new).await, StatusCode::OK, "the new password opens the shop");
    assert_eq!(shop.login(&email, old).await, StatusCode::UNAUTHORIZED, "the old one no longer does");
    // And through resetd's own token endpoint, mounted with the rest under /auth.
    let form = [("grant_type", "password"), ("username", email.as_str()), ("password", new)];
    let token_url = format!("{}/auth/oauth2/token", shop.base);
    let r = shop.http.post(token_url).basic_auth(&shop.client_id, Some(&shop.client_secret)).form(&form);
    let (status, _, tokens) = answer(r.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let discovery = shop.http.get(format!("{}/auth/.well-known/openid-configuration", shop.base));
    let (_, _, discovery) = answer(discovery.send().await.unwrap()).await;
    assert_eq!(discovery["token_endpoint"], "http://localhost:8080/auth/oauth2/token", "the issuer is the mount");

    // The code is single use: the same token and code again change nothing.
    let (status, kind, body) = shop.post("/auth/reset_user_password", reset(third), true).await;
    assert_eq!((status, body), (StatusCode::BAD_REQUEST, json!({"error": "bad_phone_number_otp_token"})));
    assert!(kind.starts_with("application/json"), "{kind}");
    assert_eq!(shop.login(&email, third).await, StatusCode::UNAUTHORIZED);
    assert_eq!(shop.login(&email, new).await, StatusCode::OK);

    // What the change wrote in the shop's tables, and what its outbox row delivered: the
    // shop's process drives resetd's outbox worker, which sends the notice by SMS.
    let notice = shop.sms.next("password_changed", &phone).await;
    assert_eq!(notice["language"], "en");
    let id: i64 = sqlx::query_scalar("SELECT id FROM shop_customers WHERE email = $1")
        .bind(&email)
        .fetch_one(&pool)
        .await
        .unwrap();
    let (version, generation): (i64, i64) =
        sqlx::query_as("SELECT password_version, credential_generation FROM shop_customers WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((version, generation), (1, 1), "one change");
    let history: i64 = sqlx::query_scalar("SELECT count(*) FROM shop_password_history WHERE customer_id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(history, 2, "the sign-up's password and the new one");
    let trail: Vec<(String, String)> =
        sqlx::query_as("SELECT kind, actor FROM shop_audit WHERE customer_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&pool)
            .await
            .unwrap();
    let ciam = format!("ciam:{}", shop.client_id);
    let kinds: Vec<(&str, &str)> = trail.iter().map(|(k, a)| (k.as_str(), a.as_str())).collect();
    assert_eq!(kinds, [("user_created", "shop:signup"), ("otp_sent", &*ciam), ("password_changed", &*ciam)]);
    let mut owed = 1;
    for _ in 0..50 {
        owed = sqlx::query_scalar::<_, i64>("SELECT count(*) FROM shop_outbox").fetch_one(&pool).await.unwrap();
        if owed == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(owed, 0, "the delivered row is gone");
}

#[sqlx::test(migrations = false)]
async fn the_mounted_routes_keep_their_dialect_beside_the_shops_own(pool: PgPool) {
    let shop = Running::start(&pool, |c| c.otp.per_ip = RateLimit::new(2, 60)).await;
    let page = shop.http.get(format!("{}/", shop.base)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("/auth/otp/send"));

    // An unknown path under /auth is the shop's plain 404: the CIAM router has no fallback.
    let (status, kind, body) = answer(shop.http.get(format!("{}/auth/nope", shop.base)).send().await.unwrap()).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, Value::String("not found".into())));
    assert!(kind.starts_with("text/plain"), "{kind}");
    let (status, _, body) = shop.post("/auth/otp/sent", json!({}), true).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, Value::String("not found".into())));
    let wrong_method = shop.http.get(format!("{}/auth/otp/send", shop.base)).send().await.unwrap();
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong_method.text().await.unwrap(), "", "axum's 405, empty");

    // The CIAM routes answer in their own dialect, with resetd's headers.
    let (status, kind, body) = shop.post("/auth/otp/send", json!({"usage": "reset_password"}), false).await;
    assert_eq!((status, body), (StatusCode::UNAUTHORIZED, json!({"error": "invalid_client"})));
    assert_eq!(kind, "application/json;charset=UTF-8");
    let mail = json!({"usage": "reset_password", "email": "ada@example.com"});
    let (status, _, body) = shop.post("/auth/otp/send", mail, true).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &json!("insufficient_email_quota")),
        "no email here"
    );
    let r = shop.http.post(format!("{}/auth/otp/send", shop.base)).json(&json!({})).send().await.unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store");

    // The per-address limit sees the client (ConnectInfo): the third send from 127.0.0.1
    // within the minute is refused, to whichever number it goes.
    for _ in 0..2 {
        let (status, _, body) =
            shop.post("/auth/otp/send", json!({"usage": "reset_password", "phone_number": phone()}), true).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, _, body) =
        shop.post("/auth/otp/send", json!({"usage": "reset_password", "phone_number": phone()}), true).await;
    assert_eq!((status, &body["error"]), (StatusCode::TOO_MANY_REQUESTS, &json!("rate_limit_exceeded")));

    // The shop's own errors are its own.
    let weak = json!({"email": "bob@example.com", "password": "short"});
    let (status, _, body) = shop.post("/signup", weak, false).await;
    assert_eq!((status, &body["error"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("weak_password")));
    assert_eq!(shop.login("nobody@example.com", "Whatever-1234").await, StatusCode::UNAUTHORIZED);

    // The shop's own login is bounded per address before any argon2 work: ten a minute.
    for _ in 0..9 {
        assert_eq!(shop.login("nobody@example.com", "Whatever-1234").await, StatusCode::UNAUTHORIZED);
    }
    let (status, _, body) = shop.post("/login", json!({"email": "nobody@example.com", "password": "x"}), false).await;
    assert_eq!((status, &body["error"]), (StatusCode::TOO_MANY_REQUESTS, &json!("too_many_logins")));
}
