//! Who a password belongs to: user ids, email addresses, phone numbers and account status.

use std::fmt;

/// A user id: a positive integer, written as a string of digits on the wire (Looker 4.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserId(i64);

/// Why a value was refused as a [`UserId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserIdError {
    /// Not a whole number above 0 (as text: 1 to 18 ASCII digits, nothing else).
    #[error("a user id is a positive whole number written in digits")]
    Malformed,
}

impl UserId {
    /// The largest id: none is ever assigned (ids come from a sequence), so a read of it finds
    /// nothing, which is what an unknown account's equal-work read needs.
    pub const MAX: Self = Self(i64::MAX);

    /// Reads an id as written on the wire.
    ///
    /// # Errors
    /// [`UserIdError::Malformed`] unless `raw` is 1 to 18 ASCII digits with a value above 0.
    pub fn parse(raw: &str) -> Result<Self, UserIdError> {
        if raw.is_empty() || raw.len() > 18 || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(UserIdError::Malformed);
        }
        raw.parse::<i64>().ok().filter(|n| *n > 0).map(Self).ok_or(UserIdError::Malformed)
    }

    /// An id from its stored integer.
    ///
    /// # Errors
    /// [`UserIdError::Malformed`] for zero or negative values.
    pub fn from_i64(value: i64) -> Result<Self, UserIdError> {
        if value > 0 {
            Ok(Self(value))
        } else {
            Err(UserIdError::Malformed)
        }
    }

    /// The integer, as stored.
    pub fn as_i64(self) -> i64 {
        self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An email address, trimmed and lower-cased, checked for a plausible shape.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Email(String);

/// Why text was refused as an [`Email`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Not a plausible `local@domain.tld` address.
    #[error("email is not a valid address")]
    Malformed,
}

impl Email {
    /// Trims and lower-cases `raw`, then checks its shape.
    ///
    /// # Errors
    /// [`EmailError::Malformed`] unless `raw` is `local@domain.tld` within RFC 5321 lengths,
    /// without spaces or control characters.
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let text = raw.trim().to_lowercase();
        let (local, domain) = text.split_once('@').ok_or(EmailError::Malformed)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.chars().all(|c| !c.is_whitespace() && !c.is_control() && !"<>()[]\\,;:@\"".contains(c));
        let domain_ok = domain.len() <= 253
            && domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if local_ok && domain_ok && text.len() <= 254 {
            Ok(Self(text))
        } else {
            Err(EmailError::Malformed)
        }
    }

    /// The normalised address (trimmed, lower-cased).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before `@`.
    pub fn local_part(&self) -> &str {
        self.0.split_once('@').map_or(self.0.as_str(), |(local, _)| local)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A phone number in E.164 (`+` and 8 to 15 digits). The 11-digit mainland-China mobile form
/// of the Tencent CIAM samples (`13612345678`) is accepted and stored as `+8613612345678`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PhoneNumber(String);

/// Why text was refused as a [`PhoneNumber`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneNumberError {
    /// Neither E.164 (`+`, then 8 to 15 digits not starting with 0) nor an 11-digit mainland
    /// mobile number (`1`, then 3 to 9, then 9 digits).
    #[error("phone number is neither E.164 nor an 11-digit mainland mobile number")]
    Malformed,
}

impl PhoneNumber {
    /// Reads a number (surrounding spaces trimmed), turning the mainland form into E.164.
    ///
    /// # Errors
    /// [`PhoneNumberError::Malformed`] for anything else.
    pub fn parse(raw: &str) -> Result<Self, PhoneNumberError> {
        let text = raw.trim();
        if let Some(digits) = text.strip_prefix('+') {
            let ok = (8..=15).contains(&digits.len())
                && digits.bytes().all(|b| b.is_ascii_digit())
                && !digits.starts_with('0');
            return if ok { Ok(Self(text.to_owned())) } else { Err(PhoneNumberError::Malformed) };
        }
        let bytes = text.as_bytes();
        let mainland = bytes.len() == 11
            && bytes[0] == b'1'
            && (b'3'..=b'9').contains(&bytes[1])
            && bytes.iter().all(u8::is_ascii_digit);
        if mainland {
            Ok(Self(format!("+86{text}")))
        } else {
            Err(PhoneNumberError::Malformed)
        }
    }

    /// The canonical E.164 text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether an account may reset its password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserStatus {
    /// In good standing: the only status that may reset its password or open an API session.
    Active,
    /// Locked by an administrator.
    Locked,
    /// Frozen by an administrator.
    Frozen,
    /// Disabled (Looker `is_disabled`).
    Disabled,
}

/// A status name that is none of `active`, `locked`, `frozen` and `disabled`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("status is one of active, locked, frozen, disabled")]
pub struct UserStatusError;

impl UserStatus {
    /// Every status.
    pub const ALL: [Self; 4] = [Self::Active, Self::Locked, Self::Frozen, Self::Disabled];

    /// The status's name, as stored: `active`, `locked`, `frozen` or `disabled`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Locked => "locked",
            Self::Frozen => "frozen",
            Self::Disabled => "disabled",
        }
    }

    /// The status named by [`Self::as_str`].
    ///
    /// # Errors
    /// [`UserStatusError`] for an unknown name.
    pub fn parse(raw: &str) -> Result<Self, UserStatusError> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw).ok_or(UserStatusError)
    }

    /// Whether this is [`Self::Active`].
    pub fn is_active(self) -> bool {
        self == Self::Active
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn user_ids_are_positive_digit_strings() {
        assert_eq!(UserId::parse("42").unwrap().to_string(), "42");
        for bad in ["", "0", "-1", "4a", " 1", "1234567890123456789", "+1"] {
            assert!(UserId::parse(bad).is_err(), "{bad:?}");
        }
        assert!(UserId::from_i64(0).is_err());
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        let e = Email::parse("  Ada.Lovelace@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "ada.lovelace@example.com");
        assert_eq!(e.local_part(), "ada.lovelace");
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@example",
            "a b@example.com",
            "ada@exa_mple.com",
            "a..b@x.io",
            "ada@-x.io",
            "a@b@c.io",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn phone_numbers_accept_e164_and_mainland_form() {
        assert_eq!(PhoneNumber::parse("13612345678").unwrap().as_str(), "+8613612345678");
        assert_eq!(PhoneNumber::parse("+8613612345678").unwrap(), PhoneNumber::parse("13612345678").unwrap());
        assert_eq!(PhoneNumber::parse("+14155550100").unwrap().as_str(), "+14155550100");
        for bad in ["", "12345678901", "+0123456789", "+1234567", "+1234567890123456", "1361234567a", "136 1234 5678"] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn statuses_round_trip() {
        for s in UserStatus::ALL {
            assert_eq!(UserStatus::parse(s.as_str()), Ok(s));
        }
        assert!(UserStatus::parse("normal").is_err());
    }

    proptest! {
        #[test]
        fn any_positive_id_round_trips(n in 1i64..=999_999_999_999_999_999) {
            prop_assert_eq!(UserId::parse(&n.to_string()).unwrap().as_i64(), n);
        }

        #[test]
        fn plausible_emails_parse_and_are_idempotent(local in "[a-z0-9][a-z0-9._+-]{0,20}[a-z0-9]", domain in "[a-z0-9]{1,10}\\.[a-z]{2,6}") {
            prop_assume!(!local.contains(".."));
            let e = Email::parse(&format!("{local}@{domain}")).unwrap();
            prop_assert_eq!(Email::parse(e.as_str()).unwrap(), e);
        }

        #[test]
        fn mainland_numbers_canonicalise(rest in "[3-9][0-9]{9}") {
            let p = PhoneNumber::parse(&format!("1{rest}")).unwrap();
            prop_assert_eq!(p.as_str(), format!("+861{rest}"));
        }
    }
}
