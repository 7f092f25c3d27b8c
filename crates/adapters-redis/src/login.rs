//! CIAM logins on Redis: login sessions ([`RefreshTokenStore`]) and the login lockout
//! ([`LoginLockout`]), each rule one Lua script on keys of one hash tag (see [`crate::keys`]).
//!
//! A login session (refresh-token family) is the hash `P{u:<id>}:rf:<family hex>` with the
//! session's TTL, renewed at each rotation:
//!
//! | field    | value                                                           |
//! |----------|-----------------------------------------------------------------|
//! | `client` | the client id that logged the user in                           |
//! | `gen`    | the user's credential generation at login                       |
//! | `auth`   | when the user proved its password, unix ms                      |
//! | `cur`    | the keyed digest of the current refresh token, hex              |
//! | `prev`   | the digest of the token it replaced, hex (empty before the first rotation) |
//! | `at`     | when that rotation happened (the caller's `now`), unix ms (empty before) |
//!
//! `rotate` is one script (`refresh_rotate.lua`): rotation, a retry within grace, and the end
//! of a replayed session cannot interleave with another refresh. Instants compare against the
//! `now` given; only the TTL is Redis's clock. Ending a session deletes the hash: access tokens
//! issued in it die at resetd's own endpoints because those check their `sid` with
//! [`RefreshTokenStore::find`].
//!
//! The lockout of a subject is a failure counter `…:lf` (with the window as its TTL, from the
//! first failure) and a lock `…:lk` (with the lock's length as its TTL), under the user's tag
//! or, for a username naming nobody, `{n:<digest hex>}`. `record_failure` is one script
//! (`login_failure.lua`), so concurrent failures are each counted once.

use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redis::Script;
use resetd_domain::client::ClientId;
use resetd_domain::keyed::Digest;
use resetd_ports::login::{Family, FamilyKey, LockoutRule, LockoutSubject, LoginLockout, RefreshTokenStore, Rotation};
use resetd_ports::StoreError;

use crate::rate_limit::millis;
use crate::store::deadline;
use crate::{keys, RedisStore};

static ROTATE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/refresh_rotate.lua")));
static FAILURE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/login_failure.lua")));

/// A stored instant (unix ms).
fn instant(ms: &str) -> Result<DateTime<Utc>, StoreError> {
    ms.parse().ok().and_then(DateTime::from_timestamp_millis).ok_or_else(|| StoreError::corrupt("login session time"))
}

/// A session as stored: its client, generation and `auth_time`.
fn family(client: &str, generation: &str, auth: &str) -> Result<Family, StoreError> {
    Ok(Family {
        client_id: ClientId::parse(client).map_err(|_| StoreError::corrupt("login session client"))?,
        generation: generation.parse().map_err(|_| StoreError::corrupt("login session generation"))?,
        auth_time: instant(auth)?,
    })
}

/// The rotate script's answer.
fn rotation(answer: &[String]) -> Result<Rotation, StoreError> {
    match answer {
        [outcome] if outcome == "reused" => Ok(Rotation::Reused),
        [outcome] if outcome == "unknown" => Ok(Rotation::Unknown),
        [outcome, client, generation, auth, at] if outcome == "rotated" => {
            Ok(Rotation::Rotated { family: family(client, generation, auth)?, at: instant(at)? })
        }
        [outcome, client, generation, auth, at] if outcome == "retried" => {
            Ok(Rotation::Retried { family: family(client, generation, auth)?, at: instant(at)? })
        }
        _ => Err(StoreError::corrupt("login session")),
    }
}

#[async_trait]
impl RefreshTokenStore for RedisStore {
    async fn start(&self, key: &FamilyKey, family: &Family, token: &Digest, ttl: Duration) -> Result<(), StoreError> {
        let hash = keys::refresh_family(self.prefix(), key.user_id, &key.family);
        let fields = [
            ("client", family.client_id.as_str().to_owned()),
            ("gen", family.generation.to_string()),
            ("auth", family.auth_time.timestamp_millis().to_string()),
            ("cur", token.to_hex()),
            ("prev", String::new()),
            ("at", String::new()),
        ];
        let mut pipe = redis::pipe();
        pipe.atomic().del(&hash).ignore().hset_multiple(&hash, &fields).ignore().pexpire(&hash, millis(ttl)).ignore();
        let mut conn = self.conn();
        let _: () = deadline(pipe.query_async(&mut conn)).await?;
        Ok(())
    }

    async fn rotate(
        &self,
        key: &FamilyKey,
        client: &ClientId,
        presented: &Digest,
        next: &Digest,
        now: DateTime<Utc>,
        grace: Duration,
        ttl: Duration,
    ) -> Result<Rotation, StoreError> {
        let mut call = ROTATE.prepare_invoke();
        call.key(keys::refresh_family(self.prefix(), key.user_id, &key.family))
            .arg(client.as_str())
            .arg(presented.to_hex())
            .arg(next.to_hex())
            .arg(now.timestamp_millis())
            .arg(i64::try_from(grace.as_millis()).unwrap_or(i64::MAX))
            .arg(millis(ttl));
        let lane = self.lane().await?;
        let answer: Vec<String> = deadline(call.invoke_async(&mut lane.conn())).await?;
        let rotation = rotation(&answer)?;
        if matches!(rotation, Rotation::Rotated { .. } | Rotation::Reused) {
            // The old token spent (or the family ended): neither may come back after a failover.
            self.replicated(&lane, &keys::refresh_family(self.prefix(), key.user_id, &key.family)).await?;
        }
        Ok(rotation)
    }

    async fn find(&self, key: &FamilyKey) -> Result<Option<Family>, StoreError> {
        let hash = keys::refresh_family(self.prefix(), key.user_id, &key.family);
        let mut conn = self.conn();
        let fields: (Option<String>, Option<String>, Option<String>) =
            deadline(redis::cmd("HMGET").arg(hash).arg("client").arg("gen").arg("auth").query_async(&mut conn)).await?;
        match fields {
            (None, _, _) => Ok(None),
            (Some(client), Some(generation), Some(auth)) => family(&client, &generation, &auth).map(Some),
            _ => Err(StoreError::corrupt("login session")),
        }
    }

    async fn end(&self, key: &FamilyKey) -> Result<(), StoreError> {
        let hash = keys::refresh_family(self.prefix(), key.user_id, &key.family);
        let lane = self.lane().await?;
        let _: () = deadline(redis::cmd("DEL").arg(&hash).query_async(&mut lane.conn())).await?;
        self.replicated(&lane, &hash).await
    }
}

#[async_trait]
impl LoginLockout for RedisStore {
    async fn is_locked(&self, subject: &LockoutSubject) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let lock = keys::login_lock(self.prefix(), subject);
        let n: i64 = deadline(redis::cmd("EXISTS").arg(lock).query_async(&mut conn)).await?;
        Ok(n > 0)
    }

    async fn record_failure(&self, subject: &LockoutSubject, rule: &LockoutRule) -> Result<bool, StoreError> {
        let mut call = FAILURE.prepare_invoke();
        call.key(keys::login_failures(self.prefix(), subject))
            .key(keys::login_lock(self.prefix(), subject))
            .arg(rule.threshold)
            .arg(millis(rule.window))
            .arg(millis(rule.lock_for));
        let lane = self.lane().await?;
        let locked: i64 = deadline(call.invoke_async(&mut lane.conn())).await?;
        if rule.threshold > 0 {
            // A threshold of 0 counts nothing, so nothing needs a replica.
            self.replicated(&lane, &keys::login_failures(self.prefix(), subject)).await?;
        }
        Ok(locked > 0)
    }

    async fn clear(&self, subject: &LockoutSubject) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let (failures, lock) = (keys::login_failures(self.prefix(), subject), keys::login_lock(self.prefix(), subject));
        let _: () = deadline(redis::cmd("DEL").arg(failures).arg(lock).query_async(&mut conn)).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|p| (*p).to_owned()).collect()
    }

    #[test]
    fn script_answers_read_back_into_rotations() {
        let at = DateTime::from_timestamp_millis(1_900_000_000_250).unwrap();
        let family = Family { client_id: ClientId::parse("web").unwrap(), generation: -3, auth_time: at };
        let rotated = answer(&["rotated", "web", "-3", "1900000000250", "1900000000250"]);
        assert_eq!(rotation(&rotated).unwrap(), Rotation::Rotated { family: family.clone(), at });
        let retried = answer(&["retried", "web", "-3", "1900000000250", "1900000000250"]);
        assert_eq!(rotation(&retried).unwrap(), Rotation::Retried { family, at });
        assert_eq!(rotation(&answer(&["reused"])).unwrap(), Rotation::Reused);
        assert_eq!(rotation(&answer(&["unknown"])).unwrap(), Rotation::Unknown);
        for corrupt in [&["corrupt"][..], &["rotated", "web", "x", "1", "1"], &["retried", "w b", "1", "1", "1"], &[]] {
            assert!(matches!(rotation(&answer(corrupt)), Err(StoreError::Unexpected(_))), "{corrupt:?}");
        }
    }
}
