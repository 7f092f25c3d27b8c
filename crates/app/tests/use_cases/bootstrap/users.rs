//! `create_user` and `set_user_status`: the input, the email's owner and the password's
//! policy are judged before anything is written, and nothing is hashed before them.

use resetd_app::bootstrap::{BootstrapError, InvalidArgument};
use resetd_domain::user::{Email, UserId, UserStatus};
use resetd_ports::audit::AuditKind;
use resetd_ports::credentials::ChangePasswordError;
use resetd_ports::users::{User, UserWriteError};

use super::makes_users;
use crate::support::{broken, down, some_hash, user, Mocks};

const PASSWORD: &str = "Tr4vel-by-Zeppelin";

/// Nothing is hashed and no password is written.
fn no_password_set(m: &mut Mocks) {
    m.hasher.expect_matches_any().times(0);
    m.hasher.expect_hash().times(0);
    m.credentials.expect_change_password().times(0);
}

/// The email is free and the default policy is the configured one.
fn free_email(m: &mut Mocks) {
    m.users.expect_find_by_email().returning(|_| Ok(None));
    m.no_default_policy();
}

#[tokio::test]
async fn a_user_without_a_password_is_made_with_its_phone_and_locale_and_nothing_is_hashed() {
    let mut m = Mocks::default();
    free_email(&mut m);
    m.users
        .expect_create()
        .withf(|new, _| {
            new.phone.as_ref().map(|p| p.as_str()) == Some("+15555550123")
                && new.locale.as_deref() == Some("es")
                && new.email.as_ref().map(Email::as_str) == Some("ada@example.com")
        })
        .times(1)
        .returning(|new, _| Ok(User { phone: new.phone, ..user(UserStatus::Active) }));
    m.credentials.expect_create().times(0);
    m.audit
        .expect_record()
        .withf(|e| e.kind == AuditKind::UserCreated && e.actor == "cli" && e.user_id.map(UserId::as_i64) == Some(7))
        .times(1)
        .returning(|_| Ok(()));
    m.users.expect_find().times(0);
    m.credentials.expect_password_state().times(0);
    no_password_set(&mut m);
    let b = m.app().bootstrap;
    let id = b.create_user("ada@example.com", Some("+15555550123"), None, Some("es".into())).await.unwrap();
    assert_eq!(id.as_i64(), 7);
}

#[tokio::test]
async fn a_user_with_a_password_is_made_then_given_it_hashed_once() {
    let mut m = Mocks::default();
    free_email(&mut m);
    makes_users(&mut m);
    m.password_state(None);
    m.hasher.expect_matches_any().times(1).returning(|_, _| Ok(false));
    m.hasher.expect_hash().times(1).returning(|_| Ok(some_hash()));
    m.credentials
        .expect_change_password()
        .withf(|c| c.user_id.as_i64() == 1 && c.consume.is_none() && c.audit.actor == "cli" && c.notice.is_none())
        .times(1)
        .returning(|_| Ok(1));
    m.access_tokens.expect_publish_generation().times(1).returning(|_, _, _| Ok(()));
    let id = m.app().bootstrap.create_user("grace@example.com", None, Some(PASSWORD.into()), None).await.unwrap();
    assert_eq!(id.as_i64(), 1);
}

#[tokio::test]
async fn a_malformed_phone_or_an_empty_password_is_refused_before_the_email_is_looked_up() {
    let mut m = Mocks::default();
    m.users.expect_find_by_email().times(0);
    m.users.expect_create().times(0);
    let b = m.app().bootstrap;
    let r = b.create_user("ada@example.com", Some("12"), None, None).await;
    assert!(matches!(r, Err(BootstrapError::Invalid(InvalidArgument::Phone(_)))), "phone: {r:?}");
    let r = b.create_user("ada@example.com", None, Some(String::new()), None).await;
    assert!(matches!(r, Err(BootstrapError::Invalid(InvalidArgument::Password(_)))), "password: {r:?}");
}

#[tokio::test]
async fn a_password_against_the_policy_makes_no_user_and_hashes_nothing() {
    let mut m = Mocks::default();
    free_email(&mut m);
    m.users.expect_create().times(0);
    m.credentials.expect_create().times(0);
    no_password_set(&mut m);
    let r = m.app().bootstrap.create_user("grace@example.com", None, Some("short".into()), None).await;
    assert!(matches!(&r, Err(BootstrapError::Policy(v)) if !v.is_empty()), "{r:?}");
}

#[tokio::test]
async fn a_taken_phone_makes_no_email_credential_and_hashes_nothing() {
    let mut m = Mocks::default();
    free_email(&mut m);
    m.users.expect_create().times(1).returning(|_, _| Err(UserWriteError::PhoneTaken));
    m.credentials.expect_create().times(0);
    m.audit.expect_record().times(0);
    no_password_set(&mut m);
    let r = m.app().bootstrap.create_user("grace@example.com", Some("+15555550123"), Some(PASSWORD.into()), None).await;
    assert!(matches!(r, Err(BootstrapError::PhoneTaken)), "{r:?}");
}

#[tokio::test]
async fn a_user_gone_before_its_password_is_set_is_not_found_and_nothing_is_hashed() {
    let mut m = Mocks::default();
    free_email(&mut m);
    makes_users(&mut m);
    m.credentials.expect_password_state().times(1).returning(|_, _| Ok(None));
    no_password_set(&mut m);
    let r = m.app().bootstrap.create_user("grace@example.com", None, Some(PASSWORD.into()), None).await;
    assert!(matches!(r, Err(BootstrapError::UserNotFound)), "{r:?}");
}

#[tokio::test]
async fn a_password_changed_concurrently_is_refused() {
    let mut m = Mocks::default();
    free_email(&mut m);
    makes_users(&mut m);
    m.password_state(None);
    m.hasher.expect_matches_any().returning(|_, _| Ok(false));
    m.hasher.expect_hash().returning(|_| Ok(some_hash()));
    m.credentials.expect_change_password().times(1).returning(|_| Err(ChangePasswordError::VersionMoved));
    m.access_tokens.expect_publish_generation().times(0);
    let r = m.app().bootstrap.create_user("grace@example.com", None, Some(PASSWORD.into()), None).await;
    assert!(matches!(&r, Err(BootstrapError::Concurrent)), "{r:?}");
}

#[tokio::test]
async fn a_user_creation_store_failure_is_unavailable_or_unexpected_and_makes_no_user() {
    let mut m = Mocks::default();
    m.users.expect_find_by_email().times(1).returning(|_| Err(down()));
    m.policies.expect_default_policy().times(0);
    m.users.expect_create().times(0);
    let r = m.app().bootstrap.create_user("grace@example.com", None, Some(PASSWORD.into()), None).await;
    assert!(matches!(r, Err(BootstrapError::Unavailable(_))), "{r:?}");
    let mut m = Mocks::default();
    m.users.expect_find_by_email().returning(|_| Ok(None));
    m.policies.expect_default_policy().times(1).returning(|| Err(broken()));
    m.users.expect_create().times(0);
    no_password_set(&mut m);
    let r = m.app().bootstrap.create_user("grace@example.com", None, Some(PASSWORD.into()), None).await;
    assert!(matches!(r, Err(BootstrapError::Unexpected(_))), "{r:?}");
}

#[tokio::test]
async fn locking_a_user_ends_its_sessions_and_is_audited() {
    let mut m = Mocks::default();
    m.users.expect_find().times(1).returning(|_| Ok(Some(user(UserStatus::Active))));
    m.users
        .expect_update()
        .withf(|id, patch| {
            let audited: Vec<_> = patch.audit.iter().map(|e| (e.kind, e.actor.as_str(), e.detail.as_str())).collect();
            id.as_i64() == 7
                && patch.status == Some(UserStatus::Locked)
                && patch.phone.is_none()
                && audited == [(AuditKind::UserStatusChanged, "cli", "locked")]
        })
        .times(1)
        .returning(|_, _| Ok(Some(User { generation: 1, ..user(UserStatus::Locked) })));
    m.access_tokens
        .expect_publish_generation()
        .withf(|id, generation, _| id.as_i64() == 7 && *generation == 1)
        .times(1)
        .returning(|_, _, _| Ok(()));
    // The event travels in the patch, written in the same step; nothing is recorded apart.
    m.audit.expect_record().times(0);
    m.app().bootstrap.set_user_status("7", "locked").await.unwrap();
}

#[tokio::test]
async fn setting_the_status_a_user_already_has_ends_nothing_and_audits_nothing() {
    let mut m = Mocks::default();
    m.users.expect_find().times(1).returning(|_| Ok(Some(user(UserStatus::Locked))));
    m.users
        .expect_update()
        .withf(|_, patch| patch.audit.is_empty())
        .times(1)
        .returning(|_, _| Ok(Some(user(UserStatus::Locked))));
    m.access_tokens.expect_publish_generation().times(0);
    m.audit.expect_record().times(0);
    m.app().bootstrap.set_user_status("7", "locked").await.unwrap();
}

#[tokio::test]
async fn an_unknown_user_or_one_gone_during_the_change_is_not_found_and_not_audited() {
    let mut m = Mocks::default();
    m.users.expect_find().times(1).returning(|_| Ok(None));
    m.users.expect_update().times(0);
    m.audit.expect_record().times(0);
    let r = m.app().bootstrap.set_user_status("7", "locked").await;
    assert!(matches!(r, Err(BootstrapError::UserNotFound)), "never there: {r:?}");
    let mut m = Mocks::default();
    m.users.expect_find().returning(|_| Ok(Some(user(UserStatus::Active))));
    m.users.expect_update().times(1).returning(|_, _| Ok(None));
    m.access_tokens.expect_publish_generation().times(0);
    m.audit.expect_record().times(0);
    let r = m.app().bootstrap.set_user_status("7", "locked").await;
    assert!(matches!(r, Err(BootstrapError::UserNotFound)), "gone during the change: {r:?}");
}

#[tokio::test]
async fn a_phone_conflict_on_a_status_change_is_phone_taken_and_not_audited() {
    let mut m = Mocks::default();
    m.users.expect_find().returning(|_| Ok(Some(user(UserStatus::Active))));
    m.users.expect_update().times(1).returning(|_, _| Err(UserWriteError::PhoneTaken));
    m.audit.expect_record().times(0);
    let r = m.app().bootstrap.set_user_status("7", "frozen").await;
    assert!(matches!(r, Err(BootstrapError::PhoneTaken)), "{r:?}");
}

#[tokio::test]
async fn a_status_change_store_failure_is_unavailable_or_unexpected_and_not_audited() {
    let mut m = Mocks::default();
    m.users.expect_find().times(1).returning(|_| Err(down()));
    m.users.expect_update().times(0);
    let r = m.app().bootstrap.set_user_status("7", "locked").await;
    assert!(matches!(r, Err(BootstrapError::Unavailable(_))), "{r:?}");
    let mut m = Mocks::default();
    m.users.expect_find().returning(|_| Ok(Some(user(UserStatus::Active))));
    m.users.expect_update().times(1).returning(|_, _| Err(UserWriteError::Store(broken())));
    m.access_tokens.expect_publish_generation().times(0);
    m.audit.expect_record().times(0);
    let r = m.app().bootstrap.set_user_status("7", "locked").await;
    assert!(matches!(r, Err(BootstrapError::Unexpected(_))), "{r:?}");
}
