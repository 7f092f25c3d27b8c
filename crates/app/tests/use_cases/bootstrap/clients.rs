//! `create_client` and `set_client_switches`: the type and the policy are judged before
//! anything is written.

use std::sync::{Arc, Mutex};

use resetd_app::bootstrap::{BootstrapError, ClientPolicy, ClientSwitches, InvalidArgument};
use resetd_domain::client::ClientType;
use resetd_domain::policy::PasswordPolicy;
use resetd_ports::clients::{Client, ClientWriteError};

use crate::support::{broken, down, key, Mocks};

#[tokio::test]
async fn a_confidential_client_gets_a_secret_shown_once_and_a_public_one_none() {
    let mut m = Mocks::default();
    let stored: Arc<Mutex<Vec<Client>>> = Arc::default();
    let kept = stored.clone();
    m.clients.expect_create().times(2).returning(move |c| {
        kept.lock().unwrap().push(c);
        Ok(())
    });
    let b = m.app().bootstrap;
    let web = b.create_client("web", "shop", ClientPolicy::Default).await.unwrap();
    let spa = b.create_client("spa", "shop spa", ClientPolicy::Default).await.unwrap();
    let stored = stored.lock().unwrap().clone();
    let (w, s) = (&stored[0], &stored[1]);
    assert_eq!((&w.id, w.client_type, w.name.as_str()), (&web.client_id, ClientType::Web, "shop"));
    assert_eq!(w.secret.map(|x| x.digest), web.client_secret.map(|x| x.digest(&key())), "its digest is stored");
    assert!(w.enabled && w.reset_enabled && !w.public_otp_send, "on, resets on, no public sends");
    assert_eq!((&s.id, s.client_type, s.secret), (&spa.client_id, ClientType::Spa, None));
    assert!(spa.client_secret.is_none());
}

#[tokio::test]
async fn a_known_preset_or_a_custom_policy_in_range_is_kept_with_the_client() {
    let strict = PasswordPolicy { min_length: 14, ..PasswordPolicy::default() };
    for policy in [ClientPolicy::Preset("strict".into()), ClientPolicy::Custom(strict.clone())] {
        let mut m = Mocks::default();
        let want = policy.clone();
        m.clients.expect_create().withf(move |c| c.policy == want).times(1).returning(|_| Ok(()));
        let preset = strict.clone();
        let app = m.app_with(move |s| {
            s.presets.insert("strict".into(), preset);
        });
        app.bootstrap.create_client("web", "shop", policy).await.unwrap();
    }
}

#[tokio::test]
async fn a_custom_policy_out_of_range_makes_no_client() {
    let mut m = Mocks::default();
    m.clients.expect_create().times(0);
    let zero = PasswordPolicy { min_length: 0, ..PasswordPolicy::default() };
    let r = m.app().bootstrap.create_client("web", "shop", ClientPolicy::Custom(zero)).await;
    assert!(matches!(&r, Err(BootstrapError::Invalid(InvalidArgument::Policy(v))) if !v.is_empty()), "{r:?}");
}

#[tokio::test]
async fn a_client_id_collision_asks_to_try_again() {
    let mut m = Mocks::default();
    m.clients.expect_create().times(1).returning(|_| Err(ClientWriteError::Duplicate));
    let r = m.app().bootstrap.create_client("web", "shop", ClientPolicy::Default).await;
    assert!(matches!(&r, Err(BootstrapError::Concurrent)), "{r:?}");
}

#[tokio::test]
async fn a_client_store_failure_is_unavailable_or_unexpected() {
    let mut m = Mocks::default();
    m.clients.expect_create().times(1).returning(|_| Err(ClientWriteError::Store(down())));
    let r = m.app().bootstrap.create_client("web", "shop", ClientPolicy::Default).await;
    assert!(matches!(r, Err(BootstrapError::Unavailable(_))), "{r:?}");
    let mut m = Mocks::default();
    m.clients.expect_create().times(1).returning(|_| Err(ClientWriteError::Store(broken())));
    let r = m.app().bootstrap.create_client("web", "shop", ClientPolicy::Default).await;
    assert!(matches!(r, Err(BootstrapError::Unexpected(_))), "{r:?}");
}

#[tokio::test]
async fn a_clients_switches_are_passed_on_whole() {
    let switches =
        ClientSwitches { enabled: Some(false), reset_enabled: None, public_otp_send: Some(true), login: None };
    let mut m = Mocks::default();
    m.clients
        .expect_set_switches()
        .withf(move |id, s| id.as_str() == "shop" && *s == switches)
        .times(1)
        .returning(|_, _| Ok(true));
    m.app().bootstrap.set_client_switches("shop", switches).await.unwrap();
}

#[tokio::test]
async fn a_malformed_client_id_switches_nothing() {
    let mut m = Mocks::default();
    m.clients.expect_set_switches().times(0);
    let r = m.app().bootstrap.set_client_switches("not an id!", ClientSwitches::default()).await;
    assert!(matches!(r, Err(BootstrapError::Invalid(InvalidArgument::ClientId(_)))), "{r:?}");
}

#[tokio::test]
async fn a_switch_store_failure_is_unavailable_or_unexpected() {
    let mut m = Mocks::default();
    m.clients.expect_set_switches().times(1).returning(|_, _| Err(down()));
    let r = m.app().bootstrap.set_client_switches("shop", ClientSwitches::default()).await;
    assert!(matches!(r, Err(BootstrapError::Unavailable(_))), "{r:?}");
    let mut m = Mocks::default();
    m.clients.expect_set_switches().times(1).returning(|_, _| Err(broken()));
    let r = m.app().bootstrap.set_client_switches("shop", ClientSwitches::default()).await;
    assert!(matches!(r, Err(BootstrapError::Unexpected(_))), "{r:?}");
}
