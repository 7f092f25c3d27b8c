//! `SmtpSender` against the real SMTP sink process (`scripts/smtp_sink.py`, aiosmtpd).
//!
//! The test starts the sink on a free port with a fresh directory, sends through it, and reads
//! back the raw `.eml` files. The sink runs on the tests' one virtualenv (target/venv, made
//! by resetd-test-support when missing). If the sink cannot start the test fails
//! and says so: it never skips.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use resetd_adapters_notify::{SmtpConfig, SmtpSender, TlsMode};
use resetd_domain::locale::Language;
use resetd_domain::otp::{OtpCode, Recipient};
use resetd_domain::user::{Email, PhoneNumber};
use resetd_ports::notify::{Notice, Notification, Notifier, NotifyError};
use secrecy::SecretString;

/// The sink process and its directory; killed and removed on drop, even when a test panics.
struct Sink {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Sink {
    fn start() -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/smtp_sink.py");
        assert!(script.is_file(), "the SMTP sink script is missing: {}", script.display());
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
        let dir = std::env::temp_dir().join(format!("resetd-smtp-sink-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(resetd_test_support::python())
            .arg(&script)
            .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--dir"])
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `python3 {}` for the SMTP sink: {e}", script.display()));
        let mut sink = Self { child, port, dir };
        sink.wait_until_listening(Duration::from_secs(20));
        sink
    }

    fn wait_until_listening(&mut self, limit: Duration) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut stderr = String::new();
                if let Some(mut pipe) = self.child.stderr.take() {
                    use std::io::Read as _;
                    let _ = pipe.read_to_string(&mut stderr);
                }
                panic!(
                    "the SMTP sink (scripts/smtp_sink.py) exited with {status} before listening; \
                     it runs on the test virtualenv (resetd_test_support::python()). Its stderr:\n{stderr}"
                );
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            assert!(start.elapsed() < limit, "the SMTP sink did not listen on port {} within {limit:?}", self.port);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until `n` complete `.eml` files are there and returns them, oldest first.
    fn messages(&self, n: usize) -> Vec<String> {
        let start = Instant::now();
        loop {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect();
            if files.len() >= n {
                files.sort();
                assert_eq!(files.len(), n, "more messages than sent: {files:?}");
                return files.iter().map(|p| String::from_utf8(std::fs::read(p).unwrap()).unwrap()).collect();
            }
            assert!(start.elapsed() < Duration::from_secs(10), "only {} of {n} messages arrived", files.len());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn sender(&self) -> SmtpSender {
        let config = SmtpConfig {
            tls: TlsMode::None,
            timeout: Duration::from_secs(5),
            ..SmtpConfig::new("127.0.0.1", self.port, "Example Accounts <no-reply@example.com>")
        };
        SmtpSender::new(config).unwrap()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A parsed raw message: unfolded headers and the decoded text body.
struct Eml {
    headers: Vec<(String, String)>,
    body: String,
}

impl Eml {
    fn parse(raw: &str) -> Self {
        let (head, body) = raw.split_once("\r\n\r\n").expect("a blank line ends the header");
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                headers.last_mut().expect("a continuation follows a header").1.push_str(line);
            } else {
                let (name, value) = line.split_once(':').expect("a header line has a colon");
                headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let mut eml = Self { headers, body: String::new() };
        let encoding = eml.header("content-transfer-encoding").unwrap_or("7bit").to_ascii_lowercase();
        eml.body = match encoding.as_str() {
            "7bit" | "8bit" => body.to_owned(),
            "quoted-printable" => decode_quoted_printable(body),
            "base64" => {
                let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
                String::from_utf8(base64::engine::general_purpose::STANDARD.decode(compact).unwrap()).unwrap()
            }
            other => panic!("unexpected Content-Transfer-Encoding {other}"),
        };
        eml
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// A header with its RFC 2047 encoded words decoded.
    fn text_header(&self, name: &str) -> String {
        decode_rfc2047(self.header(name).unwrap_or_else(|| panic!("no {name} header")))
    }
}

fn decode_quoted_printable(body: &str) -> String {
    let joined = body.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// Decodes `=?utf-8?b?…?=` and `=?utf-8?q?…?=` words; whitespace between two encoded words
/// is dropped, as RFC 2047 says.
fn decode_rfc2047(value: &str) -> String {
    let mut out = String::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut previous_was_encoded = false;
    for token in value.split_whitespace() {
        let inner = token.strip_prefix("=?").and_then(|t| t.strip_suffix("?="));
        let word = inner.and_then(|t| {
            let mut parts = t.splitn(3, '?');
            let (charset, encoding, text) = (parts.next()?, parts.next()?, parts.next()?);
            assert!(charset.eq_ignore_ascii_case("utf-8"), "charset {charset}");
            Some(match encoding {
                "b" | "B" => base64::engine::general_purpose::STANDARD.decode(text).unwrap(),
                "q" | "Q" => decode_quoted_printable(&text.replace('_', " ")).into_bytes(),
                other => panic!("unknown encoded-word encoding {other}"),
            })
        });
        match word {
            Some(bytes) => {
                if !previous_was_encoded && !out.is_empty() {
                    out.push(' ');
                }
                pending.extend(bytes);
                previous_was_encoded = true;
            }
            None => {
                out.push_str(&String::from_utf8(std::mem::take(&mut pending)).unwrap());
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(token);
                previous_was_encoded = false;
            }
        }
    }
    out.push_str(&String::from_utf8(pending).unwrap());
    out
}

fn email(address: &str) -> Recipient {
    Recipient::Email(Email::parse(address).unwrap())
}

/// Longer than a mail line, with `=` and `-`: quoted-printable would fold and escape it.
const URL: &str =
    "https://id.example.com/password/reset?token=Zm9vYmFyYmF6cXV4LXF1dXgtY29yZ2UtZ3JhdWx0LWdhcnBseS13YWxkbw&lang=en";

#[tokio::test]
async fn reset_link_and_otp_emails_reach_the_sink_intact() {
    let sink = Sink::start();
    let sender = sink.sender();

    sender
        .send(Notification {
            to: email("ada@example.com"),
            language: Language::English,
            name: Some("Ada Lovelace".into()),
            notice: Notice::ResetLink { url: SecretString::from(URL), expires_in: Some(Duration::from_secs(1800)) },
        })
        .await
        .unwrap();
    let first = sink.messages(1);

    sender
        .send(Notification {
            to: email("lilei@example.com"),
            language: Language::SimplifiedChinese,
            name: Some("李雷".into()),
            notice: Notice::OtpCode { code: OtpCode::parse("493027").unwrap(), valid_for: Duration::from_secs(300) },
        })
        .await
        .unwrap();
    let all = sink.messages(2);
    assert_eq!(all[0], first[0], "files are never rewritten");

    let reset = Eml::parse(&all[0]);
    assert_eq!(reset.text_header("to").replace('"', ""), "Ada Lovelace <ada@example.com>");
    assert!(reset.text_header("from").ends_with("<no-reply@example.com>"));
    assert_eq!(reset.text_header("subject"), "Reset your password");
    assert!(reset.header("content-type").unwrap().starts_with("text/plain; charset=utf-8"));
    assert!(reset.header("message-id").is_some() && reset.header("date").is_some());
    assert!(reset.body.starts_with("Hello Ada Lovelace,\r\n"), "{}", reset.body);
    assert!(reset.body.split("\r\n").any(|line| line == URL), "the link is on its own line, whole: {}", reset.body);
    assert!(reset.body.contains("30 minutes"));

    let otp = Eml::parse(&all[1]);
    let to = otp.text_header("to");
    assert!(to.contains("李雷") && to.ends_with("<lilei@example.com>"), "{to}");
    assert_eq!(otp.text_header("subject"), "您的验证码");
    assert!(otp.body.contains("    493027\r\n"), "{}", otp.body);
    assert!(otp.body.contains("5 分钟内有效"), "{}", otp.body);
}

#[tokio::test]
async fn phone_recipients_are_not_for_smtp() {
    // No relay is needed: the sender refuses before connecting.
    let sender =
        SmtpSender::new(SmtpConfig { tls: TlsMode::None, ..SmtpConfig::new("127.0.0.1", 9, "a@example.com") }).unwrap();
    let err = sender
        .send(Notification {
            to: Recipient::Phone(PhoneNumber::parse("+8613612345678").unwrap()),
            language: Language::English,
            name: None,
            notice: Notice::PasswordChanged,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, NotifyError::NoChannel("sms")), "{err:?}");
}

#[tokio::test]
async fn an_unreachable_relay_is_a_delivery_error_without_the_link() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = SmtpConfig {
        tls: TlsMode::None,
        timeout: Duration::from_secs(2),
        ..SmtpConfig::new("127.0.0.1", port, "no-reply@example.com")
    };
    let sender = SmtpSender::new(config).unwrap();
    let start = Instant::now();
    let err = sender
        .send(Notification {
            to: email("ada@example.com"),
            language: Language::English,
            name: None,
            notice: Notice::ResetLink { url: SecretString::from(URL), expires_in: None },
        })
        .await
        .unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(4), "took {:?}", start.elapsed());
    assert!(matches!(err, NotifyError::Delivery(_)), "{err:?}");
    let shown =
        format!("{err} {err:?} {}", std::error::Error::source(&err).map(ToString::to_string).unwrap_or_default());
    assert!(!shown.contains("token=") && !shown.contains(URL), "{shown}");
}
