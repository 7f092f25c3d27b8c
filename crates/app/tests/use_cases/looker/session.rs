//! `login`, `authenticate` and `logout`.

use std::time::Duration;

use resetd_app::looker::session::{AuthenticateError, LoginError, LogoutError};
use resetd_domain::access::{ApiSecret, Principal, Role, SessionToken};
use resetd_domain::user::UserStatus;
use resetd_ports::audit::AuditKind;
use resetd_ports::rate_limit::RateDecision;

use super::{credential, seven};
use crate::support::{broken, down, key, user, Mocks};

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
async fn a_malformed_client_id_is_a_bad_credential_that_reads_and_counts_nothing() {
    let mut m = Mocks::default();
    m.rate_limiter.expect_count().times(0);
    m.rate_limiter.expect_hit().times(0);
    m.api_credentials.expect_find().times(0);
    m.access_tokens.expect_issue().times(0);
    m.audit.expect_record().times(0);
    let refused = m.app().looker.login("not an id!", "secret", None).await;
    assert!(matches!(refused, Err(LoginError::BadCredentials)), "{refused:?}");
}

#[tokio::test]
async fn a_login_from_an_address_is_counted_under_it_before_its_failures_and_its_secret_are_read() {
    let secret = ApiSecret::generate(&mut rand::rngs::OsRng);
    let mut m = Mocks::default();
    let mut seq = mockall::Sequence::new();
    m.rate_limiter
        .expect_hit()
        .withf(|key, _, _| key == "login:ip:192.0.2.1")
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _| Ok(RateDecision::Allowed));
    m.rate_limiter
        .expect_count()
        .withf(|key| key == "login:fail:api:192.0.2.1")
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(0));
    let stored = credential(&secret);
    m.api_credentials.expect_find().times(1).in_sequence(&mut seq).returning(move |_| Ok(Some(stored.clone())));
    m.users.expect_find().returning(|_| Ok(Some(user(UserStatus::Active))));
    m.access_tokens.expect_issue().times(1).returning(|_, _, _, _| Ok(()));
    m.quiet_audit();
    let ip = Some("192.0.2.1".parse().unwrap());
    let session = m.app().looker.login("api", secret.expose(), ip).await.unwrap();
    assert_eq!(session.expires_in, Duration::from_secs(3600));
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
async fn a_login_store_failure_is_unavailable_or_unexpected_and_opens_no_session() {
    let secret = ApiSecret::generate(&mut rand::rngs::OsRng);
    // The credential store is away: no failure is counted against the client, no session.
    let mut m = Mocks::default();
    m.rate_limiter.expect_count().returning(|_| Ok(0));
    m.api_credentials.expect_find().times(1).returning(|_| Err(down()));
    m.rate_limiter.expect_hit().times(0);
    m.access_tokens.expect_issue().times(0);
    m.audit.expect_record().times(0);
    let r = m.app().looker.login("api", secret.expose(), None).await;
    assert!(matches!(r, Err(LoginError::Unavailable(_))), "{r:?}");
    // The session store fails: the login is not audited as done.
    let mut m = Mocks::default();
    m.rate_limiter.expect_count().returning(|_| Ok(0));
    let stored = credential(&secret);
    m.api_credentials.expect_find().returning(move |_| Ok(Some(stored.clone())));
    m.users.expect_find().returning(|_| Ok(Some(user(UserStatus::Active))));
    m.access_tokens.expect_issue().times(1).returning(|_, _, _, _| Err(broken()));
    m.audit.expect_record().times(0);
    let r = m.app().looker.login("api", secret.expose(), None).await;
    assert!(matches!(r, Err(LoginError::Unexpected(_))), "{r:?}");
}

#[tokio::test]
async fn a_rate_limiter_outage_is_unavailable_before_any_credential_is_read() {
    let mut m = Mocks::default();
    m.rate_limiter.expect_count().times(1).returning(|_| Err(down()));
    m.api_credentials.expect_find().times(0);
    m.access_tokens.expect_issue().times(0);
    let r = m.app().looker.login("api", "secret", None).await;
    assert!(matches!(r, Err(LoginError::Unavailable(_))), "{r:?}");
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
async fn a_live_session_resolves_to_its_principal_under_the_current_key() {
    let token = SessionToken::generate(seven(), &mut rand::rngs::OsRng);
    let digest = token.digest(&key());
    let mut m = Mocks::default();
    m.access_tokens
        .expect_resolve()
        .withf(move |s| s.user_id == seven() && s.token == digest)
        .times(1)
        .returning(|s| Ok(Some(Principal { user_id: s.user_id, role: Role::User })));
    let caller = m.app().looker.authenticate(&token.expose()).await.unwrap();
    assert_eq!(caller, Principal { user_id: seven(), role: Role::User });
}

#[tokio::test]
async fn a_session_store_failure_is_unavailable_or_unexpected_not_unauthenticated() {
    let token = SessionToken::generate(seven(), &mut rand::rngs::OsRng);
    let mut m = Mocks::default();
    m.access_tokens.expect_resolve().times(1).returning(|_| Err(down()));
    let r = m.app().looker.authenticate(&token.expose()).await;
    assert!(matches!(r, Err(AuthenticateError::Unavailable(_))), "{r:?}");
    let mut m = Mocks::default();
    m.access_tokens.expect_resolve().times(1).returning(|_| Err(broken()));
    let r = m.app().looker.authenticate(&token.expose()).await;
    assert!(matches!(r, Err(AuthenticateError::Unexpected(_))), "{r:?}");
}

#[tokio::test]
async fn logging_out_revokes_the_session_it_resolved() {
    let token = SessionToken::generate(seven(), &mut rand::rngs::OsRng);
    let digest = token.digest(&key());
    let mut m = Mocks::default();
    let mut seq = mockall::Sequence::new();
    m.access_tokens
        .expect_resolve()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|s| Ok(Some(Principal { user_id: s.user_id, role: Role::Admin })));
    m.access_tokens
        .expect_revoke()
        .withf(move |s| s.user_id == seven() && s.token == digest)
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(()));
    m.app().looker.logout(&token.expose()).await.unwrap();
}

#[tokio::test]
async fn logging_out_a_malformed_or_dead_token_revokes_nothing() {
    let mut m = Mocks::default();
    m.access_tokens.expect_resolve().times(0);
    m.access_tokens.expect_revoke().times(0);
    assert!(matches!(m.app().looker.logout("not-a-token").await, Err(LogoutError::Unauthenticated)));
    let token = SessionToken::generate(seven(), &mut rand::rngs::OsRng);
    let mut m = Mocks::default();
    m.access_tokens.expect_resolve().times(1).returning(|_| Ok(None));
    m.access_tokens.expect_revoke().times(0);
    assert!(matches!(m.app().looker.logout(&token.expose()).await, Err(LogoutError::Unauthenticated)));
}

#[tokio::test]
async fn a_logout_store_failure_is_unavailable_or_unexpected() {
    let token = SessionToken::generate(seven(), &mut rand::rngs::OsRng);
    let mut m = Mocks::default();
    m.access_tokens.expect_resolve().times(1).returning(|_| Err(down()));
    m.access_tokens.expect_revoke().times(0);
    let r = m.app().looker.logout(&token.expose()).await;
    assert!(matches!(r, Err(LogoutError::Unavailable(_))), "{r:?}");
    let mut m = Mocks::default();
    m.access_tokens.expect_resolve().returning(|s| Ok(Some(Principal { user_id: s.user_id, role: Role::Admin })));
    m.access_tokens.expect_revoke().times(1).returning(|_| Err(broken()));
    let r = m.app().looker.logout(&token.expose()).await;
    assert!(matches!(r, Err(LogoutError::Unexpected(_))), "{r:?}");
}
