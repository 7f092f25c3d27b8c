//! resetd's notifier adapters: they turn a [`Notification`](resetd_ports::notify::Notification)
//! into a message in the user's language and deliver it.
//!
//! - [`templates`] renders the four notices (reset link, account setup link, one-time code,
//!   password changed) in English, Spanish and Simplified Chinese, as an email or an SMS text.
//! - [`SmtpSender`] delivers email through an SMTP relay (lettre).
//! - [`WebhookSmsSender`] delivers SMS by POSTing JSON to an SMS gateway webhook (reqwest).
//! - [`LogSender`] is the development "delivery": it logs the rendered message, code and link
//!   included, under the `resetd::dev_mail` target.
//! - [`Keeping`] keeps what was delivered in a [`Mailbox`] (dev profile: `/dev/outbox`).
//! - [`ChannelNotifier`] routes email recipients to the email sender and phone numbers to the
//!   SMS sender.
//! - [`RangeApi`] asks a k-anonymity range API of breached passwords (the other outbound HTTP
//!   service resetd talks to).
//!
//! Every sender implements [`Notifier`](resetd_ports::notify::Notifier) for the recipient kind
//! it serves and answers [`NotifyError::NoChannel`](resetd_ports::notify::NotifyError) for the
//! other. Delivery errors never carry the message body, the link or the code.
//!
//! Building the notifier of `resetd_app::Ports` (no connection is made until a message is
//! sent):
//!
//! ```
//! use std::sync::Arc;
//!
//! use resetd_adapters_notify::{ChannelNotifier, SmtpConfig, SmtpSender, WebhookConfig, WebhookSmsSender};
//! use resetd_ports::notify::Notifier;
//!
//! let mut smtp = SmtpConfig::new("smtp.example.com", 587, "Example <no-reply@example.com>");
//! smtp.username = Some("mailer".into());
//! smtp.password = Some(std::env::var("SMTP_PASSWORD").unwrap_or_default().into());
//! let email = SmtpSender::new(smtp)?;
//!
//! let mut webhook = WebhookConfig::new("https://sms-gateway.example.com/send");
//! webhook.bearer_token = Some(std::env::var("SMS_TOKEN").unwrap_or_default().into());
//! let sms = WebhookSmsSender::new(webhook)?;
//!
//! let notifier: Arc<dyn Notifier> = Arc::new(ChannelNotifier::new(Some(Arc::new(email)), Some(Arc::new(sms))));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod breached;
pub mod channel;
pub mod dev;
pub mod mailbox;
pub mod smtp;
pub mod templates;
pub mod webhook;

pub use breached::{RangeApi, RangeApiError};
pub use channel::ChannelNotifier;
pub use dev::{LogSender, DEV_MAIL_TARGET};
pub use mailbox::{Keeping, Kept, Mailbox};
pub use smtp::{SmtpConfig, SmtpConfigError, SmtpSender, TlsMode};
pub use templates::{render_email, render_sms, Rendered};
pub use webhook::{WebhookConfig, WebhookConfigError, WebhookSmsSender};
