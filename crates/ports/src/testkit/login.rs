//! Contracts of login sessions (refresh-token families) and the login lockout.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng as _;
use resetd_domain::client::ClientId;
use resetd_domain::keyed::{Digest, TokenKey};
use resetd_domain::login::{FamilyId, RefreshToken};
use resetd_domain::user::UserId;

use super::{key, t0, Advance};
use crate::login::{Family, FamilyKey, LockoutRule, LockoutSubject, LoginLockout, RefreshTokenStore, Rotation};

const GRACE: Duration = Duration::from_secs(10);
const HOUR: Duration = Duration::from_secs(3600);

/// A unique user, so suites sharing a backend (one Redis) never meet.
fn user() -> UserId {
    UserId::from_i64(rand::rngs::OsRng.gen_range(1..i64::MAX / 2)).unwrap()
}

/// `s` seconds after [`t0`].
fn at(s: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::seconds(s)
}

/// One login of a fresh user: where it lives, and the digests of its refresh tokens, each
/// the successor of the one before.
struct Login {
    key: FamilyKey,
    t: Vec<Digest>,
}

fn login(key: &TokenKey) -> Login {
    let (user_id, family) = (user(), FamilyId::generate(&mut rand::rngs::OsRng));
    let mut token = RefreshToken::generate(user_id, family, &mut rand::rngs::OsRng);
    let mut t = Vec::new();
    for _ in 0..5 {
        t.push(token.digest(key));
        token = token.successor(key);
    }
    Login { key: FamilyKey { user_id, family }, t }
}

/// Presents token `from` of `l` for `client` at `now`, to be replaced by token `to`.
async fn rotate(
    store: &dyn RefreshTokenStore,
    l: &Login,
    client: &ClientId,
    (from, to): (usize, usize),
    now: DateTime<Utc>,
) -> Rotation {
    store.rotate(&l.key, client, &l.t[from], &l.t[to], now, GRACE, HOUR).await.unwrap()
}

/// [`RefreshTokenStore`]: start and find, rotation, retries within the grace window, reuse
/// that ends the session, other clients and unknown sessions that change nothing, end, time
/// to live renewed by rotation, and one winner among concurrent refreshes.
pub async fn refresh_token_store(store: Arc<dyn RefreshTokenStore>, advance: Advance) {
    let key = key();
    let (web, other) = (ClientId::parse("web-app").unwrap(), ClientId::parse("other-app").unwrap());
    let family =
        Family { client_id: web.clone(), generation: 7, auth_time: t0() + chrono::Duration::milliseconds(250) };
    let rotated = |s| Rotation::Rotated { family: family.clone(), at: at(s) };
    let retried = |s| Rotation::Retried { family: family.clone(), at: at(s) };
    let s = store.as_ref();

    let a = login(&key);
    assert_eq!(s.find(&a.key).await.unwrap(), None, "no session before it starts");
    s.start(&a.key, &family, &a.t[0], HOUR).await.unwrap();
    assert_eq!(s.find(&a.key).await.unwrap(), Some(family.clone()), "a session reads as started, to the millisecond");
    assert_eq!(rotate(s, &a, &web, (0, 1), at(1)).await, rotated(1), "the current token rotates");
    assert_eq!(rotate(s, &a, &web, (0, 1), at(5)).await, retried(1), "the same refresh again, within grace");
    assert_eq!(rotate(s, &a, &web, (0, 1), at(11)).await, retried(1), "the grace window includes its end");
    assert_eq!(s.find(&a.key).await.unwrap(), Some(family.clone()), "a retry changes nothing");
    assert_eq!(rotate(s, &a, &web, (1, 2), at(20)).await, rotated(20), "the new current token rotates after retries");
    assert_eq!(rotate(s, &a, &web, (1, 2), at(21)).await, retried(20), "the previous token is the last one rotated");
    assert_eq!(rotate(s, &a, &other, (2, 3), at(22)).await, Rotation::Unknown, "another client's refresh");
    assert_eq!(rotate(s, &a, &other, (0, 1), at(22)).await, Rotation::Unknown, "another client cannot end it");
    assert_eq!(s.find(&a.key).await.unwrap(), Some(family.clone()), "another client changes nothing");
    assert_eq!(rotate(s, &a, &web, (2, 3), at(30)).await, rotated(30), "the right client still rotates");
    assert_eq!(rotate(s, &a, &web, (0, 1), at(31)).await, Rotation::Reused, "an older token is a replay");
    assert_eq!(s.find(&a.key).await.unwrap(), None, "a replay ends the session");
    assert_eq!(rotate(s, &a, &web, (3, 4), at(32)).await, Rotation::Unknown, "and its current token with it");

    let b = login(&key);
    s.start(&b.key, &family, &b.t[0], HOUR).await.unwrap();
    assert_eq!(rotate(s, &b, &web, (0, 1), at(1)).await, rotated(1));
    let late = at(1) + chrono::Duration::from_std(GRACE).unwrap() + chrono::Duration::milliseconds(1);
    assert_eq!(rotate(s, &b, &web, (0, 1), late).await, Rotation::Reused, "the previous token after grace");
    assert_eq!(s.find(&b.key).await.unwrap(), None);
    assert_eq!(rotate(s, &b, &web, (1, 2), at(2)).await, Rotation::Unknown, "the current token died with it");

    let c = login(&key);
    s.start(&c.key, &family, &c.t[0], HOUR).await.unwrap();
    assert_eq!(rotate(s, &c, &web, (0, 1), at(1)).await, rotated(1));
    assert_eq!(rotate(s, &c, &web, (0, 2), at(2)).await, Rotation::Reused, "the previous token into another successor");
    assert_eq!(s.find(&c.key).await.unwrap(), None);

    let never = login(&key);
    assert_eq!(rotate(s, &never, &web, (0, 1), at(1)).await, Rotation::Unknown, "a session never started");
    let d = login(&key);
    s.start(&d.key, &family, &d.t[0], HOUR).await.unwrap();
    let elsewhere = Login { key: FamilyKey { user_id: user(), ..d.key }, t: d.t.clone() };
    assert_eq!(rotate(s, &elsewhere, &web, (0, 1), at(1)).await, Rotation::Unknown, "a session is its user's only");
    assert_eq!(s.find(&elsewhere.key).await.unwrap(), None);
    s.end(&d.key).await.unwrap();
    s.end(&d.key).await.unwrap();
    s.end(&never.key).await.unwrap();
    assert_eq!(s.find(&d.key).await.unwrap(), None, "an ended session is gone");
    assert_eq!(rotate(s, &d, &web, (0, 1), at(1)).await, Rotation::Unknown, "its token refreshes nothing");

    refresh_races(&store, &key, &family).await;
    refresh_ttl(s, &key, &family, advance).await;
}

/// Concurrent refreshes with one token: exactly one rotates, the others are its retries.
async fn refresh_races(store: &Arc<dyn RefreshTokenStore>, key: &TokenKey, family: &Family) {
    let r = login(key);
    store.start(&r.key, family, &r.t[0], HOUR).await.unwrap();
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (store, key, client, presented, next) =
                (Arc::clone(store), r.key, family.client_id.clone(), r.t[0], r.t[1]);
            tokio::spawn(
                async move { store.rotate(&key, &client, &presented, &next, at(1), GRACE, HOUR).await.unwrap() },
            )
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    let first = |r: &Rotation| matches!(r, Rotation::Rotated { .. });
    assert_eq!(answers.iter().filter(|r| first(r)).count(), 1, "exactly one concurrent refresh rotates: {answers:?}");
    let retry = Rotation::Retried { family: family.clone(), at: at(1) };
    assert!(answers.iter().all(|r| first(r) || *r == retry), "the others are its retries: {answers:?}");
}

/// Sessions die when not rotated within their time to live; a rotation renews it.
async fn refresh_ttl(s: &dyn RefreshTokenStore, key: &TokenKey, family: &Family, advance: Advance) {
    let (idle, busy) = (login(key), login(key));
    let (second, step) = (Duration::from_secs(1), Duration::from_millis(700));
    s.start(&idle.key, family, &idle.t[0], second).await.unwrap();
    s.start(&busy.key, family, &busy.t[0], second).await.unwrap();
    advance(step).await;
    let renewed = s.rotate(&busy.key, &family.client_id, &busy.t[0], &busy.t[1], at(1), GRACE, second).await;
    assert!(matches!(renewed.unwrap(), Rotation::Rotated { .. }));
    advance(step).await;
    assert_eq!(s.find(&idle.key).await.unwrap(), None, "a session not rotated within its time to live is gone");
    assert_eq!(rotate(s, &idle, &family.client_id, (0, 1), at(2)).await, Rotation::Unknown);
    assert_eq!(s.find(&busy.key).await.unwrap(), Some(family.clone()), "a rotation renews the time to live");
    advance(step).await;
    assert_eq!(s.find(&busy.key).await.unwrap(), None, "for one time to live");
}

/// [`LoginLockout`]: the threshold, locks that end, windows counted from the first failure,
/// clear, unknown names counted apart from users, a threshold of 0, and atomic counting.
pub async fn login_lockout(lockout: Arc<dyn LoginLockout>, advance: Advance) {
    let l = lockout.as_ref();
    let minute = Duration::from_secs(60);
    let short_lock = LockoutRule { threshold: 3, window: minute, lock_for: Duration::from_secs(1) };
    let short_window = LockoutRule { threshold: 3, window: Duration::from_secs(1), lock_for: minute };
    let (ada, bob, cyd, eve) = (user(), user(), user(), user());
    let [ada, bob, cyd, eve] = [ada, bob, cyd, eve].map(LockoutSubject::User);
    let nobody = LockoutSubject::Unknown(Digest::from_bytes(rand::rngs::OsRng.gen()));
    let fail = |subject, rule| async move { l.record_failure(&subject, &rule).await.unwrap() };
    let locked = |subject| async move { l.is_locked(&subject).await.unwrap() };

    assert!(!locked(ada).await, "nobody is locked before failing");
    assert!(!fail(ada, short_lock).await && !fail(ada, short_lock).await, "two failures of three do not lock");
    assert!(!locked(ada).await);
    assert!(fail(ada, short_lock).await, "the third failure locks, and says so");
    assert!(locked(ada).await, "a lock holds");
    assert!(!locked(cyd).await && !locked(nobody).await, "users and unknown names are apart");

    assert!(!fail(nobody, short_lock).await && !fail(nobody, short_lock).await);
    assert!(fail(nobody, short_lock).await, "an unknown name counts the same way");
    assert!(locked(nobody).await && !locked(cyd).await);
    l.clear(&nobody).await.unwrap();
    assert!(!locked(nobody).await, "clear ends a lock");

    assert!(!fail(cyd, short_lock).await && !fail(cyd, short_lock).await);
    l.clear(&cyd).await.unwrap();
    assert!(!fail(cyd, short_lock).await && !fail(cyd, short_lock).await, "clear forgets the failures");
    assert!(fail(cyd, short_lock).await);
    l.clear(&cyd).await.unwrap();
    l.clear(&cyd).await.unwrap();
    assert!(!locked(cyd).await);

    let off = LockoutRule { threshold: 0, ..short_lock };
    for _ in 0..5 {
        assert!(!fail(eve, off).await, "a threshold of 0 never locks");
    }
    assert!(!locked(eve).await);
    assert!(!fail(eve, short_lock).await && !fail(eve, short_lock).await, "a threshold of 0 counted nothing");

    assert!(!fail(bob, short_window).await);
    advance(Duration::from_millis(600)).await;
    assert!(locked(ada).await, "a lock lasts its time");
    assert!(!fail(bob, short_window).await);
    advance(Duration::from_millis(600)).await;
    assert!(!locked(ada).await, "a lock ends after its time");
    assert!(!fail(ada, short_lock).await && !fail(ada, short_lock).await, "the count started again at the lock");
    assert!(fail(ada, short_lock).await);
    assert!(!fail(bob, short_window).await, "failures older than the window are forgotten");
    assert!(!fail(bob, short_window).await, "the window is counted from its first failure");
    assert!(fail(bob, short_window).await, "and a new window counts to the threshold");

    lockout_races(&lockout).await;
}

/// Concurrent failures of one subject are each counted once.
async fn lockout_races(lockout: &Arc<dyn LoginLockout>) {
    let subject = LockoutSubject::User(user());
    let rule = LockoutRule { threshold: 5, window: Duration::from_secs(60), lock_for: Duration::from_secs(60) };
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let lockout = Arc::clone(lockout);
            tokio::spawn(async move { lockout.record_failure(&subject, &rule).await.unwrap() })
        })
        .collect();
    let mut unlocked = 0;
    for t in tasks {
        if !t.await.unwrap() {
            unlocked += 1;
        }
    }
    assert_eq!(unlocked, 4, "exactly the failures before the threshold answer unlocked under concurrency");
    assert!(lockout.is_locked(&subject).await.unwrap());
}
