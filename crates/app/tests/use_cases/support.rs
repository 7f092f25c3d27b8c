use std::sync::Arc;

use chrono::{DateTime, Utc};
use resetd_app::{App, Ports, Settings};
use resetd_domain::client::{ClientId, ClientSecret, ClientType};
use resetd_domain::keyed::TokenKey;
use resetd_domain::keyring::KeyRing;
use resetd_domain::password::{Argon2Hasher, Argon2Params, Password, PasswordHash};
use resetd_domain::user::{Email, UserId, UserStatus};
use resetd_ports::access::{MockAccessTokenStore, MockApiCredentialStore};
use resetd_ports::audit::MockAuditLog;
use resetd_ports::breached::MockBreachedPasswords;
use resetd_ports::clients::{Client, ClientPolicy, MockClientRegistry};
use resetd_ports::clock::Clock;
use resetd_ports::credentials::{MockCredentialStore, PasswordState};
use resetd_ports::hasher::MockPasswordHasher;
use resetd_ports::health::MockChannelHealth;
use resetd_ports::keys::MockKeyUsageStore;
use resetd_ports::login::{MockLoginLockout, MockRefreshTokenStore};
use resetd_ports::notify::MockNotifier;
use resetd_ports::otp::MockOtpStore;
use resetd_ports::outbox::MockOutbox;
use resetd_ports::policy::MockPolicyStore;
use resetd_ports::rate_limit::{MockRateLimiter, RateDecision};
use resetd_ports::users::{MockUserStore, User};
use resetd_ports::StoreError;

#[derive(Debug)]
pub struct Fixed;

impl Clock for Fixed {
    fn now(&self) -> DateTime<Utc> {
        resetd_ports::testkit::t0()
    }
}

/// Every port as a mock; an unexpected call fails the test (but for the lockout's `clear`
/// after a password change, allowed by default: replace `lockout` to assert on it).
pub struct Mocks {
    pub users: MockUserStore,
    pub credentials: MockCredentialStore,
    pub api_credentials: MockApiCredentialStore,
    pub access_tokens: MockAccessTokenStore,
    pub clients: MockClientRegistry,
    pub policies: MockPolicyStore,
    pub audit: MockAuditLog,
    pub key_usage: MockKeyUsageStore,
    pub otps: MockOtpStore,
    pub refresh_tokens: MockRefreshTokenStore,
    pub lockout: MockLoginLockout,
    pub outbox: MockOutbox,
    pub rate_limiter: MockRateLimiter,
    pub notifier: MockNotifier,
    pub health: MockChannelHealth,
    pub hasher: MockPasswordHasher,
    /// `None`: no breached-password service, as without `breached.api_url`.
    pub breached: Option<MockBreachedPasswords>,
}

impl Default for Mocks {
    fn default() -> Self {
        let mut lockout = MockLoginLockout::new();
        lockout.expect_clear().returning(|_| Ok(()));
        Self {
            users: MockUserStore::new(),
            credentials: MockCredentialStore::new(),
            api_credentials: MockApiCredentialStore::new(),
            access_tokens: MockAccessTokenStore::new(),
            clients: MockClientRegistry::new(),
            policies: MockPolicyStore::new(),
            audit: MockAuditLog::new(),
            key_usage: MockKeyUsageStore::new(),
            otps: MockOtpStore::new(),
            refresh_tokens: MockRefreshTokenStore::new(),
            lockout,
            outbox: MockOutbox::new(),
            rate_limiter: MockRateLimiter::new(),
            notifier: MockNotifier::new(),
            health: MockChannelHealth::new(),
            hasher: MockPasswordHasher::new(),
            breached: None,
        }
    }
}

/// One random key per test process: the mocks and the tests digest with the same one.
pub fn key() -> TokenKey {
    static KEY: std::sync::OnceLock<TokenKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| TokenKey::generate(&mut rand::rngs::OsRng)).clone()
}

impl Mocks {
    pub fn app(self) -> App {
        self.app_with_keys(KeyRing::single(key()))
    }

    /// The app with several token keys (rotation), the first current.
    pub fn app_with_keys(self, keys: KeyRing) -> App {
        self.app_with(|s| s.keys = keys)
    }

    /// The app with its settings changed from the tests' defaults (mail off, presets).
    pub fn app_with(self, change: impl FnOnce(&mut Settings)) -> App {
        let ports = Ports {
            users: Arc::new(self.users),
            credentials: Arc::new(self.credentials),
            api_credentials: Arc::new(self.api_credentials),
            access_tokens: Arc::new(self.access_tokens),
            clients: Arc::new(self.clients),
            policies: Arc::new(self.policies),
            audit: Arc::new(self.audit),
            key_usage: Arc::new(self.key_usage),
            otps: Arc::new(self.otps),
            refresh_tokens: Arc::new(self.refresh_tokens),
            lockout: Arc::new(self.lockout),
            outbox: Arc::new(self.outbox),
            rate_limiter: Arc::new(self.rate_limiter),
            notifier: Arc::new(self.notifier),
            health: Arc::new(self.health),
            hasher: Arc::new(self.hasher),
            breached: self.breached.map(|b| Arc::new(b) as Arc<dyn resetd_ports::breached::BreachedPasswords>),
            clock: Arc::new(Fixed),
        };
        let mut settings = Settings::new("https://reset.example.com", key());
        change(&mut settings);
        App::new(ports, settings)
    }

    pub fn allow_rate(&mut self) {
        self.rate_limiter.expect_hit().returning(|_, _, _| Ok(RateDecision::Allowed));
        self.rate_limiter.expect_count().returning(|_| Ok(0));
        self.rate_limiter.expect_undo().returning(|_| Ok(()));
        self.rate_limiter.expect_clear().returning(|_| Ok(()));
        self.rate_limiter.expect_hit_all().returning(|checks| Ok(vec![RateDecision::Allowed; checks.len()]));
    }

    pub fn no_default_policy(&mut self) {
        self.policies.expect_default_policy().returning(|| Ok(None));
    }

    pub fn quiet_audit(&mut self) {
        self.audit.expect_record().returning(|_| Ok(()));
    }

    /// A registered client of `client_type` whose secret is `secret`.
    pub fn client(&mut self, client_type: ClientType, secret: &ClientSecret, enabled: bool, reset_enabled: bool) {
        let c = Client {
            id: ClientId::parse("app").unwrap(),
            name: "app".into(),
            client_type,
            secret: client_type.requires_secret().then(|| KeyRing::single(key()).seal(|k| secret.digest(k))),
            policy: ClientPolicy::Default,
            enabled,
            reset_enabled,
            public_otp_send: false,
            login: Default::default(),
            created_at: resetd_ports::testkit::t0(),
        };
        self.clients.expect_find().returning(move |_| Ok(Some(c.clone())));
    }

    pub fn password_state(&mut self, current: Option<PasswordHash>) {
        self.credentials.expect_password_state().returning(move |_, _| {
            Ok(Some(PasswordState { current: current.clone(), history: Vec::new(), version: 3 }))
        });
    }
}

pub fn user(status: UserStatus) -> User {
    User {
        id: UserId::from_i64(7).unwrap(),
        first_name: Some("Ada".into()),
        last_name: None,
        locale: Some("es".into()),
        phone: None,
        status,
        email: Some(Email::parse("ada@example.com").unwrap()),
        has_password: true,
        generation: 0,
        created_at: resetd_ports::testkit::t0(),
    }
}

pub fn some_hash() -> PasswordHash {
    let h = Argon2Hasher::new(Argon2Params { memory_kib: 8, iterations: 1, parallelism: 1 }).unwrap();
    h.hash(&Password::new("Old-Zeppelin-42".into()).unwrap(), &mut rand::rngs::OsRng).unwrap()
}

/// A backend that could not answer in time: every use case answers its `Unavailable` variant.
pub fn down() -> StoreError {
    StoreError::unavailable("down")
}

/// Any other store failure: every use case answers its `Unexpected` variant.
pub fn broken() -> StoreError {
    StoreError::unexpected("broken")
}
