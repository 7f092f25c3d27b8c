//! OpenID Connect discovery (`GET /.well-known/openid-configuration`) and the signing keys
//! (`GET /.well-known/jwks.json`), under the issuer `oidc.issuer`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::CiamReply;
use crate::Shared;

/// The discovery document (OpenID Connect Discovery 1.0 §3).
#[derive(Serialize, ToSchema)]
pub(crate) struct Discovery {
    issuer: String,
    token_endpoint: String,
    userinfo_endpoint: String,
    revocation_endpoint: String,
    jwks_uri: String,
    grant_types_supported: [&'static str; 2],
    response_types_supported: [&'static str; 0],
    subject_types_supported: [&'static str; 1],
    scopes_supported: [&'static str; 1],
    token_endpoint_auth_methods_supported: [&'static str; 3],
    revocation_endpoint_auth_methods_supported: [&'static str; 3],
    id_token_signing_alg_values_supported: Vec<&'static str>,
    claims_supported: [&'static str; 9],
}

/// The path of the JWKS, under the issuer.
pub(crate) const JWKS_PATH: &str = "/.well-known/jwks.json";

#[utoipa::path(
    get,
    path = "/.well-known/openid-configuration",
    tag = "Tencent CIAM",
    summary = "OpenID Connect discovery",
    responses((status = 200, description = "The discovery document", body = Discovery))
)]
pub(crate) async fn discovery(State(state): State<Shared>) -> Response {
    let login = state.app.ciam.login_settings();
    let issuer = login.issuer.clone();
    let at = |path: &str| format!("{issuer}{path}");
    let mut algorithms: Vec<&'static str> = login.signer.iter().map(|s| s.current().algorithm_name()).collect();
    algorithms.dedup();
    let auth = ["client_secret_basic", "client_secret_post", "none"];
    let doc = Discovery {
        token_endpoint: at("/oauth2/token"),
        userinfo_endpoint: at("/userinfo"),
        revocation_endpoint: at("/oauth2/revoke"),
        jwks_uri: at(JWKS_PATH),
        grant_types_supported: ["password", "refresh_token"],
        response_types_supported: [],
        subject_types_supported: ["public"],
        scopes_supported: ["openid"],
        token_endpoint_auth_methods_supported: auth,
        revocation_endpoint_auth_methods_supported: auth,
        id_token_signing_alg_values_supported: algorithms,
        claims_supported: ["iss", "sub", "aud", "iat", "exp", "auth_time", "email", "phone_number", "name"],
        issuer,
    };
    cached(serde_json::to_string(&doc))
}

#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "Tencent CIAM",
    summary = "The token signing keys (JWKS)",
    description = "The current key first, then `oidc.previous_keys`; each `kid` is the key's RFC 7638 thumbprint.",
    responses((status = 200, description = "A JWK Set (RFC 7517)", body = Object))
)]
pub(crate) async fn jwks(State(state): State<Shared>) -> Response {
    let keys = state.app.ciam.login_settings().signer.as_ref().map(resetd_domain::oidc::Signer::jwks);
    match keys {
        Some(set) => cached(serde_json::to_string(&set)),
        None => cached(Ok(r#"{"keys":[]}"#.to_owned())),
    }
}

/// A JSON document resource servers may cache for a few minutes.
fn cached(text: Result<String, serde_json::Error>) -> Response {
    match text {
        Ok(text) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "public, max-age=300")],
            text,
        )
            .into_response(),
        Err(e) => CiamReply::unserialisable(&e).into_response(),
    }
}
