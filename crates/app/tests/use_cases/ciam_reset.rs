use std::time::Duration;

use mockall::predicate::eq;
use resetd_app::ciam::{BadRequest, BlockedStatus, ClientCredentials, ResetPasswordError, ResetWithOtp};
use resetd_domain::client::{ClientSecret, ClientType};
use resetd_domain::otp::{Channel, OtpToken};
use resetd_domain::user::UserStatus;
use resetd_ports::audit::AuditKind;
use resetd_ports::credentials::ChangePasswordError;
use resetd_ports::otp::{Claim, ClaimOutcome};
use resetd_ports::rate_limit::RateDecision;
use resetd_ports::StoreError;

use crate::support::{some_hash, user, Mocks};

struct Case {
    secret: ClientSecret,
    token: OtpToken,
}

impl Case {
    fn new() -> Self {
        Self {
            secret: ClientSecret::generate(&mut rand::rngs::OsRng),
            token: OtpToken::generate(&mut rand::rngs::OsRng),
        }
    }

    fn creds(&self) -> ClientCredentials {
        ClientCredentials { client_id: "app".into(), client_secret: Some(self.secret.expose().to_owned().into()) }
    }

    fn body(&self, password: &str) -> ResetWithOtp {
        ResetWithOtp {
            password: Some(password.into()),
            email: Some("ada@example.com".into()),
            email_otp_token: Some(self.token.expose().into()),
            email_otp: Some("123456".into()),
            ..ResetWithOtp::default()
        }
    }

    fn mocks(&self, client_type: ClientType) -> Mocks {
        let mut m = Mocks::default();
        m.client(client_type, &self.secret, true, true);
        m
    }
}

fn claim() -> Claim {
    Claim { token: resetd_domain::keyed::Digest::from_bytes([1; 32]), id: "c1".into() }
}

/// Mocks up to a successful claim; the test adds what follows.
fn claimed(case: &Case) -> Mocks {
    let mut m = case.mocks(ClientType::Web);
    m.allow_rate();
    m.otps.expect_verify_and_claim().times(1).returning(|_, _, _, _| Ok(ClaimOutcome::Claimed(claim())));
    m
}

/// Mocks up to an accepted new password: claimed, an active user, the default policy, no
/// match in the history, hashed once. The test adds what follows.
fn accepted(case: &Case) -> Mocks {
    let mut m = claimed(case);
    m.users.expect_find_by_email().returning(|_| Ok(Some(user(UserStatus::Active))));
    m.no_default_policy();
    m.password_state(Some(some_hash()));
    m.hasher.expect_matches_any().returning(|_, _| Ok(false));
    m.hasher.expect_hash().times(1).returning(|_| Ok(some_hash()));
    m
}

async fn run(m: Mocks, case: &Case, password: &str) -> Result<(), ResetPasswordError> {
    m.app().ciam.reset_password(&case.creds(), case.body(password)).await
}

#[tokio::test]
async fn an_unknown_client_is_refused_before_anything_else() {
    let case = Case::new();
    let mut m = Mocks::default();
    m.clients.expect_find().returning(|_| Ok(None));
    assert!(matches!(run(m, &case, "x").await, Err(ResetPasswordError::InvalidClient)));
}

#[tokio::test]
async fn a_wrong_or_missing_secret_is_refused_for_confidential_clients() {
    let case = Case::new();
    let m = case.mocks(ClientType::Web);
    let wrong = ClientCredentials { client_id: "app".into(), client_secret: Some("x".repeat(43).into()) };
    assert!(matches!(
        m.app().ciam.reset_password(&wrong, case.body("x")).await,
        Err(ResetPasswordError::InvalidClient)
    ));
    let m = case.mocks(ClientType::Web);
    let none = ClientCredentials { client_id: "app".into(), client_secret: None };
    assert!(matches!(m.app().ciam.reset_password(&none, case.body("x")).await, Err(ResetPasswordError::InvalidClient)));
    let mut m = Mocks::default();
    m.client(ClientType::Web, &case.secret, false, true);
    assert!(matches!(run(m, &case, "x").await, Err(ResetPasswordError::InvalidClient)), "a disabled client");
}

#[tokio::test]
async fn public_clients_need_no_secret_and_m2m_may_not_reset() {
    let case = Case::new();
    let m = case.mocks(ClientType::Spa);
    let id_only = ClientCredentials { client_id: "app".into(), client_secret: None };
    let r = m.app().ciam.reset_password(&id_only, ResetWithOtp::default()).await;
    assert!(
        matches!(r, Err(ResetPasswordError::BadRequest(BadRequest::MissingParameters))),
        "authenticated, then the body is checked: {r:?}"
    );
    assert!(matches!(run(case.mocks(ClientType::M2m), &case, "x").await, Err(ResetPasswordError::UnauthorizedClient)));
    let mut m = Mocks::default();
    m.client(ClientType::Web, &case.secret, true, false);
    assert!(matches!(run(m, &case, "x").await, Err(ResetPasswordError::Misconfigured)));
}

#[tokio::test]
async fn incomplete_or_doubled_triples_are_invalid_requests() {
    let case = Case::new();
    let both = ResetWithOtp {
        phone_number: Some("13612345678".into()),
        phone_number_otp_token: Some("t".into()),
        phone_number_otp: Some("1".into()),
        ..case.body("x")
    };
    let r = case.mocks(ClientType::Web).app().ciam.reset_password(&case.creds(), both).await;
    assert!(matches!(r, Err(ResetPasswordError::BadRequest(BadRequest::MissingParameters))), "{r:?}");
    let no_password = ResetWithOtp { password: None, ..case.body("x") };
    let r = case.mocks(ClientType::Web).app().ciam.reset_password(&case.creds(), no_password).await;
    assert!(matches!(r, Err(ResetPasswordError::BadRequest(BadRequest::MissingParameters))), "{r:?}");
}

#[tokio::test]
async fn malformed_tokens_and_codes_fail_without_touching_the_store() {
    let case = Case::new();
    let bad_token = ResetWithOtp { email_otp_token: Some("nope".into()), ..case.body("x") };
    let r = case.mocks(ClientType::Web).app().ciam.reset_password(&case.creds(), bad_token).await;
    assert!(matches!(r, Err(ResetPasswordError::BadOtpToken(Channel::Email))), "{r:?}");
    let bad_code = ResetWithOtp { email_otp: Some("12a456".into()), ..case.body("x") };
    let r = case.mocks(ClientType::Web).app().ciam.reset_password(&case.creds(), bad_code).await;
    assert!(matches!(r, Err(ResetPasswordError::BadOtp(Channel::Email))), "{r:?}");
}

#[tokio::test]
async fn the_account_budget_stops_guesses_before_verification() {
    let case = Case::new();
    let mut m = case.mocks(ClientType::Web);
    m.users.expect_find_by_email().returning(|_| Ok(Some(user(UserStatus::Active))));
    // No verify_and_claim expectation: comparing a code would fail the test.
    m.rate_limiter
        .expect_hit()
        .times(1)
        .returning(|_, _, _| Ok(RateDecision::Limited { retry_after: Duration::from_secs(9) }));
    assert!(matches!(run(m, &case, "x").await, Err(ResetPasswordError::BadOtp(Channel::Email))));
}

/// Fails on the main of before Hardening II: the budget was read, then counted after a wrong
/// guess, so concurrent guesses all passed the read.
#[tokio::test]
async fn a_guess_is_reserved_before_the_code_is_compared_and_refunded_unless_wrong() {
    for (outcome, refunded) in [
        (ClaimOutcome::WrongCode { attempts_left: 3 }, false),
        (ClaimOutcome::Gone, true),
        (ClaimOutcome::Mismatch, true),
        (ClaimOutcome::CodeExpired, true),
    ] {
        let case = Case::new();
        let mut m = case.mocks(ClientType::Web);
        m.users.expect_find_by_email().returning(|_| Ok(Some(user(UserStatus::Active))));
        let mut seq = mockall::Sequence::new();
        m.rate_limiter.expect_hit().times(1).in_sequence(&mut seq).returning(|key, limit, window| {
            assert!(key.starts_with("otp:guess:u:"), "the account's budget: {key}");
            assert_eq!((limit, window), (100, Duration::from_secs(86_400)), "100 a day");
            Ok(RateDecision::Allowed)
        });
        let o = outcome.clone();
        m.otps.expect_verify_and_claim().times(1).in_sequence(&mut seq).returning(move |_, _, _, _| Ok(o.clone()));
        m.rate_limiter.expect_undo().times(usize::from(refunded)).returning(|_| Ok(()));
        run(m, &case, "x").await.unwrap_err();
    }
}

#[tokio::test]
async fn every_claim_outcome_maps_to_its_error() {
    let cases = [
        (ClaimOutcome::Gone, "token"),
        (ClaimOutcome::Mismatch, "token"),
        (ClaimOutcome::WrongCode { attempts_left: 2 }, "code"),
        (ClaimOutcome::CodeExpired, "code"),
    ];
    for (outcome, want) in cases {
        let case = Case::new();
        let mut m = case.mocks(ClientType::Web);
        m.allow_rate();
        m.users.expect_find_by_email().returning(|_| Ok(Some(user(UserStatus::Active))));
        let o = outcome.clone();
        m.otps.expect_verify_and_claim().returning(move |_, _, _, _| Ok(o.clone()));
        let r = run(m, &case, "x").await;
        let ok = match want {
            "token" => matches!(r, Err(ResetPasswordError::BadOtpToken(Channel::Email))),
            _ => matches!(r, Err(ResetPasswordError::BadOtp(Channel::Email))),
        };
        assert!(ok, "{outcome:?} gave {r:?}");
    }
}

#[tokio::test]
async fn after_a_claim_an_unknown_user_releases_it() {
    let case = Case::new();
    let mut m = claimed(&case);
    m.users.expect_find_by_email().returning(|_| Ok(None));
    m.otps.expect_release().with(eq(claim())).times(1).returning(|_| Ok(()));
    assert!(matches!(run(m, &case, "x").await, Err(ResetPasswordError::UserNotFound)));
}

#[tokio::test]
async fn abnormal_statuses_are_refused_and_release_the_claim() {
    for (status, text) in [
        (UserStatus::Frozen, BlockedStatus::Frozen),
        (UserStatus::Locked, BlockedStatus::Locked),
        (UserStatus::Disabled, BlockedStatus::Disabled),
    ] {
        let case = Case::new();
        let mut m = claimed(&case);
        m.users.expect_find_by_email().returning(move |_| Ok(Some(user(status))));
        m.otps.expect_release().times(1).returning(|_| Ok(()));
        let r = run(m, &case, "Tr4vel-by-Zeppelin").await;
        assert!(matches!(r, Err(ResetPasswordError::AbnormalUserStatus(t)) if t == text), "{status:?}");
    }
}

#[tokio::test]
async fn a_policy_violation_releases_the_claim_without_hashing() {
    let case = Case::new();
    let mut m = claimed(&case);
    m.users.expect_find_by_email().returning(|_| Ok(Some(user(UserStatus::Active))));
    m.no_default_policy();
    m.otps.expect_release().times(1).returning(|_| Ok(()));
    let r = run(m, &case, "short").await;
    assert!(matches!(r, Err(ResetPasswordError::InvalidNewPassword(ref v)) if !v.is_empty()), "{r:?}");
}

#[tokio::test]
async fn a_recurrent_password_releases_the_claim() {
    let case = Case::new();
    let mut m = claimed(&case);
    m.users.expect_find_by_email().returning(|_| Ok(Some(user(UserStatus::Active))));
    m.no_default_policy();
    m.password_state(Some(some_hash()));
    m.hasher.expect_matches_any().times(1).returning(|_, hashes| {
        assert_eq!(hashes.len(), 1, "the current password is checked");
        Ok(true)
    });
    m.otps.expect_release().times(1).returning(|_| Ok(()));
    assert!(matches!(run(m, &case, "Tr4vel-by-Zeppelin").await, Err(ResetPasswordError::RecurrentPassword)));
}

#[tokio::test]
async fn success_changes_once_with_its_audit_and_notice_then_publishes_and_consumes() {
    let case = Case::new();
    let mut m = accepted(&case);
    m.credentials.expect_change_password().times(1).returning(|c| {
        // The history keeps what every policy in force needs (retention 10), not this one's 5.
        assert_eq!((c.expected_version, c.consume, c.history_limit), (3, None, 10));
        assert_eq!(c.expected_generation, 0, "the generation of the user whose status was checked");
        assert_eq!((c.audit.kind, c.audit.actor.as_str()), (AuditKind::PasswordChanged, "ciam:app"), "in the change");
        let notice = c.notice.expect("the notice travels in the change's outbox row");
        assert_eq!(notice.language, resetd_domain::locale::Language::Spanish, "in the user's locale");
        Ok(8)
    });
    m.access_tokens
        .expect_publish_generation()
        .withf(|_, generation, _| *generation == 8)
        .times(1)
        .returning(|_, _, _| Ok(()));
    m.otps.expect_consume().with(eq(claim())).times(1).returning(|_| Ok(()));
    run(m, &case, "Tr4vel-by-Zeppelin").await.unwrap();
}

#[tokio::test]
async fn a_failed_publication_after_the_commit_still_succeeds_the_outbox_retries_it() {
    let case = Case::new();
    let mut m = accepted(&case);
    m.credentials.expect_change_password().times(1).returning(|_| Ok(8));
    m.access_tokens.expect_publish_generation().times(1).returning(|_, _, _| Err(StoreError::unavailable("down")));
    m.otps.expect_consume().with(eq(claim())).times(1).returning(|_| Ok(()));
    run(m, &case, "Tr4vel-by-Zeppelin").await.unwrap();
}

#[tokio::test]
async fn a_storage_failure_after_the_claim_releases_it() {
    let case = Case::new();
    let mut m = accepted(&case);
    m.credentials
        .expect_change_password()
        .returning(|_| Err(ChangePasswordError::Store(StoreError::unavailable("down"))));
    m.otps.expect_release().times(1).returning(|_| Ok(()));
    assert!(matches!(run(m, &case, "Tr4vel-by-Zeppelin").await, Err(ResetPasswordError::Unavailable(_))));
}

#[tokio::test]
async fn a_caller_that_goes_away_after_the_claim_does_not_strand_it() {
    let case = Case::new();
    let mut m = accepted(&case);
    m.credentials.expect_change_password().times(1).returning(|_| Ok(8));
    m.access_tokens.expect_publish_generation().times(1).returning(|_, _, _| Ok(()));
    let (done, finished) = tokio::sync::oneshot::channel();
    let done = std::sync::Mutex::new(Some(done));
    m.otps.expect_consume().with(eq(claim())).times(1).returning(move |_| {
        if let Some(done) = done.lock().unwrap().take() {
            let _ = done.send(());
        }
        Ok(())
    });
    let app = m.app();
    let (creds, body) = (case.creds(), case.body("Tr4vel-by-Zeppelin"));
    // One poll takes the call as far as handing the claim to its task; then the caller goes
    // away (the future is dropped), as on a timeout or a closed connection.
    tokio::select! {
        biased;
        r = app.ciam.reset_password(&creds, body) => panic!("the call did not wait on its task: {r:?}"),
        () = std::future::ready(()) => {}
    }
    // The change still happens whole: committed, published, consumed.
    tokio::time::timeout(std::time::Duration::from_secs(10), finished)
        .await
        .expect("the reset ran to its end without its caller")
        .unwrap();
}

#[tokio::test]
async fn the_claim_presents_the_users_current_generation_or_any_when_gone() {
    for (found, presented) in [(Some(5), Some(5)), (None, None)] {
        let case = Case::new();
        let mut m = case.mocks(ClientType::Web);
        m.allow_rate();
        let account = found.map(|generation| resetd_ports::users::User { generation, ..user(UserStatus::Active) });
        m.users.expect_find_by_email().returning(move |_| Ok(account.clone()));
        m.otps
            .expect_verify_and_claim()
            .withf(move |_, _, binding, _| binding.generation == presented)
            .returning(|_, _, _, _| Ok(ClaimOutcome::Mismatch));
        assert!(matches!(run(m, &case, "x").await, Err(ResetPasswordError::BadOtpToken(Channel::Email))), "{found:?}");
    }
}

#[test]
fn the_reset_input_never_prints_its_password_codes_or_tokens() {
    let input = ResetWithOtp {
        password: Some("Hunter-Zeppelin-2".into()),
        email: Some("ada@example.com".into()),
        email_otp_token: Some("tok-sEcReT-42".into()),
        email_otp: Some("731952".into()),
        phone_number: Some("+8613612345678".into()),
        phone_number_otp_token: Some("tok-pHoNe-43".into()),
        phone_number_otp: Some("246810".into()),
        ip: None,
    };
    let shown = format!("{input:?}");
    for secret in ["Hunter-Zeppelin-2", "tok-sEcReT-42", "731952", "tok-pHoNe-43", "246810"] {
        assert!(!shown.contains(secret), "{shown}");
    }
    assert!(shown.contains("ada@example.com") && shown.contains("[redacted]"), "{shown}");
}
