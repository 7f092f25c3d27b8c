//! The two helper servers of the run, each this bench binary started again in its own process
//! (so that its CPU is read apart from the load generator's): the empty axum handler (the
//! floor) and the SMS gateway the webhook posts codes to.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;

/// The flag that starts the floor: `--serve-floor <addr>`.
pub(crate) const FLOOR: &str = "--serve-floor";
/// The flag that starts the SMS gateway: `--sms-catcher <addr>`.
pub(crate) const CATCHER: &str = "--sms-catcher";

/// A helper server in its own process; killed on drop.
pub(crate) struct Helper {
    child: Child,
    pub(crate) addr: SocketAddr,
}

impl Helper {
    /// Starts this binary with `flag` on a free port and waits until it accepts connections.
    pub(crate) fn start(flag: &str) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap_or_else(|e| panic!("a free port: {e}"))
            .port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let exe = std::env::current_exe().unwrap_or_else(|e| panic!("the bench binary: {e}"));
        let child = Command::new(exe)
            .args([flag, &addr.to_string()])
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {flag}: {e}"));
        let helper = Self { child, addr };
        for _ in 0..200 {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
                return helper;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("{flag} did not start on {addr}");
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the helper server `flag` names on `addr` (the process's whole life), if the command
/// line asks for one.
pub(crate) async fn run_if_asked() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let Some((flag, addr)) = args.iter().position(|a| a == FLOOR || a == CATCHER).and_then(|i| {
        let addr: SocketAddr = args.get(i + 1)?.parse().ok()?;
        Some((args[i].clone(), addr))
    }) else {
        return false;
    };
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap_or_else(|e| panic!("binding {addr}: {e}"));
    let router = if flag == FLOOR {
        axum::Router::new().route("/empty", axum::routing::post(|| async { "" }))
    } else {
        catcher()
    };
    let _ = axum::serve(listener, router).await;
    true
}

/// `POST /sms` keeps the code of each message by recipient; `GET /codes` returns them.
fn catcher() -> axum::Router {
    let codes: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let sink = codes.clone();
    axum::Router::new()
        .route(
            "/sms",
            axum::routing::post(move |axum::Json(b): axum::Json<Value>| {
                let sink = sink.clone();
                async move {
                    let text = b["text"].as_str().unwrap_or_default();
                    let code: String =
                        text.chars().skip_while(|c| !c.is_ascii_digit()).take_while(char::is_ascii_digit).collect();
                    let to = b["to"].as_str().unwrap_or_default().to_owned();
                    sink.lock().unwrap_or_else(PoisonError::into_inner).insert(to, code);
                    "ok"
                }
            }),
        )
        .route(
            "/codes",
            axum::routing::get(move || {
                let codes = codes.lock().unwrap_or_else(PoisonError::into_inner).clone();
                async move { axum::Json(codes) }
            }),
        )
}

/// Every code the gateway at `addr` received, by recipient.
pub(crate) async fn codes(http: &reqwest::Client, addr: SocketAddr) -> HashMap<String, String> {
    let r = http.get(format!("http://{addr}/codes")).send().await.unwrap_or_else(|e| panic!("codes: {e}"));
    r.json().await.unwrap_or_else(|e| panic!("codes: {e}"))
}
