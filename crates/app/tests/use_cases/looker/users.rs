//! `get_user`, `list_users`, `create_user` and `delete_user` (`update_user` is in
//! `user_updates`).

use mockall::Sequence;
use resetd_app::looker::credentials::CreatePasswordResetError;
use resetd_app::looker::users::{CreateUserError, DeleteUserError, GetUserError, ListUsersError};
use resetd_app::looker::{InvalidInput, UserField, WriteUser};
use resetd_domain::user::{Email, UserId, UserStatus};
use resetd_ports::audit::AuditKind;
use resetd_ports::users::UserWriteError;

use super::{admin, email_credential, nobody_is_there, plain, seven, seven_is_there};
use crate::support::{broken, down, user, Mocks};

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
async fn a_user_reads_itself_and_an_admin_reads_anyone_with_the_email_credential() {
    for caller in [plain(7), admin()] {
        let mut m = Mocks::default();
        m.users.expect_find().withf(|id| *id == seven()).times(1).returning(|_| Ok(Some(user(UserStatus::Active))));
        m.credentials.expect_get().withf(|id| *id == seven()).times(1).returning(|id| Ok(Some(email_credential(id))));
        let view = m.app().looker.get_user(caller, seven()).await.unwrap();
        assert_eq!(view.user.id, seven());
        assert_eq!(view.credential.map(|c| c.credential.email.as_str().to_owned()).as_deref(), Some("ada@example.com"));
    }
}

#[tokio::test]
async fn an_unknown_user_is_not_found_and_no_credential_is_read() {
    let mut m = Mocks::default();
    nobody_is_there(&mut m);
    m.credentials.expect_get().times(0);
    let r = m.app().looker.get_user(admin(), seven()).await;
    assert!(matches!(r, Err(GetUserError::NotFound)), "{r:?}");
}

#[tokio::test]
async fn a_user_read_store_failure_is_unavailable_or_unexpected() {
    let mut m = Mocks::default();
    m.users.expect_find().times(1).returning(|_| Err(down()));
    m.credentials.expect_get().times(0);
    let r = m.app().looker.get_user(admin(), seven()).await;
    assert!(matches!(r, Err(GetUserError::Unavailable(_))), "{r:?}");
    let mut m = Mocks::default();
    seven_is_there(&mut m);
    m.credentials.expect_get().times(1).returning(|_| Err(broken()));
    let r = m.app().looker.get_user(admin(), seven()).await;
    assert!(matches!(r, Err(GetUserError::Unexpected(_))), "{r:?}");
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
async fn a_plain_user_whose_account_is_gone_lists_nobody() {
    let mut m = Mocks::default();
    m.users.expect_list().times(0);
    nobody_is_there(&mut m);
    m.credentials.expect_get_many().withf(|ids| ids.is_empty()).returning(|_| Ok(Vec::new()));
    assert!(m.app().looker.list_users(plain(7), 0, 100).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_listing_store_failure_is_unavailable_or_unexpected() {
    let mut m = Mocks::default();
    m.users.expect_list().times(1).returning(|_, _| Err(down()));
    m.credentials.expect_get_many().times(0);
    let r = m.app().looker.list_users(admin(), 0, 10).await;
    assert!(matches!(r, Err(ListUsersError::Unavailable(_))), "{r:?}");
    let mut m = Mocks::default();
    m.users.expect_list().returning(|_, _| Ok(vec![user(UserStatus::Active)]));
    m.credentials.expect_get_many().times(1).returning(|_| Err(broken()));
    let r = m.app().looker.list_users(admin(), 0, 10).await;
    assert!(matches!(r, Err(ListUsersError::Unexpected(_))), "{r:?}");
}

#[tokio::test]
async fn a_plain_user_creates_no_user_and_writes_nothing() {
    let mut m = Mocks::default();
    m.users.expect_find_by_email().times(0);
    m.users.expect_create().times(0);
    m.credentials.expect_create().times(0);
    m.audit.expect_record().times(0);
    let body = WriteUser { email: Some("grace@example.com".into()), ..WriteUser::default() };
    let r = m.app().looker.create_user(plain(7), body).await;
    assert!(matches!(r, Err(CreateUserError::Forbidden)), "{r:?}");
}

#[tokio::test]
async fn bad_fields_or_a_bad_email_are_refused_before_anything_is_written() {
    let cases = [
        (WriteUser { locale: Some(Some("es\u{0}".into())), ..WriteUser::default() }, UserField::Locale),
        (WriteUser { last_name: Some(Some("Love\nlace".into())), ..WriteUser::default() }, UserField::LastName),
    ];
    for (body, field) in cases {
        let mut m = Mocks::default();
        m.users.expect_find_by_email().times(0);
        m.users.expect_create().times(0);
        let body = WriteUser { email: Some("grace@example.com".into()), ..body };
        let r = m.app().looker.create_user(admin(), body).await;
        assert!(matches!(r, Err(CreateUserError::Invalid(InvalidInput::ControlCharacters(f))) if f == field), "{r:?}");
    }
    let mut m = Mocks::default();
    m.users.expect_find_by_email().times(0);
    m.users.expect_create().times(0);
    let body = WriteUser { email: Some("not an email".into()), ..WriteUser::default() };
    let r = m.app().looker.create_user(admin(), body).await;
    assert!(matches!(r, Err(CreateUserError::Invalid(InvalidInput::Email))), "{r:?}");
}

#[tokio::test]
async fn a_taken_email_is_a_conflict_and_writes_nothing_after_the_refused_write() {
    let mut m = Mocks::default();
    m.users.expect_find_by_email().times(0);
    m.users
        .expect_create()
        .withf(|new, _| new.email.as_ref().map(Email::as_str) == Some("ada@example.com"))
        .times(1)
        .returning(|_, _| Err(UserWriteError::EmailTaken));
    m.credentials.expect_create().times(0);
    m.audit.expect_record().times(0);
    m.users.expect_find().times(0);
    m.credentials.expect_get().times(0);
    let body = WriteUser { email: Some("Ada@Example.com".into()), ..WriteUser::default() };
    let r = m.app().looker.create_user(admin(), body).await;
    assert!(matches!(r, Err(CreateUserError::EmailTaken)), "{r:?}");
}

#[tokio::test]
async fn a_taken_phone_creates_no_credential_and_is_not_audited() {
    let mut m = Mocks::default();
    m.users.expect_find_by_email().times(0);
    m.users.expect_create().times(1).returning(|_, _| Err(UserWriteError::PhoneTaken));
    m.credentials.expect_create().times(0);
    m.audit.expect_record().times(0);
    let body = WriteUser { email: Some("grace@example.com".into()), ..WriteUser::default() };
    let r = m.app().looker.create_user(admin(), body).await;
    assert!(matches!(r, Err(CreateUserError::PhoneTaken)), "{r:?}");
}

#[tokio::test]
async fn a_creation_store_failure_is_unavailable_or_unexpected_and_writes_nothing_after_it() {
    for (fail, unavailable) in [(down as fn() -> _, true), (broken, false)] {
        let mut m = Mocks::default();
        m.users.expect_find_by_email().times(0);
        m.users.expect_create().times(1).returning(move |_, _| Err(UserWriteError::Store(fail())));
        m.credentials.expect_create().times(0);
        m.audit.expect_record().times(0);
        m.credentials.expect_get().times(0);
        let body = WriteUser { email: Some("grace@example.com".into()), ..WriteUser::default() };
        let r = m.app().looker.create_user(admin(), body).await;
        let right = if unavailable {
            matches!(r, Err(CreateUserError::Unavailable(_)))
        } else {
            matches!(r, Err(CreateUserError::Unexpected(_)))
        };
        assert!(right, "{r:?}");
    }
}

#[tokio::test]
async fn an_admin_creates_a_user_with_its_email_credential_in_one_write_audited_once() {
    let mut m = Mocks::default();
    let mut seq = Sequence::new();
    m.users.expect_find_by_email().times(0);
    m.users
        .expect_create()
        .withf(|new, _| {
            new.first_name.as_deref() == Some("Grace")
                && new.disabled
                && new.phone.is_none()
                && new.email.as_ref().map(Email::as_str) == Some("grace@example.com")
        })
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(user(UserStatus::Disabled)));
    m.credentials.expect_create().times(0);
    m.audit
        .expect_record()
        .withf(|e| e.kind == AuditKind::UserCreated && e.user_id == Some(seven()) && e.actor == "api-user:1")
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(()));
    m.users.expect_find().times(0);
    m.credentials
        .expect_get()
        .withf(|id| *id == seven())
        .times(1)
        .in_sequence(&mut seq)
        .returning(|id| Ok(Some(email_credential(id))));
    let body = WriteUser {
        first_name: Some(Some("Grace".into())),
        is_disabled: Some(true),
        email: Some("Grace@Example.com".into()),
        ..WriteUser::default()
    };
    let view = m.app().looker.create_user(admin(), body).await.unwrap();
    assert_eq!(view.user.id, seven());
    assert!(view.credential.is_some_and(|c| c.user_disabled), "the answer reads the user as the write stored it");
}

#[tokio::test]
async fn a_new_user_whose_credential_cannot_be_read_back_is_unexpected_and_the_user_is_not_reread() {
    let mut m = Mocks::default();
    m.users.expect_create().times(1).returning(|_, _| Ok(user(UserStatus::Active)));
    m.audit.expect_record().withf(|e| e.kind == AuditKind::UserCreated).times(1).returning(|_| Ok(()));
    m.users.expect_find().times(0);
    m.credentials.expect_get().times(1).returning(|_| Err(broken()));
    let body = WriteUser { email: Some("grace@example.com".into()), ..WriteUser::default() };
    let r = m.app().looker.create_user(admin(), body).await;
    assert!(matches!(r, Err(CreateUserError::Unexpected(_))), "{r:?}");
}

#[tokio::test]
async fn a_deleted_user_loses_its_sessions_for_good_and_the_delete_is_audited() {
    let mut m = Mocks::default();
    let mut seq = Sequence::new();
    m.users
        .expect_delete()
        .withf(|id, e| {
            *id == seven()
                && (e.kind, e.user_id, e.actor.as_str()) == (AuditKind::UserDeleted, Some(seven()), "api-user:1")
        })
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(true));
    m.access_tokens
        .expect_publish_generation()
        .withf(|id, generation, _| *id == seven() && *generation == i64::MAX)
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _| Ok(()));
    // The event is written with the delete, not apart.
    m.audit.expect_record().times(0);
    m.app().looker.delete_user(admin(), seven()).await.unwrap();
}

#[tokio::test]
async fn an_admin_may_not_delete_itself() {
    let mut m = Mocks::default();
    m.users.expect_delete().times(0);
    m.access_tokens.expect_publish_generation().times(0);
    m.audit.expect_record().times(0);
    let r = m.app().looker.delete_user(admin(), admin().user_id).await;
    assert!(matches!(r, Err(DeleteUserError::Forbidden)), "{r:?}");
}

#[tokio::test]
async fn deleting_an_unknown_user_is_not_found_and_ends_no_session() {
    let mut m = Mocks::default();
    m.users.expect_delete().times(1).returning(|_, _| Ok(false));
    m.access_tokens.expect_publish_generation().times(0);
    m.audit.expect_record().times(0);
    let r = m.app().looker.delete_user(admin(), seven()).await;
    assert!(matches!(r, Err(DeleteUserError::NotFound)), "{r:?}");
}

#[tokio::test]
async fn a_delete_store_failure_is_unavailable_or_unexpected_and_not_audited() {
    for (fail, unavailable) in [(down as fn() -> _, true), (broken, false)] {
        let mut m = Mocks::default();
        m.users.expect_delete().times(1).returning(move |_, _| Err(fail()));
        m.access_tokens.expect_publish_generation().times(0);
        m.audit.expect_record().times(0);
        let r = m.app().looker.delete_user(admin(), seven()).await;
        let right = if unavailable {
            matches!(r, Err(DeleteUserError::Unavailable(_)))
        } else {
            matches!(r, Err(DeleteUserError::Unexpected(_)))
        };
        assert!(right, "{r:?}");
    }
}
