//! The development profile's mailbox: every message delivered is also kept in memory (the last
//! few hundred), rendered as it was sent, so a newcomer can read codes and links at
//! `/dev/outbox` without any mail server. It holds codes and links in clear: it exists only
//! in the dev profile (the server never builds it elsewhere).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use resetd_domain::otp::Recipient;
use resetd_ports::notify::{Notification, Notifier, NotifyError};

use crate::templates::{render_email, render_sms};

/// One delivered message, as rendered.
#[derive(Clone, PartialEq, Eq)]
pub struct Kept {
    /// The email address or phone number it went to.
    pub to: String,
    /// `email` or `sms`.
    pub channel: &'static str,
    /// The email's subject; empty for an SMS.
    pub subject: String,
    /// The rendered text, link or code included.
    pub text: String,
    /// When it was delivered (system time).
    pub sent_at: DateTime<Utc>,
}

impl std::fmt::Debug for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kept").field("channel", &self.channel).field("subject", &self.subject).finish_non_exhaustive()
    }
}

/// The last `capacity` messages, newest last.
#[derive(Debug)]
pub struct Mailbox {
    kept: Mutex<VecDeque<Kept>>,
    capacity: usize,
}

impl Mailbox {
    /// A mailbox that keeps the last `capacity` messages (at least one).
    pub fn new(capacity: usize) -> Self {
        Self { kept: Mutex::new(VecDeque::with_capacity(capacity.min(1024))), capacity: capacity.max(1) }
    }

    /// The kept messages, oldest first.
    pub fn messages(&self) -> Vec<Kept> {
        self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter().cloned().collect()
    }

    fn keep(&self, message: Kept) {
        let mut kept = self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if kept.len() == self.capacity {
            kept.pop_front();
        }
        kept.push_back(message);
    }
}

/// Delivers through `inner`, then keeps what was delivered in the mailbox.
pub struct Keeping {
    inner: Arc<dyn Notifier>,
    mailbox: Arc<Mailbox>,
}

impl Keeping {
    /// Delivers through `inner` and keeps each delivered message in `mailbox`; a failed
    /// delivery is not kept.
    pub fn new(inner: Arc<dyn Notifier>, mailbox: Arc<Mailbox>) -> Self {
        Self { inner, mailbox }
    }
}

impl std::fmt::Debug for Keeping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keeping").field("mailbox", &self.mailbox).finish_non_exhaustive()
    }
}

#[async_trait]
impl Notifier for Keeping {
    async fn send(&self, notification: Notification) -> Result<(), NotifyError> {
        let (to, channel, subject, text) = match &notification.to {
            Recipient::Email(email) => {
                let r = render_email(&notification);
                (email.as_str().to_owned(), "email", r.subject, r.text)
            }
            Recipient::Phone(phone) => (phone.as_str().to_owned(), "sms", String::new(), render_sms(&notification)),
        };
        self.inner.send(notification).await?;
        self.mailbox.keep(Kept { to, channel, subject, text, sent_at: Utc::now() });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resetd_domain::locale::Language;
    use resetd_ports::notify::Notice;

    #[derive(Debug)]
    struct Refusing;

    #[async_trait]
    impl Notifier for Refusing {
        async fn send(&self, _: Notification) -> Result<(), NotifyError> {
            Err(NotifyError::NoChannel("test"))
        }
    }

    fn note(to: &str) -> Notification {
        let to = Recipient::Email(resetd_domain::user::Email::parse(to).unwrap());
        Notification { to, language: Language::Spanish, name: None, notice: Notice::PasswordChanged }
    }

    #[tokio::test]
    async fn keeps_what_was_delivered_rendered_and_only_the_newest() {
        let mailbox = Arc::new(Mailbox::new(2));
        let keeping = Keeping::new(Arc::new(crate::LogSender::new()), mailbox.clone());
        for to in ["a@example.com", "b@example.com", "c@example.com"] {
            keeping.send(note(to)).await.unwrap();
        }
        let kept = mailbox.messages();
        assert_eq!(kept.iter().map(|k| k.to.as_str()).collect::<Vec<_>>(), ["b@example.com", "c@example.com"]);
        assert_eq!(kept[1].channel, "email");
        assert_eq!(kept[1].subject, render_email(&note("c@example.com")).subject, "as rendered, in Spanish");
    }

    #[tokio::test]
    async fn a_failed_delivery_is_not_kept() {
        let mailbox = Arc::new(Mailbox::new(8));
        assert!(Keeping::new(Arc::new(Refusing), mailbox.clone()).send(note("a@example.com")).await.is_err());
        assert!(mailbox.messages().is_empty());
    }
}
