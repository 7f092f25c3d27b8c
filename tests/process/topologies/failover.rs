//! A Sentinel failover in the middle of traffic over three processes (`redis.wait_replicas =
//! 1`): nothing a guarantee rests on comes back (a spent code, a revoked token, an ended
//! session), no request answers a server error other than 503 during the switch, and the
//! processes follow the new master without a restart.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use resetd_test_support::redis_topology::RedisSentinel;
use serde_json::{json, Value};

use super::{no_server_errors, reset_body, Stack, Topology, PASSWORD};
use crate::backends::{link, login, me};

/// What must stay dead, whichever process is asked, before, during and after the switch.
struct Dead {
    spent_code: Value,
    revoked_access: String,
    ended_session: String,
}

impl Dead {
    /// One round of probes over the three processes; the statuses.
    async fn probe(&self, stack: &Stack<'_>, round: usize) -> Vec<u16> {
        let i = round;
        let (code, _) = stack.ciam(i, "/reset_user_password", &self.spent_code).await;
        let r = stack.http.get(format!("{}/userinfo", stack.base(i + 1))).bearer_auth(&self.revoked_access);
        let userinfo = r.send().await.unwrap().status().as_u16();
        let session = me(stack.base(i + 2), &self.ended_session).await;
        for (what, status) in [("spent code", code), ("revoked token", userinfo), ("ended session", session)] {
            assert!(status != 200, "a {what} worked again (round {round})");
        }
        vec![code, userinfo, session]
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nothing_comes_back_through_a_sentinel_failover() {
    let group = Arc::new(RedisSentinel::start("resetd-e2e"));
    let stack = Stack::start(Topology::Sentinel(&group)).await;

    // A code spent on a reset.
    let phone = "+8613600000010";
    stack.user("spent@example.com", Some(phone)).await;
    let (token, code) = stack.send_code(0, phone).await;
    let spent = reset_body(phone, &token, &code, "Tr4vel-by-Zeppelin");
    assert_eq!(stack.ciam(1, "/reset_user_password", &spent).await.0, 200);
    let spent_code = reset_body(phone, &token, &code, "Other-Zeppelin-77");
    // A CIAM token revoked by a reset through another process.
    let id = stack.user("revoked@example.com", None).await;
    let form = [("grant_type", "password"), ("username", "revoked@example.com"), ("password", PASSWORD)];
    let r = stack.http.post(format!("{}/oauth2/token", stack.base(2))).basic_auth(&stack.spa, None::<&str>);
    let tokens: Value = r.form(&form).send().await.unwrap().json().await.unwrap();
    let revoked_access = tokens["access_token"].as_str().unwrap_or_else(|| panic!("{tokens}")).to_owned();
    let redeem = json!({"token": link(stack.base(0), &stack.admin, &id).await, "password": "Tr4vel-by-Zeppelin"});
    let r = stack.http.post(format!("{}/password/reset", stack.base(0))).json(&redeem).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // A Looker session ended by logout.
    let creds = stack.ops.bootstrap.create_api_credentials("ended@example.com", false).await.unwrap();
    let ended_session = login(stack.base(1), creds.client_id.as_str(), creds.client_secret.expose()).await;
    let out = stack.http.delete(format!("{}/api/4.0/logout", stack.base(1))).bearer_auth(&ended_session).send();
    assert_eq!(out.await.unwrap().status(), 204);
    let dead = Dead { spent_code, revoked_access, ended_session };

    // Probes, in a loop, while the master changes.
    let switching = Arc::new(AtomicBool::new(true));
    let old_master = group.master_port();
    let failover = {
        let (switching, group) = (switching.clone(), group.clone());
        async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let new = tokio::task::spawn_blocking(move || group.failover()).await.unwrap();
            tokio::time::sleep(Duration::from_millis(1_500)).await;
            switching.store(false, Ordering::SeqCst);
            new
        }
    };
    let probes = async {
        let (mut statuses, mut round) = (Vec::new(), 0);
        while switching.load(Ordering::SeqCst) {
            statuses.extend(dead.probe(&stack, round).await);
            round += 1;
        }
        statuses
    };
    let (new_master, statuses) = tokio::join!(failover, probes);
    assert_ne!(new_master, old_master, "the master moved");
    no_server_errors(&statuses);
    assert!(statuses.len() >= 9, "probes ran through the switch: {}", statuses.len());

    // The processes follow the new master without a restart: a fresh session and a fresh
    // code work through every one of them, and nothing dead came back.
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
        dead.probe(&stack, i).await;
    }
    let phone = "+8613600000011";
    stack.user("after@example.org", Some(phone)).await;
    let (token, code) = stack.send_code(2, phone).await;
    let answer = stack.ciam(0, "/reset_user_password", &reset_body(phone, &token, &code, "Tr4vel-by-Zeppelin")).await;
    assert_eq!(answer.0, 200, "{answer:?}");
}
