//! A Sentinel group: a master, its replica and three sentinels.

use std::ffi::OsString;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use super::node::{data_args, Node};
use super::{cli, cli_binary, info_field, poll, port_not_in, try_cli, urls};
use crate::free_port;
use crate::process::wait_until;

/// How long the group may take to settle after a start: replica in sync, and every sentinel
/// aware of the master, the replica and the two other sentinels.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a failover may take to complete (about 11 s: the sentinels turn the old master into
/// a replica only about 10 s after the switch).
const FAILOVER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a sentinel may refuse `SENTINEL FAILOVER` (a previous failover still settling).
const FAILOVER_ACCEPT_TIMEOUT: Duration = Duration::from_secs(10);

/// A Sentinel group on 127.0.0.1: two data nodes (a master and a replica of it) and three
/// sentinels monitoring the master under one name with quorum 2,
/// `down-after-milliseconds 1000`, `failover-timeout 5000` and `parallel-syncs 1`.
///
/// Sentinels run as `redis-server <dir>/sentinel.conf --sentinel`, each with its own
/// (rewritable) configuration in its own directory. Nothing is persisted. Dropping the group
/// kills every process and removes every directory; a reaper per process does the same if the
/// test process dies first.
#[derive(Debug)]
pub struct RedisSentinel {
    name: String,
    // Dropped first: sentinels never see the data nodes go away.
    sentinels: Vec<Node>,
    data: Vec<Node>,
}

impl RedisSentinel {
    /// Starts a master, a replica of it and three sentinels monitoring it as `master_name`,
    /// then waits (at most 20 s) until the replica is in sync and every sentinel knows the
    /// master, the replica and the two other sentinels. Takes about 2 to 5 s.
    ///
    /// # Panics
    ///
    /// If `master_name` is empty or holds other than ASCII letters, digits and `-_.:`, a
    /// program is missing (one line naming the Debian package), a process does not start or
    /// the group does not settle (with the logs' tails).
    #[must_use]
    pub fn start(master_name: &str) -> Self {
        let valid = |c: char| c.is_ascii_alphanumeric() || "-_.:".contains(c);
        assert!(
            !master_name.is_empty() && master_name.chars().all(valid),
            "a Sentinel master name of ASCII letters, digits and -_.: please, not {master_name:?}"
        );
        let _ = cli_binary();
        let mut group = Self { name: master_name.to_owned(), sentinels: Vec::new(), data: Vec::new() };
        group.data.push(Node::start("redis-data", free_port, data_args));
        let master = group.data[0].port();
        let replica = Node::start(
            "redis-data",
            || port_not_in(&[master]),
            |dir, port| {
                let mut args = data_args(dir, port);
                args.extend(["--replicaof", "127.0.0.1", &master.to_string()].map(OsString::from));
                args
            },
        );
        group.data.push(replica);
        for _ in 0..3 {
            let taken: Vec<u16> = group.data.iter().chain(&group.sentinels).map(Node::port).collect();
            let name = &group.name;
            let sentinel = Node::start(
                "redis-sentinel",
                || port_not_in(&taken),
                |dir, port| sentinel_args(dir, port, name, master),
            );
            group.sentinels.push(sentinel);
        }
        let replica = group.data[1].port();
        group.wait_settled(master, replica, SETTLE_TIMEOUT, "after the start");
        group
    }

    /// The sentinels' URLs, comma-separated: `redis://127.0.0.1:S1,redis://127.0.0.1:S2,...`.
    #[must_use]
    pub fn sentinel_urls(&self) -> String {
        urls(&self.sentinel_ports())
    }

    /// The sentinels' ports.
    #[must_use]
    pub fn sentinel_ports(&self) -> Vec<u16> {
        self.sentinels.iter().map(Node::port).collect()
    }

    /// The name the sentinels monitor the master under.
    #[must_use]
    pub fn master_name(&self) -> &str {
        &self.name
    }

    /// The ports of the two data nodes, the first started as master, the second as replica (the
    /// roles swap with each [`RedisSentinel::failover`]).
    #[must_use]
    pub fn redis_ports(&self) -> Vec<u16> {
        self.data.iter().map(Node::port).collect()
    }

    /// The master's port, as the first sentinel that answers (and is not frozen) tells it
    /// (`SENTINEL get-master-addr-by-name`).
    ///
    /// # Panics
    ///
    /// If no sentinel answers with an address.
    #[must_use]
    pub fn master_port(&self) -> u16 {
        let mut errors = Vec::new();
        for sentinel in self.sentinels.iter().filter(|s| s.answers()).map(Node::port) {
            match self.master_addr(sentinel) {
                Ok(port) => return port,
                Err(e) => errors.push(format!("sentinel {sentinel}: {e}")),
            }
        }
        panic!("no sentinel knows the address of {}: {}", self.name, errors.join("; "))
    }

    /// `redis://127.0.0.1:<master port>` ([`RedisSentinel::master_port`]).
    #[must_use]
    pub fn master_url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.master_port())
    }

    /// [`super::cli`] on a data node or a sentinel (`port`).
    ///
    /// # Panics
    ///
    /// As [`super::cli`]: if redis-cli fails, e.g. because nothing listens on `port`.
    #[must_use]
    pub fn cli(&self, port: u16, args: &[&str]) -> String {
        cli(port, args)
    }

    /// Forces a failover (`SENTINEL FAILOVER <name>` on the first sentinel, retried while it
    /// refuses) and waits until it is complete: every sentinel names the other data node as
    /// master, that node is a master with the old master as its replica in sync (role slave,
    /// `master_link_status:up`), and every sentinel again knows the replica and the two other
    /// sentinels. Writes that reached the old master but not the replica are lost, as with any
    /// failover (use `WAIT 1 <ms>` first). Returns the new master's port.
    ///
    /// Takes about 11 s. The replica is promoted within 0.3 s and every sentinel names it
    /// within about 1.2 s, but the old master, still up, stays a master (accepting writes that
    /// its resync will then discard, its clients still connected) until a sentinel turns it
    /// into a replica: only at its next `INFO` of it at least 8 s after the switch, i.e. about
    /// 10 s later. Bounded by 30 s.
    ///
    /// # Panics
    ///
    /// If the sentinel refuses for 10 s, or the failover does not complete in time (with
    /// what was last seen and the logs' tails).
    pub fn failover(&self) -> u16 {
        let old = self.master_port();
        let new = self.data.iter().map(Node::port).find(|&port| port != old).unwrap_or(old);
        let sentinel = self.sentinels[0].port();
        let mut answer = String::new();
        let accepted = wait_until(FAILOVER_ACCEPT_TIMEOUT, || {
            answer = try_cli(sentinel, &["SENTINEL", "FAILOVER", &self.name]).unwrap_or_else(|e| e);
            answer == "OK"
        });
        if !accepted {
            panic!("sentinel {sentinel} refused SENTINEL FAILOVER {}: {answer}\n{}", self.name, self.log_tails());
        }
        self.wait_settled(new, old, FAILOVER_TIMEOUT, "after SENTINEL FAILOVER");
        new
    }

    /// SIGKILLs the data node on `port` (the master, say: [`RedisSentinel::master_port`]);
    /// it stays down. The sentinels notice after `down-after-milliseconds` (1 s) and promote
    /// the other node ([`RedisSentinel::wait_promoted`]).
    ///
    /// # Panics
    ///
    /// If no data node has that port.
    pub fn kill_data_node(&mut self, port: u16) {
        let node = self.data.iter_mut().find(|node| node.port() == port);
        node.unwrap_or_else(|| panic!("no data node on port {port}")).kill();
    }

    /// Starts the data node on `port` again, with its first command line (the replica still
    /// follows the first master) and nothing kept, and waits until it answers PING.
    ///
    /// # Panics
    ///
    /// If no data node has that port, or it does not start (with the log's tail).
    pub fn restart_data_node(&mut self, port: u16) {
        let node = self.data.iter_mut().find(|node| node.port() == port);
        node.unwrap_or_else(|| panic!("no data node on port {port}")).restart();
    }

    /// Waits (at most 30 s) until every sentinel that answers (not frozen) names a running data
    /// node other than `old` as master, and that node answers `ROLE` as a master; its port.
    ///
    /// # Panics
    ///
    /// If that does not happen in time (with what was last seen and the logs' tails).
    #[must_use]
    pub fn wait_promoted(&self, old: u16) -> u16 {
        match poll(FAILOVER_TIMEOUT, || self.check_promoted(old)) {
            Ok(port) => port,
            Err(last) => panic!(
                "{}: no master other than {old} within {FAILOVER_TIMEOUT:?}; last seen: {last}\n{}",
                self.name,
                self.log_tails()
            ),
        }
    }

    fn check_promoted(&self, old: u16) -> Result<u16, String> {
        let mut named = None;
        for sentinel in self.sentinels.iter().filter(|s| s.answers()).map(Node::port) {
            let port = self.master_addr(sentinel)?;
            if port == old || named.is_some_and(|n| n != port) {
                return Err(format!("sentinel {sentinel} names {port}"));
            }
            named = Some(port);
        }
        let port = named.ok_or("no sentinel answers")?;
        match try_cli(port, &["ROLE"])?.lines().next() {
            Some("master") => Ok(port),
            role => Err(format!("node {port} answers ROLE {role:?}")),
        }
    }

    /// Freezes (`true`: SIGSTOP, its connections open and silent) or thaws (`false`) sentinel
    /// `index`.
    ///
    /// # Panics
    ///
    /// If there is no sentinel `index`.
    pub fn freeze_sentinel(&mut self, index: usize, frozen: bool) {
        self.sentinels.get_mut(index).unwrap_or_else(|| panic!("no sentinel {index}")).freeze(frozen);
    }

    fn master_addr(&self, sentinel: u16) -> Result<u16, String> {
        let answer = try_cli(sentinel, &["SENTINEL", "get-master-addr-by-name", &self.name])?;
        match answer.lines().collect::<Vec<_>>()[..] {
            [_, port] => port.trim().parse().map_err(|_| answer.clone()),
            _ => Err(format!("{answer:?}")),
        }
    }

    /// Waits until `master` and `replica` are in sync and every sentinel agrees.
    fn wait_settled(&self, master: u16, replica: u16, timeout: Duration, context: &str) {
        let started = Instant::now();
        if let Err(last) = poll(timeout, || self.check(master, replica)) {
            panic!(
                "Sentinel group {} (master {master}, replica {replica}) not settled {:?} {context}; last seen: {last}\n{}",
                self.name,
                started.elapsed(),
                self.log_tails()
            );
        }
    }

    fn check(&self, master: u16, replica: u16) -> Result<(), String> {
        let info = try_cli(master, &["INFO", "replication"])?;
        let slave0 = info_field(&info, "slave0").unwrap_or_default();
        if info_field(&info, "role") != Some("master")
            || info_field(&info, "connected_slaves") != Some("1")
            || !slave0.contains(&format!(",port={replica},"))
            || !slave0.contains("state=online")
        {
            return Err(format!("node {master}: {}", one_line(&info)));
        }
        let info = try_cli(replica, &["INFO", "replication"])?;
        if info_field(&info, "role") != Some("slave")
            || info_field(&info, "master_port") != Some(&master.to_string())
            || info_field(&info, "master_link_status") != Some("up")
            || info_field(&info, "master_sync_in_progress") != Some("0")
        {
            return Err(format!("node {replica}: {}", one_line(&info)));
        }
        for sentinel in self.sentinel_ports() {
            let seen = self.master_addr(sentinel)?;
            if seen != master {
                return Err(format!("sentinel {sentinel} names {seen} as master"));
            }
            let state = try_cli(sentinel, &["SENTINEL", "master", &self.name])?;
            let lines: Vec<&str> = state.lines().collect();
            let field = |name: &str| lines.chunks(2).find(|pair| pair[0] == name).and_then(|pair| pair.get(1).copied());
            let expected = [("flags", "master"), ("num-slaves", "1"), ("num-other-sentinels", "2")];
            for (name, value) in expected {
                if field(name) != Some(value) {
                    return Err(format!("sentinel {sentinel} says {name} {:?}", field(name)));
                }
            }
        }
        Ok(())
    }

    fn log_tails(&self) -> String {
        self.data.iter().chain(&self.sentinels).map(|node| node.log_tail(10)).collect::<Vec<_>>().join("\n")
    }
}

/// Writes `<dir>/sentinel.conf` (the sentinel rewrites it as it learns) and returns the command
/// line that runs a sentinel from it.
fn sentinel_args(dir: &Path, port: u16, name: &str, master: u16) -> Vec<OsString> {
    let quoted_dir = dir.to_string_lossy().replace('\\', r"\\").replace('"', "\\\"");
    let conf = format!(
        "port {port}\nbind 127.0.0.1\nprotected-mode no\ndaemonize no\ndir \"{quoted_dir}\"\n\
         sentinel monitor {name} 127.0.0.1 {master} 2\n\
         sentinel down-after-milliseconds {name} 1000\n\
         sentinel failover-timeout {name} 5000\n\
         sentinel parallel-syncs {name} 1\n"
    );
    let path = dir.join("sentinel.conf");
    fs::write(&path, conf).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    vec![path.into_os_string(), "--sentinel".into()]
}

/// `INFO` text on one line, for error messages.
fn one_line(info: &str) -> String {
    info.lines()
        .map(str::trim_end)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failover_swaps_the_master_and_keeps_acknowledged_writes() {
        let group = RedisSentinel::start("resetd-test");
        assert_eq!(group.master_name(), "resetd-test");
        let ports = group.redis_ports();
        assert_eq!(group.master_port(), ports[0]);
        let expected: Vec<String> =
            group.sentinel_ports().iter().map(|port| format!("redis://127.0.0.1:{port}")).collect();
        assert_eq!(group.sentinel_urls(), expected.join(","));

        assert_eq!(group.cli(ports[0], &["SET", "token", "before the failover"]), "OK");
        assert_eq!(group.cli(ports[0], &["WAIT", "1", "1000"]), "1");

        let started = Instant::now();
        let new = group.failover();
        let took = started.elapsed();
        assert_eq!(new, ports[1]);
        assert_eq!(group.master_port(), ports[1]);
        assert_eq!(group.master_url(), format!("redis://127.0.0.1:{}", ports[1]));
        assert!(took < FAILOVER_TIMEOUT, "{took:?}");
        assert_eq!(group.cli(new, &["GET", "token"]), "before the failover");
        assert_eq!(group.cli(new, &["ROLE"]).lines().next(), Some("master"));
        assert_eq!(group.cli(ports[0], &["ROLE"]).lines().next(), Some("slave"));
        assert_eq!(group.cli(new, &["SET", "token", "after"]), "OK");
    }
}
