//! The reset page's words in English, Spanish and Simplified Chinese, keyed by what they say
//! (a policy rule, a violation), never by English text from the domain. The language is the
//! user's locale when the link names a user, else the browser's `Accept-Language`, else English.

use axum::http::{header, HeaderMap};
use resetd_domain::locale::Language;
use resetd_domain::password::PasswordError;
use resetd_domain::policy::{PasswordPolicy, PolicyViolation};

/// The fixed sentences of one language.
pub(crate) struct Words {
    pub reset_title: &'static str,
    pub setup_title: &'static str,
    pub account: &'static str,
    pub new_password: &'static str,
    pub show_password: &'static str,
    pub requirements: &'static str,
    pub submit: &'static str,
    pub not_changed: &'static str,
    pub done_title: &'static str,
    pub done_text: &'static str,
    pub invalid_title: &'static str,
    pub invalid_text: &'static str,
    pub busy_title: &'static str,
    pub busy_text: &'static str,
    pub unavailable_title: &'static str,
    pub unavailable_text: &'static str,
    pub failed_title: &'static str,
    pub failed_text: &'static str,
    pub recurrent: &'static str,
    pub empty: &'static str,
    pub too_long: &'static str,
}

const EN: Words = Words {
    reset_title: "Choose a new password",
    setup_title: "Set your password",
    account: "Account",
    new_password: "New password",
    show_password: "Show password",
    requirements: "Your new password must be:",
    submit: "Set password",
    not_changed: "Your password was not changed:",
    done_title: "Password changed",
    done_text: "Your password was changed. You can sign in with it now.",
    invalid_title: "Link expired",
    invalid_text: "This link is invalid or has expired. Ask for a new one.",
    busy_title: "Too many attempts",
    busy_text: "Please wait a minute and try again.",
    unavailable_title: "Temporarily unavailable",
    unavailable_text: "The service is temporarily unavailable. Please try again in a minute.",
    failed_title: "Something went wrong",
    failed_text: "Please try again later.",
    recurrent: "You used this password recently; choose another.",
    empty: "Enter a password.",
    too_long: "The password is too long.",
};

const ES: Words = Words {
    reset_title: "Elige una nueva contraseña",
    setup_title: "Establece tu contraseña",
    account: "Cuenta",
    new_password: "Nueva contraseña",
    show_password: "Mostrar contraseña",
    requirements: "Tu nueva contraseña debe cumplir:",
    submit: "Guardar contraseña",
    not_changed: "Tu contraseña no se ha cambiado:",
    done_title: "Contraseña cambiada",
    done_text: "Tu contraseña se ha cambiado. Ya puedes iniciar sesión con ella.",
    invalid_title: "Enlace caducado",
    invalid_text: "Este enlace no es válido o ha caducado. Solicita uno nuevo.",
    busy_title: "Demasiados intentos",
    busy_text: "Espera un minuto y vuelve a intentarlo.",
    unavailable_title: "Servicio no disponible",
    unavailable_text: "El servicio no está disponible en este momento. Vuelve a intentarlo en un minuto.",
    failed_title: "Algo salió mal",
    failed_text: "Vuelve a intentarlo más tarde.",
    recurrent: "Has usado esta contraseña recientemente; elige otra.",
    empty: "Introduce una contraseña.",
    too_long: "La contraseña es demasiado larga.",
};

const ZH: Words = Words {
    reset_title: "设置新密码",
    setup_title: "设置您的密码",
    account: "账户",
    new_password: "新密码",
    show_password: "显示密码",
    requirements: "新密码必须满足：",
    submit: "设置密码",
    not_changed: "您的密码未更改：",
    done_title: "密码已更改",
    done_text: "您的密码已更改，现在可以使用新密码登录。",
    invalid_title: "链接已失效",
    invalid_text: "此链接无效或已过期，请重新申请。",
    busy_title: "尝试次数过多",
    busy_text: "请稍等一分钟后重试。",
    unavailable_title: "服务暂时不可用",
    unavailable_text: "服务暂时不可用，请一分钟后重试。",
    failed_title: "出错了",
    failed_text: "请稍后重试。",
    recurrent: "您最近使用过此密码，请换一个。",
    empty: "请输入密码。",
    too_long: "密码太长。",
};

pub(crate) fn words(lang: Language) -> &'static Words {
    match lang {
        Language::English => &EN,
        Language::Spanish => &ES,
        Language::SimplifiedChinese => &ZH,
    }
}

/// The value of `<html lang>`.
pub(crate) fn html_lang(lang: Language) -> &'static str {
    lang.tag()
}

/// The policy's rules as a list.
pub(crate) fn rules(lang: Language, p: &PasswordPolicy, breached_checked: bool) -> Vec<String> {
    let (min, max, n) = (p.min_length, p.max_length, p.history_count);
    let mut out = vec![match lang {
        Language::English => format!("Between {min} and {max} characters."),
        Language::Spanish => format!("Entre {min} y {max} caracteres."),
        Language::SimplifiedChinese => format!("{min} 到 {max} 个字符。"),
    }];
    let pick = |en: &str, es: &str, zh: &str| match lang {
        Language::English => en.to_owned(),
        Language::Spanish => es.to_owned(),
        Language::SimplifiedChinese => zh.to_owned(),
    };
    if p.require_numeric {
        out.push(pick("At least one digit.", "Al menos un dígito.", "至少一个数字。"));
    }
    if p.require_upperlower {
        out.push(pick(
            "At least one upper-case and one lower-case letter.",
            "Al menos una letra mayúscula y una minúscula.",
            "至少一个大写字母和一个小写字母。",
        ));
    }
    if p.require_special {
        out.push(pick(
            "At least one character that is not a letter or a digit.",
            "Al menos un carácter que no sea letra ni dígito.",
            "至少一个非字母、非数字的字符。",
        ));
    }
    if p.block_common {
        out.push(pick("Not a commonly used password.", "Que no sea una contraseña común.", "不能是常用密码。"));
    }
    if p.reject_email_local_part {
        out.push(pick(
            "Not containing your email name.",
            "Que no contenga el nombre de tu correo.",
            "不能包含您的邮箱用户名。",
        ));
    }
    if breached_checked {
        out.push(pick(
            "Not in a list of breached passwords.",
            "Que no aparezca en una lista de contraseñas filtradas.",
            "不能出现在已泄露的密码列表中。",
        ));
    }
    if n > 0 {
        out.push(match lang {
            Language::English => format!("Not one of your last {n} passwords."),
            Language::Spanish => format!("Que no sea una de tus últimas {n} contraseñas."),
            Language::SimplifiedChinese => format!("不能与最近 {n} 个密码相同。"),
        });
    }
    out
}

/// Why a password was refused.
pub(crate) fn violation(lang: Language, v: &PolicyViolation) -> String {
    use Language::{English as En, SimplifiedChinese as Zh, Spanish as Es};
    match (v, lang) {
        (PolicyViolation::TooShort { min }, En) => format!("The password must be at least {min} characters long."),
        (PolicyViolation::TooShort { min }, Es) => format!("La contraseña debe tener al menos {min} caracteres."),
        (PolicyViolation::TooShort { min }, Zh) => format!("密码至少需要 {min} 个字符。"),
        (PolicyViolation::TooLong { max }, En) => format!("The password must be at most {max} characters long."),
        (PolicyViolation::TooLong { max }, Es) => format!("La contraseña debe tener como máximo {max} caracteres."),
        (PolicyViolation::TooLong { max }, Zh) => format!("密码最多 {max} 个字符。"),
        (PolicyViolation::MissingDigit, En) => "The password must contain a digit.".into(),
        (PolicyViolation::MissingDigit, Es) => "La contraseña debe contener un dígito.".into(),
        (PolicyViolation::MissingDigit, Zh) => "密码必须包含数字。".into(),
        (PolicyViolation::MissingUpperLower, En) => {
            "The password must contain an upper-case and a lower-case letter.".into()
        }
        (PolicyViolation::MissingUpperLower, Es) => {
            "La contraseña debe contener una letra mayúscula y una minúscula.".into()
        }
        (PolicyViolation::MissingUpperLower, Zh) => "密码必须包含大写和小写字母。".into(),
        (PolicyViolation::MissingSpecial, En) => {
            "The password must contain a character that is not a letter or a digit.".into()
        }
        (PolicyViolation::MissingSpecial, Es) => {
            "La contraseña debe contener un carácter que no sea letra ni dígito.".into()
        }
        (PolicyViolation::MissingSpecial, Zh) => "密码必须包含一个非字母、非数字的字符。".into(),
        (PolicyViolation::Common, En) => "The password is too common.".into(),
        (PolicyViolation::Common, Es) => "La contraseña es demasiado común.".into(),
        (PolicyViolation::Common, Zh) => "密码过于常见。".into(),
        (PolicyViolation::ContainsEmailLocalPart, En) => "The password must not contain your email name.".into(),
        (PolicyViolation::ContainsEmailLocalPart, Es) => {
            "La contraseña no debe contener el nombre de tu correo.".into()
        }
        (PolicyViolation::ContainsEmailLocalPart, Zh) => "密码不能包含您的邮箱用户名。".into(),
        (PolicyViolation::Breached, En) => "The password appears in a list of breached passwords.".into(),
        (PolicyViolation::Breached, Es) => "La contraseña aparece en una lista de contraseñas filtradas.".into(),
        (PolicyViolation::Breached, Zh) => "该密码出现在已泄露的密码列表中。".into(),
    }
}

/// Why a password could not even be considered.
pub(crate) fn unusable(lang: Language, e: &PasswordError) -> String {
    let w = words(lang);
    match e {
        PasswordError::Empty => w.empty.into(),
        PasswordError::TooLong { .. } => w.too_long.into(),
    }
}

/// One of our languages for a locale tag (`es-MX`, `zh_CN`, `en`); `None` for any other.
pub(crate) fn ours(tag: &str) -> Option<Language> {
    let tag = tag.trim().to_ascii_lowercase();
    match Language::from_locale(Some(&tag)) {
        Language::English if !(tag == "en" || tag.starts_with("en-") || tag.starts_with("en_")) => None,
        lang => Some(lang),
    }
}

/// The browser's preferred language among ours (`Accept-Language`, by weight, then order);
/// English when it names none of them.
pub(crate) fn from_browser(headers: &HeaderMap) -> Language {
    let Some(value) = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()) else {
        return Language::English;
    };
    let mut best: Option<(u16, Language)> = None;
    for item in value.split(',').take(32) {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let weight = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.trim().parse::<f32>().ok())
            .map_or(1000, |q| (q.clamp(0.0, 1.0) * 1000.0) as u16);
        let Some(lang) = ours(&tag) else { continue };
        if weight > 0 && best.is_none_or(|(w, _)| weight > w) {
            best = Some((weight, lang));
        }
    }
    best.map_or(Language::English, |(_, lang)| lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn browser(value: &str) -> Language {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_LANGUAGE, value.parse().unwrap());
        from_browser(&h)
    }

    #[test]
    fn the_browser_language_is_the_best_weighted_one_we_speak() {
        assert_eq!(from_browser(&HeaderMap::new()), Language::English);
        assert_eq!(browser("zh-CN,zh;q=0.9,en;q=0.8"), Language::SimplifiedChinese);
        assert_eq!(browser("fr-FR,fr;q=0.9,es;q=0.8,en;q=0.7"), Language::Spanish, "French is skipped");
        assert_eq!(browser("en;q=0.5,es;q=0.9"), Language::Spanish, "by weight, not order");
        assert_eq!(browser("zh-TW,de"), Language::English, "Traditional Chinese is not ours");
        assert_eq!(browser("es;q=0,en"), Language::English, "q=0 means not wanted");
        assert_eq!(browser("garbage;;;,,"), Language::English);
    }

    #[test]
    fn every_rule_and_violation_has_its_words_in_every_language() {
        let all = PasswordPolicy { require_special: true, ..PasswordPolicy::default() };
        let violations = [
            PolicyViolation::TooShort { min: 8 },
            PolicyViolation::TooLong { max: 64 },
            PolicyViolation::MissingDigit,
            PolicyViolation::MissingUpperLower,
            PolicyViolation::MissingSpecial,
            PolicyViolation::Common,
            PolicyViolation::ContainsEmailLocalPart,
            PolicyViolation::Breached,
        ];
        for lang in [Language::English, Language::Spanish, Language::SimplifiedChinese] {
            assert_eq!(rules(lang, &all, false).len(), 7, "{lang:?}");
            assert_eq!(rules(lang, &all, true).len(), 8, "{lang:?}: the breached rule when it is checked");
            let said: std::collections::HashSet<_> = violations.iter().map(|v| violation(lang, v)).collect();
            assert_eq!(said.len(), violations.len(), "{lang:?}: each violation says something of its own");
        }
        // The English words are the CIAM and Looker wire text: unchanged since they were the domain's.
        assert_eq!(violation(Language::English, &violations[0]), "The password must be at least 8 characters long.");
        assert!(rules(Language::Spanish, &all, false)[0].starts_with("Entre 8 y 128"));
    }
}
