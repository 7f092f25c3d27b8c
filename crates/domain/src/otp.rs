//! One-time codes: the code a user receives, the `otp_token` the application holds, what the
//! challenge is bound to, and the rule that judges a guess.

use std::fmt;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};

use crate::client::ClientId;
use crate::keyed::{Digest, Purpose, TokenKey};
use crate::opaque::opaque_secret;
use crate::user::{Email, PhoneNumber};

opaque_secret!(
    /// The `otp_token` returned by `/otp/send`. Only its digest is stored.
    OtpToken,
    Purpose::OtpToken
);

/// A one-time code of decimal digits, drawn uniformly.
#[derive(Clone)]
pub struct OtpCode(SecretString);

/// Why text was refused as an [`OtpCode`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OtpCodeError {
    /// Not 1 to 12 ASCII digits.
    #[error("a one-time code is 1 to 12 decimal digits")]
    Malformed,
}

impl OtpCode {
    /// Digits in a code unless configured otherwise (contract §5.1).
    pub const DEFAULT_LEN: u32 = 6;

    /// A uniform code of `len` digits (1..=12; clamped).
    pub fn generate(rng: &mut (impl rand::RngCore + rand::CryptoRng), len: u32) -> Self {
        use rand::Rng as _;
        let len = len.clamp(1, 12);
        let n: u64 = rng.gen_range(0..10u64.pow(len));
        Self(SecretString::from(format!("{n:0width$}", width = len as usize)))
    }

    /// Reads a code as the user typed it (a guess).
    ///
    /// # Errors
    /// [`OtpCodeError::Malformed`] unless `raw` is 1 to 12 ASCII digits.
    pub fn parse(raw: &str) -> Result<Self, OtpCodeError> {
        if (1..=12).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(SecretString::from(raw.to_owned())))
        } else {
            Err(OtpCodeError::Malformed)
        }
    }

    /// The digits, for the message that delivers them.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The keyed hash of this code as a guess for the challenge whose token digest is given:
    /// binding the token in keeps equal codes of different challenges apart.
    pub fn digest(&self, key: &TokenKey, token: &Digest) -> Digest {
        key.digest(Purpose::OtpCode, &[token.as_bytes(), self.expose().as_bytes()])
    }
}

impl fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OtpCode([redacted])")
    }
}

/// What a code was sent for (`usage` on `/otp/send`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OtpUsage {
    /// Signing in (`login`).
    Login,
    /// Registering an account (`signup`).
    Signup,
    /// Changing the account's profile (`update_userinfo`).
    UpdateUserinfo,
    /// Resetting the password (`reset_password`), the usage resetd's own reset flow sends.
    ResetPassword,
}

impl OtpUsage {
    /// Every usage.
    pub const ALL: [Self; 4] = [Self::Login, Self::Signup, Self::UpdateUserinfo, Self::ResetPassword];

    /// The wire name, also stored with a challenge: `login`, `signup`, `update_userinfo` or
    /// `reset_password`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Signup => "signup",
            Self::UpdateUserinfo => "update_userinfo",
            Self::ResetPassword => "reset_password",
        }
    }

    /// The usage named by [`Self::as_str`]; `None` for any other text.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|u| u.as_str() == raw)
    }
}

/// How a code travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// By email, to an [`Email`].
    Email,
    /// By SMS, to a [`PhoneNumber`].
    Sms,
}

impl Channel {
    /// The channel's name, also stored with a recipient: `email` or `sms`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }

    /// The channel named by [`Self::as_str`]; `None` for any other text.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "email" => Some(Self::Email),
            "sms" => Some(Self::Sms),
            _ => None,
        }
    }
}

/// Where a code goes: an email address or a phone number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Recipient {
    /// An email address, reached by [`Channel::Email`].
    Email(Email),
    /// A phone number, reached by [`Channel::Sms`].
    Phone(PhoneNumber),
}

impl Recipient {
    /// The channel that reaches this recipient.
    pub fn channel(&self) -> Channel {
        match self {
            Self::Email(_) => Channel::Email,
            Self::Phone(_) => Channel::Sms,
        }
    }

    /// The canonical address (lower-cased email or E.164 number).
    pub fn address(&self) -> &str {
        match self {
            Self::Email(e) => e.as_str(),
            Self::Phone(p) => p.as_str(),
        }
    }

    /// Rebuilds a recipient from its stored channel and address; `None` when the address does
    /// not parse as that channel's kind.
    pub fn from_parts(channel: Channel, address: &str) -> Option<Self> {
        match channel {
            Channel::Email => Email::parse(address).ok().map(Self::Email),
            Channel::Sms => PhoneNumber::parse(address).ok().map(Self::Phone),
        }
    }
}

/// What a challenge was issued for; a guess must come with the same binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpBinding {
    /// The application that asked for the code (or that presents the guess).
    pub client_id: ClientId,
    /// What the code is for.
    pub usage: OtpUsage,
    /// Where the code was sent (or the address the guess names).
    pub recipient: Recipient,
    /// The user's credential generation when the code was sent (0 for an unknown account): a
    /// password or status change since then kills the challenge. A guess presents the user's
    /// current one, or `None` when the account is gone (any generation is admitted, so the
    /// documented `user_not_found` still follows a right code).
    pub generation: Option<i64>,
}

impl OtpBinding {
    /// Whether a guess presented with `presented` is for this challenge.
    pub(crate) fn admits(&self, presented: &Self) -> bool {
        self.client_id == presented.client_id
            && self.usage == presented.usage
            && self.recipient == presented.recipient
            && (presented.generation.is_none() || presented.generation == self.generation)
    }
}

/// A sent code, as stored: digests only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpChallenge {
    /// The digest of the challenge's `otp_token` ([`OtpToken::digest`]): its name in the store.
    pub token: Digest,
    /// The digest of the code, bound to `token` ([`OtpCode::digest`]).
    pub code: Digest,
    /// What the challenge was issued for.
    pub binding: OtpBinding,
    /// Guesses still allowed; at 0 the challenge is dead.
    pub attempts_left: u32,
    /// The code is no longer accepted from this instant (the token may live longer).
    pub code_expires_at: DateTime<Utc>,
    /// The challenge is gone from this instant.
    pub expires_at: DateTime<Utc>,
}

/// The judgement of one guess against a challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The code is right.
    Accept,
    /// The code is wrong; `attempts_left` remain (0: the challenge is now dead).
    WrongCode {
        /// Guesses left after this one.
        attempts_left: u32,
    },
    /// The token is still alive but its code has expired.
    CodeExpired,
    /// The challenge was issued for another client, usage or recipient.
    Mismatch,
    /// The challenge has expired or has no attempts left.
    Expired,
}

impl OtpChallenge {
    /// Judges `guess` (a digest made by [`OtpCode::digest`]) presented with `binding` at `now`.
    /// Checks run in this order: expiry and attempts, binding, code expiry, the code itself
    /// (in constant time).
    pub fn judge(&self, guess: &Digest, binding: &OtpBinding, now: DateTime<Utc>) -> Verdict {
        if now >= self.expires_at || self.attempts_left == 0 {
            Verdict::Expired
        } else if !self.binding.admits(binding) {
            Verdict::Mismatch
        } else if now >= self.code_expires_at {
            Verdict::CodeExpired
        } else if self.code.ct_eq(guess) {
            Verdict::Accept
        } else {
            Verdict::WrongCode { attempts_left: self.attempts_left - 1 }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    fn fixture() -> (TokenKey, OtpToken, OtpCode, OtpChallenge, DateTime<Utc>) {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let key = TokenKey::generate(&mut rng);
        let token = OtpToken::generate(&mut rng);
        let code = OtpCode::generate(&mut rng, 6);
        let now = Utc::now();
        let token_digest = token.digest(&key);
        let challenge = OtpChallenge {
            token: token_digest,
            code: code.digest(&key, &token_digest),
            binding: binding("ada@example.com"),
            attempts_left: 5,
            code_expires_at: now + chrono::Duration::seconds(60),
            expires_at: now + chrono::Duration::seconds(300),
        };
        (key, token, code, challenge, now)
    }

    fn binding(email: &str) -> OtpBinding {
        OtpBinding {
            client_id: ClientId::parse("app").unwrap(),
            usage: OtpUsage::ResetPassword,
            recipient: Recipient::Email(Email::parse(email).unwrap()),
            generation: Some(7),
        }
    }

    #[test]
    fn the_right_code_is_accepted() {
        let (key, _, code, c, now) = fixture();
        assert_eq!(c.judge(&code.digest(&key, &c.token), &c.binding, now), Verdict::Accept);
    }

    #[test]
    fn a_wrong_code_costs_an_attempt() {
        let (key, _, _, c, now) = fixture();
        let wrong = OtpCode::parse("000000").unwrap().digest(&key, &c.token);
        assert_eq!(c.judge(&wrong, &c.binding, now), Verdict::WrongCode { attempts_left: 4 });
        let last = OtpChallenge { attempts_left: 1, ..c.clone() };
        assert_eq!(last.judge(&wrong, &c.binding, now), Verdict::WrongCode { attempts_left: 0 });
        let dead = OtpChallenge { attempts_left: 0, ..c };
        assert_eq!(dead.judge(&wrong, &dead.binding, now), Verdict::Expired);
    }

    #[test]
    fn expiry_binding_and_code_expiry_are_judged_in_order() {
        let (key, _, code, c, now) = fixture();
        let guess = code.digest(&key, &c.token);
        assert_eq!(c.judge(&guess, &binding("eve@example.com"), now), Verdict::Mismatch);
        let later = OtpBinding { generation: Some(8), ..c.binding.clone() };
        assert_eq!(c.judge(&guess, &later, now), Verdict::Mismatch, "a newer generation kills the challenge");
        let gone = OtpBinding { generation: None, ..c.binding.clone() };
        assert_ne!(c.judge(&guess, &gone, now), Verdict::Mismatch, "an account that is gone admits any");
        let mut other_client = c.binding.clone();
        other_client.client_id = ClientId::parse("other").unwrap();
        assert_eq!(c.judge(&guess, &other_client, now), Verdict::Mismatch);
        assert_eq!(c.judge(&guess, &c.binding, c.code_expires_at), Verdict::CodeExpired);
        assert_eq!(c.judge(&guess, &binding("eve@example.com"), c.expires_at), Verdict::Expired);
    }

    #[test]
    fn the_same_code_hashes_differently_per_token() {
        let (key, _, code, c, _) = fixture();
        let other = OtpToken::generate(&mut rand::rngs::OsRng).digest(&key);
        assert_ne!(code.digest(&key, &c.token), code.digest(&key, &other));
    }

    #[test]
    fn codes_are_uniform_enough_and_never_print() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
        let mut first_digit = [0u32; 10];
        for _ in 0..10_000 {
            let code = OtpCode::generate(&mut rng, 6);
            assert_eq!(code.expose().len(), 6);
            first_digit[usize::from(code.expose().as_bytes()[0] - b'0')] += 1;
        }
        assert!(first_digit.iter().all(|n| (800..1200).contains(n)), "{first_digit:?}");
        assert_eq!(format!("{:?}", OtpCode::parse("123456").unwrap()), "OtpCode([redacted])");
    }

    #[test]
    fn usages_and_channels_round_trip() {
        for u in OtpUsage::ALL {
            assert_eq!(OtpUsage::parse(u.as_str()), Some(u));
        }
        assert_eq!(Channel::parse("sms"), Some(Channel::Sms));
        let r = Recipient::Phone(PhoneNumber::parse("13612345678").unwrap());
        assert_eq!(Recipient::from_parts(r.channel(), r.address()), Some(r));
    }

    proptest! {
        #[test]
        fn codes_parse_only_digits(raw in "\\PC{0,14}") {
            let digits = !raw.is_empty() && raw.len() <= 12 && raw.bytes().all(|b| b.is_ascii_digit());
            prop_assert_eq!(OtpCode::parse(&raw).is_ok(), digits);
        }

        #[test]
        fn any_other_code_is_wrong(guess in "[0-9]{6}") {
            let (key, _, code, c, now) = fixture();
            prop_assume!(guess != code.expose());
            let g = OtpCode::parse(&guess).unwrap().digest(&key, &c.token);
            prop_assert_eq!(c.judge(&g, &c.binding, now), Verdict::WrongCode { attempts_left: 4 });
        }
    }
}
