//! Contracts of the durable stores: users, email credentials, clients, policy, audit.

use std::sync::Arc;

use chrono::Duration as Span;
use resetd_domain::password::{Argon2Hasher, Argon2Params, Password, PasswordHash};
use resetd_domain::reset_token::{ResetToken, ResetTokenKind};
use resetd_domain::user::{Email, PhoneNumber, UserId, UserStatus};

use super::{key, t0, unique};
use crate::credentials::{ChangePassword, ChangePasswordError, CredentialStore, CredentialWriteError};
use crate::users::{NewUser, UserPatch, UserStore, UserWriteError};

fn email(local: &str) -> Email {
    Email::parse(&format!("{}@example.com", unique(local))).unwrap()
}

pub(crate) fn phone() -> PhoneNumber {
    use rand::Rng as _;
    PhoneNumber::parse(&format!("+1555{:07}", rand::rngs::OsRng.gen_range(0..10_000_000))).unwrap()
}

/// Distinct, valid PHC strings (cheap argon2 parameters: nothing here measures cost).
pub(crate) fn hashes(n: usize) -> Vec<PasswordHash> {
    let h = Argon2Hasher::new(Argon2Params { memory_kib: 8, iterations: 1, parallelism: 1 }).unwrap();
    (0..n).map(|i| h.hash(&Password::new(format!("password-{i}")).unwrap(), &mut rand::rngs::OsRng).unwrap()).collect()
}

/// [`UserStore`]: create, find by id, email and phone, list, update, delete.
pub async fn user_store(users: Arc<dyn UserStore>, creds: Arc<dyn CredentialStore>) {
    let now = t0();
    let p = phone();
    let ada = users
        .create(
            NewUser {
                first_name: Some("Ada".into()),
                locale: Some("es".into()),
                phone: Some(p.clone()),
                ..NewUser::default()
            },
            now,
        )
        .await
        .unwrap();
    assert_eq!(ada.status, UserStatus::Active);
    assert!(!ada.has_password && ada.email.is_none());
    assert_eq!(ada.created_at, now);
    assert_eq!(users.find(ada.id).await.unwrap(), Some(ada.clone()), "find returns what create returned");
    assert_eq!(users.find_by_phone(&p).await.unwrap().map(|u| u.id), Some(ada.id));

    let disabled = users.create(NewUser { disabled: true, ..NewUser::default() }, now).await.unwrap();
    assert_eq!(disabled.status, UserStatus::Disabled);
    assert_ne!(disabled.id, ada.id, "ids are unique");

    let taken = users.create(NewUser { phone: Some(p.clone()), ..NewUser::default() }, now).await;
    assert!(matches!(taken, Err(UserWriteError::PhoneTaken)), "phone numbers are unique: {taken:?}");

    let e = email("ada");
    creds.create(ada.id, &e, now).await.unwrap();
    let by_email = users.find_by_email(&e).await.unwrap().unwrap();
    assert_eq!((by_email.id, by_email.email), (ada.id, Some(e.clone())), "the user carries its credential's email");
    assert_eq!(users.find_by_email(&email("nobody")).await.unwrap(), None);

    let patched = users
        .update(
            ada.id,
            UserPatch {
                first_name: Some(None),
                last_name: Some(Some("Lovelace".into())),
                status: Some(UserStatus::Frozen),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (patched.first_name, patched.last_name.as_deref(), patched.status),
        (None, Some("Lovelace"), UserStatus::Frozen)
    );
    assert_eq!(patched.locale.as_deref(), Some("es"), "absent fields are left alone");
    let clash = users.update(disabled.id, UserPatch { phone: Some(Some(p.clone())), ..UserPatch::default() }).await;
    assert!(matches!(clash, Err(UserWriteError::PhoneTaken)), "{clash:?}");
    let ghost = UserId::from_i64(i64::MAX - 1).unwrap();
    assert_eq!(users.update(ghost, UserPatch::default()).await.unwrap(), None);

    let listed: Vec<UserId> = users.list(0, 1000).await.unwrap().into_iter().map(|u| u.id).collect();
    assert!(listed.windows(2).all(|w| w[0] < w[1]), "listed in id order");
    assert!(listed.contains(&ada.id) && listed.contains(&disabled.id));
    assert_eq!(users.list(0, 1).await.unwrap().len(), 1, "limit is honoured");

    let gone = super::deleted(ada.id, now);
    assert!(users.delete(ada.id, &gone).await.unwrap());
    assert!(!users.delete(ada.id, &gone).await.unwrap(), "second delete finds nothing");
    assert_eq!(users.find(ada.id).await.unwrap(), None);
    assert_eq!(creds.get(ada.id).await.unwrap(), None, "the credential goes with the user");
    assert_eq!(users.find_by_email(&e).await.unwrap(), None);

    super::emails_written_with_their_user(users, creds).await;
}

/// [`CredentialStore`]: the credential's life, reset tokens (single live token, expiry,
/// single use under concurrency) and the atomic, version-checked password change.
pub async fn credential_store(users: Arc<dyn UserStore>, creds: Arc<dyn CredentialStore>) {
    let now = t0();
    let key = key();
    let ada = users.create(NewUser::default(), now).await.unwrap();
    let bob = users.create(NewUser::default(), now).await.unwrap();
    let ghost = UserId::from_i64(i64::MAX - 2).unwrap();
    let e = email("ada");

    // Life of the credential.
    assert_eq!(creds.get(ada.id).await.unwrap(), None);
    let token = ResetToken::generate(&mut rand::rngs::OsRng).digest(&key);
    assert_eq!(
        creds
            .issue_reset_token(
                ada.id,
                &super::sealed(&key, token),
                ResetTokenKind::PasswordReset,
                None,
                now,
                &super::issued(ada.id, now)
            )
            .await
            .unwrap(),
        None,
        "no credential, no token"
    );
    let c = creds.create(ada.id, &e, now).await.unwrap();
    assert_eq!((c.user_id, &c.email, c.created_at, c.forced_reset, c.reset), (ada.id, &e, now, false, None));
    assert_eq!(c.logged_in_at, None);
    assert!(matches!(creds.create(ada.id, &email("x"), now).await, Err(CredentialWriteError::AlreadyExists)));
    assert!(matches!(creds.create(bob.id, &e, now).await, Err(CredentialWriteError::EmailTaken)));
    assert!(matches!(creds.create(ghost, &email("g"), now).await, Err(CredentialWriteError::UserNotFound)));
    let e2 = email("ada2");
    let updated = creds.update(ada.id, Some(e2.clone()), Some(true)).await.unwrap();
    assert_eq!((&updated.email, updated.forced_reset), (&e2, true));
    assert_eq!(creds.update(ada.id, None, None).await.unwrap().email, e2, "an empty update changes nothing");
    assert!(matches!(creds.update(bob.id, Some(e.clone()), None).await, Err(CredentialWriteError::UserNotFound)));
    creds.create(bob.id, &e, now).await.unwrap();
    assert!(matches!(creds.update(ada.id, Some(e.clone()), None).await, Err(CredentialWriteError::EmailTaken)));
    let mut many = creds.get_many(&[bob.id, ghost, ada.id]).await.unwrap();
    many.sort_by_key(|c| c.user_id);
    let each = vec![creds.get(ada.id).await.unwrap().unwrap(), creds.get(bob.id).await.unwrap().unwrap()];
    assert_eq!(many, each, "one read, the same credentials as one by one; none for a user without");
    assert_eq!(creds.get_many(&[]).await.unwrap(), vec![]);

    // Tokens: one live token per user, expiry at the instant, unknown digests find nothing.
    let first = ResetToken::generate(&mut rand::rngs::OsRng).digest(&key);
    let second = ResetToken::generate(&mut rand::rngs::OsRng).digest(&key);
    let expiry = now + Span::minutes(60);
    let answered = creds
        .issue_reset_token(
            ada.id,
            &super::sealed(&key, first),
            ResetTokenKind::PasswordReset,
            None,
            now,
            &super::issued(ada.id, now),
        )
        .await
        .unwrap();
    assert_eq!(answered, creds.get(ada.id).await.unwrap(), "the answer is the credential as stored");
    let issued = answered.and_then(|c| c.reset).map(|r| (r.kind, r.issued_at, r.expires_at));
    assert_eq!(issued, Some((ResetTokenKind::PasswordReset, now, None)));
    assert_eq!(
        creds.find_reset_token(&first, now).await.unwrap().map(|o| (o.user_id, o.kind)),
        Some((ada.id, ResetTokenKind::PasswordReset))
    );
    let answered = creds
        .issue_reset_token(
            ada.id,
            &super::sealed(&key, second),
            ResetTokenKind::AccountSetup,
            Some(expiry),
            now,
            &super::issued(ada.id, now),
        )
        .await;
    assert_eq!(answered.unwrap(), creds.get(ada.id).await.unwrap());
    assert_eq!(creds.find_reset_token(&first, now).await.unwrap(), None, "a new token replaces the old one");
    let owner = creds.find_reset_token(&second, now).await.unwrap().unwrap();
    assert_eq!((owner.user_id, owner.kind), (ada.id, ResetTokenKind::AccountSetup));
    assert!(creds.find_reset_token(&second, expiry - Span::seconds(1)).await.unwrap().is_some());
    assert_eq!(creds.find_reset_token(&second, expiry).await.unwrap(), None, "dead at the expiry instant");
    let issued = creds.get(ada.id).await.unwrap().unwrap().reset.unwrap();
    assert_eq!((issued.kind, issued.issued_at, issued.expires_at), (ResetTokenKind::AccountSetup, now, Some(expiry)));
    assert_eq!(creds.find_reset_token(&token, now).await.unwrap(), None);

    // Password state and the version-checked change.
    let h = hashes(4);
    let state = creds.password_state(ada.id, 5).await.unwrap().unwrap();
    assert_eq!((state.current.as_ref(), state.history.len()), (None, 0));
    assert_eq!(creds.password_state(ghost, 5).await.unwrap(), None);
    let generation = |users: Arc<dyn UserStore>| async move { users.find(ada.id).await.unwrap().unwrap().generation };
    let change = |hash: &PasswordHash, (version, generation): (i64, i64), consume| ChangePassword {
        user_id: ada.id,
        new_hash: hash.clone(),
        expected_version: version,
        expected_generation: generation,
        history_limit: 2,
        consume,
        now,
        audit: super::lifecycle::audit_of(ada.id, now),
        notice: None,
    };
    let read = (state.version, generation(users.clone()).await);
    creds.change_password(change(&h[0], read, None)).await.unwrap();
    let stale = creds.change_password(change(&h[1], read, None)).await;
    assert!(matches!(stale, Err(ChangePasswordError::VersionMoved)), "{stale:?}");
    let s1 = creds.password_state(ada.id, 5).await.unwrap().unwrap();
    assert_eq!((s1.current.as_ref(), s1.history.clone()), (Some(&h[0]), vec![h[0].clone()]));
    assert!(users.find(ada.id).await.unwrap().unwrap().has_password);
    assert!(!creds.get(ada.id).await.unwrap().unwrap().forced_reset, "a change clears the forced-reset flag");
    assert_eq!(creds.find_reset_token(&second, now).await.unwrap(), None, "a change ends the outstanding link");
    creds
        .issue_reset_token(
            ada.id,
            &super::sealed(&key, second),
            ResetTokenKind::AccountSetup,
            Some(expiry),
            now,
            &super::issued(ada.id, now),
        )
        .await
        .unwrap();

    // Consuming a token: someone else's or an expired one writes nothing.
    let bobs = ResetToken::generate(&mut rand::rngs::OsRng).digest(&key);
    creds
        .issue_reset_token(
            bob.id,
            &super::sealed(&key, bobs),
            ResetTokenKind::PasswordReset,
            None,
            now,
            &super::issued(bob.id, now),
        )
        .await
        .unwrap();
    let read = (s1.version, generation(users.clone()).await);
    let foreign = creds.change_password(change(&h[1], read, Some(bobs))).await;
    assert!(matches!(foreign, Err(ChangePasswordError::TokenGone)), "another user's token: {foreign:?}");
    let late = creds.change_password(ChangePassword { now: expiry, ..change(&h[1], read, Some(second)) }).await;
    assert!(matches!(late, Err(ChangePasswordError::TokenGone)), "an expired token: {late:?}");
    assert_eq!(creds.password_state(ada.id, 5).await.unwrap().unwrap(), s1, "nothing was written");

    // Fifty concurrent changes with one token: exactly one wins, one history entry.
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let creds = Arc::clone(&creds);
            let c = change(&h[1], read, Some(second));
            tokio::spawn(async move { creds.change_password(c).await })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => wins += 1,
            Err(ChangePasswordError::TokenGone | ChangePasswordError::VersionMoved) => {}
            Err(other) => panic!("unexpected error under concurrency: {other:?}"),
        }
    }
    assert_eq!(wins, 1, "a reset token is single-use under concurrency");
    let s2 = creds.password_state(ada.id, 5).await.unwrap().unwrap();
    assert_eq!(s2.history, vec![h[1].clone(), h[0].clone()], "one new entry, newest first");
    assert_eq!(creds.find_reset_token(&second, now).await.unwrap(), None, "the token is consumed");
    assert_eq!(creds.get(ada.id).await.unwrap().unwrap().reset, None);

    // History is trimmed to the limit.
    let read = (s2.version, generation(users.clone()).await);
    creds.change_password(change(&h[2], read, None)).await.unwrap();
    let s3 = creds.password_state(ada.id, 5).await.unwrap().unwrap();
    assert_eq!(s3.history, vec![h[2].clone(), h[1].clone()], "trimmed to history_limit = 2");
    assert_eq!(
        creds.password_state(ada.id, 1).await.unwrap().unwrap().history,
        vec![h[2].clone()],
        "reads at most the asked count"
    );
    let missing = creds.change_password(ChangePassword { user_id: ghost, ..change(&h[3], (0, 0), None) }).await;
    assert!(matches!(missing, Err(ChangePasswordError::UserNotFound)), "{missing:?}");

    // A rehash replaces the current hash only, and only if it is still the one read.
    let before = (generation(users.clone()).await, s3.clone());
    assert!(!creds.rehash(ada.id, &h[0], &h[3]).await.unwrap(), "not the current hash");
    assert!(!creds.rehash(ghost, &h[2], &h[3]).await.unwrap(), "no such user");
    assert!(creds.rehash(ada.id, &h[2], &h[3]).await.unwrap());
    let after = creds.password_state(ada.id, 5).await.unwrap().unwrap();
    assert_eq!(after.current.as_ref(), Some(&h[3]));
    assert_eq!((after.version, after.history), (before.1.version, before.1.history), "no version, no history entry");
    assert_eq!(generation(users.clone()).await, before.0, "no generation bump");
    assert!(!creds.rehash(ada.id, &h[2], &h[0]).await.unwrap(), "the compare-and-set saw the new hash");

    // Forced reset for all, then delete.
    assert!(creds.force_reset_all().await.unwrap() >= 2);
    assert!(creds.get(bob.id).await.unwrap().unwrap().forced_reset);
    assert!(creds.delete(bob.id).await.unwrap());
    assert!(!creds.delete(bob.id).await.unwrap());
    assert_eq!(creds.find_reset_token(&bobs, now).await.unwrap(), None, "the token goes with the credential");
    assert_eq!(users.find_by_email(&e).await.unwrap(), None);
    creds.create(bob.id, &e, now).await.unwrap();

    super::outstanding_links_die(users, creds).await;
}
