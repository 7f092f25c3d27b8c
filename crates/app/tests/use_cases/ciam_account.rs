//! `/userinfo`, `/change_user_password` and `/oauth2/revoke`: Bearer checks, the old
//! password (a lockout failure when wrong), the status words, and revocation by the owner only.

use resetd_app::ciam::{BearerError, BlockedStatus, ChangeOwnPassword, ChangeOwnPasswordError, RevokeError};
use resetd_app::App;
use resetd_domain::client::{ClientId, ClientType};
use resetd_domain::login::{AccessClaims, FamilyId, RefreshToken};
use resetd_domain::user::{UserId, UserStatus};
use resetd_ports::login::{Family, LockoutSubject};
use resetd_ports::users::User;

use crate::ciam_login::{creds, family, mocks, RIGHT};
use crate::support::{some_hash, user, Mocks};

fn seven() -> UserId {
    UserId::from_i64(7).unwrap()
}

/// An access token of user 7 at `client`, generation `generation`, signed by `app`'s key.
fn access(app: &App, client: &str, generation: i64, exp_in: i64) -> String {
    let login = app.ciam.login_settings();
    let now = chrono::Utc::now().timestamp();
    let claims = AccessClaims {
        iss: login.issuer.clone(),
        sub: "7".into(),
        aud: client.into(),
        client_id: client.into(),
        iat: now,
        exp: now + exp_in,
        jti: "j".into(),
        scope: "openid".into(),
        r#gen: generation,
        sid: FamilyId::generate(&mut rand::rngs::OsRng).to_hex(),
    };
    login.signer.as_ref().unwrap().sign_typed(&claims, "at+jwt").unwrap()
}

/// A live session of the client `app` and a user found as `found`.
fn session(m: &mut Mocks, found: Option<User>) {
    m.refresh_tokens.expect_find().returning(|_| Ok(Some(family())));
    m.users.expect_find().returning(move |_| Ok(found.clone()));
}

#[tokio::test]
async fn userinfo_needs_a_live_token_of_the_users_current_generation() {
    let app = Mocks::default().app();
    assert!(matches!(app.ciam.userinfo(None).await, Err(BearerError::Missing)));
    assert!(matches!(app.ciam.userinfo(Some("")).await, Err(BearerError::Missing)));
    assert!(matches!(app.ciam.userinfo(Some("not.a.jwt")).await, Err(BearerError::Invalid)));
    let untyped = {
        let login = app.ciam.login_settings();
        let now = chrono::Utc::now().timestamp();
        let id = resetd_domain::login::IdClaims {
            iss: login.issuer.clone(),
            sub: "7".into(),
            aud: "app".into(),
            iat: now,
            exp: now + 60,
            auth_time: now,
            email: None,
            phone_number: None,
        };
        login.signer.as_ref().unwrap().sign(&id).unwrap()
    };
    assert!(matches!(app.ciam.userinfo(Some(&untyped)).await, Err(BearerError::Invalid)), "an ID token");
    let expired = access(&app, "app", 0, -1);
    assert!(matches!(app.ciam.userinfo(Some(&expired)).await, Err(BearerError::Invalid)));

    let mut m = Mocks::default();
    m.refresh_tokens.expect_find().returning(|_| Ok(None));
    let app = m.app();
    assert!(matches!(app.ciam.userinfo(Some(&access(&app, "app", 0, 60))).await, Err(BearerError::Invalid)), "revoked");

    let mut m = Mocks::default();
    session(&mut m, Some(user(UserStatus::Active)));
    m.client(ClientType::Web, &crate::ciam_login::secret(), true, true);
    let app = m.app();
    let other = access(&app, "other", 0, 60);
    assert!(matches!(app.ciam.userinfo(Some(&other)).await, Err(BearerError::Invalid)), "another client's session");
    let stale = access(&app, "app", -1, 60);
    assert!(matches!(app.ciam.userinfo(Some(&stale)).await, Err(BearerError::Invalid)), "an older generation");
    let found = app.ciam.userinfo(Some(&access(&app, "app", 0, 60))).await.unwrap();
    assert_eq!(found.id, seven());

    // A client switched off since the login: its tokens stop working.
    let mut m = Mocks::default();
    session(&mut m, Some(user(UserStatus::Active)));
    m.client(ClientType::Web, &crate::ciam_login::secret(), false, true);
    let app = m.app();
    assert!(matches!(app.ciam.userinfo(Some(&access(&app, "app", 0, 60))).await, Err(BearerError::Invalid)));

    let mut m = Mocks::default();
    session(&mut m, None);
    let app = m.app();
    assert!(matches!(app.ciam.userinfo(Some(&access(&app, "app", 0, 60))).await, Err(BearerError::UserNotFound)));
    let mut m = Mocks::default();
    session(&mut m, Some(user(UserStatus::Frozen)));
    let app = m.app();
    assert!(matches!(app.ciam.userinfo(Some(&access(&app, "app", 0, 60))).await, Err(BearerError::Invalid)));
}

fn change(app: &App, old: &str, new: &str) -> ChangeOwnPassword {
    ChangeOwnPassword {
        token: Some(access(app, "app", 0, 60)),
        old_password: Some(old.into()),
        new_password: Some(new.into()),
        ip: None,
    }
}

/// A live session of an active user 7 whose password is `RIGHT`, not locked out.
fn changing(status: UserStatus) -> Mocks {
    let mut m = mocks(ClientType::Web);
    session(&mut m, Some(user(status)));
    m.password_state(Some(some_hash()));
    m.lockout.expect_is_locked().returning(|_| Ok(false));
    m
}

#[tokio::test]
async fn a_wrong_old_password_counts_as_a_login_failure() {
    let mut m = changing(UserStatus::Active);
    m.lockout
        .expect_record_failure()
        .withf(|s, _| *s == LockoutSubject::User(seven()))
        .times(1)
        .returning(|_, _| Ok(false));
    let app = m.app();
    let e = app.ciam.change_own_password(change(&app, "Wrong-1", "New-Zeppelin-43")).await.unwrap_err();
    assert!(matches!(e, ChangeOwnPasswordError::WrongOldPassword), "{e:?}");
}

#[tokio::test]
async fn the_current_password_again_is_a_duplicate_without_more_argon2() {
    let app = changing(UserStatus::Active).app();
    let e = app.ciam.change_own_password(change(&app, RIGHT, RIGHT)).await.unwrap_err();
    assert!(matches!(e, ChangeOwnPasswordError::DuplicatePassword), "{e:?}");
}

#[tokio::test]
async fn blocked_and_locked_out_users_get_the_documented_words() {
    for (status, word) in [(UserStatus::Frozen, BlockedStatus::Frozen), (UserStatus::Locked, BlockedStatus::Locked)] {
        let app = changing(status).app();
        let e = app.ciam.change_own_password(change(&app, RIGHT, "New-Zeppelin-43")).await.unwrap_err();
        assert!(matches!(e, ChangeOwnPasswordError::AbnormalUserStatus(w) if w == word), "{e:?}");
    }
    let mut m = mocks(ClientType::Web);
    session(&mut m, Some(user(UserStatus::Active)));
    m.lockout.expect_is_locked().returning(|_| Ok(true));
    let app = m.app();
    let e = app.ciam.change_own_password(change(&app, RIGHT, "New-Zeppelin-43")).await.unwrap_err();
    assert!(matches!(e, ChangeOwnPasswordError::AbnormalUserStatus(BlockedStatus::Locked)), "{e:?}");
}

#[tokio::test]
async fn a_change_goes_through_the_clients_policy_and_the_history_in_one_write() {
    let mut m = changing(UserStatus::Active);
    m.no_default_policy();
    m.hasher.expect_hash().times(1).returning(|_| Ok(some_hash()));
    m.credentials
        .expect_change_password()
        .withf(|c| c.user_id == seven() && c.expected_generation == 0 && c.consume.is_none() && c.notice.is_some())
        .times(1)
        .returning(|_| Ok(1));
    m.access_tokens.expect_publish_generation().returning(|_, _, _| Ok(()));
    let app = m.app();
    app.ciam.change_own_password(change(&app, RIGHT, "New-Zeppelin-43")).await.unwrap();

    let mut m = changing(UserStatus::Active);
    m.no_default_policy();
    let app = m.app();
    let e = app.ciam.change_own_password(change(&app, RIGHT, "short")).await.unwrap_err();
    assert!(matches!(e, ChangeOwnPasswordError::InvalidNewPassword(ref v) if !v.is_empty()), "{e:?}");
}

#[tokio::test]
async fn revoke_ends_only_the_callers_own_sessions() {
    let token = RefreshToken::generate(seven(), FamilyId::generate(&mut rand::rngs::OsRng), &mut rand::rngs::OsRng);
    let mut m = mocks(ClientType::Web);
    m.refresh_tokens.expect_find().times(1).returning(|_| Ok(Some(family())));
    let session = token.family().session_id(&crate::support::key());
    m.refresh_tokens.expect_end().withf(move |k| k.family == session).times(1).returning(|_| Ok(()));
    m.app().ciam.revoke(&creds(), Some(&token.expose())).await.unwrap();

    let mut m = mocks(ClientType::Web);
    let theirs = Family { client_id: ClientId::parse("other").unwrap(), ..family() };
    m.refresh_tokens.expect_find().times(1).returning(move |_| Ok(Some(theirs.clone())));
    let app = m.app();
    app.ciam.revoke(&creds(), Some(&token.expose())).await.unwrap();
    app.ciam.revoke(&creds(), Some("garbage")).await.unwrap();
    assert!(matches!(app.ciam.revoke(&creds(), None).await, Err(RevokeError::MissingToken)));
}
