//! `GET /metrics`: Prometheus text with request counts by route template and CIAM error codes.

use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::{ciam_post, client, TestApp};

/// The value of the sample `name{labels}` in `text`, if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series).and_then(|rest| rest.trim().parse().ok()))
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn metrics_count_requests_by_route_and_ciam_errors_by_code(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let scrape = || async {
        let r = app.http.get(app.url("/metrics")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
        r.text().await.unwrap()
    };
    // The recorder is global to this test process: compare before and after.
    let before = scrape().await;
    let web = client(&app, "web").await;
    let (status, _) = ciam_post(&app, "/otp/send", &web, json!({"usage": "login", "email": "a@example.com"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let link = app.http.get(app.url("/password/reset/some-secret-token")).send().await.unwrap();
    assert!(!link.status().is_success());
    let after = scrape().await;

    let series = [
        r#"http_requests_total{method="POST",route="/otp/send",status="400"}"#,
        r#"resetd_ciam_errors_total{error="invalid_request"}"#,
        r#"http_requests_total{method="GET",route="/password/reset/{token}",status="404"}"#,
    ];
    for s in series {
        let (was, is) = (sample(&before, s).unwrap_or(0.0), sample(&after, s));
        assert!(is.is_some_and(|n| n >= was + 1.0), "{s}: {was} then {is:?}\n{after}");
    }
    assert!(after.contains("# TYPE http_request_duration_seconds histogram"), "{after}");
    assert!(!after.contains("some-secret-token"), "a path's token never becomes a label");
}
