//! Tests of the throwaway Redis Cluster.

use super::*;
use crate::process::wait_until;

/// Every node's `CLUSTER NODES` view: (port, slot ranges) of each node.
fn slot_owners(cluster: &RedisCluster, asked: u16) -> Vec<(u16, Vec<(u16, u16)>)> {
    super::slot_owners(&cluster.cli(asked, &["CLUSTER", "NODES"]))
}

/// The port of the node that serves `key`.
fn owner(cluster: &RedisCluster, key: &str) -> u16 {
    cluster.ports()[cluster.node_serving(key)]
}

/// A key served by the node on `port`.
fn key_on(cluster: &RedisCluster, port: u16) -> String {
    (0..).map(|n| format!("key:{n}")).find(|key| owner(cluster, key) == port).unwrap()
}

#[test]
fn three_masters_serve_every_slot_and_redirect() {
    let cluster = RedisCluster::start();
    let ports = cluster.ports();
    assert_eq!(ports.len(), 3);
    let expected: Vec<String> = ports.iter().map(|port| format!("redis://127.0.0.1:{port}")).collect();
    assert_eq!(cluster.seeds(), expected.join(","));

    for &asked in &ports {
        let owners = slot_owners(&cluster, asked);
        assert_eq!(owners.len(), 3, "{owners:?}");
        let mut ranges: Vec<(u16, u16)> = owners.iter().flat_map(|(_, ranges)| ranges.clone()).collect();
        assert!(owners.iter().all(|(_, ranges)| !ranges.is_empty()), "{owners:?}");
        ranges.sort_unstable();
        let mut next = 0;
        for (from, to) in ranges {
            assert_eq!(from, next, "node {asked} sees a gap or an overlap: {owners:?}");
            next = to + 1;
        }
        assert_eq!(next, 16384, "node {asked}: {owners:?}");
    }

    // One key per node, all written through the first node and read through the last.
    let keys: Vec<String> = ports.iter().map(|&port| key_on(&cluster, port)).collect();
    for key in &keys {
        assert_eq!(cluster.cli(ports[0], &["-c", "SET", key, &format!("value of {key}")]), "OK");
    }
    for key in &keys {
        assert_eq!(cluster.cli(ports[2], &["-c", "GET", key]), format!("value of {key}"));
    }
    for &port in &ports {
        assert_eq!(cluster.cli(port, &["DBSIZE"]), "1", "node {port}");
    }
    let moved = cluster.cli(ports[0], &["GET", &keys[1]]);
    assert!(moved.starts_with("MOVED ") && moved.ends_with(&format!("127.0.0.1:{}", ports[1])), "{moved}");
}

#[test]
fn a_killed_node_fails_the_cluster_until_it_restarts() {
    let mut cluster = RedisCluster::start();
    let ports = cluster.ports();
    let key = key_on(&cluster, ports[1]);
    assert_eq!(cluster.cli(ports[0], &["-c", "SET", &key, "before"]), "OK");

    cluster.kill_node(1);
    let failed = wait_until(Duration::from_secs(10), || {
        info_field(&cluster.cli(ports[0], &["CLUSTER", "INFO"]), "cluster_state") == Some("fail")
    });
    assert!(failed, "{}", cluster.cli(ports[0], &["CLUSTER", "INFO"]));

    cluster.restart_node(1);
    assert_eq!(cluster.ports(), ports);
    assert_eq!(cluster.cli(ports[0], &["-c", "GET", &key]), "", "nothing is persisted");
    assert_eq!(cluster.cli(ports[0], &["-c", "SET", &key, "after"]), "OK");
    assert_eq!(cluster.cli(ports[1], &["GET", &key]), "after");
}

#[test]
fn a_killed_master_is_replaced_by_its_replica_and_comes_back_as_the_successors_replica() {
    let mut cluster = RedisCluster::with_replicas();
    let ports = cluster.ports();
    assert_eq!(ports.len(), 6);
    let masters: Vec<u16> =
        ports.iter().copied().filter(|&p| cluster.cli(p, &["ROLE"]).starts_with("master")).collect();
    assert_eq!(masters.len(), 3, "three masters, three replicas");
    let key = "survivor";
    let old = cluster.node_serving(key);
    assert_eq!(set_and_wait(ports[old], key, "kept"), 1, "its replica has the write");

    let (killed, successor) = cluster.kill_master_of(key);
    assert_eq!(killed, old);
    assert_ne!(successor, killed);
    assert_eq!(cluster.node_serving(key), successor);
    assert_eq!(cluster.cli(ports[successor], &["GET", key]), "kept", "the replica had the write");

    cluster.restart_node(killed);
    assert!(cluster.cli(ports[killed], &["ROLE"]).starts_with("slave"), "the old master follows");
    assert_eq!(set_and_wait(ports[successor], key, "after"), 1, "the old master acknowledges");
}

/// `SET key value` on the node on `port`, then `WAIT 1 2000` on the same connection: how many
/// replicas acknowledged the write.
fn set_and_wait(port: u16, key: &str, value: &str) -> i64 {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap();
    let mut conn = client.get_connection().unwrap();
    redis::cmd("SET").arg(key).arg(value).query::<()>(&mut conn).unwrap();
    redis::cmd("WAIT").arg(1).arg(2_000).query(&mut conn).unwrap()
}
