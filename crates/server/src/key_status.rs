//! `resetd admin key-status` as JSON.

/// `resetd admin key-status` as JSON: per key, what depends on it and whether it can go.
pub fn key_status_json(status: &resetd_app::keys::KeyStatus) -> serde_json::Value {
    let count = |u: &resetd_ports::keys::KeyUsage| serde_json::json!({"api_credentials": u.api_credentials, "clients": u.clients, "reset_links": u.reset_links});
    let keys: Vec<_> = status
        .keys
        .iter()
        .map(|k| {
            let mut v = count(&k.usage);
            v["id"] = k.id.to_string().into();
            v["current"] = k.current.into();
            v["configured"] = k.configured.into();
            v["removable"] = k.removable(status).into();
            v
        })
        .collect();
    serde_json::json!({
        "keys": keys,
        "unlabelled": status.unlabelled.as_ref().map(count),
        "sessions_and_codes_live_for_secs": status.short_lived_for.as_secs(),
    })
}
