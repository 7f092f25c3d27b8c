//! Contract of key usage and of resealing secrets under a new key.

use std::sync::Arc;

use chrono::Duration as Span;
use resetd_domain::access::{ApiSecret, Role};
use resetd_domain::client::{ClientId, ClientSecret, ClientType};
use resetd_domain::keyed::{KeyId, TokenKey};
use resetd_domain::keyring::Sealed;
use resetd_domain::reset_token::{ResetToken, ResetTokenKind};
use resetd_domain::user::Email;

use super::{key, sealed, t0, unique};
use crate::access::{ApiCredential, ApiCredentialStore};
use crate::clients::{Client, ClientPolicy, ClientRegistry};
use crate::credentials::CredentialStore;
use crate::keys::{KeyUsage, KeyUsageStore};
use crate::users::{NewUser, UserStore};

/// The stores a key-usage count covers, all over one fresh backend so that the usage store
/// sees what the others write.
pub struct KeyedStores {
    /// The store under test.
    pub usage: Arc<dyn KeyUsageStore>,
    /// Users, for the credentials and links to belong to.
    pub users: Arc<dyn UserStore>,
    /// Email credentials, holding reset links.
    pub credentials: Arc<dyn CredentialStore>,
    /// API credentials, holding API secrets.
    pub api_credentials: Arc<dyn ApiCredentialStore>,
    /// Clients, holding client secrets.
    pub clients: Arc<dyn ClientRegistry>,
}

impl std::fmt::Debug for KeyedStores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedStores").finish_non_exhaustive()
    }
}

fn client(secret: Option<Sealed>, client_type: ClientType) -> Client {
    Client {
        id: ClientId::parse(&unique("app")).unwrap(),
        name: "app".into(),
        client_type,
        secret,
        policy: ClientPolicy::Default,
        enabled: true,
        reset_enabled: true,
        public_otp_send: false,
        login: Default::default(),
        created_at: t0(),
    }
}

async fn usage_of(usage: &dyn KeyUsageStore, now: chrono::DateTime<chrono::Utc>) -> Vec<KeyUsage> {
    let mut all: Vec<KeyUsage> = usage.usage(now).await.unwrap();
    all.retain(|u| (u.api_credentials, u.clients, u.reset_links) != (0, 0, 0));
    all.sort_by_key(|u| u.key);
    all
}

fn count(key: Option<KeyId>, api_credentials: u64, clients: u64, reset_links: u64) -> KeyUsage {
    KeyUsage { key, api_credentials, clients, reset_links }
}

/// [`KeyUsageStore`] over a fresh store, with [`ApiCredentialStore::reseal`] and
/// [`ClientRegistry::reseal`]: which records depend on which key, live links only, resealing
/// only what still holds the old digest, and labelling what has no key id.
pub async fn key_usage(s: KeyedStores) {
    let (now, new, old) = (t0(), key(), key());
    let secret_digest = |k: &TokenKey, s: &ClientSecret| s.digest(k);
    assert_eq!(usage_of(&*s.usage, now).await, vec![], "a fresh store depends on no key");

    // Under the old key: an API credential, a web client, a live link; an expired link; a
    // client and a link written before key ids; a public client with no secret at all.
    let user = s.users.create(NewUser::default(), now).await.unwrap();
    let api_secret = ApiSecret::generate(&mut rand::rngs::OsRng);
    let cred = ApiCredential {
        client_id: ClientId::parse(&unique("api")).unwrap(),
        secret: sealed(&old, api_secret.digest(&old)),
        user_id: user.id,
        role: Role::Admin,
        created_at: now,
    };
    s.api_credentials.create(cred.clone()).await.unwrap();
    let web_secret = ClientSecret::generate(&mut rand::rngs::OsRng);
    let web = client(Some(sealed(&old, secret_digest(&old, &web_secret))), ClientType::Web);
    s.clients.create(web.clone()).await.unwrap();
    let bare = client(Some(Sealed { digest: secret_digest(&old, &web_secret), key: None }), ClientType::M2m);
    s.clients.create(bare.clone()).await.unwrap();
    s.clients.create(client(None, ClientType::Spa)).await.unwrap();
    let link = |key: Option<KeyId>, expires_at| {
        let (users, creds) = (Arc::clone(&s.users), Arc::clone(&s.credentials));
        let digest = ResetToken::generate(&mut rand::rngs::OsRng).digest(&old);
        async move {
            let u = users.create(NewUser::default(), now).await.unwrap();
            let email = Email::parse(&format!("{}@example.com", unique("k"))).unwrap();
            creds.create(u.id, &email, now).await.unwrap();
            let token = Sealed { digest, key };
            creds
                .issue_reset_token(
                    u.id,
                    &token,
                    ResetTokenKind::PasswordReset,
                    expires_at,
                    now,
                    &super::issued(u.id, now),
                )
                .await
                .unwrap();
        }
    };
    link(Some(old.id()), None).await;
    link(Some(old.id()), Some(now + Span::minutes(5))).await;
    link(Some(old.id()), Some(now - Span::minutes(5))).await;
    link(None, None).await;
    let mut expected = vec![count(None, 0, 1, 1), count(Some(old.id()), 1, 1, 2)];
    expected.sort_by_key(|u| u.key);
    assert_eq!(usage_of(&*s.usage, now).await, expected, "expired links depend on no key");

    // Resealing replaces only the digest it was read with.
    let fresh = sealed(&new, api_secret.digest(&new));
    let stale = sealed(&new, ApiSecret::generate(&mut rand::rngs::OsRng).digest(&old));
    s.api_credentials.reseal(&cred.client_id, &stale.digest, &stale).await.unwrap();
    assert_eq!(s.api_credentials.find(&cred.client_id).await.unwrap(), Some(cred.clone()), "a changed secret stays");
    s.api_credentials.reseal(&cred.client_id, &cred.secret.digest, &fresh).await.unwrap();
    let found = s.api_credentials.find(&cred.client_id).await.unwrap().map(|c| c.secret);
    assert_eq!(found, Some(fresh));
    let web_fresh = sealed(&new, secret_digest(&new, &web_secret));
    s.clients.reseal(&web.id, &stale.digest, &stale).await.unwrap();
    assert_eq!(s.clients.find(&web.id).await.unwrap(), Some(web.clone()), "a changed secret stays");
    s.clients.reseal(&web.id, &secret_digest(&old, &web_secret), &web_fresh).await.unwrap();
    assert_eq!(s.clients.find(&web.id).await.unwrap().and_then(|c| c.secret), Some(web_fresh));
    let mut expected = vec![count(None, 0, 1, 1), count(Some(old.id()), 0, 0, 2), count(Some(new.id()), 1, 1, 0)];
    expected.sort_by_key(|u| u.key);
    assert_eq!(usage_of(&*s.usage, now).await, expected);

    // Labelling gives every unlabelled digest the key, and nothing else.
    assert_eq!(s.usage.label_unlabelled(new.id()).await.unwrap(), 2);
    assert_eq!(s.usage.label_unlabelled(new.id()).await.unwrap(), 0, "nothing is left to label");
    let labelled = s.clients.find(&bare.id).await.unwrap().and_then(|c| c.secret);
    assert_eq!(labelled, Some(Sealed { digest: secret_digest(&old, &web_secret), key: Some(new.id()) }));
    let mut expected = vec![count(Some(old.id()), 0, 0, 2), count(Some(new.id()), 1, 2, 1)];
    expected.sort_by_key(|u| u.key);
    assert_eq!(usage_of(&*s.usage, now).await, expected);
    assert_eq!(usage_of(&*s.usage, now + Span::minutes(6)).await.iter().map(|u| u.reset_links).sum::<u64>(), 2);
}
