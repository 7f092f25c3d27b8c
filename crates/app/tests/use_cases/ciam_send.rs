use resetd_app::ciam::{BadRequest, ClientCredentials, SendOtp, SendOtpError};
use resetd_domain::client::{ClientSecret, ClientType};
use resetd_domain::otp::Channel;
use resetd_domain::user::UserStatus;
use resetd_ports::notify::NotifyError;
use resetd_ports::rate_limit::RateDecision;

use crate::support::{user, Mocks};

fn setup() -> (Mocks, ClientCredentials) {
    let secret = ClientSecret::generate(&mut rand::rngs::OsRng);
    let mut m = Mocks::default();
    m.client(ClientType::Web, &secret, true, true);
    (m, ClientCredentials { client_id: "app".into(), client_secret: Some(secret.expose().to_owned().into()) })
}

fn email(usage: Option<&str>, to: &str) -> SendOtp {
    SendOtp { usage: usage.map(Into::into), email: Some(to.into()), ..SendOtp::default() }
}

#[tokio::test]
async fn only_reset_password_is_supported_and_nothing_is_counted_before() {
    for usage in [None, Some("login"), Some("signup"), Some("update_userinfo"), Some("bogus")] {
        let (m, creds) = setup();
        let r = m.app().ciam.send_otp(&creds, email(usage, "ada@example.com")).await;
        let expected = if usage == Some("bogus") { BadRequest::UsageUnknown } else { BadRequest::UsageUnsupported };
        assert!(matches!(r, Err(SendOtpError::BadRequest(b)) if b == expected), "{usage:?}: {r:?}");
    }
}

#[tokio::test]
async fn recipients_are_validated() {
    let (m, creds) = setup();
    assert!(matches!(
        m.app().ciam.send_otp(&creds, email(Some("reset_password"), "nope")).await,
        Err(SendOtpError::MalformedEmail)
    ));
    let (m, creds) = setup();
    let phone =
        SendOtp { usage: Some("reset_password".into()), phone_number: Some("123".into()), ..SendOtp::default() };
    assert!(matches!(m.app().ciam.send_otp(&creds, phone).await, Err(SendOtpError::MalformedPhoneNumber)));
    let (m, creds) = setup();
    let both = SendOtp { phone_number: Some("13612345678".into()), ..email(Some("reset_password"), "ada@example.com") };
    assert!(matches!(
        m.app().ciam.send_otp(&creds, both).await,
        Err(SendOtpError::BadRequest(BadRequest::NotOneRecipient))
    ));
}

#[tokio::test]
async fn the_destination_cooldown_answers_with_the_channel() {
    let (mut m, creds) = setup();
    m.rate_limiter.expect_hit_all().returning(|checks| {
        let mut answers = vec![RateDecision::Allowed; checks.len()];
        answers[0] = RateDecision::Limited { retry_after: std::time::Duration::from_secs(29) };
        Ok(answers)
    });
    let phone = SendOtp {
        usage: Some("reset_password".into()),
        phone_number: Some("13612345678".into()),
        ..SendOtp::default()
    };
    let r = m.app().ciam.send_otp(&creds, phone).await;
    assert!(matches!(r, Err(SendOtpError::DestinationRateLimited { channel: Channel::Sms, .. })), "{r:?}");
}

#[tokio::test]
async fn an_unknown_account_gets_a_token_and_nothing_is_delivered() {
    let (mut m, creds) = setup();
    m.allow_rate();
    m.users.expect_find_by_email().returning(|_| Ok(None));
    m.otps.expect_create().times(1).returning(|_, _| Ok(()));
    m.health.expect_is_failing().times(1).returning(|_| Ok(false));
    // No notifier expectation: a delivery would fail the test.
    let token = m.app().ciam.send_otp(&creds, email(Some("reset_password"), "ghost@example.com")).await.unwrap();
    assert_eq!(token.expose().len(), 43);
}

#[tokio::test]
async fn a_known_account_gets_the_code_in_its_language() {
    let (mut m, creds) = setup();
    m.allow_rate();
    m.quiet_audit();
    m.users.expect_find_by_email().returning(|_| Ok(Some(user(UserStatus::Active))));
    m.otps.expect_create().times(1).returning(|c, _| {
        assert_eq!(c.attempts_left, 5);
        assert_eq!(c.binding.usage, resetd_domain::otp::OtpUsage::ResetPassword);
        Ok(())
    });
    m.health.expect_is_failing().times(1).returning(|_| Ok(false));
    m.notifier.expect_send().times(1).returning(|n| {
        assert_eq!((n.notice.name(), n.language.tag()), ("otp_code", "es"));
        Ok(())
    });
    m.app().ciam.send_otp(&creds, email(Some("reset_password"), "ada@example.com")).await.unwrap();
}

#[tokio::test]
async fn a_delivery_failure_discards_the_challenge() {
    let (mut m, creds) = setup();
    m.allow_rate();
    m.users.expect_find_by_email().returning(|_| Ok(Some(user(UserStatus::Active))));
    m.otps.expect_create().returning(|_, _| Ok(()));
    m.notifier.expect_send().returning(|_| Err(NotifyError::Delivery("gateway down".into())));
    m.health.expect_is_failing().returning(|_| Ok(false));
    m.health.expect_mark_failing().withf(|c, _| *c == Channel::Email).times(1).returning(|_, _| Ok(()));
    m.otps.expect_discard().times(1).returning(|_| Ok(()));
    let r = m.app().ciam.send_otp(&creds, email(Some("reset_password"), "ada@example.com")).await;
    assert!(matches!(r, Err(SendOtpError::DeliveryFailed)), "{r:?}");
}

/// Fails on the main of before Hardening II: while delivery failed, a known address got 503
/// and an unknown one 200, which told them apart.
#[tokio::test]
async fn while_the_channel_fails_an_unknown_address_fails_alike() {
    let (mut m, creds) = setup();
    m.allow_rate();
    m.users.expect_find_by_email().returning(|_| Ok(None));
    m.otps.expect_create().returning(|_, _| Ok(()));
    m.health.expect_is_failing().returning(|_| Ok(true));
    m.otps.expect_discard().times(1).returning(|_| Ok(()));
    let r = m.app().ciam.send_otp(&creds, email(Some("reset_password"), "ghost@example.com")).await;
    assert!(matches!(r, Err(SendOtpError::DeliveryFailed)), "{r:?}");
}

#[tokio::test]
async fn a_good_delivery_on_a_failing_channel_clears_the_mark() {
    let (mut m, creds) = setup();
    m.allow_rate();
    m.quiet_audit();
    m.users.expect_find_by_email().returning(|_| Ok(Some(user(UserStatus::Active))));
    m.otps.expect_create().returning(|_, _| Ok(()));
    m.health.expect_is_failing().returning(|_| Ok(true));
    m.notifier.expect_send().returning(|_| Ok(()));
    m.health.expect_mark_working().times(1).returning(|_| Ok(()));
    m.app().ciam.send_otp(&creds, email(Some("reset_password"), "ada@example.com")).await.unwrap();
}

#[tokio::test]
async fn public_clients_may_not_send_and_nothing_is_counted() {
    for kind in [ClientType::Spa, ClientType::Mobile] {
        let mut m = Mocks::default();
        m.client(kind, &ClientSecret::generate(&mut rand::rngs::OsRng), true, true);
        // No rate limiter, user store or OTP store expectation: touching one fails the test.
        let creds = ClientCredentials { client_id: "app".into(), client_secret: None };
        let r = m.app().ciam.send_otp(&creds, email(Some("reset_password"), "ada@example.com")).await;
        assert!(matches!(r, Err(SendOtpError::PublicClientMayNotSend)), "{kind:?}: {r:?}");
    }
}
