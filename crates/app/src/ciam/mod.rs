//! The Tencent CIAM self-service side: `POST /otp/send` (here) and `POST /reset_user_password`
//! (`reset`).

mod account;
mod login;
mod reset;
mod send;
mod tokens;

pub use account::{ChangeOwnPassword, ChangeOwnPasswordError, RevokeError};
pub use login::{PasswordGrant, RefreshGrant, TokenError};
pub use tokens::{BearerError, Tokens};

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use resetd_domain::client::{ClientId, ClientSecret};
use resetd_domain::otp::{Channel, Recipient};
use resetd_domain::policy::PolicyViolation;
use resetd_domain::user::{Email, PhoneNumber};
use resetd_ports::clients::Client;
use resetd_ports::users::User;

use crate::{fault, Context, Fault};

/// How many recent delivery times are kept.
const DELIVERY_SAMPLES: usize = 64;

/// Client credentials as presented (HTTP Basic or body).
#[derive(Debug, Clone, Default)]
pub struct ClientCredentials {
    /// The `client_id` as sent.
    pub client_id: String,
    /// The `client_secret` as sent; `None` when none was (public clients need none).
    pub client_secret: Option<secrecy::SecretString>,
}

/// `/otp/send` input.
#[derive(Debug, Clone, Default)]
pub struct SendOtp {
    /// The `usage` as sent; only `reset_password` is served.
    pub usage: Option<String>,
    /// Where to send the code: exactly one of `email` and `phone_number` (an empty string counts
    /// as absent).
    pub email: Option<String>,
    /// Where to send the code by SMS; see `email`.
    pub phone_number: Option<String>,
    /// The caller's address (the per-address limit), when known.
    pub ip: Option<std::net::IpAddr>,
}

/// `/reset_user_password` input: one complete triple and a password. `Debug` shows which
/// fields are present and the addresses, never the password, codes or tokens.
#[derive(Clone, Default)]
pub struct ResetWithOtp {
    /// The new password.
    pub password: Option<String>,
    /// The address the code went to; with `email_otp_token` and `email_otp`, the email triple.
    pub email: Option<String>,
    /// The `otp_token` `/otp/send` answered for `email`.
    pub email_otp_token: Option<String>,
    /// The code sent to `email`.
    pub email_otp: Option<String>,
    /// The number the code went to; with `phone_number_otp_token` and `phone_number_otp`, the phone triple.
    pub phone_number: Option<String>,
    /// The `otp_token` `/otp/send` answered for `phone_number`.
    pub phone_number_otp_token: Option<String>,
    /// The code sent to `phone_number`.
    pub phone_number_otp: Option<String>,
    /// The caller's address (limits), when known.
    pub ip: Option<std::net::IpAddr>,
}

impl std::fmt::Debug for ResetWithOtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "[redacted]");
        f.debug_struct("ResetWithOtp")
            .field("password", &hidden(&self.password))
            .field("email", &self.email)
            .field("email_otp_token", &hidden(&self.email_otp_token))
            .field("email_otp", &hidden(&self.email_otp))
            .field("phone_number", &self.phone_number)
            .field("phone_number_otp_token", &hidden(&self.phone_number_otp_token))
            .field("phone_number_otp", &hidden(&self.phone_number_otp))
            .field("ip", &self.ip)
            .finish()
    }
}

/// What `authenticate` answers instead of the application.
#[derive(Debug, thiserror::Error)]
pub enum ClientAuthError {
    /// An unknown or switched-off client, or a confidential one without its right secret.
    #[error("client authentication failed")]
    InvalidClient,
    /// A backend did not answer in time: answered 503, try again.
    #[error("a backend is unavailable while {0}")]
    Unavailable(Fault),
    /// Anything else, a bug: answered 500.
    #[error("failed while {0}")]
    Unexpected(Fault),
}

/// What is wrong with a request's parameters (the HTTP layer words it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadRequest {
    /// `usage` is missing, or a usage this service does not serve (only `reset_password`).
    UsageUnsupported,
    /// `usage` names no usage this service knows.
    UsageUnknown,
    /// Neither or both of `email` and `phone_number`.
    NotOneRecipient,
    /// A reset without a password and exactly one complete triple of address, token and code.
    MissingParameters,
}

/// A status that may not reset its password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockedStatus {
    /// Locked by an administrator (or, for a password change, by the login lockout).
    Locked,
    /// Frozen by an administrator.
    Frozen,
    /// Switched off by an administrator.
    Disabled,
}

/// What `send_otp` answers instead of a token.
#[derive(Debug, thiserror::Error)]
pub enum SendOtpError {
    /// An unknown or switched-off client, or a confidential one without its right secret.
    #[error("client authentication failed")]
    InvalidClient,
    /// A public client that no operator opted in to sending.
    #[error("a public client may not send")]
    PublicClientMayNotSend,
    /// The client's reset flow is switched off: a code could never be used.
    #[error("the client's reset flow is off")]
    Misconfigured,
    /// What is wrong with the request's parameters.
    #[error("bad request: {0:?}")]
    BadRequest(BadRequest),
    /// `email` is not an email address.
    #[error("malformed email")]
    MalformedEmail,
    /// `phone_number` is not a phone number.
    #[error("malformed phone number")]
    MalformedPhoneNumber,
    /// The channel is switched off on this server (`mail.enabled` / `sms.enabled`).
    #[error("the {0:?} channel is switched off")]
    ChannelOff(Channel),
    /// The destination's cooldown or daily cap.
    #[error("rate limited on {channel:?}")]
    DestinationRateLimited {
        /// The destination's channel.
        channel: Channel,
        /// How long until the destination may be sent to again.
        retry_after: Duration,
    },
    /// The client's or the address's limit.
    #[error("rate limited")]
    RateLimited {
        /// How long until the limit lets a request through again.
        retry_after: Duration,
    },
    /// The message could not be delivered (or, while the channel fails, would not be).
    #[error("delivery failed")]
    DeliveryFailed,
    /// A backend did not answer in time: answered 503, try again.
    #[error("a backend is unavailable while {0}")]
    Unavailable(Fault),
    /// Anything else, a bug: answered 500.
    #[error("failed while {0}")]
    Unexpected(Fault),
}

/// What `reset_password` answers instead of a changed password; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum ResetPasswordError {
    /// An unknown or switched-off client, or a confidential one without its right secret.
    #[error("client authentication failed")]
    InvalidClient,
    /// This application type may not reset passwords.
    #[error("this client type may not reset passwords")]
    UnauthorizedClient,
    /// The client's reset flow is switched off.
    #[error("the client's reset flow is off")]
    Misconfigured,
    /// What is wrong with the request's parameters.
    #[error("bad request: {0:?}")]
    BadRequest(BadRequest),
    /// Too many changes from this address.
    #[error("rate limited")]
    RateLimited {
        /// How long until the limit lets a request through again.
        retry_after: Duration,
    },
    /// The token is unknown, used, for another destination or client, or its user changed.
    #[error("bad otp token on {0:?}")]
    BadOtpToken(Channel),
    /// A wrong or expired code, or the account's guess budget is spent.
    #[error("bad otp on {0:?}")]
    BadOtp(Channel),
    /// No account has the code's address, or it went away meanwhile.
    #[error("no such user")]
    UserNotFound,
    /// The user is locked, frozen or disabled.
    #[error("the user is {0:?}")]
    AbnormalUserStatus(BlockedStatus),
    /// The new password breaks the policy (empty when it is unusable at all).
    #[error("the password breaks the policy")]
    InvalidNewPassword(Vec<PolicyViolation>),
    /// The new password is one of the last ones.
    #[error("the password was used recently")]
    RecurrentPassword,
    /// A backend did not answer in time: answered 503, try again.
    #[error("a backend is unavailable while {0}")]
    Unavailable(Fault),
    /// Anything else, a bug: answered 500.
    #[error("failed while {0}")]
    Unexpected(Fault),
}

faults_into!(ClientAuthError, SendOtpError, ResetPasswordError);

impl From<ClientAuthError> for SendOtpError {
    fn from(e: ClientAuthError) -> Self {
        match e {
            ClientAuthError::InvalidClient => Self::InvalidClient,
            ClientAuthError::Unavailable(f) => Self::Unavailable(f),
            ClientAuthError::Unexpected(f) => Self::Unexpected(f),
        }
    }
}

impl From<ClientAuthError> for ResetPasswordError {
    fn from(e: ClientAuthError) -> Self {
        match e {
            ClientAuthError::InvalidClient => Self::InvalidClient,
            ClientAuthError::Unavailable(f) => Self::Unavailable(f),
            ClientAuthError::Unexpected(f) => Self::Unexpected(f),
        }
    }
}

/// The Tencent CIAM use cases: authenticating an application, sending a one-time code,
/// resetting a password with it.
#[derive(Debug)]
pub struct CiamService {
    ctx: Arc<Context>,
    /// Recent delivery times; an unknown account waits one of them, drawn at random, so both
    /// answers come from the same distribution.
    delivery_times: Arc<Mutex<VecDeque<Duration>>>,
    /// The hash unknown usernames are checked against (made at the first one).
    dummy: Arc<tokio::sync::OnceCell<resetd_domain::password::PasswordHash>>,
}

impl Clone for CiamService {
    fn clone(&self) -> Self {
        Self { ctx: self.ctx.clone(), delivery_times: self.delivery_times.clone(), dummy: self.dummy.clone() }
    }
}

fn parse_recipient(email: Option<&str>, phone: Option<&str>) -> Result<Recipient, SendOtpError> {
    match (email.filter(|s| !s.is_empty()), phone.filter(|s| !s.is_empty())) {
        (Some(e), None) => Email::parse(e).map(Recipient::Email).map_err(|_| SendOtpError::MalformedEmail),
        (None, Some(p)) => PhoneNumber::parse(p).map(Recipient::Phone).map_err(|_| SendOtpError::MalformedPhoneNumber),
        _ => Err(SendOtpError::BadRequest(BadRequest::NotOneRecipient)),
    }
}

impl CiamService {
    pub(crate) fn new(ctx: Arc<Context>) -> Self {
        Self {
            ctx,
            delivery_times: Arc::new(Mutex::new(VecDeque::with_capacity(DELIVERY_SAMPLES))),
            dummy: Arc::new(tokio::sync::OnceCell::new()),
        }
    }

    /// The login settings (the issuer and its keys, for discovery and the JWKS).
    pub fn login_settings(&self) -> &crate::LoginSettings {
        &self.ctx.settings.login
    }

    /// Authenticates an application: confidential ones by secret (constant-time digest
    /// comparison), public ones by id alone (a secret they send is ignored).
    ///
    /// # Errors
    /// [`ClientAuthError`].
    pub async fn authenticate(&self, creds: &ClientCredentials) -> Result<Client, ClientAuthError> {
        let id = ClientId::parse(&creds.client_id).map_err(|_| ClientAuthError::InvalidClient)?;
        let client = self.ctx.ports.clients.find(&id).await.map_err(fault("loading a client"))?;
        let client = client.filter(|c| c.enabled).ok_or(ClientAuthError::InvalidClient)?;
        if client.client_type.requires_secret() {
            let presented = creds
                .client_secret
                .as_ref()
                .and_then(|s| ClientSecret::parse(secrecy::ExposeSecret::expose_secret(s)).ok());
            let verified = match (&presented, &client.secret) {
                (Some(p), Some(stored)) => self.ctx.settings.keys.verify(stored, |k| p.digest(k)),
                _ => None,
            };
            let verified = verified.ok_or(ClientAuthError::InvalidClient)?;
            // A secret that verified under an old key is stored again under the current one.
            if let (Some(fresh), Some(stored)) = (verified.reseal, &client.secret) {
                let reseal = self.ctx.ports.clients.reseal(&client.id, &stored.digest, &fresh);
                reseal.await.map_err(fault("resealing a client secret"))?;
            }
        }
        Ok(client)
    }

    /// What names a destination in counter keys: a keyed digest of its channel and normalised
    /// address, so Redis keys (visible to `MONITOR`, `SCAN`, the slowlog) hold no personal data
    /// and no character of the address can bend a hash tag.
    fn destination(&self, to: &Recipient) -> String {
        self.destination_digest(to).to_hex()
    }

    fn destination_digest(&self, to: &Recipient) -> resetd_domain::keyed::Digest {
        let parts: [&[u8]; 3] = [to.channel().as_str().as_bytes(), b":", to.address().as_bytes()];
        self.ctx.settings.keys.current().digest(resetd_domain::keyed::Purpose::Destination, &parts)
    }

    async fn find_user(&self, recipient: &Recipient) -> Result<Option<User>, Fault> {
        let users = &self.ctx.ports.users;
        let found = match recipient {
            Recipient::Email(e) => users.find_by_email(e).await,
            Recipient::Phone(p) => users.find_by_phone(p).await,
        };
        found.map_err(fault("looking up a user"))
    }
}
