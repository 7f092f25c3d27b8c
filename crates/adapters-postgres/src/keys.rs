//! [`KeyUsageStore`]: which token key the long-lived digests depend on (the `*_key` columns).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use resetd_domain::keyed::{Digest, KeyId};
use resetd_domain::keyring::Sealed;
use resetd_ports::keys::{KeyUsage, KeyUsageStore};
use resetd_ports::StoreError;

use crate::error;
use crate::PgStore;

/// A stored digest and its key id column, read back; `column` names the digest for errors.
pub(crate) fn sealed(hash: &[u8], key: Option<&str>, column: &'static str) -> Result<Sealed, StoreError> {
    let digest = Digest::try_from(hash).map_err(|_| StoreError::corrupt(column))?;
    let key = key.map(KeyId::from_hex).transpose().map_err(|_| StoreError::corrupt(column))?;
    Ok(Sealed { digest, key })
}

/// The key id column's value of a digest.
pub(crate) fn key_column(sealed: &Sealed) -> Option<String> {
    sealed.key.map(|k| k.to_string())
}

/// Where a secret's digest is stored: the table and the column naming its row.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SecretRow {
    /// `api_credentials`, by `client_id`.
    ApiCredential,
    /// `clients`, by `id`.
    Client,
}

/// Stores `new` in place of `old` for the row `id` names, compare-and-set: a row whose digest
/// moved meanwhile (another process resealed it, or the secret was rotated) is left alone.
pub(crate) async fn reseal(
    store: &PgStore,
    row: SecretRow,
    id: &str,
    old: &Digest,
    new: &Sealed,
) -> Result<(), StoreError> {
    let sql = match row {
        SecretRow::ApiCredential => {
            "UPDATE api_credentials SET secret_hash = $3, secret_key = $4 WHERE client_id = $1 AND secret_hash = $2"
        }
        SecretRow::Client => "UPDATE clients SET secret_hash = $3, secret_key = $4 WHERE id = $1 AND secret_hash = $2",
    };
    crate::within(async move {
        let mut conn = store.conn().await?;
        store
            .query(sql)
            .bind(id)
            .bind(old.as_bytes().as_slice())
            .bind(new.digest.as_bytes().as_slice())
            .bind(key_column(new))
            .execute(&mut *conn)
            .await
            .map_err(crate::error::store)?;
        conn.finish().await
    })
    .await
}

#[derive(sqlx::FromRow)]
struct UsageRow {
    key: Option<String>,
    api_credentials: i64,
    clients: i64,
    reset_links: i64,
}

#[async_trait]
impl KeyUsageStore for PgStore {
    async fn usage(&self, now: DateTime<Utc>) -> Result<Vec<KeyUsage>, StoreError> {
        crate::within(async move {
            let mut conn = self.conn().await?;
            let rows = self
                .query_as::<UsageRow>(
                    "SELECT key, count(*) FILTER (WHERE kind = 'api') AS api_credentials, \
                        count(*) FILTER (WHERE kind = 'client') AS clients, \
                        count(*) FILTER (WHERE kind = 'link') AS reset_links \
                 FROM (SELECT secret_key AS key, 'api' AS kind FROM api_credentials \
                       UNION ALL SELECT secret_key, 'client' FROM clients WHERE secret_hash IS NOT NULL \
                       UNION ALL SELECT reset_token_key, 'link' FROM credentials_email \
                           WHERE reset_token_hash IS NOT NULL \
                             AND (reset_token_expires_at IS NULL OR reset_token_expires_at > $1)) AS used \
                 GROUP BY key",
                )
                .bind(now)
                .fetch_all(&mut *conn)
                .await
                .map_err(error::store)?;
            conn.finish().await?;
            let count = |n: i64| u64::try_from(n).map_err(|_| StoreError::corrupt("key usage count"));
            rows.into_iter()
                .map(|r| {
                    Ok(KeyUsage {
                        key: r
                            .key
                            .as_deref()
                            .map(KeyId::from_hex)
                            .transpose()
                            .map_err(|_| StoreError::corrupt("key id"))?,
                        api_credentials: count(r.api_credentials)?,
                        clients: count(r.clients)?,
                        reset_links: count(r.reset_links)?,
                    })
                })
                .collect()
        })
        .await
    }

    async fn label_unlabelled(&self, key: KeyId) -> Result<u64, StoreError> {
        crate::within(async move {
            let mut tx = self.begin().await?;
            let key = key.to_string();
            let mut labelled = 0;
            for sql in [
                "UPDATE api_credentials SET secret_key = $1 WHERE secret_key IS NULL",
                "UPDATE clients SET secret_key = $1 WHERE secret_key IS NULL AND secret_hash IS NOT NULL",
                "UPDATE credentials_email SET reset_token_key = $1 \
                 WHERE reset_token_key IS NULL AND reset_token_hash IS NOT NULL",
            ] {
                labelled += self.query(sql).bind(&key).execute(&mut *tx).await.map_err(error::store)?.rows_affected();
            }
            tx.commit().await.map_err(error::store)?;
            Ok(labelled)
        })
        .await
    }
}
