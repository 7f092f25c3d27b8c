//! resetd's use cases. Each module is one flow over the ports (`Arc<dyn Port>`); it owns the
//! order of checks, which is security-relevant: nothing expensive (argon2) runs before the
//! caller has proved something (an admin token, a live reset token, a right OTP).
//!
//! To reuse them, fill [`Ports`] with adapters (`resetd-adapters-memory`, `-postgres`,
//! `-redis`, `-notify`, or your own implementations of the `resetd-ports` traits), pick
//! [`Settings`], and build [`App::new`] once; clone it freely. Its fields are the services:
//! [`ciam`] (Tencent CIAM one-time codes and resets), [`looker`] (Looker API 4.0 users,
//! credentials, reset links), [`redeem`] (the reset-link page), [`bootstrap`] and [`keys`]
//! (operator commands) and [`outbox`] (the worker you run on a timer). Every use case answers
//! its own error enum, whose `Unavailable` variant means "a backend did not answer in time,
//! try again" and whose `Unexpected` variant a bug; the HTTP words live in `resetd-api-http`.
//!
//! ```
//! use std::sync::Arc;
//!
//! use resetd_adapters_memory::MemoryStore;
//! use resetd_app::bootstrap::ClientPolicy;
//! use resetd_app::ciam::{ClientCredentials, SendOtp};
//! use resetd_app::hashing::BlockingArgon2;
//! use resetd_app::{App, Ports, Settings};
//! use resetd_domain::keyed::TokenKey;
//! use resetd_domain::password::Argon2Params;
//! use resetd_ports::clock::SystemClock;
//! use resetd_ports::notify::{Notification, Notifier, NotifyError};
//!
//! /// Delivers nothing: a real service uses `resetd-adapters-notify`.
//! #[derive(Debug)]
//! struct Discard;
//!
//! #[async_trait::async_trait]
//! impl Notifier for Discard {
//!     async fn send(&self, _: Notification) -> Result<(), NotifyError> {
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let clock = Arc::new(SystemClock);
//! let memory = Arc::new(MemoryStore::new(clock.clone()));
//! let ports = Ports {
//!     users: memory.clone(),
//!     credentials: memory.clone(),
//!     api_credentials: memory.clone(),
//!     access_tokens: memory.clone(),
//!     clients: memory.clone(),
//!     policies: memory.clone(),
//!     audit: memory.clone(),
//!     key_usage: memory.clone(),
//!     otps: memory.clone(),
//!     refresh_tokens: memory.clone(),
//!     lockout: memory.clone(),
//!     outbox: memory.clone(),
//!     rate_limiter: memory.clone(),
//!     health: memory,
//!     notifier: Arc::new(Discard),
//!     hasher: Arc::new(BlockingArgon2::new(Argon2Params::default(), 2, 64)?),
//!     breached: None,
//!     clock,
//! };
//! let key = TokenKey::generate(&mut rand::rngs::OsRng);
//! let app = App::new(ports, Settings::new("https://reset.example.com", key));
//!
//! // An account and a confidential CIAM client, as `resetd admin` makes them.
//! app.bootstrap.create_user("ana@example.com", None, None, Some("es".into())).await?;
//! let client = app.bootstrap.create_client("web", "shop", ClientPolicy::Default).await?;
//!
//! // `POST /otp/send`: the code goes to the notifier, the token back to the caller.
//! let creds = ClientCredentials {
//!     client_id: client.client_id.as_str().to_owned(),
//!     client_secret: client.client_secret.map(|s| s.expose().to_owned().into()),
//! };
//! let request = SendOtp {
//!     usage: Some("reset_password".into()),
//!     email: Some("ana@example.com".into()),
//!     ..SendOtp::default()
//! };
//! let otp_token = app.ciam.send_otp(&creds, request).await?;
//! # let _ = otp_token;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

/// `From<Fault>` for use-case error enums: a backend that could not answer in time becomes
/// the enum's `Unavailable` variant, anything else its `Unexpected` variant, so `?` works on
/// port results and every enum says both outcomes in its own type.
macro_rules! faults_into {
    ($($error:ty),+ $(,)?) => {$(
        impl From<$crate::Fault> for $error {
            fn from(f: $crate::Fault) -> Self {
                if f.is_unavailable() { Self::Unavailable(f) } else { Self::Unexpected(f) }
            }
        }
    )+};
}

pub mod audit_batch;
pub mod bootstrap;
pub mod cache;
pub mod ciam;
pub mod first_run;
pub mod hashing;
pub mod keys;
mod limit_keys;
pub mod looker;
pub mod outbox;
mod password;
pub mod redeem;
mod settings;

use std::sync::Arc;

pub use resetd_ports::budget;
pub use settings::{LoginSettings, OtpSettings, RateLimit, Settings};

use resetd_ports::access::{AccessTokenStore, ApiCredentialStore};
use resetd_ports::audit::{AuditEvent, AuditKind, AuditLog};
use resetd_ports::breached::BreachedPasswords;
use resetd_ports::clients::ClientRegistry;
use resetd_ports::clock::Clock;
use resetd_ports::credentials::CredentialStore;
use resetd_ports::hasher::PasswordHasher;
use resetd_ports::health::ChannelHealth;
use resetd_ports::keys::KeyUsageStore;
use resetd_ports::login::{LoginLockout, RefreshTokenStore};
use resetd_ports::notify::Notifier;
use resetd_ports::otp::OtpStore;
use resetd_ports::outbox::Outbox;
use resetd_ports::policy::PolicyStore;
use resetd_ports::rate_limit::RateLimiter;
use resetd_ports::users::UserStore;
use resetd_ports::StoreError;

/// Every port a use case may need.
#[derive(Clone)]
pub struct Ports {
    /// Users: identity, profile, status and password.
    pub users: Arc<dyn UserStore>,
    /// Email credentials (Looker `credentials_email`), reset tokens and password changes.
    pub credentials: Arc<dyn CredentialStore>,
    /// Looker API credentials: client id, secret digest, role.
    pub api_credentials: Arc<dyn ApiCredentialStore>,
    /// Looker API sessions (bearer access tokens).
    pub access_tokens: Arc<dyn AccessTokenStore>,
    /// CIAM applications (`client_id`): type, secret digest, policy and switches.
    pub clients: Arc<dyn ClientRegistry>,
    /// The default password policy, as edited through Looker's `password_config`.
    pub policies: Arc<dyn PolicyStore>,
    /// The audit trail; a flow whose event cannot be recorded fails.
    pub audit: Arc<dyn AuditLog>,
    /// What still depends on each token key (`resetd admin key-status`).
    pub key_usage: Arc<dyn KeyUsageStore>,
    /// CIAM one-time-code challenges.
    pub otps: Arc<dyn OtpStore>,
    /// CIAM login sessions (refresh-token families).
    pub refresh_tokens: Arc<dyn RefreshTokenStore>,
    /// The CIAM login lockout.
    pub lockout: Arc<dyn LoginLockout>,
    /// What committed changes still owe (published generations, notices), delivered by
    /// [`outbox::OutboxWorker`].
    pub outbox: Arc<dyn Outbox>,
    /// Fixed-window rate limits shared by every process.
    pub rate_limiter: Arc<dyn RateLimiter>,
    /// Renders and delivers notices by email or SMS.
    pub notifier: Arc<dyn Notifier>,
    /// Whether a delivery channel is failing, shared by every process.
    pub health: Arc<dyn ChannelHealth>,
    /// Hashes and verifies passwords off the async runtime ([`hashing::BlockingArgon2`]).
    pub hasher: Arc<dyn PasswordHasher>,
    /// The breached-password range service; `None`: no check (`breached.api_url` unset).
    pub breached: Option<Arc<dyn BreachedPasswords>>,
    /// The time source: expiries, rate-limit windows and audit times follow it.
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Ports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ports").finish_non_exhaustive()
    }
}

impl Ports {
    /// Records an audit event. A failure fails the flow (503 while the database is away): an
    /// action that cannot be audited is not reported as done.
    pub(crate) async fn audit(
        &self,
        kind: AuditKind,
        user_id: Option<resetd_domain::user::UserId>,
        actor: String,
        detail: String,
    ) -> Result<(), Fault> {
        let event = self.event(kind, user_id, actor, detail);
        self.audit.record(event).await.map_err(fault("recording an audit event"))
    }

    /// An audit event happening now, for a port to write in the same step as its change.
    pub(crate) fn event(
        &self,
        kind: AuditKind,
        user_id: Option<resetd_domain::user::UserId>,
        actor: String,
        detail: String,
    ) -> AuditEvent {
        AuditEvent { at: self.clock.now(), kind, user_id, actor, detail }
    }
}

/// The use cases, built once at start-up and shared by the HTTP handlers.
#[derive(Debug, Clone)]
pub struct App {
    /// Looker API 4.0: sessions, users, credentials, password config.
    pub looker: looker::LookerService,
    /// The reset-link page: checking and redeeming a link.
    pub redeem: redeem::RedeemService,
    /// Tencent CIAM: sending a one-time code, resetting a password with it.
    pub ciam: ciam::CiamService,
    /// Operator commands (`resetd admin …`).
    pub bootstrap: bootstrap::BootstrapService,
    /// Token-key rotation: what depends on which key.
    pub keys: keys::KeyService,
    /// Delivers what committed changes owe; call [`outbox::OutboxWorker::run_once`] on a timer.
    pub outbox: outbox::OutboxWorker,
}

impl App {
    /// The public base URL (links and Looker self-links).
    pub fn looker_base(&self) -> String {
        self.looker.base_url()
    }

    /// Builds every service over `ports` and `settings`. Policy checks run at most one per
    /// core at a time.
    pub fn new(ports: Ports, settings: Settings) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let ctx = Arc::new(Context { ports, settings, checks: Arc::new(tokio::sync::Semaphore::new(cores)) });
        Self {
            looker: looker::LookerService::new(ctx.clone()),
            redeem: redeem::RedeemService::new(ctx.clone()),
            ciam: ciam::CiamService::new(ctx.clone()),
            bootstrap: bootstrap::BootstrapService::new(ctx.clone()),
            keys: keys::KeyService::new(ctx.clone()),
            outbox: outbox::OutboxWorker::new(ctx),
        }
    }
}

/// What every service holds.
#[derive(Debug)]
pub(crate) struct Context {
    pub ports: Ports,
    pub settings: Settings,
    /// Policy checks running at once (off the async workers).
    pub checks: Arc<tokio::sync::Semaphore>,
}

impl Context {
    /// Counts a hit on `key` against `limit`: `Some(retry_after)` when it refuses.
    pub(crate) async fn limited(&self, key: &str, limit: RateLimit) -> Result<Option<std::time::Duration>, Fault> {
        let decided = self.ports.rate_limiter.hit(key, limit.limit, limit.window).await;
        Ok(match decided.map_err(fault("rate limiting"))? {
            resetd_ports::rate_limit::RateDecision::Allowed => None,
            resetd_ports::rate_limit::RateDecision::Limited { retry_after } => Some(retry_after),
        })
    }
}

/// An infrastructure failure inside a use case, with what it was doing: each use case's error
/// enum turns it into its `Unavailable` variant when a backend could not answer in time
/// ([`Fault::is_unavailable`]: refused, hung past the budget; answered 503, try again) or its
/// `Unexpected` variant otherwise (a bug; answered 500). The HTTP layer logs the cause and
/// answers with fixed words.
#[derive(Debug, thiserror::Error)]
#[error("{context}")]
pub struct Fault {
    /// What the use case was doing ("loading a user").
    pub context: &'static str,
    /// The port's error.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
    unavailable: bool,
}

impl Fault {
    pub(crate) fn new(context: &'static str, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        let source = source.into();
        let unavailable = matches!(source.downcast_ref::<StoreError>(), Some(StoreError::Unavailable(_)))
            || matches!(
                source.downcast_ref::<resetd_ports::hasher::HasherError>(),
                Some(resetd_ports::hasher::HasherError::Busy)
            );
        Self { context, source, unavailable }
    }

    /// Whether a backend could not be reached in time (the answer is a 503: try again).
    pub fn is_unavailable(&self) -> bool {
        self.unavailable
    }
}

/// `?` on a port error inside a use case: `.map_err(fault("doing x"))?`.
pub(crate) fn fault<E: Into<Box<dyn std::error::Error + Send + Sync>>>(
    context: &'static str,
) -> impl FnOnce(E) -> Fault {
    move |e| Fault::new(context, e)
}
