//! A Redis Cluster that loses a node, and a Sentinel group that loses its data nodes: every
//! process answers 503 in each API's dialect, within the backend budget, `/readyz` says why,
//! and all of it recovers when the nodes are back, without a restart.

use std::time::{Duration, Instant};

use resetd_test_support::redis_topology::{RedisCluster, RedisSentinel};
use serde_json::{json, Value};

use super::{Stack, Topology};

/// The status and body of `GET /readyz` on process `i`.
async fn ready(stack: &Stack, i: usize) -> (u16, Value) {
    let r = stack.http.get(format!("{}/readyz", stack.base(i))).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lost_cluster_node_answers_503_in_both_dialects_and_recovers_without_a_restart() {
    let mut cluster = RedisCluster::start();
    let stack = Stack::start(Topology::Cluster(cluster.seeds())).await;
    let stack = &stack;
    let send = |i: usize, n: usize| {
        let body = json!({"usage": "reset_password", "phone_number": format!("+86136000002{n:02}")});
        async move { stack.ciam(i, "/otp/send", &body).await }
    };
    assert_eq!(send(0, 0).await.0, 200);

    cluster.kill_node(0);
    // /readyz pings every master the cluster lists, so it notices at once.
    assert_eq!(ready(stack, 1).await.0, 503);
    // After the node timeout (2 s) the others refuse every slot, not only the lost node's.
    let started = Instant::now();
    let live = cluster.ports()[1];
    while !cluster.cli(live, &["CLUSTER", "INFO"]).contains("cluster_state:fail") {
        assert!(started.elapsed() < Duration::from_secs(10), "the cluster never noticed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, body) = ready(stack, 1).await;
    assert_ne!(body["checks"]["redis"], "ok", "{body}");
    assert_eq!(body["checks"]["postgres"], "ok", "{body}");
    for i in 0..3 {
        let asked = Instant::now();
        let (status, body) = send(i, i + 1).await;
        assert_eq!((status, body["error"].as_str()), (503, Some("temporarily_unavailable")), "CIAM on {i}: {body}");
        assert!(asked.elapsed() < Duration::from_secs(2), "within the budget: {:?}", asked.elapsed());
        let asked = Instant::now();
        let r = stack.http.get(format!("{}/api/4.0/user", stack.base(i))).bearer_auth(&stack.admin).send().await;
        let r = r.unwrap();
        assert_eq!(r.status(), 503, "Looker on {i}");
        let body: Value = r.json().await.unwrap();
        assert!(body["message"].is_string() && body["documentation_url"].is_string(), "Looker's shape: {body}");
        assert!(asked.elapsed() < Duration::from_secs(2), "within the budget: {:?}", asked.elapsed());
    }

    tokio::task::block_in_place(|| cluster.restart_node(0));
    let started = Instant::now();
    for i in 0..3 {
        while ready(stack, i).await.0 != 200 {
            assert!(started.elapsed() < Duration::from_secs(10), "process {i} did not recover");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let (status, body) = send(i, 10 + i).await;
        assert_eq!(status, 200, "process {i} serves again: {body}");
    }
}

/// A Sentinel group that loses both data nodes: every process answers 503 in each API's
/// dialect within the backend budget, `/readyz` names Redis, and when the nodes are back all of
/// it recovers, without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lost_sentinel_group_answers_503_in_both_dialects_and_recovers_without_a_restart() {
    let mut group = RedisSentinel::start("resetd-outage");
    let stack = Stack::start(Topology::sentinel(&group)).await;
    let stack = &stack;
    let send = |i: usize, n: usize| {
        let body = json!({"usage": "reset_password", "phone_number": format!("+86136000003{n:02}")});
        async move { stack.ciam(i, "/otp/send", &body).await }
    };
    assert_eq!(send(0, 0).await.0, 200);

    let data = group.redis_ports();
    for port in &data {
        group.kill_data_node(*port);
    }
    for i in 0..3 {
        let (status, body) = ready(stack, i).await;
        assert_eq!(status, 503, "{body}");
        assert_ne!(body["checks"]["redis"], "ok", "{body}");
        assert_eq!(body["checks"]["postgres"], "ok", "{body}");
        let asked = Instant::now();
        let (status, body) = send(i, i + 1).await;
        assert_eq!((status, body["error"].as_str()), (503, Some("temporarily_unavailable")), "CIAM on {i}: {body}");
        assert!(asked.elapsed() < Duration::from_secs(2), "within the budget: {:?}", asked.elapsed());
        let asked = Instant::now();
        let r = stack.http.get(format!("{}/api/4.0/user", stack.base(i))).bearer_auth(&stack.admin).send().await;
        let r = r.unwrap();
        assert_eq!(r.status(), 503, "Looker on {i}");
        let body: Value = r.json().await.unwrap();
        assert!(body["message"].is_string() && body["documentation_url"].is_string(), "Looker's shape: {body}");
        assert!(asked.elapsed() < Duration::from_secs(2), "within the budget: {:?}", asked.elapsed());
    }

    tokio::task::block_in_place(|| {
        for port in &data {
            group.restart_data_node(*port);
        }
    });
    let started = Instant::now();
    for i in 0..3 {
        while ready(stack, i).await.0 != 200 {
            assert!(started.elapsed() < Duration::from_secs(15), "process {i} did not recover");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let (status, body) = send(i, 10 + i).await;
        assert_eq!(status, 200, "process {i} serves again: {body}");
    }
}
