//! The ports' contract suite against a real Redis (`RESETD_TEST_REDIS_URL` when it answers,
//! else a throwaway one from resetd-test-support), one unique key prefix per test.

use std::sync::Arc;
use std::time::{Duration, Instant};

use resetd_adapters_redis::RedisStore;
use resetd_ports::testkit;
use resetd_ports::StoreError;

fn url() -> String {
    resetd_test_support::shared_redis_url()
}

async fn store() -> Arc<RedisStore> {
    let store = RedisStore::connect(&url(), &testkit::unique("test:")).await.expect("a Redis to test against");
    Arc::new(store)
}

#[tokio::test]
async fn otp_store_contract() {
    testkit::otp_store(store().await).await;
}

#[tokio::test]
async fn rate_limiter_contract() {
    testkit::rate_limiter(store().await, testkit::sleeping()).await;
}

#[tokio::test]
async fn access_token_store_contract() {
    testkit::access_token_store(store().await, testkit::sleeping()).await;
}

#[tokio::test]
async fn ping_answers() {
    store().await.ping().await.unwrap();
}

#[tokio::test]
async fn an_unreachable_redis_is_unavailable_quickly() {
    let started = Instant::now();
    let result = RedisStore::connect("redis://127.0.0.1:1", "test:").await;
    assert!(matches!(result, Err(StoreError::Unavailable(_))), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn a_prefix_with_braces_is_refused() {
    assert!(matches!(RedisStore::connect(&url(), "test:{x}:").await, Err(StoreError::Unexpected(_))));
}

#[tokio::test]
async fn a_redis_that_never_answers_is_unavailable_quickly() {
    // Accepts connections and then says nothing, like a hung server behind a live socket.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let held = tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            sockets.push(socket);
        }
    });
    let started = Instant::now();
    let result = RedisStore::connect(&format!("redis://{addr}"), "test:").await;
    assert!(matches!(result, Err(StoreError::Unavailable(_))), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    held.abort();
}

/// A Redis that restarted (or ran `SCRIPT FLUSH`) no longer knows the rate-limit script: the
/// pipeline is answered with `NOSCRIPT`, the script is loaded, and every hit counts once (the
/// undo of a refused request too).
#[tokio::test]
async fn rate_limits_count_once_when_redis_forgot_the_script() {
    use resetd_ports::rate_limit::{RateCheck, RateDecision, RateLimiter as _};

    let store = store().await;
    let mut raw = redis::Client::open(url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let window = Duration::from_secs(60);
    let checks = [RateCheck { key: "a".into(), limit: 2, window }, RateCheck { key: "b".into(), limit: 5, window }];
    let mut answers = Vec::new();
    for _ in 0..3 {
        let _: () = redis::cmd("SCRIPT").arg("FLUSH").query_async(&mut raw).await.unwrap();
        answers.push(store.hit_all(&checks).await.unwrap());
    }
    assert_eq!(answers[0], [RateDecision::Allowed, RateDecision::Allowed]);
    assert_eq!(answers[1], [RateDecision::Allowed, RateDecision::Allowed]);
    assert!(matches!(answers[2][0], RateDecision::Limited { .. }), "{:?}", answers[2]);
    assert_eq!(answers[2][1], RateDecision::Allowed);
    assert_eq!(store.count("a").await.unwrap(), 2, "a refused hit counts nothing");
    assert_eq!(store.count("b").await.unwrap(), 2, "a request refused by one limit counts on none");
}

#[tokio::test]
async fn channel_health_contract() {
    testkit::channel_health(store().await, testkit::sleeping()).await;
}

#[tokio::test]
async fn refresh_token_store_contract() {
    testkit::refresh_token_store(store().await, testkit::sleeping()).await;
}

#[tokio::test]
async fn login_lockout_contract() {
    testkit::login_lockout(store().await, testkit::sleeping()).await;
}

/// A master that `min-replicas-to-write` cuts off (it has no replica here) refuses writes with
/// `NOREPLICAS`: an outage (503), not a fault (500).
#[tokio::test]
async fn a_master_without_enough_replicas_is_unavailable() {
    use resetd_ports::rate_limit::RateLimiter as _;

    let server = resetd_test_support::Redis::start();
    let mut raw = redis::Client::open(server.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let store = RedisStore::connect(&server.url(), &testkit::unique("cut:")).await.unwrap();
    assert!(store.hit("k", 5, Duration::from_secs(60)).await.is_ok());
    let _: () =
        redis::cmd("CONFIG").arg("SET").arg("min-replicas-to-write").arg(1).query_async(&mut raw).await.unwrap();
    let answer = store.hit("k", 5, Duration::from_secs(60)).await;
    assert!(matches!(answer, Err(StoreError::Unavailable(_))), "{answer:?}");
    let _: () =
        redis::cmd("CONFIG").arg("SET").arg("min-replicas-to-write").arg(0).query_async(&mut raw).await.unwrap();
    assert!(store.hit("k", 5, Duration::from_secs(60)).await.is_ok(), "and it recovers");
}

/// `WAIT` blocks the connection it is sent on. A write waiting for a replica that never
/// acknowledges (this server has none) must not hold up the other calls of the process: they
/// answer while it waits, and it still answers 503 when its wait times out.
#[tokio::test(flavor = "multi_thread")]
async fn a_write_waiting_for_replicas_holds_up_no_other_call() {
    use resetd_adapters_redis::RedisTopology;
    use resetd_ports::rate_limit::RateLimiter as _;

    let topology = RedisTopology {
        wait_replicas: 1,
        wait_timeout: Duration::from_millis(900),
        ..RedisTopology::standalone(&url())
    };
    let store = Arc::new(RedisStore::connect_to(&topology, &testkit::unique("lane:")).await.unwrap());
    let waiting = {
        let store = store.clone();
        tokio::spawn(async move { store.hit("guarded", 5, Duration::from_secs(60)).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let asked = Instant::now();
    assert_eq!(store.count("other").await.unwrap(), 0);
    let took = asked.elapsed();
    let answer = waiting.await.unwrap();
    assert!(matches!(answer, Err(StoreError::Unavailable(_))), "no replica acknowledged it: {answer:?}");
    assert!(took < Duration::from_millis(400), "a read waited {took:?} behind a WAIT");
}

/// A claim whose write no replica acknowledged is given back: the request answers 503, and the
/// right code still works rather than staying held until it expires.
#[tokio::test]
async fn a_claim_no_replica_acknowledged_is_given_back() {
    use resetd_adapters_redis::RedisTopology;
    use resetd_ports::otp::{ClaimOutcome, OtpStore as _};

    let prefix = testkit::unique("claim:");
    let topology = RedisTopology {
        wait_replicas: 1,
        wait_timeout: Duration::from_millis(50),
        ..RedisTopology::standalone(&url())
    };
    let waiting = RedisStore::connect_to(&topology, &prefix).await.unwrap();
    let plain = RedisStore::connect(&url(), &prefix).await.unwrap();
    let (sent, now) = (testkit::sent_otp(5), testkit::t0());
    let c = &sent.challenge;
    plain.create(c, now).await.unwrap();
    let answer = waiting.verify_and_claim(&c.token, &sent.right, &c.binding, now).await;
    assert!(matches!(answer, Err(StoreError::Unavailable(_))), "this server has no replica: {answer:?}");
    let again = plain.verify_and_claim(&c.token, &sent.right, &c.binding, now).await.unwrap();
    assert!(matches!(again, ClaimOutcome::Claimed(_)), "the claim was given back: {again:?}");
}
