//! The operator commands and the first-run bootstrap with mocked ports: each refusal writes
//! nothing, and a second bootstrap finds what the first made instead of making it again.

use resetd_app::bootstrap::{BootstrapError, ClientPolicy, ClientSwitches};
use resetd_app::first_run::{ADMIN_CLIENT_ID, DEMO_EMAIL, SPA_CLIENT_ID, WEB_CLIENT_ID};
use resetd_domain::access::{ApiSecret, Role};
use resetd_domain::client::{ClientId, ClientSecret, ClientType};
use resetd_domain::keyring::KeyRing;
use resetd_domain::policy::PasswordPolicy;
use resetd_domain::user::{UserId, UserStatus};
use resetd_ports::access::ApiCredential;
use resetd_ports::clients::Client;

use crate::support::{key, user, Mocks};

#[tokio::test]
async fn bad_input_writes_nothing() {
    let mut m = Mocks::default();
    m.clients.expect_create().times(0);
    m.users.expect_create().times(0);
    m.users.expect_update().times(0);
    let b = m.app().bootstrap;
    assert!(matches!(b.create_client("desktop", "x", ClientPolicy::Default).await, Err(BootstrapError::Invalid(_))));
    let preset = b.create_client("web", "x", ClientPolicy::Preset("nope".into())).await;
    assert!(matches!(&preset, Err(BootstrapError::Invalid(m)) if m.contains("unknown policy preset")), "{preset:?}");
    let over = PasswordPolicy { history_count: 50, ..PasswordPolicy::default() };
    let kept = b.create_client("web", "x", ClientPolicy::Custom(over)).await;
    assert!(matches!(&kept, Err(BootstrapError::Invalid(m)) if m.contains("history_retention")), "{kept:?}");
    assert!(matches!(b.create_user("not an email", None, None, None).await, Err(BootstrapError::Invalid(_))));
    assert!(matches!(b.set_user_status("7", "sleepy").await, Err(BootstrapError::Invalid(_))));
    assert!(matches!(b.set_user_status("x", "locked").await, Err(BootstrapError::Invalid(_))));
}

#[tokio::test]
async fn a_taken_email_creates_no_user_and_an_unknown_client_is_named() {
    let mut m = Mocks::default();
    m.users.expect_find_by_email().returning(|_| Ok(Some(user(UserStatus::Active))));
    m.users.expect_create().times(0);
    m.clients.expect_set_switches().returning(|_, _| Ok(false));
    let b = m.app().bootstrap;
    assert!(matches!(b.create_user("ada@example.com", None, None, None).await, Err(BootstrapError::EmailTaken)));
    let unknown = b.set_client_switches("ghost", ClientSwitches::default()).await;
    assert!(matches!(&unknown, Err(BootstrapError::Invalid(m)) if m.contains("ghost")), "{unknown:?}");
}

/// What a first bootstrap left behind, as the stores answer it.
fn made(m: &mut Mocks) {
    let secret = ApiSecret::generate(&mut rand::rngs::OsRng);
    let admin = ApiCredential {
        client_id: ClientId::parse(ADMIN_CLIENT_ID).unwrap(),
        secret: KeyRing::single(key()).seal(|k| secret.digest(k)),
        user_id: UserId::from_i64(1).unwrap(),
        role: Role::Admin,
        created_at: resetd_ports::testkit::t0(),
    };
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
            created_at: resetd_ports::testkit::t0(),
        }))
    });
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
