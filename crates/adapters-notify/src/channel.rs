//! Routing by recipient kind: email addresses go to the email sender, phone numbers to the
//! SMS sender.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use resetd_domain::otp::Recipient;
use resetd_ports::notify::{Notification, Notifier, NotifyError};

/// A [`Notifier`] that hands each notification to the sender of its recipient's channel, or
/// answers [`NotifyError::NoChannel`] (`"email"` or `"sms"`) when that channel has none.
#[derive(Clone, Default)]
pub struct ChannelNotifier {
    email: Option<Arc<dyn Notifier>>,
    sms: Option<Arc<dyn Notifier>>,
}

impl fmt::Debug for ChannelNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelNotifier")
            .field("email", &self.email.is_some())
            .field("sms", &self.sms.is_some())
            .finish()
    }
}

impl ChannelNotifier {
    /// Routes email recipients to `email` and phone numbers to `sms`; `None` switches a channel off.
    pub fn new(email: Option<Arc<dyn Notifier>>, sms: Option<Arc<dyn Notifier>>) -> Self {
        Self { email, sms }
    }

    /// Sets the email sender.
    #[must_use]
    pub fn with_email(mut self, sender: Arc<dyn Notifier>) -> Self {
        self.email = Some(sender);
        self
    }

    /// Sets the SMS sender.
    #[must_use]
    pub fn with_sms(mut self, sender: Arc<dyn Notifier>) -> Self {
        self.sms = Some(sender);
        self
    }

    /// Whether email recipients have a sender.
    pub fn has_email(&self) -> bool {
        self.email.is_some()
    }

    /// Whether phone recipients have a sender.
    pub fn has_sms(&self) -> bool {
        self.sms.is_some()
    }
}

#[async_trait]
impl Notifier for ChannelNotifier {
    async fn send(&self, notification: Notification) -> Result<(), NotifyError> {
        let (sender, channel) = match notification.to {
            Recipient::Email(_) => (&self.email, "email"),
            Recipient::Phone(_) => (&self.sms, "sms"),
        };
        match sender {
            Some(sender) => sender.send(notification).await,
            None => Err(NotifyError::NoChannel(channel)),
        }
    }
}
