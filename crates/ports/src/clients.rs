//! CIAM applications (clients).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use resetd_domain::client::{ClientId, ClientType};
use resetd_domain::keyed::Digest;
use resetd_domain::keyring::Sealed;
use resetd_domain::policy::PasswordPolicy;

use crate::StoreError;

/// Which password policy a client's users get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientPolicy {
    /// The default policy (the one Looker's `password_config` edits).
    Default,
    /// A named preset from configuration.
    Preset(String),
    /// The client's own settings.
    Custom(PasswordPolicy),
}

/// A client's own login settings: its token lifetimes replace the service's
/// (`ciam.*_ttl_secs`) for its logins; its lockout settings (`login.lockout_*`) apply where they
/// are stricter than the service's (a lower threshold, a longer window or lock), never where
/// they are laxer. A lock is the user's, whichever client's rule set it, so it holds for every
/// client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientLogin {
    /// How long this client's access and ID tokens live, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_ttl_secs: Option<u32>,
    /// How long this client's refresh tokens live unused, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_ttl_secs: Option<u32>,
    /// Failed logins through this client that lock the account, when below the service's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lockout_threshold: Option<u32>,
    /// How long those failures are counted, in seconds, when longer than the service's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lockout_window_secs: Option<u32>,
    /// How long a lock set through this client lasts, in seconds, when longer than the service's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lockout_secs: Option<u32>,
}

impl ClientLogin {
    /// Whether every duration set is at least one second (a zero lifetime would issue dead
    /// tokens).
    pub fn is_valid(&self) -> bool {
        [self.access_token_ttl_secs, self.refresh_token_ttl_secs, self.lockout_window_secs, self.lockout_secs]
            .into_iter()
            .flatten()
            .all(|secs| secs > 0)
    }
}

/// A registered application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// The `client_id`, unique among clients (given by the operator or generated).
    pub id: ClientId,
    /// The display name the operator gave.
    pub name: String,
    /// The application type; it decides whether the client must present a secret.
    pub client_type: ClientType,
    /// Digest of the secret with the id of its key; `None` for public clients.
    pub secret: Option<Sealed>,
    /// Which password policy the client's users get.
    pub policy: ClientPolicy,
    /// Whether the client may call the API at all (an operator switch): a disabled client is
    /// answered as an unknown one.
    pub enabled: bool,
    /// The "reset password" flow switch (contract §6.3 `misconfigured`).
    pub reset_enabled: bool,
    /// A public client (SPA, mobile) may call `/otp/send` only when an operator opted it in:
    /// with no secret, anyone can trigger sends in its name.
    pub public_otp_send: bool,
    /// The client's own login settings (token lifetimes, lockout), where they differ.
    pub login: ClientLogin,
    /// When the client was registered (the caller's clock).
    pub created_at: DateTime<Utc>,
}

/// The operator's switches of a client; `None` leaves a switch alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientSwitches {
    /// The new [`Client::enabled`].
    pub enabled: Option<bool>,
    /// The new [`Client::reset_enabled`].
    pub reset_enabled: Option<bool>,
    /// The new [`Client::public_otp_send`].
    pub public_otp_send: Option<bool>,
    /// The new [`Client::login`] (replacing the whole of it).
    pub login: Option<ClientLogin>,
}

impl Client {
    /// Sets the switches that `switches` names.
    pub fn switch(&mut self, switches: ClientSwitches) {
        self.enabled = switches.enabled.unwrap_or(self.enabled);
        self.reset_enabled = switches.reset_enabled.unwrap_or(self.reset_enabled);
        self.public_otp_send = switches.public_otp_send.unwrap_or(self.public_otp_send);
        self.login = switches.login.unwrap_or(self.login);
    }
}

/// Why a client was not registered.
#[derive(Debug, thiserror::Error)]
pub enum ClientWriteError {
    /// Another client has this id.
    #[error("the client id is taken")]
    Duplicate,
    /// The backend failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The registered CIAM applications, read on every CIAM request.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ClientRegistry: Send + Sync {
    /// Registers a new client.
    ///
    /// # Errors
    /// [`ClientWriteError::Duplicate`].
    async fn create(&self, client: Client) -> Result<(), ClientWriteError>;

    /// The client with this id; `None` when there is none.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn find(&self, id: &ClientId) -> Result<Option<Client>, StoreError>;

    /// Sets the switches that `switches` names; `false` when there is no such client.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn set_switches(&self, id: &ClientId, switches: ClientSwitches) -> Result<bool, StoreError>;

    /// Replaces the secret's digest with `new` (the same secret under the current key) if the
    /// stored one is still `old`; a client changed meanwhile is left alone.
    ///
    /// # Errors
    /// [`StoreError`] only.
    async fn reseal(&self, id: &ClientId, old: &Digest, new: &Sealed) -> Result<(), StoreError>;
}
