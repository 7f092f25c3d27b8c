//! The templates: every notice in every language, escaping, and what each must say.

use super::*;
use resetd_domain::otp::{OtpCode, Recipient};
use resetd_domain::user::Email;
use secrecy::SecretString;

const URL: &str = "https://id.example.com/reset?token=AbCdEf0123456789_-";
const LANGS: [Language; 3] = [Language::English, Language::Spanish, Language::SimplifiedChinese];

fn note(language: Language, name: Option<&str>, notice: Notice) -> Notification {
    Notification {
        to: Recipient::Email(Email::parse("ada@example.com").unwrap()),
        language,
        name: name.map(str::to_owned),
        notice,
    }
}

fn reset(expires_in: Option<Duration>) -> Notice {
    Notice::ResetLink { url: SecretString::from(URL), expires_in }
}

fn setup(expires_in: Option<Duration>) -> Notice {
    Notice::SetupLink { url: SecretString::from(URL), expires_in }
}

fn otp(secs: u64) -> Notice {
    Notice::OtpCode { code: OtpCode::parse("492017").unwrap(), valid_for: Duration::from_secs(secs) }
}

fn subject(lang: Language, notice: &Notice) -> &'static str {
    match notice {
        Notice::ResetLink { .. } => reset_subject(lang),
        Notice::SetupLink { .. } => setup_subject(lang),
        Notice::OtpCode { .. } => otp_subject(lang),
        Notice::PasswordChanged => changed_subject(lang),
    }
}

/// A word that only the right language's body contains.
fn marker(lang: Language) -> &'static str {
    match lang {
        Language::English => "Hello",
        Language::Spanish => "Hola",
        Language::SimplifiedChinese => "您好",
    }
}

#[test]
fn subjects_are_in_the_notifications_language() {
    let expected = [
        ("reset_link", ["Reset your password", "Restablece tu contraseña", "重置您的密码"]),
        ("setup_link", ["Set up your account", "Configura tu cuenta", "设置您的账户"]),
        ("otp_code", ["Your verification code", "Tu código de verificación", "您的验证码"]),
        ("password_changed", ["Your password was changed", "Se ha cambiado tu contraseña", "您的密码已修改"]),
    ];
    for notice in [reset(None), setup(None), otp(300), Notice::PasswordChanged] {
        let (_, subjects) = expected.iter().find(|(name, _)| *name == notice.name()).unwrap();
        for (lang, want) in LANGS.into_iter().zip(subjects) {
            let r = render_email(&note(lang, None, notice.clone()));
            assert_eq!(&r.subject, want, "{lang:?} {}", notice.name());
            assert!(r.text.starts_with(marker(lang)), "{lang:?} {}: {}", notice.name(), r.text);
            for other in LANGS.into_iter().filter(|o| *o != lang) {
                assert_ne!(r.subject, subject(other, &notice));
                assert!(!r.text.contains(marker(other)), "{lang:?} body has {other:?} words: {}", r.text);
            }
        }
    }
}

#[test]
fn link_notices_carry_the_url_in_every_language() {
    for lang in LANGS {
        for notice in [reset(Some(Duration::from_secs(1800))), setup(Some(Duration::from_secs(72 * 3600)))] {
            let n = note(lang, Some("Ada"), notice.clone());
            let email = render_email(&n);
            assert!(email.text.lines().any(|l| l == URL), "{lang:?}: the URL stands on its own line");
            assert!(render_sms(&n).contains(URL), "{lang:?}");
        }
    }
}

#[test]
fn link_validity_is_written_in_the_language() {
    let thirty = Some(Duration::from_secs(1800));
    let three_days = Some(Duration::from_secs(3 * 86_400));
    let cases = [
        (Language::English, thirty, "expires in 30 minutes"),
        (Language::Spanish, thirty, "caduca en 30 minutos"),
        (Language::SimplifiedChinese, thirty, "此链接将在 30 分钟后失效"),
        (Language::English, three_days, "expires in 3 days"),
        (Language::Spanish, three_days, "caduca en 3 días"),
        (Language::SimplifiedChinese, three_days, "此链接将在 3 天后失效"),
        (Language::English, Some(Duration::from_secs(3600)), "expires in 1 hour "),
        (Language::Spanish, Some(Duration::from_secs(7200)), "caduca en 2 horas"),
        (Language::English, None, "This link can be used only once."),
        (Language::Spanish, None, "Este enlace solo se puede usar una vez."),
        (Language::SimplifiedChinese, None, "此链接只能使用一次。"),
    ];
    for (lang, expires_in, want) in cases {
        let text = render_email(&note(lang, None, reset(expires_in))).text;
        assert!(text.contains(want), "{lang:?} {expires_in:?}: {text}");
        if expires_in.is_none() {
            assert!(!text.contains("expires") && !text.contains("caduca") && !text.contains("失效"), "{text}");
        }
    }
    let sms = render_sms(&note(Language::English, None, setup(thirty)));
    assert_eq!(sms, format!("Set up your account: {URL} (expires in 30 minutes)"));
}

#[test]
fn otp_notices_carry_the_code_and_validity_in_minutes() {
    let cases = [
        (Language::English, "valid for 5 minutes", "It is valid for 5 minutes."),
        (Language::Spanish, "válido durante 5 minutos", "Es válido durante 5 minutos."),
        (Language::SimplifiedChinese, "验证码 5 分钟内有效", "5 分钟内有效"),
    ];
    for (lang, in_email, in_sms) in cases {
        let n = note(lang, Some("Ada"), otp(300));
        let email = render_email(&n);
        assert!(email.text.contains("    492017\n"), "{lang:?}: {}", email.text);
        assert!(email.text.contains(in_email), "{lang:?}: {}", email.text);
        assert!(!email.subject.contains("492017"), "the code stays out of the subject");
        let sms = render_sms(&n);
        assert!(sms.contains("492017") && sms.contains(in_sms), "{lang:?}: {sms}");
        assert!(sms.chars().count() <= 140, "{lang:?}: {sms}");
    }
    // Validities round up to whole minutes and never read as zero.
    assert!(render_sms(&note(Language::English, None, otp(61))).contains("valid for 2 minutes"));
    assert!(render_sms(&note(Language::English, None, otp(60))).contains("valid for 1 minute."));
    assert!(render_sms(&note(Language::English, None, otp(0))).contains("valid for 1 minute."));
    assert!(render_sms(&note(Language::Spanish, None, otp(60))).contains("válido durante 1 minuto."));
}

#[test]
fn password_changed_notices_are_rendered_in_every_language() {
    let words = [(Language::English, "changed"), (Language::Spanish, "cambiar"), (Language::SimplifiedChinese, "修改")];
    for (lang, word) in words {
        let n = note(lang, None, Notice::PasswordChanged);
        assert!(render_email(&n).text.contains(word), "{lang:?}");
        assert!(render_sms(&n).contains(word), "{lang:?}");
    }
}

#[test]
fn users_are_greeted_by_name_when_known() {
    let cases = [
        (Language::English, Some("Ada"), "Hello Ada,\n\n"),
        (Language::English, None, "Hello,\n\n"),
        (Language::Spanish, Some("Ada"), "Hola, Ada:\n\n"),
        (Language::Spanish, None, "Hola:\n\n"),
        (Language::SimplifiedChinese, Some("李雷"), "李雷，您好：\n\n"),
        (Language::SimplifiedChinese, None, "您好：\n\n"),
        (Language::English, Some("  \t "), "Hello,\n\n"),
        (Language::English, Some("Ada\r\nBcc: eve@example.com"), "Hello Ada Bcc: eve@example.com,\n\n"),
    ];
    for (lang, name, want) in cases {
        let text = render_email(&note(lang, name, Notice::PasswordChanged)).text;
        assert!(text.starts_with(want), "{lang:?} {name:?}: {text}");
    }
    let long = "x".repeat(500);
    let text = render_email(&note(Language::English, Some(&long), Notice::PasswordChanged)).text;
    assert!(text.starts_with(&format!("Hello {},\n", "x".repeat(MAX_NAME_CHARS))));
}

#[test]
fn rendered_debug_hides_the_text() {
    let r = render_email(&note(Language::English, None, otp(300)));
    let shown = format!("{r:?}");
    assert!(shown.contains("Your verification code") && !shown.contains("492017"), "{shown}");
}
