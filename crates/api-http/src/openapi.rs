//! `GET /openapi.json`: the whole HTTP surface as an OpenAPI 3.1 document, generated from the
//! handlers' annotations and the types they answer with, so it cannot drift from the code
//! without a test noticing (`tests/api/openapi.rs` checks every documented operation against
//! the router).

use std::sync::LazyLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{Modify, OpenApi};

use crate::{ciam, health, looker, redeem, telemetry};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "resetd",
        description = "Password resets behind two vendor APIs on one user store: the admin side of \
                       Looker API 4.0, and Tencent CIAM's self-service reset with a one-time code. \
                       Errors are in each API's own dialect.",
    ),
    paths(
        looker::handlers::session::login,
        looker::handlers::session::logout,
        looker::handlers::session::logout_unversioned,
        looker::handlers::session::me,
        looker::handlers::users::list_users,
        looker::handlers::users::create_user,
        looker::handlers::users::get_user,
        looker::handlers::users::update_user,
        looker::handlers::users::delete_user,
        looker::handlers::credentials::get_credential,
        looker::handlers::credentials::create_credential,
        looker::handlers::credentials::update_credential,
        looker::handlers::credentials::delete_credential,
        looker::handlers::credentials::password_reset,
        looker::handlers::credentials::send_password_reset,
        looker::handlers::config::get_password_config,
        looker::handlers::config::update_password_config,
        looker::handlers::config::force_reset_all,
        ciam::send,
        ciam::reset,
        ciam::token::token,
        ciam::token::revoke,
        ciam::bearer::userinfo,
        ciam::bearer::change_password,
        ciam::oidc::discovery,
        ciam::oidc::jwks,
        redeem::show,
        redeem::show_setup,
        redeem::submit,
        health::healthz,
        health::readyz,
        telemetry::render,
        document,
    ),
    modifiers(&Schemes),
    tags(
        (name = "Looker API 4.0", description = "Admin side: users, email credentials, reset tokens, the password policy. Errors: `{message, documentation_url}`."),
        (name = "Tencent CIAM", description = "Self-service side: a one-time code, then the reset. Errors: `{error, error_description?}`."),
        (name = "Reset link", description = "Where `password_reset_url` and `account_setup_url` lead."),
        (name = "Operations", description = "Health, readiness, metrics, this document."),
    )
)]
pub(crate) struct ApiDoc;

/// The security schemes the annotations name.
struct Schemes;

/// Looker's answers honour `fields`, which keeps only the named keys: none of their
/// properties is required (as in Looker's own specification).
const SELECTABLE: [&str; 6] =
    ["LookerUser", "CredentialsEmail", "LookerPasswordConfig", "UserCan", "CredentialCan", "ConfigCan"];

impl Modify for Schemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for name in SELECTABLE {
            if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(name) {
                object.required.clear();
            }
        }
        components.add_security_scheme(
            "looker_token",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The access token of `POST /api/4.0/login`, as `Bearer X` or `token X`"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "ciam_client",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "`client_id:client_secret`, each half URL-encoded; SPA and mobile clients send \
                         their id alone, or `client_id` in the body",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "ciam_bearer",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("The access token of `POST /oauth2/token`"))
                    .build(),
            ),
        );
    }
}

static DOCUMENT: LazyLock<String> = LazyLock::new(|| ApiDoc::openapi().to_json().unwrap_or_default());

#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "Operations",
    summary = "This document",
    responses((status = 200, description = "OpenAPI 3.1", content_type = "application/json", body = Object))
)]
pub(crate) async fn document() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT.as_str()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_names_every_schema_it_references() {
        let doc: serde_json::Value = serde_json::from_str(&DOCUMENT).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let text = DOCUMENT.as_str();
        let mut rest = text;
        let mut referenced = 0;
        while let Some(i) = rest.find("#/components/schemas/") {
            rest = &rest[i + "#/components/schemas/".len()..];
            let name: String = rest.chars().take_while(|c| *c != '"').collect();
            assert!(schemas.contains_key(&name), "{name} is referenced but not defined");
            referenced += 1;
        }
        assert!(referenced > 20, "the operations reference their schemas");
        for name in SELECTABLE {
            assert!(schemas[name].get("required").is_none(), "{name}: `fields` may leave out any property");
        }
        assert_eq!(schemas["CiamErrorBody"]["required"], serde_json::json!(["error"]));
        if let Ok(path) = std::env::var("RESETD_DUMP_OPENAPI") {
            std::fs::write(path, text).unwrap();
        }
    }
}
