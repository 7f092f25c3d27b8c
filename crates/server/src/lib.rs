//! The resetd binary's library: configuration, wiring of adapters into the use cases, and the
//! server loop. Business logic lives in `resetd-app`; this crate only chooses and connects.
//!
//! Reuse it to run the whole service from a [`Settings`], as `resetd serve` does:
//!
//! - [`Settings::load`] reads `config/default.toml` < `config/{profile}.toml` < `RESETD__…`;
//! - [`Application::build`] binds `server.bind`, connects PostgreSQL and Redis (in memory when
//!   their URLs are empty, dev profile only), runs the migrations and builds the service;
//!   [`Application::run_until_stopped`] serves until SIGTERM or Ctrl-C;
//! - to serve it yourself, or nest it in your own axum application, [`build`] (or
//!   [`build_default`]) gives the use cases and readiness probes, and [`router`] the
//!   `axum::Router` over them.
//!
//! To mount only the CIAM routes over your own user table, use `resetd-app` and
//! `resetd-api-http` instead (`docs/embedding.md`).
//!
//! ```no_run
//! use std::path::Path;
//!
//! use resetd_server::{Application, Profile, Settings};
//!
//! # async fn serve() -> anyhow::Result<()> {
//! let settings = Settings::load(Path::new("config"), Profile::parse("production")?)?;
//! resetd_server::telemetry::init(&settings.log.filter, settings.log.json);
//! let app = Application::build(settings).await?;
//! println!("listening on {}", app.local_addr());
//! app.run_until_stopped().await
//! # }
//! ```

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod application;
pub mod dev;
mod key_status;
pub mod settings;
pub mod telemetry;

pub use application::Application;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use resetd_adapters_memory::MemoryStore;
use resetd_adapters_notify::{
    ChannelNotifier, LogSender, SmtpConfig, SmtpSender, TlsMode, WebhookConfig, WebhookSmsSender,
};
use resetd_adapters_postgres::{connect_with, migrate_at, PgStore};
use resetd_adapters_redis::RedisStore;
use resetd_api_http::{HttpState, Probe};
use resetd_app::audit_batch::{AuditWriter, BatchedAudit};
use resetd_app::cache::CachedClients;
use resetd_app::hashing::BlockingArgon2;
use resetd_app::{App, OtpSettings, Ports, RateLimit};
use resetd_domain::keyed::TokenKey;
use resetd_domain::keyring::KeyRing;
use resetd_domain::password::Argon2Params;
use resetd_ports::clock::{Clock, SystemClock};
use resetd_ports::notify::Notifier;
use secrecy::{ExposeSecret, SecretString};

/// OTP-send audit events queued for the writer at most; past it they are written directly.
const AUDIT_QUEUE: usize = 8192;

pub use key_status::key_status_json;
pub use settings::{Profile, Settings};

/// Everything `serve` needs: the use cases, the readiness probes and the writer of batched
/// audit events.
pub struct Built {
    /// The use cases over the configured backends.
    pub app: App,
    /// What `/readyz` checks: PostgreSQL and Redis, when configured.
    pub probes: Vec<Arc<dyn Probe>>,
    /// Writes the OTP-send audit events the use cases queue ([`resetd_app::audit_batch`]):
    /// someone must run it ([`Application::run_until_stopped`] does, and [`build_default`]
    /// spawns it).
    pub audit_writer: Option<AuditWriter>,
}

impl std::fmt::Debug for Built {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Built").finish_non_exhaustive()
    }
}

struct PgProbe(PgStore);
struct RedisProbe(RedisStore);

#[async_trait]
impl Probe for PgProbe {
    fn name(&self) -> &'static str {
        "postgres"
    }
    async fn check(&self) -> Result<(), String> {
        self.0.ping().await.map_err(|e| e.to_string())
    }
}

#[async_trait]
impl Probe for RedisProbe {
    fn name(&self) -> &'static str {
        "redis"
    }
    async fn check(&self) -> Result<(), String> {
        self.0.ping().await.map_err(|e| e.to_string())
    }
}

fn secret(s: &SecretString) -> Option<SecretString> {
    (!s.expose_secret().is_empty()).then(|| s.clone())
}

/// The notifier: SMTP and the SMS webhook when configured; no sender for a channel that is
/// switched off; the log sender only in the dev profile, for a channel with no settings.
///
/// # Errors
/// Bad SMTP or webhook settings; outside the dev profile, a switched-on channel without a
/// sender.
pub fn notifier(s: &Settings) -> anyhow::Result<Arc<dyn Notifier>> {
    s.check_channels()?;
    let log = || -> Arc<dyn Notifier> { Arc::new(LogSender::new()) };
    let email: Option<Arc<dyn Notifier>> = if !s.mail.enabled {
        None
    } else if s.mail.smtp_host.is_empty() {
        Some(log())
    } else {
        let tls = match s.mail.tls.as_str() {
            "none" => TlsMode::None,
            "starttls" => TlsMode::StartTls,
            "tls" => TlsMode::Tls,
            other => anyhow::bail!("mail.tls must be none, starttls or tls, not {other:?}"),
        };
        let mut c = SmtpConfig::new(&s.mail.smtp_host, s.mail.smtp_port, &s.mail.from);
        c.tls = tls;
        c.username = secret(&s.mail.username);
        c.password = secret(&s.mail.password);
        Some(Arc::new(SmtpSender::new(c).context("mail settings")?))
    };
    let sms: Option<Arc<dyn Notifier>> = if !s.sms.enabled {
        None
    } else if s.sms.webhook_url.is_empty() {
        Some(log())
    } else {
        let mut c = WebhookConfig::new(&s.sms.webhook_url);
        c.bearer_token = secret(&s.sms.bearer_token);
        Some(Arc::new(WebhookSmsSender::new(c).context("sms settings")?))
    };
    Ok(Arc::new(ChannelNotifier::new(email, sms)))
}

/// The breached-password range service of `[breached]`; `None` when `api_url` is empty.
///
/// # Errors
/// A URL that is not `http(s)`.
pub fn breached(s: &Settings) -> anyhow::Result<Option<Arc<dyn resetd_ports::breached::BreachedPasswords>>> {
    if s.breached.api_url.is_empty() {
        return Ok(None);
    }
    let timeout = Duration::from_millis(s.breached.timeout_ms.max(1));
    let api = resetd_adapters_notify::RangeApi::new(&s.breached.api_url, timeout).context("breached.api_url")?;
    Ok(Some(Arc::new(api)))
}

/// The use-case settings from the configuration.
///
/// # Errors
/// A token key shorter than 32 bytes.
pub fn app_settings(s: &Settings) -> anyhow::Result<resetd_app::Settings> {
    let texts = s.token_keys()?;
    let keys = if texts.is_empty() {
        tracing::warn!("no security.token_key: using a random key, so links and sessions die with this process");
        KeyRing::single(TokenKey::generate(&mut rand::rngs::OsRng))
    } else {
        let keys = texts
            .iter()
            .enumerate()
            .map(|(i, text)| TokenKey::new(text.as_bytes().to_vec()).with_context(|| format!("token key {}", i + 1)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        KeyRing::new(keys).context("security.token_keys")?
    };
    let mut a = resetd_app::Settings::new(&s.server.public_base_url, keys.current().clone());
    a.keys = keys;
    a.access_token_ttl = Duration::from_secs(s.security.access_token_ttl_secs);
    a.login_failures = RateLimit::new(s.limits.login_failures_per_client_ip_per_minute, 60);
    a.login_per_ip = RateLimit::new(s.limits.login_per_ip_per_minute, 60);
    a.reset_per_caller = RateLimit::new(s.limits.reset_tokens_per_caller_per_minute, 60);
    a.changes_per_ip = RateLimit::new(s.limits.password_changes_per_ip_per_minute, 60);
    a.link_max_lifetime = Duration::from_secs(u64::from(s.links.max_lifetime_days.max(1)) * 86_400);
    a.default_policy = s.policy.default.clone();
    a.email_enabled = s.mail.enabled;
    a.sms_enabled = s.sms.enabled;
    a.breached_fail_open = s.breached.fail_open;
    a.presets = s.policy.presets.clone();
    a.history_retention = s.policy.history_retention;
    let issuer = if s.oidc.issuer.is_empty() { &s.server.public_base_url } else { &s.oidc.issuer };
    a.login = resetd_app::LoginSettings {
        issuer: issuer.trim_end_matches('/').to_owned(),
        signer: Some(s.signer()?),
        access_ttl: Duration::from_secs(s.ciam.access_token_ttl_secs.max(1)),
        refresh_ttl: Duration::from_secs(s.ciam.refresh_token_ttl_secs.max(1)),
        refresh_grace: Duration::from_secs(s.ciam.refresh_grace_secs),
        lockout: resetd_ports::login::LockoutRule {
            threshold: s.login.lockout_threshold,
            window: Duration::from_secs(s.login.lockout_window_secs.max(1)),
            lock_for: Duration::from_secs(s.login.lockout_secs.max(1)),
        },
        per_ip: RateLimit::new(s.limits.token_per_ip_per_minute, 60),
        per_client: RateLimit::new(s.limits.token_per_client_per_minute, 60),
    };
    let o = &s.otp;
    a.otp = OtpSettings {
        code_length: o.code_length,
        code_ttl: Duration::from_secs(o.code_ttl_secs),
        token_ttl: Duration::from_secs(o.token_ttl_secs),
        max_attempts: o.max_attempts,
        destination_cooldown: RateLimit::new(1, o.destination_cooldown_secs),
        destination_daily: RateLimit::new(o.destination_daily_limit, 86_400),
        per_client: RateLimit::new(o.per_client_per_minute, 60),
        per_ip: RateLimit::new(o.per_ip_per_minute, 60),
        account_guesses: RateLimit::new(o.account_guesses_per_day, 86_400),
    };
    Ok(a)
}

/// Connects the configured backends (PostgreSQL and Redis when their URLs are set, memory
/// otherwise) and builds the use cases.
///
/// # Errors
/// The production profile's requirements, a backend that cannot be reached, bad settings.
pub async fn build(s: &Settings, clock: Arc<dyn Clock>, notifier: Arc<dyn Notifier>) -> anyhow::Result<Built> {
    if s.profile == Profile::Production {
        s.check_production()?;
    }
    let memory = Arc::new(MemoryStore::new(clock.clone()));
    let mut probes: Vec<Arc<dyn Probe>> = Vec::new();
    let params = Argon2Params {
        memory_kib: s.argon2.memory_kib,
        iterations: s.argon2.iterations,
        parallelism: s.argon2.parallelism,
    };
    let permits = if s.argon2.concurrency == 0 {
        std::thread::available_parallelism().map_or(2, usize::from)
    } else {
        s.argon2.concurrency
    };
    let hasher = Arc::new(
        BlockingArgon2::new(params, permits, s.argon2.queue_limit)
            .map_err(|e| anyhow::anyhow!("argon2 settings: {e}"))?,
    );
    let mut ports = Ports {
        users: memory.clone(),
        credentials: memory.clone(),
        api_credentials: memory.clone(),
        access_tokens: memory.clone(),
        clients: memory.clone(),
        policies: memory.clone(),
        audit: memory.clone(),
        key_usage: memory.clone(),
        otps: memory.clone(),
        refresh_tokens: memory.clone(),
        lockout: memory.clone(),
        outbox: memory.clone(),
        rate_limiter: memory.clone(),
        notifier,
        health: memory.clone(),
        hasher,
        breached: breached(s)?,
        clock,
    };
    let (db, db_url) = (&s.database, s.database.url.expose_secret());
    if !db_url.is_empty() {
        migrate_at(db.migration_url()?).await.context("running database migrations")?;
        let pool = connect_with(db_url, db.max_connections, db.statement_cache).await;
        let pg = PgStore::new(pool.context("connecting to PostgreSQL")?).with_statement_cache(db.statement_cache);
        let pg = Arc::new(pg.with_statement_timeout(Duration::from_millis(db.statement_timeout_ms)));
        probes.push(Arc::new(PgProbe((*pg).clone())));
        ports.users = pg.clone();
        ports.credentials = pg.clone();
        ports.api_credentials = pg.clone();
        ports.clients = Arc::new(CachedClients::new(
            pg.clone(),
            ports.clock.clone(),
            Duration::from_secs(s.database.client_cache_ttl_secs),
            10_000,
        ));
        ports.policies = pg.clone();
        ports.outbox = pg.clone();
        ports.key_usage = pg.clone();
        ports.audit = pg;
    }
    let redis_url = s.redis.url.expose_secret();
    if !redis_url.is_empty() {
        let topology = s.redis.topology()?;
        let redis =
            Arc::new(RedisStore::connect_to(&topology, &s.redis.key_prefix).await.context("connecting to Redis")?);
        probes.push(Arc::new(RedisProbe((*redis).clone())));
        ports.otps = redis.clone();
        ports.rate_limiter = redis.clone();
        ports.health = redis.clone();
        ports.refresh_tokens = redis.clone();
        ports.lockout = redis.clone();
        ports.access_tokens = redis;
    }
    match (db_url.is_empty(), redis_url.is_empty()) {
        (true, true) => tracing::warn!("running on in-memory stores: nothing persists across restarts (dev profile)"),
        (true, false) => tracing::warn!("users and credentials are in memory: they do not persist (dev profile)"),
        (false, true) => tracing::warn!("OTPs, sessions and rate limits are in memory: one process only (dev profile)"),
        (false, false) => {}
    }
    let (audit, writer) = BatchedAudit::new(ports.audit.clone(), AUDIT_QUEUE);
    ports.audit = audit;
    Ok(Built { app: App::new(ports, app_settings(s)?), probes, audit_writer: Some(writer) })
}

/// Builds everything for `settings` with the system clock and the configured senders (the
/// operator commands; `serve` goes through [`Application`]).
///
/// # Errors
/// See [`build`].
pub async fn build_default(s: &Settings) -> anyhow::Result<Built> {
    let mut built = build(s, Arc::new(SystemClock), notifier(s)?).await?;
    if let Some(writer) = built.audit_writer.take() {
        tokio::spawn(writer.run(std::future::pending()));
    }
    Ok(built)
}

/// The HTTP service over `built`, as [`Application::run_until_stopped`] serves it.
///
/// # Errors
/// A `server.trusted_proxies` entry that is not a CIDR.
pub fn router(
    s: &Settings,
    built: Built,
    dev_outbox: Option<Arc<dyn resetd_api_http::DevOutbox>>,
) -> anyhow::Result<axum::Router> {
    let metrics = prometheus().map(|handle| {
        let render: resetd_api_http::RenderMetrics = Arc::new(move || handle.render());
        render
    });
    Ok(resetd_api_http::router(HttpState {
        app: built.app,
        probes: built.probes,
        docs_base: s.server.docs_base_url.clone(),
        request_timeout: Duration::from_secs(s.server.request_timeout_secs.max(1)),
        metrics,
        proxies: s.proxy_trust()?,
        backend_budget: Duration::from_millis(s.server.backend_budget_ms.max(1)),
        dev_outbox,
    }))
}

/// The process's Prometheus recorder, installed as the global `metrics` recorder on first
/// use. `None` when another recorder was installed first (by a program that embeds resetd's
/// crates and has its own): its metrics are then that program's to serve.
pub fn prometheus() -> Option<PrometheusHandle> {
    static HANDLE: std::sync::OnceLock<Option<PrometheusHandle>> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            // Seconds from 1 ms to 30 s (the request deadline), roughly doubling.
            let buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets)
                .map_err(|e| tracing::warn!(error = %e, "metrics buckets refused"))
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            match metrics::set_global_recorder(recorder) {
                Ok(()) => {
                    // Histograms are drained on render; without scrapes, upkeep bounds them.
                    let upkeep = handle.clone();
                    std::thread::Builder::new()
                        .name("metrics-upkeep".into())
                        .spawn(move || loop {
                            std::thread::sleep(Duration::from_secs(5));
                            upkeep.run_upkeep();
                        })
                        .map_err(|e| tracing::warn!(error = %e, "no metrics upkeep thread"))
                        .ok()?;
                    Some(handle)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "another metrics recorder is installed; /metrics is off");
                    None
                }
            }
        })
        .clone()
}
