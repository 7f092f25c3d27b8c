//! [`ClientRegistry`]: CIAM applications in `clients`, with their policy choice spread over
//! `policy_kind`, `policy_preset` and `policy` (JSON).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use resetd_domain::client::{ClientId, ClientType};
use resetd_domain::keyed::Digest;
use resetd_domain::keyring::Sealed;
use resetd_domain::policy::PasswordPolicy;
use resetd_ports::clients::{Client, ClientPolicy, ClientRegistry, ClientSwitches, ClientWriteError};
use resetd_ports::StoreError;

use crate::error::{self, constraint};
use crate::PgStore;

#[derive(sqlx::FromRow)]
struct ClientRow {
    id: String,
    name: String,
    client_type: String,
    secret_hash: Option<Vec<u8>>,
    secret_key: Option<String>,
    policy_kind: String,
    policy_preset: Option<String>,
    /// `policy::text`: the JSON of a custom policy.
    policy: Option<String>,
    enabled: bool,
    reset_enabled: bool,
    public_otp_send: bool,
    /// `login::text`: the JSON of the client's own login settings.
    login: String,
    created_at: DateTime<Utc>,
}

impl TryFrom<ClientRow> for Client {
    type Error = StoreError;

    fn try_from(row: ClientRow) -> Result<Self, StoreError> {
        let policy = match (row.policy_kind.as_str(), row.policy_preset, row.policy) {
            ("default", None, None) => ClientPolicy::Default,
            ("preset", Some(name), None) => ClientPolicy::Preset(name),
            ("custom", None, Some(json)) => ClientPolicy::Custom(
                serde_json::from_str::<PasswordPolicy>(&json).map_err(|_| StoreError::corrupt("clients.policy"))?,
            ),
            _ => return Err(StoreError::corrupt("clients.policy_kind")),
        };
        Ok(Client {
            id: ClientId::parse(&row.id).map_err(|_| StoreError::corrupt("clients.id"))?,
            name: row.name,
            client_type: ClientType::parse(&row.client_type).map_err(|_| StoreError::corrupt("clients.client_type"))?,
            secret: row
                .secret_hash
                .map(|hash| crate::keys::sealed(&hash, row.secret_key.as_deref(), "clients.secret_hash"))
                .transpose()?,
            policy,
            enabled: row.enabled,
            reset_enabled: row.reset_enabled,
            public_otp_send: row.public_otp_send,
            login: serde_json::from_str(&row.login).map_err(|_| StoreError::corrupt("clients.login"))?,
            created_at: row.created_at,
        })
    }
}

/// The `(policy_kind, policy_preset, policy)` columns of a policy choice.
fn policy_columns(policy: &ClientPolicy) -> Result<(&'static str, Option<&str>, Option<String>), StoreError> {
    Ok(match policy {
        ClientPolicy::Default => ("default", None, None),
        ClientPolicy::Preset(name) => ("preset", Some(name.as_str()), None),
        ClientPolicy::Custom(p) => ("custom", None, Some(serde_json::to_string(p).map_err(StoreError::unexpected)?)),
    })
}

#[async_trait]
impl ClientRegistry for PgStore {
    async fn create(&self, client: Client) -> Result<(), ClientWriteError> {
        crate::within(async move {
            let (kind, preset, policy) = policy_columns(&client.policy)?;
            let mut conn = self.conn().await?;
            self.query(
                "INSERT INTO clients (id, name, client_type, secret_hash, secret_key, policy_kind, policy_preset, \
                                  policy, enabled, reset_enabled, public_otp_send, created_at, login) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11, $12, $13::jsonb)",
            )
            .bind(client.id.as_str())
            .bind(&client.name)
            .bind(client.client_type.as_str())
            .bind(client.secret.as_ref().map(|s| s.digest.as_bytes().to_vec()))
            .bind(client.secret.as_ref().and_then(crate::keys::key_column))
            .bind(kind)
            .bind(preset)
            .bind(policy)
            .bind(client.enabled)
            .bind(client.reset_enabled)
            .bind(client.public_otp_send)
            .bind(client.created_at)
            .bind(serde_json::to_string(&client.login).map_err(StoreError::unexpected)?)
            .execute(&mut *conn)
            .await
            .map_err(|e| match error::violated(&e) {
                Some(constraint::CLIENTS_PKEY) => ClientWriteError::Duplicate,
                _ => ClientWriteError::Store(error::store(e)),
            })?;
            Ok(conn.finish().await?)
        })
        .await
    }

    async fn find(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        crate::within(async move {
            let mut conn = self.conn().await?;
            let row = self.query_as::<ClientRow>(
                "SELECT id, name, client_type, secret_hash, secret_key, policy_kind, policy_preset, policy::text AS policy, \
                    enabled, reset_enabled, public_otp_send, login::text AS login, created_at \
             FROM clients WHERE id = $1",
            )
            .bind(id.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(error::store)?;
            conn.finish().await?;
            row.map(Client::try_from).transpose()
        })
        .await
    }

    async fn set_switches(&self, id: &ClientId, switches: ClientSwitches) -> Result<bool, StoreError> {
        crate::within(async move {
            let login =
                switches.login.map(|l| serde_json::to_string(&l)).transpose().map_err(StoreError::unexpected)?;
            let mut conn = self.conn().await?;
            let done = self
                .query(
                    "UPDATE clients SET enabled = coalesce($2, enabled), reset_enabled = coalesce($3, reset_enabled), \
                                public_otp_send = coalesce($4, public_otp_send), login = coalesce($5::jsonb, login) \
             WHERE id = $1",
                )
                .bind(id.as_str())
                .bind(switches.enabled)
                .bind(switches.reset_enabled)
                .bind(switches.public_otp_send)
                .bind(login)
                .execute(&mut *conn)
                .await
                .map_err(error::store)?;
            conn.finish().await?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }

    async fn reseal(&self, id: &ClientId, old: &Digest, new: &Sealed) -> Result<(), StoreError> {
        crate::keys::reseal(self, crate::keys::SecretRow::Client, id.as_str(), old, new).await
    }
}
