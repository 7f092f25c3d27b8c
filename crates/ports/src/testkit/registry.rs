//! Contracts of the small durable stores: the client registry, the policy and the audit log.

use std::sync::Arc;

use chrono::Duration as Span;
use resetd_domain::client::{ClientId, ClientType};
use resetd_domain::policy::PasswordPolicy;

use super::{key, t0, unique};
use crate::audit::{AuditEvent, AuditKind, AuditLog};
use crate::clients::{Client, ClientPolicy, ClientRegistry, ClientSwitches, ClientWriteError};
use crate::policy::PolicyStore;
use crate::users::{NewUser, UserStore};

/// [`ClientRegistry`]: create, find, duplicate ids.
pub async fn client_registry(clients: Arc<dyn ClientRegistry>) {
    let key = key();
    let id = ClientId::parse(&unique("app")).unwrap();
    let web = Client {
        id: id.clone(),
        name: "Web shop".into(),
        client_type: ClientType::Web,
        secret: Some(super::sealed(
            &key,
            resetd_domain::client::ClientSecret::generate(&mut rand::rngs::OsRng).digest(&key),
        )),
        policy: ClientPolicy::Custom(PasswordPolicy { min_length: 12, history_count: 3, ..PasswordPolicy::default() }),
        enabled: true,
        reset_enabled: true,
        public_otp_send: false,
        login: Default::default(),
        created_at: t0(),
    };
    clients.create(web.clone()).await.unwrap();
    assert_eq!(clients.find(&id).await.unwrap(), Some(web.clone()));
    assert!(matches!(clients.create(web.clone()).await, Err(ClientWriteError::Duplicate)));
    let spa = Client {
        id: ClientId::parse(&unique("spa")).unwrap(),
        client_type: ClientType::Spa,
        secret: None,
        policy: ClientPolicy::Preset("strong".into()),
        enabled: false,
        reset_enabled: false,
        public_otp_send: true,
        login: crate::clients::ClientLogin {
            access_token_ttl_secs: Some(120),
            lockout_threshold: Some(0),
            ..Default::default()
        },
        ..web
    };
    clients.create(spa.clone()).await.unwrap();
    assert_eq!(clients.find(&spa.id).await.unwrap(), Some(spa));
    let plain = Client {
        id: ClientId::parse(&unique("m2m")).unwrap(),
        client_type: ClientType::M2m,
        policy: ClientPolicy::Default,
        ..clients.find(&id).await.unwrap().unwrap()
    };
    clients.create(plain.clone()).await.unwrap();
    assert_eq!(clients.find(&plain.id).await.unwrap(), Some(plain));
    assert_eq!(clients.find(&ClientId::parse("nobody").unwrap()).await.unwrap(), None);
    let switches = |enabled, reset_enabled, public_otp_send| ClientSwitches {
        enabled,
        reset_enabled,
        public_otp_send,
        login: None,
    };
    let state = |c: Client| (c.enabled, c.reset_enabled, c.public_otp_send);
    assert!(clients.set_switches(&id, switches(None, Some(false), None)).await.unwrap());
    let off = clients.find(&id).await.unwrap().unwrap();
    assert_eq!(state(off), (true, false, false), "only the named switch moves");
    assert!(clients.set_switches(&id, switches(Some(false), None, Some(true))).await.unwrap());
    assert_eq!(clients.find(&id).await.unwrap().map(state), Some((false, false, true)));
    assert!(!clients
        .set_switches(&ClientId::parse("nobody").unwrap(), switches(Some(true), None, None))
        .await
        .unwrap());
    // The client's own login settings: set whole, kept by other switches, cleared by `{}`.
    let own = crate::clients::ClientLogin {
        refresh_token_ttl_secs: Some(3_600),
        lockout_threshold: Some(3),
        lockout_window_secs: Some(60),
        lockout_secs: Some(30),
        ..Default::default()
    };
    let login = |login| ClientSwitches { login: Some(login), ..ClientSwitches::default() };
    assert!(clients.set_switches(&id, login(own)).await.unwrap());
    assert_eq!(clients.find(&id).await.unwrap().unwrap().login, own);
    assert!(clients.set_switches(&id, switches(Some(true), None, None)).await.unwrap());
    assert_eq!(clients.find(&id).await.unwrap().unwrap().login, own, "other switches leave it alone");
    assert!(clients.set_switches(&id, login(crate::clients::ClientLogin::default())).await.unwrap());
    assert_eq!(clients.find(&id).await.unwrap().unwrap().login, crate::clients::ClientLogin::default());
}

/// [`PolicyStore`]: unset, then the last write wins.
pub async fn policy_store(store: Arc<dyn PolicyStore>) {
    assert_eq!(store.default_policy().await.unwrap(), None);
    let p = PasswordPolicy {
        min_length: 10,
        require_special: true,
        expiration_enabled: true,
        expiration_duration_days: Some(90),
        ..PasswordPolicy::default()
    };
    store.set_default_policy(&p, t0()).await.unwrap();
    let got = store.default_policy().await.unwrap().unwrap();
    assert_eq!((got.policy, got.updated_at), (p, t0()));
    let q = PasswordPolicy { min_length: 20, max_length: 40, ..PasswordPolicy::default() };
    store.set_default_policy(&q, t0() + Span::seconds(5)).await.unwrap();
    assert_eq!(store.default_policy().await.unwrap().unwrap().policy, q);
}

/// [`AuditLog`]: events come back per user, newest first, limited.
pub async fn audit_log(log: Arc<dyn AuditLog>, users: Arc<dyn UserStore>) {
    let u = users.create(NewUser::default(), t0()).await.unwrap();
    let other = users.create(NewUser::default(), t0()).await.unwrap();
    for (i, kind) in
        [AuditKind::ResetTokenIssued, AuditKind::PasswordChanged, AuditKind::OtpSent].into_iter().enumerate()
    {
        let at = t0() + Span::seconds(i64::try_from(i).unwrap());
        log.record(AuditEvent { at, kind, user_id: Some(u.id), actor: "cli".into(), detail: format!("event {i}") })
            .await
            .unwrap();
    }
    log.record(AuditEvent {
        at: t0(),
        kind: AuditKind::ApiLogin,
        user_id: Some(other.id),
        actor: "api:x".into(),
        detail: String::new(),
    })
    .await
    .unwrap();
    log.record(AuditEvent {
        at: t0(),
        kind: AuditKind::ApiLoginFailed,
        user_id: None,
        actor: "api:y".into(),
        detail: String::new(),
    })
    .await
    .unwrap();
    let got = log.for_user(u.id, 2).await.unwrap();
    assert_eq!(got.iter().map(|e| e.kind).collect::<Vec<_>>(), [AuditKind::OtpSent, AuditKind::PasswordChanged]);
    assert_eq!(got[0].detail, "event 2");
    assert_eq!(got[0].at, t0() + Span::seconds(2));
    assert_eq!(log.for_user(other.id, 10).await.unwrap().len(), 1);

    // A batch: every event, in one call, with and without a user.
    let later = t0() + Span::minutes(1);
    let batch: Vec<AuditEvent> = (0..3)
        .map(|i| AuditEvent {
            at: later + Span::seconds(i),
            kind: AuditKind::OtpSent,
            user_id: (i != 1).then_some(other.id),
            actor: format!("ciam:{i}"),
            detail: "sms".into(),
        })
        .collect();
    log.record_many(batch.clone()).await.unwrap();
    log.record_many(Vec::new()).await.unwrap();
    let got = log.for_user(other.id, 10).await.unwrap();
    assert_eq!(got.len(), 3, "two of the batch are about this user: {got:?}");
    assert_eq!(got[..2], [batch[2].clone(), batch[0].clone()], "newest first, as written");
}
