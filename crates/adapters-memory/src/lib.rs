//! Every resetd port in memory, behind one lock: the embedded default of the `dev` profile
//! and a fast backend for tests. Nothing persists across restarts.
//!
//! Times to live (access tokens, login sessions, rate-limit windows, login locks) follow the
//! injected [`Clock`], so tests can move time without sleeping. The same contract suite as the
//! PostgreSQL and Redis adapters runs against this one.
//!
//! One [`MemoryStore`] implements every storage port, so one `Arc` fills any or all of the
//! storage fields of `resetd_app::Ports` (a host keeps its own users, say, and lets this
//! store hold the rest):
//!
//! ```
//! use std::sync::Arc;
//!
//! use resetd_adapters_memory::MemoryStore;
//! use resetd_domain::user::Email;
//! use resetd_ports::clock::{Clock, SystemClock};
//! use resetd_ports::credentials::CredentialStore;
//! use resetd_ports::users::{NewUser, UserStore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let clock = Arc::new(SystemClock);
//! let store = Arc::new(MemoryStore::new(clock.clone()));
//! let (users, credentials): (Arc<dyn UserStore>, Arc<dyn CredentialStore>) = (store.clone(), store);
//!
//! let user = users.create(NewUser::default(), clock.now()).await?;
//! let email = Email::parse("ana@example.com")?;
//! credentials.create(user.id, &email, clock.now()).await?;
//! assert_eq!(users.find_by_email(&email).await?.map(|u| u.id), Some(user.id));
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod durable;
mod ephemeral;
mod keys;
mod login;
mod outbox;
mod users;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use resetd_domain::access::Role;
use resetd_domain::keyed::Digest;
use resetd_domain::otp::OtpChallenge;
use resetd_domain::password::PasswordHash;
use resetd_domain::reset_token::ResetTokenKind;
use resetd_domain::user::{Email, PhoneNumber, UserId, UserStatus};
use resetd_ports::access::ApiCredential;
use resetd_ports::audit::AuditEvent;
use resetd_ports::clients::Client;
use resetd_ports::clock::Clock;
use resetd_ports::policy::StoredPolicy;

/// All ports in memory.
#[derive(Debug)]
pub struct MemoryStore {
    state: Mutex<State>,
    clock: Arc<dyn Clock>,
}

impl MemoryStore {
    /// An empty store whose times to live follow `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self { state: Mutex::new(State::default()), clock }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data: every write is a single step.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[derive(Debug, Default)]
struct State {
    next_user: i64,
    users: BTreeMap<i64, UserRow>,
    credentials: HashMap<i64, CredentialRow>,
    history: HashMap<i64, Vec<PasswordHash>>,
    api_credentials: HashMap<String, ApiCredential>,
    clients: HashMap<String, Client>,
    policy: Option<StoredPolicy>,
    audit: Vec<AuditEvent>,
    otps: HashMap<Digest, OtpEntry>,
    windows: HashMap<String, (u32, DateTime<Utc>)>,
    /// API sessions by user and token digest: role, generation at issue, expiry.
    sessions: HashMap<(UserId, Digest), (Role, i64, DateTime<Utc>)>,
    /// Each user's published credential generation.
    generations: HashMap<UserId, i64>,
    outbox: Vec<outbox::OutboxRow>,
    /// Channels marked failing, until when.
    failing: HashMap<resetd_domain::otp::Channel, DateTime<Utc>>,
    /// Login sessions (refresh-token families) by user and family id.
    families: HashMap<(UserId, resetd_domain::login::FamilyId), login::FamilyRow>,
    /// Failed logins counted per subject, and when their window ends.
    login_failures: HashMap<login::Subject, (u32, DateTime<Utc>)>,
    /// Locked subjects, until when.
    login_locks: HashMap<login::Subject, DateTime<Utc>>,
    next_outbox: i64,
}

#[derive(Debug, Clone)]
struct UserRow {
    first_name: Option<String>,
    last_name: Option<String>,
    locale: Option<String>,
    phone: Option<PhoneNumber>,
    status: UserStatus,
    password: Option<PasswordHash>,
    version: i64,
    generation: i64,
    created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
struct CredentialRow {
    email: Email,
    created_at: DateTime<Utc>,
    forced_reset: bool,
    token: Option<TokenRow>,
}

#[derive(Debug, Clone, Copy)]
struct TokenRow {
    digest: Digest,
    key: Option<resetd_domain::keyed::KeyId>,
    kind: ResetTokenKind,
    issued_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
struct OtpEntry {
    challenge: OtpChallenge,
    claim: Option<String>,
}

fn random_id() -> String {
    use rand::RngCore as _;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}
