//! Development only: `GET /dev/outbox` (a page) and `GET /dev/outbox.json`, the messages the
//! dev profile delivered, codes and links included. Routed only when the server hands in a
//! [`DevOutbox`] (the dev profile), and answered only to a loopback peer (by the TCP peer,
//! never a forwarding header): anyone else gets the 404 of a route that does not exist.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::Shared;

/// One delivered message.
#[derive(Clone, Serialize)]
pub struct DevMessage {
    /// The email address or phone number it went to.
    pub to: String,
    /// `email` or `sms`.
    pub channel: String,
    /// Empty for an SMS.
    pub subject: String,
    /// The rendered text, link or code included.
    pub text: String,
    /// When it was delivered.
    pub sent_at: DateTime<Utc>,
}

impl std::fmt::Debug for DevMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevMessage").field("channel", &self.channel).finish_non_exhaustive()
    }
}

/// Where the dev profile keeps what it delivered.
pub trait DevOutbox: Send + Sync {
    /// Oldest first.
    fn messages(&self) -> Vec<DevMessage>;
}

pub(crate) fn router() -> Router<Shared> {
    Router::new().route("/dev/outbox", get(page)).route("/dev/outbox.json", get(json))
}

/// The messages, newest first, if the peer is on this machine.
fn messages(state: &Shared, req: &Request) -> Option<Vec<DevMessage>> {
    let outbox: &Arc<dyn DevOutbox> = state.dev_outbox.as_ref()?;
    if !on_this_machine(req.extensions().get::<ConnectInfo<SocketAddr>>()) {
        return None;
    }
    let mut all = outbox.messages();
    all.reverse();
    Some(all)
}

async fn json(State(state): State<Shared>, req: Request) -> Response {
    match messages(&state, &req) {
        Some(all) => Json(all).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Whether the TCP peer is a loopback address (an unknown peer is not).
fn on_this_machine(peer: Option<&ConnectInfo<SocketAddr>>) -> bool {
    peer.is_some_and(|ConnectInfo(p)| p.ip().is_loopback())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `text` escaped, with every `http(s)://` word made a link.
fn linked(text: &str) -> String {
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let words: Vec<String> = line
            .split(' ')
            .map(|w| {
                let url = w.trim_end_matches(['.', ',', ')', '>']);
                if url.starts_with("http://") || url.starts_with("https://") {
                    let rest = &w[url.len()..];
                    format!("<a href=\"{u}\">{u}</a>{}", escape(rest), u = escape(url))
                } else {
                    escape(w)
                }
            })
            .collect();
        out.push_str(&words.join(" "));
    }
    out
}

async fn page(State(state): State<Shared>, req: Request) -> Response {
    let Some(all) = messages(&state, &req) else { return StatusCode::NOT_FOUND.into_response() };
    let rows: String = all
        .iter()
        .map(|m| {
            format!(
                "<article><h2>{subject}</h2><p>{channel} to <strong>{to}</strong>, {at}</p><pre>{text}</pre></article>",
                subject = if m.subject.is_empty() { "SMS".to_owned() } else { escape(&m.subject) },
                channel = escape(&m.channel),
                to = escape(&m.to),
                at = m.sent_at.format("%Y-%m-%d %H:%M:%S UTC"),
                text = linked(&m.text),
            )
        })
        .collect();
    let body = if rows.is_empty() { "<p>Nothing was sent yet.</p>".to_owned() } else { rows };
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Dev outbox</title>\
         <link rel=\"stylesheet\" href=\"/password/assets/page.css\"></head><body><main>\
         <h1>Dev outbox</h1><p>What this development server delivered, newest first (JSON: \
         <a href=\"/dev/outbox.json\">/dev/outbox.json</a>).</p>{body}</main></body></html>"
    );
    let mut r = Html(html).into_response();
    let csp = "default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
    r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_peers_see_the_outbox() {
        let peer = |a: &str| ConnectInfo(a.parse::<SocketAddr>().unwrap());
        assert!(on_this_machine(Some(&peer("127.0.0.1:5000"))));
        assert!(on_this_machine(Some(&peer("[::1]:5000"))));
        assert!(!on_this_machine(Some(&peer("10.0.0.7:5000"))));
        assert!(!on_this_machine(Some(&peer("[2001:db8::1]:5000"))));
        assert!(!on_this_machine(None), "no peer known, nothing shown");
    }

    #[test]
    fn links_are_clickable_and_everything_is_escaped() {
        let html = linked("Open http://127.0.0.1:8080/password/reset/abc. <b>now</b>");
        assert!(html.contains("<a href=\"http://127.0.0.1:8080/password/reset/abc\">"), "{html}");
        assert!(html.contains("</a>. &lt;b&gt;now&lt;/b&gt;"), "{html}");
    }
}
