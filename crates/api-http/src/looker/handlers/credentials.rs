//! Email credentials: `GET, POST, PATCH, DELETE /users/{user_id}/credentials_email`, and the
//! reset tokens: `POST …/password_reset`, `POST …/send_password_reset`.

use axum::extract::State;
use serde_json::Value;

use super::users::WriteCredential;
use super::{credential_json, no_content, BadBody, Denied, FieldsQuery, Params, UserPath};
use crate::looker::error::ErrorBody;
use crate::looker::extract::{Caller, LookerJson, LookerQuery, OptionalJson, Target};
use crate::looker::view::CredentialsEmail;
use crate::looker::{fail, LookerError, Outcome};
use crate::Shared;

#[utoipa::path(
    get,
    path = "/api/4.0/users/{user_id}/credentials_email",
    operation_id = "user_credentials_email",
    tag = "Looker API 4.0",
    summary = "A user's email credential",
    params(UserPath, FieldsQuery),
    responses(
        (status = 200, description = "The credential", body = CredentialsEmail),
        Denied,
        (status = 404, description = "No such user (or credential)", body = ErrorBody)
    ),
    security(("looker_token" = []))
)]
pub(in crate::looker) async fn get_credential(
    State(state): State<Shared>,
    Caller(who): Caller,
    Target(id): Target,
    LookerQuery(p): LookerQuery<Params>,
) -> Outcome {
    let c = state.app.looker.get_credential(who, id).await.map_err(|e| fail(&state, e))?;
    credential_json(&state, &c, &p)
}

#[utoipa::path(
    post,
    path = "/api/4.0/users/{user_id}/credentials_email",
    operation_id = "create_user_credentials_email",
    tag = "Looker API 4.0",
    summary = "Give a user an email credential",
    params(UserPath, FieldsQuery),
    request_body = WriteCredential,
    responses(
        (status = 200, description = "The credential", body = CredentialsEmail),
        Denied,
        (status = 404, description = "No such user (or credential)", body = ErrorBody),
        (status = 409, description = "The user has one, or the email is taken", body = ErrorBody),
        (status = 422, description = "Invalid email", body = ErrorBody),
        BadBody
    ),
    security(("looker_token" = []))
)]
pub(in crate::looker) async fn create_credential(
    State(state): State<Shared>,
    Caller(who): Caller,
    Target(id): Target,
    LookerQuery(p): LookerQuery<Params>,
    LookerJson(b): LookerJson<WriteCredential>,
) -> Outcome {
    let c = state.app.looker.create_credential(who, id, b.email.as_deref()).await.map_err(|e| fail(&state, e))?;
    credential_json(&state, &c, &p)
}

#[utoipa::path(
    patch,
    path = "/api/4.0/users/{user_id}/credentials_email",
    operation_id = "update_user_credentials_email",
    tag = "Looker API 4.0",
    summary = "Change a user's email credential",
    params(UserPath, FieldsQuery),
    request_body = WriteCredential,
    responses(
        (status = 200, description = "The credential", body = CredentialsEmail),
        Denied,
        (status = 404, description = "No such user (or credential)", body = ErrorBody),
        (status = 409, description = "The email is taken", body = ErrorBody),
        (status = 422, description = "Invalid email", body = ErrorBody),
        BadBody
    ),
    security(("looker_token" = []))
)]
pub(in crate::looker) async fn update_credential(
    State(state): State<Shared>,
    Caller(who): Caller,
    Target(id): Target,
    LookerQuery(p): LookerQuery<Params>,
    LookerJson(b): LookerJson<WriteCredential>,
) -> Outcome {
    let forced = b.forced_password_reset_at_next_login;
    let c =
        state.app.looker.update_credential(who, id, b.email.as_deref(), forced).await.map_err(|e| fail(&state, e))?;
    credential_json(&state, &c, &p)
}

#[utoipa::path(
    delete,
    path = "/api/4.0/users/{user_id}/credentials_email",
    operation_id = "delete_user_credentials_email",
    tag = "Looker API 4.0",
    summary = "Remove a user's email credential",
    params(UserPath),
    responses(
        (status = 204, description = "Removed"),
        Denied,
        (status = 404, description = "No such user (or credential)", body = ErrorBody)
    ),
    security(("looker_token" = []))
)]
pub(in crate::looker) async fn delete_credential(
    State(state): State<Shared>,
    Caller(who): Caller,
    Target(id): Target,
) -> Outcome {
    state.app.looker.delete_credential(who, id).await.map_err(|e| fail(&state, e))?;
    no_content()
}

/// `expires`: `true`/`false` in any case, or `1`/`0`; absent means false.
fn parse_expires(raw: Option<&str>) -> Result<bool, LookerError> {
    match raw.map(str::to_ascii_lowercase).as_deref() {
        None | Some("false" | "0") => Ok(false),
        Some("true" | "1") => Ok(true),
        Some(_) => Err(LookerError::bad_request("expires must be true or false.")),
    }
}

#[utoipa::path(
    post,
    path = "/api/4.0/users/{user_id}/credentials_email/password_reset",
    operation_id = "create_user_credentials_email_password_reset",
    tag = "Looker API 4.0",
    summary = "Create a single-use password reset token",
    params(UserPath, ("expires" = Option<bool>, Query, description = "`true`: the link lives 60 minutes; absent or `false`: it does not expire"), FieldsQuery),
    request_body(content = Option<Object>, description = "Ignored; may be empty"),
    responses(
        (status = 200, description = "The credential with `password_reset_url` (this answer only)", body = CredentialsEmail),
        (status = 400, description = "`expires` is not a boolean", body = ErrorBody),
        Denied,
        (status = 404, description = "No such user (or credential)", body = ErrorBody),
        (status = 429, description = "Too many tokens issued by this caller (`Retry-After`)", body = ErrorBody),
        (status = 413, description = "A body over 64 KiB", body = ErrorBody),
        (status = 415, description = "A body that is not JSON (login: nor a form)", body = ErrorBody)
    ),
    security(("looker_token" = []))
)]
pub(in crate::looker) async fn password_reset(
    State(state): State<Shared>,
    Caller(who): Caller,
    Target(id): Target,
    LookerQuery(p): LookerQuery<Params>,
    OptionalJson(_): OptionalJson<Value>,
) -> Outcome {
    let expires = parse_expires(p.expires.as_deref()).map_err(|e| fail(&state, e))?;
    let c = state.app.looker.create_password_reset(who, id, expires).await.map_err(|e| fail(&state, e))?;
    credential_json(&state, &c, &p)
}

#[utoipa::path(
    post,
    path = "/api/4.0/users/{user_id}/credentials_email/send_password_reset",
    operation_id = "send_user_credentials_email_password_reset",
    tag = "Looker API 4.0",
    summary = "Email the user an expiring reset (or account-setup) link",
    params(UserPath, FieldsQuery),
    responses(
        (status = 200, description = "The credential; the link went by email", body = CredentialsEmail),
        Denied,
        (status = 404, description = "No such user (or credential)", body = ErrorBody),
        (status = 409, description = "Email is switched off on this server (`mail.enabled = false`)", body = ErrorBody),
        (status = 429, description = "Too many tokens issued by this caller (`Retry-After`)", body = ErrorBody),
        (status = 503, description = "The email could not be sent (the new link was issued; try again)", body = ErrorBody)
    ),
    security(("looker_token" = []))
)]
pub(in crate::looker) async fn send_password_reset(
    State(state): State<Shared>,
    Caller(who): Caller,
    Target(id): Target,
    LookerQuery(p): LookerQuery<Params>,
) -> Outcome {
    let c = state.app.looker.send_password_reset(who, id).await.map_err(|e| fail(&state, e))?;
    credential_json(&state, &c, &p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_is_parsed_strictly() {
        assert!(!parse_expires(None).unwrap());
        assert!(parse_expires(Some("TRUE")).unwrap());
        assert!(parse_expires(Some("1")).unwrap());
        assert!(!parse_expires(Some("False")).unwrap());
        assert!(parse_expires(Some("yes")).is_err());
    }
}
