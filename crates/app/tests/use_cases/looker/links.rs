//! `create_password_reset` and `send_password_reset`: the caller, the user, the caller's link
//! budget, then one token issued (replacing any other), its audit event, then the message.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mockall::Sequence;
use resetd_app::looker::credentials::{CreatePasswordResetError, SendPasswordResetError};
use resetd_domain::locale::Language;
use resetd_domain::otp::Recipient;
use resetd_domain::reset_token::ResetTokenKind;
use resetd_domain::user::UserStatus;
use resetd_ports::audit::AuditKind;
use resetd_ports::notify::{Notice, NotifyError};
use resetd_ports::rate_limit::RateDecision;
use resetd_ports::users::User;
use secrecy::ExposeSecret;

use super::{admin, email_credential, nobody_is_there, plain, seven, seven_is_there};
use crate::support::{broken, down, key, user, Mocks};

/// Nothing is counted, issued, audited or sent.
fn nothing_issued(m: &mut Mocks) {
    m.rate_limiter.expect_hit().times(0);
    m.credentials.expect_issue_reset_token().times(0);
    m.audit.expect_record().times(0);
    m.notifier.expect_send().times(0);
}

fn over_the_limit(m: &mut Mocks) {
    m.rate_limiter
        .expect_hit()
        .withf(|key, _, _| key == "reset:caller:1")
        .times(1)
        .returning(|_, _, _| Ok(RateDecision::Limited { retry_after: Duration::from_secs(5) }));
}

#[tokio::test]
async fn a_reset_link_over_the_callers_limit_is_not_issued() {
    let mut m = Mocks::default();
    m.users.expect_find().returning(|_| Ok(Some(user(UserStatus::Active))));
    m.rate_limiter
        .expect_hit()
        .withf(|key, _, _| key.starts_with("reset:caller:"))
        .returning(|_, _, _| Ok(RateDecision::Limited { retry_after: Duration::from_secs(5) }));
    m.credentials.expect_issue_reset_token().times(0);
    let refused = m.app().looker.create_password_reset(admin(), seven(), true).await;
    assert!(matches!(refused, Err(CreatePasswordResetError::RateLimited { .. })), "{refused:?}");
}

#[tokio::test]
async fn a_refused_caller_or_a_missing_user_spends_none_of_the_link_budget() {
    let mut m = Mocks::default();
    m.users.expect_find().times(0);
    nothing_issued(&mut m);
    let r = m.app().looker.create_password_reset(plain(7), seven(), true).await;
    assert!(matches!(r, Err(CreatePasswordResetError::Forbidden)), "{r:?}");
    let mut m = Mocks::default();
    nobody_is_there(&mut m);
    nothing_issued(&mut m);
    let r = m.app().looker.create_password_reset(admin(), seven(), true).await;
    assert!(matches!(r, Err(CreatePasswordResetError::NotFound)), "{r:?}");
}

#[tokio::test]
async fn a_user_without_an_email_credential_gets_no_link_no_audit_event_and_its_hit_back() {
    let mut m = Mocks::default();
    seven_is_there(&mut m);
    // No link was issued, so none of the caller's budget is spent (before `allow_rate`, whose
    // catch-all would answer first).
    m.rate_limiter.expect_undo().withf(|key| key.starts_with("reset:caller:")).times(1).returning(|_| Ok(()));
    m.allow_rate();
    m.credentials.expect_issue_reset_token().times(1).returning(|_, _, _, _, _, _| Ok(None));
    m.audit.expect_record().times(0);
    let r = m.app().looker.create_password_reset(admin(), seven(), true).await;
    assert!(matches!(r, Err(CreatePasswordResetError::NotFound)), "{r:?}");
}

#[tokio::test]
async fn a_link_store_failure_is_unavailable_or_unexpected_and_issues_or_audits_nothing_after_it() {
    let mut m = Mocks::default();
    seven_is_there(&mut m);
    m.rate_limiter.expect_hit().times(1).returning(|_, _, _| Err(down()));
    m.credentials.expect_issue_reset_token().times(0);
    let r = m.app().looker.create_password_reset(admin(), seven(), true).await;
    assert!(matches!(r, Err(CreatePasswordResetError::Unavailable(_))), "{r:?}");
    let mut m = Mocks::default();
    seven_is_there(&mut m);
    m.allow_rate();
    m.credentials.expect_issue_reset_token().times(1).returning(|_, _, _, _, _, _| Err(broken()));
    m.audit.expect_record().times(0);
    let r = m.app().looker.create_password_reset(admin(), seven(), true).await;
    assert!(matches!(r, Err(CreatePasswordResetError::Unexpected(_))), "{r:?}");
}

#[tokio::test]
async fn a_reset_link_is_issued_once_audited_and_shown_once() {
    let mut m = Mocks::default();
    m.allow_rate();
    m.users.expect_find().returning(|_| Ok(Some(user(UserStatus::Active))));
    m.credentials.expect_issue_reset_token().times(1).returning(|id, token, _, expires_at, _, event| {
        assert_eq!(token.key, Some(key().id()), "sealed under the current key");
        assert!(expires_at.is_some(), "expires=true lives an hour");
        let audited = (event.kind, event.user_id, event.actor.as_str(), event.detail.as_str());
        assert_eq!(
            audited,
            (AuditKind::ResetTokenIssued, Some(seven()), "api-user:1", "password_reset"),
            "in the same step"
        );
        Ok(Some(email_credential(id)))
    });
    m.audit.expect_record().times(0);
    let view = m.app().looker.create_password_reset(admin(), seven(), true).await.unwrap();
    let url = view.password_reset_url.map(|u| secrecy::ExposeSecret::expose_secret(&u).to_owned()).unwrap();
    assert!(url.starts_with("https://reset.example.com/password/reset/"), "{url}");
}

#[tokio::test]
async fn a_non_expiring_link_lives_the_servers_longest_lifetime() {
    let mut m = Mocks::default();
    m.allow_rate();
    seven_is_there(&mut m);
    let longest = resetd_ports::testkit::t0() + chrono::Duration::days(30);
    m.credentials
        .expect_issue_reset_token()
        .withf(move |_, _, kind, expires_at, _, _| {
            *kind == ResetTokenKind::PasswordReset && *expires_at == Some(longest)
        })
        .times(1)
        .returning(|id, _, _, _, _, _| Ok(Some(email_credential(id))));
    m.quiet_audit();
    let view = m.app().looker.create_password_reset(admin(), seven(), false).await.unwrap();
    assert!(view.password_reset_url.is_some() && view.account_setup_url.is_none());
}

/// A send that passes every check up to the message: returns the link the notifier was given.
fn sendable(m: &mut Mocks, has_password: bool, kind: ResetTokenKind) -> Arc<Mutex<Option<Notice>>> {
    m.allow_rate();
    m.users.expect_find().returning(move |_| Ok(Some(User { has_password, ..user(UserStatus::Active) })));
    m.credentials
        .expect_issue_reset_token()
        .withf(move |_, _, k, expires_at, _, event| {
            *k == kind
                && expires_at.is_some()
                && (event.kind, event.actor.as_str()) == (AuditKind::ResetTokenIssued, "api-user:1")
        })
        .times(1)
        .returning(|id, _, _, _, _, _| Ok(Some(email_credential(id))));
    let sent = Arc::new(Mutex::new(None));
    let seen = sent.clone();
    m.notifier.expect_send().times(1).returning(move |n| {
        assert_eq!(n.to, Recipient::Email(email_credential(seven()).email), "to the credential's address");
        assert_eq!((n.language, n.name.as_deref()), (Language::Spanish, Some("Ada")), "in the user's language");
        *seen.lock().unwrap() = Some(n.notice);
        Ok(())
    });
    sent
}

fn url(notice: Option<Notice>) -> (String, Option<Duration>) {
    match notice {
        Some(Notice::ResetLink { url, expires_in } | Notice::SetupLink { url, expires_in }) => {
            (url.expose_secret().to_owned(), expires_in)
        }
        other => panic!("not a link: {other:?}"),
    }
}

#[tokio::test]
async fn a_reset_link_is_issued_audited_sent_to_the_credentials_address_and_audited_as_sent() {
    let mut m = Mocks::default();
    let sent = sendable(&mut m, true, ResetTokenKind::PasswordReset);
    let mut seq = Sequence::new();
    let audited = |kind| move |e: &resetd_ports::audit::AuditEvent| e.kind == kind && e.actor == "api-user:1";
    m.audit
        .expect_record()
        .withf(audited(AuditKind::ResetLinkSent))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(()));
    let view = m.app().looker.send_password_reset(admin(), seven()).await.unwrap();
    let notice = sent.lock().unwrap().take();
    assert!(matches!(notice, Some(Notice::ResetLink { .. })), "{notice:?}");
    let (link, expires_in) = url(notice);
    assert_eq!(expires_in, Some(Duration::from_secs(3600)), "an expiring link");
    assert_eq!(view.password_reset_url.map(|u| u.expose_secret().to_owned()), Some(link.clone()));
    assert!(link.starts_with("https://reset.example.com/password/reset/"), "{link}");
}

#[tokio::test]
async fn a_user_who_never_set_a_password_is_sent_an_account_setup_link() {
    let mut m = Mocks::default();
    let sent = sendable(&mut m, false, ResetTokenKind::AccountSetup);
    m.quiet_audit();
    let view = m.app().looker.send_password_reset(admin(), seven()).await.unwrap();
    let notice = sent.lock().unwrap().take();
    assert!(matches!(notice, Some(Notice::SetupLink { .. })), "{notice:?}");
    assert!(url(notice).0.starts_with("https://reset.example.com/account/setup/"));
    assert!(view.account_setup_url.is_some() && view.password_reset_url.is_none());
}

#[tokio::test]
async fn with_mail_switched_off_the_caller_and_the_user_are_judged_first_and_nothing_is_issued() {
    let mail_off = |s: &mut resetd_app::Settings| s.email_enabled = false;
    let mut m = Mocks::default();
    m.users.expect_find().times(0);
    nothing_issued(&mut m);
    let r = m.app_with(mail_off).looker.send_password_reset(plain(7), seven()).await;
    assert!(matches!(r, Err(SendPasswordResetError::Forbidden)), "{r:?}");
    let mut m = Mocks::default();
    nobody_is_there(&mut m);
    nothing_issued(&mut m);
    let r = m.app_with(mail_off).looker.send_password_reset(admin(), seven()).await;
    assert!(matches!(r, Err(SendPasswordResetError::NotFound)), "{r:?}");
    let mut m = Mocks::default();
    seven_is_there(&mut m);
    nothing_issued(&mut m);
    let r = m.app_with(mail_off).looker.send_password_reset(admin(), seven()).await;
    assert!(matches!(r, Err(SendPasswordResetError::EmailOff)), "{r:?}");
}

#[tokio::test]
async fn a_refused_caller_or_a_missing_user_is_sent_nothing_and_spends_no_budget() {
    let mut m = Mocks::default();
    m.users.expect_find().times(0);
    nothing_issued(&mut m);
    let r = m.app().looker.send_password_reset(plain(7), seven()).await;
    assert!(matches!(r, Err(SendPasswordResetError::Forbidden)), "{r:?}");
    let mut m = Mocks::default();
    nobody_is_there(&mut m);
    nothing_issued(&mut m);
    let r = m.app().looker.send_password_reset(admin(), seven()).await;
    assert!(matches!(r, Err(SendPasswordResetError::NotFound)), "{r:?}");
}

#[tokio::test]
async fn a_send_over_the_callers_limit_issues_and_sends_nothing() {
    let mut m = Mocks::default();
    seven_is_there(&mut m);
    over_the_limit(&mut m);
    m.credentials.expect_issue_reset_token().times(0);
    m.notifier.expect_send().times(0);
    m.audit.expect_record().times(0);
    let r = m.app().looker.send_password_reset(admin(), seven()).await;
    assert!(matches!(r, Err(SendPasswordResetError::RateLimited { retry_after }) if retry_after.as_secs() == 5));
}

#[tokio::test]
async fn a_user_without_an_email_credential_is_sent_nothing() {
    let mut m = Mocks::default();
    seven_is_there(&mut m);
    m.allow_rate();
    m.credentials.expect_issue_reset_token().times(1).returning(|_, _, _, _, _, _| Ok(None));
    m.notifier.expect_send().times(0);
    m.audit.expect_record().times(0);
    let r = m.app().looker.send_password_reset(admin(), seven()).await;
    assert!(matches!(r, Err(SendPasswordResetError::NotFound)), "{r:?}");
}

#[tokio::test]
async fn an_undelivered_link_is_a_delivery_failure_and_not_audited_as_sent() {
    let mut m = Mocks::default();
    m.allow_rate();
    seven_is_there(&mut m);
    m.credentials.expect_issue_reset_token().times(1).returning(|id, _, _, _, _, _| Ok(Some(email_credential(id))));
    m.audit.expect_record().times(0);
    m.notifier.expect_send().times(1).returning(|_| Err(NotifyError::Delivery("refused".into())));
    let r = m.app().looker.send_password_reset(admin(), seven()).await;
    assert!(matches!(r, Err(SendPasswordResetError::DeliveryFailed(_))), "{r:?}");
}

#[tokio::test]
async fn a_link_with_no_sender_configured_is_a_bug_to_fix_not_an_outage_to_retry() {
    let mut m = Mocks::default();
    m.allow_rate();
    seven_is_there(&mut m);
    m.credentials.expect_issue_reset_token().times(1).returning(|id, _, _, _, _, _| Ok(Some(email_credential(id))));
    m.audit.expect_record().times(0);
    m.notifier.expect_send().times(1).returning(|_| Err(NotifyError::NoChannel("email")));
    let r = m.app().looker.send_password_reset(admin(), seven()).await;
    assert!(matches!(r, Err(SendPasswordResetError::Unexpected(_))), "{r:?}");
}

#[tokio::test]
async fn a_send_store_failure_is_unavailable_or_unexpected_and_sends_nothing() {
    let mut m = Mocks::default();
    seven_is_there(&mut m);
    m.rate_limiter.expect_hit().times(1).returning(|_, _, _| Err(down()));
    m.credentials.expect_issue_reset_token().times(0);
    m.notifier.expect_send().times(0);
    let r = m.app().looker.send_password_reset(admin(), seven()).await;
    assert!(matches!(r, Err(SendPasswordResetError::Unavailable(_))), "{r:?}");
    let mut m = Mocks::default();
    seven_is_there(&mut m);
    m.allow_rate();
    m.credentials.expect_issue_reset_token().times(1).returning(|_, _, _, _, _, _| Err(broken()));
    m.audit.expect_record().times(0);
    m.notifier.expect_send().times(0);
    let r = m.app().looker.send_password_reset(admin(), seven()).await;
    assert!(matches!(r, Err(SendPasswordResetError::Unexpected(_))), "{r:?}");
}

#[tokio::test]
async fn a_link_whose_write_with_its_audit_event_fails_is_not_sent() {
    let mut m = Mocks::default();
    m.allow_rate();
    seven_is_there(&mut m);
    // The link and its event are one write: when it fails, neither is there to send.
    m.credentials.expect_issue_reset_token().times(1).returning(|_, _, _, _, _, _| Err(down()));
    m.audit.expect_record().times(0);
    m.notifier.expect_send().times(0);
    let r = m.app().looker.send_password_reset(admin(), seven()).await;
    assert!(matches!(r, Err(SendPasswordResetError::Unavailable(_))), "{r:?}");
}
