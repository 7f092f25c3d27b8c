//! [`ApiCredentialStore`]: Looker API credentials in `api_credentials`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use resetd_domain::access::Role;
use resetd_domain::client::ClientId;
use resetd_domain::keyed::Digest;
use resetd_domain::keyring::Sealed;
use resetd_domain::user::UserId;
use resetd_ports::access::{ApiCredential, ApiCredentialStore, ApiCredentialWriteError};
use resetd_ports::StoreError;

use crate::error::{self, constraint};
use crate::PgStore;

#[derive(sqlx::FromRow)]
struct ApiCredentialRow {
    client_id: String,
    secret_hash: Vec<u8>,
    secret_key: Option<String>,
    user_id: i64,
    role: String,
    created_at: DateTime<Utc>,
}

impl TryFrom<ApiCredentialRow> for ApiCredential {
    type Error = StoreError;

    fn try_from(row: ApiCredentialRow) -> Result<Self, StoreError> {
        Ok(ApiCredential {
            client_id: ClientId::parse(&row.client_id).map_err(|_| StoreError::corrupt("api_credentials.client_id"))?,
            secret: crate::keys::sealed(&row.secret_hash, row.secret_key.as_deref(), "api_credentials.secret_hash")?,
            user_id: UserId::from_i64(row.user_id).map_err(|_| StoreError::corrupt("api_credentials.user_id"))?,
            role: Role::parse(&row.role).ok_or(StoreError::corrupt("api_credentials.role"))?,
            created_at: row.created_at,
        })
    }
}

#[async_trait]
impl ApiCredentialStore for PgStore {
    async fn create(&self, credential: ApiCredential) -> Result<(), ApiCredentialWriteError> {
        crate::within(async move {
            let mut conn = self.conn().await?;
            self.query(
                "INSERT INTO api_credentials (client_id, secret_hash, secret_key, user_id, role, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(credential.client_id.as_str())
            .bind(credential.secret.digest.as_bytes().as_slice())
            .bind(crate::keys::key_column(&credential.secret))
            .bind(credential.user_id.as_i64())
            .bind(credential.role.as_str())
            .bind(credential.created_at)
            .execute(&mut *conn)
            .await
            .map_err(|e| match error::violated(&e) {
                Some(constraint::API_CREDENTIALS_PKEY) => ApiCredentialWriteError::Duplicate,
                Some(constraint::API_CREDENTIALS_USER) => ApiCredentialWriteError::UserNotFound,
                _ => ApiCredentialWriteError::Store(error::store(e)),
            })?;
            Ok(conn.finish().await?)
        })
        .await
    }

    async fn find(&self, client_id: &ClientId) -> Result<Option<ApiCredential>, StoreError> {
        crate::within(async move {
            let mut conn = self.conn().await?;
            let row = self
                .query_as::<ApiCredentialRow>(
                    "SELECT client_id, secret_hash, secret_key, user_id, role, created_at FROM api_credentials \
                 WHERE client_id = $1",
                )
                .bind(client_id.as_str())
                .fetch_optional(&mut *conn)
                .await
                .map_err(error::store)?;
            conn.finish().await?;
            row.map(ApiCredential::try_from).transpose()
        })
        .await
    }

    async fn reseal(&self, client_id: &ClientId, old: &Digest, new: &Sealed) -> Result<(), StoreError> {
        crate::keys::reseal(self, crate::keys::SecretRow::ApiCredential, client_id.as_str(), old, new).await
    }
}
