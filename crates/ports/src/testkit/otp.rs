//! Contract of [`OtpStore`]: the verify-and-claim rule, attempts, claims, expiry.

use std::sync::Arc;

use chrono::Duration as Span;
use resetd_domain::client::ClientId;
use resetd_domain::keyed::{Digest, TokenKey};
use resetd_domain::otp::{OtpBinding, OtpChallenge, OtpCode, OtpToken, OtpUsage, Recipient};
use resetd_domain::user::{Email, PhoneNumber};

use super::{key, t0, unique};
use crate::otp::{ClaimOutcome, OtpStore};

/// A challenge as sent to a fresh email address under the test key, with the digests of its
/// right code and of a wrong one (for an adapter's own tests beyond the contract).
#[derive(Debug)]
pub struct Sent {
    /// What the store keeps.
    pub challenge: OtpChallenge,
    /// The right code's digest.
    pub right: Digest,
    /// A wrong code's digest.
    pub wrong: Digest,
}

/// [`Sent`], with `attempts` wrong guesses allowed, sent at [`t0`].
#[must_use]
pub fn sent_otp(attempts: u32) -> Sent {
    send(&key(), email(), attempts)
}

fn send(key: &TokenKey, recipient: Recipient, attempts: u32) -> Sent {
    let token = OtpToken::generate(&mut rand::rngs::OsRng).digest(key);
    let code = OtpCode::parse("424242").unwrap();
    let challenge = OtpChallenge {
        token,
        code: code.digest(key, &token),
        binding: OtpBinding {
            client_id: ClientId::parse("web-app").unwrap(),
            usage: OtpUsage::ResetPassword,
            recipient,
            generation: Some(3),
        },
        attempts_left: attempts,
        code_expires_at: t0() + Span::seconds(60),
        expires_at: t0() + Span::seconds(300),
    };
    Sent { right: code.digest(key, &token), wrong: OtpCode::parse("000000").unwrap().digest(key, &token), challenge }
}

fn email() -> Recipient {
    Recipient::Email(Email::parse(&format!("{}@example.com", unique("otp"))).unwrap())
}

/// [`OtpStore`]: every rule of `verify_and_claim`, `release`, `consume` and `discard`.
pub async fn otp_store(store: Arc<dyn OtpStore>) {
    let key = key();
    let now = t0();

    // Unknown tokens are gone.
    let ghost = send(&key, email(), 5);
    assert_eq!(
        store.verify_and_claim(&ghost.challenge.token, &ghost.right, &ghost.challenge.binding, now).await.unwrap(),
        ClaimOutcome::Gone
    );

    // A wrong code costs one attempt; a mismatched binding costs none; then the right code claims.
    let s = send(&key, email(), 3);
    let b = &s.challenge.binding;
    store.create(&s.challenge, now).await.unwrap();
    assert_eq!(
        store.verify_and_claim(&s.challenge.token, &s.wrong, b, now).await.unwrap(),
        ClaimOutcome::WrongCode { attempts_left: 2 },
        "a wrong code costs an attempt"
    );
    let other_recipient = OtpBinding { recipient: email(), ..b.clone() };
    assert_eq!(
        store.verify_and_claim(&s.challenge.token, &s.right, &other_recipient, now).await.unwrap(),
        ClaimOutcome::Mismatch
    );
    let other_client = OtpBinding { client_id: ClientId::parse("other-app").unwrap(), ..b.clone() };
    assert_eq!(
        store.verify_and_claim(&s.challenge.token, &s.right, &other_client, now).await.unwrap(),
        ClaimOutcome::Mismatch
    );
    let other_usage = OtpBinding { usage: OtpUsage::Login, ..b.clone() };
    assert_eq!(
        store.verify_and_claim(&s.challenge.token, &s.right, &other_usage, now).await.unwrap(),
        ClaimOutcome::Mismatch
    );
    let changed_since = OtpBinding { generation: Some(4), ..b.clone() };
    assert_eq!(
        store.verify_and_claim(&s.challenge.token, &s.right, &changed_since, now).await.unwrap(),
        ClaimOutcome::Mismatch,
        "a password or status change since the send kills the challenge"
    );
    assert_eq!(
        store.verify_and_claim(&s.challenge.token, &s.wrong, b, now).await.unwrap(),
        ClaimOutcome::WrongCode { attempts_left: 1 },
        "mismatches cost no attempt"
    );
    let ClaimOutcome::Claimed(claim) = store.verify_and_claim(&s.challenge.token, &s.right, b, now).await.unwrap()
    else {
        panic!("the right code claims the challenge");
    };
    assert_eq!(claim.token, s.challenge.token);

    // A claimed challenge is gone for everyone else; release gives it back; consume ends it.
    assert_eq!(store.verify_and_claim(&s.challenge.token, &s.right, b, now).await.unwrap(), ClaimOutcome::Gone);
    let stranger = crate::otp::Claim { token: claim.token, id: "not-the-holder".into() };
    store.release(&stranger).await.unwrap();
    store.consume(&stranger).await.unwrap();
    assert_eq!(
        store.verify_and_claim(&s.challenge.token, &s.right, b, now).await.unwrap(),
        ClaimOutcome::Gone,
        "only the holder may release or consume"
    );
    store.release(&claim).await.unwrap();
    let ClaimOutcome::Claimed(again) = store.verify_and_claim(&s.challenge.token, &s.right, b, now).await.unwrap()
    else {
        panic!("a released challenge can be claimed again");
    };
    assert_ne!(again.id, claim.id, "each claim has its own id");
    store.release(&claim).await.unwrap();
    assert_eq!(
        store.verify_and_claim(&s.challenge.token, &s.right, b, now).await.unwrap(),
        ClaimOutcome::Gone,
        "a stale claim releases nothing"
    );
    store.consume(&again).await.unwrap();
    store.release(&again).await.unwrap();
    assert_eq!(
        store.verify_and_claim(&s.challenge.token, &s.right, b, now).await.unwrap(),
        ClaimOutcome::Gone,
        "consumed for good"
    );

    // The last wrong attempt deletes the challenge.
    let s = send(&key, Recipient::Phone(PhoneNumber::parse("13612345678").unwrap()), 2);
    let b = &s.challenge.binding;
    store.create(&s.challenge, now).await.unwrap();
    assert_eq!(
        store.verify_and_claim(&s.challenge.token, &s.wrong, b, now).await.unwrap(),
        ClaimOutcome::WrongCode { attempts_left: 1 }
    );
    assert_eq!(
        store.verify_and_claim(&s.challenge.token, &s.wrong, b, now).await.unwrap(),
        ClaimOutcome::WrongCode { attempts_left: 0 }
    );
    assert_eq!(
        store.verify_and_claim(&s.challenge.token, &s.right, b, now).await.unwrap(),
        ClaimOutcome::Gone,
        "exhausted"
    );

    // Code expiry, token expiry.
    let s = send(&key, email(), 5);
    let b = &s.challenge.binding;
    store.create(&s.challenge, now).await.unwrap();
    let code_dead = s.challenge.code_expires_at;
    assert_eq!(
        store.verify_and_claim(&s.challenge.token, &s.right, b, code_dead).await.unwrap(),
        ClaimOutcome::CodeExpired
    );
    assert!(
        matches!(
            store.verify_and_claim(&s.challenge.token, &s.right, b, code_dead - Span::seconds(1)).await.unwrap(),
            ClaimOutcome::Claimed(_)
        ),
        "an expired-code answer spends nothing"
    );
    let s = send(&key, email(), 5);
    store.create(&s.challenge, now).await.unwrap();
    assert_eq!(
        store
            .verify_and_claim(&s.challenge.token, &s.right, &s.challenge.binding, s.challenge.expires_at)
            .await
            .unwrap(),
        ClaimOutcome::Gone,
        "dead at its expiry instant"
    );

    // Discard removes a challenge whatever its state.
    let s = send(&key, email(), 5);
    store.create(&s.challenge, now).await.unwrap();
    store.discard(&s.challenge.token).await.unwrap();
    assert_eq!(
        store.verify_and_claim(&s.challenge.token, &s.right, &s.challenge.binding, now).await.unwrap(),
        ClaimOutcome::Gone
    );

    // Fifty concurrent right guesses: exactly one claim.
    let s = send(&key, email(), 5);
    store.create(&s.challenge, now).await.unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (store, token, right, binding) =
                (Arc::clone(&store), s.challenge.token, s.right, s.challenge.binding.clone());
            tokio::spawn(async move { store.verify_and_claim(&token, &right, &binding, now).await.unwrap() })
        })
        .collect();
    let mut claims = 0;
    for t in tasks {
        match t.await.unwrap() {
            ClaimOutcome::Claimed(_) => claims += 1,
            ClaimOutcome::Gone => {}
            other => panic!("unexpected outcome under concurrency: {other:?}"),
        }
    }
    assert_eq!(claims, 1, "one code, one claim");

    // Fifty concurrent wrong guesses on five attempts: exactly five are judged.
    let s = send(&key, email(), 5);
    store.create(&s.challenge, now).await.unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (store, token, wrong, binding) =
                (Arc::clone(&store), s.challenge.token, s.wrong, s.challenge.binding.clone());
            tokio::spawn(async move { store.verify_and_claim(&token, &wrong, &binding, now).await.unwrap() })
        })
        .collect();
    let mut judged = Vec::new();
    for t in tasks {
        if let ClaimOutcome::WrongCode { attempts_left } = t.await.unwrap() {
            judged.push(attempts_left);
        }
    }
    judged.sort_unstable();
    assert_eq!(judged, [0, 1, 2, 3, 4], "attempts are counted atomically");
}
