//! The ports' contract suite on a real three-master Redis Cluster and on a master with a
//! replica behind three sentinels, each started here from the installed `redis-server`.
//!
//! Redis Cluster refuses (`CROSSSLOT`) any script or multi-key command whose keys hash to more
//! than one slot, and a pipeline goes to one node: the suite passing here is the proof that
//! every operation stays within one slot.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use resetd_adapters_redis::{RedisMode, RedisStore, RedisTopology};
use resetd_ports::rate_limit::{RateCheck, RateDecision, RateLimiter as _};
use resetd_ports::testkit;
use resetd_ports::StoreError;
use resetd_test_support::redis_topology::{RedisCluster, RedisSentinel};

/// One cluster for this test binary (its tests use distinct key prefixes).
static CLUSTER: LazyLock<RedisCluster> = LazyLock::new(RedisCluster::start);

fn cluster() -> RedisTopology {
    RedisTopology { mode: RedisMode::Cluster, url: CLUSTER.seeds(), ..RedisTopology::default() }
}

async fn on_cluster() -> Arc<RedisStore> {
    Arc::new(RedisStore::connect_to(&cluster(), &testkit::unique("topo:")).await.expect("the test cluster"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_contract_suite_holds_on_redis_cluster() {
    testkit::otp_store(on_cluster().await).await;
    testkit::rate_limiter(on_cluster().await, testkit::sleeping()).await;
    testkit::access_token_store(on_cluster().await, testkit::sleeping()).await;
    testkit::channel_health(on_cluster().await, testkit::sleeping()).await;
    testkit::refresh_token_store(on_cluster().await, testkit::sleeping()).await;
    testkit::login_lockout(on_cluster().await, testkit::sleeping()).await;
    on_cluster().await.ping().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn limits_of_one_request_spread_over_the_nodes_count_together() {
    let store = on_cluster().await;
    let window = Duration::from_secs(60);
    // Enough keys that they land on every node.
    let checks: Vec<RateCheck> = (0..24).map(|i| RateCheck { key: format!("k{i}"), limit: 2, window }).collect();
    let slots: std::collections::BTreeSet<String> = checks
        .iter()
        .map(|c| CLUSTER.cli(CLUSTER.ports()[0], &["CLUSTER", "KEYSLOT", &format!("x:rl:{{{}}}", c.key)]))
        .collect();
    assert!(slots.len() > 3, "the keys spread over slots: {slots:?}");
    for _ in 0..2 {
        assert!(store.hit_all(&checks).await.unwrap().iter().all(|d| *d == RateDecision::Allowed));
    }
    let mut third = checks.clone();
    third.push(RateCheck { key: "fresh".into(), limit: 9, window });
    let answer = store.hit_all(&third).await.unwrap();
    assert!(answer[..24].iter().all(|d| matches!(d, RateDecision::Limited { .. })), "{answer:?}");
    assert_eq!(answer[24], RateDecision::Allowed);
    assert_eq!(store.count("fresh").await.unwrap(), 0, "a refused request counts on none of its keys");
    let per_node: Vec<u64> =
        CLUSTER.ports().iter().map(|p| CLUSTER.cli(*p, &["DBSIZE"]).trim().parse().unwrap_or(0)).collect();
    assert!(per_node.iter().filter(|n| **n > 0).count() >= 2, "keys on several nodes: {per_node:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_master_name_or_an_unreachable_cluster_is_refused_quickly() {
    let nameless = RedisTopology { mode: RedisMode::Sentinel, url: "redis://127.0.0.1:1".into(), ..Default::default() };
    assert!(matches!(RedisStore::connect_to(&nameless, "t:").await, Err(StoreError::Unexpected(_))));
    let started = std::time::Instant::now();
    let dead = RedisTopology { mode: RedisMode::Cluster, url: "redis://127.0.0.1:1".into(), ..Default::default() };
    assert!(RedisStore::connect_to(&dead, "t:").await.is_err());
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
}

fn sentinel(group: &RedisSentinel, wait_replicas: u32) -> RedisTopology {
    RedisTopology {
        mode: RedisMode::Sentinel,
        url: group.sentinel_urls(),
        sentinel_master: group.master_name().to_owned(),
        wait_replicas,
        wait_timeout: Duration::from_millis(300),
        ..RedisTopology::default()
    }
}

/// The suite through the sentinels, every guarantee's write acknowledged by the replica; then
/// a failover: what was acknowledged is still there, and the store follows the new master.
#[tokio::test(flavor = "multi_thread")]
async fn sentinels_lead_to_the_master_and_acknowledged_writes_survive_a_failover() {
    let group = RedisSentinel::start("resetd-contract");
    let topology = sentinel(&group, 1);
    let store = Arc::new(RedisStore::connect_to(&topology, &testkit::unique("sent:")).await.unwrap());
    testkit::otp_store(store.clone()).await;
    testkit::rate_limiter(store.clone(), testkit::sleeping()).await;
    testkit::login_lockout(store.clone(), testkit::sleeping()).await;

    let window = Duration::from_secs(600);
    let spent = |store: Arc<RedisStore>| async move { store.hit("guesses", 3, window).await };
    for _ in 0..3 {
        assert_eq!(spent(store.clone()).await.unwrap(), RateDecision::Allowed);
    }
    let old = group.master_port();
    let new = group.failover();
    assert_ne!(old, new);
    // The first command after the switch may fail (503); the store then finds the new master.
    let mut answer = spent(store.clone()).await;
    for _ in 0..20 {
        if !matches!(answer, Err(StoreError::Unavailable(_))) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        answer = spent(store.clone()).await;
    }
    assert!(matches!(answer, Ok(RateDecision::Limited { .. })), "the three spent guesses survived: {answer:?}");
    store.ping().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_no_replica_acknowledges_is_unavailable() {
    let group = RedisSentinel::start("resetd-wait");
    // One replica exists; waiting for two can never succeed.
    let store = RedisStore::connect_to(&sentinel(&group, 2), &testkit::unique("wait:")).await.unwrap();
    let started = std::time::Instant::now();
    let answer = store.hit("k", 5, Duration::from_secs(60)).await;
    assert!(matches!(answer, Err(StoreError::Unavailable(_))), "{answer:?}");
    assert!(started.elapsed() < Duration::from_secs(1), "within the wait timeout: {:?}", started.elapsed());
}

/// Right after the sentinels switch, the old master still answers as a master for about ten
/// seconds (until they demote it). A revocation written through one store to the new master
/// must be seen at once by another store that was reading the old one: the `+switch-master`
/// announcement moves it, not the demotion.
#[tokio::test(flavor = "multi_thread")]
async fn a_revocation_after_a_switch_is_seen_by_a_store_that_was_on_the_old_master() {
    use resetd_domain::access::Role;
    use resetd_domain::keyed::Digest;
    use resetd_domain::user::UserId;
    use resetd_ports::access::{AccessTokenStore as _, SessionKey};
    use resetd_test_support::redis_topology::cli;

    let group = RedisSentinel::start("resetd-switch");
    let prefix = testkit::unique("switch:");
    let reader = RedisStore::connect_to(&sentinel(&group, 1), &prefix).await.unwrap();
    let session = SessionKey { user_id: UserId::from_i64(7).unwrap(), token: Digest::from_bytes([7; 32]) };
    let day = Duration::from_secs(86_400);
    reader.issue(&session, Role::User, 1, day).await.unwrap();
    assert!(reader.resolve(&session).await.unwrap().is_some(), "the reader is on the old master");

    let old = group.master_port();
    let sentinel_port = group.sentinel_ports()[0];
    assert_eq!(cli(sentinel_port, &["SENTINEL", "FAILOVER", group.master_name()]).trim(), "OK");
    // Every sentinel names the new master (a store connected now finds it); the old one still
    // answers as a master until the sentinels demote it, about ten seconds later.
    let switched = std::time::Instant::now();
    let named = |port: u16| cli(port, &["SENTINEL", "get-master-addr-by-name", group.master_name()]);
    while group.sentinel_ports().iter().any(|p| named(*p).contains(&old.to_string())) {
        assert!(switched.elapsed() < Duration::from_secs(10), "the sentinels did not switch");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let new = group.master_port();
    // Right after a switch the new master has no replica yet (the old one joins it when it is
    // demoted), so a write that waits for one would answer 503 until then: this one does not.
    let writer = RedisStore::connect_to(&sentinel(&group, 0), &prefix).await.unwrap();
    writer.publish_generation(session.user_id, 2, day).await.unwrap();
    let generation = format!("{prefix}{{u:7}}:g");
    assert_eq!(cli(new, &["GET", &generation]).trim(), "2", "the revocation is on the new master");
    assert_eq!(cli(old, &["GET", &generation]).trim(), "1", "and not on the old one");
    let role = cli(old, &["ROLE"]);
    assert!(role.starts_with("master"), "the test ran inside the window: the old master is still one ({role})");
    let mut seen = reader.resolve(&session).await;
    while matches!(seen, Err(StoreError::Unavailable(_))) && switched.elapsed() < Duration::from_secs(8) {
        seen = reader.resolve(&session).await;
    }
    assert!(seen.unwrap().is_none(), "the reader left the old master and sees the revocation");
}

/// A master that crashes, with the first sentinel listed frozen (SIGSTOP: connected, silent):
/// while the others notice and promote the replica, every call fails as an outage (503), never
/// as a fault (500), within its deadline; then the store works on the new master, which it
/// found through the sentinels that answer.
#[tokio::test(flavor = "multi_thread")]
async fn a_crashed_master_is_an_outage_until_the_answering_sentinels_promote_its_replica() {
    let mut group = RedisSentinel::start("resetd-crash");
    let store = RedisStore::connect_to(&sentinel(&group, 0), &testkit::unique("crash:")).await.unwrap();
    let window = Duration::from_secs(600);
    assert_eq!(store.hit("before", 5, window).await.unwrap(), RateDecision::Allowed);

    let old = group.master_port();
    group.freeze_sentinel(0, true);
    group.kill_data_node(old);
    let killed = std::time::Instant::now();
    let mut outages = 0;
    let answer = loop {
        let asked = std::time::Instant::now();
        match store.hit("after", 5, window).await {
            Ok(decision) => break decision,
            Err(StoreError::Unavailable(_)) => outages += 1,
            Err(e) => panic!("a crashed master is an outage, not {e:?}"),
        }
        assert!(asked.elapsed() < Duration::from_millis(2_500), "a call took {:?}", asked.elapsed());
        assert!(killed.elapsed() < Duration::from_secs(30), "the store never found the new master");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(answer, RateDecision::Allowed);
    assert!(outages > 0, "the crash was noticed");
    let new = tokio::task::block_in_place(|| group.wait_promoted(old));
    assert_ne!(new, old);
    store.ping().await.unwrap();
}
