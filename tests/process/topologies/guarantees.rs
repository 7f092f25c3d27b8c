//! The cross-process guarantees, each with its requests spread over the three processes.

use std::time::{Duration, Instant};

use futures::future::join_all;
use resetd_app::bootstrap::ClientSwitches;
use serde_json::{json, Value};

use super::{no_server_errors, reset_body, wrong, Stack, PASSWORD};
use crate::backends::{link, me};

/// Every check, one after the other (each on its own users and destinations).
pub(crate) async fn all(stack: &Stack) {
    a_link_redeems_once(stack).await;
    a_code_resets_once(stack).await;
    wrong_guesses_kill_the_code(stack).await;
    the_account_budget_caps_parallel_guesses(stack).await;
    cooldown_and_daily_cap(stack).await;
    sessions_and_logout(stack).await;
    a_reset_revokes_every_token(stack).await;
    a_switched_off_client_is_refused_by_all(stack).await;
}

/// 60 parallel redemptions of one link: one success.
async fn a_link_redeems_once(stack: &Stack) {
    let id = stack.user("link-once@example.com", None).await;
    let token = link(stack.base(0), &stack.admin, &id).await;
    let body = json!({"token": token, "password": "Tr4vel-by-Zeppelin"});
    let tries = (0..60).map(|i| {
        let req = stack.http.post(format!("{}/password/reset", stack.base(i))).json(&body);
        async move { req.send().await.unwrap().status().as_u16() }
    });
    let statuses = join_all(tries).await;
    no_server_errors(&statuses);
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
}

/// 60 parallel resets with one right code: one success, and the code is spent.
async fn a_code_resets_once(stack: &Stack) {
    let phone = "+8613600000001";
    stack.user("code-once@example.com", Some(phone)).await;
    let (token, code) = stack.send_code(0, phone).await;
    let body = reset_body(phone, &token, &code, "Tr4vel-by-Zeppelin");
    let answers = join_all((0..60).map(|i| stack.ciam(i, "/reset_user_password", &body))).await;
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    no_server_errors(&statuses);
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{answers:?}");
    let again = stack.ciam(2, "/reset_user_password", &reset_body(phone, &token, &code, "Other-Zeppelin-9")).await;
    assert_eq!(again.1["error"], "bad_phone_number_otp_token", "{again:?}");
}

/// 20 parallel wrong guesses over the processes: the code dies at its cap of 5.
async fn wrong_guesses_kill_the_code(stack: &Stack) {
    let phone = "+8613600000002";
    stack.user("attempts@example.com", Some(phone)).await;
    let (token, code) = stack.send_code(1, phone).await;
    let guesses = (0..20).map(|i| {
        let body = reset_body(phone, &token, &wrong(&code, i), "Tr4vel-by-Zeppelin");
        async move { stack.ciam(i, "/reset_user_password", &body).await }
    });
    let answers = join_all(guesses).await;
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    no_server_errors(&statuses);
    assert!(statuses.iter().all(|s| *s == 400 || *s == 503), "{answers:?}");
    assert!(statuses.iter().filter(|s| **s == 400).count() >= 5, "too few guesses got through: {answers:?}");
    let right = stack.ciam(0, "/reset_user_password", &reset_body(phone, &token, &code, "Tr4vel-by-Zeppelin")).await;
    assert_eq!(right.1["error"], "bad_phone_number_otp_token", "five wrong guesses killed it: {right:?}");
}

/// 60 parallel wrong guesses at two live codes of one account (10 attempts between them): no
/// more than the account's 8 are ever compared.
async fn the_account_budget_caps_parallel_guesses(stack: &Stack) {
    let phone = "+8613600000003";
    let id = stack.user("budget@example.com", Some(phone)).await;
    let first = stack.send_code(2, phone).await;
    tokio::time::sleep(Duration::from_millis(2_100)).await; // the destination's cooldown
    let second = stack.send_code(0, phone).await;
    let guesses = (0..60).map(|i| {
        let (token, code) = if i % 2 == 0 { &first } else { &second };
        let body = reset_body(phone, token, &wrong(code, i), "Tr4vel-by-Zeppelin");
        async move { stack.ciam(i, "/reset_user_password", &body).await.0 }
    });
    let statuses = join_all(guesses).await;
    // A 503 (a store call past its one-second deadline on a loaded machine) compares nothing.
    no_server_errors(&statuses);
    assert!(statuses.iter().all(|s| *s == 400 || *s == 503), "{statuses:?}");
    assert!(statuses.iter().filter(|s| **s == 400).count() >= 8, "too few guesses got through: {statuses:?}");
    // A guess that reserved one of the 8 and then met a code already dead gives it back, so the
    // window may end below 8 (CI saw 7); never above.
    let budget = format!("otp:guess:u:{id}");
    let spent = stack.window(&budget);
    assert!((1..=8).contains(&spent), "{spent} of the budget spent");
    // What the codes themselves counted: every wrong guess compared spent one of a code's 5
    // attempts, so between them at most 8 are gone.
    let compared: u32 = [&first, &second].iter().map(|(token, _)| 5 - stack.attempts_left(token)).sum();
    assert!((1..=8).contains(&compared), "{compared} wrong guesses were compared");
    // Unbounded, 60 guesses would spend both codes' 10 attempts. With at most 8 compared one
    // code still lives: with the window ended, its right code resets the password.
    stack.end_window(&budget);
    let mut answers = Vec::new();
    for (i, (token, code)) in [&first, &second].into_iter().enumerate() {
        let answer = stack.ciam(i, "/reset_user_password", &reset_body(phone, token, code, "Tr4vel-by-Zeppelin")).await;
        answers.push(answer.clone());
        if answer.0 == 200 {
            return;
        }
    }
    panic!("both codes died, so more than the budget was compared: {answers:?}");
}

/// The destination's 2 s cooldown and its 3 sends a day hold whichever process is asked.
async fn cooldown_and_daily_cap(stack: &Stack) {
    let phone = "+8613600000004";
    stack.user("cooldown@example.com", Some(phone)).await;
    let send = |i: usize| {
        let http = stack.http.post(format!("{}/otp/send", stack.base(i))).basic_auth(&stack.web.0, Some(&stack.web.1));
        async move {
            let r = http.json(&json!({"usage": "reset_password", "phone_number": phone})).send().await.unwrap();
            let retry: Option<u64> = r.headers().get("retry-after").map(|v| v.to_str().unwrap().parse().unwrap());
            let status = r.status().as_u16();
            (status, retry, r.json::<Value>().await.unwrap()["error"].clone())
        }
    };
    assert_eq!(send(0).await.0, 200);
    for i in [1, 2] {
        let (status, retry, error) = send(i).await;
        assert_eq!((status, error.as_str()), (400, Some("sms_rate_limit_exceeded")), "cooldown on process {i}");
        assert!(retry.is_some_and(|r| r <= 2), "{retry:?}");
    }
    for i in [1, 2] {
        tokio::time::sleep(Duration::from_millis(2_100)).await;
        assert_eq!(send(i).await.0, 200, "send {} of 3", i + 1);
    }
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let (status, retry, error) = send(0).await;
    assert_eq!((status, error.as_str()), (400, Some("sms_rate_limit_exceeded")), "the daily cap");
    assert!(retry.is_some_and(|r| r > 60), "a day's window, not the cooldown: {retry:?}");
}

/// A Looker session opened on one process works on the others; logout on one ends it on all.
async fn sessions_and_logout(stack: &Stack) {
    let creds = stack.ops.bootstrap.create_api_credentials("session@example.com", false).await.unwrap();
    let session = crate::backends::login(stack.base(1), creds.client_id.as_str(), creds.client_secret.expose()).await;
    for i in 0..3 {
        assert_eq!(me(stack.base(i), &session).await, 200, "process {i}");
    }
    let out = stack.http.delete(format!("{}/api/4.0/logout", stack.base(2))).bearer_auth(&session).send().await;
    assert_eq!(out.unwrap().status(), 204);
    for i in 0..3 {
        assert_eq!(me(stack.base(i), &session).await, 401, "ended on process {i}");
    }
}

/// A reset through one process ends the user's CIAM tokens and Looker API sessions (through
/// the generation published in Redis) on the others at once.
async fn a_reset_revokes_every_token(stack: &Stack) {
    let id = stack.user("revoked@example.com", None).await;
    let creds = stack.ops.bootstrap.create_api_credentials("revoked@example.com", false).await.unwrap();
    let session = crate::backends::login(stack.base(0), creds.client_id.as_str(), creds.client_secret.expose()).await;
    for i in 0..3 {
        assert_eq!(me(stack.base(i), &session).await, 200, "process {i}");
    }
    let form = [("grant_type", "password"), ("username", "revoked@example.com"), ("password", PASSWORD)];
    let r = stack.http.post(format!("{}/oauth2/token", stack.base(0))).basic_auth(&stack.spa, None::<&str>).form(&form);
    let tokens: Value = r.send().await.unwrap().json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap_or_else(|| panic!("{tokens}")).to_owned();
    let userinfo = |i: usize| {
        let r = stack.http.get(format!("{}/userinfo", stack.base(i))).bearer_auth(&access);
        async move { r.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(userinfo(2).await, 200);
    let token = link(stack.base(1), &stack.admin, &id).await;
    let body = json!({"token": token, "password": "Tr4vel-by-Zeppelin"});
    let r = stack.http.post(format!("{}/password/reset", stack.base(1))).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 200);
    for i in 0..3 {
        assert_eq!(userinfo(i).await, 401, "revoked on process {i}");
        assert_eq!(me(stack.base(i), &session).await, 401, "the Looker session revoked on process {i}");
    }
    let refresh = [("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())];
    let r = stack.http.post(format!("{}/oauth2/token", stack.base(2))).basic_auth(&stack.spa, None::<&str>);
    let answer: Value = r.form(&refresh).send().await.unwrap().json().await.unwrap();
    assert_eq!(answer["error"], "invalid_grant", "{answer}");
}

/// A client switched off (by the operator, in the database) is refused by every process
/// within `database.client_cache_ttl_secs` (2 s here).
async fn a_switched_off_client_is_refused_by_all(stack: &Stack) {
    let send = |i: usize| async move {
        stack.ciam(i, "/otp/send", &json!({"usage": "reset_password", "phone_number": "+8613600000099"})).await
    };
    for i in 0..3 {
        assert_eq!(send(i).await.0, 200, "every process has the client cached as on: {i}");
        tokio::time::sleep(Duration::from_millis(2_100)).await; // that destination's cooldown
    }
    let off = ClientSwitches { enabled: Some(false), ..ClientSwitches::default() };
    stack.ops.bootstrap.set_client_switches(&stack.web.0, off).await.unwrap();
    let switched = Instant::now();
    for i in 0..3 {
        loop {
            let (status, body) = send(i).await;
            if status == 401 {
                break;
            }
            assert!(status == 200 || status == 400, "{status} {body}");
            assert!(switched.elapsed() < Duration::from_secs(4), "process {i} still serves the client");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
