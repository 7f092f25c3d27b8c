//! The operator commands and the first-run bootstrap with mocked ports: each refusal writes
//! nothing, and a second bootstrap finds what the first made instead of making it again.
//!
//! `api_credentials` (`create_api_credentials`), `clients` (`create_client`,
//! `set_client_switches`), `users` (`create_user`, `set_user_status`), `first_run`
//! (`bootstrap`).

mod api_credentials;
mod clients;
mod first_run;
mod users;

use resetd_app::bootstrap::{BootstrapError, ClientPolicy, ClientSwitches, InvalidArgument};
use resetd_domain::policy::PasswordPolicy;
use resetd_domain::user::{UserId, UserStatus};
use resetd_ports::audit::AuditKind;
use resetd_ports::users::User;

use crate::support::{user, Mocks};

#[tokio::test]
async fn bad_input_writes_nothing() {
    let mut m = Mocks::default();
    m.clients.expect_create().times(0);
    m.users.expect_create().times(0);
    m.users.expect_update().times(0);
    let b = m.app().bootstrap;
    let desktop = b.create_client("desktop", "x", ClientPolicy::Default).await;
    assert!(matches!(desktop, Err(BootstrapError::Invalid(InvalidArgument::ClientType(_)))));
    let preset = b.create_client("web", "x", ClientPolicy::Preset("nope".into())).await;
    let unknown = |r: &Result<_, BootstrapError>| matches!(r, Err(BootstrapError::Invalid(InvalidArgument::UnknownPreset { name, .. })) if name == "nope");
    assert!(unknown(&preset), "{preset:?}");
    let over = PasswordPolicy { history_count: 50, ..PasswordPolicy::default() };
    let kept = b.create_client("web", "x", ClientPolicy::Custom(over)).await;
    let above = |r: &Result<_, BootstrapError>| {
        matches!(r, Err(BootstrapError::Invalid(InvalidArgument::HistoryAboveRetention { count: 50, retention: 10 })))
    };
    assert!(above(&kept), "{kept:?}");
    let email = b.create_user("not an email", None, None, None).await;
    assert!(matches!(email, Err(BootstrapError::Invalid(InvalidArgument::Email(_)))));
    let status = b.set_user_status("7", "sleepy").await;
    assert!(matches!(status, Err(BootstrapError::Invalid(InvalidArgument::Status(_)))));
    let id = b.set_user_status("x", "locked").await;
    assert!(matches!(id, Err(BootstrapError::Invalid(InvalidArgument::UserId(_)))));
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
    let ghost = |r: &Result<(), BootstrapError>| matches!(r, Err(BootstrapError::Invalid(InvalidArgument::NoSuchClient(id))) if id.as_str() == "ghost");
    assert!(ghost(&unknown), "{unknown:?}");
}

/// A new user made by the CLI: created with its email credential in the one write (user 7
/// with a phone, else user 1, carrying the email it was given), then its `UserCreated` event
/// by `cli`; no credential is written apart and the user is not read back. The caller says
/// whether the email was free.
fn makes_users(m: &mut Mocks) {
    m.users.expect_create().withf(|new, _| new.email.is_some()).returning(|new, _| {
        let id = UserId::from_i64(if new.phone.is_some() { 7 } else { 1 }).unwrap();
        Ok(User { id, phone: new.phone, locale: new.locale, email: new.email, ..user(UserStatus::Active) })
    });
    m.credentials.expect_create().times(0);
    m.audit.expect_record().withf(|e| e.kind == AuditKind::UserCreated && e.actor == "cli").returning(|_| Ok(()));
    m.users.expect_find().times(0);
}
