//! Users: `GET, POST /users`, `GET, PATCH, DELETE /users/{user_id}`.

use axum::extract::State;
use resetd_app::looker::WriteUser;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::{no_content, nullable, user_json, BadBody, Denied, FieldsQuery, Params, UserPath};
use crate::looker::error::ErrorBody;
use crate::looker::extract::{Caller, LookerJson, LookerQuery, OptionalJson, Target};
use crate::looker::view::LookerUser;
use crate::looker::{fail, ok_json, LookerError, Outcome};
use crate::{body, Shared};

#[utoipa::path(
    get,
    path = "/api/4.0/users",
    operation_id = "all_users",
    tag = "Looker API 4.0",
    summary = "Users (only the caller, for non-admins)",
    params(FieldsQuery, ("offset" = Option<i64>, Query, minimum = 0, description = "Users to skip"), ("limit" = Option<i64>, Query, minimum = 0, description = "At most this many (default 100, at most 1000)")),
    responses(
        (status = 200, description = "Users by id", body = Vec<LookerUser>),
        (status = 400, description = "`offset` or `limit` is not a whole number from 0 to 2⁶³−1", body = ErrorBody),
        (status = 401, description = "No or an unknown access token", body = ErrorBody)
    ),
    security(("looker_token" = []))
)]
pub(in crate::looker) async fn list_users(
    State(state): State<Shared>,
    Caller(who): Caller,
    LookerQuery(p): LookerQuery<Params>,
) -> Outcome {
    let (offset, limit) = (p.offset.unwrap_or(0), p.limit.unwrap_or(100));
    if i64::try_from(offset.max(limit)).is_err() {
        return Err(fail(&state, LookerError::bad_request("offset and limit must be at most 9223372036854775807.")));
    }
    let users = state.app.looker.list_users(who, offset, limit).await.map_err(|e| fail(&state, e))?;
    ok_json(Value::Array(users.iter().map(|u| user_json(&state, u, &p)).collect::<Result<_, _>>()?))
}

/// Looker's `WriteUser`: absent fields are left alone, `null` clears.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub(crate) struct WriteUserBody {
    #[serde(default, deserialize_with = "nullable")]
    first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    last_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    locale: Option<Option<String>>,
    is_disabled: Option<bool>,
    #[serde(default, deserialize_with = "body::nested_object")]
    credentials_email: Option<WriteCredential>,
}

/// Looker's `WriteCredentialsEmail`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub(crate) struct WriteCredential {
    #[schema(format = Email)]
    pub(super) email: Option<String>,
    pub(super) forced_password_reset_at_next_login: Option<bool>,
}

impl From<WriteUserBody> for WriteUser {
    fn from(b: WriteUserBody) -> Self {
        Self {
            first_name: b.first_name,
            last_name: b.last_name,
            locale: b.locale,
            is_disabled: b.is_disabled,
            email: b.credentials_email.and_then(|c| c.email),
        }
    }
}

#[utoipa::path(
    post,
    path = "/api/4.0/users",
    operation_id = "create_user",
    tag = "Looker API 4.0",
    summary = "Create a user",
    params(FieldsQuery),
    request_body(content = Option<WriteUserBody>, description = "May be empty"),
    responses(
        (status = 200, description = "The new user", body = LookerUser),
        Denied,
        (status = 409, description = "The email is taken", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        BadBody
    ),
    security(("looker_token" = []))
)]
pub(in crate::looker) async fn create_user(
    State(state): State<Shared>,
    Caller(who): Caller,
    LookerQuery(p): LookerQuery<Params>,
    OptionalJson(b): OptionalJson<WriteUserBody>,
) -> Outcome {
    let u = state.app.looker.create_user(who, b.into()).await.map_err(|e| fail(&state, e))?;
    ok_json(user_json(&state, &u, &p)?)
}

#[utoipa::path(
    get,
    path = "/api/4.0/users/{user_id}",
    operation_id = "user",
    tag = "Looker API 4.0",
    summary = "A user",
    params(UserPath, FieldsQuery),
    responses(
        (status = 200, description = "The user", body = LookerUser),
        Denied,
        (status = 404, description = "No such user (or credential)", body = ErrorBody)
    ),
    security(("looker_token" = []))
)]
pub(in crate::looker) async fn get_user(
    State(state): State<Shared>,
    Caller(who): Caller,
    Target(id): Target,
    LookerQuery(p): LookerQuery<Params>,
) -> Outcome {
    let u = state.app.looker.get_user(who, id).await.map_err(|e| fail(&state, e))?;
    ok_json(user_json(&state, &u, &p)?)
}

#[utoipa::path(
    patch,
    path = "/api/4.0/users/{user_id}",
    operation_id = "update_user",
    tag = "Looker API 4.0",
    summary = "Change a user (absent fields stay, `null` clears)",
    params(UserPath, FieldsQuery),
    request_body = WriteUserBody,
    responses(
        (status = 200, description = "The user", body = LookerUser),
        Denied,
        (status = 404, description = "No such user (or credential)", body = ErrorBody),
        (status = 409, description = "The email is taken", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        BadBody
    ),
    security(("looker_token" = []))
)]
pub(in crate::looker) async fn update_user(
    State(state): State<Shared>,
    Caller(who): Caller,
    Target(id): Target,
    LookerQuery(p): LookerQuery<Params>,
    LookerJson(b): LookerJson<WriteUserBody>,
) -> Outcome {
    let u = state.app.looker.update_user(who, id, b.into()).await.map_err(|e| fail(&state, e))?;
    ok_json(user_json(&state, &u, &p)?)
}

#[utoipa::path(
    delete,
    path = "/api/4.0/users/{user_id}",
    operation_id = "delete_user",
    tag = "Looker API 4.0",
    summary = "Delete a user",
    params(UserPath),
    responses(
        (status = 204, description = "Deleted"),
        Denied,
        (status = 404, description = "No such user (or credential)", body = ErrorBody)
    ),
    security(("looker_token" = []))
)]
pub(in crate::looker) async fn delete_user(
    State(state): State<Shared>,
    Caller(who): Caller,
    Target(id): Target,
) -> Outcome {
    state.app.looker.delete_user(who, id).await.map_err(|e| fail(&state, e))?;
    no_content()
}
