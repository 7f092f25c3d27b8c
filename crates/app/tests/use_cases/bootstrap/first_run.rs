//! `bootstrap`: the admin credential, the web and SPA clients and the demo user, made once
//! with fixed ids, found on later runs, their secrets minted anew only on `rotate`.

use std::sync::{Arc, Mutex};

use resetd_app::bootstrap::{BootstrapError, ClientPolicy};
use resetd_app::first_run::{ADMIN_CLIENT_ID, DEMO_EMAIL, DEMO_PHONE, SPA_CLIENT_ID, WEB_CLIENT_ID};
use resetd_domain::access::{ApiSecret, Role};
use resetd_domain::client::{ClientId, ClientSecret, ClientType};
use resetd_domain::keyring::{KeyRing, Sealed};
use resetd_domain::user::{UserId, UserStatus};
use resetd_ports::access::{ApiCredential, ApiCredentialWriteError};
use resetd_ports::clients::Client;
use resetd_ports::users::UserWriteError;

use super::makes_users;
use crate::support::{broken, down, key, some_hash, user, Mocks};

/// What the stores were given to keep: each id with its sealed secret.
type Kept = Arc<Mutex<Vec<(String, Option<Sealed>)>>>;

fn admin_credential() -> ApiCredential {
    let secret = ApiSecret::generate(&mut rand::rngs::OsRng);
    ApiCredential {
        client_id: ClientId::parse(ADMIN_CLIENT_ID).unwrap(),
        secret: KeyRing::single(key()).seal(|k| secret.digest(k)),
        user_id: UserId::from_i64(1).unwrap(),
        role: Role::Admin,
        created_at: resetd_ports::testkit::t0(),
    }
}

/// The admin credential and the two clients a first bootstrap left behind, as the stores
/// answer them.
fn made_but_the_demo(m: &mut Mocks) {
    let admin = admin_credential();
    m.api_credentials.expect_find().returning(move |_| Ok(Some(admin.clone())));
    m.clients.expect_find().returning(|id| {
        let web = id.as_str() == WEB_CLIENT_ID;
        let secret = ClientSecret::generate(&mut rand::rngs::OsRng);
        Ok(Some(Client {
            id: id.clone(),
            name: "bootstrap".into(),
            client_type: if web { ClientType::Web } else { ClientType::Spa },
            secret: web.then(|| KeyRing::single(key()).seal(|k| secret.digest(k))),
            policy: ClientPolicy::Default,
            enabled: true,
            reset_enabled: true,
            public_otp_send: !web,
            login: Default::default(),
            created_at: resetd_ports::testkit::t0(),
        }))
    });
}

/// What a first bootstrap left behind, the demo user included.
fn made(m: &mut Mocks) {
    made_but_the_demo(m);
    m.users.expect_find_by_email().returning(|_| Ok(Some(user(UserStatus::Active))));
}

#[tokio::test]
async fn a_second_bootstrap_changes_nothing_and_shows_no_secret() {
    let mut m = Mocks::default();
    made(&mut m);
    m.api_credentials.expect_create().times(0);
    m.api_credentials.expect_reseal().times(0);
    m.clients.expect_create().times(0);
    m.clients.expect_reseal().times(0);
    m.users.expect_create().times(0);
    let b = m.app().bootstrap.bootstrap(false).await.unwrap();
    assert_eq!(
        (b.admin_client_id.as_str(), b.web_client_id.as_str(), b.spa_client_id.as_str()),
        (ADMIN_CLIENT_ID, WEB_CLIENT_ID, SPA_CLIENT_ID)
    );
    assert!(b.admin_secret.is_none() && b.web_secret.is_none() && b.user_password.is_none());
    assert_eq!(b.user_email.as_str(), DEMO_EMAIL);
}

#[tokio::test]
async fn rotating_reseals_the_admin_and_web_secrets_only_where_they_still_are_what_was_read() {
    let mut m = Mocks::default();
    made(&mut m);
    m.api_credentials.expect_reseal().times(1).returning(|_, _, fresh| {
        assert_eq!(fresh.key, Some(key().id()));
        Ok(())
    });
    m.clients.expect_reseal().withf(|id, _, _| id.as_str() == WEB_CLIENT_ID).times(1).returning(|_, _, _| Ok(()));
    m.users.expect_create().times(0);
    let b = m.app().bootstrap.bootstrap(true).await.unwrap();
    assert!(b.admin_secret.is_some() && b.web_secret.is_some(), "new secrets, shown once");
    assert!(b.user_password.is_none(), "the demo user's password is not a secret of the bootstrap to rotate");
}

#[tokio::test]
async fn a_first_bootstrap_makes_the_admin_the_two_clients_and_the_demo_user_and_shows_each_secret_once() {
    let mut m = Mocks::default();
    m.api_credentials.expect_find().returning(|_| Ok(None));
    m.clients.expect_find().returning(|_| Ok(None));
    m.users.expect_find_by_email().returning(|_| Ok(None));
    makes_users(&mut m);
    let sealed: Kept = Arc::default();
    let kept = sealed.clone();
    m.api_credentials
        .expect_create()
        .withf(|c| c.client_id.as_str() == ADMIN_CLIENT_ID && c.role == Role::Admin && c.user_id.as_i64() == 1)
        .times(1)
        .returning(move |c| {
            kept.lock().unwrap().push((ADMIN_CLIENT_ID.into(), Some(c.secret)));
            Ok(())
        });
    let kept = sealed.clone();
    m.clients.expect_create().times(2).returning(move |c| {
        let public = c.client_type == ClientType::Spa;
        assert_eq!((c.public_otp_send, c.secret.is_none()), (public, public), "{c:?}");
        kept.lock().unwrap().push((c.id.as_str().to_owned(), c.secret));
        Ok(())
    });
    m.no_default_policy();
    m.password_state(None);
    m.hasher.expect_matches_any().returning(|_, _| Ok(false));
    m.hasher.expect_hash().times(1).returning(|_| Ok(some_hash()));
    m.credentials
        .expect_change_password()
        .withf(|c| c.user_id.as_i64() == 7 && c.audit.actor == "cli" && c.notice.is_none())
        .times(1)
        .returning(|_| Ok(1));
    m.access_tokens.expect_publish_generation().times(1).returning(|_, _, _| Ok(()));
    let b = m.app().bootstrap.bootstrap(false).await.unwrap();
    assert_eq!((b.admin_user_id.as_i64(), b.user_id.as_i64()), (1, 7));
    assert_eq!(b.user_phone.as_str(), DEMO_PHONE);
    assert!(b.user_password.is_some(), "the demo password, shown once");
    let sealed = sealed.lock().unwrap().clone();
    let digest = |id: &str| sealed.iter().find(|(i, _)| i == id).and_then(|(_, s)| *s).map(|s| s.digest);
    assert_eq!(digest(ADMIN_CLIENT_ID), b.admin_secret.map(|s| s.digest(&key())), "the admin secret, shown once");
    assert_eq!(digest(WEB_CLIENT_ID), b.web_secret.map(|s| s.digest(&key())), "the web secret, shown once");
    assert_eq!(digest(SPA_CLIENT_ID), None, "a public client has no secret");
}

#[tokio::test]
async fn a_store_outage_stops_the_bootstrap_before_anything_is_made() {
    let mut m = Mocks::default();
    m.api_credentials.expect_find().times(1).returning(|_| Err(down()));
    m.api_credentials.expect_create().times(0);
    m.users.expect_find_by_email().times(0);
    m.clients.expect_find().times(0);
    m.clients.expect_create().times(0);
    let r = m.app().bootstrap.bootstrap(false).await;
    assert!(matches!(r, Err(BootstrapError::Unavailable(_))), "{r:?}");
}

#[tokio::test]
async fn a_broken_client_registry_is_unexpected_and_makes_no_client_and_no_demo_user() {
    let mut m = Mocks::default();
    let admin = admin_credential();
    m.api_credentials.expect_find().returning(move |_| Ok(Some(admin.clone())));
    m.clients.expect_find().times(1).returning(|_| Err(broken()));
    m.clients.expect_create().times(0);
    m.users.expect_find_by_email().times(0);
    let r = m.app().bootstrap.bootstrap(false).await;
    assert!(matches!(r, Err(BootstrapError::Unexpected(_))), "{r:?}");
}

#[tokio::test]
async fn an_admin_credential_made_concurrently_asks_for_another_run_and_makes_no_client() {
    let mut m = Mocks::default();
    m.api_credentials.expect_find().returning(|_| Ok(None));
    m.users.expect_find_by_email().returning(|_| Ok(Some(user(UserStatus::Active))));
    m.users.expect_create().times(0);
    m.api_credentials.expect_create().times(1).returning(|_| Err(ApiCredentialWriteError::Duplicate));
    m.clients.expect_find().times(0);
    m.clients.expect_create().times(0);
    let r = m.app().bootstrap.bootstrap(false).await;
    assert!(matches!(&r, Err(BootstrapError::Concurrent)), "{r:?}");
}

#[tokio::test]
async fn a_demo_phone_taken_by_another_user_is_refused_before_any_hashing() {
    let mut m = Mocks::default();
    made_but_the_demo(&mut m);
    m.users.expect_find_by_email().returning(|_| Ok(None));
    m.no_default_policy();
    m.users.expect_create().times(1).returning(|_, _| Err(UserWriteError::PhoneTaken));
    m.credentials.expect_create().times(0);
    m.hasher.expect_hash().times(0);
    m.credentials.expect_change_password().times(0);
    let r = m.app().bootstrap.bootstrap(false).await;
    assert!(matches!(r, Err(BootstrapError::PhoneTaken)), "{r:?}");
}
