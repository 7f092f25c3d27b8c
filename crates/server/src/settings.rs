//! Typed configuration: `config/default.toml` < `config/{profile}.toml` < `RESETD__…`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context as _};
use resetd_domain::policy::PasswordPolicy;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

fn dev() -> Profile {
    Profile::Dev
}

/// Where resetd runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Dev,
    Production,
}

impl Profile {
    /// # Errors
    /// For anything but `dev` and `production`.
    pub fn parse(raw: &str) -> anyhow::Result<Self> {
        match raw {
            "" | "dev" => Ok(Self::Dev),
            "production" => Ok(Self::Production),
            other => bail!("RESETD_PROFILE must be dev or production, not {other:?}"),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dev => "dev",
            Self::Production => "production",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The profile the settings were loaded for (not a key of the files).
    #[serde(skip, default = "dev")]
    pub profile: Profile,
    pub server: Server,
    pub database: Database,
    pub redis: Redis,
    pub security: Security,
    pub dev: Dev,
    pub argon2: Argon2,
    pub mail: Mail,
    pub sms: Sms,
    pub otp: Otp,
    pub limits: Limits,
    pub links: Links,
    pub outbox: OutboxSettings,
    pub log: Log,
    pub policy: Policies,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    pub bind: String,
    pub public_base_url: String,
    pub docs_base_url: String,
    /// How long one request may take; past it the answer is a 503 in the API's dialect.
    pub request_timeout_secs: u64,
    /// CIDRs of the proxies whose `X-Forwarded-For` / `Forwarded` name the client; a list, or
    /// in the environment one comma-separated string.
    #[serde(deserialize_with = "list")]
    pub trusted_proxies: Vec<String>,
    /// Leading bits that name one IPv6 client for per-address limits (64).
    pub ipv6_prefix_len: u8,
    /// How long all the store calls of one request may take together; past it the request
    /// answers 503 in its API's dialect.
    pub backend_budget_ms: u64,
}

/// A list from the files, or one comma-separated string from the environment (only this key
/// is split: other strings, such as URLs, stay whole).
fn list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Text(String),
    }
    Ok(match Raw::deserialize(d)? {
        Raw::List(items) => items,
        Raw::Text(text) => text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
    })
}

/// [`list`] for secrets: each item stays redacted in `Debug`.
fn secret_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<SecretString>, D::Error> {
    Ok(list(d)?.into_iter().map(SecretString::from).collect())
}

/// The dev profile's conveniences.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dev {
    /// Where the dev profile on in-memory stores writes what it bootstrapped (mode 0600);
    /// empty: nowhere.
    pub bootstrap_file: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    pub url: SecretString,
    pub max_connections: u32,
    /// How long a CIAM client record is cached in the process (0: not cached).
    pub client_cache_ttl_secs: u64,
    /// PostgreSQL's `statement_timeout` in every transaction (`SET LOCAL`), in ms (0: none).
    pub statement_timeout_ms: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Redis {
    pub url: SecretString,
    pub key_prefix: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Security {
    /// The one token key (the usual case).
    pub token_key: SecretString,
    /// Several token keys, for rotation without downtime: the first makes every new digest,
    /// all verify. A list, or in the environment one comma-separated string. Set this or
    /// `token_key`, not both.
    #[serde(deserialize_with = "secret_list")]
    pub token_keys: Vec<SecretString>,
    pub access_token_ttl_secs: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Argon2 {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    pub concurrency: usize,
    /// How many callers may wait for a hashing slot; one more answers 503 at once.
    pub queue_limit: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mail {
    /// `false` switches email off: nothing is sent by email, and `/otp/send` to an address
    /// answers `insufficient_email_quota`.
    pub enabled: bool,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub from: String,
    pub tls: String,
    pub username: SecretString,
    pub password: SecretString,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sms {
    /// `false` switches SMS off: `/otp/send` to a phone answers `insufficient_sms_quota`.
    pub enabled: bool,
    pub webhook_url: String,
    pub bearer_token: SecretString,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Otp {
    pub code_length: u32,
    pub code_ttl_secs: u64,
    pub token_ttl_secs: u64,
    pub max_attempts: u32,
    pub destination_cooldown_secs: u64,
    pub destination_daily_limit: u32,
    pub per_client_per_minute: u32,
    pub per_ip_per_minute: u32,
    /// Guesses per account per day, across all its channels, codes and clients (NIST SP
    /// 800-63B's ceiling of 100); a deliberate, bounded exception to "no limit spendable
    /// against someone else".
    pub account_guesses_per_day: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub login_failures_per_client_ip_per_minute: u32,
    pub login_per_ip_per_minute: u32,
    pub reset_tokens_per_caller_per_minute: u32,
    /// Password changes (link redemptions, CIAM resets) per client address, before argon2.
    pub password_changes_per_ip_per_minute: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Links {
    /// The longest a reset or setup link lives, Looker's `expires=false` ones included.
    pub max_lifetime_days: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxSettings {
    /// How often each process delivers what committed changes owe (generations to publish,
    /// notices to send).
    pub poll_interval_ms: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Log {
    pub json: bool,
    pub filter: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policies {
    /// How many past passwords every user keeps, whichever policy changed the password: at
    /// least the largest `history_count` in force, so a weaker policy never shortens what a
    /// stronger one checks. Client policies may not ask for more.
    pub history_retention: u32,
    pub default: PasswordPolicy,
    #[serde(default)]
    pub presets: BTreeMap<String, PasswordPolicy>,
}

/// Token keys that are not secrets: placeholders that were published (docs, compose files,
/// tests of earlier versions). Production refuses them; a test keeps every other key-like
/// literal out of the repository (`crates/server/tests/no_literal_keys.rs`).
pub const DENIED_TOKEN_KEYS: &[&str] = &[
    "",
    "change-me",
    "changeme",
    "dev-only-token-key-change-me-0123456789abcdef",
    "compose-only-key-replace-me-with-32-random-bytes",
    "a-local-key-of-at-least-32-bytes-long",
    "benchmark-token-key-of-at-least-32-bytes",
    "an-end-to-end-test-key-of-32-bytes-or-more",
    "a-production-test-key-of-32-bytes-or-more",
    "a-process-test-key-of-32-bytes-or-more!",
];

impl Settings {
    /// Loads the layered configuration from `dir`.
    ///
    /// # Errors
    /// Unreadable files, unknown keys, wrong types.
    pub fn load(dir: &Path, profile: Profile) -> anyhow::Result<Self> {
        let built = config::Config::builder()
            .add_source(config::File::from(dir.join("default.toml")))
            .add_source(config::File::from(dir.join(format!("{}.toml", profile.as_str()))).required(false))
            .add_source(
                config::Environment::with_prefix("RESETD").prefix_separator("__").separator("__").try_parsing(true),
            )
            .build()
            .context("reading the configuration")?;
        let mut settings: Self = built.try_deserialize().context("parsing the configuration")?;
        settings.profile = profile;
        settings.proxy_trust()?;
        settings.policy.default.validate(1).map_err(|e| anyhow::anyhow!("policy.default: {e:?}"))?;
        let keep = settings.policy.history_retention;
        let wanted = std::iter::once(("default", &settings.policy.default))
            .chain(settings.policy.presets.iter().map(|(name, p)| (name.as_str(), p)))
            .find(|(_, p)| p.history_count > keep);
        if let Some((name, p)) = wanted {
            bail!(
                "policy.history_retention ({keep}) is below the history_count of policy {name} ({})",
                p.history_count
            );
        }
        Ok(settings)
    }

    /// Who may name the client in forwarding headers.
    ///
    /// # Errors
    /// An entry of `server.trusted_proxies` that is not an address or a CIDR.
    pub fn proxy_trust(&self) -> anyhow::Result<resetd_api_http::ProxyTrust> {
        let trusted = self
            .server
            .trusted_proxies
            .iter()
            .map(|raw| {
                raw.parse::<ipnet::IpNet>()
                    .or_else(|_| raw.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| anyhow::anyhow!("server.trusted_proxies: {raw:?} is not an address or a CIDR"))
            })
            .collect::<anyhow::Result<_>>()?;
        anyhow::ensure!(self.server.ipv6_prefix_len <= 128, "server.ipv6_prefix_len must be at most 128");
        Ok(resetd_api_http::ProxyTrust { trusted, ipv6_prefix: self.server.ipv6_prefix_len })
    }

    /// The production profile's requirements, as a one-line reason.
    ///
    /// # Errors
    /// When PostgreSQL, Redis or a real token key is missing.
    pub fn check_production(&self) -> anyhow::Result<()> {
        if self.database.url.expose_secret().is_empty() {
            bail!("the production profile requires PostgreSQL: set RESETD__DATABASE__URL");
        }
        if self.redis.url.expose_secret().is_empty() {
            bail!("the production profile requires Redis: set RESETD__REDIS__URL");
        }
        let keys = self.token_keys()?;
        if keys.is_empty() || keys.iter().any(|key| DENIED_TOKEN_KEYS.contains(key) || key.len() < 32) {
            bail!(
                "the production profile requires RESETD__SECURITY__TOKEN_KEY (or RESETD__SECURITY__TOKEN_KEYS): \
                 at least 32 bytes each, not a default"
            );
        }
        self.check_channels()
    }

    /// The configured token keys, the current one first: `security.token_keys`, or
    /// `security.token_key` alone; none in a dev set-up that configures neither.
    ///
    /// # Errors
    /// Both settings given.
    pub fn token_keys(&self) -> anyhow::Result<Vec<&str>> {
        let one = self.security.token_key.expose_secret();
        let many: Vec<&str> = self.security.token_keys.iter().map(ExposeSecret::expose_secret).collect();
        match (one.is_empty(), many.is_empty()) {
            (false, false) => bail!("set security.token_keys or security.token_key, not both"),
            (false, true) => Ok(vec![one]),
            _ => Ok(many),
        }
    }

    /// Outside the dev profile every channel has a real sender or is switched off: nothing
    /// falls back to writing messages (codes, links) to the log.
    ///
    /// # Errors
    /// A switched-on channel without a sender, as a one-line reason.
    pub fn check_channels(&self) -> anyhow::Result<()> {
        if self.profile == Profile::Dev {
            return Ok(());
        }
        if self.mail.enabled && self.mail.smtp_host.is_empty() {
            bail!(
                "email is switched on but has no sender: set RESETD__MAIL__SMTP_HOST, or RESETD__MAIL__ENABLED=false \
                 to switch email off (the log sender exists only in the dev profile)"
            );
        }
        if self.sms.enabled && self.sms.webhook_url.is_empty() {
            bail!(
                "SMS is switched on but has no sender: set RESETD__SMS__WEBHOOK_URL, or RESETD__SMS__ENABLED=false \
                 to switch SMS off (the log sender exists only in the dev profile)"
            );
        }
        Ok(())
    }
}
