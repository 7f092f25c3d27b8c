//! The dev profile's first minutes: what it bootstrapped, printed once and written to
//! `dev.bootstrap_file` (mode 0600), and the kept messages behind `/dev/outbox`.

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use resetd_adapters_notify::Mailbox;
use resetd_api_http::{DevMessage, DevOutbox};
use resetd_app::first_run::Bootstrapped;
use secrecy::ExposeSecret as _;
use serde_json::{json, Value};

/// The mailbox as `/dev/outbox` reads it.
#[derive(Debug)]
pub struct MailboxOutbox(pub Arc<Mailbox>);

impl DevOutbox for MailboxOutbox {
    fn messages(&self) -> Vec<DevMessage> {
        self.0
            .messages()
            .into_iter()
            .map(|k| DevMessage {
                to: k.to,
                channel: k.channel.into(),
                subject: k.subject,
                text: k.text,
                sent_at: k.sent_at,
            })
            .collect()
    }
}

/// What a bootstrap made, secrets included (they are shown this once).
pub fn bootstrap_json(b: &Bootstrapped) -> Value {
    json!({
        "looker": {
            "client_id": b.admin_client_id.as_str(),
            "client_secret": b.admin_secret.as_ref().map(|s| s.expose()),
            "user_id": b.admin_user_id.to_string(),
        },
        "ciam": {
            "web": {"client_id": b.web_client_id.as_str(), "client_secret": b.web_secret.as_ref().map(|s| s.expose())},
            "spa": {"client_id": b.spa_client_id.as_str()},
        },
        "user": {
            "user_id": b.user_id.to_string(),
            "email": b.user_email.as_str(),
            "phone_number": b.user_phone.as_str(),
            "password": b.user_password.as_ref().map(|p| p.expose_secret()),
        },
    })
}

/// Prints `made` on standard output (not through the log) and writes it to `file` (unless
/// empty) with mode 0600, replacing any earlier one whole.
///
/// # Errors
/// The file cannot be written.
pub fn announce(made: &Value, file: &str) -> anyhow::Result<()> {
    let pretty = serde_json::to_string_pretty(made)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "resetd dev bootstrap (in memory; shown once, gone at exit):\n{pretty}")?;
    if !file.is_empty() {
        write_private(Path::new(file), &pretty).with_context(|| format!("writing {file}"))?;
        writeln!(out, "written to {file} (mode 0600)")?;
    }
    Ok(())
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}
