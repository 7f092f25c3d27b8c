//! What the use cases are configured with.

use std::collections::BTreeMap;
use std::time::Duration;

use resetd_domain::keyed::TokenKey;
use resetd_domain::keyring::KeyRing;
use resetd_domain::oidc::{Signer, SigningKey};
use resetd_domain::policy::PasswordPolicy;
use resetd_ports::login::LockoutRule;

/// A limit of `limit` hits per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Hits allowed per window.
    pub limit: u32,
    /// The fixed window the hits are counted in.
    pub window: Duration,
}

impl RateLimit {
    /// `limit` hits per `window_secs` seconds.
    pub const fn new(limit: u32, window_secs: u64) -> Self {
        Self { limit, window: Duration::from_secs(window_secs) }
    }
}

/// One-time-code settings (CIAM).
#[derive(Debug, Clone)]
pub struct OtpSettings {
    /// Digits in a code.
    pub code_length: u32,
    /// How long the code is accepted.
    pub code_ttl: Duration,
    /// How long the `otp_token` lives (at least `code_ttl`).
    pub token_ttl: Duration,
    /// Wrong guesses allowed per code.
    pub max_attempts: u32,
    /// Sends per destination (email address or phone number) within the cooldown: usually 1.
    pub destination_cooldown: RateLimit,
    /// Sends per destination per day.
    pub destination_daily: RateLimit,
    /// Sends per CIAM client.
    pub per_client: RateLimit,
    /// Sends per caller address.
    pub per_ip: RateLimit,
    /// Verification attempts per account across all of its codes.
    pub account_guesses: RateLimit,
}

impl Default for OtpSettings {
    fn default() -> Self {
        Self {
            code_length: 6,
            code_ttl: Duration::from_secs(60),
            token_ttl: Duration::from_secs(300),
            max_attempts: 5,
            destination_cooldown: RateLimit::new(1, 30),
            destination_daily: RateLimit::new(50, 86_400),
            per_client: RateLimit::new(1_000, 60),
            per_ip: RateLimit::new(100, 60),
            account_guesses: RateLimit::new(100, 86_400),
        }
    }
}

/// CIAM logins: the token endpoint, its tokens and the login lockout.
#[derive(Debug, Clone)]
pub struct LoginSettings {
    /// The `iss` of every token and the discovery document (`oidc.issuer`).
    pub issuer: String,
    /// The keys tokens are signed with (`oidc.signing_key`, `oidc.previous_keys`); `None`
    /// only if the development key could not be generated, and then no login succeeds.
    pub signer: Option<Signer>,
    /// How long an access token (and an ID token) lives (`ciam.access_token_ttl_secs`).
    pub access_ttl: Duration,
    /// How long a refresh token lives unused (`ciam.refresh_token_ttl_secs`); each refresh
    /// starts it again.
    pub refresh_ttl: Duration,
    /// How long after a refresh a retry of it gets the same answer (`ciam.refresh_grace_secs`).
    pub refresh_grace: Duration,
    /// The login lockout (`login.lockout_*`).
    pub lockout: LockoutRule,
    /// Token requests per source address, checked before any argon2 work.
    pub per_ip: RateLimit,
    /// Tokens issued per client; failed credentials never count against it.
    pub per_client: RateLimit,
}

/// The login settings in force for one client's logins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LoginRules {
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    pub lockout: LockoutRule,
}

impl LoginSettings {
    /// The settings for one client's logins: its own token lifetimes in place of the service's,
    /// and the stricter of its own lockout and the service's (a client can tighten the lockout,
    /// never loosen it: an attacker must not pick the laxest client to guess through).
    pub(crate) fn for_client(&self, own: &resetd_ports::clients::ClientLogin) -> LoginRules {
        let secs = |v: Option<u32>, default: Duration| v.map_or(default, |s| Duration::from_secs(u64::from(s.max(1))));
        let threshold = match (self.lockout.threshold, own.lockout_threshold.unwrap_or(0)) {
            (0, t) | (t, 0) => t,
            (a, b) => a.min(b),
        };
        LoginRules {
            access_ttl: secs(own.access_token_ttl_secs, self.access_ttl),
            refresh_ttl: secs(own.refresh_token_ttl_secs, self.refresh_ttl),
            lockout: LockoutRule {
                threshold,
                window: secs(own.lockout_window_secs, self.lockout.window).max(self.lockout.window),
                lock_for: secs(own.lockout_secs, self.lockout.lock_for).max(self.lockout.lock_for),
            },
        }
    }

    /// The defaults, issuing as `issuer` with a key generated now (development and tests).
    pub fn new(issuer: &str) -> Self {
        let signer = match SigningKey::generate_es256() {
            Ok((key, _)) => Some(Signer::new(key, Vec::new())),
            Err(e) => {
                tracing::error!(error = %e, "no signing key could be generated: logins will fail");
                None
            }
        };
        Self {
            issuer: issuer.trim_end_matches('/').to_owned(),
            signer,
            access_ttl: Duration::from_secs(600),
            refresh_ttl: Duration::from_secs(86_400),
            refresh_grace: Duration::from_secs(10),
            lockout: LockoutRule {
                threshold: 5,
                window: Duration::from_secs(3_600),
                lock_for: Duration::from_secs(900),
            },
            per_ip: RateLimit::new(60, 60),
            per_client: RateLimit::new(100_000, 60),
        }
    }
}

/// Settings of the use cases.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Base of links in emails and API answers, without a trailing slash.
    pub public_base_url: String,
    /// The token keys: the first makes every new digest, all verify (key rotation).
    pub keys: KeyRing,
    /// How long a Looker API session (access token) lives.
    pub access_token_ttl: Duration,
    /// Failed Looker logins per client id and source address.
    pub login_failures: RateLimit,
    /// Looker login attempts per source address.
    pub login_per_ip: RateLimit,
    /// The longest a reset or setup link lives, `expires=false` ones included.
    pub link_max_lifetime: Duration,
    /// Password changes (link redemptions, CIAM resets) per client address: checked before
    /// any argon2 work.
    pub changes_per_ip: RateLimit,
    /// Reset-token creations per admin.
    pub reset_per_caller: RateLimit,
    /// The default policy until `password_config` sets one.
    pub default_policy: PasswordPolicy,
    /// Named policies for CIAM clients.
    pub presets: BTreeMap<String, PasswordPolicy>,
    /// Past passwords every user keeps, whichever policy changed the password (at least the
    /// largest `history_count` in force).
    pub history_retention: u32,
    /// The CIAM one-time codes.
    pub otp: OtpSettings,
    /// Whether email is delivered at all (`mail.enabled`).
    pub email_enabled: bool,
    /// Whether SMS is delivered at all (`sms.enabled`).
    pub sms_enabled: bool,
    /// When the breached-password service cannot answer: accept the password (`true`, with a
    /// warning and `resetd_breached_check_failures_total`) or answer 503 (`false`).
    pub breached_fail_open: bool,
    /// CIAM logins.
    pub login: LoginSettings,
}

impl Settings {
    /// Settings for tests and the dev profile, with a given key.
    pub fn new(public_base_url: &str, token_key: TokenKey) -> Self {
        Self {
            public_base_url: public_base_url.trim_end_matches('/').to_owned(),
            keys: KeyRing::single(token_key),
            access_token_ttl: Duration::from_secs(3600),
            login_failures: RateLimit::new(30, 60),
            login_per_ip: RateLimit::new(120, 60),
            reset_per_caller: RateLimit::new(10_000, 60),
            changes_per_ip: RateLimit::new(60, 60),
            link_max_lifetime: Duration::from_secs(30 * 86_400),
            default_policy: PasswordPolicy::default(),
            presets: BTreeMap::new(),
            history_retention: 10,
            otp: OtpSettings::default(),
            email_enabled: true,
            sms_enabled: true,
            breached_fail_open: true,
            login: LoginSettings::new(public_base_url),
        }
    }

    /// Whether messages go out on `channel`.
    pub(crate) fn delivers(&self, channel: resetd_domain::otp::Channel) -> bool {
        match channel {
            resetd_domain::otp::Channel::Email => self.email_enabled,
            resetd_domain::otp::Channel::Sms => self.sms_enabled,
        }
    }
}
