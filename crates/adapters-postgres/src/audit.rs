//! [`AuditLog`]: the append-only `audit_events` table.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use resetd_domain::user::UserId;
use resetd_ports::audit::{AuditEvent, AuditKind, AuditLog};
use resetd_ports::StoreError;

use crate::error;
use crate::PgStore;

#[derive(sqlx::FromRow)]
struct EventRow {
    at: DateTime<Utc>,
    kind: String,
    user_id: Option<i64>,
    actor: String,
    detail: String,
}

impl TryFrom<EventRow> for AuditEvent {
    type Error = StoreError;

    fn try_from(row: EventRow) -> Result<Self, StoreError> {
        Ok(AuditEvent {
            at: row.at,
            kind: AuditKind::parse(&row.kind).ok_or(StoreError::corrupt("audit_events.kind"))?,
            user_id: row
                .user_id
                .map(UserId::from_i64)
                .transpose()
                .map_err(|_| StoreError::corrupt("audit_events.user_id"))?,
            actor: row.actor,
            detail: row.detail,
        })
    }
}

/// Appends `event` on `conn` (the call's own, or inside the caller's transaction).
pub(crate) async fn insert<'c, E>(store: &PgStore, conn: E, event: &AuditEvent) -> Result<(), StoreError>
where
    E: sqlx::PgExecutor<'c>,
{
    store
        .query("INSERT INTO audit_events (at, kind, user_id, actor, detail) VALUES ($1, $2, $3, $4, $5)")
        .bind(event.at)
        .bind(event.kind.as_str())
        .bind(event.user_id.map(UserId::as_i64))
        .bind(&event.actor)
        .bind(&event.detail)
        .execute(conn)
        .await
        .map_err(error::store)?;
    Ok(())
}

#[async_trait]
impl AuditLog for PgStore {
    async fn record(&self, event: AuditEvent) -> Result<(), StoreError> {
        crate::within(async move {
            let mut conn = self.conn().await?;
            insert(self, &mut *conn, &event).await?;
            conn.finish().await
        })
        .await
    }

    /// One statement for the whole batch: the columns as arrays, `UNNEST`ed.
    async fn record_many(&self, events: Vec<AuditEvent>) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let at: Vec<DateTime<Utc>> = events.iter().map(|e| e.at).collect();
        let kind: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        let user_id: Vec<Option<i64>> = events.iter().map(|e| e.user_id.map(UserId::as_i64)).collect();
        let actor: Vec<&str> = events.iter().map(|e| e.actor.as_str()).collect();
        let detail: Vec<&str> = events.iter().map(|e| e.detail.as_str()).collect();
        crate::within(async move {
            let mut conn = self.conn().await?;
            self.query(
                "INSERT INTO audit_events (at, kind, user_id, actor, detail) \
                 SELECT * FROM UNNEST($1::timestamptz[], $2::text[], $3::int8[], $4::text[], $5::text[])",
            )
            .bind(&at)
            .bind(&kind)
            .bind(&user_id)
            .bind(&actor)
            .bind(&detail)
            .execute(&mut *conn)
            .await
            .map_err(error::store)?;
            conn.finish().await
        })
        .await
    }

    async fn for_user(&self, user: UserId, limit: u32) -> Result<Vec<AuditEvent>, StoreError> {
        crate::within(async move {
            let mut conn = self.conn().await?;
            let rows = self
                .query_as::<EventRow>(
                    "SELECT at, kind, user_id, actor, detail FROM audit_events WHERE user_id = $1 \
             ORDER BY at DESC, id DESC LIMIT $2",
                )
                .bind(user.as_i64())
                .bind(i64::from(limit))
                .fetch_all(&mut *conn)
                .await
                .map_err(error::store)?;
            conn.finish().await?;
            rows.into_iter().map(AuditEvent::try_from).collect()
        })
        .await
    }
}
