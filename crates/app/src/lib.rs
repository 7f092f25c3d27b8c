//! resetd's use cases. Each module is one flow over the ports (`Arc<dyn Port>`); it owns the
//! order of checks, which is security-relevant: nothing expensive (argon2) runs before the
//! caller has proved something (an admin token, a live reset token, a right OTP).

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

pub mod bootstrap;
pub mod cache;
pub mod ciam;
pub mod first_run;
pub mod hashing;
pub mod keys;
mod limit_keys;
pub mod looker;
pub mod outbox;
pub mod password;
pub mod redeem;
mod settings;

use std::sync::Arc;

pub use resetd_ports::budget;
pub use settings::{OtpSettings, RateLimit, Settings};

use resetd_ports::access::{AccessTokenStore, ApiCredentialStore};
use resetd_ports::audit::{AuditEvent, AuditKind, AuditLog};
use resetd_ports::clients::ClientRegistry;
use resetd_ports::clock::Clock;
use resetd_ports::credentials::CredentialStore;
use resetd_ports::hasher::PasswordHasher;
use resetd_ports::health::ChannelHealth;
use resetd_ports::keys::KeyUsageStore;
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
    pub users: Arc<dyn UserStore>,
    pub credentials: Arc<dyn CredentialStore>,
    pub api_credentials: Arc<dyn ApiCredentialStore>,
    pub access_tokens: Arc<dyn AccessTokenStore>,
    pub clients: Arc<dyn ClientRegistry>,
    pub policies: Arc<dyn PolicyStore>,
    pub audit: Arc<dyn AuditLog>,
    pub key_usage: Arc<dyn KeyUsageStore>,
    pub otps: Arc<dyn OtpStore>,
    pub outbox: Arc<dyn Outbox>,
    pub rate_limiter: Arc<dyn RateLimiter>,
    pub notifier: Arc<dyn Notifier>,
    pub health: Arc<dyn ChannelHealth>,
    pub hasher: Arc<dyn PasswordHasher>,
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
        let event = AuditEvent { at: self.clock.now(), kind, user_id, actor, detail };
        self.audit.record(event).await.map_err(fault("recording an audit event"))
    }
}

/// The use cases, built once at start-up and shared by the HTTP handlers.
#[derive(Debug, Clone)]
pub struct App {
    pub looker: looker::LookerService,
    pub redeem: redeem::RedeemService,
    pub ciam: ciam::CiamService,
    pub bootstrap: bootstrap::BootstrapService,
    pub keys: keys::KeyService,
    pub outbox: outbox::OutboxWorker,
}

impl App {
    /// The public base URL (links and Looker self-links).
    pub fn looker_base(&self) -> String {
        self.looker.base_url()
    }

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
