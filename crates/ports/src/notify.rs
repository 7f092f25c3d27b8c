//! Outgoing messages. The notifier renders the notice from its templates in the user's
//! language and delivers it by email or SMS.

use std::time::Duration;

use async_trait::async_trait;
use resetd_domain::locale::Language;
use resetd_domain::otp::{OtpCode, Recipient};
use secrecy::SecretString;

use crate::BoxError;

/// What to tell the user. Links and codes are secrets until delivered.
#[derive(Debug, Clone)]
pub enum Notice {
    /// A password reset link.
    ResetLink {
        /// The link, with its token.
        url: SecretString,
        /// How long the link lives; `None` for a non-expiring link.
        expires_in: Option<Duration>,
    },
    /// A first-time account setup link.
    SetupLink {
        /// The link, with its token.
        url: SecretString,
        /// How long the link lives; `None` for a non-expiring link.
        expires_in: Option<Duration>,
    },
    /// A one-time code for a password reset.
    OtpCode {
        /// The code to deliver.
        code: OtpCode,
        /// How long the code is accepted.
        valid_for: Duration,
    },
    /// The password was just changed.
    PasswordChanged,
}

impl Notice {
    /// The template name, for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Self::ResetLink { .. } => "reset_link",
            Self::SetupLink { .. } => "setup_link",
            Self::OtpCode { .. } => "otp_code",
            Self::PasswordChanged => "password_changed",
        }
    }
}

/// One message to one recipient.
#[derive(Debug, Clone)]
pub struct Notification {
    /// Where it goes; the recipient's kind picks the channel.
    pub to: Recipient,
    /// The language to render it in.
    pub language: Language,
    /// The user's name for the greeting, if known.
    pub name: Option<String>,
    /// What to say.
    pub notice: Notice,
}

/// Why a message was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// No sender is configured for this channel.
    #[error("no sender is configured for the {0} channel")]
    NoChannel(&'static str),
    /// The gateway refused or could not be reached.
    #[error("the message could not be delivered")]
    Delivery(#[source] BoxError),
}

/// Delivers messages to users by email or SMS.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Renders and delivers one message.
    ///
    /// # Errors
    /// [`NotifyError::NoChannel`], [`NotifyError::Delivery`].
    async fn send(&self, notification: Notification) -> Result<(), NotifyError>;
}
