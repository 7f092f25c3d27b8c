//! `WebhookSmsSender` against real local HTTP listeners.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use resetd_adapters_notify::{WebhookConfig, WebhookSmsSender};
use resetd_domain::locale::Language;
use resetd_domain::otp::{OtpCode, Recipient};
use resetd_domain::user::{Email, PhoneNumber};
use resetd_ports::notify::{Notice, Notification, Notifier, NotifyError};
use secrecy::SecretString;
use serde_json::{json, Value};

/// What the gateway received: the JSON body and the `Authorization` header.
type Received = Arc<Mutex<Vec<(Value, Option<String>)>>>;

/// Serves `router` on 127.0.0.1:0 and returns its base URL.
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

/// A gateway that records each request and answers `status`.
async fn gateway(status: StatusCode) -> (String, Received) {
    let received: Received = Arc::default();
    let log = Arc::clone(&received);
    let router = Router::new().route(
        "/sms/send",
        post(move |headers: HeaderMap, Json(body): Json<Value>| {
            let log = Arc::clone(&log);
            async move {
                let auth = headers.get("authorization").map(|v| v.to_str().unwrap().to_owned());
                log.lock().unwrap().push((body, auth));
                (status, "{}")
            }
        }),
    );
    (format!("{}/sms/send", serve(router).await), received)
}

fn sms(notice: Notice, language: Language) -> Notification {
    Notification {
        to: Recipient::Phone(PhoneNumber::parse("13612345678").unwrap()),
        language,
        name: Some("Li Lei".into()),
        notice,
    }
}

fn otp() -> Notice {
    Notice::OtpCode { code: OtpCode::parse("771203").unwrap(), valid_for: Duration::from_secs(300) }
}

#[tokio::test]
async fn an_otp_sms_is_posted_as_json() {
    let (url, received) = gateway(StatusCode::OK).await;
    let config = WebhookConfig { bearer_token: Some(SecretString::from("gw-token")), ..WebhookConfig::new(url) };
    let sender = WebhookSmsSender::new(config).unwrap();

    sender.send(sms(otp(), Language::SimplifiedChinese)).await.unwrap();
    sender
        .send(sms(
            Notice::ResetLink {
                url: SecretString::from("https://id.example.com/r?t=abc"),
                expires_in: Some(Duration::from_secs(900)),
            },
            Language::Spanish,
        ))
        .await
        .unwrap();

    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    let (body, auth) = &received[0];
    assert_eq!(auth.as_deref(), Some("Bearer gw-token"));
    assert_eq!(
        body,
        &json!({
            "to": "+8613612345678",
            "text": "您的验证码是 771203，5 分钟内有效。请勿泄露给他人。",
            "template": "otp_code",
            "language": "zh-Hans",
        })
    );
    let (body, _) = &received[1];
    assert_eq!(body["template"], "reset_link");
    assert_eq!(body["language"], "es");
    assert_eq!(body["text"], "Restablece tu contraseña: https://id.example.com/r?t=abc (caduca en 15 minutos)");
}

#[tokio::test]
async fn no_token_means_no_authorization_header() {
    let (url, received) = gateway(StatusCode::ACCEPTED).await;
    let sender = WebhookSmsSender::new(WebhookConfig::new(url)).unwrap();
    sender.send(sms(Notice::PasswordChanged, Language::English)).await.unwrap();
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].1, None);
    assert_eq!(received[0].0["template"], "password_changed");
    assert_eq!(received[0].0["language"], "en");
}

#[tokio::test]
async fn a_gateway_error_is_a_delivery_error_without_the_code() {
    let (url, received) = gateway(StatusCode::INTERNAL_SERVER_ERROR).await;
    let sender = WebhookSmsSender::new(WebhookConfig::new(url)).unwrap();
    let err = sender.send(sms(otp(), Language::English)).await.unwrap_err();
    assert!(matches!(err, NotifyError::Delivery(_)), "{err:?}");
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("500") && !shown.contains("771203"), "{shown}");
    assert_eq!(received.lock().unwrap().len(), 1, "the request did reach the gateway");
}

#[tokio::test]
async fn an_unreachable_gateway_fails_quickly() {
    // A port that was just free: nothing listens there, the connection is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/sms/send?key=hook-secret");
    let sender = WebhookSmsSender::new(WebhookConfig::new(url)).unwrap();
    let start = Instant::now();
    let err = sender.send(sms(otp(), Language::English)).await.unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(2), "took {:?}", start.elapsed());
    assert!(matches!(err, NotifyError::Delivery(_)), "{err:?}");
    let shown = format!("{err:?}");
    assert!(!shown.contains("hook-secret") && !shown.contains("771203"), "{shown}");
}

#[tokio::test]
async fn a_silent_gateway_times_out() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let config = WebhookConfig { timeout: Duration::from_millis(500), ..WebhookConfig::new(format!("http://{addr}/")) };
    let sender = WebhookSmsSender::new(config).unwrap();
    let start = Instant::now();
    let err = sender.send(sms(otp(), Language::English)).await.unwrap_err();
    assert!(matches!(err, NotifyError::Delivery(_)), "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(3), "took {:?}", start.elapsed());
}

#[tokio::test]
async fn email_recipients_are_not_for_the_sms_webhook() {
    let (url, received) = gateway(StatusCode::OK).await;
    let sender = WebhookSmsSender::new(WebhookConfig::new(url)).unwrap();
    let mut n = sms(otp(), Language::English);
    n.to = Recipient::Email(Email::parse("ada@example.com").unwrap());
    let err = sender.send(n).await.unwrap_err();
    assert!(matches!(err, NotifyError::NoChannel("email")), "{err:?}");
    assert!(received.lock().unwrap().is_empty());
}
