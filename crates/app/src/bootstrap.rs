//! Operator commands (`resetd admin …`): the first admin API credential, CIAM clients, users
//! and their status.

use std::sync::Arc;

use resetd_domain::access::{ApiSecret, Role};
use resetd_domain::client::{ClientId, ClientIdError, ClientSecret, ClientType, ClientTypeError};
use resetd_domain::password::{Password, PasswordError};
use resetd_domain::policy::{PolicyConfigError, PolicyViolation};
use resetd_domain::user::{
    Email, EmailError, PhoneNumber, PhoneNumberError, UserId, UserIdError, UserStatus, UserStatusError,
};
use resetd_ports::access::{ApiCredential, ApiCredentialWriteError};
use resetd_ports::audit::AuditKind;
use resetd_ports::clients::{Client, ClientWriteError};

pub use resetd_ports::clients::{ClientPolicy, ClientSwitches};
use resetd_ports::users::{NewUser, UserPatch, UserWriteError};

use crate::password::SetPasswordError;
use crate::{fault, Context, Fault};

/// What an operator's argument got wrong; the CLI (`resetd admin`) words it.
#[derive(Debug, thiserror::Error)]
pub enum InvalidArgument {
    /// Not an email address.
    #[error(transparent)]
    Email(#[from] EmailError),
    /// Not a phone number.
    #[error(transparent)]
    Phone(#[from] PhoneNumberError),
    /// Not a user id.
    #[error(transparent)]
    UserId(#[from] UserIdError),
    /// Not a user status.
    #[error(transparent)]
    Status(#[from] UserStatusError),
    /// Not a client id.
    #[error(transparent)]
    ClientId(#[from] ClientIdError),
    /// Not a client type.
    #[error(transparent)]
    ClientType(#[from] ClientTypeError),
    /// A password no policy could accept (empty, too long for the hasher).
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// No preset of that name is configured.
    #[error("unknown policy preset")]
    UnknownPreset {
        /// The name given.
        name: String,
        /// The configured presets.
        known: Vec<String>,
    },
    /// A client's own policy out of range: every field that is.
    #[error("the policy is out of range")]
    Policy(Vec<PolicyConfigError>),
    /// A client's own policy asks for more history than every user keeps.
    #[error("history_count is above policy.history_retention")]
    HistoryAboveRetention {
        /// The policy's `history_count`.
        count: u32,
        /// `policy.history_retention`.
        retention: u32,
    },
    /// No client has this id.
    #[error("no such client")]
    NoSuchClient(ClientId),
    /// A client's own login settings with a zero lifetime or window.
    #[error("a client's login durations must be at least one second")]
    ClientLogin,
}

/// What an operator command answers instead of its result.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// A bad argument (an email, a client type, a preset, an id).
    #[error("invalid argument: {0}")]
    Invalid(#[from] InvalidArgument),
    /// What the command makes was made at the same moment by another run (or a generated id
    /// collided): nothing was changed; run it again.
    #[error("made concurrently")]
    Concurrent,
    /// The email belongs to another user.
    #[error("the email is already in use")]
    EmailTaken,
    /// The phone number belongs to another user.
    #[error("the phone number is already in use")]
    PhoneTaken,
    /// No such user (or it went away meanwhile).
    #[error("no such user")]
    UserNotFound,
    /// The password breaks the default policy: every rule it breaks.
    #[error("the password does not satisfy the policy")]
    Policy(Vec<PolicyViolation>),
    /// A backend did not answer in time: try again.
    #[error("a backend is unavailable while {0}")]
    Unavailable(Fault),
    /// Anything else, a bug.
    #[error("failed while {0}")]
    Unexpected(Fault),
}

faults_into!(BootstrapError);

/// A new API credential; the secret is shown once.
#[derive(Debug)]
pub struct NewApiCredential {
    /// The user the credential logs in as.
    pub user_id: UserId,
    /// The credential's client id.
    pub client_id: ClientId,
    /// Its secret, shown once (only a digest is stored).
    pub client_secret: ApiSecret,
}

/// A new CIAM client; confidential ones get a secret, shown once.
#[derive(Debug)]
pub struct NewClient {
    /// The client's `client_id`.
    pub client_id: ClientId,
    /// Its secret, shown once; `None` for a public client.
    pub client_secret: Option<ClientSecret>,
}

/// Operator commands (`resetd admin …`).
#[derive(Debug, Clone)]
pub struct BootstrapService {
    pub(crate) ctx: Arc<Context>,
}

impl BootstrapService {
    pub(crate) fn new(ctx: Arc<Context>) -> Self {
        Self { ctx }
    }

    pub(crate) async fn user_with_email(
        &self,
        email: &Email,
        locale: Option<String>,
        phone: Option<PhoneNumber>,
    ) -> Result<resetd_ports::users::User, BootstrapError> {
        let ports = &self.ctx.ports;
        if let Some(user) = ports.users.find_by_email(email).await.map_err(fault("looking up an email"))? {
            return Ok(user);
        }
        // The user and its email credential are one write: a taken email leaves nothing.
        let new = NewUser { locale, phone, email: Some(email.clone()), ..NewUser::default() };
        let user = ports.users.create(new, ports.clock.now()).await.map_err(|e| match e {
            UserWriteError::PhoneTaken => BootstrapError::PhoneTaken,
            UserWriteError::EmailTaken => BootstrapError::EmailTaken,
            UserWriteError::Store(e) => Fault::new("creating a user", e).into(),
        })?;
        ports.audit(AuditKind::UserCreated, Some(user.id), "cli".into(), String::new()).await?;
        Ok(user)
    }

    /// Creates (or reuses) the user with `email` and a new API credential for it.
    ///
    /// # Errors
    /// [`BootstrapError::Invalid`] for a bad email.
    pub async fn create_api_credentials(&self, email: &str, admin: bool) -> Result<NewApiCredential, BootstrapError> {
        let email = Email::parse(email).map_err(InvalidArgument::from)?;
        let user = self.user_with_email(&email, None, None).await?;
        let client_id = ClientId::generate(&mut rand::rngs::OsRng);
        let secret = ApiSecret::generate(&mut rand::rngs::OsRng);
        let credential = ApiCredential {
            client_id: client_id.clone(),
            secret: self.ctx.settings.keys.seal(|k| secret.digest(k)),
            user_id: user.id,
            role: if admin { Role::Admin } else { Role::User },
            created_at: self.ctx.ports.clock.now(),
        };
        self.ctx.ports.api_credentials.create(credential).await.map_err(|e| match e {
            ApiCredentialWriteError::UserNotFound => BootstrapError::UserNotFound,
            ApiCredentialWriteError::Duplicate => BootstrapError::Concurrent,
            ApiCredentialWriteError::Store(e) => Fault::new("storing an API credential", e).into(),
        })?;
        Ok(NewApiCredential { user_id: user.id, client_id, client_secret: secret })
    }

    /// Registers a CIAM application with the default policy, a named preset, or its own.
    ///
    /// # Errors
    /// [`BootstrapError::Invalid`] for an unknown type or preset, or an out-of-range policy.
    pub async fn create_client(
        &self,
        client_type: &str,
        name: &str,
        policy: ClientPolicy,
    ) -> Result<NewClient, BootstrapError> {
        let client_type = ClientType::parse(client_type).map_err(InvalidArgument::from)?;
        match &policy {
            ClientPolicy::Default => {}
            ClientPolicy::Preset(p) if self.ctx.settings.presets.contains_key(p) => {}
            ClientPolicy::Preset(p) => {
                let known = self.ctx.settings.presets.keys().cloned().collect();
                return Err(InvalidArgument::UnknownPreset { name: p.clone(), known }.into());
            }
            ClientPolicy::Custom(p) => {
                p.validate(1).map_err(InvalidArgument::Policy)?;
                let retention = self.ctx.settings.history_retention;
                if p.history_count > retention {
                    return Err(InvalidArgument::HistoryAboveRetention { count: p.history_count, retention }.into());
                }
            }
        }
        let id = ClientId::generate(&mut rand::rngs::OsRng);
        let secret = client_type.requires_secret().then(|| ClientSecret::generate(&mut rand::rngs::OsRng));
        let client = Client {
            id: id.clone(),
            name: name.to_owned(),
            client_type,
            secret: secret.as_ref().map(|s| self.ctx.settings.keys.seal(|k| s.digest(k))),
            policy,
            enabled: true,
            reset_enabled: true,
            public_otp_send: false,
            login: Default::default(),
            created_at: self.ctx.ports.clock.now(),
        };
        self.ctx.ports.clients.create(client).await.map_err(|e| match e {
            ClientWriteError::Duplicate => BootstrapError::Concurrent,
            ClientWriteError::Store(e) => Fault::new("storing a client", e).into(),
        })?;
        Ok(NewClient { client_id: id, client_secret: secret })
    }

    /// Creates a user with an email credential, an optional phone and an optional password
    /// (which must pass the default policy).
    ///
    /// # Errors
    /// [`BootstrapError`].
    pub async fn create_user(
        &self,
        email: &str,
        phone: Option<&str>,
        password: Option<String>,
        locale: Option<String>,
    ) -> Result<UserId, BootstrapError> {
        let email = Email::parse(email).map_err(InvalidArgument::from)?;
        let phone = phone.map(PhoneNumber::parse).transpose().map_err(InvalidArgument::from)?;
        let password = password.map(Password::new).transpose().map_err(InvalidArgument::from)?;
        if self.ctx.ports.users.find_by_email(&email).await.map_err(fault("looking up an email"))?.is_some() {
            return Err(BootstrapError::EmailTaken);
        }
        let policy = self.ctx.default_policy().await?;
        if let Some(p) = &password {
            self.ctx.check_policy(p, &policy, Some(email.clone())).await?.map_err(BootstrapError::Policy)?;
        }
        let user = self.user_with_email(&email, locale, phone).await?;
        if let Some(p) = password {
            self.ctx.set_password(&user, p, &policy, None, "cli".into(), None).await.map_err(|e| match e {
                SetPasswordError::Policy(v) => BootstrapError::Policy(v),
                SetPasswordError::Recurrent | SetPasswordError::Conflict => BootstrapError::Concurrent,
                SetPasswordError::UserGone => BootstrapError::UserNotFound,
                SetPasswordError::Fault(e) => e.into(),
            })?;
        }
        Ok(user.id)
    }

    /// Switches a client on or off, its reset-password flow, its public sends, and sets its own
    /// login settings (token lifetimes, lockout).
    ///
    /// # Errors
    /// [`BootstrapError::Invalid`] for an unknown client.
    pub async fn set_client_switches(&self, client_id: &str, switches: ClientSwitches) -> Result<(), BootstrapError> {
        let id = ClientId::parse(client_id).map_err(InvalidArgument::from)?;
        if switches.login.is_some_and(|l| !l.is_valid()) {
            return Err(InvalidArgument::ClientLogin.into());
        }
        let found = self.ctx.ports.clients.set_switches(&id, switches).await.map_err(fault("updating a client"))?;
        if found {
            Ok(())
        } else {
            Err(InvalidArgument::NoSuchClient(id).into())
        }
    }

    /// Sets a user's status; `active` also lifts a lock of the login lockout.
    ///
    /// # Errors
    /// [`BootstrapError::UserNotFound`], [`BootstrapError::Invalid`].
    pub async fn set_user_status(&self, user_id: &str, status: &str) -> Result<(), BootstrapError> {
        let id = UserId::parse(user_id).map_err(InvalidArgument::from)?;
        let status = UserStatus::parse(status).map_err(InvalidArgument::from)?;
        let before = self.ctx.ports.users.find(id).await.map_err(fault("loading a user"))?;
        let before = before.ok_or(BootstrapError::UserNotFound)?;
        // The change's audit event is written in the same step as the change.
        let audit = (status != before.status).then(|| {
            self.ctx.ports.event(AuditKind::UserStatusChanged, Some(id), "cli".into(), status.as_str().into())
        });
        let patch = UserPatch { status: Some(status), audit: audit.into_iter().collect(), ..UserPatch::default() };
        let updated = self.ctx.ports.users.update(id, patch).await.map_err(|e| match e {
            UserWriteError::PhoneTaken => BootstrapError::PhoneTaken,
            UserWriteError::EmailTaken => BootstrapError::EmailTaken,
            UserWriteError::Store(e) => Fault::new("updating a user", e).into(),
        })?;
        let updated = updated.ok_or(BootstrapError::UserNotFound)?;
        self.ctx.after_status_change(&before, &updated).await;
        // `active` is the operator's unlock: it lifts a lock of the login lockout too.
        if status == UserStatus::Active {
            let subject = resetd_ports::login::LockoutSubject::User(id);
            self.ctx.ports.lockout.clear(&subject).await.map_err(fault("clearing the login lockout"))?;
        }
        Ok(())
    }
}
