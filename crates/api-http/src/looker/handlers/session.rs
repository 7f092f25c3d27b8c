//! Sessions: `POST /login`, `DELETE /logout` (twice), `GET /user`.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use resetd_app::looker::session::LogoutError;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::{user_json, BadBody, FieldsQuery, Params};
use crate::client_ip::ClientIp;
use crate::looker::error::ErrorBody;
use crate::looker::extract::{bearer, Caller, LookerQuery};
use crate::looker::view::LookerUser;
use crate::looker::{fail, ok_json, Outcome};
use crate::{body, Shared};

#[derive(Default, Deserialize, ToSchema)]
pub(crate) struct LoginForm {
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// Looker's `AccessToken`.
#[derive(Serialize, ToSchema)]
pub(crate) struct AccessToken {
    access_token: String,
    /// Always `Bearer`.
    token_type: String,
    /// Seconds.
    expires_in: u64,
    /// Always `null`.
    refresh_token: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/4.0/login",
    operation_id = "login",
    tag = "Looker API 4.0",
    summary = "Log in with API client credentials",
    params(("client_id" = Option<String>, Query, description = "Used when the body has none"), ("client_secret" = Option<String>, Query, description = "Used when the body has none")),
    request_body(content = LoginForm, content_type = "application/x-www-form-urlencoded", description = "Also accepted as JSON"),
    responses(
        (status = 200, description = "A session", body = AccessToken),
        (status = 404, description = "Unknown client id or wrong secret", body = ErrorBody),
        (status = 429, description = "Too many logins from this client id or address (`Retry-After`)", body = ErrorBody),
        BadBody
    )
)]
pub(in crate::looker) async fn login(
    State(state): State<Shared>,
    ClientIp(ip): ClientIp,
    LookerQuery(query): LookerQuery<HashMap<String, String>>,
    req: axum::extract::Request,
) -> Outcome {
    let (headers, bytes) = body::read(req).await.map_err(|e| fail(&state, e))?;
    let form: LoginForm = if bytes.is_empty() {
        LoginForm::default()
    } else {
        body::json_or_form(&headers, &bytes).map_err(|e| fail(&state, e))?
    };
    let id = form.client_id.or_else(|| query.get("client_id").cloned()).unwrap_or_default();
    let secret = form.client_secret.or_else(|| query.get("client_secret").cloned()).unwrap_or_default();
    let session = state.app.looker.login(&id, &secret, ip).await.map_err(|e| fail(&state, e))?;
    ok_json(json!(AccessToken {
        access_token: session.access_token.expose().to_owned(),
        token_type: "Bearer".into(),
        expires_in: session.expires_in.as_secs(),
        refresh_token: None,
    }))
}

#[utoipa::path(
    delete,
    path = "/api/4.0/logout",
    operation_id = "logout",
    tag = "Looker API 4.0",
    summary = "End the session",
    responses(
        (status = 204, description = "The session is over"),
        (status = 401, description = "No or an unknown access token", body = ErrorBody)
    ),
    security(("looker_token" = []))
)]
pub(in crate::looker) async fn logout(State(state): State<Shared>, headers: HeaderMap) -> Outcome {
    let token = bearer(&headers).ok_or_else(|| fail(&state, LogoutError::Unauthenticated))?;
    state.app.looker.logout(token).await.map_err(|e| fail(&state, e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    delete,
    path = "/api/logout",
    operation_id = "logout_unversioned",
    tag = "Looker API 4.0",
    summary = "End the session (the path the Python SDK calls)",
    responses(
        (status = 204, description = "The session is over"),
        (status = 401, description = "No or an unknown access token", body = ErrorBody)
    ),
    security(("looker_token" = []))
)]
pub(in crate::looker) async fn logout_unversioned(state: State<Shared>, headers: HeaderMap) -> Outcome {
    logout(state, headers).await
}

#[utoipa::path(
    get,
    path = "/api/4.0/user",
    operation_id = "me",
    tag = "Looker API 4.0",
    summary = "The caller",
    params(FieldsQuery),
    responses(
        (status = 200, description = "The caller", body = LookerUser),
        (status = 401, description = "No or an unknown access token", body = ErrorBody)
    ),
    security(("looker_token" = []))
)]
pub(in crate::looker) async fn me(
    State(state): State<Shared>,
    Caller(who): Caller,
    LookerQuery(p): LookerQuery<Params>,
) -> Outcome {
    let u = state.app.looker.get_user(who, who.user_id).await.map_err(|e| fail(&state, e))?;
    ok_json(user_json(&state, &u, &p)?)
}

#[cfg(test)]
mod tests {
    use axum::http::header;

    use super::*;

    #[test]
    fn both_token_schemes_are_accepted() {
        for (value, want) in [
            ("token abc", Some("abc")),
            ("Bearer abc", Some("abc")),
            ("bearer  abc ", Some("abc")),
            ("Basic abc", None),
            ("abc", None),
        ] {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, value.parse().unwrap());
            assert_eq!(bearer(&h), want, "{value}");
        }
    }
}
