//! Emails, phone numbers, user ids, reset and OTP tokens, OTP codes, session and refresh
//! tokens: every domain parser of text a caller sends. A value that parses must parse again to
//! itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resetd_domain::access::SessionToken;
use resetd_domain::login::RefreshToken;
use resetd_domain::otp::{OtpCode, OtpToken};
use resetd_domain::reset_token::ResetToken;
use resetd_domain::user::{Email, PhoneNumber, UserId};

fuzz_target!(|text: &str| {
    if let Ok(email) = Email::parse(text) {
        assert_eq!(Email::parse(email.as_str()).map(|e| e.as_str().to_owned()), Ok(email.as_str().to_owned()));
    }
    if let Ok(phone) = PhoneNumber::parse(text) {
        assert_eq!(PhoneNumber::parse(phone.as_str()).map(|p| p.as_str().to_owned()), Ok(phone.as_str().to_owned()));
    }
    if let Ok(id) = UserId::parse(text) {
        assert_eq!(UserId::parse(&id.to_string()), Ok(id));
    }
    if let Ok(token) = SessionToken::parse(text) {
        assert_eq!(token.expose(), text);
    }
    if let Ok(token) = RefreshToken::parse(text) {
        assert_eq!(token.expose(), text, "one spelling per refresh token");
    }
    let _ = ResetToken::parse(text);
    let _ = OtpToken::parse(text);
    let _ = OtpCode::parse(text);
});
