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

/// A code sent through process `i` to the `n`th number of the series `series`.
async fn send(stack: &Stack, series: &str, i: usize, n: usize) -> (u16, Value) {
    let body = json!({"usage": "reset_password", "phone_number": format!("+86136000{series}{n:02}")});
    stack.ciam(i, "/otp/send", &body).await
}

/// Every process: `/readyz` names Redis (PostgreSQL is fine), and a CIAM and a Looker call each
/// answer 503 in their dialect within the backend budget.
async fn every_process_is_out(stack: &Stack, series: &str) {
    for i in 0..3 {
        let (status, body) = ready(stack, i).await;
        assert_eq!(status, 503, "{body}");
        assert_ne!(body["checks"]["redis"], "ok", "{body}");
        assert_eq!(body["checks"]["postgres"], "ok", "{body}");
        let asked = Instant::now();
        let (status, body) = send(stack, series, i, i + 1).await;
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
}

/// Every process is ready again within `patience` and sends a code.
async fn every_process_recovers(stack: &Stack, series: &str, patience: Duration) {
    let started = Instant::now();
    for i in 0..3 {
        while ready(stack, i).await.0 != 200 {
            assert!(started.elapsed() < patience, "process {i} did not recover");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let (status, body) = send(stack, series, i, 10 + i).await;
        assert_eq!(status, 200, "process {i} serves again: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lost_cluster_node_answers_503_in_both_dialects_and_recovers_without_a_restart() {
    let mut cluster = RedisCluster::start();
    let stack = Stack::start(Topology::Cluster(cluster.seeds())).await;
    assert_eq!(send(&stack, "02", 0, 0).await.0, 200);

    cluster.kill_node(0);
    // /readyz pings every master the cluster lists, so it notices at once.
    assert_eq!(ready(&stack, 1).await.0, 503);
    // After the node timeout (2 s) the others refuse every slot, not only the lost node's.
    let started = Instant::now();
    let live = cluster.ports()[1];
    while !cluster.cli(live, &["CLUSTER", "INFO"]).contains("cluster_state:fail") {
        assert!(started.elapsed() < Duration::from_secs(10), "the cluster never noticed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    every_process_is_out(&stack, "02").await;

    tokio::task::block_in_place(|| cluster.restart_node(0));
    every_process_recovers(&stack, "02", Duration::from_secs(10)).await;
}

/// Both data nodes of a Sentinel group lost: the sentinels have no master to name.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lost_sentinel_group_answers_503_in_both_dialects_and_recovers_without_a_restart() {
    let mut group = RedisSentinel::start("resetd-outage");
    let stack = Stack::start(Topology::sentinel(&group)).await;
    assert_eq!(send(&stack, "03", 0, 0).await.0, 200);

    let data = group.redis_ports();
    for port in &data {
        group.kill_data_node(*port);
    }
    every_process_is_out(&stack, "03").await;

    tokio::task::block_in_place(|| data.iter().for_each(|port| group.restart_data_node(*port)));
    every_process_recovers(&stack, "03", Duration::from_secs(15)).await;
}
