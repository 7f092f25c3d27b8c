//! [`AccessTokenStore`] on Redis: one key per session, plus a per-user index for
//! `revoke_all`.
//!
//! - `Pat:<digest hex>` holds `<user id>:<role>` with the session's TTL (`PX`), so
//!   `resolve` is one `GET` of a key named by the only thing it has, the digest.
//! - `Patu:{<user id>}` is a sorted set of that user's digests, scored by expiry (ms, Redis
//!   clock). Each `issue` records the digest there first (one script on that one key, which
//!   also drops expired entries and keeps the set alive a minute past its longest-lived
//!   token), then writes the session. A failure in between leaves at most an index entry
//!   without a session, which is harmless.
//!
//! `revoke_all` is the one operation that spans hash slots: it reads the user's set, then
//! deletes each session key by a single-key `DEL` (pipelined, not a script, so it also works
//! on Cluster). It is not atomic, and need not be: every session whose `issue` returned
//! before `revoke_all` started is in the set and is gone when `revoke_all` returns. It leaves
//! the set's entries in place (they expire by score): a session issued concurrently may
//! survive, as if it had been issued just after, but stays indexed for the next `revoke_all`.
//!
//! (Tagging both keys with the user, `P{u:<id>}:…`, would make `revoke_all` a single-slot
//! script, but `resolve` knows only the digest, so it would need a digest → user pointer and
//! two round trips on every API request; sessions are resolved far more often than revoked.)

use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
use resetd_domain::access::{Principal, Role};
use resetd_domain::keyed::Digest;
use resetd_domain::user::UserId;
use resetd_ports::access::AccessTokenStore;
use resetd_ports::StoreError;

use crate::rate_limit::millis;
use crate::store::deadline;
use crate::{keys, RedisStore};

static TRACK: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/track_token.lua")));

/// How long a user's index outlives its longest-lived session, in ms.
const INDEX_MARGIN_MS: i64 = 60_000;
/// Session keys deleted per pipeline by `revoke_all`.
const REVOKE_BATCH: usize = 256;

fn encode(principal: Principal) -> String {
    format!("{}:{}", principal.user_id.as_i64(), principal.role.as_str())
}

fn decode(value: &str) -> Option<Principal> {
    let (user, role) = value.split_once(':')?;
    let user_id = UserId::from_i64(user.parse().ok()?).ok()?;
    Some(Principal { user_id, role: Role::parse(role)? })
}

#[async_trait]
impl AccessTokenStore for RedisStore {
    async fn issue(&self, token: &Digest, principal: Principal, ttl: Duration) -> Result<(), StoreError> {
        let ttl_ms = millis(ttl);
        let mut conn = self.conn();
        let mut track = TRACK.prepare_invoke();
        track
            .key(keys::user_tokens(self.prefix(), principal.user_id))
            .arg(token.to_hex())
            .arg(ttl_ms)
            .arg(INDEX_MARGIN_MS);
        let _: i64 = deadline(track.invoke_async(&mut conn)).await?;
        let set = redis::cmd("SET")
            .arg(keys::access_token(self.prefix(), token))
            .arg(encode(principal))
            .arg("PX")
            .arg(ttl_ms)
            .to_owned();
        let _: () = deadline(set.query_async(&mut conn)).await?;
        Ok(())
    }

    async fn resolve(&self, token: &Digest) -> Result<Option<Principal>, StoreError> {
        let mut conn = self.conn();
        let value: Option<String> =
            deadline(redis::cmd("GET").arg(keys::access_token(self.prefix(), token)).query_async(&mut conn)).await?;
        value.map(|v| decode(&v).ok_or_else(|| StoreError::corrupt("access token session"))).transpose()
    }

    async fn revoke(&self, token: &Digest) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let _: () =
            deadline(redis::cmd("DEL").arg(keys::access_token(self.prefix(), token)).query_async(&mut conn)).await?;
        Ok(())
    }

    async fn revoke_all(&self, user: UserId) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let digests: Vec<String> = deadline(
            redis::cmd("ZRANGE").arg(keys::user_tokens(self.prefix(), user)).arg(0).arg(-1).query_async(&mut conn),
        )
        .await?;
        for batch in digests.chunks(REVOKE_BATCH) {
            let mut pipe = redis::pipe();
            for digest in batch {
                pipe.del(keys::access_token_hex(self.prefix(), digest)).ignore();
            }
            let _: () = deadline(pipe.query_async(&mut conn)).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_round_trip_and_garbage_does_not_parse() {
        let p = Principal { user_id: UserId::from_i64(42).unwrap(), role: Role::Admin };
        assert_eq!(decode(&encode(p)), Some(p));
        assert_eq!(decode("42"), None);
        assert_eq!(decode("x:admin"), None);
        assert_eq!(decode("42:root"), None);
    }
}
