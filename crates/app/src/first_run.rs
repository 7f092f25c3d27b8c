//! Everything a newcomer needs to get in, made once: an admin Looker API credential, a web and
//! an SPA CIAM client (the SPA one opted in to `/otp/send`), and a demo user with an email, a
//! phone number and a password. The dev profile makes them at start; `resetd admin bootstrap`
//! makes them in a real database. Fixed ids make it idempotent: a second run changes nothing
//! and reports what exists; `rotate` mints new secrets for the credential and the web client.

use rand::distributions::{Alphanumeric, DistString as _};
use resetd_domain::access::{ApiSecret, Role};
use resetd_domain::client::{ClientId, ClientSecret, ClientType};
use resetd_domain::user::{Email, PhoneNumber, UserId};
use resetd_ports::access::{ApiCredential, ApiCredentialWriteError};
use resetd_ports::clients::{Client, ClientPolicy, ClientWriteError};
use secrecy::SecretString;

use crate::bootstrap::{BootstrapError, BootstrapService};
use crate::{fault, Fault};

/// The admin Looker API credential's client id.
pub const ADMIN_CLIENT_ID: &str = "resetd-admin";
/// The email of the admin credential's user.
pub const ADMIN_EMAIL: &str = "admin@example.com";
/// The confidential (web) CIAM client.
pub const WEB_CLIENT_ID: &str = "resetd-web";
/// The public (SPA) CIAM client, opted in to `/otp/send`.
pub const SPA_CLIENT_ID: &str = "resetd-spa";
/// The demo user's email.
pub const DEMO_EMAIL: &str = "demo@example.com";
/// The demo user's phone number (a fictional +1 555 number).
pub const DEMO_PHONE: &str = "+15555550123";

/// What a bootstrap made or found. A secret is `Some` only when this run minted it (they are
/// stored as digests: an existing one cannot be shown again).
#[derive(Debug)]
pub struct Bootstrapped {
    /// The admin credential ([`ADMIN_CLIENT_ID`]).
    pub admin_client_id: ClientId,
    /// Its secret, when this run minted it.
    pub admin_secret: Option<ApiSecret>,
    /// The admin credential's user.
    pub admin_user_id: UserId,
    /// The web client ([`WEB_CLIENT_ID`]).
    pub web_client_id: ClientId,
    /// Its secret, when this run minted it.
    pub web_secret: Option<ClientSecret>,
    /// The SPA client ([`SPA_CLIENT_ID`]); public, it has no secret.
    pub spa_client_id: ClientId,
    /// The demo user.
    pub user_id: UserId,
    /// The demo user's email ([`DEMO_EMAIL`]).
    pub user_email: Email,
    /// The demo user's phone number ([`DEMO_PHONE`]).
    pub user_phone: PhoneNumber,
    /// The demo user's password, when this run created the user.
    pub user_password: Option<SecretString>,
}

/// One of this module's fixed ids, parsed (a failure is a bug).
fn fixed(id: &str) -> Result<ClientId, BootstrapError> {
    ClientId::parse(id).map_err(|e| Fault::new("parsing a fixed client id", e).into())
}

/// One of this module's fixed addresses, parsed (a failure is a bug).
fn parsed<T, E: std::error::Error + Send + Sync + 'static>(r: Result<T, E>) -> Result<T, BootstrapError> {
    r.map_err(|e| Fault::new("parsing a fixed address", e).into())
}

impl BootstrapService {
    /// Makes (or finds) the admin credential, the two clients and the demo user.
    ///
    /// # Errors
    /// [`BootstrapError`]: a store failure, or the demo's email or phone taken by another user.
    pub async fn bootstrap(&self, rotate: bool) -> Result<Bootstrapped, BootstrapError> {
        let (admin_user_id, admin_secret) = self.admin(rotate).await?;
        let web_secret = self.client(WEB_CLIENT_ID, ClientType::Web, rotate).await?;
        self.client(SPA_CLIENT_ID, ClientType::Spa, rotate).await?;
        let user_email = parsed(Email::parse(DEMO_EMAIL))?;
        let user_phone = parsed(PhoneNumber::parse(DEMO_PHONE))?;
        let found = self.ctx.ports.users.find_by_email(&user_email).await.map_err(fault("finding the demo user"))?;
        let (user_id, user_password) = match found {
            Some(user) => (user.id, None),
            None => {
                // Random, and shaped to pass any sane policy: letters of both cases, digits.
                let password = format!("Zeppelin-{}-7", Alphanumeric.sample_string(&mut rand::rngs::OsRng, 16));
                let id = self.create_user(DEMO_EMAIL, Some(DEMO_PHONE), Some(password.clone()), None).await?;
                (id, Some(SecretString::from(password)))
            }
        };
        Ok(Bootstrapped {
            admin_client_id: fixed(ADMIN_CLIENT_ID)?,
            admin_secret,
            admin_user_id,
            web_client_id: fixed(WEB_CLIENT_ID)?,
            web_secret,
            spa_client_id: fixed(SPA_CLIENT_ID)?,
            user_id,
            user_email,
            user_phone,
            user_password,
        })
    }

    async fn admin(&self, rotate: bool) -> Result<(UserId, Option<ApiSecret>), BootstrapError> {
        let ports = &self.ctx.ports;
        let keys = &self.ctx.settings.keys;
        let id = fixed(ADMIN_CLIENT_ID)?;
        let secret = ApiSecret::generate(&mut rand::rngs::OsRng);
        match ports.api_credentials.find(&id).await.map_err(fault("finding the admin credential"))? {
            Some(c) if rotate => {
                let fresh = keys.seal(|k| secret.digest(k));
                let reseal = ports.api_credentials.reseal(&id, &c.secret.digest, &fresh);
                reseal.await.map_err(fault("rotating the admin secret"))?;
                Ok((c.user_id, Some(secret)))
            }
            Some(c) => Ok((c.user_id, None)),
            None => {
                let user = self.user_with_email(&parsed(Email::parse(ADMIN_EMAIL))?, None, None).await?;
                let credential = ApiCredential {
                    client_id: id,
                    secret: keys.seal(|k| secret.digest(k)),
                    user_id: user.id,
                    role: Role::Admin,
                    created_at: ports.clock.now(),
                };
                ports.api_credentials.create(credential).await.map_err(|e| match e {
                    ApiCredentialWriteError::UserNotFound => BootstrapError::UserNotFound,
                    ApiCredentialWriteError::Duplicate => BootstrapError::Concurrent,
                    ApiCredentialWriteError::Store(e) => Fault::new("storing the admin credential", e).into(),
                })?;
                Ok((user.id, Some(secret)))
            }
        }
    }

    /// The fixed client `id`; its new secret when this run minted one (confidential types).
    async fn client(
        &self,
        id: &str,
        client_type: ClientType,
        rotate: bool,
    ) -> Result<Option<ClientSecret>, BootstrapError> {
        let ports = &self.ctx.ports;
        let keys = &self.ctx.settings.keys;
        let id = fixed(id)?;
        let secret = client_type.requires_secret().then(|| ClientSecret::generate(&mut rand::rngs::OsRng));
        let sealed = secret.as_ref().map(|s| keys.seal(|k| s.digest(k)));
        match ports.clients.find(&id).await.map_err(fault("finding a bootstrap client"))? {
            Some(c) if rotate => match (c.secret, sealed) {
                (Some(old), Some(fresh)) => {
                    let reseal = ports.clients.reseal(&id, &old.digest, &fresh);
                    reseal.await.map_err(fault("rotating a client secret"))?;
                    Ok(secret)
                }
                _ => Ok(None),
            },
            Some(_) => Ok(None),
            None => {
                let client = Client {
                    id,
                    name: format!("bootstrap {}", client_type.as_str()),
                    client_type,
                    secret: sealed,
                    policy: ClientPolicy::Default,
                    enabled: true,
                    reset_enabled: true,
                    // The SPA exists to show the self-service flow from a browser.
                    public_otp_send: !client_type.requires_secret(),
                    login: Default::default(),
                    created_at: ports.clock.now(),
                };
                ports.clients.create(client).await.map_err(|e| match e {
                    ClientWriteError::Duplicate => BootstrapError::Concurrent,
                    ClientWriteError::Store(e) => Fault::new("storing a bootstrap client", e).into(),
                })?;
                Ok(secret)
            }
        }
    }
}
