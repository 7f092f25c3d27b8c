//! A failover in the middle of traffic over three processes, with `redis.wait_replicas = 1`:
//! through Sentinel (`SENTINEL FAILOVER`), and in a Redis Cluster whose master dies and whose
//! replica takes over (the old master then comes back as its replica). Nothing a guarantee
//! rests on comes back (a spent code, a revoked token, an ended session or login), no request
//! answers a server error other than 503 during the switch, and the processes follow the new
//! master without a restart.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use resetd_test_support::redis_topology::{RedisCluster, RedisSentinel};
use serde_json::{json, Value};

use super::{no_server_errors, reset_body, Stack, Topology, PASSWORD};
use crate::backends::{link, login, me};

/// What must stay dead, whichever process is asked, before, during and after the switch.
struct Dead {
    spent_code: Value,
    revoked_access: String,
    /// A Looker API session of the same user, revoked by that reset through the generation
    /// published in Redis.
    revoked_session: String,
    /// A Looker session ended by logout and a CIAM login ended by `/oauth2/revoke`, both of
    /// user `owner`, so both live on the master of that user's hash tag.
    ended_session: String,
    ended_login: String,
    owner: String,
}

impl Dead {
    /// Makes each, through different processes.
    async fn make(stack: &Stack) -> Self {
        // A code spent on a reset.
        let phone = "+8613600000010";
        stack.user("spent@example.com", Some(phone)).await;
        let (token, code) = stack.send_code(0, phone).await;
        let spent = reset_body(phone, &token, &code, "Tr4vel-by-Zeppelin");
        assert_eq!(stack.ciam(1, "/reset_user_password", &spent).await.0, 200);
        let spent_code = reset_body(phone, &token, &code, "Other-Zeppelin-77");
        // A CIAM token revoked by a reset through another process.
        let id = stack.user("revoked@example.com", None).await;
        let creds = stack.ops.bootstrap.create_api_credentials("revoked@example.com", false).await.unwrap();
        let revoked_session = login(stack.base(2), creds.client_id.as_str(), creds.client_secret.expose()).await;
        let revoked = password_grant(stack, 2, "revoked@example.com").await;
        let revoked_access = revoked["access_token"].as_str().unwrap().to_owned();
        let redeem = json!({"token": link(stack.base(0), &stack.admin, &id).await, "password": "Tr4vel-by-Zeppelin"});
        let r = stack.http.post(format!("{}/password/reset", stack.base(0))).json(&redeem).send().await.unwrap();
        assert_eq!(r.status(), 200);
        // A Looker session ended by logout, and a CIAM login ended by revoke, of one user.
        let owner = stack.user("ended@example.com", None).await;
        let creds = stack.ops.bootstrap.create_api_credentials("ended@example.com", false).await.unwrap();
        let ended_session = login(stack.base(1), creds.client_id.as_str(), creds.client_secret.expose()).await;
        let out = stack.http.delete(format!("{}/api/4.0/logout", stack.base(1))).bearer_auth(&ended_session).send();
        assert_eq!(out.await.unwrap().status(), 204);
        let tokens = password_grant(stack, 0, "ended@example.com").await;
        let ended_login = tokens["refresh_token"].as_str().unwrap().to_owned();
        let r = stack.http.post(format!("{}/oauth2/revoke", stack.base(2))).basic_auth(&stack.spa, None::<&str>);
        assert_eq!(r.form(&[("token", &ended_login)]).send().await.unwrap().status(), 200);
        assert_eq!(me(stack.base(1), &revoked_session).await, 401);
        Self { spent_code, revoked_access, revoked_session, ended_session, ended_login, owner }
    }

    /// One round of probes over the three processes; the statuses.
    async fn probe(&self, stack: &Stack, round: usize) -> Vec<u16> {
        let i = round;
        let (code, _) = stack.ciam(i, "/reset_user_password", &self.spent_code).await;
        let r = stack.http.get(format!("{}/userinfo", stack.base(i + 1))).bearer_auth(&self.revoked_access);
        let userinfo = r.send().await.unwrap().status().as_u16();
        let session = me(stack.base(i + 2), &self.ended_session).await;
        let form = [("grant_type", "refresh_token"), ("refresh_token", &self.ended_login)];
        let r = stack.http.post(format!("{}/oauth2/token", stack.base(i))).basic_auth(&stack.spa, None::<&str>);
        let refresh = r.form(&form).send().await.unwrap().status().as_u16();
        let revoked = me(stack.base(i + 1), &self.revoked_session).await;
        let statuses = [("spent code", code), ("revoked token", userinfo), ("ended session", session)];
        for (what, status) in statuses.into_iter().chain([("ended login", refresh), ("revoked session", revoked)]) {
            assert!(status != 200, "a {what} worked again (round {round})");
        }
        vec![code, userinfo, session, refresh, revoked]
    }

    /// Probes in a loop while `switch` runs (on a blocking thread, half a second after the
    /// probes start, and they go on for 1.5 s after it ends); what it returned.
    async fn probe_through<T: Send + 'static>(&self, stack: &Stack, switch: impl FnOnce() -> T + Send + 'static) -> T {
        let switching = Arc::new(AtomicBool::new(true));
        let switched = {
            let switching = switching.clone();
            tokio::task::spawn_blocking(move || {
                std::thread::sleep(Duration::from_millis(500));
                let out = switch();
                std::thread::sleep(Duration::from_millis(1_500));
                switching.store(false, Ordering::SeqCst);
                out
            })
        };
        let (mut statuses, mut round) = (Vec::new(), 0);
        while switching.load(Ordering::SeqCst) {
            statuses.extend(self.probe(stack, round).await);
            round += 1;
        }
        no_server_errors(&statuses);
        assert!(statuses.len() >= 12, "probes ran through the switch: {}", statuses.len());
        switched.await.unwrap()
    }

    /// The processes follow the new master without a restart: a fresh session and a fresh code
    /// work through every one of them (after at most 10 s of 503s), and nothing dead came back.
    async fn after_the_switch(&self, stack: &Stack) {
        let started = Instant::now();
        let creds = stack.ops.bootstrap.create_api_credentials("after@example.com", true).await.unwrap();
        let session = loop {
            let form = [("client_id", creds.client_id.as_str()), ("client_secret", creds.client_secret.expose())];
            let r = stack.http.post(format!("{}/api/4.0/login", stack.base(0))).form(&form).send().await.unwrap();
            if r.status() == 200 {
                break r.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
            }
            assert_eq!(r.status(), 503);
            assert!(started.elapsed() < Duration::from_secs(10), "resetd did not follow the new master");
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        for i in 0..3 {
            assert_eq!(me(stack.base(i), &session).await, 200, "process {i} reads the new master");
            self.probe(stack, i).await;
        }
        let phone = "+8613600000011";
        stack.user("after@example.org", Some(phone)).await;
        let (token, code) = stack.send_code(2, phone).await;
        let answer =
            stack.ciam(0, "/reset_user_password", &reset_body(phone, &token, &code, "Tr4vel-by-Zeppelin")).await;
        assert_eq!(answer.0, 200, "{answer:?}");
    }
}

/// A password grant as the SPA client through process `i`: the tokens.
async fn password_grant(stack: &Stack, i: usize, username: &str) -> Value {
    let form = [("grant_type", "password"), ("username", username), ("password", PASSWORD)];
    let r = stack.http.post(format!("{}/oauth2/token", stack.base(i))).basic_auth(&stack.spa, None::<&str>);
    let tokens: Value = r.form(&form).send().await.unwrap().json().await.unwrap();
    assert!(tokens["access_token"].is_string() && tokens["refresh_token"].is_string(), "{tokens}");
    tokens
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nothing_comes_back_through_a_sentinel_failover() {
    let group = Arc::new(RedisSentinel::start("resetd-e2e"));
    let stack = Stack::start(Topology::sentinel(&group)).await;
    let dead = Dead::make(&stack).await;
    let old_master = group.master_port();
    let new_master = dead
        .probe_through(&stack, {
            let group = group.clone();
            move || group.failover()
        })
        .await;
    assert_ne!(new_master, old_master, "the master moved");
    dead.after_the_switch(&stack).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nothing_comes_back_when_a_cluster_master_dies_and_its_replica_takes_over() {
    let mut cluster = RedisCluster::with_replicas();
    let stack = Stack::start(Topology::ReplicatedCluster(cluster.seeds())).await;
    let dead = Dead::make(&stack).await;
    // The master holding the ended session and login dies; its replica takes over, and it
    // comes back as the replica of its successor.
    let tag = format!("{{u:{}}}", dead.owner);
    let (cluster, killed, successor) = dead
        .probe_through(&stack, move || {
            let (killed, successor) = cluster.kill_master_of(&tag);
            cluster.restart_node(killed);
            (cluster, killed, successor)
        })
        .await;
    assert_ne!(killed, successor, "the master moved");
    assert_eq!(cluster.node_serving(&format!("{{u:{}}}", dead.owner)), successor);
    dead.after_the_switch(&stack).await;
}
