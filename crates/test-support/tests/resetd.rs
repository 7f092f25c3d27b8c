//! The resetd binary as a process: it serves in the dev profile and refuses an incomplete
//! production configuration.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use resetd_test_support::ResetdProcess;

/// The status line of `GET path` (raw HTTP/1.1, no client crate).
fn get_status_line(port: u16, path: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connecting to resetd");
    stream.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("writing");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response).expect("reading");
    response.lines().next().unwrap_or_default().to_owned()
}

#[test]
fn the_dev_profile_serves_healthz_and_shuts_down_on_sigterm() {
    let mut resetd = ResetdProcess::start(&[("RESETD_PROFILE", "dev")]);
    assert_eq!(resetd.base_url(), format!("http://127.0.0.1:{}", resetd.port()));
    assert_eq!(get_status_line(resetd.port(), "/healthz"), "HTTP/1.1 200 OK");
    assert!(resetd.wait_exit(Duration::from_millis(100)).is_none(), "resetd exited on its own");

    let status = resetd.terminate();
    assert!(status.success(), "SIGTERM should be a clean shutdown: {status}\n{}", resetd.log());
    assert!(TcpStream::connect(("127.0.0.1", resetd.port())).is_err(), "still listening after exit");
}

#[test]
fn a_killed_process_is_gone() {
    let mut resetd = ResetdProcess::start(&[("RESETD_PROFILE", "dev")]);
    let pid = resetd.pid();
    resetd.kill();
    assert!(resetd.wait_exit(Duration::from_secs(1)).is_some());
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "pid {pid} still exists");
}

#[test]
fn production_without_a_database_url_refuses_to_start_with_a_one_line_reason() {
    // Senders for both channels, so that the database is the one missing production setting
    // (nothing is contacted: resetd refuses before it connects to anything).
    let senders = [("RESETD__MAIL__SMTP_HOST", "127.0.0.1"), ("RESETD__SMS__WEBHOOK_URL", "http://127.0.0.1:9/sms")];
    let (status, output) = ResetdProcess::run_to_exit(&senders, Duration::from_secs(20));
    assert!(!status.success(), "resetd started without a database: {output}");
    let reasons: Vec<&str> = output.lines().filter(|l| l.contains("RESETD__DATABASE__URL")).collect();
    assert_eq!(reasons.len(), 1, "one line naming RESETD__DATABASE__URL expected:\n{output}");
}
