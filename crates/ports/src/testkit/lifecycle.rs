//! Contract of what a change ends: a password change, a status that may not sign in, or a
//! new address ends the user's outstanding link, and password and status changes bump the
//! credential generation in the same write.

use std::sync::Arc;

use resetd_domain::reset_token::{ResetToken, ResetTokenKind};
use resetd_domain::user::{Email, UserId, UserStatus};

use chrono::{DateTime, Utc};
use resetd_domain::locale::Language;
use resetd_domain::otp::Recipient;

use super::{key, stores::hashes, t0, unique};
use crate::audit::{AuditEvent, AuditKind, AuditLog};
use crate::credentials::{ChangePassword, ChangePasswordError, CredentialStore};
use crate::outbox::{Outbox, OutboxItem, PendingNotice};
use crate::users::{NewUser, UserPatch, UserStore, UserWriteError};

/// The audit event of a password change of `user`.
pub(crate) fn audit_of(user: UserId, at: DateTime<Utc>) -> AuditEvent {
    AuditEvent {
        at,
        kind: AuditKind::PasswordChanged,
        user_id: Some(user),
        actor: "test".into(),
        detail: String::new(),
    }
}

/// [`CredentialStore`] and [`UserStore`] together: every change that ends credentials.
pub async fn outstanding_links_die(users: Arc<dyn UserStore>, creds: Arc<dyn CredentialStore>) {
    let (now, key) = (t0(), key());
    let email = || Email::parse(&format!("{}@example.com", unique("link"))).unwrap();
    let user = users.create(NewUser::default(), now).await.unwrap();
    creds.create(user.id, &email(), now).await.unwrap();
    let generation = |users: Arc<dyn UserStore>| async move { users.find(user.id).await.unwrap().unwrap().generation };
    let issue = || {
        let (creds, digest) = (Arc::clone(&creds), ResetToken::generate(&mut rand::rngs::OsRng).digest(&key));
        let token = super::sealed(&key, digest);
        async move {
            creds
                .issue_reset_token(
                    user.id,
                    &token,
                    ResetTokenKind::PasswordReset,
                    None,
                    now,
                    &super::issued(user.id, now),
                )
                .await
                .unwrap();
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
        expected_generation: g0,
        history_limit: 1,
        consume: None,
        now,
        audit: audit_of(user.id, now),
        notice: None,
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

    // A change is made for the user as read: a status change since (which bumps the
    // generation, not the password version) stops it, so a flow that checked the status
    // cannot set the password of an account disabled meanwhile.
    let read = users.find(user.id).await.unwrap().unwrap();
    let state = creds.password_state(user.id, 1).await.unwrap().unwrap();
    users.update(user.id, UserPatch { status: Some(UserStatus::Disabled), ..UserPatch::default() }).await.unwrap();
    let change = ChangePassword {
        user_id: user.id,
        new_hash: hashes(2)[1].clone(),
        expected_version: state.version,
        expected_generation: read.generation,
        history_limit: 1,
        consume: None,
        now,
        audit: audit_of(user.id, now),
        notice: None,
    };
    let stale = creds.change_password(change).await;
    assert!(matches!(stale, Err(ChangePasswordError::VersionMoved)), "a status change since the read: {stale:?}");
    let after = creds.password_state(user.id, 1).await.unwrap().unwrap();
    assert_eq!(after, state, "nothing was written");
}

/// The rows of `user` due at `now` (claiming them).
async fn claim_of(outbox: &Arc<dyn Outbox>, user: UserId, now: DateTime<Utc>) -> Vec<OutboxItem> {
    let lease = std::time::Duration::from_secs(30);
    outbox.claim_due(now, lease, 1000).await.unwrap().into_iter().filter(|i| i.user_id == user).collect()
}

/// What a change writes with itself: its audit event and its outbox row (the generation to
/// publish, the notice), in the same step or not at all; the outbox leases, retries and
/// clears rows.
pub async fn changes_write_their_records(
    users: Arc<dyn UserStore>,
    creds: Arc<dyn CredentialStore>,
    audit: Arc<dyn AuditLog>,
    outbox: Arc<dyn Outbox>,
) {
    let now = t0();
    let user = users.create(NewUser::default(), now).await.unwrap();
    let email = Email::parse(&format!("{}@example.com", unique("owed"))).unwrap();
    creds.create(user.id, &email, now).await.unwrap();
    let notice = PendingNotice { to: Recipient::Email(email), language: Language::default(), name: Some("Ada".into()) };
    let h = hashes(2);
    let version = creds.password_state(user.id, 1).await.unwrap().unwrap().version;
    let read = users.find(user.id).await.unwrap().unwrap().generation;
    let change = |hash: usize, version| ChangePassword {
        user_id: user.id,
        new_hash: h[hash].clone(),
        expected_version: version,
        expected_generation: read,
        history_limit: 1,
        consume: None,
        now,
        audit: audit_of(user.id, now),
        notice: Some(notice.clone()),
    };
    let generation = creds.change_password(change(0, version)).await.unwrap();
    assert_eq!(generation, users.find(user.id).await.unwrap().unwrap().generation, "the answer is the new generation");
    let stale = creds.change_password(change(1, version)).await;
    assert!(matches!(stale, Err(ChangePasswordError::VersionMoved)), "{stale:?}");
    let events = audit.for_user(user.id, 10).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.kind == AuditKind::PasswordChanged).count(), 1, "one change, one event");

    let owed = claim_of(&outbox, user.id, now).await;
    assert_eq!(owed.len(), 1, "one change, one row: {owed:?}");
    assert_eq!((owed[0].generation, owed[0].notice.as_ref(), owed[0].attempts), (Some(generation), Some(&notice), 0));
    assert!(claim_of(&outbox, user.id, now).await.is_empty(), "a claimed row is leased");
    outbox.retry(owed[0].id, now).await.unwrap();
    let again = claim_of(&outbox, user.id, now).await;
    assert_eq!((again.len(), again[0].attempts), (1, 1), "a retried row comes back, one attempt older");
    outbox.done(owed[0].id).await.unwrap();
    let later = now + chrono::Duration::minutes(5);
    assert!(claim_of(&outbox, user.id, later).await.is_empty(), "a delivered row is gone");

    // A reset link is issued with its audit event, in one step; no credential, no link, no event.
    let link = super::sealed(&key(), ResetToken::generate(&mut rand::rngs::OsRng).digest(&key()));
    let event = super::issued(user.id, later);
    let issued = creds.issue_reset_token(user.id, &link, ResetTokenKind::PasswordReset, None, later, &event).await;
    assert!(issued.unwrap().is_some());
    let bare = users.create(NewUser::default(), now).await.unwrap();
    let event = super::issued(bare.id, later);
    let none = creds.issue_reset_token(bare.id, &link, ResetTokenKind::PasswordReset, None, later, &event).await;
    assert_eq!(none.unwrap(), None);
    let issued_events = |id| {
        let audit = Arc::clone(&audit);
        async move {
            audit.for_user(id, 100).await.unwrap().iter().filter(|e| e.kind == AuditKind::ResetTokenIssued).count()
        }
    };
    assert_eq!((issued_events(user.id).await, issued_events(bare.id).await), (1, 0), "the link's event, and only its");

    // A patch's audit events are written with it, and a refused patch writes none.
    let event = |kind| AuditEvent { at: later, kind, user_id: Some(user.id), actor: "test".into(), detail: "x".into() };
    let counted = |kind| {
        let audit = Arc::clone(&audit);
        async move { audit.for_user(user.id, 100).await.unwrap().iter().filter(|e| e.kind == kind).count() }
    };
    let other = users.create(NewUser { phone: Some(super::stores::phone()), ..NewUser::default() }, now).await.unwrap();
    let taken = UserPatch {
        phone: Some(other.phone.clone()),
        status: Some(UserStatus::Frozen),
        audit: vec![event(AuditKind::UserStatusChanged)],
        ..UserPatch::default()
    };
    assert!(matches!(users.update(user.id, taken).await, Err(UserWriteError::PhoneTaken)));
    assert_eq!(counted(AuditKind::UserStatusChanged).await, 0, "a refused patch writes no event");
    let lock = UserPatch {
        status: Some(UserStatus::Locked),
        audit: vec![event(AuditKind::UserStatusChanged), event(AuditKind::EmailCredentialChanged)],
        ..UserPatch::default()
    };
    users.update(user.id, lock).await.unwrap();
    assert_eq!(counted(AuditKind::UserStatusChanged).await, 1, "the patch's event, with it");
    assert_eq!(counted(AuditKind::EmailCredentialChanged).await, 1);
    let locked = users.find(user.id).await.unwrap().unwrap().generation;
    let owed = claim_of(&outbox, user.id, later).await;
    assert_eq!(owed.iter().map(|i| (i.generation, i.notice.is_some())).collect::<Vec<_>>(), [(Some(locked), false)]);
    outbox.done(owed[0].id).await.unwrap();
    users.update(user.id, UserPatch { last_name: Some(Some("L".into())), ..UserPatch::default() }).await.unwrap();
    assert!(claim_of(&outbox, user.id, later).await.is_empty(), "a change of name owes nothing");
    assert!(users.delete(user.id, &super::deleted(user.id, later)).await.unwrap());
    let events = audit.for_user(user.id, 100).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.kind == AuditKind::UserDeleted).count(), 1, "the delete's event, with it");
    let owed = claim_of(&outbox, user.id, later).await;
    assert_eq!(
        owed.iter().map(|i| i.generation).collect::<Vec<_>>(),
        [Some(i64::MAX)],
        "a deleted user's sessions end"
    );
}
