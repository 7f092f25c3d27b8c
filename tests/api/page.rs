//! The reset page over HTTP: its language (the user's locale, then `Accept-Language`, then
//! English), the read-only account name for password managers, and every state translated.
//! The same flows run in a real browser in `tests/browser`.

use reqwest::StatusCode;
use sqlx::PgPool;

use crate::helpers::{user_with_link, TestApp};

async fn link(app: &TestApp, token: &str, email: &str, locale: Option<&str>) -> String {
    user_with_link(&app.http, &app.url(""), token, email, locale).await
}

async fn get(app: &TestApp, url: &str, accept_language: &str) -> (StatusCode, String) {
    let r = app.http.get(url).header("accept-language", accept_language).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn post(app: &TestApp, url: &str, password: &str, accept_language: &str) -> (StatusCode, String) {
    let token = url.rsplit('/').next().unwrap();
    let form = [("token", token), ("password", password)];
    let r = app.http.post(app.url("/password/reset")).header("accept-language", accept_language).form(&form);
    let r = r.send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

#[sqlx::test(migrator = "resetd_adapters_postgres::MIGRATOR")]
async fn the_page_speaks_the_users_language_before_the_browsers(pool: PgPool) {
    let app = TestApp::spawn(&pool).await;
    let token = app.admin_token(true).await;
    let spanish = link(&app, &token, "page.es@example.com", Some("es")).await;

    let (status, html) = get(&app, &spanish, "zh-CN,zh;q=0.9").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<html lang=\"es\">") && html.contains("Elige una nueva contraseña"), "{html}");
    assert!(html.contains("autocomplete=\"username\" value=\"page.es@example.com\" readonly"), "{html}");
    assert!(html.contains("Entre 8 y 128 caracteres."), "the rules too: {html}");
    let (status, html) = post(&app, &spanish, "password", "en").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("role=\"alert\"") && html.contains("La contraseña es demasiado común."), "{html}");
    let (status, html) = post(&app, &spanish, "Tr4vel-by-Zeppelin", "en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Contraseña cambiada") && html.contains("role=\"status\""), "{html}");
    let (status, html) = get(&app, &spanish, "es-MX,es;q=0.9").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("Este enlace no es válido o ha caducado"), "a used link has no user: the browser's: {html}");

    let plain = link(&app, &token, "page.zh@example.com", None).await;
    let (_, html) = get(&app, &plain, "fr-FR,zh-CN;q=0.8,en;q=0.5").await;
    assert!(html.contains("<html lang=\"zh-Hans\">") && html.contains("设置新密码"), "{html}");
    let (_, html) = get(&app, &plain, "fr-FR,de").await;
    assert!(html.contains("<html lang=\"en\">") && html.contains("Choose a new password"), "English otherwise: {html}");
}
