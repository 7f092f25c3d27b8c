//! `GET /openapi.json` describes the router: every operation it documents is routed, at that
//! method and path template (the metrics name the template each request matched).

use reqwest::{Method, StatusCode};
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::TestApp;

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn every_documented_operation_is_routed_at_its_template(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let r = app.http.get(app.url("/openapi.json")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/json");
    let doc: Value = r.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));

    let mut operations = Vec::new();
    for (template, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            operations.push((method.to_uppercase(), template.clone()));
        }
    }
    assert!(operations.len() >= 27, "{operations:?}");
    for (method, template) in &operations {
        // Any value for the path parameters: the route matches whatever the handler answers.
        let path = template.replace("{user_id}", "1").replace("{token}", "some-token");
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let status = app.http.request(method.clone(), app.url(&path)).send().await.unwrap().status();
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {template}");
    }
    let metrics = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    for (method, template) in &operations {
        let series = format!(r#"http_requests_total{{method="{method}",route="{template}","#);
        assert!(metrics.contains(&series), "{method} {template} was not routed at that template");
    }
}
