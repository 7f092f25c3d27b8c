//! `resetd`: serve (default), migrate, and operator commands.

use std::path::PathBuf;

mod cli_words;

/// mimalloc, when built with the `mimalloc` feature (`make bench` compares it); else the system
/// allocator.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use resetd_app::bootstrap::{ClientPolicy, ClientSwitches};
use resetd_server::{Application, Profile, Settings};
use secrecy::ExposeSecret as _;
use serde_json::json;

#[derive(Debug, Parser)]
#[command(name = "resetd", version, about = "Password resets speaking Looker API 4.0 and Tencent CIAM")]
struct Cli {
    /// Folder of default.toml and {profile}.toml.
    #[arg(long, env = "RESETD_CONFIG_DIR", default_value = "config")]
    config_dir: PathBuf,
    /// dev (in-memory by default) or production (requires PostgreSQL and Redis).
    #[arg(long, env = "RESETD_PROFILE", default_value = "dev")]
    profile: String,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve HTTP (the default).
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
    /// Print a new token signing key (a P-256 key in PKCS#8 PEM, for `oidc.signing_key`).
    SigningKey,
    /// Operator commands; they need the configured PostgreSQL (in memory they vanish on exit).
    #[command(subcommand)]
    Admin(Admin),
}

#[derive(Debug, Subcommand)]
enum Admin {
    /// Create what a newcomer needs (an admin API credential, a web and an SPA CIAM client, a
    /// demo user) and print it; a re-run changes nothing and reports the ids.
    Bootstrap {
        /// Mint new secrets for the admin credential and the web client.
        #[arg(long)]
        rotate: bool,
    },
    /// Create (or reuse) a user with EMAIL and a Looker API credential for it.
    CreateApiCredentials {
        #[arg(long)]
        email: String,
        #[arg(long)]
        admin: bool,
    },
    /// Register a CIAM application.
    CreateClient {
        #[arg(long = "type")]
        client_type: String,
        #[arg(long)]
        name: String,
        /// A preset name from the configuration, or the client's own policy as JSON, e.g.
        /// '{"min_length": 12, "history_count": 10}'. Default: the default policy.
        #[arg(long)]
        policy: Option<String>,
        /// The client's own login settings as JSON (see set-client --login).
        #[arg(long)]
        login: Option<String>,
    },
    /// Create a user with an email credential.
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        password: Option<String>,
        #[arg(long)]
        locale: Option<String>,
    },
    /// Switch a CIAM application on or off, its reset-password flow, and whether a public
    /// client (spa, mobile) may call /otp/send.
    SetClient {
        #[arg(long)]
        client_id: String,
        #[arg(long)]
        enabled: Option<bool>,
        #[arg(long)]
        reset_enabled: Option<bool>,
        /// A risk: with no secret, anyone can trigger sends in a public client's name, bounded
        /// only by the per-address and per-destination limits.
        #[arg(long)]
        allow_public_otp_send: Option<bool>,
        /// The client's own login settings, replacing any earlier ones, as JSON with any of
        /// access_token_ttl_secs, refresh_token_ttl_secs, lockout_threshold,
        /// lockout_window_secs, lockout_secs, e.g. '{"access_token_ttl_secs": 300}'; '{}'
        /// goes back to the service's.
        #[arg(long)]
        login: Option<String>,
    },
    /// Set a user's status: active, locked, frozen or disabled.
    SetUserStatus {
        #[arg(long)]
        user_id: String,
        status: String,
    },
    /// Which records still depend on each token key, and which old keys can be removed from
    /// security.token_keys (see docs/operations.md, "Rotating the token key").
    KeyStatus,
    /// Once, after upgrading from a release without key ids and before the first rotation,
    /// with the one key of that release configured: records every stored digest as made under
    /// it, so that key-status can count them.
    LabelKeys,
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("resetd: {e:#}");
        std::process::exit(1);
    }
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let profile = Profile::parse(&cli.profile)?;
    let settings = Settings::load(&cli.config_dir, profile)?;
    resetd_server::telemetry::init(&settings.log.filter, settings.log.json);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => Application::build(settings).await?.run_until_stopped().await,
        Command::Migrate => {
            let url = settings.database.migration_url()?;
            anyhow::ensure!(!url.is_empty(), "migrate needs RESETD__DATABASE__URL (or RESETD__DATABASE__MIGRATE_URL)");
            resetd_adapters_postgres::migrate_at(url).await.context("migrating")?;
            println!("{}", json!({"migrated": true}));
            Ok(())
        }
        Command::Admin(cmd) => admin(&settings, cmd).await,
        Command::SigningKey => {
            let (_, pem) = resetd_domain::oidc::SigningKey::generate_es256().context("generating a signing key")?;
            print!("{}", pem.expose_secret());
            Ok(())
        }
    }
}

async fn admin(settings: &Settings, cmd: Admin) -> anyhow::Result<()> {
    if settings.database.url.expose_secret().is_empty() {
        eprintln!("resetd: warning: no RESETD__DATABASE__URL, so this change is made in memory and lost on exit");
    }
    let built = resetd_server::build_default(settings).await?;
    let b = &built.app.bootstrap;
    let out = match cmd {
        Admin::CreateApiCredentials { email, admin } => {
            let c = b.create_api_credentials(&email, admin).await.map_err(cli_words::refused)?;
            json!({"user_id": c.user_id.to_string(), "client_id": c.client_id.as_str(), "client_secret": c.client_secret.expose()})
        }
        Admin::CreateClient { client_type, name, policy, login } => {
            let login = client_login(login.as_deref())?;
            let policy = match policy {
                None => ClientPolicy::Default,
                Some(json) if json.trim_start().starts_with('{') => {
                    ClientPolicy::Custom(serde_json::from_str(&json).context("--policy is not a valid policy object")?)
                }
                Some(name) => ClientPolicy::Preset(name),
            };
            let c = b.create_client(&client_type, &name, policy).await.map_err(cli_words::refused)?;
            if login.is_some() {
                let switches = ClientSwitches { login, ..ClientSwitches::default() };
                b.set_client_switches(c.client_id.as_str(), switches).await.map_err(cli_words::refused)?;
            }
            let mut v = json!({"client_id": c.client_id.as_str()});
            if let Some(s) = &c.client_secret {
                v["client_secret"] = json!(s.expose());
            }
            v
        }
        Admin::CreateUser { email, phone, password, locale } => {
            let id = b.create_user(&email, phone.as_deref(), password, locale).await.map_err(cli_words::refused)?;
            json!({"user_id": id.to_string()})
        }
        Admin::SetClient { client_id, enabled, reset_enabled, allow_public_otp_send, login } => {
            let login = client_login(login.as_deref())?;
            let switches = ClientSwitches { enabled, reset_enabled, public_otp_send: allow_public_otp_send, login };
            b.set_client_switches(&client_id, switches).await.map_err(cli_words::refused)?;
            json!({"client_id": client_id, "enabled": enabled, "reset_enabled": reset_enabled,
                   "allow_public_otp_send": allow_public_otp_send, "login": login})
        }
        Admin::SetUserStatus { user_id, status } => {
            b.set_user_status(&user_id, &status).await.map_err(cli_words::refused)?;
            json!({"user_id": user_id, "status": status})
        }
        Admin::Bootstrap { rotate } => {
            resetd_server::dev::bootstrap_json(&b.bootstrap(rotate).await.map_err(cli_words::refused)?)
        }
        Admin::KeyStatus => resetd_server::key_status_json(&built.app.keys.status().await?),
        Admin::LabelKeys => {
            anyhow::ensure!(settings.token_keys()?.len() == 1, "label-keys needs exactly one configured token key");
            json!({"labelled": built.app.keys.label_if_one_key().await?})
        }
    };
    println!("{out}");
    Ok(())
}

/// `--login` as the client's own login settings.
fn client_login(json: Option<&str>) -> anyhow::Result<Option<resetd_ports::clients::ClientLogin>> {
    json.map(|j| serde_json::from_str(j).context("--login is not a login settings object")).transpose()
}
