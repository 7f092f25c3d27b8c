//! The breached-password check inside every password change (here through a reset link; the
//! CIAM reset and the CLI share the step): after the policy, before any argon2 work, only the
//! SHA-1 prefix sent, and `breached.fail_open` deciding when the service cannot answer.

use resetd_app::redeem::RedeemError;
use resetd_domain::breach::BreachQuery;
use resetd_domain::password::Password;
use resetd_domain::policy::{PasswordPolicy, PolicyViolation};
use resetd_domain::reset_token::{ResetToken, ResetTokenKind};
use resetd_domain::user::{UserId, UserStatus};
use resetd_ports::breached::MockBreachedPasswords;
use resetd_ports::credentials::TokenOwner;
use resetd_ports::policy::StoredPolicy;

use crate::support::{down, some_hash, user, Mocks};

const NEW: &str = "Tr4vel-by-Zeppelin";

/// A live link of an active user 7, the default policy, and a password state to change.
fn linked() -> Mocks {
    let mut m = Mocks::default();
    m.credentials.expect_find_reset_token().returning(|_, _| {
        Ok(Some(TokenOwner { user_id: UserId::from_i64(7).unwrap(), kind: ResetTokenKind::PasswordReset }))
    });
    m.users.expect_find().returning(|_| Ok(Some(user(UserStatus::Active))));
    m.password_state(Some(some_hash()));
    m
}

/// The range API's own example: SHA-1("password") is 5BAA6 + this suffix.
const PASSWORD_SUFFIX: &str = "1E4C9B93F3F0682250B6CF8331B7EE68FD8";

/// The password goes through: hashed once, changed once, the generation published.
fn changed_once(m: &mut Mocks) {
    m.hasher.expect_matches_any().returning(|_, _| Ok(false));
    m.hasher.expect_hash().times(1).returning(|_| Ok(some_hash()));
    m.credentials.expect_change_password().times(1).returning(|_| Ok(4));
    m.access_tokens.expect_publish_generation().returning(|_, _, _| Ok(()));
}

fn nothing_hashed_or_changed(m: &mut Mocks) {
    m.hasher.expect_matches_any().times(0);
    m.hasher.expect_hash().times(0);
    m.credentials.expect_change_password().times(0);
}

fn redeem(m: Mocks, password: &str) -> impl std::future::Future<Output = Result<(), RedeemError>> {
    let app = m.app();
    let token = ResetToken::generate(&mut rand::rngs::OsRng);
    let password = Password::new(password.to_owned()).unwrap();
    async move { app.redeem.redeem(token.expose(), password).await }
}

#[tokio::test]
async fn a_breached_password_is_refused_before_any_argon2_work_and_only_the_prefix_is_sent() {
    let mut m = linked();
    // "password" breaks the default policy too; a policy that allows it shows the breach alone.
    m.policies.expect_default_policy().returning(|| {
        let lax = PasswordPolicy {
            min_length: 1,
            require_numeric: false,
            require_upperlower: false,
            block_common: false,
            reject_email_local_part: false,
            ..PasswordPolicy::default()
        };
        Ok(Some(StoredPolicy { policy: lax, updated_at: resetd_ports::testkit::t0() }))
    });
    let mut range = MockBreachedPasswords::new();
    range
        .expect_range()
        .withf(|prefix| prefix == "5BAA6")
        .times(1)
        .returning(|_| Ok(vec!["0018A45C4D1DEF81644B54AB7F969B88D65".into(), PASSWORD_SUFFIX.into()]));
    m.breached = Some(range);
    nothing_hashed_or_changed(&mut m);
    let r = redeem(m, "password").await;
    assert!(matches!(r, Err(RedeemError::Policy(ref v)) if v == &[PolicyViolation::Breached]), "{r:?}");
}

#[tokio::test]
async fn a_password_the_range_does_not_hold_is_changed() {
    let mut m = linked();
    m.no_default_policy();
    let prefix = BreachQuery::of(&Password::new(NEW.into()).unwrap()).prefix().to_owned();
    let mut range = MockBreachedPasswords::new();
    range
        .expect_range()
        .withf(move |p| p == prefix)
        .times(1)
        .returning(|_| Ok(vec!["0018A45C4D1DEF81644B54AB7F969B88D65".into()]));
    m.breached = Some(range);
    changed_once(&mut m);
    redeem(m, NEW).await.unwrap();
}

#[tokio::test]
async fn an_unreachable_service_lets_the_password_through_when_failing_open() {
    let mut m = linked();
    m.no_default_policy();
    let mut range = MockBreachedPasswords::new();
    range.expect_range().times(1).returning(|_| Err(down()));
    m.breached = Some(range);
    changed_once(&mut m);
    redeem(m, NEW).await.unwrap();
}

#[tokio::test]
async fn an_unreachable_service_is_unavailable_when_failing_closed_and_nothing_is_hashed() {
    let mut m = linked();
    m.no_default_policy();
    let mut range = MockBreachedPasswords::new();
    range.expect_range().times(1).returning(|_| Err(down()));
    m.breached = Some(range);
    nothing_hashed_or_changed(&mut m);
    let app = m.app_with(|s| s.breached_fail_open = false);
    let token = ResetToken::generate(&mut rand::rngs::OsRng);
    let r = app.redeem.redeem(token.expose(), Password::new(NEW.into()).unwrap()).await;
    assert!(matches!(r, Err(RedeemError::Unavailable(_))), "{r:?}");
}

#[tokio::test]
async fn a_policy_without_the_check_or_a_password_the_policy_refuses_asks_nothing() {
    let mut m = linked();
    m.policies.expect_default_policy().returning(|| {
        let unchecked = PasswordPolicy { check_breached: false, ..PasswordPolicy::default() };
        Ok(Some(StoredPolicy { policy: unchecked, updated_at: resetd_ports::testkit::t0() }))
    });
    let mut range = MockBreachedPasswords::new();
    range.expect_range().times(0);
    m.breached = Some(range);
    changed_once(&mut m);
    redeem(m, NEW).await.unwrap();

    let mut m = linked();
    m.no_default_policy();
    let mut range = MockBreachedPasswords::new();
    range.expect_range().times(0);
    m.breached = Some(range);
    nothing_hashed_or_changed(&mut m);
    let r = redeem(m, "short").await;
    assert!(matches!(r, Err(RedeemError::Policy(ref v)) if !v.contains(&PolicyViolation::Breached)), "{r:?}");
}
