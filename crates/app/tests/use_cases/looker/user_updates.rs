//! `update_user`: the caller, then the user, then the fields; nothing is written before all
//! of them pass.

use mockall::Sequence;
use resetd_app::looker::users::{CreateUserError, UpdateUserError};
use resetd_app::looker::{InvalidInput, WriteUser};
use resetd_domain::access::{Principal, Role};
use resetd_domain::user::{Email, UserStatus};
use resetd_ports::audit::AuditKind;
use resetd_ports::credentials::EmailCredential;
use resetd_ports::users::{User, UserWriteError};

use super::{admin, email_credential, nobody_is_there, plain, seven, seven_is_there};
use crate::support::{broken, down, user, Mocks};

fn renamed() -> WriteUser {
    WriteUser { first_name: Some(Some("Grace".into())), ..WriteUser::default() }
}

#[tokio::test]
async fn a_plain_user_updates_no_one_not_even_itself() {
    let mut m = Mocks::default();
    m.users.expect_find().times(0);
    m.users.expect_update().times(0);
    m.credentials.expect_update().times(0);
    let r = m.app().looker.update_user(plain(7), seven(), renamed()).await;
    assert!(matches!(r, Err(UpdateUserError::Forbidden)), "{r:?}");
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
async fn an_unknown_user_is_not_found_whether_it_was_never_there_or_went_during_the_update() {
    let mut m = Mocks::default();
    nobody_is_there(&mut m);
    m.users.expect_update().times(0);
    let r = m.app().looker.update_user(admin(), seven(), renamed()).await;
    assert!(matches!(r, Err(UpdateUserError::NotFound)), "never there: {r:?}");

    let mut m = Mocks::default();
    seven_is_there(&mut m);
    m.users.expect_update().times(1).returning(|_, _| Ok(None));
    m.access_tokens.expect_publish_generation().times(0);
    m.audit.expect_record().times(0);
    m.credentials.expect_get().times(0);
    m.credentials.expect_update().times(0);
    m.credentials.expect_create().times(0);
    let body = WriteUser { email: Some("grace@example.com".into()), ..renamed() };
    let r = m.app().looker.update_user(admin(), seven(), body).await;
    assert!(matches!(r, Err(UpdateUserError::NotFound)), "deleted before the write: {r:?}");
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
async fn a_taken_phone_in_an_update_touches_no_email_and_ends_no_session() {
    let mut m = Mocks::default();
    seven_is_there(&mut m);
    m.users.expect_update().times(1).returning(|_, _| Err(UserWriteError::PhoneTaken));
    m.access_tokens.expect_publish_generation().times(0);
    m.credentials.expect_get().times(0);
    m.credentials.expect_update().times(0);
    let body = WriteUser { email: Some("grace@example.com".into()), ..renamed() };
    let r = m.app().looker.update_user(admin(), seven(), body).await;
    assert!(matches!(r, Err(UpdateUserError::PhoneTaken)), "{r:?}");
}

#[tokio::test]
async fn a_taken_email_in_an_update_is_a_conflict() {
    let mut m = Mocks::default();
    m.users.expect_find().times(1).returning(|_| Ok(Some(user(UserStatus::Active))));
    m.users.expect_find_by_email().times(0);
    m.users
        .expect_update()
        .withf(|id, patch| {
            *id == seven()
                && patch.email.as_ref().map(Email::as_str) == Some("taken@example.com")
                && patch.first_name == Some(Some("Grace".into()))
        })
        .times(1)
        .returning(|_, _| Err(UserWriteError::EmailTaken));
    m.credentials.expect_get().times(0);
    let body = WriteUser { email: Some("Taken@Example.com".into()), ..renamed() };
    let r = m.app().looker.update_user(admin(), seven(), body).await;
    assert!(matches!(r, Err(UpdateUserError::EmailTaken)), "{r:?}");
}

#[tokio::test]
async fn a_taken_email_in_an_update_writes_nothing() {
    let mut m = Mocks::default();
    m.users.expect_find().times(1).returning(|_| Ok(Some(user(UserStatus::Active))));
    m.users
        .expect_update()
        .withf(|_, patch| {
            patch.status == Some(UserStatus::Disabled)
                && patch.email.as_ref().map(Email::as_str) == Some("taken@example.com")
        })
        .times(1)
        .returning(|_, _| Err(UserWriteError::EmailTaken));
    m.access_tokens.expect_publish_generation().times(0);
    m.audit.expect_record().times(0);
    m.credentials.expect_get().times(0);
    m.credentials.expect_update().times(0);
    m.credentials.expect_create().times(0);
    let body = WriteUser { email: Some("taken@example.com".into()), is_disabled: Some(true), ..renamed() };
    let r = m.app().looker.update_user(admin(), seven(), body).await;
    assert!(matches!(r, Err(UpdateUserError::EmailTaken)), "{r:?}");
}

#[tokio::test]
async fn an_update_store_failure_is_unavailable_or_unexpected_and_writes_nothing_after_it() {
    let mut m = Mocks::default();
    m.users.expect_find().times(1).returning(|_| Err(down()));
    m.users.expect_update().times(0);
    let r = m.app().looker.update_user(admin(), seven(), renamed()).await;
    assert!(matches!(r, Err(UpdateUserError::Unavailable(_))), "{r:?}");
    let mut m = Mocks::default();
    seven_is_there(&mut m);
    m.users.expect_update().times(1).returning(|_, _| Err(UserWriteError::Store(broken())));
    m.access_tokens.expect_publish_generation().times(0);
    m.credentials.expect_get().times(0);
    let body = WriteUser { email: Some("grace@example.com".into()), ..renamed() };
    let r = m.app().looker.update_user(admin(), seven(), body).await;
    assert!(matches!(r, Err(UpdateUserError::Unexpected(_))), "{r:?}");
}

#[tokio::test]
async fn switching_a_user_off_ends_its_sessions_and_a_rename_ends_none() {
    let mut m = Mocks::default();
    seven_is_there(&mut m);
    m.users
        .expect_update()
        .withf(|_, patch| {
            let audited: Vec<_> = patch.audit.iter().map(|e| (e.kind, e.actor.as_str(), e.detail.as_str())).collect();
            patch.status == Some(UserStatus::Disabled)
                && audited == [(AuditKind::UserStatusChanged, "api-user:1", "disabled")]
        })
        .times(1)
        .returning(|_, _| Ok(Some(User { generation: 1, ..user(UserStatus::Disabled) })));
    m.access_tokens
        .expect_publish_generation()
        .withf(|id, generation, _| *id == seven() && *generation == 1)
        .times(1)
        .returning(|_, _, _| Ok(()));
    m.credentials.expect_get().returning(|_| Ok(None));
    m.audit.expect_record().times(0);
    let off = WriteUser { is_disabled: Some(true), ..WriteUser::default() };
    let view = m.app().looker.update_user(admin(), seven(), off).await.unwrap();
    assert_eq!(view.user.status, UserStatus::Disabled);

    let mut m = Mocks::default();
    seven_is_there(&mut m);
    m.users
        .expect_update()
        .withf(|_, patch| patch.status.is_none() && patch.first_name == Some(Some("Grace".into())))
        .times(1)
        .returning(|_, _| Ok(Some(user(UserStatus::Active))));
    m.access_tokens.expect_publish_generation().times(0);
    m.credentials.expect_get().returning(|_| Ok(None));
    m.audit.expect_record().times(0);
    m.app().looker.update_user(admin(), seven(), renamed()).await.unwrap();
}

#[tokio::test]
async fn a_user_update_with_an_email_writes_it_with_the_user_and_no_credential_separately() {
    let mut m = Mocks::default();
    m.users.expect_find().times(1).returning(|_| Ok(Some(user(UserStatus::Active))));
    m.users
        .expect_update()
        .withf(|id, patch| {
            let audited: Vec<_> = patch.audit.iter().map(|e| (e.kind, e.user_id, e.detail.as_str())).collect();
            *id == seven()
                && patch.email.as_ref().map(Email::as_str) == Some("grace@example.com")
                && patch.status.is_none()
                && patch.phone.is_none()
                && audited == [(AuditKind::EmailCredentialChanged, Some(seven()), "updated")]
        })
        .times(1)
        .returning(|_, _| {
            Ok(Some(User { email: Some(Email::parse("grace@example.com").unwrap()), ..user(UserStatus::Active) }))
        });
    m.credentials.expect_update().times(0);
    m.credentials.expect_create().times(0);
    m.access_tokens.expect_publish_generation().times(0);
    // Where the user's reset links go changed: audited in the patch's own step.
    m.audit.expect_record().times(0);
    m.credentials.expect_get().times(1).returning(|id| Ok(Some(email_credential(id))));
    let body = WriteUser { email: Some("Grace@Example.com".into()), ..WriteUser::default() };
    let view = m.app().looker.update_user(admin(), seven(), body).await.unwrap();
    assert_eq!(view.user.email.as_ref().map(Email::as_str), Some("grace@example.com"), "the user as the write left it");
}

#[tokio::test]
async fn a_user_update_with_an_email_reads_the_credential_only_after_the_write() {
    let mut m = Mocks::default();
    let mut seq = Sequence::new();
    m.users.expect_find().times(1).in_sequence(&mut seq).returning(|_| Ok(Some(user(UserStatus::Active))));
    m.users
        .expect_update()
        .withf(|_, patch| patch.email.as_ref().map(Email::as_str) == Some("grace@example.com"))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(Some(user(UserStatus::Active))));
    m.credentials.expect_get().withf(|id| *id == seven()).times(1).in_sequence(&mut seq).returning(|id| {
        Ok(Some(EmailCredential { email: Email::parse("grace@example.com").unwrap(), ..email_credential(id) }))
    });
    m.credentials.expect_update().times(0);
    m.credentials.expect_create().times(0);
    m.audit.expect_record().times(0);
    let body = WriteUser { email: Some("grace@example.com".into()), ..WriteUser::default() };
    let view = m.app().looker.update_user(admin(), seven(), body).await.unwrap();
    let email = view.credential.map(|c| c.credential.email.as_str().to_owned());
    assert_eq!(email.as_deref(), Some("grace@example.com"), "the answer shows the credential the write made");
}
