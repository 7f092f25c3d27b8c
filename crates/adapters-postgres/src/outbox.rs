//! [`Outbox`]: the `outbox` table. Rows are written by the changes that owe them, inside their
//! transactions ([`owe`]); workers of every process claim due rows by leasing them (`due_at`
//! moves forward) with `FOR UPDATE SKIP LOCKED`, so two workers never get the same row at once.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use resetd_domain::locale::Language;
use resetd_domain::otp::{Channel, Recipient};
use resetd_domain::user::UserId;
use resetd_ports::outbox::{Outbox, OutboxItem, PendingNotice};
use resetd_ports::StoreError;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use crate::error;
use crate::PgStore;

/// The `notice` column.
#[derive(Serialize, Deserialize)]
struct NoticeJson {
    channel: String,
    address: String,
    language: String,
    name: Option<String>,
}

fn to_json(notice: &PendingNotice) -> Result<String, StoreError> {
    let json = NoticeJson {
        channel: notice.to.channel().as_str().to_owned(),
        address: notice.to.address().to_owned(),
        language: notice.language.tag().to_owned(),
        name: notice.name.clone(),
    };
    serde_json::to_string(&json).map_err(StoreError::unexpected)
}

fn from_json(raw: &str) -> Result<PendingNotice, StoreError> {
    let corrupt = || StoreError::corrupt("outbox.notice");
    let json: NoticeJson = serde_json::from_str(raw).map_err(|_| corrupt())?;
    let channel = Channel::parse(&json.channel).ok_or_else(corrupt)?;
    Ok(PendingNotice {
        to: Recipient::from_parts(channel, &json.address).ok_or_else(corrupt)?,
        language: Language::from_locale(Some(&json.language)),
        name: json.name,
    })
}

/// Writes one outbox row, due at `now`, on `conn` (inside the caller's transaction).
pub(crate) async fn owe(
    store: &PgStore,
    conn: &mut PgConnection,
    user: UserId,
    generation: Option<i64>,
    notice: Option<&PendingNotice>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let notice = notice.map(to_json).transpose()?;
    store
        .query(
            "INSERT INTO outbox (user_id, generation, notice, due_at, created_at) VALUES ($1, $2, $3::jsonb, $4, $4)",
        )
        .bind(user.as_i64())
        .bind(generation)
        .bind(notice)
        .bind(now)
        .execute(conn)
        .await
        .map_err(error::store)?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    user_id: i64,
    generation: Option<i64>,
    notice: Option<String>,
    attempts: i32,
}

#[async_trait]
impl Outbox for PgStore {
    async fn claim_due(&self, now: DateTime<Utc>, lease: Duration, limit: u32) -> Result<Vec<OutboxItem>, StoreError> {
        crate::within(async move {
            let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
            let mut conn = self.conn().await?;
            // `attempts` comes back as it was before this claim: the tries before this one.
            let rows = self
                .query_as::<Row>(
                    "UPDATE outbox o SET due_at = $2, attempts = o.attempts + 1 \
             FROM (SELECT id FROM outbox WHERE due_at <= $1 ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) due \
             WHERE o.id = due.id \
             RETURNING o.id, o.user_id, o.generation, o.notice::text AS notice, o.attempts - 1 AS attempts",
                )
                .bind(now)
                .bind(until)
                .bind(i64::from(limit))
                .fetch_all(&mut *conn)
                .await
                .map_err(error::store)?;
            conn.finish().await?;
            rows.into_iter()
                .map(|r| {
                    Ok(OutboxItem {
                        id: r.id,
                        user_id: UserId::from_i64(r.user_id).map_err(|_| StoreError::corrupt("outbox.user_id"))?,
                        generation: r.generation,
                        notice: r.notice.as_deref().map(from_json).transpose()?,
                        attempts: u32::try_from(r.attempts).unwrap_or(0),
                    })
                })
                .collect()
        })
        .await
    }

    async fn done(&self, id: i64) -> Result<(), StoreError> {
        crate::within(async move {
            let mut conn = self.conn().await?;
            self.query("DELETE FROM outbox WHERE id = $1").bind(id).execute(&mut *conn).await.map_err(error::store)?;
            conn.finish().await
        })
        .await
    }

    async fn retry(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        crate::within(async move {
            let mut conn = self.conn().await?;
            self.query("UPDATE outbox SET due_at = $2 WHERE id = $1")
                .bind(id)
                .bind(at)
                .execute(&mut *conn)
                .await
                .map_err(error::store)?;
            conn.finish().await
        })
        .await
    }
}
