//! The reset page in a real browser: Debian's Chromium, driven through chromedriver
//! (fantoccini), against a real resetd (the dev profile on its in-memory stores: the page's path
//! is the same on every store). Screenshots of the main states go to `target/browser/` for
//! people to look at. Where Chromium or chromedriver is not installed the test says so in one
//! line and passes; `.ci/run` installs both (packages `chromium`, `chromium-driver`).

mod driver;

use std::path::Path;

use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use resetd_server::{Application, Profile, Settings};
use serde_json::Value;

use driver::{Chromium, Found};

/// A resetd of its own on a free port; its base URL and an admin session.
async fn resetd() -> (String, String) {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
    let mut s = Settings::load(&config, Profile::Dev).unwrap();
    s.database.url = String::new().into();
    s.redis.url = String::new().into();
    s.server.bind = "127.0.0.1:0".into();
    s.server.public_base_url = String::new();
    s.dev.bootstrap_file = String::new();
    s.argon2.memory_kib = 19_456;
    let server = Application::build(s).await.unwrap();
    let (base, app) = (server.base_url().to_owned(), server.app().clone());
    tokio::spawn(server.run_until_stopped());
    let admin = app.bootstrap.create_api_credentials("browser-admin@example.com", true).await.unwrap();
    let form = [("client_id", admin.client_id.as_str()), ("client_secret", admin.client_secret.expose())];
    let login: Value = reqwest::Client::new()
        .post(format!("{base}/api/4.0/login"))
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (base, login["access_token"].as_str().unwrap().to_owned())
}

/// A user with `email` (and `locale`) and a fresh reset link for it.
async fn link(base: &str, token: &str, email: &str, locale: Option<&str>) -> String {
    resetd_e2e::helpers::user_with_link(&reqwest::Client::new(), base, token, email, locale).await
}

async fn eval(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.unwrap()
}

async fn heading(c: &Client) -> String {
    c.wait().for_element(Locator::Css("h1")).await.unwrap().text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reset_page_works_in_chromium_by_keyboard_in_three_languages_and_at_phone_width() {
    let Found::Yes(chromium) = Chromium::find() else {
        eprintln!("browser tests skipped: {}", Chromium::missing());
        return;
    };
    let (base, token) = resetd().await;

    // English, by keyboard: the form, a refused password read from the alert, success, and the
    // used link explained.
    let english = link(&base, &token, "kbd.browser@example.com", None).await;
    let c = chromium.session(None).await;
    c.goto(&english).await.unwrap();
    assert_eq!(heading(&c).await, "Choose a new password");
    assert_eq!(eval(&c, "return document.documentElement.lang").await, "en");
    let username = c.find(Locator::Id("username")).await.unwrap();
    assert_eq!(username.prop("value").await.unwrap().as_deref(), Some("kbd.browser@example.com"));
    assert_eq!(username.attr("autocomplete").await.unwrap().as_deref(), Some("username"));
    assert_eq!(eval(&c, "return getComputedStyle(document.body).maxWidth").await, "512px", "the stylesheet applies");
    let toggle = c.find(Locator::Id("show")).await.unwrap();
    assert!(toggle.is_displayed().await.unwrap(), "the script ran and showed the toggle");
    toggle.click().await.unwrap();
    assert_eq!(eval(&c, "return document.getElementById('password').type").await, "text");
    toggle.click().await.unwrap();
    assert_eq!(eval(&c, "return document.getElementById('password').type").await, "password");
    chromium.screenshot(&c, "form").await;

    eval(&c, "document.activeElement.blur(); document.body.focus(); return null").await;
    let keys = |text: String| {
        let c = c.clone();
        async move { c.active_element().await.unwrap().send_keys(&text).await.unwrap() }
    };
    let tab = String::from(char::from(Key::Tab));
    for _ in 0..4 {
        if eval(&c, "return document.activeElement.id").await == "password" {
            break;
        }
        keys(tab.clone()).await;
    }
    assert_eq!(eval(&c, "return document.activeElement.id").await, "password", "reached by Tab alone");
    keys(format!("password{}", char::from(Key::Enter))).await;
    let alert = c.wait().for_element(Locator::Css("[role=alert]")).await.unwrap();
    assert!(alert.text().await.unwrap().contains("The password is too common."));
    chromium.screenshot(&c, "refused").await;
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(&format!("Tr4vel-by-Zeppelin{}", char::from(Key::Enter)))
        .await
        .unwrap();
    c.wait().for_element(Locator::XPath("//h1[text()='Password changed']")).await.unwrap();
    assert!(c.find(Locator::Css("[role=status]")).await.unwrap().text().await.unwrap().contains("sign in"));
    chromium.screenshot(&c, "changed").await;
    c.goto(&english).await.unwrap();
    assert_eq!(heading(&c).await, "Link expired");
    chromium.screenshot(&c, "expired").await;

    // Spanish by the user's locale (set through Looker), whatever the browser asks.
    let spanish = link(&base, &token, "es.browser@example.com", Some("es")).await;
    c.goto(&spanish).await.unwrap();
    assert_eq!(heading(&c).await, "Elige una nueva contraseña");
    assert_eq!(eval(&c, "return document.documentElement.lang").await, "es");
    chromium.screenshot(&c, "spanish").await;

    // At phone width: nothing scrolls sideways.
    c.set_window_size(390, 844).await.unwrap();
    c.goto(&link(&base, &token, "phone.browser@example.com", None).await).await.unwrap();
    heading(&c).await;
    let fits = "const d = document.documentElement; return d.scrollWidth <= d.clientWidth && d.clientWidth <= 400";
    assert_eq!(eval(&c, fits).await, true, "no horizontal scroll at 390 px");
    chromium.screenshot(&c, "phone").await;
    let on_purpose = chromium.assert_clean_console(&c).await;
    assert!(on_purpose >= 2, "the console is read: the refused password and the used link are in it");
    c.close().await.unwrap();

    // Simplified Chinese by the browser's Accept-Language, for a user without a locale.
    let z = chromium.session(Some("zh-CN,zh")).await;
    z.goto(&link(&base, &token, "zh.browser@example.com", None).await).await.unwrap();
    assert_eq!(heading(&z).await, "设置新密码");
    assert_eq!(eval(&z, "return document.documentElement.lang").await, "zh-Hans");
    chromium.screenshot(&z, "chinese").await;
    chromium.assert_clean_console(&z).await;
    z.close().await.unwrap();
}
