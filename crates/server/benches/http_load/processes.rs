//! The processes of the run: `psql` and `pgbench` on the bench database, and the release
//! `resetd` binary (`serve`, `admin`).

use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::{ADDR, CONNECTIONS, DB, SECONDS};

pub(crate) fn psql(db: &str, sql: &str) {
    let ok = Command::new("psql")
        .args(["-q", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-c", sql])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "psql failed: {sql}");
}

/// The limits the loads raise: every request comes from 127.0.0.1, as one caller.
const RAISED_LIMITS: [(&str, &str); 6] = [
    ("RESETD__OTP__PER_CLIENT_PER_MINUTE", "100000000"),
    ("RESETD__OTP__PER_IP_PER_MINUTE", "100000000"),
    ("RESETD__LIMITS__LOGIN_PER_IP_PER_MINUTE", "100000000"),
    ("RESETD__LIMITS__RESET_TOKENS_PER_CALLER_PER_MINUTE", "100000000"),
    ("RESETD__LIMITS__PASSWORD_CHANGES_PER_IP_PER_MINUTE", "100000000"),
    ("RESETD__LIMITS__TOKEN_PER_IP_PER_MINUTE", "100000000"),
];

pub(crate) struct Server(Child);

impl Server {
    pub(crate) fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A token key for this bench run, generated (no key is a literal in the repository).
pub(crate) fn bench_key() -> &'static str {
    static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    KEY.get_or_init(|| format!("{:032x}{:032x}", rand::random::<u128>(), rand::random::<u128>()))
}

/// One P-256 signing key for the run, generated at the first use.
fn signing_key() -> &'static str {
    static PEM: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PEM.get_or_init(|| {
        let (_, pem) =
            resetd_domain::oidc::SigningKey::generate_es256().unwrap_or_else(|e| panic!("a signing key: {e}"));
        secrecy::ExposeSecret::expose_secret(&pem).to_owned()
    })
}

pub(crate) fn resetd(args: &[&str], sms_webhook: &str) -> Command {
    resetd_binary(env!("CARGO_BIN_EXE_resetd"), args, sms_webhook)
}

/// `resetd serve` under the production default limits (the others raise the per-address,
/// per-client and per-caller ones, since every load comes from one address).
pub(crate) fn serve_defaults(sms: &str) -> Server {
    let mut c = resetd(&["serve"], sms);
    for (key, _) in RAISED_LIMITS {
        c.env_remove(key);
    }
    Server(c.stderr(server_log()).spawn().unwrap_or_else(|e| panic!("spawning resetd: {e}")))
}

/// `resetd serve` from `binary` (another build of it).
pub(crate) fn serve_binary(binary: &str, sms: &str) -> Server {
    let child = resetd_binary(binary, &["serve"], sms).stderr(server_log()).spawn();
    Server(child.unwrap_or_else(|e| panic!("spawning {binary}: {e}")))
}

fn resetd_binary(binary: &str, args: &[&str], sms_webhook: &str) -> Command {
    let mut c = Command::new(binary);
    c.args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .env("RESETD_PROFILE", "production")
        .env("RESETD__SERVER__BIND", ADDR)
        .env("RESETD__SERVER__PUBLIC_BASE_URL", format!("http://{ADDR}"))
        .env("RESETD__DATABASE__URL", format!("postgres://postgres@127.0.0.1:5432/{DB}"))
        .env("RESETD__DATABASE__MAX_CONNECTIONS", CONNECTIONS.to_string())
        .env("RESETD__REDIS__URL", "redis://127.0.0.1:6379")
        .env("RESETD__REDIS__KEY_PREFIX", format!("bench{}:", std::process::id()))
        .env("RESETD__SECURITY__TOKEN_KEY", bench_key())
        .env("RESETD__OIDC__SIGNING_KEY", signing_key())
        .env("RESETD__SMS__WEBHOOK_URL", sms_webhook)
        .envs(RAISED_LIMITS)
        .env("RESETD__MAIL__ENABLED", "false")
        // The log sender's messages are its deliveries: keep them (in a file, not the terminal).
        .env("RUST_LOG", "warn,resetd_adapters_notify=info");
    c
}

/// The log of the server under load: `target/bench-resetd.log`.
pub(crate) fn server_log() -> Stdio {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/bench-resetd.log");
    std::fs::File::create(path).map_or_else(|_| Stdio::null(), Stdio::from)
}

pub(crate) fn serve(sms: &str) -> Server {
    Server(resetd(&["serve"], sms).stderr(server_log()).spawn().unwrap_or_else(|e| panic!("spawning resetd: {e}")))
}

/// One value from `psql` (e.g. `select min(id) ...`).
pub(crate) fn psql_value(db: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args(["-qtA", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .unwrap_or_else(|e| panic!("psql: {e}"));
    assert!(out.status.success(), "psql failed: {sql}");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

pub(crate) fn admin(args: &[&str], sms: &str) -> Value {
    let out = resetd(args, sms).output().unwrap_or_else(|e| panic!("resetd {args:?}: {e}"));
    assert!(out.status.success(), "resetd {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// pgbench with the statements one `password_reset` call sends to PostgreSQL, as resetd sends
/// them: the caller's view of the user, then one statement that replaces the token and writes
/// the audit event (its own transaction), at `clients` connections, on a user drawn from
/// `first..=last` per transaction (as the HTTP load spreads over them).
pub(crate) fn pgbench_password_reset(mode: &str, clients: usize, first: i64, last: i64) -> Option<Pgbench> {
    pgbench(
        "password-reset",
        mode,
        clients,
        &format!(
            "\\set user_id random({first}, {last})\n\
             select u.id, u.first_name, u.last_name, u.locale, u.phone, u.status, u.password_hash is not null, u.generation, u.created_at, c.email \
               from users u left join credentials_email c on c.user_id = u.id where u.id = :user_id;\n\
             with issued as (update credentials_email set reset_token_hash = sha256(random()::text::bytea), reset_token_kind = 'password_reset', \
                 reset_token_issued_at = now(), reset_token_expires_at = now() + interval '1 hour', reset_token_key = '0123456789abcdef' where user_id = :user_id \
                 returning user_id, email, created_at, logged_in_at, forced_reset, reset_token_hash is not null as has_token, reset_token_kind, reset_token_issued_at, reset_token_expires_at), \
               logged as (insert into audit_events (at, kind, user_id, actor, detail) select now(), 'reset_token_issued', :user_id, 'bench', 'password_reset' from issued) \
             select * from issued;\n"
        ),
    )
}

/// pgbench running the one statement `/otp/send` sends to PostgreSQL for an unknown account
/// (the user lookup by phone, prepared as sqlx prepares it), at `clients` connections.
pub(crate) fn pgbench_user_lookup(clients: usize) -> Option<Pgbench> {
    pgbench(
        "user-lookup",
        "prepared",
        clients,
        "\\set n random(1, 1000000000)\n\
         select u.id, u.first_name, u.last_name, u.locale, u.phone, u.status, c.email, u.password_hash is not null, u.generation, u.created_at \
           from users u left join credentials_email c on c.user_id = u.id where u.phone = '+44' || (7000000000 + :n)::text;\n",
    )
}

/// Runs `sql` as a pgbench script for [`SECONDS`]; `mode` is pgbench's query mode: `simple`
/// (its default: text queries, parsed and planned each time) or `prepared` (as sqlx sends
/// them: prepared once per connection, then bound and executed).
pub(crate) fn pgbench(name: &str, mode: &str, clients: usize, sql: &str) -> Option<Pgbench> {
    let postmaster = crate::cpu::postmaster();
    let before = crate::cpu::read(&crate::cpu::Processes { postmaster, ..Default::default() }).postgres;
    let script = std::env::temp_dir().join(format!("resetd-{name}.sql"));
    std::fs::write(&script, sql).ok()?;
    let out = Command::new("pgbench")
        .args([
            "-n",
            "-M",
            mode,
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-c",
            &clients.to_string(),
            "-j",
            "2",
            "-T",
            &SECONDS.to_string(),
            "-f",
        ])
        .arg(&script)
        .arg(DB)
        .output()
        .ok()?;
    let used = crate::cpu::read(&crate::cpu::Processes { postmaster, ..Default::default() }).postgres - before;
    let text = String::from_utf8_lossy(&out.stdout);
    let tps = text.lines().find(|l| l.starts_with("tps")).and_then(|l| l.split_whitespace().nth(2))?.parse().ok()?;
    let count = text.lines().find_map(|l| l.strip_prefix("number of transactions actually processed: "));
    let count: f64 = count.and_then(|c| c.split_whitespace().next()).and_then(|c| c.parse().ok())?;
    Some(Pgbench { tps, pg_ms: 1e3 * used / count.max(1.0) })
}

/// What a pgbench run reached: transactions per second, and PostgreSQL's CPU per transaction
/// in ms (every backend; pgbench's own is the load generator's).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pgbench {
    pub(crate) tps: f64,
    pub(crate) pg_ms: f64,
}

/// `perf record` of `pid` (call graphs, 499 Hz) into `target/bench-perf.data`, if perf runs.
pub(crate) fn perf_record(pid: u32) -> Option<Child> {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/bench-perf.data");
    Command::new("perf")
        .args(["record", "-F", "499", "-g", "-o", data, "-p", &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

/// Stops `perf record` and writes its summary to `target/bench-perf.txt`: where resetd's CPU
/// went, by shared object and by symbol. The lines by shared object, for the table.
pub(crate) fn perf_report(mut record: Child) -> Vec<String> {
    let _ = Command::new("kill").args(["-INT", &record.id().to_string()]).status();
    let _ = record.wait();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../target");
    let report = |sort: &str, limit: &str| {
        let out = Command::new("perf")
            .args(["report", "-i", &format!("{dir}/bench-perf.data"), "--stdio", "--no-children"])
            .args(["--sort", sort, "--percent-limit", limit, "-g", "none"])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        Some(
            text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).map(str::to_owned).collect::<Vec<_>>(),
        )
    };
    let (by_dso, by_symbol) = (report("dso", "1").unwrap_or_default(), report("dso,symbol", "0.5").unwrap_or_default());
    let text = format!("by shared object\n{}\n\nby symbol\n{}\n", by_dso.join("\n"), by_symbol.join("\n"));
    let _ = std::fs::write(format!("{dir}/bench-perf.txt"), text);
    by_dso
}
