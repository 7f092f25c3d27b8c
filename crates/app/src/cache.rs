//! A read-through cache in front of another [`ClientRegistry`], as a decorator of the port
//! (any store can sit behind it): CIAM calls look their client up on every request, and
//! clients change rarely. Only found clients are cached (unknown ids
//! cannot fill memory), for `ttl`, at most `capacity` of them; a change made by another process
//! is seen within `ttl`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use resetd_domain::client::ClientId;
use resetd_domain::keyed::Digest;
use resetd_domain::keyring::Sealed;
use resetd_ports::clients::{Client, ClientRegistry, ClientSwitches, ClientWriteError};
use resetd_ports::clock::Clock;
use resetd_ports::StoreError;

/// A cached [`ClientRegistry`].
pub struct CachedClients {
    inner: Arc<dyn ClientRegistry>,
    clock: Arc<dyn Clock>,
    ttl: chrono::Duration,
    capacity: usize,
    entries: Mutex<HashMap<ClientId, (Client, DateTime<Utc>)>>,
}

impl std::fmt::Debug for CachedClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedClients")
            .field("ttl", &self.ttl)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl CachedClients {
    /// Caches `inner`'s found clients for `ttl` (by `clock`), at most `capacity` of them; when full, expired
    /// entries go, then all.
    pub fn new(inner: Arc<dyn ClientRegistry>, clock: Arc<dyn Clock>, ttl: Duration, capacity: usize) -> Self {
        let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::zero());
        Self { inner, clock, ttl, capacity, entries: Mutex::new(HashMap::new()) }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<ClientId, (Client, DateTime<Utc>)>> {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl ClientRegistry for CachedClients {
    async fn create(&self, client: Client) -> Result<(), ClientWriteError> {
        self.entries().remove(&client.id);
        self.inner.create(client).await
    }

    async fn set_switches(&self, id: &ClientId, switches: ClientSwitches) -> Result<bool, StoreError> {
        self.entries().remove(id);
        self.inner.set_switches(id, switches).await
    }

    async fn reseal(&self, id: &ClientId, old: &Digest, new: &Sealed) -> Result<(), StoreError> {
        self.entries().remove(id);
        self.inner.reseal(id, old, new).await
    }

    async fn find(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        let now = self.clock.now();
        if let Some((client, _)) = self.entries().get(id).filter(|(_, until)| *until > now) {
            return Ok(Some(client.clone()));
        }
        let found = self.inner.find(id).await?;
        if let Some(client) = &found {
            let mut entries = self.entries();
            if entries.len() >= self.capacity {
                entries.retain(|_, (_, until)| *until > now);
                if entries.len() >= self.capacity {
                    entries.clear();
                }
            }
            entries.insert(id.clone(), (client.clone(), now + self.ttl));
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resetd_adapters_memory::MemoryStore;
    use resetd_ports::testkit::{self, ManualClock};

    #[tokio::test]
    async fn the_cache_follows_the_contract() {
        let clock = Arc::new(ManualClock::new(testkit::t0()));
        let inner = Arc::new(MemoryStore::new(clock.clone()));
        testkit::client_registry(Arc::new(CachedClients::new(inner, clock, Duration::from_secs(10), 2))).await;
    }

    #[tokio::test]
    async fn a_cached_client_is_served_until_its_ttl() {
        let clock = Arc::new(ManualClock::new(testkit::t0()));
        let inner = Arc::new(MemoryStore::new(clock.clone()));
        let cache = CachedClients::new(inner.clone(), clock.clone(), Duration::from_secs(10), 100);
        let id = ClientId::parse("app").unwrap();
        let client = Client {
            id: id.clone(),
            name: "app".into(),
            client_type: resetd_domain::client::ClientType::Spa,
            secret: None,
            policy: resetd_ports::clients::ClientPolicy::Default,
            enabled: true,
            reset_enabled: true,
            public_otp_send: false,
            login: Default::default(),
            created_at: testkit::t0(),
        };
        assert_eq!(cache.find(&id).await.unwrap(), None, "misses are not cached");
        ClientRegistry::create(inner.as_ref(), client.clone()).await.unwrap();
        assert_eq!(cache.find(&id).await.unwrap(), Some(client.clone()));
        // Behind the cache's back (another process), the client is switched off.
        let off = ClientSwitches { enabled: Some(false), ..ClientSwitches::default() };
        assert!(inner.set_switches(&id, off).await.unwrap());
        assert_eq!(cache.find(&id).await.unwrap(), Some(client.clone()), "served from the cache");
        clock.advance(Duration::from_secs(10));
        let fresh = cache.find(&id).await.unwrap().unwrap();
        assert!(!fresh.enabled, "read again after the TTL");
    }

    #[tokio::test]
    async fn key_usage_follows_the_contract_through_the_cache() {
        let clock = Arc::new(ManualClock::new(testkit::t0()));
        let s = Arc::new(MemoryStore::new(clock.clone()));
        let clients = Arc::new(CachedClients::new(s.clone(), clock, Duration::from_secs(60), 8));
        let stores = testkit::KeyedStores {
            usage: s.clone(),
            users: s.clone(),
            credentials: s.clone(),
            api_credentials: s,
            clients,
        };
        testkit::key_usage(stores).await;
    }
}
