//! Typed configuration: `config/default.toml` < `config/{profile}.toml` < `RESETD__…`.

mod redis;
mod sections;

use std::path::Path;

use anyhow::{bail, Context as _};
use secrecy::ExposeSecret;
use serde::Deserialize;

pub use redis::{Redis, RedisMode, SentinelTlsSetting};
pub use sections::{
    Argon2, Breached, Ciam, Database, Dev, Limits, Links, Log, Login, Mail, Oidc, Otp, OutboxSettings, Policies,
    Security, Server, Sms,
};

fn dev() -> Profile {
    Profile::Dev
}

/// Where resetd runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Development: in-memory stores when no database or Redis URL is set, messages written to
    /// the log for a channel without a sender, a random token key when none is set.
    Dev,
    /// Production: PostgreSQL, Redis, a real token key and a sender for every switched-on
    /// channel, or resetd refuses to start ([`Settings::check_production`]).
    Production,
}

impl Profile {
    /// Reads a profile name, as `RESETD_PROFILE` gives it; empty means `dev`.
    ///
    /// # Errors
    /// For anything but `dev` and `production`.
    pub fn parse(raw: &str) -> anyhow::Result<Self> {
        match raw {
            "" | "dev" => Ok(Self::Dev),
            "production" => Ok(Self::Production),
            other => bail!("RESETD_PROFILE must be dev or production, not {other:?}"),
        }
    }

    /// The profile's name, as in `RESETD_PROFILE` and `config/{name}.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dev => "dev",
            Self::Production => "production",
        }
    }
}

/// The whole configuration: one field per section of `config/default.toml`, where every key
/// is documented with its default. [`Settings::load`] reads it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The profile the settings were loaded for (not a key of the files).
    #[serde(skip, default = "dev")]
    pub profile: Profile,
    /// `[server]`: the listener, public URLs, deadlines and trusted proxies.
    pub server: Server,
    /// `[database]`: PostgreSQL.
    pub database: Database,
    /// `[redis]`: Redis.
    pub redis: Redis,
    /// `[security]`: the token keys and the Looker session lifetime.
    pub security: Security,
    /// `[dev]`: the dev profile's conveniences.
    pub dev: Dev,
    /// `[argon2]`: the cost of a password hash and how many run at once.
    pub argon2: Argon2,
    /// `[mail]`: email delivery.
    pub mail: Mail,
    /// `[sms]`: SMS delivery.
    pub sms: Sms,
    /// `[breached]`: the breached-password check.
    pub breached: Breached,
    /// `[otp]`: the CIAM one-time codes.
    pub otp: Otp,
    /// `[limits]`: rate limits on Looker logins, reset links, password changes and tokens.
    pub limits: Limits,
    /// `[oidc]`: the issuer and the signing keys of the CIAM tokens.
    pub oidc: Oidc,
    /// `[ciam]`: the lifetimes of the CIAM tokens.
    pub ciam: Ciam,
    /// `[login]`: the login lockout.
    pub login: Login,
    /// `[links]`: reset and setup links.
    pub links: Links,
    /// `[outbox]`: delivery of what committed changes owe.
    pub outbox: OutboxSettings,
    /// `[log]`: logging.
    pub log: Log,
    /// `[policy]`: password policies and the history they check.
    pub policy: Policies,
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
        if self.oidc.signing_key.expose_secret().is_empty() && self.oidc.signing_key_file.is_empty() {
            bail!(
                "the production profile requires a token signing key: set RESETD__OIDC__SIGNING_KEY (a PKCS#8 PEM \
                 P-256 or RSA key; every process must use the same one) or RESETD__OIDC__SIGNING_KEY_FILE"
            );
        }
        self.check_channels()
    }

    /// The signing keys of the CIAM tokens: the configured ones, or in dev without any a key
    /// generated now.
    ///
    /// # Errors
    /// An unreadable key or key file, both `signing_key` and `signing_key_file` given.
    pub fn signer(&self) -> anyhow::Result<resetd_domain::oidc::Signer> {
        use resetd_domain::oidc::{Signer, SigningKey};
        let o = &self.oidc;
        let text = o.signing_key.expose_secret();
        let pem = match (text.is_empty(), o.signing_key_file.is_empty()) {
            (false, false) => bail!("set oidc.signing_key or oidc.signing_key_file, not both"),
            (false, true) => Some(secrecy::SecretString::from(text.to_owned())),
            (true, false) => {
                let read = std::fs::read_to_string(&o.signing_key_file)
                    .with_context(|| format!("reading oidc.signing_key_file {}", o.signing_key_file))?;
                Some(secrecy::SecretString::from(read))
            }
            (true, true) => None,
        };
        let current = match pem {
            Some(pem) => SigningKey::from_pem(&pem).context("oidc.signing_key")?,
            None => {
                tracing::warn!(
                    "no oidc.signing_key: signing with a key generated now, so tokens die with this process"
                );
                SigningKey::generate_es256().context("generating a signing key")?.0
            }
        };
        let previous = o
            .previous_keys
            .iter()
            .enumerate()
            .map(|(i, pem)| SigningKey::from_pem(pem).with_context(|| format!("oidc.previous_keys entry {}", i + 1)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Signer::new(current, previous))
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
