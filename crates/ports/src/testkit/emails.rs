//! Contract of a user's email written with the user: [`UserStore::create`] and
//! [`UserStore::update`] write the email credential in the same step as the rest, so an
//! address that belongs to someone else writes nothing at all.

use std::sync::Arc;

use resetd_domain::reset_token::{ResetToken, ResetTokenKind};
use resetd_domain::user::{Email, UserStatus};

use super::{key, t0, unique};
use crate::credentials::CredentialStore;
use crate::users::{NewUser, UserPatch, UserStore, UserWriteError};

fn email(name: &str) -> Email {
    Email::parse(&format!("{}@example.com", unique(name))).unwrap()
}

/// [`UserStore`] with [`CredentialStore`]: emails created and changed with their user.
pub async fn emails_written_with_their_user(users: Arc<dyn UserStore>, creds: Arc<dyn CredentialStore>) {
    let now = t0();
    let first = email("first");
    let ada = users.create(NewUser { email: Some(first.clone()), ..NewUser::default() }, now).await.unwrap();
    assert_eq!(ada.email.as_ref(), Some(&first), "the new user carries its email");
    assert_eq!(creds.get(ada.id).await.unwrap().map(|c| c.email), Some(first.clone()));
    assert_eq!(users.find_by_email(&first).await.unwrap().map(|u| u.id), Some(ada.id));

    // A taken email creates no user at all.
    let before = users.list(0, 10_000).await.unwrap().len();
    let named = NewUser { first_name: Some("Twin".into()), email: Some(first.clone()), ..NewUser::default() };
    let twin = users.create(named, now).await;
    assert!(matches!(twin, Err(UserWriteError::EmailTaken)), "a taken email: {twin:?}");
    assert_eq!(users.list(0, 10_000).await.unwrap().len(), before, "no user without its email is left behind");

    // A taken email in a patch writes none of the patch.
    let bob = users.create(NewUser { email: Some(email("bob")), ..NewUser::default() }, now).await.unwrap();
    let patch = UserPatch {
        first_name: Some(Some("Changed".into())),
        status: Some(UserStatus::Disabled),
        email: Some(first.clone()),
        ..UserPatch::default()
    };
    let clash = users.update(bob.id, patch).await;
    assert!(matches!(clash, Err(UserWriteError::EmailTaken)), "{clash:?}");
    assert_eq!(users.find(bob.id).await.unwrap(), Some(bob.clone()), "the refused patch wrote nothing");

    // A new address ends the outstanding link; the user and its credential change together.
    let token = ResetToken::generate(&mut rand::rngs::OsRng).digest(&key());
    creds
        .issue_reset_token(
            bob.id,
            &super::sealed(&key(), token),
            ResetTokenKind::PasswordReset,
            None,
            now,
            &super::issued(bob.id, now),
        )
        .await
        .unwrap();
    let moved = email("moved");
    let patch = UserPatch { last_name: Some(Some("Moved".into())), email: Some(moved.clone()), ..UserPatch::default() };
    let updated = users.update(bob.id, patch).await.unwrap().unwrap();
    assert_eq!((updated.last_name.as_deref(), updated.email.as_ref()), (Some("Moved"), Some(&moved)));
    assert_eq!(creds.find_reset_token(&token, now).await.unwrap(), None, "a new address ends the link");

    // A user without a credential gets one from a patch.
    let carol = users.create(NewUser::default(), now).await.unwrap();
    let own = email("carol");
    let updated = users.update(carol.id, UserPatch { email: Some(own.clone()), ..UserPatch::default() }).await;
    assert_eq!(updated.unwrap().unwrap().email.as_ref(), Some(&own));
    assert_eq!(creds.get(carol.id).await.unwrap().map(|c| c.email), Some(own));
}
