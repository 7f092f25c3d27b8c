//! Looker JSON shapes: `User`, `CredentialsEmail`, `PasswordConfig`, and the `fields` filter.

use chrono::{DateTime, Utc};
use resetd_app::looker::User;
use resetd_app::looker::{CredentialView, PasswordConfig};
use resetd_domain::user::UserStatus;
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// Looker's timestamp form: `2026-01-05T10:00:00.000+00:00`.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string()
}

/// What the caller may do with a credential.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CredentialCan {
    show_password_reset_url: bool,
}

/// Looker's `CredentialsEmail`. The reset URL is present only in the answer of the call that
/// created it (resetd keeps only the token's digest).
#[derive(Serialize, ToSchema)]
pub(crate) struct CredentialsEmail {
    can: CredentialCan,
    /// Looker's timestamp form, e.g. `2026-01-05T10:00:00.000+00:00`.
    created_at: String,
    /// Always `null`: resetd has no interactive login.
    logged_in_at: Option<String>,
    /// Always `email`.
    #[serde(rename = "type")]
    kind: String,
    email: String,
    user_id: String,
    forced_password_reset_at_next_login: bool,
    is_disabled: bool,
    /// `{public_base_url}/password/reset/{token}`: only in the answer that created the token.
    password_reset_url: Option<String>,
    /// `{public_base_url}/account/setup/{token}`: only in the answer that created the token.
    account_setup_url: Option<String>,
    /// Whether no live reset link exists.
    password_reset_url_expired: bool,
    /// Whether no live account-setup link exists.
    account_setup_url_expired: bool,
    url: String,
    user_url: String,
}

/// Without the URLs: they carry a live token.
impl std::fmt::Debug for CredentialsEmail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialsEmail")
            .field("user_id", &self.user_id)
            .field("password_reset_url_expired", &self.password_reset_url_expired)
            .field("account_setup_url_expired", &self.account_setup_url_expired)
            .finish_non_exhaustive()
    }
}

pub(crate) fn credential(base: &str, v: &CredentialView) -> CredentialsEmail {
    let c = &v.credential;
    CredentialsEmail {
        can: CredentialCan { show_password_reset_url: true },
        created_at: ts(c.created_at),
        logged_in_at: c.logged_in_at.map(ts),
        kind: "email".into(),
        email: c.email.as_str().to_owned(),
        user_id: c.user_id.to_string(),
        forced_password_reset_at_next_login: c.forced_reset,
        is_disabled: v.user_disabled,
        password_reset_url: v.password_reset_url.as_ref().map(|u| u.expose_secret().to_owned()),
        account_setup_url: v.account_setup_url.as_ref().map(|u| u.expose_secret().to_owned()),
        password_reset_url_expired: v.password_reset_url_expired,
        account_setup_url_expired: v.account_setup_url_expired,
        url: format!("{base}/api/4.0/users/{}/credentials_email", c.user_id),
        user_url: format!("{base}/api/4.0/users/{}", c.user_id),
    }
}

/// What the caller may do with a user.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UserCan {
    show: bool,
    index: bool,
    show_details: bool,
    index_details: bool,
    sudo: bool,
}

/// Looker's `User`, with the fields resetd keeps.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LookerUser {
    id: String,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    /// `first_name last_name`, or empty.
    display_name: String,
    locale: Option<String>,
    is_disabled: bool,
    credentials_email: Option<CredentialsEmail>,
    /// Always empty.
    #[schema(value_type = Vec<Object>)]
    credentials_api3: Vec<Value>,
    /// Always empty.
    #[schema(value_type = Vec<Object>)]
    credentials_embed: Vec<Value>,
    /// Always empty.
    group_ids: Vec<String>,
    /// Always empty.
    role_ids: Vec<String>,
    can: UserCan,
    url: String,
}

pub(crate) fn user(base: &str, u: &User, credential: Option<CredentialsEmail>) -> LookerUser {
    // Looker fills it only when both names are set (the contract's observation).
    let display = match (&u.first_name, &u.last_name) {
        (Some(f), Some(l)) => format!("{f} {l}"),
        _ => String::new(),
    };
    LookerUser {
        id: u.id.to_string(),
        email: u.email.as_ref().map(|e| e.as_str().to_owned()),
        first_name: u.first_name.clone(),
        last_name: u.last_name.clone(),
        display_name: display,
        locale: u.locale.clone(),
        is_disabled: u.status == UserStatus::Disabled,
        credentials_email: credential,
        credentials_api3: Vec::new(),
        credentials_embed: Vec::new(),
        group_ids: Vec::new(),
        role_ids: Vec::new(),
        can: UserCan { show: true, index: true, show_details: true, index_details: true, sudo: false },
        url: format!("{base}/api/4.0/users/{}", u.id),
    }
}

/// What the caller may do with the password policy.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ConfigCan {
    show: bool,
    update: bool,
}

/// Looker's `PasswordConfig`: the default password policy.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LookerPasswordConfig {
    can: ConfigCan,
    min_length: u32,
    require_numeric: bool,
    require_upperlower: bool,
    require_special: bool,
    expiration_enabled: bool,
    expiration_duration_days: Option<u32>,
    /// When the policy was last changed; `null` while the configured default applies.
    policy_enabled_at: Option<String>,
}

pub(crate) fn password_config(c: &PasswordConfig) -> LookerPasswordConfig {
    let p = &c.policy;
    LookerPasswordConfig {
        can: ConfigCan { show: true, update: true },
        min_length: p.min_length,
        require_numeric: p.require_numeric,
        require_upperlower: p.require_upperlower,
        require_special: p.require_special,
        expiration_enabled: p.expiration_enabled,
        expiration_duration_days: p.expiration_duration_days,
        policy_enabled_at: c.policy_enabled_at.map(ts),
    }
}

/// `value` as JSON, with only the top-level keys named in `fields` (see [`select`]). These
/// views have string keys only, so serialising cannot fail; should it, the answer is a 500,
/// never a `null` in place of the value.
pub(crate) fn shaped(value: &impl Serialize, fields: Option<&str>) -> Result<Value, serde_json::Error> {
    Ok(select(serde_json::to_value(value)?, fields))
}

/// Keeps only the top-level keys named in `fields` (`a,b(c,d),e`); nested selections are
/// accepted and applied one level down.
pub(crate) fn select(value: Value, fields: Option<&str>) -> Value {
    let Some(fields) = fields.map(str::trim).filter(|f| !f.is_empty()) else { return value };
    let wanted = split_fields(fields);
    if wanted.is_empty() {
        return value;
    }
    let Value::Object(mut map) = value else { return value };
    let mut out = serde_json::Map::new();
    for (name, nested) in wanted {
        if let Some(v) = map.remove(&name) {
            let v = match (nested, v) {
                (Some(inner), Value::Array(items)) => {
                    Value::Array(items.into_iter().map(|i| select(i, Some(&inner))).collect())
                }
                (Some(inner), v) => select(v, Some(&inner)),
                (None, v) => v,
            };
            out.insert(name, v);
        }
    }
    Value::Object(out)
}

fn split_fields(fields: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    let bytes = fields.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                out.push(&fields[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&fields[start..]);
    out.into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| match s.split_once('(') {
            Some((name, rest)) => (name.trim().to_owned(), Some(rest.trim_end_matches(')').to_owned())),
            None => (s.to_owned(), None),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_keep_listed_keys_and_nested_selections() {
        let v =
            json!({"id": "1", "email": "a@b.io", "credentials_email": {"email": "a@b.io", "type": "email"}, "x": 1});
        assert_eq!(select(v.clone(), None), v);
        assert_eq!(select(v.clone(), Some("email,id")), json!({"email": "a@b.io", "id": "1"}));
        assert_eq!(
            select(v.clone(), Some("credentials_email(type),nope")),
            json!({"credentials_email": {"type": "email"}})
        );
        assert_eq!(
            select(v, Some(" , ")),
            json!({"id": "1", "email": "a@b.io", "credentials_email": {"email": "a@b.io", "type": "email"}, "x": 1})
        );
    }

    #[test]
    fn debug_output_leaves_the_reset_urls_out() {
        let url = "https://r.example/password/reset/live-token-value".to_owned();
        let c = CredentialsEmail {
            can: CredentialCan { show_password_reset_url: true },
            created_at: String::new(),
            logged_in_at: None,
            kind: "email".into(),
            email: "a@b.io".into(),
            user_id: "1".into(),
            forced_password_reset_at_next_login: false,
            is_disabled: false,
            password_reset_url: Some(url.clone()),
            account_setup_url: Some(url),
            password_reset_url_expired: false,
            account_setup_url_expired: false,
            url: String::new(),
            user_url: String::new(),
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("live-token-value"), "{shown}");
        assert!(shown.contains("user_id"), "{shown}");
    }

    #[test]
    fn timestamps_have_looker_form() {
        let t = DateTime::from_timestamp(1_767_607_200, 0).unwrap();
        assert_eq!(ts(t), "2026-01-05T10:00:00.000+00:00");
    }
}
