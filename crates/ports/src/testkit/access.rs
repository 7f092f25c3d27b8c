//! Contracts of API credentials, access tokens and rate limits.

use std::sync::Arc;
use std::time::Duration;

use resetd_domain::access::{AccessToken, ApiSecret, Principal, Role};
use resetd_domain::client::ClientId;

use super::{key, t0, unique, Advance};
use crate::access::{AccessTokenStore, ApiCredential, ApiCredentialStore, ApiCredentialWriteError, SessionKey};
use crate::rate_limit::{RateDecision, RateLimiter};
use crate::users::{NewUser, UserStore};

/// [`ApiCredentialStore`]: create, find, duplicate ids, unknown users.
pub async fn api_credential_store(store: Arc<dyn ApiCredentialStore>, users: Arc<dyn UserStore>) {
    let key = key();
    let user = users.create(NewUser::default(), t0()).await.unwrap();
    let cred = ApiCredential {
        client_id: ClientId::parse(&unique("api")).unwrap(),
        secret: super::sealed(&key, ApiSecret::generate(&mut rand::rngs::OsRng).digest(&key)),
        user_id: user.id,
        role: Role::Admin,
        created_at: t0(),
    };
    store.create(cred.clone()).await.unwrap();
    assert_eq!(store.find(&cred.client_id).await.unwrap(), Some(cred.clone()));
    assert!(matches!(store.create(cred.clone()).await, Err(ApiCredentialWriteError::Duplicate)));
    let ghost = resetd_domain::user::UserId::from_i64(i64::MAX - 3).unwrap();
    let orphan = ApiCredential { client_id: ClientId::parse(&unique("api")).unwrap(), user_id: ghost, ..cred.clone() };
    assert!(matches!(store.create(orphan).await, Err(ApiCredentialWriteError::UserNotFound)));
    let second = ApiCredential { client_id: ClientId::parse(&unique("api")).unwrap(), role: Role::User, ..cred };
    store.create(second.clone()).await.unwrap();
    assert_eq!(store.find(&second.client_id).await.unwrap().map(|c| c.role), Some(Role::User));
    assert!(users.delete(user.id, &super::deleted(user.id, super::t0())).await.unwrap());
    assert_eq!(store.find(&second.client_id).await.unwrap(), None, "credentials go with their user");
}

/// [`AccessTokenStore`]: issue, resolve, revoke one, generations that end older sessions
/// (and never go back), expiry.
pub async fn access_token_store(store: Arc<dyn AccessTokenStore>, advance: Advance) {
    use rand::Rng as _;
    let key = key();
    // Unique users, so suites sharing a backend (one Redis) never meet.
    let id = || resetd_domain::user::UserId::from_i64(rand::rngs::OsRng.gen_range(1..i64::MAX / 2)).unwrap();
    let (ada, bob) = (Principal { user_id: id(), role: Role::Admin }, Principal { user_id: id(), role: Role::User });
    let session = |p: Principal| SessionKey {
        user_id: p.user_id,
        token: AccessToken::generate(&mut rand::rngs::OsRng).digest(&key),
    };
    let (a1, a2, b1, short) = (session(ada), session(ada), session(bob), session(bob));
    let hour = Duration::from_secs(3600);
    store.issue(&a1, ada.role, 4, hour).await.unwrap();
    store.issue(&a2, ada.role, 4, hour).await.unwrap();
    store.issue(&b1, bob.role, 0, hour).await.unwrap();
    assert_eq!(store.resolve(&a1).await.unwrap(), Some(ada));
    assert_eq!(store.resolve(&b1).await.unwrap(), Some(bob));
    assert_eq!(store.resolve(&session(ada)).await.unwrap(), None, "an unknown token");
    let elsewhere = SessionKey { user_id: bob.user_id, ..a2 };
    assert_eq!(store.resolve(&elsewhere).await.unwrap(), None, "a token is its user's only");
    store.revoke(&a1).await.unwrap();
    store.revoke(&a1).await.unwrap();
    assert_eq!(store.resolve(&a1).await.unwrap(), None);
    assert_eq!(store.resolve(&a2).await.unwrap(), Some(ada));

    // A published generation ends every older session of its user, and no one else's.
    store.publish_generation(ada.user_id, 5, hour).await.unwrap();
    assert_eq!(store.resolve(&a2).await.unwrap(), None, "a newer generation ends older sessions");
    assert_eq!(store.resolve(&b1).await.unwrap(), Some(bob), "and no one else's");
    store.publish_generation(ada.user_id, 4, hour).await.unwrap();
    assert_eq!(store.resolve(&a2).await.unwrap(), None, "publishing never goes back");
    let a3 = session(ada);
    store.issue(&a3, ada.role, 5, hour).await.unwrap();
    assert_eq!(store.resolve(&a3).await.unwrap(), Some(ada), "a session of the published generation lives");
    let stale = session(ada);
    store.issue(&stale, ada.role, 4, hour).await.unwrap();
    assert_eq!(store.resolve(&stale).await.unwrap(), None, "one issued under an older generation is born dead");
    let newer = session(ada);
    store.issue(&newer, ada.role, 6, hour).await.unwrap();
    assert_eq!(store.resolve(&newer).await.unwrap(), Some(ada), "a newer generation at issue is published");
    assert_eq!(store.resolve(&a3).await.unwrap(), None, "which ends the older ones");
    store.publish_generation(ada.user_id, i64::MAX, hour).await.unwrap();
    assert_eq!(store.resolve(&newer).await.unwrap(), None, "the last generation ends everything");

    store.issue(&short, bob.role, 0, Duration::from_secs(1)).await.unwrap();
    assert_eq!(store.resolve(&short).await.unwrap(), Some(bob));
    advance(Duration::from_millis(1500)).await;
    assert_eq!(store.resolve(&short).await.unwrap(), None, "sessions expire with their TTL");
    assert_eq!(store.resolve(&b1).await.unwrap(), Some(bob), "the generation outlives the short session");
}

/// [`RateLimiter`]: limits per key, windows that end, concurrency-safe counting.
pub async fn rate_limiter(limiter: Arc<dyn RateLimiter>, advance: Advance) {
    let key = unique("rl:");
    let other = unique("rl:");
    let window = Duration::from_secs(1);
    assert_eq!(limiter.count(&key).await.unwrap(), 0, "no window yet");
    for _ in 0..3 {
        assert_eq!(limiter.hit(&key, 3, window).await.unwrap(), RateDecision::Allowed);
    }
    assert_eq!(limiter.count(&key).await.unwrap(), 3, "count reads without counting");
    assert_eq!(limiter.count(&key).await.unwrap(), 3);
    for _ in 0..5 {
        match limiter.hit(&key, 3, window).await.unwrap() {
            RateDecision::Limited { retry_after } => {
                assert!(retry_after <= window && retry_after > Duration::ZERO, "{retry_after:?}")
            }
            RateDecision::Allowed => panic!("the fourth hit of three is limited"),
        }
    }
    assert_eq!(limiter.count(&key).await.unwrap(), 3, "a refused hit counts nothing");
    assert_eq!(limiter.hit(&other, 3, window).await.unwrap(), RateDecision::Allowed, "keys are independent");
    advance(Duration::from_millis(1100)).await;
    assert_eq!(
        limiter.hit(&key, 3, window).await.unwrap(),
        RateDecision::Allowed,
        "a new window starts after the old one ends"
    );

    let (a, b) = (unique("rl:"), unique("rl:"));
    let checks = [
        crate::rate_limit::RateCheck { key: a.clone(), limit: 2, window: Duration::from_secs(60) },
        crate::rate_limit::RateCheck { key: b.clone(), limit: 1, window: Duration::from_secs(60) },
    ];
    assert_eq!(limiter.hit_all(&checks).await.unwrap(), [RateDecision::Allowed, RateDecision::Allowed]);
    let second = limiter.hit_all(&checks).await.unwrap();
    assert_eq!(second[0], RateDecision::Allowed);
    assert!(matches!(second[1], RateDecision::Limited { .. }), "hit_all answers per check, in order: {second:?}");
    assert_eq!(
        (limiter.count(&a).await.unwrap(), limiter.count(&b).await.unwrap()),
        (1, 1),
        "a request that any limit refuses counts on no limit"
    );
    let c = unique("rl:");
    let later = [
        crate::rate_limit::RateCheck { key: c.clone(), limit: 5, window: Duration::from_secs(60) },
        crate::rate_limit::RateCheck { key: b.clone(), limit: 1, window: Duration::from_secs(60) },
    ];
    for _ in 0..3 {
        let refused = limiter.hit_all(&later).await.unwrap();
        assert_eq!(refused[0], RateDecision::Allowed, "the first limit alone would allow it: {refused:?}");
        assert!(matches!(refused[1], RateDecision::Limited { .. }), "{refused:?}");
    }
    assert_eq!(limiter.count(&c).await.unwrap(), 0, "a refusal by a later limit undoes the earlier counts");
    let twice = unique("rl:");
    let same = crate::rate_limit::RateCheck { key: twice.clone(), limit: 1, window: Duration::from_secs(60) };
    let answers = limiter.hit_all(&[same.clone(), same]).await.unwrap();
    assert_eq!(answers[0], RateDecision::Allowed, "{answers:?}");
    assert!(matches!(answers[1], RateDecision::Limited { .. }), "a key named twice counts twice: {answers:?}");
    assert_eq!(limiter.count(&twice).await.unwrap(), 0, "and the refusal counts on neither");
    limiter.clear(&b).await.unwrap();
    assert_eq!(limiter.count(&b).await.unwrap(), 0, "a cleared window counts nothing");
    assert_eq!(limiter.hit(&b, 1, Duration::from_secs(60)).await.unwrap(), RateDecision::Allowed, "and starts again");
    assert_eq!(limiter.hit_all(&[]).await.unwrap(), []);

    let burst = unique("rl:");
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let (limiter, burst) = (Arc::clone(&limiter), burst.clone());
            tokio::spawn(async move { limiter.hit(&burst, 10, Duration::from_secs(60)).await.unwrap() })
        })
        .collect();
    let mut allowed = 0;
    for t in tasks {
        if t.await.unwrap() == RateDecision::Allowed {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 10, "exactly the limit is allowed under concurrency");
}

/// [`crate::health::ChannelHealth`]: marks per channel, cleared by a good delivery, ended by
/// their time.
pub async fn channel_health(health: Arc<dyn crate::health::ChannelHealth>, advance: Advance) {
    use resetd_domain::otp::Channel;
    assert!(!health.is_failing(Channel::Email).await.unwrap(), "healthy until told otherwise");
    health.mark_failing(Channel::Email, Duration::from_secs(60)).await.unwrap();
    assert!(health.is_failing(Channel::Email).await.unwrap());
    assert!(!health.is_failing(Channel::Sms).await.unwrap(), "channels are apart");
    health.mark_working(Channel::Email).await.unwrap();
    assert!(!health.is_failing(Channel::Email).await.unwrap(), "a good delivery clears the mark");
    health.mark_failing(Channel::Sms, Duration::from_secs(1)).await.unwrap();
    assert!(health.is_failing(Channel::Sms).await.unwrap());
    advance(Duration::from_millis(1500)).await;
    assert!(!health.is_failing(Channel::Sms).await.unwrap(), "a mark ends with its time");
}
