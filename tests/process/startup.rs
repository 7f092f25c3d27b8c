//! The production profile refuses to start without what it needs, with a one-line reason.

use std::time::Duration;

use resetd_test_support::ResetdProcess;

/// Fails on the main of before Hardening I: production fell back to the log sender for a
/// channel without settings (the shipped compose file logged every SMS code).
#[test]
fn production_refuses_a_channel_left_without_a_sender() {
    let base = [
        ("RESETD__DATABASE__URL", "postgres://postgres@127.0.0.1:1/none"),
        ("RESETD__REDIS__URL", "redis://127.0.0.1:1"),
        ("RESETD__SECURITY__TOKEN_KEY", super::backends::TOKEN_KEY.as_str()),
    ];
    let cases: [(&[(&str, &str)], &str); 2] = [
        (&[("RESETD__MAIL__SMTP_HOST", "127.0.0.1")], "RESETD__SMS__ENABLED=false"),
        (&[("RESETD__SMS__WEBHOOK_URL", "http://127.0.0.1:1/sms")], "RESETD__MAIL__ENABLED=false"),
    ];
    for (extra, names) in cases {
        let envs: Vec<_> = base.iter().chain(extra).copied().collect();
        let (status, output) = ResetdProcess::run_to_exit(&envs, Duration::from_secs(20));
        assert!(!status.success(), "it must not start: {output}");
        let lines: Vec<_> = output.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "one line: {output}");
        assert!(lines[0].contains(names) && lines[0].contains("no sender"), "{output}");
    }
}

/// Key rotation's setting: every key of `security.token_keys` meets the bar of `token_key`,
/// and the two settings are not mixed.
#[test]
fn production_checks_every_rotated_key_and_refuses_both_key_settings() {
    let key = super::backends::TOKEN_KEY.as_str();
    let denied = resetd_server::settings::DENIED_TOKEN_KEYS[3];
    let with_short = format!("{key},short");
    let with_denied = format!("{key},{denied}");
    let cases: [(&[(&str, &str)], &str); 3] = [
        (&[("RESETD__SECURITY__TOKEN_KEYS", &with_short)], "at least 32 bytes each"),
        (&[("RESETD__SECURITY__TOKEN_KEYS", &with_denied)], "not a default"),
        (&[("RESETD__SECURITY__TOKEN_KEYS", key), ("RESETD__SECURITY__TOKEN_KEY", key)], "not both"),
    ];
    for (extra, reason) in cases {
        let base = [
            ("RESETD__DATABASE__URL", "postgres://postgres@127.0.0.1:1/none"),
            ("RESETD__REDIS__URL", "redis://127.0.0.1:1"),
            ("RESETD__MAIL__ENABLED", "false"),
            ("RESETD__SMS__ENABLED", "false"),
        ];
        let envs: Vec<_> = base.iter().chain(extra).copied().collect();
        let (status, output) = ResetdProcess::run_to_exit(&envs, Duration::from_secs(20));
        assert!(!status.success(), "it must not start: {output}");
        assert!(output.contains(reason), "{reason:?} in {output}");
    }
}

/// Production refuses to start without a token signing key (the harness passes one by
/// default: an empty one here takes it away), and `resetd signing-key` prints one it accepts.
#[test]
fn production_needs_a_signing_key_and_resetd_makes_one() {
    let base = [
        ("RESETD__DATABASE__URL", "postgres://postgres@127.0.0.1:1/none"),
        ("RESETD__REDIS__URL", "redis://127.0.0.1:1"),
        ("RESETD__SECURITY__TOKEN_KEY", super::backends::TOKEN_KEY.as_str()),
        ("RESETD__MAIL__ENABLED", "false"),
        ("RESETD__SMS__ENABLED", "false"),
        ("RESETD__OIDC__SIGNING_KEY", ""),
    ];
    let (status, output) = ResetdProcess::run_to_exit(&base, Duration::from_secs(20));
    assert!(!status.success(), "it must not start: {output}");
    assert!(output.contains("RESETD__OIDC__SIGNING_KEY"), "{output}");

    let (status, pem, err) = ResetdProcess::run(&["signing-key"], &[]);
    assert!(status.success(), "{err}");
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem}");
    let key = resetd_domain::oidc::SigningKey::from_pem(&pem.clone().into()).unwrap();
    assert_eq!(key.algorithm_name(), "ES256");
    let (_, again, _) = ResetdProcess::run(&["signing-key"], &[]);
    assert_ne!(pem, again, "a new key each time");
}
