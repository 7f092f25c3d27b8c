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
