//! SMS delivery through an HTTP webhook of an SMS gateway (or a small relay in front of one).
//!
//! Each message is one `POST` of a JSON object to the configured URL:
//!
//! ```json
//! {"to": "+8613612345678", "text": "Your verification code is 492017. …",
//!  "template": "otp_code", "language": "en"}
//! ```
//!
//! `to` is the E.164 number, `text` the rendered SMS, `template` the notice's name
//! (`reset_link`, `setup_link`, `otp_code`, `password_changed`) and `language` the language tag
//! (`en`, `es`, `zh-Hans`), so a gateway that needs registered templates can map them. An
//! optional bearer token goes into `Authorization`. Any answer but 2xx, a timeout or a
//! connection failure is [`NotifyError::Delivery`]; the error carries neither the text nor the
//! webhook URL (which may hold a key), and redirects are not followed.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Url;
use resetd_domain::otp::Recipient;
use resetd_ports::notify::{Notification, Notifier, NotifyError};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::templates::render_sms;

/// Where and how [`WebhookSmsSender`] posts.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// The gateway's `http` or `https` URL.
    pub url: String,
    /// Sent as `Authorization: Bearer …` when given.
    pub bearer_token: Option<SecretString>,
    /// The bound on one whole request (connect, send, answer).
    pub timeout: Duration,
}

impl WebhookConfig {
    /// The request timeout unless configured otherwise.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

    /// A configuration without a token and with the default timeout.
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into(), bearer_token: None, timeout: Self::DEFAULT_TIMEOUT }
    }
}

/// A [`WebhookConfig`] that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WebhookConfigError {
    /// `url` is not an `http` or `https` URL.
    #[error("the SMS webhook URL is not a valid http(s) URL")]
    Url,
    /// A zero `timeout`.
    #[error("the SMS webhook timeout must be positive")]
    ZeroTimeout,
    /// reqwest could not build the HTTP client.
    #[error("the SMS webhook HTTP client could not be built")]
    Client(#[source] reqwest::Error),
}

/// The JSON body posted to the webhook.
#[derive(Serialize)]
struct SmsRequest<'a> {
    to: &'a str,
    text: &'a str,
    template: &'a str,
    language: &'a str,
}

/// Delivers SMS notifications by POSTing JSON to a webhook; answers
/// [`NotifyError::NoChannel`] for email recipients.
#[derive(Clone)]
pub struct WebhookSmsSender {
    client: reqwest::Client,
    url: Url,
    bearer_token: Option<SecretString>,
}

impl fmt::Debug for WebhookSmsSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSmsSender")
            .field("host", &self.url.host_str())
            .field("bearer_token", &self.bearer_token.as_ref().map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}

impl WebhookSmsSender {
    /// Builds the sender and its HTTP client.
    ///
    /// # Errors
    /// [`WebhookConfigError`] for a URL that is not `http(s)`, a zero timeout, or a client
    /// reqwest cannot build.
    pub fn new(config: WebhookConfig) -> Result<Self, WebhookConfigError> {
        let url = Url::parse(&config.url).map_err(|_| WebhookConfigError::Url)?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(WebhookConfigError::Url);
        }
        if config.timeout.is_zero() {
            return Err(WebhookConfigError::ZeroTimeout);
        }
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(WebhookConfigError::Client)?;
        Ok(Self { client, url, bearer_token: config.bearer_token })
    }
}

#[async_trait]
impl Notifier for WebhookSmsSender {
    async fn send(&self, notification: Notification) -> Result<(), NotifyError> {
        let Recipient::Phone(phone) = &notification.to else {
            return Err(NotifyError::NoChannel("email"));
        };
        let text = render_sms(&notification);
        let body = SmsRequest {
            to: phone.as_str(),
            text: &text,
            template: notification.notice.name(),
            language: notification.language.tag(),
        };
        let mut request = self.client.post(self.url.clone()).json(&body);
        if let Some(token) = &self.bearer_token {
            request = request.bearer_auth(token.expose_secret());
        }
        let response = request.send().await.map_err(|e| NotifyError::Delivery(Box::new(e.without_url())))?;
        let status = response.status();
        if status.is_success() {
            tracing::debug!(template = notification.notice.name(), "SMS handed to the webhook");
            Ok(())
        } else {
            Err(NotifyError::Delivery(format!("the SMS webhook answered {status}").into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_configs_are_refused() {
        assert!(WebhookSmsSender::new(WebhookConfig::new("https://sms.example.com/send")).is_ok());
        for bad in ["", "not a url", "ftp://sms.example.com/", "mailto:ops@example.com"] {
            assert!(matches!(WebhookSmsSender::new(WebhookConfig::new(bad)), Err(WebhookConfigError::Url)), "{bad}");
        }
        let zero = WebhookConfig { timeout: Duration::ZERO, ..WebhookConfig::new("http://127.0.0.1:1/") };
        assert!(matches!(WebhookSmsSender::new(zero), Err(WebhookConfigError::ZeroTimeout)));
    }

    #[test]
    fn debug_hides_the_token_and_the_path() {
        let config = WebhookConfig {
            bearer_token: Some("tok-secret".into()),
            ..WebhookConfig::new("https://sms.example.com/hook/key-secret")
        };
        let shown = format!("{:?}", WebhookSmsSender::new(config).unwrap());
        assert!(shown.contains("sms.example.com") && !shown.contains("secret"), "{shown}");
    }
}
