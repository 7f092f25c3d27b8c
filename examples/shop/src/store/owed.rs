//! [`AuditLog`] over `shop_audit` and [`Outbox`] over `shop_outbox`, with the two inserts the
//! other writes make inside their own transactions.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use resetd_domain::locale::Language;
use resetd_domain::otp::{Channel, Recipient};
use resetd_domain::user::UserId;
use resetd_ports::audit::{AuditEvent, AuditKind, AuditLog};
use resetd_ports::outbox::{Outbox, OutboxItem, PendingNotice};
use resetd_ports::StoreError;
use sqlx::PgConnection;

use super::{classify, customer_id, ShopStore};

/// Writes `event` on `conn` (a transaction's connection, or the pool's).
pub(crate) async fn note(conn: &mut PgConnection, event: &AuditEvent) -> Result<(), StoreError> {
    let insert = sqlx::query(
        "INSERT INTO shop_audit (customer_id, kind, actor, detail, occurred_at) VALUES ($1, $2, $3, $4, $5)",
    );
    let bound = insert.bind(event.user_id.map(UserId::as_i64)).bind(event.kind.as_str());
    bound.bind(&event.actor).bind(&event.detail).bind(event.at).execute(conn).await.map_err(classify)?;
    Ok(())
}

/// Owes `customer`, from `due` on, the publication of `generation` and/or `notice`.
pub(crate) async fn owe(
    conn: &mut PgConnection,
    due: DateTime<Utc>,
    customer: UserId,
    generation: Option<i64>,
    notice: Option<&PendingNotice>,
) -> Result<(), StoreError> {
    let insert = sqlx::query(
        "INSERT INTO shop_outbox (due_at, customer_id, generation, notice_channel, notice_address, \
           notice_language, notice_name, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, now())",
    );
    insert
        .bind(due)
        .bind(customer.as_i64())
        .bind(generation)
        .bind(notice.map(|n| n.to.channel().as_str()))
        .bind(notice.map(|n| n.to.address()))
        .bind(notice.map(|n| n.language.tag()))
        .bind(notice.and_then(|n| n.name.as_deref()))
        .execute(conn)
        .await
        .map_err(classify)?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    occurred_at: DateTime<Utc>,
    kind: String,
    customer_id: Option<i64>,
    actor: String,
    detail: String,
}

#[derive(sqlx::FromRow)]
struct OwedRow {
    id: i64,
    customer_id: i64,
    generation: Option<i64>,
    notice_channel: Option<String>,
    notice_address: Option<String>,
    notice_language: Option<String>,
    notice_name: Option<String>,
    tried: i32,
}

impl OwedRow {
    fn into_item(self) -> Result<OutboxItem, StoreError> {
        let notice = match (self.notice_channel.as_deref(), self.notice_address.as_deref()) {
            (Some(channel), Some(address)) => {
                let to = Channel::parse(channel)
                    .and_then(|c| Recipient::from_parts(c, address))
                    .ok_or(StoreError::corrupt("shop_outbox.notice_address"))?;
                let language = Language::from_locale(self.notice_language.as_deref());
                Some(PendingNotice { to, language, name: self.notice_name })
            }
            _ => None,
        };
        Ok(OutboxItem {
            id: self.id,
            user_id: customer_id(self.customer_id)?,
            generation: self.generation,
            notice,
            attempts: u32::try_from(self.tried).map_err(|_| StoreError::corrupt("shop_outbox.attempts"))?,
        })
    }
}

#[async_trait]
impl AuditLog for ShopStore {
    async fn record(&self, event: AuditEvent) -> Result<(), StoreError> {
        self.bounded(async {
            let mut conn = self.pool.acquire().await.map_err(classify)?;
            note(&mut conn, &event).await
        })
        .await
    }

    async fn for_user(&self, user: UserId, limit: u32) -> Result<Vec<AuditEvent>, StoreError> {
        self.bounded(async {
            let rows: Vec<AuditRow> = sqlx::query_as(
                "SELECT occurred_at, kind, customer_id, actor, detail FROM shop_audit \
                 WHERE customer_id = $1 ORDER BY occurred_at DESC, id DESC LIMIT $2",
            )
            .bind(user.as_i64())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(classify)?;
            rows.into_iter()
                .map(|r| {
                    Ok(AuditEvent {
                        at: r.occurred_at,
                        kind: AuditKind::parse(&r.kind).ok_or(StoreError::corrupt("shop_audit.kind"))?,
                        user_id: r.customer_id.map(customer_id).transpose()?,
                        actor: r.actor,
                        detail: r.detail,
                    })
                })
                .collect()
        })
        .await
    }
}

#[async_trait]
impl Outbox for ShopStore {
    /// Leases due rows by moving them `lease` into the future; `SKIP LOCKED` lets workers of
    /// several shop processes claim side by side without waiting on each other.
    async fn claim_due(&self, now: DateTime<Utc>, lease: Duration, limit: u32) -> Result<Vec<OutboxItem>, StoreError> {
        let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        self.bounded(async {
            let mut rows: Vec<OwedRow> = sqlx::query_as(
                "WITH due AS (SELECT id FROM shop_outbox WHERE due_at <= $1 \
                              ORDER BY due_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
                 UPDATE shop_outbox SET due_at = $2, attempts = shop_outbox.attempts + 1 FROM due \
                 WHERE shop_outbox.id = due.id \
                 RETURNING shop_outbox.id, customer_id, generation, notice_channel, notice_address, \
                           notice_language, notice_name, shop_outbox.attempts - 1 AS tried",
            )
            .bind(now)
            .bind(until)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(classify)?;
            rows.sort_by_key(|r| r.id);
            rows.into_iter().map(OwedRow::into_item).collect()
        })
        .await
    }

    async fn done(&self, id: i64) -> Result<(), StoreError> {
        let forget = sqlx::query("DELETE FROM shop_outbox WHERE id = $1").bind(id);
        self.bounded(self.exec(forget)).await.map(drop)
    }

    async fn retry(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        let postpone = sqlx::query("UPDATE shop_outbox SET due_at = $2 WHERE id = $1").bind(id).bind(at);
        self.bounded(self.exec(postpone)).await.map(drop)
    }
}
