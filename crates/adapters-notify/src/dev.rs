//! The development sender: it "delivers" by logging.
//!
//! **It logs the whole rendered message, the reset link or the one-time code included**, with
//! `tracing::info!` under the target `resetd::dev_mail`: in development that log line IS the
//! delivery channel, the only way to read the code. Never configure it in production.

use async_trait::async_trait;
use resetd_domain::otp::Recipient;
use resetd_ports::notify::{Notification, Notifier, NotifyError};

use crate::templates::{render_email, render_sms};

/// The `tracing` target of the logged messages.
pub const DEV_MAIL_TARGET: &str = "resetd::dev_mail";

/// Logs each message instead of sending it; serves both email and phone recipients.
///
/// Email is logged with its recipient, subject and body; SMS with its recipient and text.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogSender;

impl LogSender {
    /// The log sender (it has no settings).
    pub fn new() -> Self {
        Self
    }
}

#[async_trait]
impl Notifier for LogSender {
    async fn send(&self, notification: Notification) -> Result<(), NotifyError> {
        let template = notification.notice.name();
        let language = notification.language.tag();
        match &notification.to {
            Recipient::Email(email) => {
                let rendered = render_email(&notification);
                tracing::info!(
                    target: DEV_MAIL_TARGET,
                    channel = "email",
                    to = email.as_str(),
                    template,
                    language,
                    subject = %rendered.subject,
                    "development email (not sent):\n{}",
                    rendered.text
                );
            }
            Recipient::Phone(phone) => {
                let text = render_sms(&notification);
                tracing::info!(
                    target: DEV_MAIL_TARGET,
                    channel = "sms",
                    to = phone.as_str(),
                    template,
                    language,
                    "development SMS (not sent): {text}"
                );
            }
        }
        Ok(())
    }
}
