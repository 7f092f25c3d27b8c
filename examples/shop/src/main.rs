//! The shop as a process. Every setting is an environment variable:
//!
//! - `SHOP_DATABASE_URL`: PostgreSQL (the shop's migrations are applied at start);
//! - `SHOP_REDIS_URL`: Redis, for resetd's codes, limits and sessions;
//! - `SHOP_TOKEN_KEY`: at least 32 bytes of secret text, stable across restarts;
//! - `SHOP_SMS_WEBHOOK_URL`: where SMS texts are POSTed;
//! - `SHOP_SIGNING_KEY`: the PKCS#8 PEM key of the CIAM tokens (optional: one is generated at
//!   start, and tokens then die with the process);
//! - `SHOP_LISTEN`: the address to bind (`127.0.0.1:8080`).
//!
//! CIAM applications live in memory here, so the process registers one confidential web
//! application at start and prints its credentials once, as one JSON line on stdout.

use anyhow::Context as _;
use resetd_app::bootstrap::ClientPolicy;
use resetd_domain::keyed::TokenKey;
use resetd_example_shop::{Shop, ShopConfig};

fn var(name: &str) -> anyhow::Result<String> {
    std::env::var(name).with_context(|| format!("{name} is not set"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let key = TokenKey::new(var("SHOP_TOKEN_KEY")?.into_bytes()).context("SHOP_TOKEN_KEY")?;
    let mut config =
        ShopConfig::new(&var("SHOP_DATABASE_URL")?, &var("SHOP_REDIS_URL")?, key, &var("SHOP_SMS_WEBHOOK_URL")?);
    if let Ok(pem) = std::env::var("SHOP_SIGNING_KEY") {
        let key = resetd_domain::oidc::SigningKey::from_pem(&pem.into()).context("SHOP_SIGNING_KEY")?;
        config.signer = Some(resetd_domain::oidc::Signer::new(key, Vec::new()));
    }
    let listen = std::env::var("SHOP_LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".to_owned());
    let shop = Shop::build(config).await?;
    let client = shop.app.bootstrap.create_client("web", "shop web", ClientPolicy::Default).await?;
    let secret = client.client_secret.as_ref().map(|s| s.expose().to_owned());
    println!("{}", serde_json::json!({ "client_id": client.client_id.as_str(), "client_secret": secret }));
    let listener = tokio::net::TcpListener::bind(&listen).await.with_context(|| format!("binding {listen}"))?;
    tracing::info!(addr = %listener.local_addr()?, "the shop is listening");
    shop.serve(listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
