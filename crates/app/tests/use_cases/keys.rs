//! Key rotation: every lookup tries each key (the current first), secrets that verify under an
//! old key are resealed under the current one, and the operator's view of key usage.

use std::time::Duration;

use resetd_app::ciam::{ClientAuthError, ClientCredentials, ResetPasswordError};
use resetd_domain::access::{ApiSecret, Role, SessionToken};
use resetd_domain::client::{ClientId, ClientSecret, ClientType};
use resetd_domain::keyed::{Digest, TokenKey};
use resetd_domain::keyring::{KeyRing, Sealed};
use resetd_domain::otp::{OtpCode, OtpToken};
use resetd_domain::reset_token::{ResetToken, ResetTokenKind};
use resetd_domain::user::{UserId, UserStatus};
use resetd_ports::access::ApiCredential;
use resetd_ports::clients::{Client, ClientPolicy};
use resetd_ports::credentials::TokenOwner;
use resetd_ports::keys::KeyUsage;
use resetd_ports::otp::ClaimOutcome;

use crate::support::{user, Mocks};

fn key(seed: u8) -> TokenKey {
    TokenKey::new(vec![seed; 32]).unwrap()
}

/// A ring of a new key and the old one (seeds 1 and 2).
fn rotated() -> KeyRing {
    KeyRing::new(vec![key(1), key(2)]).unwrap()
}

fn sealed_under(k: &TokenKey, digest: Digest) -> Sealed {
    Sealed { digest, key: Some(k.id()) }
}

fn client_sealed(stored: Sealed) -> Client {
    Client {
        id: ClientId::parse("app").unwrap(),
        name: "app".into(),
        client_type: ClientType::Web,
        secret: Some(stored),
        policy: ClientPolicy::Default,
        enabled: true,
        reset_enabled: true,
        public_otp_send: false,
        login: Default::default(),
        created_at: resetd_ports::testkit::t0(),
    }
}

fn creds(secret: &ClientSecret) -> ClientCredentials {
    ClientCredentials { client_id: "app".into(), client_secret: Some(secret.expose().to_owned().into()) }
}

#[tokio::test]
async fn a_client_secret_under_the_old_key_verifies_and_is_resealed_under_the_new_one() {
    let secret = ClientSecret::generate(&mut rand::rngs::OsRng);
    let old = sealed_under(&key(2), secret.digest(&key(2)));
    let mut m = Mocks::default();
    let client = client_sealed(old);
    m.clients.expect_find().returning(move |_| Ok(Some(client.clone())));
    let fresh = sealed_under(&key(1), secret.digest(&key(1)));
    m.clients
        .expect_reseal()
        .withf(move |_, was, now| *was == old.digest && *now == fresh)
        .times(1)
        .returning(|_, _, _| Ok(()));
    let app = m.app_with_keys(rotated());
    assert_eq!(app.ciam.authenticate(&creds(&secret)).await.unwrap().id.as_str(), "app");
}

#[tokio::test]
async fn a_client_secret_under_the_current_key_is_not_written_and_a_dropped_key_verifies_nothing() {
    let secret = ClientSecret::generate(&mut rand::rngs::OsRng);
    let mut m = Mocks::default();
    let current = client_sealed(sealed_under(&key(1), secret.digest(&key(1))));
    m.clients.expect_find().returning(move |_| Ok(Some(current.clone())));
    m.app_with_keys(rotated()).ciam.authenticate(&creds(&secret)).await.unwrap();

    let mut m = Mocks::default();
    let dropped = client_sealed(sealed_under(&key(3), secret.digest(&key(3))));
    m.clients.expect_find().returning(move |_| Ok(Some(dropped.clone())));
    let refused = m.app_with_keys(rotated()).ciam.authenticate(&creds(&secret)).await;
    assert!(matches!(refused, Err(ClientAuthError::InvalidClient)));
}

#[tokio::test]
async fn an_api_secret_under_the_old_key_logs_in_and_is_resealed() {
    let secret = ApiSecret::generate(&mut rand::rngs::OsRng);
    let old = sealed_under(&key(2), secret.digest(&key(2)));
    let mut m = Mocks::default();
    m.allow_rate();
    m.quiet_audit();
    let cred = ApiCredential {
        client_id: ClientId::parse("api").unwrap(),
        secret: old,
        user_id: UserId::from_i64(7).unwrap(),
        role: Role::Admin,
        created_at: resetd_ports::testkit::t0(),
    };
    m.api_credentials.expect_find().returning(move |_| Ok(Some(cred.clone())));
    let fresh = sealed_under(&key(1), secret.digest(&key(1)));
    m.api_credentials
        .expect_reseal()
        .withf(move |_, was, now| *was == old.digest && *now == fresh)
        .times(1)
        .returning(|_, _, _| Ok(()));
    m.users.expect_find().returning(|_| Ok(Some(user(UserStatus::Active))));
    m.access_tokens.expect_issue().times(1).returning(|_, _, _, _| Ok(()));
    m.app_with_keys(rotated()).looker.login("api", secret.expose(), None).await.unwrap();
}

#[tokio::test]
async fn a_session_from_before_the_rotation_resolves_and_logs_out_under_its_key() {
    let token = SessionToken::generate(UserId::from_i64(7).unwrap(), &mut rand::rngs::OsRng);
    let under_old = token.digest(&key(2));
    let mut m = Mocks::default();
    let mut seq = mockall::Sequence::new();
    let new_digest = token.digest(&key(1));
    m.access_tokens
        .expect_resolve()
        .withf(move |s| s.token == new_digest)
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(None));
    m.access_tokens
        .expect_resolve()
        .withf(move |s| s.token == under_old)
        .times(1)
        .in_sequence(&mut seq)
        .returning(|s| Ok(Some(resetd_domain::access::Principal { user_id: s.user_id, role: Role::Admin })));
    m.access_tokens.expect_revoke().withf(move |s| s.token == under_old).times(1).returning(|_| Ok(()));
    m.app_with_keys(rotated()).looker.logout(&token.expose()).await.unwrap();
}

#[tokio::test]
async fn a_link_from_before_the_rotation_is_found_under_its_key_after_the_current_one() {
    let token = ResetToken::generate(&mut rand::rngs::OsRng);
    let (new_digest, old_digest) = (token.digest(&key(1)), token.digest(&key(2)));
    let mut m = Mocks::default();
    let mut seq = mockall::Sequence::new();
    m.credentials
        .expect_find_reset_token()
        .withf(move |d, _| *d == new_digest)
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(None));
    m.credentials
        .expect_find_reset_token()
        .withf(move |d, _| *d == old_digest)
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| {
            Ok(Some(TokenOwner { user_id: UserId::from_i64(7).unwrap(), kind: ResetTokenKind::PasswordReset }))
        });
    m.users.expect_find().returning(|_| Ok(Some(user(UserStatus::Active))));
    m.no_default_policy();
    m.app_with_keys(rotated()).redeem.inspect(token.expose()).await.unwrap();
}

#[tokio::test]
async fn a_code_from_before_the_rotation_is_judged_under_its_key_after_the_current_one_misses() {
    let secret = ClientSecret::generate(&mut rand::rngs::OsRng);
    let token = OtpToken::generate(&mut rand::rngs::OsRng);
    let code = OtpCode::parse("123456").unwrap();
    // The mocked client's secret is sealed under the tests' key: it is the current one here.
    let ring = KeyRing::new(vec![crate::support::key(), key(2)]).unwrap();
    let mut m = Mocks::default();
    m.client(ClientType::Web, &secret, true, true);
    m.allow_rate();
    m.users.expect_find_by_email().returning(|_| Ok(Some(user(UserStatus::Active))));
    let (new_token, old_token) = (token.digest(&ring.all()[0]), token.digest(&key(2)));
    let old_guess = code.digest(&key(2), &old_token);
    let mut seq = mockall::Sequence::new();
    m.otps
        .expect_verify_and_claim()
        .withf(move |t, _, _, _| *t == new_token)
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _, _| Ok(ClaimOutcome::Gone));
    m.otps
        .expect_verify_and_claim()
        .withf(move |t, g, _, _| *t == old_token && *g == old_guess)
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _, _| Ok(ClaimOutcome::WrongCode { attempts_left: 2 }));
    let body = resetd_app::ciam::ResetWithOtp {
        password: Some("Tr4vel-by-Zeppelin".into()),
        email: Some("ada@example.com".into()),
        email_otp_token: Some(token.expose().into()),
        email_otp: Some(code.expose().into()),
        ..Default::default()
    };
    let answer = m.app_with_keys(ring).ciam.reset_password(&creds(&secret), body).await;
    assert!(matches!(answer, Err(ResetPasswordError::BadOtp(_))), "the old challenge judged the code: {answer:?}");
}

#[tokio::test]
async fn status_lists_every_key_with_what_depends_on_it() {
    let mut m = Mocks::default();
    let (k1, k2, gone) = (key(1).id(), key(2).id(), key(9).id());
    m.key_usage.expect_usage().returning(move |_| {
        Ok(vec![
            KeyUsage { key: Some(k1), api_credentials: 1, clients: 2, reset_links: 3 },
            KeyUsage { key: Some(gone), api_credentials: 0, clients: 1, reset_links: 0 },
        ])
    });
    let status = m.app_with_keys(rotated()).keys.status().await.unwrap();
    let ids: Vec<_> = status.keys.iter().map(|k| (k.id, k.current, k.configured)).collect();
    assert_eq!(ids, vec![(k1, true, true), (k2, false, true), (gone, false, false)]);
    assert_eq!(status.keys[0].usage.reset_links, 3);
    assert!(status.keys[1].removable(&status), "nothing depends on the old key");
    assert!(!status.keys[0].removable(&status) && !status.keys[2].removable(&status));
    assert_eq!(status.unlabelled, None);
    assert_eq!(status.short_lived_for, Duration::from_secs(3600), "sessions outlive codes by default");
}

#[tokio::test]
async fn an_old_key_is_not_removable_while_records_depend_on_it_or_some_are_unlabelled() {
    let mut m = Mocks::default();
    let k2 = key(2).id();
    m.key_usage.expect_usage().returning(move |_| {
        Ok(vec![
            KeyUsage { key: None, api_credentials: 1, clients: 0, reset_links: 0 },
            KeyUsage { key: Some(k2), api_credentials: 0, clients: 0, reset_links: 1 },
        ])
    });
    let status = m.app_with_keys(rotated()).keys.status().await.unwrap();
    assert_eq!(status.unlabelled.map(|u| u.api_credentials), Some(1));
    assert!(!status.keys[1].removable(&status));
}

#[tokio::test]
async fn unlabelled_digests_are_labelled_only_while_one_key_is_configured() {
    let mut m = Mocks::default();
    let only = key(1).id();
    m.key_usage.expect_label_unlabelled().withf(move |k| *k == only).times(1).returning(|_| Ok(4));
    assert_eq!(m.app_with_keys(KeyRing::single(key(1))).keys.label_if_one_key().await.unwrap(), 4);
    // With two keys nothing is labelled: an unexpected call would fail the mock.
    assert_eq!(Mocks::default().app_with_keys(rotated()).keys.label_if_one_key().await.unwrap(), 0);
}
