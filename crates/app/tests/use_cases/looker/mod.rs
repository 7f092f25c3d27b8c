//! The Looker use cases with mocked ports: each branch, and what it must *not* call before the
//! caller has proved itself (no credential read before the per-address limit, no session
//! issued for bad credentials, no store write for a caller without rights, no link issued or
//! sent before the caller, the user and the caller's budget have passed).
//!
//! One file per resource, like `app::looker`: `session` (login, sessions, logout), `users`
//! and `user_updates`, `credentials` (the email credential), `links` (its reset links),
//! `config` (`password_config`).

mod config;
mod credentials;
mod links;
mod session;
mod user_updates;
mod users;

use resetd_domain::access::{ApiSecret, Principal, Role};
use resetd_domain::client::ClientId;
use resetd_domain::keyring::KeyRing;
use resetd_domain::user::{Email, UserId, UserStatus};
use resetd_ports::access::ApiCredential;
use resetd_ports::credentials::EmailCredential;

use crate::support::{key, user, Mocks};

fn admin() -> Principal {
    Principal { user_id: UserId::from_i64(1).unwrap(), role: Role::Admin }
}

fn plain(id: i64) -> Principal {
    Principal { user_id: UserId::from_i64(id).unwrap(), role: Role::User }
}

fn seven() -> UserId {
    UserId::from_i64(7).unwrap()
}

fn credential(secret: &ApiSecret) -> ApiCredential {
    ApiCredential {
        client_id: ClientId::parse("api").unwrap(),
        secret: KeyRing::single(key()).seal(|k| secret.digest(k)),
        user_id: seven(),
        role: Role::Admin,
        created_at: resetd_ports::testkit::t0(),
    }
}

fn email_credential(id: UserId) -> EmailCredential {
    EmailCredential {
        user_id: id,
        email: Email::parse("ada@example.com").unwrap(),
        created_at: resetd_ports::testkit::t0(),
        logged_in_at: None,
        forced_reset: false,
        reset: None,
    }
}

/// User 7 is there (active, with a password), however often it is read.
fn seven_is_there(m: &mut Mocks) {
    m.users.expect_find().returning(|_| Ok(Some(user(UserStatus::Active))));
}

/// No user answers `find`.
fn nobody_is_there(m: &mut Mocks) {
    m.users.expect_find().returning(|_| Ok(None));
}
