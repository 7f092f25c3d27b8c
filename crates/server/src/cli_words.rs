//! The operator CLI's words (`resetd admin …`): every outcome of an operator command as one
//! line for the terminal, with one exhaustive match, as api-http words the HTTP dialects.

use resetd_app::bootstrap::{BootstrapError, InvalidArgument};
use resetd_domain::policy::{PolicyConfigError, PolicyViolation};

/// `e` as the line `resetd admin` prints.
pub(crate) fn refused(e: BootstrapError) -> anyhow::Error {
    anyhow::anyhow!(match e {
        BootstrapError::Invalid(invalid) => argument(invalid),
        BootstrapError::Concurrent =>
            "another run made the same thing at the same moment; run the command again".into(),
        BootstrapError::EmailTaken => "the email is already in use".into(),
        BootstrapError::PhoneTaken => "the phone number is already in use".into(),
        BootstrapError::UserNotFound => "no such user".into(),
        BootstrapError::Policy(violations) => {
            let said: Vec<String> = violations.iter().map(violation).collect();
            format!("the password does not satisfy the policy: {}", said.join(" "))
        }
        BootstrapError::Unavailable(f) => format!("a backend is unavailable ({f}: {}); try again", f.source),
        BootstrapError::Unexpected(f) => format!("failed while {f}: {}", f.source),
    })
}

fn argument(invalid: InvalidArgument) -> String {
    match invalid {
        // The domain's parse errors are already one line for an operator.
        InvalidArgument::Email(e) => e.to_string(),
        InvalidArgument::Phone(e) => e.to_string(),
        InvalidArgument::UserId(e) => e.to_string(),
        InvalidArgument::Status(e) => e.to_string(),
        InvalidArgument::ClientId(e) => e.to_string(),
        InvalidArgument::ClientType(e) => e.to_string(),
        InvalidArgument::Password(e) => e.to_string(),
        InvalidArgument::UnknownPreset { name, known } => {
            format!("unknown policy preset {name:?}; known: {}", known.join(", "))
        }
        InvalidArgument::Policy(errors) => {
            let said: Vec<String> = errors.iter().map(policy_field).collect();
            format!("policy: {}", said.join("; "))
        }
        InvalidArgument::HistoryAboveRetention { count, retention } => {
            format!("policy: history_count {count} is above policy.history_retention ({retention})")
        }
        InvalidArgument::NoSuchClient(id) => format!("no client {id}"),
        InvalidArgument::ClientLogin => "--login: every lifetime and window must be at least 1 second".to_owned(),
    }
}

fn policy_field(e: &PolicyConfigError) -> String {
    match e {
        PolicyConfigError::MinLength { min, max } => format!("min_length must be between {min} and {max}"),
        PolicyConfigError::MaxLength => "max_length must be between min_length and 1024".into(),
        PolicyConfigError::HistoryCount => "history_count must be between 0 and 128".into(),
        PolicyConfigError::ExpirationDays => "expiration_duration_days must be between 30 and 365".into(),
    }
}

fn violation(v: &PolicyViolation) -> String {
    match v {
        PolicyViolation::TooShort { min } => format!("At least {min} characters."),
        PolicyViolation::TooLong { max } => format!("At most {max} characters."),
        PolicyViolation::MissingDigit => "A digit.".into(),
        PolicyViolation::MissingUpperLower => "An upper-case and a lower-case letter.".into(),
        PolicyViolation::MissingSpecial => "A character that is not a letter or a digit.".into(),
        PolicyViolation::Common => "Not a common password.".into(),
        PolicyViolation::ContainsEmailLocalPart => "Not containing the email's name.".into(),
        PolicyViolation::Breached => "Not in a list of breached passwords.".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_is_one_line_that_says_what_to_do() {
        let preset =
            InvalidArgument::UnknownPreset { name: "nope".into(), known: vec!["weak".into(), "strong".into()] };
        assert_eq!(refused(preset.into()).to_string(), r#"unknown policy preset "nope"; known: weak, strong"#);
        let above = InvalidArgument::HistoryAboveRetention { count: 50, retention: 10 };
        assert_eq!(
            refused(above.into()).to_string(),
            "policy: history_count 50 is above policy.history_retention (10)"
        );
        let out = InvalidArgument::Policy(vec![PolicyConfigError::MinLength { min: 7, max: 100 }]);
        assert_eq!(refused(out.into()).to_string(), "policy: min_length must be between 7 and 100");
        assert!(refused(BootstrapError::Concurrent).to_string().contains("run the command again"));
        let weak = BootstrapError::Policy(vec![PolicyViolation::TooShort { min: 8 }, PolicyViolation::Breached]);
        assert_eq!(
            refused(weak).to_string(),
            "the password does not satisfy the policy: At least 8 characters. Not in a list of breached passwords."
        );
        for line in [refused(BootstrapError::EmailTaken), refused(BootstrapError::UserNotFound)] {
            assert!(!line.to_string().contains('\n'), "{line}");
        }
    }
}
