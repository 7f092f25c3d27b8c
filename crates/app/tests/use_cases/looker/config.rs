//! `password_config`, `update_password_config` and `force_reset_all`: admins only, checked
//! before anything is read; a patch out of range writes nothing.

use mockall::Sequence;
use resetd_app::looker::config::{ForceResetAllError, GetPasswordConfigError, UpdatePasswordConfigError};
use resetd_app::looker::PasswordConfigPatch;
use resetd_domain::policy::{PasswordPolicy, PolicyConfigError};
use resetd_ports::audit::AuditKind;
use resetd_ports::policy::StoredPolicy;

use super::{admin, plain};
use crate::support::{broken, down, Mocks};

fn stored() -> StoredPolicy {
    StoredPolicy {
        policy: PasswordPolicy { min_length: 10, require_special: true, ..PasswordPolicy::default() },
        updated_at: resetd_ports::testkit::t0() - chrono::Duration::days(1),
    }
}

#[tokio::test]
async fn the_password_config_is_the_stored_policy_or_else_the_configured_one() {
    let mut m = Mocks::default();
    m.policies.expect_default_policy().times(1).returning(|| Ok(Some(stored())));
    let config = m.app().looker.password_config(admin()).await.unwrap();
    assert_eq!((config.policy, config.policy_enabled_at), (stored().policy, Some(stored().updated_at)));
    let mut m = Mocks::default();
    m.no_default_policy();
    let config = m.app().looker.password_config(admin()).await.unwrap();
    assert_eq!((config.policy, config.policy_enabled_at), (PasswordPolicy::default(), None));
}

#[tokio::test]
async fn a_plain_user_reads_no_password_config() {
    let mut m = Mocks::default();
    m.policies.expect_default_policy().times(0);
    let r = m.app().looker.password_config(plain(7)).await;
    assert!(matches!(r, Err(GetPasswordConfigError::Forbidden)), "{r:?}");
}

#[tokio::test]
async fn a_password_config_store_failure_is_unavailable_or_unexpected() {
    let mut m = Mocks::default();
    m.policies.expect_default_policy().times(1).returning(|| Err(down()));
    let r = m.app().looker.password_config(admin()).await;
    assert!(matches!(r, Err(GetPasswordConfigError::Unavailable(_))), "{r:?}");
    let mut m = Mocks::default();
    m.policies.expect_default_policy().times(1).returning(|| Err(broken()));
    let r = m.app().looker.password_config(admin()).await;
    assert!(matches!(r, Err(GetPasswordConfigError::Unexpected(_))), "{r:?}");
}

#[tokio::test]
async fn a_plain_user_changes_no_password_config_and_reads_nothing() {
    let mut m = Mocks::default();
    m.policies.expect_default_policy().times(0);
    m.policies.expect_set_default_policy().times(0);
    m.audit.expect_record().times(0);
    let patch = PasswordConfigPatch { min_length: Some(12), ..PasswordConfigPatch::default() };
    let r = m.app().looker.update_password_config(plain(7), patch).await;
    assert!(matches!(r, Err(UpdatePasswordConfigError::Forbidden)), "{r:?}");
}

#[tokio::test]
async fn every_field_out_of_range_is_named_in_order_and_nothing_is_written() {
    let mut m = Mocks::default();
    m.no_default_policy();
    m.policies.expect_set_default_policy().times(0);
    m.audit.expect_record().times(0);
    let patch = PasswordConfigPatch {
        min_length: Some(6),
        expiration_duration_days: Some(Some(400)),
        ..PasswordConfigPatch::default()
    };
    let r = m.app().looker.update_password_config(admin(), patch).await;
    assert!(
        matches!(&r, Err(UpdatePasswordConfigError::Invalid(e))
            if *e == [PolicyConfigError::MinLength { min: 7, max: 100 }, PolicyConfigError::ExpirationDays]),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_password_config_change_store_failure_is_unavailable_or_unexpected() {
    let patch = || PasswordConfigPatch { min_length: Some(12), ..PasswordConfigPatch::default() };
    let mut m = Mocks::default();
    m.policies.expect_default_policy().times(1).returning(|| Err(down()));
    m.policies.expect_set_default_policy().times(0);
    let r = m.app().looker.update_password_config(admin(), patch()).await;
    assert!(matches!(r, Err(UpdatePasswordConfigError::Unavailable(_))), "{r:?}");
    let mut m = Mocks::default();
    m.no_default_policy();
    m.policies.expect_set_default_policy().times(1).returning(|_, _| Err(broken()));
    m.audit.expect_record().times(0);
    let r = m.app().looker.update_password_config(admin(), patch()).await;
    assert!(matches!(r, Err(UpdatePasswordConfigError::Unexpected(_))), "{r:?}");
}

#[tokio::test]
async fn a_password_config_change_merges_into_the_stored_policy_and_is_audited() {
    let mut m = Mocks::default();
    let mut seq = Sequence::new();
    m.policies.expect_default_policy().times(1).in_sequence(&mut seq).returning(|| Ok(Some(stored())));
    let want = PasswordPolicy {
        min_length: 12,
        require_special: true,
        expiration_enabled: true,
        expiration_duration_days: Some(90),
        ..PasswordPolicy::default()
    };
    let written = want.clone();
    m.policies
        .expect_set_default_policy()
        .withf(move |p, now| *p == written && *now == resetd_ports::testkit::t0())
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(()));
    m.audit
        .expect_record()
        .withf(|e| e.kind == AuditKind::PolicyChanged && e.actor == "api-user:1")
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(()));
    let patch = PasswordConfigPatch {
        min_length: Some(12),
        expiration_enabled: Some(true),
        expiration_duration_days: Some(Some(90)),
        ..PasswordConfigPatch::default()
    };
    let config = m.app().looker.update_password_config(admin(), patch).await.unwrap();
    assert_eq!((config.policy, config.policy_enabled_at), (want, Some(resetd_ports::testkit::t0())));
}

#[tokio::test]
async fn a_plain_user_forces_no_reset() {
    let mut m = Mocks::default();
    m.credentials.expect_force_reset_all().times(0);
    m.audit.expect_record().times(0);
    let r = m.app().looker.force_reset_all(plain(7)).await;
    assert!(matches!(r, Err(ForceResetAllError::Forbidden)), "{r:?}");
}

#[tokio::test]
async fn a_forced_reset_store_failure_is_unavailable_or_unexpected_and_not_audited() {
    let mut m = Mocks::default();
    m.credentials.expect_force_reset_all().times(1).returning(|| Err(down()));
    m.audit.expect_record().times(0);
    let r = m.app().looker.force_reset_all(admin()).await;
    assert!(matches!(r, Err(ForceResetAllError::Unavailable(_))), "{r:?}");
    let mut m = Mocks::default();
    m.credentials.expect_force_reset_all().times(1).returning(|| Err(broken()));
    m.audit.expect_record().times(0);
    let r = m.app().looker.force_reset_all(admin()).await;
    assert!(matches!(r, Err(ForceResetAllError::Unexpected(_))), "{r:?}");
}

#[tokio::test]
async fn forcing_a_reset_for_everyone_is_audited_with_how_many_were_marked() {
    let mut m = Mocks::default();
    m.credentials.expect_force_reset_all().times(1).returning(|| Ok(42));
    m.audit
        .expect_record()
        .withf(|e| e.kind == AuditKind::ForcedResetAll && e.detail == "42" && e.user_id.is_none())
        .times(1)
        .returning(|_| Ok(()));
    assert_eq!(m.app().looker.force_reset_all(admin()).await.unwrap(), 42);
}
