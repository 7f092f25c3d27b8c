//! `get_credential`, `create_credential`, `update_credential` and `delete_credential`: the
//! caller and the user first, then the email, then one write.

use resetd_app::looker::credentials::{
    CreateCredentialError, DeleteCredentialError, GetCredentialError, UpdateCredentialError,
};
use resetd_app::looker::InvalidInput;
use resetd_domain::user::Email;
use resetd_ports::credentials::{CredentialWriteError, EmailCredential};

use super::{admin, email_credential, nobody_is_there, plain, seven, seven_is_there};
use crate::support::{broken, down, Mocks};

/// The one audit event of a credential change of user 7 by the admin.
fn audited(m: &mut Mocks, detail: &'static str) {
    m.audit
        .expect_record()
        .withf(move |e| {
            (e.kind, e.user_id, e.actor.as_str(), e.detail.as_str())
                == (resetd_ports::audit::AuditKind::EmailCredentialChanged, Some(seven()), "api-user:1", detail)
        })
        .times(1)
        .returning(|_| Ok(()));
}

#[tokio::test]
async fn a_user_reads_its_own_email_credential() {
    let mut m = Mocks::default();
    seven_is_there(&mut m);
    m.credentials.expect_get().withf(|id| *id == seven()).times(1).returning(|id| Ok(Some(email_credential(id))));
    let view = m.app().looker.get_credential(plain(7), seven()).await.unwrap();
    assert_eq!(view.credential.email.as_str(), "ada@example.com");
    assert!(!view.user_disabled && view.password_reset_url.is_none() && view.password_reset_url_expired);
}

#[tokio::test]
async fn a_plain_user_reads_no_one_elses_credential() {
    let mut m = Mocks::default();
    m.users.expect_find().times(0);
    m.credentials.expect_get().times(0);
    let r = m.app().looker.get_credential(plain(8), seven()).await;
    assert!(matches!(r, Err(GetCredentialError::Forbidden)), "{r:?}");
}

#[tokio::test]
async fn a_missing_user_or_credential_is_not_found() {
    let mut m = Mocks::default();
    nobody_is_there(&mut m);
    m.credentials.expect_get().times(0);
    let r = m.app().looker.get_credential(admin(), seven()).await;
    assert!(matches!(r, Err(GetCredentialError::NotFound)), "no user: {r:?}");
    let mut m = Mocks::default();
    seven_is_there(&mut m);
    m.credentials.expect_get().times(1).returning(|_| Ok(None));
    let r = m.app().looker.get_credential(admin(), seven()).await;
    assert!(matches!(r, Err(GetCredentialError::NotFound)), "no credential: {r:?}");
}

#[tokio::test]
async fn a_credential_read_store_failure_is_unavailable_or_unexpected() {
    let mut m = Mocks::default();
    m.users.expect_find().times(1).returning(|_| Err(down()));
    m.credentials.expect_get().times(0);
    let r = m.app().looker.get_credential(admin(), seven()).await;
    assert!(matches!(r, Err(GetCredentialError::Unavailable(_))), "{r:?}");
    let mut m = Mocks::default();
    seven_is_there(&mut m);
    m.credentials.expect_get().times(1).returning(|_| Err(broken()));
    let r = m.app().looker.get_credential(admin(), seven()).await;
    assert!(matches!(r, Err(GetCredentialError::Unexpected(_))), "{r:?}");
}

#[tokio::test]
async fn an_admin_creates_an_email_credential_under_the_normalised_address() {
    let mut m = Mocks::default();
    seven_is_there(&mut m);
    m.credentials
        .expect_create()
        .withf(|id, e, _| *id == seven() && e.as_str() == "grace@example.com")
        .times(1)
        .returning(|id, e, _| Ok(EmailCredential { email: e.clone(), ..email_credential(id) }));
    audited(&mut m, "created");
    let view = m.app().looker.create_credential(admin(), seven(), Some(" Grace@Example.com ")).await.unwrap();
    assert_eq!(view.credential.email.as_str(), "grace@example.com");
}

#[tokio::test]
async fn a_plain_user_creates_no_credential_not_even_its_own() {
    let mut m = Mocks::default();
    m.users.expect_find().times(0);
    m.credentials.expect_create().times(0);
    let r = m.app().looker.create_credential(plain(7), seven(), Some("grace@example.com")).await;
    assert!(matches!(r, Err(CreateCredentialError::Forbidden)), "{r:?}");
}

#[tokio::test]
async fn a_credential_for_a_missing_user_is_not_found_before_its_email_is_judged() {
    let mut m = Mocks::default();
    nobody_is_there(&mut m);
    m.credentials.expect_create().times(0);
    let r = m.app().looker.create_credential(admin(), seven(), Some("not an email")).await;
    assert!(matches!(r, Err(CreateCredentialError::NotFound)), "never there: {r:?}");
    let mut m = Mocks::default();
    seven_is_there(&mut m);
    m.credentials.expect_create().times(1).returning(|_, _, _| Err(CredentialWriteError::UserNotFound));
    let r = m.app().looker.create_credential(admin(), seven(), Some("grace@example.com")).await;
    assert!(matches!(r, Err(CreateCredentialError::NotFound)), "deleted before the write: {r:?}");
}

#[tokio::test]
async fn a_missing_or_bad_email_creates_no_credential() {
    for email in [None, Some(""), Some("not an email")] {
        let mut m = Mocks::default();
        seven_is_there(&mut m);
        m.credentials.expect_create().times(0);
        let r = m.app().looker.create_credential(admin(), seven(), email).await;
        assert!(matches!(r, Err(CreateCredentialError::Invalid(InvalidInput::Email))), "{email:?}: {r:?}");
    }
}

#[tokio::test]
async fn a_taken_email_or_an_existing_credential_is_a_conflict_of_its_own() {
    let mut m = Mocks::default();
    seven_is_there(&mut m);
    m.credentials.expect_create().times(1).returning(|_, _, _| Err(CredentialWriteError::EmailTaken));
    m.audit.expect_record().times(0);
    let r = m.app().looker.create_credential(admin(), seven(), Some("grace@example.com")).await;
    assert!(matches!(r, Err(CreateCredentialError::EmailTaken)), "{r:?}");
    let mut m = Mocks::default();
    seven_is_there(&mut m);
    m.credentials.expect_create().times(1).returning(|_, _, _| Err(CredentialWriteError::AlreadyExists));
    let r = m.app().looker.create_credential(admin(), seven(), Some("grace@example.com")).await;
    assert!(matches!(r, Err(CreateCredentialError::AlreadyExists)), "{r:?}");
}

#[tokio::test]
async fn a_credential_creation_store_failure_is_unavailable_or_unexpected() {
    let mut m = Mocks::default();
    m.users.expect_find().times(1).returning(|_| Err(down()));
    m.credentials.expect_create().times(0);
    let r = m.app().looker.create_credential(admin(), seven(), Some("grace@example.com")).await;
    assert!(matches!(r, Err(CreateCredentialError::Unavailable(_))), "{r:?}");
    let mut m = Mocks::default();
    seven_is_there(&mut m);
    m.credentials.expect_create().times(1).returning(|_, _, _| Err(CredentialWriteError::Store(broken())));
    let r = m.app().looker.create_credential(admin(), seven(), Some("grace@example.com")).await;
    assert!(matches!(r, Err(CreateCredentialError::Unexpected(_))), "{r:?}");
}

#[tokio::test]
async fn an_admin_changes_the_email_and_the_forced_reset_of_a_credential() {
    let mut m = Mocks::default();
    seven_is_there(&mut m);
    m.credentials
        .expect_update()
        .withf(|id, email, forced| {
            *id == seven() && email.as_ref().map(Email::as_str) == Some("grace@example.com") && *forced == Some(true)
        })
        .times(1)
        .returning(|id, _, _| Ok(EmailCredential { forced_reset: true, ..email_credential(id) }));
    audited(&mut m, "updated");
    let view = m.app().looker.update_credential(admin(), seven(), Some("Grace@Example.com"), Some(true)).await;
    assert!(view.unwrap().credential.forced_reset);
}

#[tokio::test]
async fn a_plain_user_changes_no_credential_not_even_its_own() {
    let mut m = Mocks::default();
    m.users.expect_find().times(0);
    m.credentials.expect_update().times(0);
    let r = m.app().looker.update_credential(plain(7), seven(), None, Some(false)).await;
    assert!(matches!(r, Err(UpdateCredentialError::Forbidden)), "{r:?}");
}

#[tokio::test]
async fn changing_the_credential_of_a_missing_user_or_one_without_a_credential_is_not_found() {
    let mut m = Mocks::default();
    nobody_is_there(&mut m);
    m.credentials.expect_update().times(0);
    let r = m.app().looker.update_credential(admin(), seven(), None, Some(true)).await;
    assert!(matches!(r, Err(UpdateCredentialError::NotFound)), "no user: {r:?}");
    let mut m = Mocks::default();
    seven_is_there(&mut m);
    m.credentials.expect_update().times(1).returning(|_, _, _| Err(CredentialWriteError::UserNotFound));
    let r = m.app().looker.update_credential(admin(), seven(), None, Some(true)).await;
    assert!(matches!(r, Err(UpdateCredentialError::NotFound)), "no credential: {r:?}");
}

#[tokio::test]
async fn a_bad_email_changes_no_credential() {
    let mut m = Mocks::default();
    seven_is_there(&mut m);
    m.credentials.expect_update().times(0);
    let r = m.app().looker.update_credential(admin(), seven(), Some("not an email"), Some(true)).await;
    assert!(matches!(r, Err(UpdateCredentialError::Invalid(InvalidInput::Email))), "{r:?}");
}

#[tokio::test]
async fn a_taken_email_in_a_credential_change_is_a_conflict() {
    let mut m = Mocks::default();
    seven_is_there(&mut m);
    m.credentials.expect_update().times(1).returning(|_, _, _| Err(CredentialWriteError::EmailTaken));
    let r = m.app().looker.update_credential(admin(), seven(), Some("taken@example.com"), None).await;
    assert!(matches!(r, Err(UpdateCredentialError::EmailTaken)), "{r:?}");
}

#[tokio::test]
async fn a_credential_change_store_failure_is_unavailable_or_unexpected() {
    let mut m = Mocks::default();
    m.users.expect_find().times(1).returning(|_| Err(down()));
    m.credentials.expect_update().times(0);
    let r = m.app().looker.update_credential(admin(), seven(), None, Some(true)).await;
    assert!(matches!(r, Err(UpdateCredentialError::Unavailable(_))), "{r:?}");
    let mut m = Mocks::default();
    seven_is_there(&mut m);
    m.credentials.expect_update().times(1).returning(|_, _, _| Err(CredentialWriteError::Store(broken())));
    let r = m.app().looker.update_credential(admin(), seven(), None, Some(true)).await;
    assert!(matches!(r, Err(UpdateCredentialError::Unexpected(_))), "{r:?}");
    // The write itself on a database that is down: a 503, not a 500.
    let mut m = Mocks::default();
    seven_is_there(&mut m);
    m.credentials.expect_update().times(1).returning(|_, _, _| Err(CredentialWriteError::Store(down())));
    m.audit.expect_record().times(0);
    let r = m.app().looker.update_credential(admin(), seven(), None, Some(true)).await;
    assert!(matches!(r, Err(UpdateCredentialError::Unavailable(_))), "{r:?}");
}

#[tokio::test]
async fn an_admin_deletes_a_credential() {
    let mut m = Mocks::default();
    seven_is_there(&mut m);
    m.credentials.expect_delete().withf(|id| *id == seven()).times(1).returning(|_| Ok(true));
    audited(&mut m, "deleted");
    m.app().looker.delete_credential(admin(), seven()).await.unwrap();
}

#[tokio::test]
async fn a_plain_user_deletes_no_credential_not_even_its_own() {
    let mut m = Mocks::default();
    m.users.expect_find().times(0);
    m.credentials.expect_delete().times(0);
    let r = m.app().looker.delete_credential(plain(7), seven()).await;
    assert!(matches!(r, Err(DeleteCredentialError::Forbidden)), "{r:?}");
}

#[tokio::test]
async fn deleting_the_credential_of_a_missing_user_or_one_without_a_credential_is_not_found() {
    let mut m = Mocks::default();
    nobody_is_there(&mut m);
    m.credentials.expect_delete().times(0);
    let r = m.app().looker.delete_credential(admin(), seven()).await;
    assert!(matches!(r, Err(DeleteCredentialError::NotFound)), "no user: {r:?}");
    let mut m = Mocks::default();
    seven_is_there(&mut m);
    m.credentials.expect_delete().times(1).returning(|_| Ok(false));
    let r = m.app().looker.delete_credential(admin(), seven()).await;
    assert!(matches!(r, Err(DeleteCredentialError::NotFound)), "no credential: {r:?}");
}

#[tokio::test]
async fn a_credential_delete_store_failure_is_unavailable_or_unexpected() {
    let mut m = Mocks::default();
    m.users.expect_find().times(1).returning(|_| Err(down()));
    m.credentials.expect_delete().times(0);
    let r = m.app().looker.delete_credential(admin(), seven()).await;
    assert!(matches!(r, Err(DeleteCredentialError::Unavailable(_))), "{r:?}");
    let mut m = Mocks::default();
    seven_is_there(&mut m);
    m.credentials.expect_delete().times(1).returning(|_| Err(broken()));
    let r = m.app().looker.delete_credential(admin(), seven()).await;
    assert!(matches!(r, Err(DeleteCredentialError::Unexpected(_))), "{r:?}");
}
