//! The contract suite: behaviour every adapter of a port must show, written once.
//!
//! Each function takes the adapter under test (fresh: an empty database, a unique Redis
//! prefix) and panics on the first broken rule. Adapter crates call them from their own
//! tests; `adapters-memory` also runs them against deliberately broken wrappers to show the
//! suite fails when a rule is broken.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod access;
mod clock;
mod emails;
mod keys;
mod lifecycle;
mod login;
mod otp;
mod registry;
mod stores;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use resetd_domain::keyed::Digest;
use resetd_domain::keyring::Sealed;

pub use access::{access_token_store, api_credential_store, channel_health, rate_limiter};
pub use clock::ManualClock;
pub use emails::emails_written_with_their_user;
pub use keys::{key_usage, KeyedStores};
pub use lifecycle::{changes_write_their_records, outstanding_links_die};
pub use login::{login_lockout, refresh_token_store};
pub use otp::{otp_store, sent_otp, Sent};
pub use registry::{audit_log, client_registry, policy_store};
pub use stores::{credential_store, user_store};

/// Moves the time the adapter sees forward: `tokio::time::sleep` for backends with their own
/// clock (Redis TTLs), [`ManualClock::advance`] for the in-memory adapters.
pub type Advance = Box<dyn Fn(Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// The audit event of a reset link issued to `user` at `at`.
pub(crate) fn issued(user: resetd_domain::user::UserId, at: chrono::DateTime<chrono::Utc>) -> crate::audit::AuditEvent {
    crate::audit::AuditEvent {
        at,
        kind: crate::audit::AuditKind::ResetTokenIssued,
        user_id: Some(user),
        actor: "test".into(),
        detail: "password_reset".into(),
    }
}

/// The audit event of deleting `user` at `at`.
pub(crate) fn deleted(
    user: resetd_domain::user::UserId,
    at: chrono::DateTime<chrono::Utc>,
) -> crate::audit::AuditEvent {
    crate::audit::AuditEvent { kind: crate::audit::AuditKind::UserDeleted, detail: String::new(), ..issued(user, at) }
}

/// An [`Advance`] that sleeps for real.
pub fn sleeping() -> Advance {
    Box::new(|d| Box::pin(tokio::time::sleep(d)))
}

/// A fixed, whole-second instant to start tests from.
pub fn t0() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_900_000_000, 0).unwrap_or_default()
}

pub(crate) fn key() -> resetd_domain::keyed::TokenKey {
    resetd_domain::keyed::TokenKey::generate(&mut rand::rngs::OsRng)
}

/// `digest` as stored under `key`.
pub(crate) fn sealed(key: &resetd_domain::keyed::TokenKey, digest: Digest) -> Sealed {
    Sealed { digest, key: Some(key.id()) }
}

/// A unique-enough suffix so tests sharing a backend do not collide.
pub fn unique(prefix: &str) -> String {
    use rand::Rng as _;
    format!("{prefix}{:016x}", rand::rngs::OsRng.gen::<u64>())
}
