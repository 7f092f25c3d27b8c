//! Email delivery through an SMTP relay, with lettre's tokio transport.
//!
//! One connection per message (no pool); the whole exchange is bounded by
//! [`SmtpConfig::timeout`]. The message is a single `text/plain; charset=utf-8` part whose
//! transfer encoding lettre picks (7bit, quoted-printable or base64). Failures become
//! [`NotifyError::Delivery`] carrying lettre's error, which names the SMTP reply but never the
//! message body, the link or the code.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::{Body, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use resetd_domain::otp::Recipient;
use resetd_ports::notify::{Notification, Notifier, NotifyError};
use secrecy::{ExposeSecret, SecretString};

use crate::templates::render_email;

/// How the connection to the relay is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// Plain text: only for a relay on localhost or a trusted network.
    None,
    /// Plain connection upgraded with `STARTTLS`, which is required (usually port 587).
    #[default]
    StartTls,
    /// TLS from the first byte ("SMTPS", usually port 465).
    Tls,
}

/// Where and how [`SmtpSender`] delivers.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// The relay's host name (also the name its TLS certificate must carry).
    pub host: String,
    /// The relay's port (587 for `STARTTLS`, 465 for TLS, 25 for plain text).
    pub port: u16,
    /// The `From` mailbox, e.g. `Example <no-reply@example.com>` or `no-reply@example.com`.
    pub from: String,
    /// How the connection is secured.
    pub tls: TlsMode,
    /// Credentials for `AUTH`; both or neither.
    pub username: Option<SecretString>,
    /// The `AUTH` password; see `username`.
    pub password: Option<SecretString>,
    /// The bound on one whole delivery (connect, TLS, `AUTH`, `DATA`), also used as lettre's
    /// per-command timeout.
    pub timeout: Duration,
}

impl SmtpConfig {
    /// The delivery timeout unless configured otherwise.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

    /// A configuration with `STARTTLS`, no credentials and the default timeout.
    pub fn new(host: impl Into<String>, port: u16, from: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            port,
            from: from.into(),
            tls: TlsMode::default(),
            username: None,
            password: None,
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }
}

/// An [`SmtpConfig`] that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SmtpConfigError {
    /// `from` is not a mailbox.
    #[error("the SMTP from address is not a valid mailbox")]
    From(#[source] lettre::address::AddressError),
    /// A username without a password, or a password without a username.
    #[error("the SMTP username and password must be given together")]
    HalfCredentials,
    /// A zero `timeout`.
    #[error("the SMTP timeout must be positive")]
    ZeroTimeout,
    /// lettre refused the TLS parameters for `host`.
    #[error("the SMTP TLS parameters are invalid")]
    Tls(#[source] lettre::transport::smtp::Error),
}

/// Delivers email notifications through an SMTP relay; answers
/// [`NotifyError::NoChannel`] for phone recipients.
#[derive(Clone)]
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    timeout: Duration,
    relay: String,
}

impl fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSender")
            .field("relay", &self.relay)
            .field("from", &self.from.to_string())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl SmtpSender {
    /// Builds the sender (no connection is made yet).
    ///
    /// # Errors
    /// [`SmtpConfigError`] for an invalid `from`, half the credentials, a zero timeout or TLS
    /// parameters lettre rejects.
    pub fn new(config: SmtpConfig) -> Result<Self, SmtpConfigError> {
        let from: Mailbox = config.from.parse().map_err(SmtpConfigError::From)?;
        if config.timeout.is_zero() {
            return Err(SmtpConfigError::ZeroTimeout);
        }
        let tls = match config.tls {
            TlsMode::None => Tls::None,
            TlsMode::StartTls => Tls::Required(TlsParameters::new(config.host.clone()).map_err(SmtpConfigError::Tls)?),
            TlsMode::Tls => Tls::Wrapper(TlsParameters::new(config.host.clone()).map_err(SmtpConfigError::Tls)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.clone())
            .port(config.port)
            .tls(tls)
            .timeout(Some(config.timeout));
        match (&config.username, &config.password) {
            (Some(user), Some(password)) => {
                builder = builder.credentials(Credentials::new(
                    user.expose_secret().to_owned(),
                    password.expose_secret().to_owned(),
                ));
            }
            (None, None) => {}
            _ => return Err(SmtpConfigError::HalfCredentials),
        }
        Ok(Self {
            transport: builder.build(),
            from,
            timeout: config.timeout,
            relay: format!("{}:{}", config.host, config.port),
        })
    }

    fn message(&self, to: &str, notification: &Notification) -> Result<Message, NotifyError> {
        let address: Address = to.parse().map_err(|e| NotifyError::Delivery(Box::new(e)))?;
        let name = notification
            .name
            .as_deref()
            .map(|n| n.chars().filter(|c| !c.is_control()).collect::<String>().trim().to_owned())
            .filter(|n| !n.is_empty());
        let rendered = render_email(notification);
        // A Message-ID in the sender's domain rather than this host's name.
        let message_id = format!("<{}@{}>", uuid::Uuid::new_v4().simple(), self.from.email.domain());
        Message::builder()
            .message_id(Some(message_id))
            .from(self.from.clone())
            .to(Mailbox::new(name, address))
            .subject(rendered.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(Body::new(rendered.text))
            .map_err(|e| NotifyError::Delivery(Box::new(e)))
    }
}

#[async_trait]
impl Notifier for SmtpSender {
    async fn send(&self, notification: Notification) -> Result<(), NotifyError> {
        let Recipient::Email(email) = &notification.to else {
            return Err(NotifyError::NoChannel("sms"));
        };
        let message = self.message(email.as_str(), &notification)?;
        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Ok(Ok(_)) => {
                tracing::debug!(template = notification.notice.name(), "email handed to the SMTP relay");
                Ok(())
            }
            Ok(Err(e)) => Err(NotifyError::Delivery(Box::new(e))),
            Err(_) => Err(NotifyError::Delivery(
                format!("the SMTP relay did not accept the message within {:?}", self.timeout).into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_configs_are_refused() {
        let ok = SmtpConfig::new("smtp.example.com", 587, "Example <no-reply@example.com>");
        assert!(SmtpSender::new(ok.clone()).is_ok());
        assert!(SmtpSender::new(SmtpConfig { tls: TlsMode::Tls, ..ok.clone() }).is_ok());
        assert!(SmtpSender::new(SmtpConfig { tls: TlsMode::None, ..ok.clone() }).is_ok());
        let bad_from = SmtpConfig { from: "not an address".into(), ..ok.clone() };
        assert!(matches!(SmtpSender::new(bad_from), Err(SmtpConfigError::From(_))));
        let half = SmtpConfig { username: Some("user".into()), ..ok.clone() };
        assert!(matches!(SmtpSender::new(half), Err(SmtpConfigError::HalfCredentials)));
        let zero = SmtpConfig { timeout: Duration::ZERO, ..ok };
        assert!(matches!(SmtpSender::new(zero), Err(SmtpConfigError::ZeroTimeout)));
    }

    #[test]
    fn debug_shows_no_credentials() {
        let config = SmtpConfig {
            username: Some("mailer".into()),
            password: Some("hunter2-secret".into()),
            ..SmtpConfig::new("smtp.example.com", 587, "no-reply@example.com")
        };
        let shown = format!("{config:?} {:?}", SmtpSender::new(config.clone()).unwrap());
        assert!(!shown.contains("hunter2-secret"), "{shown}");
    }
}
