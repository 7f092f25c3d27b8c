//! 5. The CIAM token endpoint under load: the password grant (argon2-bound: one verification
//!    per login, compared with one hash per login in the same run) and the refresh grant
//!    (compared with the empty handler), each run [`crate::stats::RUNS`] times.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;

use crate::cpu::Processes;
use crate::stats::{load, repeat, Repeated};
use crate::{ADDR, CONNECTIONS, SECONDS};

/// Logs the `accounts` (username, password) in with the web client `(id, secret)`, then
/// refreshes the sessions it opened, each refresh with the latest token of one.
pub(crate) async fn run(
    http: &reqwest::Client,
    p: &Processes,
    id: &str,
    secret: &str,
    accounts: Vec<(String, String)>,
) -> (Repeated, Repeated) {
    let accounts = Arc::new(accounts);
    let refresh_tokens: Arc<Mutex<VecDeque<String>>> = Arc::default();
    let creds = (id.to_owned(), secret.to_owned());
    let password = repeat(p, |_| {
        let (c, creds, pool, list) = (http.clone(), creds.clone(), refresh_tokens.clone(), accounts.clone());
        load("POST /oauth2/token (password grant)", CONNECTIONS, SECONDS, usize::MAX, move |n| {
            let (c, (id, secret), pool, list) = (c.clone(), creds.clone(), pool.clone(), list.clone());
            async move {
                let (username, password) = &list[n % list.len()];
                let form =
                    [("grant_type", "password"), ("username", username.as_str()), ("password", password.as_str())];
                let answer = token(&c, &id, &secret, &form).await;
                answer.map(|t| pool.lock().unwrap_or_else(PoisonError::into_inner).push_back(t)).is_some()
            }
        })
    })
    .await;
    let refresh = repeat(p, |_| {
        let (c, creds, pool) = (http.clone(), creds.clone(), refresh_tokens.clone());
        load("POST /oauth2/token (refresh grant)", CONNECTIONS, SECONDS, usize::MAX, move |_| {
            let (c, (id, secret), pool) = (c.clone(), creds.clone(), pool.clone());
            async move {
                let Some(old) = pool.lock().unwrap_or_else(PoisonError::into_inner).pop_front() else { return false };
                let form = [("grant_type", "refresh_token"), ("refresh_token", old.as_str())];
                let answer = token(&c, &id, &secret, &form).await;
                answer.map(|t| pool.lock().unwrap_or_else(PoisonError::into_inner).push_back(t)).is_some()
            }
        })
    })
    .await;
    (password, refresh)
}

/// The refresh token of a successful grant.
async fn token(c: &reqwest::Client, id: &str, secret: &str, form: &[(&str, &str)]) -> Option<String> {
    let r = c.post(format!("http://{ADDR}/oauth2/token")).basic_auth(id, Some(secret)).form(form).send().await.ok()?;
    let body: Value = r.error_for_status().ok()?.json().await.ok()?;
    body["refresh_token"].as_str().map(str::to_owned)
}
