//! A Redis Cluster of three masters, without replicas or with one each.

use std::ffi::OsString;
use std::time::Duration;

use super::node::{data_args, Node};
use super::{cli, cli_binary, info_field, poll, port_not_in, run_cli, try_cli, urls};

/// How long the cluster may take to report `cluster_state:ok` everywhere.
const OK_TIMEOUT: Duration = Duration::from_secs(20);
/// How long `redis-cli --cluster create` may take.
const CREATE_TIMEOUT: Duration = Duration::from_secs(30);

/// A Redis Cluster on 127.0.0.1: three masters, which share the 16384 slots as `redis-cli
/// --cluster create` assigns them (about a third each, in port order), without replicas
/// ([`RedisCluster::start`]) or with one replica each ([`RedisCluster::with_replicas`]).
///
/// Each node runs with `--cluster-node-timeout 2000` and its cluster bus on a free port of its
/// own (`--cluster-port`, not port + 10000), keeps its `nodes.conf` in its own directory and
/// nothing else (no persistence). Dropping the cluster kills every node and removes every
/// directory; a reaper per node does the same if the test process dies first.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<Node>,
    /// Replicas per master.
    replicas: usize,
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
        Self::start_with(0)
    }

    /// Starts six nodes and joins them as three masters with one replica each (which of the
    /// six is which is `redis-cli --cluster create`'s choice: see [`RedisCluster::masters`]),
    /// and waits (at most 20 s) until, beside what [`RedisCluster::start`] waits for, every
    /// master has its replica connected and in sync. Takes about 3 s.
    ///
    /// # Panics
    ///
    /// As [`RedisCluster::start`].
    #[must_use]
    pub fn with_replicas() -> Self {
        Self::start_with(1)
    }

    fn start_with(replicas: usize) -> Self {
        let _ = cli_binary();
        let mut cluster = Self { nodes: Vec::new(), replicas };
        let mut taken: Vec<u16> = Vec::new();
        for _ in 0..3 * (1 + replicas) {
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

    /// SIGKILLs node `index` (a no-op if it is down). Without replicas its slots become
    /// unreachable: after the node timeout (2 s) the other nodes report `cluster_state:fail`.
    /// A killed master's replica takes its slots over instead ([`RedisCluster::wait_taken_over`]).
    ///
    /// # Panics
    ///
    /// If there is no node `index`.
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
    /// If there is no node `index`, or the node does not start or the cluster does not recover
    /// (with the logs' tails). A master that was failed over in the meantime rejoins as its
    /// successor's replica, and the wait includes its sync.
    pub fn restart_node(&mut self, index: usize) {
        self.node(index).restart();
        self.wait_ok(&format!("after restarting node {index}"));
    }

    /// The index of the node that serves `key`'s slot now, as a running node sees it.
    ///
    /// # Panics
    ///
    /// If no node runs, or none serves the slot.
    #[must_use]
    pub fn node_serving(&self, key: &str) -> usize {
        let slot = self.slot(key);
        let asked = self.running().next().expect("a running node");
        let port = serving(&cli(asked, &["CLUSTER", "NODES"]), slot);
        self.index_of(port.unwrap_or_else(|| panic!("no node serves slot {slot}")))
    }

    /// Kills the master that serves `key`'s slot and waits (at most 20 s) until its replica
    /// serves that slot as every running node sees it, and every running node reports
    /// `cluster_state:ok`: about the node timeout (2 s) and an election. The killed node's
    /// index and its successor's. [`RedisCluster::restart_node`] brings the killed one back as
    /// the successor's replica.
    ///
    /// # Panics
    ///
    /// If the cluster has no replicas, or none takes over in time (with the logs' tails).
    pub fn kill_master_of(&mut self, key: &str) -> (usize, usize) {
        assert!(self.replicas > 0, "a cluster without replicas has nobody to take over");
        let (slot, killed) = (self.slot(key), self.node_serving(key));
        self.kill_node(killed);
        let killed_port = self.nodes[killed].port();
        match poll(OK_TIMEOUT, || self.check_served(slot, killed_port)) {
            Ok(port) => (killed, self.index_of(port)),
            Err(last) => panic!(
                "no replica took slot {slot} over from node {killed_port} within {OK_TIMEOUT:?}; last seen: {last}\n{}",
                self.log_tails()
            ),
        }
    }

    /// The port that serves `slot`, if every running node is ok and agrees it is not `killed`.
    fn check_served(&self, slot: u16, killed: u16) -> Result<u16, String> {
        let mut agreed = None;
        for port in self.running() {
            expect_fields(port, &try_cli(port, &["CLUSTER", "INFO"])?, &[("cluster_state", "ok")])?;
            let owner = serving(&try_cli(port, &["CLUSTER", "NODES"])?, slot);
            match owner {
                Some(owner) if owner != killed && agreed.is_none_or(|a| a == owner) => agreed = Some(owner),
                _ => return Err(format!("node {port} sees slot {slot} served by {owner:?}")),
            }
        }
        agreed.ok_or_else(|| "no node runs".to_owned())
    }

    fn slot(&self, key: &str) -> u16 {
        let asked = self.running().next().expect("a running node");
        cli(asked, &["CLUSTER", "KEYSLOT", key]).parse().expect("a slot number")
    }

    fn running(&self) -> impl Iterator<Item = u16> + '_ {
        self.nodes.iter().filter(|node| node.is_running()).map(Node::port)
    }

    fn index_of(&self, port: u16) -> usize {
        self.ports().iter().position(|p| *p == port).unwrap_or_else(|| panic!("no node on port {port}"))
    }

    fn node(&mut self, index: usize) -> &mut Node {
        let count = self.nodes.len();
        self.nodes.get_mut(index).unwrap_or_else(|| panic!("no node {index} in a cluster of {count}"))
    }

    fn create(&self) {
        let mut args: Vec<OsString> = vec!["--cluster".into(), "create".into()];
        args.extend(self.nodes.iter().map(|node| format!("127.0.0.1:{}", node.port()).into()));
        let replicas = self.replicas.to_string();
        args.extend(["--cluster-replicas", &replicas, "--cluster-yes"].map(OsString::from));
        if let Err(e) = run_cli(&args, CREATE_TIMEOUT) {
            panic!("redis-cli --cluster create on ports {:?}: {e}\n{}", self.ports(), self.log_tails());
        }
    }

    /// Waits until every node is up and reports the whole cluster healthy.
    fn wait_ok(&self, context: &str) {
        if let Err(last) = poll(OK_TIMEOUT, || self.check_ok()) {
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
            let known = self.nodes.len().to_string();
            let expected =
                [("cluster_state", "ok"), ("cluster_slots_assigned", "16384"), ("cluster_known_nodes", &known)];
            expect_fields(port, &info, &expected)?;
            if self.replicas > 0 {
                let replication = try_cli(port, &["INFO", "replication"])?;
                let in_sync: &[(&str, &str)] = match info_field(&replication, "role") {
                    Some("master") => &[("connected_slaves", "1")],
                    _ => &[("master_link_status", "up"), ("master_sync_in_progress", "0")],
                };
                expect_fields(port, &replication, in_sync)?;
            }
        }
        Ok(())
    }

    fn log_tails(&self) -> String {
        self.nodes.iter().map(|node| node.log_tail(15)).collect::<Vec<_>>().join("\n")
    }
}

/// Fails unless `reply` (`field:value` lines, from the node on `port`) has every field as expected.
fn expect_fields(port: u16, reply: &str, expected: &[(&str, &str)]) -> Result<(), String> {
    for (field, value) in expected {
        let seen = info_field(reply, field);
        if seen != Some(value) {
            return Err(format!("node {port} says {field}:{}", seen.unwrap_or("(missing)")));
        }
    }
    Ok(())
}

/// Each master's port and slot ranges in a `CLUSTER NODES` reply (a replica's or a failed
/// master's ranges are empty).
fn slot_owners(nodes: &str) -> Vec<(u16, Vec<(u16, u16)>)> {
    nodes
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // <id> <ip:port@cport[,hostname]> <flags> <master> <ping> <pong> <epoch> <link> <slot>...
            let address = fields.get(1)?.split('@').next()?;
            let port = address.rsplit(':').next()?.parse().ok()?;
            let ranges = fields
                .get(8..)
                .unwrap_or_default()
                .iter()
                .filter(|slots| !slots.starts_with('['))
                .filter_map(|slots| match slots.split_once('-') {
                    Some((from, to)) => Some((from.parse().ok()?, to.parse().ok()?)),
                    None => Some((slots.parse().ok()?, slots.parse().ok()?)),
                })
                .collect();
            Some((port, ranges))
        })
        .collect()
}

/// The port that serves `slot` in a `CLUSTER NODES` reply.
fn serving(nodes: &str, slot: u16) -> Option<u16> {
    let owners = slot_owners(nodes);
    owners.iter().find(|(_, ranges)| ranges.iter().any(|&(a, b)| (a..=b).contains(&slot))).map(|(port, _)| *port)
}

#[cfg(test)]
#[path = "cluster_tests.rs"]
mod tests;
