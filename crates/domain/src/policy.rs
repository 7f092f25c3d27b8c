//! The password policy: the Looker `password_config` rules, the CIAM history count, a
//! common-password blocklist and the rule against reusing the email's local part.

use serde::{Deserialize, Serialize};

use crate::password::Password;
use crate::user::Email;

/// What a new password must satisfy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordPolicy {
    /// Fewest characters.
    pub min_length: u32,
    /// Most characters.
    pub max_length: u32,
    /// At least one digit.
    pub require_numeric: bool,
    /// At least one upper-case and one lower-case letter.
    pub require_upperlower: bool,
    /// At least one character that is neither a letter nor a digit.
    pub require_special: bool,
    /// How many previous passwords may not be reused (0 to 128; the current one counts).
    pub history_count: u32,
    /// Refuse passwords found in the common-password dictionaries.
    pub block_common: bool,
    /// Refuse passwords that contain the local part of the user's email.
    pub reject_email_local_part: bool,
    /// Refuse passwords the breached-password range service knows (when one is configured,
    /// `breached.api_url`).
    pub check_breached: bool,
    /// Looker `expiration_enabled` (recorded; resetd does not expire passwords itself).
    pub expiration_enabled: bool,
    /// Looker `expiration_duration_days` (30 to 365).
    pub expiration_duration_days: Option<u32>,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 8,
            max_length: 128,
            require_numeric: true,
            require_upperlower: true,
            require_special: false,
            history_count: 5,
            block_common: true,
            reject_email_local_part: true,
            check_breached: true,
            expiration_enabled: false,
            expiration_duration_days: None,
        }
    }
}

/// One way a password fails the policy. `Display` is the sentence shown to users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyViolation {
    /// Fewer characters than `min_length`.
    TooShort {
        /// The policy's `min_length`.
        min: u32,
    },
    /// More characters than `max_length`. Checked first and reported alone: no other rule
    /// sees an overlong password.
    TooLong {
        /// The policy's `max_length`.
        max: u32,
    },
    /// No digit, and `require_numeric` is set.
    MissingDigit,
    /// Not both an upper-case and a lower-case letter, and `require_upperlower` is set.
    MissingUpperLower,
    /// No character that is neither a letter nor a digit, and `require_special` is set.
    MissingSpecial,
    /// A common password ([`PasswordPolicy::block_common`]).
    Common,
    /// Contains the local part of the user's email (3 characters or more, in any case), and
    /// `reject_email_local_part` is set.
    ContainsEmailLocalPart,
    /// Found in the breached-password range ([`PasswordPolicy::check_breached`]); judged by the
    /// use case, which asks the range service, not by [`PasswordPolicy::check`].
    Breached,
}

/// One way a policy itself is out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyConfigError {
    /// `min_length` is outside `min..=max`.
    #[error("min_length must be between {min} and {max}")]
    MinLength {
        /// The lowest `min_length` allowed: the floor the caller passed to
        /// [`PasswordPolicy::validate`].
        min: u32,
        /// The highest `min_length` allowed (100).
        max: u32,
    },
    /// `max_length` is under `min_length` or over 1024.
    #[error("max_length must be between min_length and 1024")]
    MaxLength,
    /// `history_count` is over [`PasswordPolicy::MAX_HISTORY`].
    #[error("history_count must be between 0 and 128")]
    HistoryCount,
    /// `expiration_duration_days` is set outside 30 to 365.
    #[error("expiration_duration_days must be between 30 and 365")]
    ExpirationDays,
}

impl PolicyConfigError {
    /// The policy field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            Self::MinLength { .. } => "min_length",
            Self::MaxLength => "max_length",
            Self::HistoryCount => "history_count",
            Self::ExpirationDays => "expiration_duration_days",
        }
    }
}

/// Facts about the user that some rules need.
#[derive(Debug, Clone, Copy, Default)]
pub struct PolicyContext<'a> {
    /// The user's email, for `reject_email_local_part`; `None` when the user has none (the
    /// rule then passes).
    pub email: Option<&'a Email>,
}

impl PasswordPolicy {
    /// Most previous passwords a policy may keep.
    pub const MAX_HISTORY: u32 = 128;

    /// Checks the policy's own ranges (`min_length` in `min_allowed..=100`).
    ///
    /// # Errors
    /// Every out-of-range field.
    pub fn validate(&self, min_allowed: u32) -> Result<(), Vec<PolicyConfigError>> {
        let mut errors = Vec::new();
        if !(min_allowed..=100).contains(&self.min_length) {
            errors.push(PolicyConfigError::MinLength { min: min_allowed, max: 100 });
        }
        if self.max_length < self.min_length || self.max_length > 1024 {
            errors.push(PolicyConfigError::MaxLength);
        }
        if self.history_count > Self::MAX_HISTORY {
            errors.push(PolicyConfigError::HistoryCount);
        }
        if self.expiration_duration_days.is_some_and(|d| !(30..=365).contains(&d)) {
            errors.push(PolicyConfigError::ExpirationDays);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Checks `password` against every rule.
    ///
    /// # Errors
    /// Every violated rule, in a stable order.
    pub fn check(&self, password: &Password, ctx: &PolicyContext<'_>) -> Result<(), Vec<PolicyViolation>> {
        let text = password.expose();
        let chars = u32::try_from(text.chars().count()).unwrap_or(u32::MAX);
        // The cheap rule first: nothing costlier (the dictionary) ever sees an overlong input.
        if chars > self.max_length {
            return Err(vec![PolicyViolation::TooLong { max: self.max_length }]);
        }
        let mut violations = Vec::new();
        if chars < self.min_length {
            violations.push(PolicyViolation::TooShort { min: self.min_length });
        }
        if self.require_numeric && !text.chars().any(|c| c.is_numeric()) {
            violations.push(PolicyViolation::MissingDigit);
        }
        if self.require_upperlower && !(text.chars().any(char::is_uppercase) && text.chars().any(char::is_lowercase)) {
            violations.push(PolicyViolation::MissingUpperLower);
        }
        if self.require_special && !text.chars().any(|c| !c.is_alphanumeric()) {
            violations.push(PolicyViolation::MissingSpecial);
        }
        let local = ctx.email.map(Email::local_part).filter(|l| l.chars().count() >= 3);
        if self.reject_email_local_part && local.is_some_and(|l| text.to_lowercase().contains(l)) {
            violations.push(PolicyViolation::ContainsEmailLocalPart);
        }
        if self.block_common && is_common(text) {
            violations.push(PolicyViolation::Common);
        }
        if violations.is_empty() {
            Ok(())
        } else {
            Err(violations)
        }
    }

    /// The rules in words, for the reset page.
    pub fn rules(&self) -> Vec<String> {
        let mut rules = vec![format!("Between {} and {} characters.", self.min_length, self.max_length)];
        if self.require_numeric {
            rules.push("At least one digit.".to_owned());
        }
        if self.require_upperlower {
            rules.push("At least one upper-case and one lower-case letter.".to_owned());
        }
        if self.require_special {
            rules.push("At least one character that is not a letter or a digit.".to_owned());
        }
        if self.block_common {
            rules.push("Not a commonly used password.".to_owned());
        }
        if self.reject_email_local_part {
            rules.push("Not containing your email name.".to_owned());
        }
        if self.history_count > 0 {
            rules.push(format!("Not one of your last {} passwords.", self.history_count));
        }
        rules
    }
}

/// Whether a password is, as a whole, an entry of zxcvbn's common-password and word
/// dictionaries (also reversed or in l33t spelling), or is guessable in under 10^4 tries.
pub(crate) fn is_common(password: &str) -> bool {
    let entropy = zxcvbn::zxcvbn(password, &[]);
    let whole_word = matches!(entropy.sequence(), [only] if matches!(only.pattern, zxcvbn::matching::patterns::MatchPattern::Dictionary(_)));
    whole_word || entropy.guesses_log10() < 4.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pw(s: &str) -> Password {
        Password::new(s.to_owned()).unwrap()
    }

    fn strict() -> PasswordPolicy {
        PasswordPolicy { require_special: true, ..PasswordPolicy::default() }
    }

    #[test]
    fn a_good_password_passes() {
        assert_eq!(strict().check(&pw("Tr4vel-by-Zeppelin"), &PolicyContext::default()), Ok(()));
    }

    #[test]
    fn every_violation_is_reported_not_just_the_first() {
        let email = Email::parse("ada@example.com").unwrap();
        let got = strict().check(&pw("ada"), &PolicyContext { email: Some(&email) }).unwrap_err();
        assert_eq!(
            got,
            vec![
                PolicyViolation::TooShort { min: 8 },
                PolicyViolation::MissingDigit,
                PolicyViolation::MissingUpperLower,
                PolicyViolation::MissingSpecial,
                PolicyViolation::ContainsEmailLocalPart,
                PolicyViolation::Common,
            ]
        );
    }

    #[test]
    fn each_rule_alone() {
        let ctx = PolicyContext::default();
        let p = strict();
        assert_eq!(p.check(&pw("Sh0rt!"), &ctx), Err(vec![PolicyViolation::TooShort { min: 8 }]));
        assert_eq!(p.check(&pw("No-digits-Here"), &ctx), Err(vec![PolicyViolation::MissingDigit]));
        assert_eq!(p.check(&pw("no-upper-4-me"), &ctx), Err(vec![PolicyViolation::MissingUpperLower]));
        assert_eq!(p.check(&pw("NoSpecial4Zeppelin"), &ctx), Err(vec![PolicyViolation::MissingSpecial]));
        let long = PasswordPolicy { max_length: 10, ..p.clone() };
        assert_eq!(long.check(&pw("Tr4vel-by-Zeppelin"), &ctx), Err(vec![PolicyViolation::TooLong { max: 10 }]));
        let huge = "a".repeat(1024);
        assert_eq!(
            PasswordPolicy::default().check(&pw(&huge), &ctx),
            Err(vec![PolicyViolation::TooLong { max: 128 }]),
            "an overlong input stops at the cheap rule"
        );
    }

    #[test]
    fn common_passwords_are_blocked() {
        for common in ["password", "Password1", "P@ssw0rd", "qwerty123", "iloveyou", "dragon", "1234567890"] {
            assert!(is_common(common), "{common}");
        }
        for rare in ["Tr4vel-by-Zeppelin", "Ni9-Oxbow-Quartz", "N3w-passw0rd-2026!"] {
            assert!(!is_common(rare), "{rare}");
        }
    }

    #[test]
    fn the_email_local_part_is_refused_case_insensitively() {
        let email = Email::parse("Grace.Hopper@example.com").unwrap();
        let ctx = PolicyContext { email: Some(&email) };
        assert_eq!(
            PasswordPolicy::default().check(&pw("Xx-GRACE.HOPPER-42"), &ctx),
            Err(vec![PolicyViolation::ContainsEmailLocalPart])
        );
    }

    #[test]
    fn policy_ranges_are_validated() {
        assert_eq!(PasswordPolicy::default().validate(7), Ok(()));
        let bad = PasswordPolicy {
            min_length: 6,
            max_length: 5,
            history_count: 129,
            expiration_duration_days: Some(10),
            ..PasswordPolicy::default()
        };
        let fields: Vec<_> = bad.validate(7).unwrap_err().iter().map(PolicyConfigError::field).collect();
        assert_eq!(fields, ["min_length", "max_length", "history_count", "expiration_duration_days"]);
        assert!(PasswordPolicy { min_length: 101, max_length: 200, ..PasswordPolicy::default() }.validate(7).is_err());
    }

    #[test]
    fn rules_describe_the_policy() {
        let rules = strict().rules().join(" ");
        assert!(rules.contains("Between 8 and 128"));
        assert!(rules.contains("last 5 passwords"));
    }

    #[test]
    fn policies_deserialise_with_defaults_and_refuse_unknown_keys() {
        let p: PasswordPolicy = serde_json::from_str(r#"{"min_length": 12}"#).unwrap();
        assert_eq!(p, PasswordPolicy { min_length: 12, ..PasswordPolicy::default() });
        assert!(serde_json::from_str::<PasswordPolicy>(r#"{"min_len": 12}"#).is_err());
    }

    proptest! {
        #[test]
        fn length_rules_match_the_character_count(s in "[a-zA-Z0-9]{1,40}") {
            let policy = PasswordPolicy { min_length: 10, max_length: 20, require_numeric: false, require_upperlower: false, block_common: false, reject_email_local_part: false, ..PasswordPolicy::default() };
            let n = s.chars().count();
            prop_assert_eq!(policy.check(&pw(&s), &PolicyContext::default()).is_ok(), (10..=20).contains(&n));
        }
    }
}
