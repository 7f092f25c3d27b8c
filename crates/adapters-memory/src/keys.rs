//! Which token key the stored digests depend on.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use resetd_domain::keyed::KeyId;
use resetd_domain::reset_token::is_live;
use resetd_ports::keys::{KeyUsage, KeyUsageStore};
use resetd_ports::StoreError;

use crate::MemoryStore;

#[async_trait]
impl KeyUsageStore for MemoryStore {
    async fn usage(&self, now: DateTime<Utc>) -> Result<Vec<KeyUsage>, StoreError> {
        let s = self.lock();
        let mut by_key: BTreeMap<Option<KeyId>, KeyUsage> = BTreeMap::new();
        for c in s.api_credentials.values() {
            entry(&mut by_key, c.secret.key).api_credentials += 1;
        }
        for secret in s.clients.values().filter_map(|c| c.secret) {
            entry(&mut by_key, secret.key).clients += 1;
        }
        for token in s.credentials.values().filter_map(|c| c.token).filter(|t| is_live(t.expires_at, now)) {
            entry(&mut by_key, token.key).reset_links += 1;
        }
        Ok(by_key.into_values().collect())
    }

    async fn label_unlabelled(&self, key: KeyId) -> Result<u64, StoreError> {
        let mut s = self.lock();
        let mut labelled = 0;
        for c in s.api_credentials.values_mut().filter(|c| c.secret.key.is_none()) {
            c.secret.key = Some(key);
            labelled += 1;
        }
        for secret in s.clients.values_mut().filter_map(|c| c.secret.as_mut()).filter(|s| s.key.is_none()) {
            secret.key = Some(key);
            labelled += 1;
        }
        for token in s.credentials.values_mut().filter_map(|c| c.token.as_mut()).filter(|t| t.key.is_none()) {
            token.key = Some(key);
            labelled += 1;
        }
        Ok(labelled)
    }
}

fn entry(by_key: &mut BTreeMap<Option<KeyId>, KeyUsage>, key: Option<KeyId>) -> &mut KeyUsage {
    by_key.entry(key).or_insert(KeyUsage { key, ..KeyUsage::default() })
}
