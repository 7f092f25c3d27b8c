//! The password and refresh grants: the order of checks, one argon2 verification whether or
//! not the user exists, status answers only after the password, rotation outcomes.

use std::time::Duration;

use resetd_app::ciam::{ClientCredentials, PasswordGrant, RefreshGrant, TokenError};
use resetd_app::App;
use resetd_domain::client::{ClientId, ClientSecret, ClientType};
use resetd_domain::login::{AccessClaims, FamilyId, IdClaims, RefreshToken};
use resetd_domain::user::{UserId, UserStatus};
use resetd_ports::clients::{Client, ClientLogin, ClientPolicy};
use resetd_ports::login::{Family, LockoutSubject, Rotation};
use resetd_ports::rate_limit::RateDecision;
use resetd_ports::users::User;

use crate::support::{down, key, some_hash, user, Mocks};

pub(crate) const RIGHT: &str = "Right-Zeppelin-42";

pub(crate) fn secret() -> ClientSecret {
    static SECRET: std::sync::OnceLock<ClientSecret> = std::sync::OnceLock::new();
    SECRET.get_or_init(|| ClientSecret::generate(&mut rand::rngs::OsRng)).clone()
}

pub(crate) fn creds() -> ClientCredentials {
    ClientCredentials { client_id: "app".into(), client_secret: Some(secret().expose().to_owned().into()) }
}

fn grant(username: &str, password: &str) -> PasswordGrant {
    PasswordGrant { username: Some(username.into()), password: Some(password.into()), ip: None }
}

/// A web client, rate limits allowing, and a hasher that knows `RIGHT` only.
pub(crate) fn mocks(client_type: ClientType) -> Mocks {
    let mut m = Mocks::default();
    m.client(client_type, &secret(), true, true);
    m.allow_rate();
    m.hasher.expect_matches_any().returning(|p, _| Ok(p.expose() == RIGHT));
    m
}

/// [`mocks`] with hashes that are current (no rehash at login).
fn current_hashes(mut m: Mocks) -> Mocks {
    m.hasher.expect_needs_rehash().returning(|_| false);
    m
}

/// Up to a verified password of an active user 7 at generation 0.
fn known(status: UserStatus) -> Mocks {
    let mut m = mocks(ClientType::Web);
    m.users.expect_find_by_email().returning(move |_| Ok(Some(user(status))));
    m.password_state(Some(some_hash()));
    m
}

pub(crate) fn family() -> Family {
    Family { client_id: ClientId::parse("app").unwrap(), generation: 0, auth_time: resetd_ports::testkit::t0() }
}

fn claims<C: serde::de::DeserializeOwned>(app: &App, token: &str) -> C {
    let login = app.ciam.login_settings();
    login.signer.as_ref().unwrap().verify(token, &login.issuer).unwrap()
}

#[tokio::test]
async fn the_address_limit_comes_before_the_client_and_any_argon2() {
    let mut m = Mocks::default();
    m.rate_limiter.expect_hit().returning(|_, _, _| Ok(RateDecision::Limited { retry_after: Duration::from_secs(7) }));
    let req = PasswordGrant { ip: Some("10.0.0.1".parse().unwrap()), ..grant("ada@example.com", RIGHT) };
    let e = m.app().ciam.password_grant(&creds(), req).await.unwrap_err();
    assert!(matches!(e, TokenError::RateLimited { retry_after } if retry_after.as_secs() == 7), "{e:?}");
}

#[tokio::test]
async fn client_failures_and_m2m_clients_are_refused() {
    let mut m = Mocks::default();
    m.allow_rate();
    m.clients.expect_find().returning(|_| Ok(None));
    let e = m.app().ciam.password_grant(&creds(), grant("ada@example.com", RIGHT)).await.unwrap_err();
    assert!(matches!(e, TokenError::InvalidClient), "{e:?}");
    let e = mocks(ClientType::M2m).app().ciam.password_grant(&creds(), grant("a@b.co", RIGHT)).await.unwrap_err();
    assert!(matches!(e, TokenError::UnauthorizedClient), "{e:?}");
    let req = RefreshGrant { refresh_token: Some("x".into()), ip: None };
    let e = mocks(ClientType::M2m).app().ciam.refresh_grant(&creds(), req).await.unwrap_err();
    assert!(matches!(e, TokenError::UnauthorizedClient), "{e:?}");
}

#[tokio::test]
async fn missing_parameters_and_unsupported_usernames_cost_no_lookup() {
    let app = mocks(ClientType::Spa).app();
    let nameless = PasswordGrant { password: Some(RIGHT.into()), ..PasswordGrant::default() };
    let e = app.ciam.password_grant(&creds(), nameless).await.unwrap_err();
    assert!(matches!(e, TokenError::MissingParameter("username")), "{e:?}");
    let e = app.ciam.password_grant(&creds(), grant("ada@example.com", "")).await.unwrap_err();
    assert!(matches!(e, TokenError::MissingParameter("password")), "{e:?}");
    for bad in ["ada", "ada@", "+12"] {
        let e = app.ciam.password_grant(&creds(), grant(bad, RIGHT)).await.unwrap_err();
        assert!(matches!(e, TokenError::UnsupportedUsername), "{bad}: {e:?}");
    }
}

#[tokio::test]
async fn an_unknown_user_costs_one_verification_of_a_dummy_hash_and_counts_a_failure() {
    let mut m = Mocks::default();
    m.client(ClientType::Web, &secret(), true, true);
    m.allow_rate();
    m.hasher.expect_matches_any().times(2).returning(|p, _| Ok(p.expose() == RIGHT));
    m.users.expect_find_by_phone().returning(|_| Ok(None));
    // The same password read as a known user's, of an id nobody has.
    m.credentials.expect_password_state().withf(|u, _| *u == UserId::MAX).times(2).returning(|_, _| Ok(None));
    m.hasher.expect_hash().times(1).returning(|_| Ok(some_hash()));
    m.lockout
        .expect_record_failure()
        .withf(|s, _| matches!(s, LockoutSubject::Unknown(_)))
        .times(2)
        .returning(|_, _| Ok(false));
    let app = m.app();
    for _ in 0..2 {
        let e = app.ciam.password_grant(&creds(), grant("+8613612345678", RIGHT)).await.unwrap_err();
        assert!(matches!(e, TokenError::WrongCredentials), "{e:?}");
    }
}

#[tokio::test]
async fn a_wrong_password_is_wrong_whatever_the_status_and_counts_against_the_user() {
    for status in [UserStatus::Active, UserStatus::Locked, UserStatus::Frozen] {
        let mut m = known(status);
        let seven = UserId::from_i64(7).unwrap();
        m.lockout
            .expect_record_failure()
            .withf(move |s, r| *s == LockoutSubject::User(seven) && r.threshold == 5)
            .times(1)
            .returning(|_, _| Ok(true));
        let e = m.app().ciam.password_grant(&creds(), grant("Ada@Example.com", "Wrong-Zeppelin-1")).await.unwrap_err();
        assert!(matches!(e, TokenError::WrongCredentials), "{status:?}: {e:?}");
    }
}

#[tokio::test]
async fn the_right_password_of_a_blocked_or_locked_out_user_answers_its_status() {
    for status in [UserStatus::Locked, UserStatus::Frozen, UserStatus::Disabled] {
        let mut m = known(status);
        m.lockout.expect_is_locked().returning(|_| Ok(false));
        let e = m.app().ciam.password_grant(&creds(), grant("ada@example.com", RIGHT)).await.unwrap_err();
        assert!(matches!(e, TokenError::AbnormalUserStatus), "{status:?}: {e:?}");
    }
    let mut m = known(UserStatus::Active);
    m.lockout.expect_is_locked().times(1).returning(|_| Ok(true));
    let e = m.app().ciam.password_grant(&creds(), grant("ada@example.com", RIGHT)).await.unwrap_err();
    assert!(matches!(e, TokenError::AbnormalUserStatus), "{e:?}");
}

/// The user read again after the session started: as before the password was verified.
fn unchanged(m: &mut Mocks) {
    m.users.expect_find().returning(|_| Ok(Some(user(UserStatus::Active))));
}

/// Fails on the main of before the cost-per-request issue's last session: a reset that
/// committed while argon2 verified the old password still got that login signed tokens,
/// which a resource server checking only signatures took for 600 s.
#[tokio::test]
async fn a_reset_that_commits_while_the_password_is_verified_leaves_the_login_without_tokens() {
    let mut m = current_hashes(known(UserStatus::Active));
    m.lockout.expect_is_locked().returning(|_| Ok(false));
    m.refresh_tokens.expect_start().times(1).returning(|_, _, _, _| Ok(()));
    // The reset bumped the generation (0 → 1) while the old password was being verified.
    m.users.expect_find().times(1).returning(|_| Ok(Some(User { generation: 1, ..user(UserStatus::Active) })));
    m.refresh_tokens.expect_end().withf(|k| k.user_id.as_i64() == 7).times(1).returning(|_| Ok(()));
    let e = m.app().ciam.password_grant(&creds(), grant("ada@example.com", RIGHT)).await.unwrap_err();
    assert!(matches!(e, TokenError::WrongCredentials), "{e:?}");
}

#[tokio::test]
async fn a_login_opens_a_session_and_signs_tokens_for_the_client() {
    let mut m = current_hashes(known(UserStatus::Active));
    m.lockout.expect_is_locked().returning(|_| Ok(false));
    unchanged(&mut m);
    m.refresh_tokens
        .expect_start()
        .withf(|k, f, _, ttl| k.user_id.as_i64() == 7 && *f == family() && *ttl == Duration::from_secs(86_400))
        .times(1)
        .returning(|_, _, _, _| Ok(()));
    let app = m.app();
    let t = app.ciam.password_grant(&creds(), grant("ada@example.com", RIGHT)).await.unwrap();
    assert_eq!(t.expires_in, Duration::from_secs(600));
    assert_eq!(t.refresh_token.user_id().as_i64(), 7);
    let a: AccessClaims = claims(&app, &t.access_token);
    assert_eq!((a.sub.as_str(), a.aud.as_str(), a.client_id.as_str(), a.r#gen), ("7", "app", "app", 0));
    assert_eq!((a.exp - a.iat, a.sid.clone()), (600, t.refresh_token.family().session_id(&key()).to_hex()));
    assert_ne!(a.sid, t.refresh_token.family().to_hex(), "an access token does not name the refresh token's family");
    let id: IdClaims = claims(&app, &t.id_token);
    assert_eq!((id.sub.as_str(), id.aud.as_str(), id.email.as_deref()), ("7", "app", Some("ada@example.com")));
    assert_eq!(id.auth_time, resetd_ports::testkit::t0().timestamp());
}

#[tokio::test]
async fn a_hash_under_old_parameters_is_replaced_at_login_by_compare_and_set_only() {
    let mut m = known(UserStatus::Active);
    m.lockout.expect_is_locked().returning(|_| Ok(false));
    m.hasher.expect_needs_rehash().times(1).returning(|_| true);
    let fresh = some_hash();
    let stored = fresh.clone();
    m.hasher.expect_hash().withf(|p| p.expose() == RIGHT).times(1).returning(move |_| Ok(stored.clone()));
    m.credentials
        .expect_rehash()
        .withf(move |u, old, new| u.as_i64() == 7 && old != new && *new == fresh)
        .times(1)
        .returning(|_, _, _| Ok(false));
    m.refresh_tokens.expect_start().returning(|_, _, _, _| Ok(()));
    unchanged(&mut m);
    m.app().ciam.password_grant(&creds(), grant("ada@example.com", RIGHT)).await.unwrap();
}

#[tokio::test]
async fn a_clients_own_login_settings_replace_the_services() {
    let own = ClientLogin {
        access_token_ttl_secs: Some(120),
        refresh_token_ttl_secs: Some(3_600),
        lockout_threshold: Some(2),
        ..ClientLogin::default()
    };
    let mut m = Mocks::default();
    let client = Client {
        id: ClientId::parse("app").unwrap(),
        name: "app".into(),
        client_type: ClientType::Spa,
        secret: None,
        policy: ClientPolicy::Default,
        enabled: true,
        reset_enabled: true,
        public_otp_send: false,
        login: own,
        created_at: resetd_ports::testkit::t0(),
    };
    m.clients.expect_find().returning(move |_| Ok(Some(client.clone())));
    m.allow_rate();
    m.hasher.expect_matches_any().returning(|p, _| Ok(p.expose() == RIGHT));
    m.hasher.expect_needs_rehash().returning(|_| false);
    m.users.expect_find_by_email().returning(|_| Ok(Some(user(UserStatus::Active))));
    m.password_state(Some(some_hash()));
    m.lockout.expect_is_locked().returning(|_| Ok(false));
    m.lockout
        .expect_record_failure()
        .withf(|_, rule| rule.threshold == 2 && rule.window == Duration::from_secs(3_600))
        .times(1)
        .returning(|_, _| Ok(false));
    m.refresh_tokens
        .expect_start()
        .withf(|_, _, _, ttl| *ttl == Duration::from_secs(3_600))
        .times(1)
        .returning(|_, _, _, _| Ok(()));
    unchanged(&mut m);
    let app = m.app();
    let e = app.ciam.password_grant(&creds(), grant("ada@example.com", "Wrong-1")).await.unwrap_err();
    assert!(matches!(e, TokenError::WrongCredentials), "{e:?}");
    let t = app.ciam.password_grant(&creds(), grant("ada@example.com", RIGHT)).await.unwrap();
    assert_eq!(t.expires_in, Duration::from_secs(120));
    let a: AccessClaims = claims(&app, &t.access_token);
    assert_eq!(a.exp - a.iat, 120);
}

#[tokio::test]
async fn a_backend_outage_is_unavailable() {
    let mut m = mocks(ClientType::Web);
    m.users.expect_find_by_email().returning(|_| Err(down()));
    let e = m.app().ciam.password_grant(&creds(), grant("ada@example.com", RIGHT)).await.unwrap_err();
    assert!(matches!(e, TokenError::Unavailable(_)), "{e:?}");
}

fn refresh(token: &RefreshToken) -> RefreshGrant {
    RefreshGrant { refresh_token: Some(token.expose()), ip: None }
}

fn token() -> RefreshToken {
    RefreshToken::generate(
        UserId::from_i64(7).unwrap(),
        FamilyId::generate(&mut rand::rngs::OsRng),
        &mut rand::rngs::OsRng,
    )
}

#[tokio::test]
async fn a_refresh_rotates_to_the_derived_successor_and_a_retry_gets_the_same_tokens() {
    let presented = token();
    let (current, next) = (presented.digest(&key()), presented.successor(&key()).digest(&key()));
    let mut m = mocks(ClientType::Mobile);
    let at = resetd_ports::testkit::t0();
    let mut outcomes = vec![Rotation::Retried { family: family(), at }, Rotation::Rotated { family: family(), at }];
    m.refresh_tokens
        .expect_rotate()
        .withf(move |k, c, p, n, _, grace, _| {
            k.user_id.as_i64() == 7
                && c.as_str() == "app"
                && *p == current
                && *n == next
                && *grace == Duration::from_secs(10)
        })
        .times(2)
        .returning(move |_, _, _, _, _, _, _| Ok(outcomes.pop().unwrap()));
    m.users.expect_find().returning(|_| Ok(Some(user(UserStatus::Active))));
    let app = m.app();
    let first = app.ciam.refresh_grant(&creds(), refresh(&presented)).await.unwrap();
    let retry = app.ciam.refresh_grant(&creds(), refresh(&presented)).await.unwrap();
    assert_eq!(first.refresh_token.expose(), presented.successor(&key()).expose());
    assert_eq!(
        (&first.access_token, &first.id_token, first.refresh_token.expose()),
        (&retry.access_token, &retry.id_token, retry.refresh_token.expose()),
        "the same answer"
    );
}

#[tokio::test]
async fn unknown_replayed_or_malformed_refresh_tokens_are_invalid_grants() {
    for outcome in [Rotation::Unknown, Rotation::Reused] {
        let mut m = mocks(ClientType::Web);
        m.refresh_tokens.expect_rotate().times(1).returning(move |_, _, _, _, _, _, _| Ok(outcome.clone()));
        let e = m.app().ciam.refresh_grant(&creds(), refresh(&token())).await.unwrap_err();
        assert!(matches!(e, TokenError::InvalidGrant), "{e:?}");
    }
    let app = mocks(ClientType::Web).app();
    let malformed = RefreshGrant { refresh_token: Some("7.x.y".into()), ip: None };
    let e = app.ciam.refresh_grant(&creds(), malformed).await.unwrap_err();
    assert!(matches!(e, TokenError::InvalidGrant), "{e:?}");
    let e = app.ciam.refresh_grant(&creds(), RefreshGrant::default()).await.unwrap_err();
    assert!(matches!(e, TokenError::MissingParameter("refresh_token")), "{e:?}");
}

#[tokio::test]
async fn a_password_or_status_change_since_the_login_ends_it_at_the_refresh() {
    for changed in [resetd_ports::users::User { generation: 1, ..user(UserStatus::Active) }, user(UserStatus::Frozen)] {
        let mut m = mocks(ClientType::Web);
        let at = resetd_ports::testkit::t0();
        m.refresh_tokens
            .expect_rotate()
            .returning(move |_, _, _, _, _, _, _| Ok(Rotation::Rotated { family: family(), at }));
        m.users.expect_find().returning(move |_| Ok(Some(changed.clone())));
        m.refresh_tokens.expect_end().times(1).returning(|_| Ok(()));
        let e = m.app().ciam.refresh_grant(&creds(), refresh(&token())).await.unwrap_err();
        assert!(matches!(e, TokenError::InvalidGrant), "{e:?}");
    }
}
