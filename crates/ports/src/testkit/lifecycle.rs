//! Contract of what a change ends: a password change, a status that may not sign in, or a
//! new address ends the user's outstanding link, and password and status changes bump the
//! credential generation in the same write.

use std::sync::Arc;

use resetd_domain::reset_token::{ResetToken, ResetTokenKind};
use resetd_domain::user::{Email, UserStatus};

use super::{key, stores::hashes, t0, unique};
use crate::credentials::{ChangePassword, CredentialStore};
use crate::users::{NewUser, UserPatch, UserStore};

/// [`CredentialStore`] and [`UserStore`] together: every change that ends credentials.
pub async fn outstanding_links_die(users: Arc<dyn UserStore>, creds: Arc<dyn CredentialStore>) {
    let (now, key) = (t0(), key());
    let email = || Email::parse(&format!("{}@example.com", unique("link"))).unwrap();
    let user = users.create(NewUser::default(), now).await.unwrap();
    creds.create(user.id, &email(), now).await.unwrap();
    let generation = |users: Arc<dyn UserStore>| async move { users.find(user.id).await.unwrap().unwrap().generation };
    let issue = || {
        let (creds, digest) = (Arc::clone(&creds), ResetToken::generate(&mut rand::rngs::OsRng).digest(&key));
        async move {
            creds.issue_reset_token(user.id, &digest, ResetTokenKind::PasswordReset, None, now).await.unwrap();
            assert!(creds.find_reset_token(&digest, now).await.unwrap().is_some());
            digest
        }
    };

    // A password change by any other way (an OTP) ends the outstanding link.
    let g0 = generation(users.clone()).await;
    let link = issue().await;
    let state = creds.password_state(user.id, 1).await.unwrap().unwrap();
    let h = hashes(1);
    let change = ChangePassword {
        user_id: user.id,
        new_hash: h[0].clone(),
        expected_version: state.version,
        history_limit: 1,
        consume: None,
        now,
    };
    creds.change_password(change).await.unwrap();
    assert_eq!(creds.find_reset_token(&link, now).await.unwrap(), None, "a changed password ends the link");
    let g1 = generation(users.clone()).await;
    assert!(g1 > g0, "a password change bumps the generation ({g0} → {g1})");

    // A status that may not sign in ends it, and it stays dead after re-enabling.
    for status in [UserStatus::Disabled, UserStatus::Locked, UserStatus::Frozen] {
        let link = issue().await;
        let before = generation(users.clone()).await;
        users.update(user.id, UserPatch { status: Some(status), ..UserPatch::default() }).await.unwrap();
        assert_eq!(creds.find_reset_token(&link, now).await.unwrap(), None, "{status:?} ends the link");
        assert!(generation(users.clone()).await > before, "{status:?} bumps the generation");
        users.update(user.id, UserPatch { status: Some(UserStatus::Active), ..UserPatch::default() }).await.unwrap();
        assert_eq!(creds.find_reset_token(&link, now).await.unwrap(), None, "re-enabling revives nothing");
    }
    let link = issue().await;
    let same = generation(users.clone()).await;
    users.update(user.id, UserPatch { first_name: Some(Some("Ada".into())), ..UserPatch::default() }).await.unwrap();
    assert!(creds.find_reset_token(&link, now).await.unwrap().is_some(), "a name change ends nothing");
    assert_eq!(generation(users.clone()).await, same, "nor bumps the generation");

    // A new address ends the link mailed to the old one; the same address does not.
    let current = creds.get(user.id).await.unwrap().unwrap().email;
    creds.update(user.id, Some(current), None).await.unwrap();
    assert!(creds.find_reset_token(&link, now).await.unwrap().is_some(), "the same address ends nothing");
    creds.update(user.id, Some(email()), None).await.unwrap();
    assert_eq!(creds.find_reset_token(&link, now).await.unwrap(), None, "a new address ends the link");
}
