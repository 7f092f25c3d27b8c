use resetd_domain::locale::Language;
use resetd_domain::otp::Recipient;
use resetd_domain::user::{Email, UserId};
use resetd_ports::notify::NotifyError;
use resetd_ports::outbox::{OutboxItem, PendingNotice};
use resetd_ports::StoreError;

use crate::support::Mocks;

fn item(attempts: u32) -> OutboxItem {
    OutboxItem {
        id: 11,
        user_id: UserId::from_i64(7).unwrap(),
        generation: Some(3),
        notice: Some(PendingNotice {
            to: Recipient::Email(Email::parse("ada@example.com").unwrap()),
            language: Language::Spanish,
            name: Some("Ada".into()),
        }),
        attempts,
    }
}

#[tokio::test]
async fn a_due_row_is_published_notified_and_cleared() {
    let mut m = Mocks::default();
    m.outbox.expect_claim_due().times(1).returning(|_, _, _| Ok(vec![item(0)]));
    m.access_tokens
        .expect_publish_generation()
        .withf(|user, generation, _| user.as_i64() == 7 && *generation == 3)
        .times(1)
        .returning(|_, _, _| Ok(()));
    m.notifier.expect_send().times(1).returning(|n| {
        assert_eq!((n.notice.name(), n.language), ("password_changed", Language::Spanish));
        Ok(())
    });
    m.outbox.expect_done().withf(|id| *id == 11).times(1).returning(|_| Ok(()));
    assert_eq!(m.app().outbox.run_once().await.unwrap(), 1);
}

#[tokio::test]
async fn a_failed_delivery_is_tried_again_later_and_later() {
    for (attempts, pause) in [(0, 1), (4, 16)] {
        let mut m = Mocks::default();
        m.outbox.expect_claim_due().times(1).returning(move |_, _, _| Ok(vec![item(attempts)]));
        m.access_tokens.expect_publish_generation().returning(|_, _, _| Ok(()));
        m.notifier.expect_send().returning(|_| Err(NotifyError::Delivery("relay down".into())));
        let now = resetd_ports::testkit::t0();
        m.outbox
            .expect_retry()
            .withf(move |id, at| *id == 11 && *at == now + chrono::Duration::seconds(pause))
            .times(1)
            .returning(|_, _| Ok(()));
        assert_eq!(m.app().outbox.run_once().await.unwrap(), 0, "nothing delivered; no done");
    }
}

#[tokio::test]
async fn a_session_store_outage_keeps_the_row_for_the_next_run() {
    let mut m = Mocks::default();
    m.outbox.expect_claim_due().times(1).returning(|_, _, _| Ok(vec![item(6)]));
    m.access_tokens.expect_publish_generation().returning(|_, _, _| Err(StoreError::unavailable("redis down")));
    let now = resetd_ports::testkit::t0();
    m.outbox
        .expect_retry()
        .withf(move |_, at| *at == now + chrono::Duration::seconds(1))
        .times(1)
        .returning(|_, _| Ok(()));
    assert_eq!(m.app().outbox.run_once().await.unwrap(), 0, "a generation is retried soon, whatever its attempts");
}

#[tokio::test]
async fn an_unreadable_outbox_is_an_error() {
    let mut m = Mocks::default();
    m.outbox.expect_claim_due().returning(|_, _, _| Err(StoreError::unavailable("postgres down")));
    assert!(m.app().outbox.run_once().await.is_err());
}
