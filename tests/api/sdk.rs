//! The official Looker Python SDK (pinned in the Makefile) against the real server.

use std::process::Command;

use sqlx::PgPool;

use crate::helpers::TestApp;

fn python() -> String {
    resetd_test_support::python().display().to_string()
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn the_official_python_sdk_works_unchanged(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let admin = app.app.bootstrap.create_api_credentials("sdk-admin@example.com", true).await.unwrap();
    let plain = app.app.bootstrap.create_api_credentials("sdk-user@example.com", false).await.unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/sdk/looker_sdk_check.py");
    let python = python();
    let base = app.base.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(&python)
            .arg(script)
            .env("LOOKERSDK_BASE_URL", base)
            .env("LOOKERSDK_CLIENT_ID", admin.client_id.as_str())
            .env("LOOKERSDK_CLIENT_SECRET", admin.client_secret.expose())
            .env("LOOKERSDK_VERIFY_SSL", "false")
            .env("RESETD_USER_CLIENT_ID", plain.client_id.as_str())
            .env("RESETD_USER_CLIENT_SECRET", plain.client_secret.expose())
            .env("RESETD_NEW_EMAIL", "py.sdk@example.com")
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run {python}: {e}; `make test` installs the pinned looker_sdk in target/venv")
            })
    })
    .await
    .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the SDK script failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("looker_sdk: all checks passed"), "{stdout}");
}
