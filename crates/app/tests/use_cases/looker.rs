//! The Looker use cases with mocked ports: each branch, and what it must *not* call before the
//! caller has proved itself (no credential read before the per-address limit, no session
//! issued for bad credentials, no store write for a caller without rights).

use std::time::Duration;

use resetd_app::looker::credentials::CreatePasswordResetError;
use resetd_app::looker::session::{AuthenticateError, LoginError};
use resetd_app::looker::users::{CreateUserError, DeleteUserError, GetUserError, UpdateUserError};
use resetd_app::looker::{InvalidInput, WriteUser};
use resetd_domain::access::{ApiSecret, Principal, Role, SessionToken};
use resetd_domain::client::ClientId;
use resetd_domain::keyring::KeyRing;
use resetd_domain::user::{Email, UserId, UserStatus};
use resetd_ports::access::ApiCredential;
use resetd_ports::audit::AuditKind;
use resetd_ports::credentials::EmailCredential;
use resetd_ports::rate_limit::RateDecision;

use crate::support::{key, user, Mocks};

fn admin() -> Principal {
    Principal { user_id: UserId::from_i64(1).unwrap(), role: Role::Admin }
}

fn plain(id: i64) -> Principal {
    Principal { user_id: UserId::from_i64(id).unwrap(), role: Role::User }
}

fn seven() -> UserId {
    UserId::from_i64(7).unwrap()
}

fn credential(secret: &ApiSecret) -> ApiCredential {
    ApiCredential {
        client_id: ClientId::parse("api").unwrap(),
        secret: KeyRing::single(key()).seal(|k| secret.digest(k)),
        user_id: seven(),
        role: Role::Admin,
        created_at: resetd_ports::testkit::t0(),
    }
}

fn email_credential(id: UserId) -> EmailCredential {
    EmailCredential {
        user_id: id,
        email: Email::parse("ada@example.com").unwrap(),
        created_at: resetd_ports::testkit::t0(),
        logged_in_at: None,
        forced_reset: false,
        reset: None,
    }
}

/// A login from no known address whose checks all pass up to the credential lookup.
fn login_mocks() -> Mocks {
    let mut m = Mocks::default();
    m.rate_limiter.expect_count().returning(|_| Ok(0));
    m.quiet_audit();
    m
}

#[tokio::test]
async fn a_login_over_the_address_limit_reads_no_credential() {
    let mut m = Mocks::default();
    m.rate_limiter
        .expect_hit()
        .withf(|key, _, _| key.starts_with("login:ip:"))
        .returning(|_, _, _| Ok(RateDecision::Limited { retry_after: Duration::from_secs(30) }));
    m.api_credentials.expect_find().times(0);
    m.access_tokens.expect_issue().times(0);
    let ip = Some("192.0.2.1".parse().unwrap());
    let refused = m.app().looker.login("api", "secret", ip).await;
    assert!(matches!(refused, Err(LoginError::RateLimited { .. })), "{refused:?}");
}

#[tokio::test]
async fn a_login_over_the_failure_limit_of_its_client_and_address_reads_no_credential() {
    let mut m = Mocks::default();
    m.rate_limiter.expect_hit().returning(|_, _, _| Ok(RateDecision::Allowed));
    m.rate_limiter.expect_count().withf(|key| key.starts_with("login:fail:api:")).returning(|_| Ok(1_000));
    m.api_credentials.expect_find().times(0);
    let refused = m.app().looker.login("api", "secret", None).await;
    assert!(matches!(refused, Err(LoginError::RateLimited { .. })), "{refused:?}");
}

#[tokio::test]
async fn unknown_clients_wrong_secrets_and_inactive_owners_are_one_answer_and_count_a_failure() {
    let secret = ApiSecret::generate(&mut rand::rngs::OsRng);
    let wrong = ApiSecret::generate(&mut rand::rngs::OsRng);
    for case in ["unknown", "wrong secret", "locked owner"] {
        let mut m = login_mocks();
        let stored = (case != "unknown").then(|| credential(&secret));
        m.api_credentials.expect_find().times(1).returning(move |_| Ok(stored.clone()));
        m.users.expect_find().returning(|_| Ok(Some(user(UserStatus::Locked))));
        m.rate_limiter
            .expect_hit()
            .withf(|key, _, _| key.starts_with("login:fail:"))
            .times(1)
            .returning(|_, _, _| Ok(RateDecision::Allowed));
        m.access_tokens.expect_issue().times(0);
        let presented = if case == "wrong secret" { &wrong } else { &secret };
        let answer = m.app().looker.login("api", presented.expose(), None).await;
        assert!(matches!(answer, Err(LoginError::BadCredentials)), "{case}: {answer:?}");
    }
}

#[tokio::test]
async fn a_right_secret_opens_a_session_under_the_owners_generation_and_is_audited() {
    let secret = ApiSecret::generate(&mut rand::rngs::OsRng);
    let mut m = Mocks::default();
    m.rate_limiter.expect_hit().times(0);
    m.rate_limiter.expect_count().returning(|_| Ok(0));
    let stored = credential(&secret);
    m.api_credentials.expect_find().returning(move |_| Ok(Some(stored.clone())));
    m.users
        .expect_find()
        .returning(|_| Ok(Some(resetd_ports::users::User { generation: 9, ..user(UserStatus::Active) })));
    m.access_tokens
        .expect_issue()
        .withf(|s, role, generation, _| s.user_id == seven() && *role == Role::Admin && *generation == 9)
        .times(1)
        .returning(|_, _, _, _| Ok(()));
    m.audit.expect_record().withf(|e| e.kind == AuditKind::ApiLogin).times(1).returning(|_| Ok(()));
    let session = m.app().looker.login("api", secret.expose(), None).await.unwrap();
    assert_eq!(session.access_token.user_id(), seven());
}

#[tokio::test]
async fn a_malformed_access_token_touches_no_store() {
    let mut m = Mocks::default();
    m.access_tokens.expect_resolve().times(0);
    assert!(matches!(m.app().looker.authenticate("not-a-token").await, Err(AuthenticateError::Unauthenticated)));
    let mut m = Mocks::default();
    m.access_tokens.expect_resolve().times(1).returning(|_| Ok(None));
    let token = SessionToken::generate(seven(), &mut rand::rngs::OsRng);
    assert!(matches!(m.app().looker.authenticate(&token.expose()).await, Err(AuthenticateError::Unauthenticated)));
}

#[tokio::test]
async fn a_plain_user_sees_only_itself_and_administers_nothing() {
    let me = plain(7);
    let mut m = Mocks::default();
    m.users.expect_list().times(0);
    m.users.expect_find().returning(|_| Ok(Some(user(UserStatus::Active))));
    m.credentials.expect_get_many().returning(|ids| Ok(ids.iter().map(|id| email_credential(*id)).collect()));
    let listed = m.app().looker.list_users(me, 0, 100).await.unwrap();
    assert_eq!(listed.iter().map(|v| v.user.id).collect::<Vec<_>>(), vec![seven()]);
    assert!(listed[0].credential.is_some(), "with its credential, from the one batched read");

    let mut m = Mocks::default();
    m.users.expect_find().times(0);
    m.users.expect_create().times(0);
    m.users.expect_delete().times(0);
    m.credentials.expect_issue_reset_token().times(0);
    let app = m.app();
    assert!(matches!(app.looker.get_user(me, UserId::from_i64(8).unwrap()).await, Err(GetUserError::Forbidden)));
    assert!(matches!(app.looker.create_user(me, WriteUser::default()).await, Err(CreateUserError::Forbidden)));
    assert!(matches!(app.looker.delete_user(me, seven()).await, Err(DeleteUserError::Forbidden)));
    assert!(matches!(
        app.looker.create_password_reset(me, seven(), true).await,
        Err(CreatePasswordResetError::Forbidden)
    ));
}

#[tokio::test]
async fn a_page_of_users_reads_its_credentials_in_one_call() {
    let mut m = Mocks::default();
    m.users.expect_list().withf(|offset, limit| (*offset, *limit) == (0, 1000)).times(1).returning(|_, _| {
        Ok((1..=3)
            .map(|i| resetd_ports::users::User { id: UserId::from_i64(i).unwrap(), ..user(UserStatus::Active) })
            .collect())
    });
    m.credentials.expect_get().times(0);
    m.credentials
        .expect_get_many()
        .withf(|ids| ids.len() == 3)
        .times(1)
        .returning(|_| Ok(vec![email_credential(UserId::from_i64(2).unwrap())]));
    let page = m.app().looker.list_users(admin(), 0, 5_000).await.unwrap();
    let with: Vec<bool> = page.iter().map(|v| v.credential.is_some()).collect();
    assert_eq!(with, vec![false, true, false], "each credential on its user, none invented");
}

#[tokio::test]
async fn a_taken_email_creates_nothing() {
    let mut m = Mocks::default();
    m.users.expect_find_by_email().returning(|_| Ok(Some(user(UserStatus::Active))));
    m.users.expect_create().times(0);
    m.credentials.expect_create().times(0);
    let body = WriteUser { email: Some("ada@example.com".into()), ..WriteUser::default() };
    assert!(matches!(m.app().looker.create_user(admin(), body).await, Err(CreateUserError::EmailTaken)));
}

#[tokio::test]
async fn a_user_update_with_a_bad_email_writes_nothing() {
    let mut m = Mocks::default();
    m.users.expect_find().returning(|_| Ok(Some(user(UserStatus::Active))));
    m.users.expect_update().times(0);
    m.credentials.expect_update().times(0);
    let body =
        WriteUser { first_name: Some(Some("Ada".into())), email: Some("not an email".into()), ..WriteUser::default() };
    let refused = m.app().looker.update_user(admin(), seven(), body).await;
    assert!(matches!(refused, Err(UpdateUserError::Invalid(InvalidInput::Email))), "{refused:?}");
}

#[tokio::test]
async fn control_characters_in_a_users_fields_write_nothing() {
    let mut m = Mocks::default();
    m.users.expect_find().returning(|_| Ok(Some(user(UserStatus::Active))));
    m.users.expect_find_by_email().returning(|_| Ok(None));
    m.users.expect_update().times(0);
    m.users.expect_create().times(0);
    let app = m.app();
    let nul = WriteUser { locale: Some(Some("es\u{0}".into())), ..WriteUser::default() };
    assert!(matches!(
        app.looker.update_user(admin(), seven(), nul).await,
        Err(UpdateUserError::Invalid(InvalidInput::ControlCharacters(_)))
    ));
    let tab = WriteUser { first_name: Some(Some("A\tda".into())), ..WriteUser::default() };
    assert!(matches!(
        app.looker.create_user(admin(), tab).await,
        Err(CreateUserError::Invalid(InvalidInput::ControlCharacters(_)))
    ));
}

#[tokio::test]
async fn a_user_update_with_an_email_changes_the_credential() {
    let mut m = Mocks::default();
    m.users.expect_find().returning(|_| Ok(Some(user(UserStatus::Active))));
    m.users.expect_update().times(1).returning(|_, _| Ok(Some(user(UserStatus::Active))));
    m.credentials.expect_get().returning(|id| Ok(Some(email_credential(id))));
    m.credentials
        .expect_update()
        .withf(|_, email, forced| email.as_ref().map(Email::as_str) == Some("grace@example.com") && forced.is_none())
        .times(1)
        .returning(|id, _, _| Ok(email_credential(id)));
    let body = WriteUser { email: Some("Grace@Example.com".into()), ..WriteUser::default() };
    m.app().looker.update_user(admin(), seven(), body).await.unwrap();
}

#[tokio::test]
async fn nobody_switches_their_own_account_on_or_off() {
    let mut m = Mocks::default();
    m.users.expect_find().returning(|_| Ok(Some(user(UserStatus::Active))));
    m.users.expect_update().times(0);
    let me = Principal { user_id: seven(), role: Role::Admin };
    let body = WriteUser { is_disabled: Some(false), ..WriteUser::default() };
    assert!(matches!(m.app().looker.update_user(me, seven(), body).await, Err(UpdateUserError::Forbidden)));
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
async fn a_reset_link_is_issued_once_audited_and_shown_once() {
    let mut m = Mocks::default();
    m.allow_rate();
    m.users.expect_find().returning(|_| Ok(Some(user(UserStatus::Active))));
    m.credentials.expect_issue_reset_token().times(1).returning(|id, token, _, expires_at, _| {
        assert_eq!(token.key, Some(key().id()), "sealed under the current key");
        assert!(expires_at.is_some(), "expires=true lives an hour");
        Ok(Some(email_credential(id)))
    });
    m.audit.expect_record().withf(|e| e.kind == AuditKind::ResetTokenIssued).times(1).returning(|_| Ok(()));
    let view = m.app().looker.create_password_reset(admin(), seven(), true).await.unwrap();
    let url = view.password_reset_url.map(|u| secrecy::ExposeSecret::expose_secret(&u).to_owned()).unwrap();
    assert!(url.starts_with("https://reset.example.com/password/reset/"), "{url}");
}
