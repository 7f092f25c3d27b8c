//! [`AccessTokenStore`] on Redis: a user's sessions sit beside the user's published credential
//! generation, under the user's hash tag (see [`crate::keys`]).
//!
//! - `P{u:<id>}:s:<digest hex>` holds `<role>:<generation>` with the session's TTL.
//! - `P{u:<id>}:g` holds the generation last published for the user, kept at least as long
//!   as the longest session.
//!
//! `resolve` is one script on one slot: the session counts only while its generation is the
//! published one (a stale session is deleted on sight). Publishing a newer generation after a
//! password or status change therefore ends every older session of the user in one write,
//! in every process, with no per-user index to walk.

use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
use resetd_domain::access::{Principal, Role};
use resetd_domain::user::UserId;
use resetd_ports::access::{AccessTokenStore, SessionKey};
use resetd_ports::StoreError;

use crate::rate_limit::millis;
use crate::store::deadline;
use crate::{keys, RedisStore};

static ISSUE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/session_issue.lua")));
static RESOLVE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/session_resolve.lua")));
static PUBLISH: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/generation_publish.lua")));

#[async_trait]
impl AccessTokenStore for RedisStore {
    async fn issue(&self, session: &SessionKey, role: Role, generation: i64, ttl: Duration) -> Result<(), StoreError> {
        let mut call = ISSUE.prepare_invoke();
        call.key(keys::session(self.prefix(), session.user_id, &session.token))
            .key(keys::generation(self.prefix(), session.user_id))
            .arg(role.as_str())
            .arg(generation)
            .arg(millis(ttl));
        let mut conn = self.conn();
        let _: i64 = deadline(call.invoke_async(&mut conn)).await?;
        Ok(())
    }

    async fn resolve(&self, session: &SessionKey) -> Result<Option<Principal>, StoreError> {
        let mut call = RESOLVE.prepare_invoke();
        call.key(keys::session(self.prefix(), session.user_id, &session.token))
            .key(keys::generation(self.prefix(), session.user_id));
        let mut conn = self.conn();
        let role: Option<String> = deadline(call.invoke_async(&mut conn)).await?;
        role.map(|r| {
            Role::parse(&r)
                .map(|role| Principal { user_id: session.user_id, role })
                .ok_or_else(|| StoreError::corrupt("API session"))
        })
        .transpose()
    }

    async fn revoke(&self, session: &SessionKey) -> Result<(), StoreError> {
        let key = keys::session(self.prefix(), session.user_id, &session.token);
        let lane = self.lane().await?;
        let _: () = deadline(redis::cmd("DEL").arg(&key).query_async(&mut lane.conn())).await?;
        self.replicated(&lane, &key).await
    }

    async fn publish_generation(&self, user: UserId, generation: i64, ttl: Duration) -> Result<(), StoreError> {
        let mut call = PUBLISH.prepare_invoke();
        call.key(keys::generation(self.prefix(), user)).arg(generation).arg(millis(ttl));
        let lane = self.lane().await?;
        let _: i64 = deadline(call.invoke_async(&mut lane.conn())).await?;
        self.replicated(&lane, &keys::generation(self.prefix(), user)).await
    }
}
