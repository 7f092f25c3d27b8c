//! The default password policy: `GET, PATCH /password_config`, and
//! `PUT /password_config/force_password_reset_at_next_login_for_all_users`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use resetd_app::looker::PasswordConfigPatch;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{nullable, unserialisable, BadBody, Denied, FieldsQuery, Params};
use crate::looker::error::ErrorBody;
use crate::looker::extract::{Caller, LookerJson, LookerQuery};
use crate::looker::view::LookerPasswordConfig;
use crate::looker::{fail, ok_json, view, Outcome};
use crate::Shared;

#[utoipa::path(
    get,
    path = "/api/4.0/password_config",
    operation_id = "password_config",
    tag = "Looker API 4.0",
    summary = "The default password policy",
    params(FieldsQuery),
    responses(
        (status = 200, description = "The policy", body = LookerPasswordConfig),
        Denied
    ),
    security(("looker_token" = []))
)]
pub(in crate::looker) async fn get_password_config(
    State(state): State<Shared>,
    Caller(who): Caller,
    LookerQuery(p): LookerQuery<Params>,
) -> Outcome {
    let c = state.app.looker.password_config(who).await.map_err(|e| fail(&state, e))?;
    ok_json(view::shaped(&view::password_config(&c), p.fields.as_deref()).map_err(|e| unserialisable(&state, &e))?)
}

/// Looker's `WritePasswordConfig`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub(crate) struct PasswordConfigBody {
    #[schema(minimum = 7, maximum = 100)]
    min_length: Option<i64>,
    require_numeric: Option<bool>,
    require_upperlower: Option<bool>,
    require_special: Option<bool>,
    expiration_enabled: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(minimum = 30, maximum = 365)]
    expiration_duration_days: Option<Option<i64>>,
}

#[utoipa::path(
    patch,
    path = "/api/4.0/password_config",
    operation_id = "update_password_config",
    tag = "Looker API 4.0",
    summary = "Change the default password policy",
    params(FieldsQuery),
    request_body = PasswordConfigBody,
    responses(
        (status = 200, description = "The policy", body = LookerPasswordConfig),
        Denied,
        (status = 422, description = "`min_length` outside 7–100 or `expiration_duration_days` outside 30–365", body = ErrorBody),
        BadBody
    ),
    security(("looker_token" = []))
)]
pub(in crate::looker) async fn update_password_config(
    State(state): State<Shared>,
    Caller(who): Caller,
    LookerQuery(p): LookerQuery<Params>,
    LookerJson(b): LookerJson<PasswordConfigBody>,
) -> Outcome {
    let patch = PasswordConfigPatch {
        min_length: b.min_length,
        require_numeric: b.require_numeric,
        require_upperlower: b.require_upperlower,
        require_special: b.require_special,
        expiration_enabled: b.expiration_enabled,
        expiration_duration_days: b.expiration_duration_days,
    };
    let c = state.app.looker.update_password_config(who, patch).await.map_err(|e| fail(&state, e))?;
    ok_json(view::shaped(&view::password_config(&c), p.fields.as_deref()).map_err(|e| unserialisable(&state, &e))?)
}

#[utoipa::path(
    put,
    path = "/api/4.0/password_config/force_password_reset_at_next_login_for_all_users",
    operation_id = "force_password_reset_at_next_login_for_all_users",
    tag = "Looker API 4.0",
    summary = "Require every user to choose a new password",
    responses(
        (status = 200, description = "Done: the JSON string `\"\"`", body = String, content_type = "application/json"),
        Denied
    ),
    security(("looker_token" = []))
)]
pub(in crate::looker) async fn force_reset_all(
    State(state): State<Shared>,
    Caller(who): Caller,
) -> Result<Response, Response> {
    state.app.looker.force_reset_all(who).await.map_err(|e| fail(&state, e))?;
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], "\"\"").into_response())
}
