//! The languages resetd writes its messages in.

/// A message language. Unknown locales fall back to English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Language {
    /// English (`en`), also the fallback.
    #[default]
    English,
    /// Spanish (`es`).
    Spanish,
    /// Simplified Chinese (`zh-Hans`).
    SimplifiedChinese,
}

impl Language {
    /// Picks the language of a locale tag such as `es`, `es-MX`, `zh_CN` or `zh-Hans`;
    /// anything else (including `None`) is English.
    pub fn from_locale(tag: Option<&str>) -> Self {
        let Some(tag) = tag else { return Self::English };
        let tag = tag.trim().to_ascii_lowercase().replace('_', "-");
        let primary = tag.split('-').next().unwrap_or_default();
        match primary {
            "es" => Self::Spanish,
            "zh" if !tag.contains("hant") && !tag.ends_with("-tw") && !tag.ends_with("-hk") => Self::SimplifiedChinese,
            _ => Self::English,
        }
    }

    /// The language's BCP 47 tag: `en`, `es` or `zh-Hans` ([`Self::from_locale`] maps it back).
    pub fn tag(self) -> &'static str {
        match self {
            Self::English => "en",
            Self::Spanish => "es",
            Self::SimplifiedChinese => "zh-Hans",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_map_to_languages_with_english_fallback() {
        let cases = [
            (None, Language::English),
            (Some("en"), Language::English),
            (Some("es"), Language::Spanish),
            (Some("es-MX"), Language::Spanish),
            (Some("zh_CN"), Language::SimplifiedChinese),
            (Some("zh-Hans"), Language::SimplifiedChinese),
            (Some("zh-TW"), Language::English),
            (Some("fr"), Language::English),
            (Some(""), Language::English),
        ];
        for (tag, want) in cases {
            assert_eq!(Language::from_locale(tag), want, "{tag:?}");
        }
    }
}
