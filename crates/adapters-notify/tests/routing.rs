//! `ChannelNotifier` routing, the dev `LogSender`, and what a `Notification` shows in `Debug`.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use resetd_adapters_notify::{ChannelNotifier, LogSender, DEV_MAIL_TARGET};
use resetd_domain::locale::Language;
use resetd_domain::otp::{OtpCode, Recipient};
use resetd_domain::user::{Email, PhoneNumber};
use resetd_ports::notify::{Notice, Notification, Notifier, NotifyError};
use secrecy::SecretString;

/// A sender that records the addresses it was given.
#[derive(Debug, Default)]
struct Recording {
    sent: Mutex<Vec<String>>,
}

#[async_trait]
impl Notifier for Recording {
    async fn send(&self, notification: Notification) -> Result<(), NotifyError> {
        self.sent.lock().unwrap().push(notification.to.address().to_owned());
        Ok(())
    }
}

/// A sender whose gateway is down.
#[derive(Debug)]
struct Failing;

#[async_trait]
impl Notifier for Failing {
    async fn send(&self, _: Notification) -> Result<(), NotifyError> {
        Err(NotifyError::Delivery("gateway down".into()))
    }
}

fn to_email() -> Recipient {
    Recipient::Email(Email::parse("ada@example.com").unwrap())
}

fn to_phone() -> Recipient {
    Recipient::Phone(PhoneNumber::parse("+34600111222").unwrap())
}

fn otp_to(to: Recipient) -> Notification {
    Notification {
        to,
        language: Language::Spanish,
        name: Some("Ada".into()),
        notice: Notice::OtpCode { code: OtpCode::parse("385104").unwrap(), valid_for: Duration::from_secs(600) },
    }
}

#[tokio::test]
async fn recipients_go_to_the_sender_of_their_channel() {
    let email = Arc::new(Recording::default());
    let sms = Arc::new(Recording::default());
    let notifier = ChannelNotifier::new(Some(email.clone()), Some(sms.clone()));
    notifier.send(otp_to(to_email())).await.unwrap();
    notifier.send(otp_to(to_phone())).await.unwrap();
    notifier.send(otp_to(to_email())).await.unwrap();
    assert_eq!(*email.sent.lock().unwrap(), ["ada@example.com", "ada@example.com"]);
    assert_eq!(*sms.sent.lock().unwrap(), ["+34600111222"]);
}

#[tokio::test]
async fn a_missing_channel_is_no_channel() {
    let email = Arc::new(Recording::default());
    let only_email = ChannelNotifier::default().with_email(email.clone());
    assert!(only_email.has_email() && !only_email.has_sms());
    let err = only_email.send(otp_to(to_phone())).await.unwrap_err();
    assert!(matches!(err, NotifyError::NoChannel("sms")), "{err:?}");
    assert!(email.sent.lock().unwrap().is_empty());

    let sms = Arc::new(Recording::default());
    let only_sms = ChannelNotifier::default().with_sms(sms.clone());
    let err = only_sms.send(otp_to(to_email())).await.unwrap_err();
    assert!(matches!(err, NotifyError::NoChannel("email")), "{err:?}");
    assert!(sms.sent.lock().unwrap().is_empty());

    let none = ChannelNotifier::new(None, None);
    assert!(matches!(none.send(otp_to(to_email())).await, Err(NotifyError::NoChannel("email"))));
    assert!(matches!(none.send(otp_to(to_phone())).await, Err(NotifyError::NoChannel("sms"))));
    assert_eq!(format!("{none:?}"), "ChannelNotifier { email: false, sms: false }");
}

#[tokio::test]
async fn delivery_errors_pass_through() {
    let notifier = ChannelNotifier::default().with_email(Arc::new(Failing)).with_sms(Arc::new(Recording::default()));
    assert!(matches!(notifier.send(otp_to(to_email())).await, Err(NotifyError::Delivery(_))));
    notifier.send(otp_to(to_phone())).await.unwrap();
}

#[test]
fn debug_of_a_notification_shows_neither_code_nor_url() {
    let url = "https://id.example.com/reset?token=SeCrEtToKeN123";
    let notices = [
        Notice::ResetLink { url: SecretString::from(url), expires_in: Some(Duration::from_secs(900)) },
        Notice::SetupLink { url: SecretString::from(url), expires_in: None },
        Notice::OtpCode { code: OtpCode::parse("385104").unwrap(), valid_for: Duration::from_secs(600) },
    ];
    for notice in notices {
        let n = Notification { to: to_email(), language: Language::English, name: None, notice };
        let shown = format!("{n:?} {n:#?}");
        assert!(!shown.contains("385104"), "{shown}");
        assert!(!shown.contains("SeCrEtToKeN123") && !shown.contains("id.example.com"), "{shown}");
    }
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_log_sender_logs_the_message_under_the_dev_mail_target() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt().with_ansi(false).with_writer(move || writer.clone()).finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let sender = LogSender::new();
    sender.send(otp_to(to_email())).await.unwrap();
    sender
        .send(Notification {
            to: to_phone(),
            language: Language::English,
            name: None,
            notice: Notice::ResetLink { url: SecretString::from("https://id.example.com/r?t=xyz"), expires_in: None },
        })
        .await
        .unwrap();

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert_eq!(DEV_MAIL_TARGET, "resetd::dev_mail");
    assert_eq!(log.matches("resetd::dev_mail").count(), 2, "{log}");
    assert!(log.contains("ada@example.com") && log.contains("Tu código de verificación"), "{log}");
    assert!(log.contains("    385104"), "the email body is logged: {log}");
    assert!(
        log.contains("+34600111222") && log.contains("Reset your password: https://id.example.com/r?t=xyz"),
        "{log}"
    );
}
