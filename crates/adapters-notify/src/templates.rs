//! The message templates: plain Rust functions that render a [`Notification`] as an email
//! ([`render_email`]) or a short SMS text ([`render_sms`]) in the notification's language.
//!
//! Languages are [`Language::English`], [`Language::Spanish`] and
//! [`Language::SimplifiedChinese`]; the domain maps any other locale to English, so English is
//! the fallback by construction. The user is greeted by name when one is given (control
//! characters are dropped and long names are cut). Validities are written in whole minutes,
//! hours or days, rounded up and never zero.

use std::fmt;
use std::time::Duration;

use resetd_domain::locale::Language;
use resetd_ports::notify::{Notice, Notification};
use secrecy::ExposeSecret;

/// A rendered email. `text` holds the link or code: its `Debug` shows only the subject.
#[derive(Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The subject line.
    pub subject: String,
    /// The plain-text body, link or code included.
    pub text: String,
}

impl fmt::Debug for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rendered").field("subject", &self.subject).field("text", &"[redacted]").finish()
    }
}

/// The longest name (in characters) put into a greeting.
const MAX_NAME_CHARS: usize = 64;

/// Renders the email (subject and plain-text body) for `n`.
pub fn render_email(n: &Notification) -> Rendered {
    let lang = n.language;
    let greeting = greeting(lang, n.name.as_deref());
    let (subject, body) = match &n.notice {
        Notice::ResetLink { url, expires_in } => {
            (reset_subject(lang), reset_body(lang, url.expose_secret(), *expires_in))
        }
        Notice::SetupLink { url, expires_in } => {
            (setup_subject(lang), setup_body(lang, url.expose_secret(), *expires_in))
        }
        Notice::OtpCode { code, valid_for } => (otp_subject(lang), otp_body(lang, code.expose(), *valid_for)),
        Notice::PasswordChanged => (changed_subject(lang), changed_body(lang).to_owned()),
    };
    Rendered { subject: subject.to_owned(), text: format!("{greeting}\n\n{body}\n") }
}

/// Renders the short SMS text for `n` (no greeting).
pub fn render_sms(n: &Notification) -> String {
    let lang = n.language;
    match &n.notice {
        Notice::ResetLink { url, expires_in } => {
            let url = url.expose_secret();
            match (lang, expires_in) {
                (Language::English, Some(d)) => format!("Reset your password: {url} (expires in {})", span(lang, *d)),
                (Language::English, None) => format!("Reset your password: {url}"),
                (Language::Spanish, Some(d)) => {
                    format!("Restablece tu contraseña: {url} (caduca en {})", span(lang, *d))
                }
                (Language::Spanish, None) => format!("Restablece tu contraseña: {url}"),
                (Language::SimplifiedChinese, Some(d)) => format!("重置密码：{url}（{}内有效）", span(lang, *d)),
                (Language::SimplifiedChinese, None) => format!("重置密码：{url}"),
            }
        }
        Notice::SetupLink { url, expires_in } => {
            let url = url.expose_secret();
            match (lang, expires_in) {
                (Language::English, Some(d)) => format!("Set up your account: {url} (expires in {})", span(lang, *d)),
                (Language::English, None) => format!("Set up your account: {url}"),
                (Language::Spanish, Some(d)) => format!("Configura tu cuenta: {url} (caduca en {})", span(lang, *d)),
                (Language::Spanish, None) => format!("Configura tu cuenta: {url}"),
                (Language::SimplifiedChinese, Some(d)) => format!("设置账户：{url}（{}内有效）", span(lang, *d)),
                (Language::SimplifiedChinese, None) => format!("设置账户：{url}"),
            }
        }
        Notice::OtpCode { code, valid_for } => {
            let code = code.expose();
            let minutes = minutes(lang, *valid_for);
            match lang {
                Language::English => {
                    format!("Your verification code is {code}. It is valid for {minutes}. Do not share it with anyone.")
                }
                Language::Spanish => format!(
                    "Tu código de verificación es {code}. Es válido durante {minutes}. No lo compartas con nadie."
                ),
                Language::SimplifiedChinese => format!("您的验证码是 {code}，{minutes}内有效。请勿泄露给他人。"),
            }
        }
        Notice::PasswordChanged => match lang {
            Language::English => "Your password was just changed. If this was not you, contact support right away.",
            Language::Spanish => {
                "Se acaba de cambiar tu contraseña. Si no has sido tú, contacta con el soporte de inmediato."
            }
            Language::SimplifiedChinese => "您的密码刚刚已被修改。如非本人操作，请立即联系客服。",
        }
        .to_owned(),
    }
}

fn greeting(lang: Language, name: Option<&str>) -> String {
    match (lang, clean_name(name)) {
        (Language::English, Some(name)) => format!("Hello {name},"),
        (Language::English, None) => "Hello,".to_owned(),
        (Language::Spanish, Some(name)) => format!("Hola, {name}:"),
        (Language::Spanish, None) => "Hola:".to_owned(),
        (Language::SimplifiedChinese, Some(name)) => format!("{name}，您好："),
        (Language::SimplifiedChinese, None) => "您好：".to_owned(),
    }
}

/// The name as it may appear in a greeting: no control characters, trimmed, bounded.
fn clean_name(name: Option<&str>) -> Option<String> {
    let cleaned: String = name?.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let trimmed: String =
        cleaned.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(MAX_NAME_CHARS).collect();
    let trimmed = trimmed.trim_end();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

fn reset_subject(lang: Language) -> &'static str {
    match lang {
        Language::English => "Reset your password",
        Language::Spanish => "Restablece tu contraseña",
        Language::SimplifiedChinese => "重置您的密码",
    }
}

fn reset_body(lang: Language, url: &str, expires_in: Option<Duration>) -> String {
    let (intro, outro) = match lang {
        Language::English => (
            "We received a request to reset the password of your account. Open this link to choose a new password:",
            "If you did not ask for this, you can ignore this message: your password stays the same.",
        ),
        Language::Spanish => (
            "Hemos recibido una solicitud para restablecer la contraseña de tu cuenta. Abre este enlace para elegir una contraseña nueva:",
            "Si no lo has solicitado, puedes ignorar este mensaje: tu contraseña no cambiará.",
        ),
        Language::SimplifiedChinese => (
            "我们收到了重置您账户密码的请求。请打开以下链接设置新密码：",
            "如果这不是您本人的操作，请忽略此邮件，您的密码不会改变。",
        ),
    };
    format!("{intro}\n\n{url}\n\n{}\n\n{outro}", link_validity(lang, expires_in))
}

fn setup_subject(lang: Language) -> &'static str {
    match lang {
        Language::English => "Set up your account",
        Language::Spanish => "Configura tu cuenta",
        Language::SimplifiedChinese => "设置您的账户",
    }
}

fn setup_body(lang: Language, url: &str, expires_in: Option<Duration>) -> String {
    let (intro, outro) = match lang {
        Language::English => (
            "An account has been created for you. Open this link to choose your password and activate it:",
            "If you were not expecting this message, you can ignore it.",
        ),
        Language::Spanish => (
            "Se ha creado una cuenta para ti. Abre este enlace para elegir tu contraseña y activarla:",
            "Si no esperabas este mensaje, puedes ignorarlo.",
        ),
        Language::SimplifiedChinese => {
            ("我们已为您创建了账户。请打开以下链接设置密码并激活账户：", "如果您没有预期收到此邮件，请忽略。")
        }
    };
    format!("{intro}\n\n{url}\n\n{}\n\n{outro}", link_validity(lang, expires_in))
}

fn link_validity(lang: Language, expires_in: Option<Duration>) -> String {
    match (lang, expires_in) {
        (Language::English, Some(d)) => format!("This link expires in {} and can be used only once.", span(lang, d)),
        (Language::English, None) => "This link can be used only once.".to_owned(),
        (Language::Spanish, Some(d)) => {
            format!("Este enlace caduca en {} y solo se puede usar una vez.", span(lang, d))
        }
        (Language::Spanish, None) => "Este enlace solo se puede usar una vez.".to_owned(),
        (Language::SimplifiedChinese, Some(d)) => format!("此链接将在 {}后失效，且只能使用一次。", span(lang, d)),
        (Language::SimplifiedChinese, None) => "此链接只能使用一次。".to_owned(),
    }
}

fn otp_subject(lang: Language) -> &'static str {
    match lang {
        Language::English => "Your verification code",
        Language::Spanish => "Tu código de verificación",
        Language::SimplifiedChinese => "您的验证码",
    }
}

fn otp_body(lang: Language, code: &str, valid_for: Duration) -> String {
    let minutes = minutes(lang, valid_for);
    match lang {
        Language::English => format!(
            "Your verification code is:\n\n    {code}\n\nIt is valid for {minutes}. Never share this code with anyone: we will never ask you for it.\n\nIf you did not ask for this code, you can ignore this message."
        ),
        Language::Spanish => format!(
            "Tu código de verificación es:\n\n    {code}\n\nEs válido durante {minutes}. No compartas este código con nadie: nunca te lo pediremos.\n\nSi no has solicitado este código, puedes ignorar este mensaje."
        ),
        Language::SimplifiedChinese => format!(
            "您的验证码是：\n\n    {code}\n\n验证码 {minutes}内有效。请勿将验证码告诉任何人，我们绝不会向您索取。\n\n如果这不是您本人的操作，请忽略此邮件。"
        ),
    }
}

fn changed_subject(lang: Language) -> &'static str {
    match lang {
        Language::English => "Your password was changed",
        Language::Spanish => "Se ha cambiado tu contraseña",
        Language::SimplifiedChinese => "您的密码已修改",
    }
}

fn changed_body(lang: Language) -> &'static str {
    match lang {
        Language::English => "The password of your account was just changed.\n\nIf you did this, no action is needed. If you did not, reset your password right away and contact support.",
        Language::Spanish => "Se acaba de cambiar la contraseña de tu cuenta.\n\nSi has sido tú, no tienes que hacer nada. Si no, restablece tu contraseña de inmediato y ponte en contacto con el soporte.",
        Language::SimplifiedChinese => "您的账户密码刚刚已被修改。\n\n如果是您本人操作，无需任何处理。如果不是，请立即重置密码并联系客服。",
    }
}

/// The unit a duration is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Minute,
    Hour,
    Day,
}

/// `d` in whole minutes, rounded up, at least one.
fn minutes(lang: Language, d: Duration) -> String {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    quantity(lang, secs.div_ceil(60).max(1), Unit::Minute)
}

/// `d` in whole days or hours when it is a multiple of them, otherwise in minutes.
fn span(lang: Language, d: Duration) -> String {
    let secs = d.as_secs();
    if d.subsec_nanos() == 0 && secs >= 86_400 && secs % 86_400 == 0 {
        quantity(lang, secs / 86_400, Unit::Day)
    } else if d.subsec_nanos() == 0 && secs >= 3_600 && secs % 3_600 == 0 {
        quantity(lang, secs / 3_600, Unit::Hour)
    } else {
        minutes(lang, d)
    }
}

fn quantity(lang: Language, n: u64, unit: Unit) -> String {
    let one = n == 1;
    match lang {
        Language::English => {
            let word = match (unit, one) {
                (Unit::Minute, true) => "minute",
                (Unit::Minute, false) => "minutes",
                (Unit::Hour, true) => "hour",
                (Unit::Hour, false) => "hours",
                (Unit::Day, true) => "day",
                (Unit::Day, false) => "days",
            };
            format!("{n} {word}")
        }
        Language::Spanish => {
            let word = match (unit, one) {
                (Unit::Minute, true) => "minuto",
                (Unit::Minute, false) => "minutos",
                (Unit::Hour, true) => "hora",
                (Unit::Hour, false) => "horas",
                (Unit::Day, true) => "día",
                (Unit::Day, false) => "días",
            };
            format!("{n} {word}")
        }
        Language::SimplifiedChinese => {
            let word = match unit {
                Unit::Minute => "分钟",
                Unit::Hour => "小时",
                Unit::Day => "天",
            };
            format!("{n} {word}")
        }
    }
}

#[cfg(test)]
mod tests;
