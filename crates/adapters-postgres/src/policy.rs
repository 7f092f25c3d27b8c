//! [`PolicyStore`]: the default password policy, the row named `default` of
//! `password_policies`, stored as JSON.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use resetd_domain::policy::PasswordPolicy;
use resetd_ports::policy::{PolicyStore, StoredPolicy};
use resetd_ports::StoreError;

use crate::error;
use crate::PgStore;

/// The name of the default policy's row.
const DEFAULT: &str = "default";

#[derive(sqlx::FromRow)]
struct PolicyRow {
    /// `policy::text`.
    policy: String,
    updated_at: DateTime<Utc>,
}

#[async_trait]
impl PolicyStore for PgStore {
    async fn default_policy(&self) -> Result<Option<StoredPolicy>, StoreError> {
        crate::within(async move {
            let mut conn = self.conn().await?;
            let row = self
                .query_as::<PolicyRow>(
                    "SELECT policy::text AS policy, updated_at FROM password_policies WHERE name = $1",
                )
                .bind(DEFAULT)
                .fetch_optional(&mut *conn)
                .await
                .map_err(error::store)?;
            conn.finish().await?;
            row.map(|r| {
                let policy = serde_json::from_str::<PasswordPolicy>(&r.policy)
                    .map_err(|_| StoreError::corrupt("password_policies.policy"))?;
                Ok(StoredPolicy { policy, updated_at: r.updated_at })
            })
            .transpose()
        })
        .await
    }

    async fn set_default_policy(&self, policy: &PasswordPolicy, now: DateTime<Utc>) -> Result<(), StoreError> {
        crate::within(async move {
            let json = serde_json::to_string(policy).map_err(StoreError::unexpected)?;
            let mut conn = self.conn().await?;
            self.query(
                "INSERT INTO password_policies (name, policy, updated_at) VALUES ($1, $2::jsonb, $3) \
             ON CONFLICT (name) DO UPDATE SET policy = EXCLUDED.policy, updated_at = EXCLUDED.updated_at",
            )
            .bind(DEFAULT)
            .bind(json)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(error::store)?;
            conn.finish().await
        })
        .await
    }
}
