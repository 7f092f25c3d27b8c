//! Key rotation for operators: which records still depend on which token key
//! (`resetd admin key-status`), and labelling digests written before key ids were recorded.

use std::sync::Arc;
use std::time::Duration;

use resetd_domain::keyed::KeyId;
use resetd_ports::keys::KeyUsage;

use crate::{fault, Context, Fault};

/// One key that is configured or that some record depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyReport {
    /// The key's public name, as stored beside the digests made under it.
    pub id: KeyId,
    /// It makes every new digest.
    pub current: bool,
    /// It is configured (a key that is not no longer verifies anything).
    pub configured: bool,
    /// Records that verify under this key only.
    pub usage: KeyUsage,
}

impl KeyReport {
    /// Whether the key can leave the ring: it is an old one, no record depends on it, and
    /// nothing unlabelled might. Sessions and codes, which are not counted, must also have
    /// outlived [`KeyStatus::short_lived_for`] since the key stopped being current.
    pub fn removable(&self, status: &KeyStatus) -> bool {
        let u = &self.usage;
        self.configured
            && !self.current
            && (u.api_credentials, u.clients, u.reset_links) == (0, 0, 0)
            && status.unlabelled.is_none()
    }
}

/// Which records depend on which key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStatus {
    /// The configured keys in order (the current first), then any other key a record names.
    pub keys: Vec<KeyReport>,
    /// Records written before key ids were recorded (any configured key may verify them).
    pub unlabelled: Option<KeyUsage>,
    /// How long sessions and one-time codes made under an old key may still live after it
    /// stopped being current (they are not counted: they live in Redis and expire).
    pub short_lived_for: Duration,
}

/// Token-key rotation for operators: what still depends on which key.
#[derive(Debug, Clone)]
pub struct KeyService {
    ctx: Arc<Context>,
}

impl KeyService {
    pub(crate) fn new(ctx: Arc<Context>) -> Self {
        Self { ctx }
    }

    /// What depends on each key (`resetd admin key-status`).
    ///
    /// # Errors
    /// [`Fault`] when the store fails.
    pub async fn status(&self) -> Result<KeyStatus, Fault> {
        let ports = &self.ctx.ports;
        let s = &self.ctx.settings;
        let mut usage = ports.key_usage.usage(ports.clock.now()).await.map_err(fault("counting key usage"))?;
        let unlabelled = usage.iter().position(|u| u.key.is_none()).map(|i| usage.remove(i));
        let mut keys: Vec<KeyReport> = s
            .keys
            .all()
            .iter()
            .enumerate()
            .map(|(i, k)| KeyReport {
                id: k.id(),
                current: i == 0,
                configured: true,
                usage: KeyUsage { key: Some(k.id()), ..KeyUsage::default() },
            })
            .collect();
        for u in usage {
            let Some(id) = u.key else { continue };
            match keys.iter_mut().find(|k| k.id == id) {
                Some(report) => report.usage = u,
                None => keys.push(KeyReport { id, current: false, configured: false, usage: u }),
            }
        }
        let short_lived_for = s.access_token_ttl.max(s.otp.token_ttl);
        Ok(KeyStatus { keys, unlabelled, short_lived_for })
    }

    /// Labels every unlabelled digest with the one configured key (`resetd admin label-keys`),
    /// so `status` can count them; with several keys configured it does nothing. Sound only
    /// while the records' key is that one key, as it is right after upgrading from a release
    /// without key ids and before the first rotation: the operator asserts it by running the
    /// command. It never runs by itself (a process started with only the new key during a
    /// rolling rotation would mislabel records still under the old one). Unlabelled secrets
    /// are also labelled, soundly, the next time they verify. Answers how many were labelled.
    ///
    /// # Errors
    /// [`Fault`] when the store fails.
    pub async fn label_if_one_key(&self) -> Result<u64, Fault> {
        let [key] = self.ctx.settings.keys.all() else { return Ok(0) };
        self.ctx.ports.key_usage.label_unlabelled(key.id()).await.map_err(fault("labelling digests"))
    }
}
