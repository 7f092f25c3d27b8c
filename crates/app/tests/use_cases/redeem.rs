use std::time::Duration;

use resetd_app::redeem::{InspectError, RedeemError};
use resetd_domain::password::Password;
use resetd_domain::reset_token::{ResetToken, ResetTokenKind};
use resetd_domain::user::{UserId, UserStatus};
use resetd_ports::credentials::{ChangePasswordError, TokenOwner};
use resetd_ports::rate_limit::RateDecision;

use crate::support::{broken, down, some_hash, user, Mocks};

fn pw(s: &str) -> Password {
    Password::new(s.into()).unwrap()
}

fn with_owner(m: &mut Mocks) {
    m.credentials.expect_find_reset_token().returning(|_, _| {
        Ok(Some(TokenOwner { user_id: UserId::from_i64(7).unwrap(), kind: ResetTokenKind::PasswordReset }))
    });
    m.users.expect_find().returning(|_| Ok(Some(user(UserStatus::Active))));
}

#[tokio::test]
async fn malformed_and_unknown_tokens_are_one_error() {
    let m = Mocks::default();
    assert!(matches!(m.app().redeem.redeem("short", pw("x")).await, Err(RedeemError::InvalidToken)));
    let mut m = Mocks::default();
    m.credentials.expect_find_reset_token().returning(|_, _| Ok(None));
    let t = ResetToken::generate(&mut rand::rngs::OsRng);
    assert!(matches!(m.app().redeem.redeem(t.expose(), pw("x")).await, Err(RedeemError::InvalidToken)));
}

#[tokio::test]
async fn inspecting_a_link_consumes_nothing() {
    let mut m = Mocks::default();
    with_owner(&mut m);
    m.no_default_policy();
    let t = ResetToken::generate(&mut rand::rngs::OsRng);
    let form = m.app().redeem.inspect(t.expose()).await.unwrap();
    assert_eq!(form.kind, ResetTokenKind::PasswordReset);
    assert_eq!(form.email.map(|e| e.as_str().to_owned()).as_deref(), Some("ada@example.com"), "whose account");
    assert_eq!(form.locale.as_deref(), Some("es"));
}

#[tokio::test]
async fn a_refused_password_writes_nothing() {
    let mut m = Mocks::default();
    with_owner(&mut m);
    m.no_default_policy();
    let t = ResetToken::generate(&mut rand::rngs::OsRng);
    assert!(matches!(m.app().redeem.redeem(t.expose(), pw("short")).await, Err(RedeemError::Policy(_))));
}

#[tokio::test]
async fn a_token_consumed_concurrently_is_invalid() {
    let mut m = Mocks::default();
    with_owner(&mut m);
    m.no_default_policy();
    m.password_state(None);
    m.hasher.expect_matches_any().returning(|_, _| Ok(false));
    m.hasher.expect_hash().returning(|_| Ok(some_hash()));
    m.credentials.expect_change_password().returning(|_| Err(ChangePasswordError::TokenGone));
    let t = ResetToken::generate(&mut rand::rngs::OsRng);
    assert!(matches!(
        m.app().redeem.redeem(t.expose(), pw("Tr4vel-by-Zeppelin")).await,
        Err(RedeemError::InvalidToken)
    ));
}

#[tokio::test]
async fn success_consumes_the_token_and_ends_sessions() {
    let mut m = Mocks::default();
    with_owner(&mut m);
    m.no_default_policy();
    m.password_state(Some(some_hash()));
    m.hasher.expect_matches_any().returning(|_, _| Ok(false));
    m.hasher.expect_hash().times(1).returning(|_| Ok(some_hash()));
    let t = ResetToken::generate(&mut rand::rngs::OsRng);
    let digest = t.digest(&crate::support::key());
    m.credentials.expect_change_password().times(1).returning(move |c| {
        assert_eq!(c.consume, Some(digest), "the token is consumed in the same change");
        assert_eq!(c.audit.actor, "link", "the audit event is part of the change");
        assert!(c.notice.is_some(), "the notice is owed by the change");
        Ok(4)
    });
    m.access_tokens
        .expect_publish_generation()
        .withf(|_, generation, _| *generation == 4)
        .times(1)
        .returning(|_, _, _| Ok(()));
    m.app().redeem.redeem(t.expose(), pw("Tr4vel-by-Zeppelin")).await.unwrap();
}

/// Fails on the main of before Hardening II: a caller that went away after the commit left the
/// new generation unpublished (the outbox publishes it later; now the change finishes).
#[tokio::test]
async fn a_caller_that_goes_away_does_not_stop_the_change_it_started() {
    let mut m = Mocks::default();
    with_owner(&mut m);
    m.no_default_policy();
    m.password_state(Some(some_hash()));
    m.hasher.expect_matches_any().returning(|_, _| Ok(false));
    m.hasher.expect_hash().times(1).returning(|_| Ok(some_hash()));
    m.credentials.expect_change_password().times(1).returning(|_| Ok(4));
    let (done, finished) = tokio::sync::oneshot::channel();
    let done = std::sync::Mutex::new(Some(done));
    m.access_tokens.expect_publish_generation().times(1).returning(move |_, _, _| {
        if let Some(done) = done.lock().unwrap().take() {
            let _ = done.send(());
        }
        Ok(())
    });
    let app = m.app();
    let t = ResetToken::generate(&mut rand::rngs::OsRng);
    // One poll takes the call as far as handing the change to its task (every port answers at
    // once); then the caller goes away (the future is dropped).
    tokio::select! {
        biased;
        r = app.redeem.redeem(t.expose(), pw("Tr4vel-by-Zeppelin")) => panic!("the call did not wait on its task: {r:?}"),
        () = std::future::ready(()) => {}
    }
    tokio::time::timeout(std::time::Duration::from_secs(10), finished)
        .await
        .expect("the change ran to its end without its caller")
        .unwrap();
}

#[tokio::test]
async fn a_change_over_the_address_limit_reads_no_link_and_hashes_nothing() {
    let mut m = Mocks::default();
    m.rate_limiter
        .expect_hit()
        .withf(|key, _, _| key.starts_with("change:ip:"))
        .times(1)
        .returning(|_, _, _| Ok(RateDecision::Limited { retry_after: Duration::from_secs(9) }));
    m.credentials.expect_find_reset_token().times(0);
    m.hasher.expect_hash().times(0);
    let t = ResetToken::generate(&mut rand::rngs::OsRng);
    let ip = Some(std::net::IpAddr::from([192, 0, 2, 1]));
    let r = m.app().redeem.redeem_from(t.expose(), pw("Tr4vel-by-Zeppelin"), ip).await;
    assert!(
        matches!(r, Err(RedeemError::RateLimited { retry_after }) if retry_after == Duration::from_secs(9)),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_recently_used_password_is_recurrent_and_changes_nothing() {
    let mut m = Mocks::default();
    with_owner(&mut m);
    m.no_default_policy();
    m.password_state(Some(some_hash()));
    m.hasher.expect_matches_any().times(1).returning(|_, _| Ok(true));
    m.hasher.expect_hash().times(0);
    m.credentials.expect_change_password().times(0);
    let t = ResetToken::generate(&mut rand::rngs::OsRng);
    let r = m.app().redeem.redeem(t.expose(), pw("Tr4vel-by-Zeppelin")).await;
    assert!(matches!(r, Err(RedeemError::Recurrent)), "{r:?}");
}

#[tokio::test]
async fn the_link_of_a_user_who_may_not_reset_is_invalid_and_nothing_is_hashed() {
    for status in [UserStatus::Locked, UserStatus::Frozen, UserStatus::Disabled] {
        let mut m = Mocks::default();
        m.credentials.expect_find_reset_token().returning(|_, _| {
            Ok(Some(TokenOwner { user_id: UserId::from_i64(7).unwrap(), kind: ResetTokenKind::PasswordReset }))
        });
        m.users.expect_find().returning(move |_| Ok(Some(user(status))));
        m.hasher.expect_matches_any().times(0);
        m.hasher.expect_hash().times(0);
        m.credentials.expect_change_password().times(0);
        let t = ResetToken::generate(&mut rand::rngs::OsRng);
        let app = m.app();
        assert!(matches!(app.redeem.inspect(t.expose()).await, Err(InspectError::InvalidToken)), "{status:?}");
        let r = app.redeem.redeem(t.expose(), pw("Tr4vel-by-Zeppelin")).await;
        assert!(matches!(r, Err(RedeemError::InvalidToken)), "{status:?}: {r:?}");
    }
}

#[tokio::test]
async fn an_unknown_link_inspects_as_invalid() {
    let mut m = Mocks::default();
    m.credentials.expect_find_reset_token().returning(|_, _| Ok(None));
    m.users.expect_find().times(0);
    let t = ResetToken::generate(&mut rand::rngs::OsRng);
    let app = m.app();
    assert!(matches!(app.redeem.inspect(t.expose()).await, Err(InspectError::InvalidToken)));
    assert!(matches!(app.redeem.inspect("short").await, Err(InspectError::InvalidToken)));
}

#[tokio::test]
async fn a_link_store_failure_is_unavailable_or_unexpected_and_nothing_is_hashed() {
    for (fail, unavailable) in [(down as fn() -> _, true), (broken, false)] {
        let mut m = Mocks::default();
        m.credentials.expect_find_reset_token().returning(move |_, _| Err(fail()));
        m.hasher.expect_hash().times(0);
        m.credentials.expect_change_password().times(0);
        let t = ResetToken::generate(&mut rand::rngs::OsRng);
        let app = m.app();
        let inspected = app.redeem.inspect(t.expose()).await;
        let redeemed = app.redeem.redeem(t.expose(), pw("Tr4vel-by-Zeppelin")).await;
        if unavailable {
            assert!(matches!(inspected, Err(InspectError::Unavailable(_))), "{inspected:?}");
            assert!(matches!(redeemed, Err(RedeemError::Unavailable(_))), "{redeemed:?}");
        } else {
            assert!(matches!(inspected, Err(InspectError::Unexpected(_))), "{inspected:?}");
            assert!(matches!(redeemed, Err(RedeemError::Unexpected(_))), "{redeemed:?}");
        }
    }
}
