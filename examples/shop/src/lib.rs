//! A small shop that embeds resetd's crates: its own axum routes (`/`, `/signup`, `/login`)
//! over its own `shop_customers` table, and resetd's CIAM reset routes mounted under `/auth`
//! (`POST /auth/otp/send`, `POST /auth/reset_user_password`).
//!
//! What comes from where (see `docs/embedding.md`):
//!
//! | resetd port | here |
//! | --- | --- |
//! | users, credentials, audit, outbox | [`ShopStore`], the shop's tables |
//! | OTPs, rate limits, sessions, channel health | `resetd_adapters_redis::RedisStore` |
//! | CIAM clients, policy, API credentials, key usage | `resetd_adapters_memory::MemoryStore` |
//! | notifier | `resetd_adapters_notify::WebhookSmsSender` (SMS only) |
//! | hasher | `resetd_app::hashing::BlockingArgon2` (also hashes the shop's sign-ups) |
//! | clock | `resetd_ports::clock::SystemClock` |
//!
//! The host owns what resetd's own server would otherwise do: the migrations
//! ([`MIGRATOR`]), the token key, and driving the outbox worker ([`Shop::serve`]).

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod routes;
pub mod store;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use resetd_adapters_memory::MemoryStore;
use resetd_adapters_notify::{ChannelNotifier, WebhookConfig, WebhookSmsSender};
use resetd_adapters_redis::RedisStore;
use resetd_api_http::CiamRoutes;
use resetd_app::hashing::BlockingArgon2;
use resetd_app::outbox::OutboxWorker;
use resetd_app::{App, OtpSettings, Ports, Settings};
use resetd_domain::keyed::TokenKey;
use resetd_domain::password::{Argon2Params, Password};
use resetd_domain::policy::PasswordPolicy;
use resetd_ports::clock::{Clock, SystemClock};
use resetd_ports::hasher::PasswordHasher;
use sqlx::migrate::Migrator;

pub use store::ShopStore;

/// The shop's schema (`examples/shop/migrations/`): its tables only, none of resetd's.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// What the shop is started with.
#[derive(Debug, Clone)]
pub struct ShopConfig {
    pub database_url: String,
    pub max_connections: u32,
    pub redis_url: String,
    /// Prefix of every Redis key resetd writes (no `{` or `}`).
    pub redis_prefix: String,
    /// The key under which resetd stores every code and token as a digest (at least 32
    /// bytes). Keep it stable: a new one makes the outstanding codes useless.
    pub token_key: TokenKey,
    /// Where SMS texts are POSTed (see `resetd_adapters_notify::webhook`).
    pub sms_webhook_url: String,
    /// Base of the links resetd would write; with `/auth`, the issuer of the CIAM tokens.
    pub public_base_url: String,
    /// The key the CIAM tokens are signed with; `None`: one generated at start (tokens die
    /// with the process, and several processes would not accept each other's).
    pub signer: Option<resetd_domain::oidc::Signer>,
    pub argon2: Argon2Params,
    /// The policy of sign-ups and of CIAM resets (the CIAM clients registered with
    /// `ClientPolicy::Default`).
    pub password_policy: PasswordPolicy,
    /// Code length and lifetime, attempts, and the limits of `/auth/otp/send`.
    pub otp: OtpSettings,
    pub ciam: CiamRoutes,
    /// How often the outbox worker runs.
    pub outbox_every: Duration,
}

impl ShopConfig {
    /// A configuration with the defaults for everything else.
    pub fn new(database_url: &str, redis_url: &str, token_key: TokenKey, sms_webhook_url: &str) -> Self {
        Self {
            database_url: database_url.to_owned(),
            max_connections: 10,
            redis_url: redis_url.to_owned(),
            redis_prefix: "shop:".to_owned(),
            token_key,
            sms_webhook_url: sms_webhook_url.to_owned(),
            public_base_url: "http://localhost:8080".to_owned(),
            signer: None,
            argon2: Argon2Params::default(),
            password_policy: PasswordPolicy::default(),
            otp: OtpSettings::default(),
            ciam: CiamRoutes::default(),
            outbox_every: Duration::from_secs(1),
        }
    }
}

/// The built shop: resetd's use cases over the shop's ports, and what its routes share.
#[derive(Clone)]
pub struct Shop {
    /// resetd's use cases (`app.bootstrap.create_client` registers a CIAM application).
    pub app: App,
    pub store: Arc<ShopStore>,
    hasher: Arc<dyn PasswordHasher>,
    clock: Arc<dyn Clock>,
    policy: PasswordPolicy,
    ciam: CiamRoutes,
    outbox_every: Duration,
    decoy: resetd_domain::password::PasswordHash,
    limiter: Arc<dyn resetd_ports::rate_limit::RateLimiter>,
}

impl std::fmt::Debug for Shop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shop").field("store", &self.store).finish_non_exhaustive()
    }
}

impl Shop {
    /// Connects PostgreSQL (and applies the shop's migrations) and Redis, and composes
    /// resetd's [`Ports`] from the shop's store and resetd's adapters.
    ///
    /// # Errors
    /// A backend that cannot be reached, a bad webhook URL or argon2 parameters.
    pub async fn build(config: ShopConfig) -> anyhow::Result<Self> {
        let store = Arc::new(ShopStore::connect(&config.database_url, config.max_connections).await?);
        store.migrate().await.context("applying the shop's migrations")?;
        let redis = Arc::new(
            RedisStore::connect(&config.redis_url, &config.redis_prefix).await.context("connecting to Redis")?,
        );
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        // What the shop does not keep itself: CIAM applications, the stored default policy,
        // Looker API credentials (unused here) and key usage, in memory for this process.
        let memory = Arc::new(MemoryStore::new(clock.clone()));
        let sms = WebhookSmsSender::new(WebhookConfig::new(&config.sms_webhook_url)).context("SHOP_SMS_WEBHOOK_URL")?;
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let hasher: Arc<dyn PasswordHasher> = Arc::new(
            BlockingArgon2::new(config.argon2, cores, 64).map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?,
        );
        let ports = Ports {
            users: store.clone(),
            credentials: store.clone(),
            audit: store.clone(),
            outbox: store.clone(),
            otps: redis.clone(),
            refresh_tokens: redis.clone(),
            lockout: redis.clone(),
            rate_limiter: redis.clone(),
            access_tokens: redis.clone(),
            health: redis.clone(),
            clients: memory.clone(),
            policies: memory.clone(),
            api_credentials: memory.clone(),
            key_usage: memory,
            notifier: Arc::new(ChannelNotifier::new(None, Some(Arc::new(sms)))),
            hasher: hasher.clone(),
            // No breached-password service in the example (`RangeApi` would add one).
            breached: None,
            clock: clock.clone(),
        };
        let mut settings = Settings::new(&config.public_base_url, config.token_key);
        settings.default_policy = config.password_policy.clone();
        // The CIAM routes live under /auth: so do the issuer and the discovery document's URLs.
        settings.login.issuer = format!("{}/auth", config.public_base_url.trim_end_matches('/'));
        if let Some(signer) = config.signer {
            settings.login.signer = Some(signer);
        }
        settings.otp = config.otp;
        // Only SMS goes out: /auth/otp/send for an email answers insufficient_email_quota.
        settings.email_enabled = false;
        settings.sms_enabled = true;
        // Login timing: an unknown email is checked against this hash, as long as a real one.
        let decoy = hasher.hash(Password::new("not-a-customer-password".to_owned())?).await?;
        Ok(Self {
            app: App::new(ports, settings),
            store,
            hasher,
            clock,
            policy: config.password_policy,
            ciam: config.ciam,
            outbox_every: config.outbox_every,
            decoy,
            limiter: redis,
        })
    }

    /// The shop's routes, with resetd's CIAM routes under `/auth`. An unknown path, under
    /// `/auth` too, is the shop's plain-text 404: the CIAM router has no fallback of its own.
    pub fn router(&self) -> Router {
        let own = routes::ShopState {
            store: self.store.clone(),
            hasher: self.hasher.clone(),
            clock: self.clock.clone(),
            policy: self.policy.clone(),
            decoy: self.decoy.clone(),
            limiter: self.limiter.clone(),
        };
        routes::router(own)
            .nest("/auth", resetd_api_http::ciam_router(self.app.clone(), self.ciam.clone()))
            .fallback(routes::not_found)
    }

    /// Serves on `listener` until `shutdown` completes, running resetd's outbox worker beside
    /// it. The peer address goes to the CIAM routes (`ConnectInfo`), whose per-address limits
    /// need it.
    ///
    /// # Errors
    /// The server loop failed.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let worker = tokio::spawn(deliver_outbox(self.app.outbox.clone(), self.outbox_every));
        let service = self.router().into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(listener, service).with_graceful_shutdown(shutdown).await;
        worker.abort();
        served.context("serving the shop")
    }
}

/// Runs resetd's outbox worker every `every`: it publishes the credential generations and
/// sends the "password changed" SMS that committed changes owe. Runs until dropped.
pub async fn deliver_outbox(worker: OutboxWorker, every: Duration) {
    loop {
        let started = tokio::time::Instant::now();
        match worker.run_once().await {
            Ok(0) => {}
            Ok(delivered) => tracing::debug!(delivered, "outbox rows delivered"),
            Err(e) => tracing::warn!(error = %e, "the shop's outbox could not be read; trying again"),
        }
        tokio::time::sleep_until(started + every).await;
    }
}
