//! A real SMTP sink: a plain SMTP dialogue lands in `messages()`, across a restart.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use resetd_test_support::SmtpSink;

/// Sends one message with a plain SMTP dialogue, checking every reply code.
fn send(port: u16, subject: &str) {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connecting to the sink");
    stream.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    let mut expect = |code: &str| loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("reading a reply");
        assert!(line.starts_with(code), "expected {code}, got {line:?}");
        if line.as_bytes().get(3) != Some(&b'-') {
            break; // the last line of a (multi-line) reply
        }
    };
    expect("220");
    let mut say = |line: &str| writer.write_all(format!("{line}\r\n").as_bytes()).expect("writing");
    say("EHLO test.invalid");
    expect("250");
    say("MAIL FROM:<resetd@test.invalid>");
    expect("250");
    say("RCPT TO:<user@test.invalid>");
    expect("250");
    say("DATA");
    expect("354");
    say(&format!("From: resetd@test.invalid\r\nTo: user@test.invalid\r\nSubject: {subject}\r\n\r\nHello.\r\n."));
    expect("250");
    say("QUIT");
    expect("221");
}

#[test]
fn messages_arrive_in_order_and_survive_a_restart_on_the_same_port() {
    let mut sink = SmtpSink::start();
    assert!(sink.messages().is_empty());
    send(sink.port(), "first");
    let messages = sink.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].contains("Subject: first"), "{}", messages[0]);
    assert!(messages[0].contains("Hello."), "{}", messages[0]);

    let port = sink.port();
    sink.stop();
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "a stopped sink still answers");
    sink.restart();
    assert_eq!(sink.port(), port);
    send(port, "second");
    let subjects: Vec<bool> = sink.messages().iter().map(|m| m.contains("Subject: second")).collect();
    assert_eq!(subjects, [false, true], "oldest first");

    let dir = sink.dir().to_path_buf();
    drop(sink);
    assert!(!dir.exists(), "{} is still there", dir.display());
}
