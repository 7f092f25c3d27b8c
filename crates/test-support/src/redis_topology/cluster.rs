//! A Redis Cluster of three masters without replicas.

use std::ffi::OsString;
use std::time::Duration;

use super::node::{data_args, Node};
use super::{cli, cli_binary, info_field, port_not_in, run_cli, try_cli, urls};
use crate::process::wait_until;

/// How long the cluster may take to report `cluster_state:ok` everywhere.
const OK_TIMEOUT: Duration = Duration::from_secs(20);
/// How long `redis-cli --cluster create` may take.
const CREATE_TIMEOUT: Duration = Duration::from_secs(30);

/// A Redis Cluster on 127.0.0.1: three masters without replicas, which share the 16384 slots
/// as `redis-cli --cluster create` assigns them (about a third each, in port order).
///
/// Each node runs with `--cluster-node-timeout 2000` and its cluster bus on a free port of its
/// own (`--cluster-port`, not port + 10000), keeps its `nodes.conf` in its own directory and
/// nothing else (no persistence). Dropping the cluster kills every node and removes every
/// directory; a reaper per node does the same if the test process dies first.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<Node>,
}

impl RedisCluster {
    /// Starts three nodes on free ports, joins them with `redis-cli --cluster create` and waits
    /// (at most 20 s) until every node reports `cluster_state:ok` with all 16384 slots
    /// assigned and all three nodes known. Takes about 2 s.
    ///
    /// # Panics
    ///
    /// If `redis-server` or `redis-cli` is missing (one line naming the Debian package), a
    /// node does not start, or the cluster does not come up (with the logs' tails).
    #[must_use]
    pub fn start() -> Self {
        let _ = cli_binary();
        let mut cluster = Self { nodes: Vec::new() };
        let mut taken: Vec<u16> = Vec::new();
        for _ in 0..3 {
            let mut bus = 0;
            let node = Node::start(
                "redis-cluster",
                || port_not_in(&taken),
                |dir, port| {
                    bus = port_not_in(&[taken.as_slice(), &[port]].concat());
                    let mut args = data_args(dir, port);
                    let bus = bus.to_string();
                    args.extend(
                        ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-port", &bus]
                            .map(OsString::from),
                    );
                    args.extend(["--cluster-node-timeout", "2000"].map(OsString::from));
                    args
                },
            );
            taken.extend([node.port(), bus]);
            cluster.nodes.push(node);
        }
        cluster.create();
        cluster.wait_ok("after `redis-cli --cluster create`");
        cluster
    }

    /// The nodes' URLs, comma-separated: `redis://127.0.0.1:P1,redis://127.0.0.1:P2,...`.
    #[must_use]
    pub fn seeds(&self) -> String {
        urls(&self.ports())
    }

    /// The nodes' ports (the same across restarts), in node order.
    #[must_use]
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(Node::port).collect()
    }

    /// [`super::cli`] on one of the nodes (`port`): e.g. `["CLUSTER", "KEYSLOT", "k"]`,
    /// `["DBSIZE"]`, or `["-c", "SET", "k", "v"]` to follow redirects.
    ///
    /// # Panics
    ///
    /// As [`super::cli`]: if redis-cli fails, e.g. because the node is down.
    #[must_use]
    pub fn cli(&self, port: u16, args: &[&str]) -> String {
        cli(port, args)
    }

    /// SIGKILLs node `index` (a no-op if it is down). Its slots become unreachable: after the
    /// node timeout (2 s) the other nodes report `cluster_state:fail`.
    ///
    /// # Panics
    ///
    /// If `index` is not 0, 1 or 2.
    pub fn kill_node(&mut self, index: usize) {
        self.node(index).kill();
    }

    /// Starts node `index` again on the same port with the same `nodes.conf`, so it rejoins
    /// with its slots (empty: nothing is persisted), and waits (at most 20 s) until every node
    /// reports `cluster_state:ok` again. The others clear its failure only after twice the node
    /// timeout, so this takes about 4 s after a kill that was noticed. A running node is killed
    /// first.
    ///
    /// # Panics
    ///
    /// If `index` is not 0, 1 or 2, or the node does not start or the cluster does not recover
    /// (with the logs' tails).
    pub fn restart_node(&mut self, index: usize) {
        self.node(index).restart();
        self.wait_ok(&format!("after restarting node {index}"));
    }

    fn node(&mut self, index: usize) -> &mut Node {
        let count = self.nodes.len();
        self.nodes.get_mut(index).unwrap_or_else(|| panic!("no node {index} in a cluster of {count}"))
    }

    fn create(&self) {
        let mut args: Vec<OsString> = vec!["--cluster".into(), "create".into()];
        args.extend(self.nodes.iter().map(|node| format!("127.0.0.1:{}", node.port()).into()));
        args.extend(["--cluster-replicas", "0", "--cluster-yes"].map(OsString::from));
        if let Err(e) = run_cli(&args, CREATE_TIMEOUT) {
            panic!("redis-cli --cluster create on ports {:?}: {e}\n{}", self.ports(), self.log_tails());
        }
    }

    /// Waits until every node is up and reports the whole cluster healthy.
    fn wait_ok(&self, context: &str) {
        let mut last = String::new();
        let ok = wait_until(OK_TIMEOUT, || match self.check_ok() {
            Ok(()) => true,
            Err(e) => {
                last = e;
                false
            }
        });
        if !ok {
            panic!(
                "Redis Cluster on ports {:?} not ok within {OK_TIMEOUT:?} {context}; last seen: {last}\n{}",
                self.ports(),
                self.log_tails()
            );
        }
    }

    fn check_ok(&self) -> Result<(), String> {
        for node in &self.nodes {
            let port = node.port();
            if !node.is_running() {
                return Err(format!("node {port} is down"));
            }
            let info = try_cli(port, &["CLUSTER", "INFO"])?;
            let expected = [("cluster_state", "ok"), ("cluster_slots_assigned", "16384"), ("cluster_known_nodes", "3")];
            for (field, value) in expected {
                let seen = info_field(&info, field);
                if seen != Some(value) {
                    return Err(format!("node {port} says {field}:{}", seen.unwrap_or("(missing)")));
                }
            }
        }
        Ok(())
    }

    fn log_tails(&self) -> String {
        self.nodes.iter().map(|node| node.log_tail(15)).collect::<Vec<_>>().join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every node's `CLUSTER NODES` view: (port, slot ranges) of each master.
    fn slot_owners(cluster: &RedisCluster, asked: u16) -> Vec<(u16, Vec<(u16, u16)>)> {
        let nodes = cluster.cli(asked, &["CLUSTER", "NODES"]);
        nodes
            .lines()
            .map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                // <id> <ip:port@cport[,hostname]> <flags> <master> <ping> <pong> <epoch> <link> <slot>...
                let address = fields[1].split('@').next().unwrap();
                let port = address.rsplit(':').next().unwrap().parse().unwrap();
                let ranges = fields[8..]
                    .iter()
                    .filter(|slots| !slots.starts_with('['))
                    .map(|slots| match slots.split_once('-') {
                        Some((from, to)) => (from.parse().unwrap(), to.parse().unwrap()),
                        None => (slots.parse().unwrap(), slots.parse().unwrap()),
                    })
                    .collect();
                (port, ranges)
            })
            .collect()
    }

    /// The port of the node that serves `key`.
    fn owner(cluster: &RedisCluster, key: &str) -> u16 {
        let port = cluster.ports()[0];
        let slot: u16 = cluster.cli(port, &["CLUSTER", "KEYSLOT", key]).parse().unwrap();
        let owners = slot_owners(cluster, port);
        owners.iter().find(|(_, ranges)| ranges.iter().any(|&(a, b)| (a..=b).contains(&slot))).unwrap().0
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
}
