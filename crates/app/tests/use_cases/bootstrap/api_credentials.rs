//! `create_api_credentials`: the email, then its user (found, or made with its email
//! credential in one write and audited), then the credential, whose secret is shown once.

use std::sync::{Arc, Mutex};

use mockall::Sequence;
use resetd_app::bootstrap::{BootstrapError, InvalidArgument};
use resetd_domain::access::Role;
use resetd_domain::user::{Email, UserId, UserStatus};
use resetd_ports::access::{ApiCredential, ApiCredentialWriteError};
use resetd_ports::audit::AuditKind;
use resetd_ports::users::{User, UserWriteError};

use super::makes_users;
use crate::support::{broken, down, key, user, Mocks};

#[tokio::test]
async fn an_api_credential_for_a_known_email_reuses_its_user_and_its_secret_verifies() {
    let mut m = Mocks::default();
    m.users.expect_find_by_email().returning(|_| Ok(Some(user(UserStatus::Active))));
    m.users.expect_create().times(0);
    m.credentials.expect_create().times(0);
    m.audit.expect_record().times(0);
    let stored: Arc<Mutex<Option<ApiCredential>>> = Arc::default();
    let kept = stored.clone();
    m.api_credentials
        .expect_create()
        .withf(|c| c.user_id.as_i64() == 7 && c.role == Role::User && c.secret.key == Some(key().id()))
        .times(1)
        .returning(move |c| {
            *kept.lock().unwrap() = Some(c);
            Ok(())
        });
    let made = m.app().bootstrap.create_api_credentials("Ada@Example.com", false).await.unwrap();
    let stored = stored.lock().unwrap().clone().unwrap();
    assert_eq!((made.user_id.as_i64(), &made.client_id), (7, &stored.client_id));
    assert_eq!(made.client_secret.digest(&key()), stored.secret.digest, "only the secret's digest is stored");
}

#[tokio::test]
async fn an_api_credential_for_a_new_email_makes_its_user_first() {
    let mut m = Mocks::default();
    let mut seq = Sequence::new();
    m.users.expect_find_by_email().times(1).in_sequence(&mut seq).returning(|_| Ok(None));
    m.users
        .expect_create()
        .withf(|new, _| new.email.as_ref().map(Email::as_str) == Some("grace@example.com") && new.phone.is_none())
        .times(1)
        .in_sequence(&mut seq)
        .returning(|new, _| {
            Ok(User { id: UserId::from_i64(3).unwrap(), email: new.email, ..user(UserStatus::Active) })
        });
    m.credentials.expect_create().times(0);
    m.audit
        .expect_record()
        .withf(|e| e.kind == AuditKind::UserCreated && e.actor == "cli" && e.user_id.map(UserId::as_i64) == Some(3))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(()));
    m.users.expect_find().times(0);
    m.api_credentials
        .expect_create()
        .withf(|c| c.user_id.as_i64() == 3 && c.role == Role::Admin)
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(()));
    let made = m.app().bootstrap.create_api_credentials("Grace@Example.com", true).await.unwrap();
    assert_eq!(made.user_id.as_i64(), 3);
}

#[tokio::test]
async fn a_bad_email_makes_no_user_and_no_api_credential() {
    let mut m = Mocks::default();
    m.users.expect_find_by_email().times(0);
    m.users.expect_create().times(0);
    m.api_credentials.expect_create().times(0);
    let r = m.app().bootstrap.create_api_credentials("not an email", true).await;
    assert!(matches!(r, Err(BootstrapError::Invalid(InvalidArgument::Email(_)))), "{r:?}");
}

#[tokio::test]
async fn an_email_taken_while_its_user_is_made_is_email_taken_and_makes_no_api_credential() {
    let mut m = Mocks::default();
    m.users.expect_find_by_email().times(1).returning(|_| Ok(None));
    m.users
        .expect_create()
        .withf(|new, _| new.email.as_ref().map(Email::as_str) == Some("grace@example.com"))
        .times(1)
        .returning(|_, _| Err(UserWriteError::EmailTaken));
    m.credentials.expect_create().times(0);
    m.audit.expect_record().times(0);
    m.users.expect_find().times(0);
    m.api_credentials.expect_create().times(0);
    let r = m.app().bootstrap.create_api_credentials("grace@example.com", false).await;
    assert!(matches!(r, Err(BootstrapError::EmailTaken)), "{r:?}");
}

#[tokio::test]
async fn a_user_gone_while_its_api_credential_is_made_is_not_found() {
    // A new user, made with its email, gone before its API credential.
    let mut m = Mocks::default();
    m.users.expect_find_by_email().returning(|_| Ok(None));
    makes_users(&mut m);
    m.api_credentials.expect_create().times(1).returning(|_| Err(ApiCredentialWriteError::UserNotFound));
    let r = m.app().bootstrap.create_api_credentials("grace@example.com", false).await;
    assert!(matches!(r, Err(BootstrapError::UserNotFound)), "a new user: {r:?}");
    // A known user gone before its API credential.
    let mut m = Mocks::default();
    m.users.expect_find_by_email().returning(|_| Ok(Some(user(UserStatus::Active))));
    m.users.expect_create().times(0);
    m.api_credentials.expect_create().times(1).returning(|_| Err(ApiCredentialWriteError::UserNotFound));
    let r = m.app().bootstrap.create_api_credentials("ada@example.com", false).await;
    assert!(matches!(r, Err(BootstrapError::UserNotFound)), "a known user: {r:?}");
}

#[tokio::test]
async fn a_client_id_collision_asks_to_try_again() {
    let mut m = Mocks::default();
    m.users.expect_find_by_email().returning(|_| Ok(Some(user(UserStatus::Active))));
    m.api_credentials.expect_create().times(1).returning(|_| Err(ApiCredentialWriteError::Duplicate));
    let r = m.app().bootstrap.create_api_credentials("ada@example.com", false).await;
    assert!(matches!(&r, Err(BootstrapError::Concurrent)), "{r:?}");
}

#[tokio::test]
async fn an_api_credential_store_failure_is_unavailable_or_unexpected() {
    let mut m = Mocks::default();
    m.users.expect_find_by_email().times(1).returning(|_| Err(down()));
    m.users.expect_create().times(0);
    m.api_credentials.expect_create().times(0);
    let r = m.app().bootstrap.create_api_credentials("grace@example.com", false).await;
    assert!(matches!(r, Err(BootstrapError::Unavailable(_))), "{r:?}");
    let mut m = Mocks::default();
    m.users.expect_find_by_email().returning(|_| Ok(None));
    makes_users(&mut m);
    m.api_credentials.expect_create().times(1).returning(|_| Err(ApiCredentialWriteError::Store(broken())));
    let r = m.app().bootstrap.create_api_credentials("grace@example.com", false).await;
    assert!(matches!(r, Err(BootstrapError::Unexpected(_))), "{r:?}");
}
