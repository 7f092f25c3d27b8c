//! `resetd admin bootstrap` on a real database, and what production never serves.

use reqwest::StatusCode;
use resetd_test_support::{shared_postgres_url, shared_redis_url, ResetdProcess};
use serde_json::Value;

use super::backends::{as_refs, env, fresh_database, serve};

/// `resetd admin bootstrap [--rotate]` as production runs it.
fn bootstrap(env: &[(&str, &str)], rotate: bool) -> Value {
    let args: &[&str] = if rotate { &["admin", "bootstrap", "--rotate"] } else { &["admin", "bootstrap"] };
    let (status, out, err) = ResetdProcess::run(args, env);
    assert!(status.success(), "resetd {args:?} failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

async fn login_status(base: &str, id: &str, secret: &str) -> StatusCode {
    let form = [("client_id", id), ("client_secret", secret)];
    reqwest::Client::new().post(format!("{base}/api/4.0/login")).form(&form).send().await.unwrap().status()
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_bootstrap_creates_once_reports_after_and_rotates_on_demand() {
    let database = fresh_database(&shared_postgres_url()).await;
    let prefix = resetd_ports::testkit::unique("boot:") + ":";
    let mut vars = env(&database, &shared_redis_url(), &prefix);
    vars.extend([("RESETD__MAIL__ENABLED".into(), "false".into()), ("RESETD__SMS__ENABLED".into(), "false".into())]);
    let vars = as_refs(&vars);

    let first = bootstrap(&vars, false);
    let secret = first["looker"]["client_secret"].as_str().unwrap().to_owned();
    assert!(first["ciam"]["web"]["client_secret"].is_string() && first["user"]["password"].is_string(), "{first}");
    let again = bootstrap(&vars, false);
    for pointer in
        ["/looker/client_id", "/looker/user_id", "/ciam/web/client_id", "/ciam/spa/client_id", "/user/user_id"]
    {
        assert_eq!(again.pointer(pointer), first.pointer(pointer), "{pointer}: the same records");
    }
    for pointer in ["/looker/client_secret", "/ciam/web/client_secret", "/user/password"] {
        assert_eq!(again.pointer(pointer), Some(&Value::Null), "{pointer}: nothing new to show");
    }
    let (base, _) = serve(&database, &shared_redis_url(), |_| {}).await;
    let id = first["looker"]["client_id"].as_str().unwrap();
    assert_eq!(login_status(&base, id, &secret).await, StatusCode::OK);

    let rotated = bootstrap(&vars, true);
    let fresh = rotated["looker"]["client_secret"].as_str().unwrap();
    assert_ne!(fresh, secret);
    assert_eq!(rotated["looker"]["client_id"], first["looker"]["client_id"]);
    assert_eq!(login_status(&base, id, fresh).await, StatusCode::OK, "the new secret works");
    assert_ne!(login_status(&base, id, &secret).await, StatusCode::OK, "the old one does not");
}

/// Production keeps no messages and has no development routes.
#[tokio::test(flavor = "multi_thread")]
async fn production_serves_no_dev_outbox() {
    let database = fresh_database(&shared_postgres_url()).await;
    let prefix = resetd_ports::testkit::unique("prod:") + ":";
    let mut vars = env(&database, &shared_redis_url(), &prefix);
    vars.extend([("RESETD__MAIL__ENABLED".into(), "false".into()), ("RESETD__SMS__ENABLED".into(), "false".into())]);
    let server = ResetdProcess::start(&as_refs(&vars));
    for path in ["/dev/outbox", "/dev/outbox.json"] {
        let r = reqwest::get(format!("{}{path}", server.base_url())).await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
}
