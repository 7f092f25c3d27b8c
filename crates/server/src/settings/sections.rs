//! The sections of [`Settings`](super::Settings), one struct each, as in `config/default.toml`.

use std::collections::BTreeMap;

use resetd_domain::policy::PasswordPolicy;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

/// How resetd listens, and what it tells its clients.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    /// The address to listen on, `host:port` (`127.0.0.1:8080`; `0.0.0.0:8080` in production);
    /// port 0 picks a free port.
    pub bind: String,
    /// Base of links in emails and API answers; empty: [`Application::build`] uses
    /// `http://<bound address>`.
    ///
    /// [`Application::build`]: crate::Application::build
    pub public_base_url: String,
    /// Base of `documentation_url` in Looker errors. It must not look like Looker's own error
    /// URLs, or the Looker SDK fetches a CDN index on every error.
    pub docs_base_url: String,
    /// How long one request may take, in seconds (30; 0 counts as 1); past it the answer is a
    /// 503 in the API's dialect.
    pub request_timeout_secs: u64,
    /// CIDRs of the proxies whose `X-Forwarded-For` / `Forwarded` name the client; a list, or
    /// in the environment one comma-separated string.
    #[serde(deserialize_with = "list")]
    pub trusted_proxies: Vec<String>,
    /// Leading bits that name one IPv6 client for per-address limits (64).
    pub ipv6_prefix_len: u8,
    /// How long all the store calls of one request may take together, in ms (1000; 0 counts
    /// as 1); past it the request answers 503 in its API's dialect.
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

/// PostgreSQL: users, credentials, clients, policies, the audit trail and the outbox.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    /// The PostgreSQL URL; empty: in-memory stores (dev profile only).
    pub url: SecretString,
    /// The most connections each process's pool opens (16).
    pub max_connections: u32,
    /// How long a CIAM client record is cached in the process, in seconds (10; 0: not cached);
    /// a disabled client or a rotated secret takes effect everywhere within it.
    pub client_cache_ttl_secs: u64,
    /// PostgreSQL's `statement_timeout` in every transaction (`SET LOCAL`), in ms (0: none).
    pub statement_timeout_ms: u64,
    /// Named prepared statements (true); off behind PgBouncer in transaction mode.
    pub statement_cache: bool,
    /// PostgreSQL itself, for the migrations (they hold a session lock); empty: `url`.
    pub migrate_url: SecretString,
}

impl Database {
    /// Where the migrations run: `migrate_url`, else `url`. An error when `statement_cache` is
    /// off (`url` goes through PgBouncer in transaction mode) and `migrate_url` empty.
    pub fn migration_url(&self) -> anyhow::Result<&str> {
        let direct = self.migrate_url.expose_secret();
        anyhow::ensure!(
            self.statement_cache || !direct.is_empty(),
            "database.statement_cache = false (PgBouncer in transaction mode) needs RESETD__DATABASE__MIGRATE_URL, \
             a URL of PostgreSQL itself for the migrations"
        );
        Ok(if direct.is_empty() { self.url.expose_secret() } else { direct })
    }
}

/// The token keys and the Looker session lifetime.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Security {
    /// The one token key (the usual case): the HMAC-SHA-256 key of token and code digests, at
    /// least 32 bytes. Empty in dev: a random key per start (links and sessions die with the
    /// process).
    pub token_key: SecretString,
    /// Several token keys, for rotation without downtime: the first makes every new digest,
    /// all verify. A list, or in the environment one comma-separated string. Set this or
    /// `token_key`, not both.
    #[serde(deserialize_with = "secret_list")]
    pub token_keys: Vec<SecretString>,
    /// How long a Looker API session (access token) lives, in seconds (3600).
    pub access_token_ttl_secs: u64,
}

/// The argon2id cost of a password hash (OWASP's: 19456 KiB, t=2, p=1) and how many hashes
/// run at once.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Argon2 {
    /// Memory per hash, in KiB (19456).
    pub memory_kib: u32,
    /// Passes over that memory, argon2's `t` (2).
    pub iterations: u32,
    /// Lanes per hash, argon2's `p` (1).
    pub parallelism: u32,
    /// How many hashes may run at once (0: the number of CPUs, the default).
    pub concurrency: usize,
    /// How many callers may wait for a hashing slot (64); one more answers 503 at once.
    pub queue_limit: usize,
}

/// Email delivery through an SMTP relay.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mail {
    /// `false` switches email off: nothing is sent by email, and `/otp/send` to an address
    /// answers `insufficient_email_quota`.
    pub enabled: bool,
    /// The SMTP relay; empty: messages are written to the log in the dev profile, and the
    /// production profile refuses to start with email switched on.
    pub smtp_host: String,
    /// The relay's port (25).
    pub smtp_port: u16,
    /// The `From` mailbox (`resetd <no-reply@localhost>`).
    pub from: String,
    /// How the connection is secured: `none` (the default), `starttls` or `tls`; anything
    /// else is refused at start.
    pub tls: String,
    /// The SMTP `AUTH` user, given with `password`; both empty: no `AUTH`.
    pub username: SecretString,
    /// The SMTP `AUTH` password, given with `username`; both empty: no `AUTH`.
    pub password: SecretString,
}

/// SMS delivery through a webhook.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sms {
    /// `false` switches SMS off: `/otp/send` to a phone answers `insufficient_sms_quota`.
    pub enabled: bool,
    /// The webhook that is posted `{"to", "text", "template", "language"}` as JSON; empty:
    /// messages are written to the log in the dev profile, and the production profile refuses
    /// to start with SMS switched on.
    pub webhook_url: String,
    /// Sent to the webhook as `Authorization: Bearer …`; empty: no `Authorization` header.
    pub bearer_token: SecretString,
}

/// The breached-password check: a k-anonymity range API asked for every new password.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Breached {
    /// The range API's base URL, the SHA-1 prefix appended (`…/range/`); empty: no check.
    pub api_url: String,
    /// How long one lookup may take, in ms (1000).
    pub timeout_ms: u64,
    /// When the service cannot answer: accept the password (`true`, the default, with a
    /// warning and a metric) or answer 503 (`false`).
    pub fail_open: bool,
}

/// The CIAM one-time codes (`/otp/send`, `/reset_user_password`): length, lifetimes, guesses
/// and sending limits.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Otp {
    /// Digits in a code (6), from 1 to 12.
    pub code_length: u32,
    /// How long a code is accepted, in seconds (60, the contract's for `reset_password`); up
    /// to 300 if emailed codes arrive late.
    pub code_ttl_secs: u64,
    /// How long the `otp_token` lives, in seconds (300); less than `code_ttl_secs` counts as
    /// `code_ttl_secs`.
    pub token_ttl_secs: u64,
    /// Wrong guesses allowed per code (5).
    pub max_attempts: u32,
    /// Seconds before the same destination (email address or phone number) can be sent
    /// another code (30).
    pub destination_cooldown_secs: u64,
    /// Codes sent per destination per day (50).
    pub destination_daily_limit: u32,
    /// Codes sent per CIAM client per minute (1000).
    pub per_client_per_minute: u32,
    /// Codes sent per caller address per minute (100).
    pub per_ip_per_minute: u32,
    /// Guesses per account per day, across all its channels, codes and clients (NIST SP
    /// 800-63B's ceiling of 100, the default); a deliberate, bounded exception to "no limit spendable
    /// against someone else".
    pub account_guesses_per_day: u32,
}

/// Rate limits of the Looker API and of password changes, per minute.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Failed Looker logins per API client id and source address (30): a right secret from
    /// another address still logs in, so guessing a secret cannot lock an integration out.
    pub login_failures_per_client_ip_per_minute: u32,
    /// Looker login attempts per source address (120).
    pub login_per_ip_per_minute: u32,
    /// Reset and setup links one Looker API caller may create (10000).
    pub reset_tokens_per_caller_per_minute: u32,
    /// Password changes (link redemptions, CIAM resets) per client address, before argon2 (60).
    pub password_changes_per_ip_per_minute: u32,
    /// CIAM token requests per source address, before argon2 (60).
    pub token_per_ip_per_minute: u32,
    /// Tokens issued per CIAM client; failed credentials never count (100000).
    pub token_per_client_per_minute: u32,
}

/// The keys and issuer of the CIAM tokens.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Oidc {
    /// The `iss` of every token; empty: `server.public_base_url`.
    pub issuer: String,
    /// The PKCS#8 PEM signing key (P-256: ES256, RSA: RS256); required in production, empty
    /// in dev (a key generated at start).
    pub signing_key: SecretString,
    /// A file holding the signing key, instead of `signing_key`.
    pub signing_key_file: String,
    /// Keys that signed before a rotation: published in the JWKS and accepted.
    #[serde(deserialize_with = "secret_list")]
    pub previous_keys: Vec<SecretString>,
}

/// The lifetimes of the CIAM tokens.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ciam {
    /// How long an access token and an ID token live, in seconds (600).
    pub access_token_ttl_secs: u64,
    /// How long a refresh token lives unused, in seconds (86400).
    pub refresh_token_ttl_secs: u64,
    /// How long after a refresh a retry of it gets the same answer, in seconds (10).
    pub refresh_grace_secs: u64,
}

/// The login lockout.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// Failed logins that lock the account (5); 0 switches the lockout off.
    pub lockout_threshold: u32,
    /// How long failures are counted from the first one, in seconds (3600).
    pub lockout_window_secs: u64,
    /// How long the lock lasts, in seconds (900).
    pub lockout_secs: u64,
}

/// Reset and setup links.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Links {
    /// The longest a reset or setup link lives, Looker's `expires=false` ones included, in days
    /// (30; 0 counts as 1).
    pub max_lifetime_days: u32,
}

/// The outbox worker of each process.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxSettings {
    /// How often each process delivers what committed changes owe (generations to publish,
    /// notices to send), in ms (1000; below 10 counts as 10).
    pub poll_interval_ms: u64,
}

/// Logging, to stderr.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Log {
    /// One JSON object per line (`true` in production) instead of readable text (`false`).
    pub json: bool,
    /// The `tracing` filter, in `RUST_LOG` syntax (`info,sqlx=warn`); `RUST_LOG`, when set,
    /// overrides it.
    pub filter: String,
}

/// Password policies, and the password history they check.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policies {
    /// How many past passwords every user keeps, whichever policy changed the password: at
    /// least the largest `history_count` in force, so a weaker policy never shortens what a
    /// stronger one checks (10). Client policies may not ask for more.
    pub history_retention: u32,
    /// The default password policy, until Looker's `PATCH /password_config` stores one.
    pub default: PasswordPolicy,
    /// Named policies for CIAM clients (`resetd admin create-client --policy NAME`); none when
    /// the files name none.
    #[serde(default)]
    pub presets: BTreeMap<String, PasswordPolicy>,
}
