//! Debian's Chromium under chromedriver on a free port, started for the test and killed after
//! it, with a fresh profile under `target/browser/` and none of the background connections
//! this closed network refuses.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::Method;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Value};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

pub enum Found {
    Yes(Chromium),
    No,
}

/// A running chromedriver.
pub struct Chromium {
    driver: Child,
    port: u16,
    dir: PathBuf,
}

impl Chromium {
    pub fn missing() -> String {
        format!("{CHROMIUM} or {CHROMEDRIVER} is not installed (Debian packages chromium and chromium-driver)")
    }

    pub fn find() -> Found {
        if !(std::path::Path::new(CHROMIUM).is_file() && std::path::Path::new(CHROMEDRIVER).is_file()) {
            return Found::No;
        }
        let port = resetd_test_support::free_port();
        let dir = resetd_test_support::target_dir().join("browser");
        std::fs::create_dir_all(&dir).unwrap();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {CHROMEDRIVER}: {e}"));
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "chromedriver did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Found::Yes(Self { driver, port, dir })
    }

    /// A new headless browser session; `accept_language` sets the browser's languages.
    pub async fn session(&self, accept_language: Option<&str>) -> Client {
        let profile = self.dir.join(resetd_ports::testkit::unique("profile-"));
        let mut options = json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--window-size=1024,768", format!("--user-data-dir={}", profile.display()),
            ],
        });
        if let Some(languages) = accept_language {
            options["prefs"] = json!({"intl.accept_languages": languages});
            options["args"]
                .as_array_mut()
                .unwrap()
                .push(format!("--lang={}", languages.split(',').next().unwrap()).into());
        }
        let caps =
            json!({"browserName": "chrome", "goog:chromeOptions": options, "goog:loggingPrefs": {"browser": "ALL"}});
        let Value::Object(caps) = caps else { unreachable!() };
        // Both of rustls's providers are compiled in (through other crates); pick one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        ClientBuilder::rustls()
            .unwrap()
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .unwrap_or_else(|e| panic!("a Chromium session through chromedriver: {e}"))
    }

    /// Saves what the browser shows as `target/browser/<name>.png`.
    pub async fn screenshot(&self, c: &Client, name: &str) {
        let png = c.screenshot().await.unwrap();
        std::fs::write(self.dir.join(format!("{name}.png")), png).unwrap();
    }

    /// No Content-Security-Policy violation, script error or failed load in the console, but
    /// the 4xx answers the pages give on purpose (a refused password, a used link), which it
    /// counts: a console that shows them is a console that is read.
    pub async fn assert_clean_console(&self, c: &Client) -> usize {
        let log = c.issue_cmd(BrowserLog).await.unwrap();
        let entries = log.as_array().cloned().unwrap_or_default();
        let bad: Vec<&Value> = entries
            .iter()
            .filter(|e| {
                let text = e["message"].as_str().unwrap_or_default();
                let on_purpose =
                    text.contains("/password/reset") && text.contains("the server responded with a status of 4");
                let severe = e["level"] == "SEVERE" || e["level"] == "WARNING";
                (severe && !on_purpose && !text.contains("favicon.ico"))
                    || text.contains("Content Security Policy")
                    || text.contains("Refused to")
            })
            .collect();
        assert!(bad.is_empty(), "console: {bad:#?}");
        entries.iter().filter(|e| e["message"].as_str().is_some_and(|t| t.contains("status of 4"))).count()
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for e in entries.flatten().filter(|e| e.file_name().to_string_lossy().starts_with("profile-")) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

/// chromedriver's browser log (console messages, CSP reports, failed loads).
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (Method, Option<String>) {
        (Method::POST, Some(json!({"type": "browser"}).to_string()))
    }
}
