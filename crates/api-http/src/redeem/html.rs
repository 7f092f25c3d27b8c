//! The reset page's HTML, its stylesheet and its one small script, all served from here so the
//! Content-Security-Policy needs no `'unsafe-inline'`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use resetd_app::redeem::ResetForm;
use resetd_domain::locale::Language;
use resetd_domain::reset_token::ResetTokenKind;

use super::words::{html_lang, rules, words};

pub(crate) const STYLESHEET: &str = "/password/assets/page.css";
pub(crate) const SCRIPT: &str = "/password/assets/page.js";

pub(crate) const CSS: &str =
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.5}\
label,input,button{display:block;font-size:1rem}input{width:100%;box-sizing:border-box;padding:.5rem;margin:.25rem 0 1rem}\
input[readonly]{background:#f3f3f3;border:1px solid #ccc}\
.show{display:flex;gap:.5rem;align-items:center;margin:-.5rem 0 1rem}.show input{width:auto;margin:0}\
button{padding:.5rem 1rem}.error{color:#a00;border-left:4px solid #a00;padding-left:.75rem}\
pre{white-space:pre-wrap;overflow-wrap:anywhere}\n";

/// Reveals the "show password" box (hidden without scripts, where the form works the same)
/// and switches the field's type with it.
pub(crate) const JS: &str = "(function(){var b=document.getElementById('show-box'),c=document.getElementById('show'),\
p=document.getElementById('password');if(!b||!c||!p){return;}b.hidden=false;\
c.addEventListener('change',function(){p.type=c.checked?'text':'password';});})();\n";

/// Scripts and styles only as files from here; nothing frames the page; the form posts only here.
const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// A whole page in `lang`.
pub(crate) fn page(status: StatusCode, lang: Language, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\"><title>{t}</title>\
         <link rel=\"stylesheet\" href=\"{STYLESHEET}\"><script src=\"{SCRIPT}\" defer></script></head>\
         <body><main><h1>{t}</h1>{body}</main></body></html>",
        lang = html_lang(lang),
        t = escape(title)
    );
    let mut r = (status, Html(html)).into_response();
    let headers = r.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    r
}

/// A page that only says something (`role="status"` so it is read out).
pub(crate) fn message(status: StatusCode, lang: Language, title: &str, text: &str) -> Response {
    page(status, lang, title, &format!("<p role=\"status\">{}</p>", escape(text)))
}

/// The form, with the reasons a password was refused when there are any.
pub(crate) fn form(status: StatusCode, lang: Language, token: &str, f: &ResetForm, errors: &[String]) -> Response {
    let w = words(lang);
    let rules: String =
        rules(lang, &f.policy, f.breached_checked).iter().map(|r| format!("<li>{}</li>", escape(r))).collect();
    let errors = if errors.is_empty() {
        String::new()
    } else {
        let items: String = errors.iter().map(|e| format!("<li>{}</li>", escape(e))).collect();
        format!(
            "<div class=\"error\" role=\"alert\" id=\"errors\"><p>{}</p><ul>{items}</ul></div>",
            escape(w.not_changed)
        )
    };
    // The account's name, read-only, so a password manager files the new password under it.
    let account = f.email.as_ref().map_or_else(String::new, |e| {
        format!(
            "<label for=\"username\">{}</label>\
             <input id=\"username\" name=\"username\" type=\"email\" autocomplete=\"username\" value=\"{}\" readonly>",
            escape(w.account),
            escape(e.as_str())
        )
    });
    let described = if errors.is_empty() { "rules" } else { "errors rules" };
    let body = format!(
        "{errors}<form method=\"post\" action=\"/password/reset\">\
         <input type=\"hidden\" name=\"token\" value=\"{token}\">{account}\
         <label for=\"password\">{new_password}</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" required \
         aria-describedby=\"{described}\">\
         <div class=\"show\" id=\"show-box\" hidden><input type=\"checkbox\" id=\"show\">\
         <label for=\"show\">{show}</label></div>\
         <div id=\"rules\"><p>{requirements}</p><ul>{rules}</ul></div>\
         <button type=\"submit\">{submit}</button></form>",
        token = escape(token),
        new_password = escape(w.new_password),
        show = escape(w.show_password),
        requirements = escape(w.requirements),
        submit = escape(w.submit),
    );
    let title = match f.kind {
        ResetTokenKind::PasswordReset => w.reset_title,
        ResetTokenKind::AccountSetup => w.setup_title,
    };
    page(status, lang, title, &body)
}
