//! Every Redis key this crate writes, built in one place.
//!
//! Layout (`P` is the configured prefix, e.g. `resetd:`; it may not contain braces, so the
//! first `{…}` of a key is always ours):
//!
//! | key                          | type        | holds                                        |
//! |------------------------------|-------------|----------------------------------------------|
//! | `P{otp:<token hex>}:c`       | hash        | one OTP challenge (see [`crate::otp`])       |
//! | `Prl:{<key>}`                | string      | the hit count of one rate-limit window; `<key>` comes from the use cases (`resetd_app`'s `limit_keys`, the one place they are built) |
//! | `P{u:<user id>}:s:<digest>`  | string      | one API session: `<role>:<generation>`       |
//! | `P{u:<user id>}:g`           | string      | the user's published credential generation   |
//! | `P{health:<channel>}`        | string      | present, with a TTL, while a channel fails    |
//! | `P{u:<user id>}:rf:<family>` | hash        | one login session (refresh-token family; see [`crate::login`]) |
//! | `P{u:<user id>}:lf`          | string      | the user's failed logins in the current window |
//! | `P{u:<user id>}:lk`          | string      | present, with a TTL, while the user is locked  |
//! | `P{n:<name digest>}:lf`      | string      | the same count for a username naming nobody   |
//! | `P{n:<name digest>}:lk`      | string      | the same lock for a username naming nobody    |
//!
//! Redis Cluster hashes only the part between the first `{` and the next `}` (the hash tag),
//! so every key one Lua script touches must share it. The OTP and rate-limit scripts each
//! touch one key, whose tag names the challenge or the window; a user's sessions and its
//! generation share the user's tag, so checking a session against the generation is one
//! script on one slot (see [`crate::access`]). A user's login sessions and lockout keys share
//! that tag too; an unknown username's lockout keys share the tag of its keyed digest.

use resetd_domain::keyed::Digest;
use resetd_domain::login::FamilyId;
use resetd_domain::user::UserId;
use resetd_ports::login::LockoutSubject;

/// Whether `prefix` can start keys without breaking their hash tags.
pub(crate) fn valid_prefix(prefix: &str) -> bool {
    !prefix.contains(['{', '}'])
}

/// The hash tag shared by every key of one OTP challenge.
pub(crate) fn otp_tag(token: &Digest) -> String {
    format!("{{otp:{}}}", token.to_hex())
}

/// The hash holding one OTP challenge.
pub(crate) fn otp_challenge(prefix: &str, token: &Digest) -> String {
    format!("{prefix}{}:c", otp_tag(token))
}

/// The counter of one rate-limit window.
pub(crate) fn rate_limit(prefix: &str, key: &str) -> String {
    format!("{prefix}rl:{{{key}}}")
}

/// The failing mark of a delivery channel.
pub(crate) fn channel_health(prefix: &str, channel: &str) -> String {
    format!("{prefix}{{health:{channel}}}")
}

/// The hash tag of everything one user's sessions are checked against.
pub(crate) fn user_tag(user: UserId) -> String {
    format!("{{u:{user}}}")
}

/// One API session of `user`.
pub(crate) fn session(prefix: &str, user: UserId, token: &Digest) -> String {
    format!("{prefix}{}:s:{}", user_tag(user), token.to_hex())
}

/// The published credential generation of `user`.
pub(crate) fn generation(prefix: &str, user: UserId) -> String {
    format!("{prefix}{}:g", user_tag(user))
}

/// One login session (refresh-token family) of `user`.
pub(crate) fn refresh_family(prefix: &str, user: UserId, family: &FamilyId) -> String {
    format!("{prefix}{}:rf:{}", user_tag(user), family.to_hex())
}

/// The hash tag of a lockout subject: its user's, or the keyed digest of the unknown name.
pub(crate) fn lockout_tag(subject: &LockoutSubject) -> String {
    match subject {
        LockoutSubject::User(user) => user_tag(*user),
        LockoutSubject::Unknown(name) => format!("{{n:{}}}", name.to_hex()),
    }
}

/// The failed-login counter of `subject`.
pub(crate) fn login_failures(prefix: &str, subject: &LockoutSubject) -> String {
    format!("{prefix}{}:lf", lockout_tag(subject))
}

/// The login lock of `subject`.
pub(crate) fn login_lock(prefix: &str, subject: &LockoutSubject) -> String {
    format!("{prefix}{}:lk", lockout_tag(subject))
}

/// The part of `key` Redis Cluster hashes: the content of its first non-empty `{…}`, or the
/// whole key.
#[cfg(test)]
pub(crate) fn hash_tag(key: &str) -> &str {
    if let Some(open) = key.find('{') {
        if let Some(len) = key[open + 1..].find('}') {
            if len > 0 {
                return &key[open + 1..open + 1 + len];
            }
        }
    }
    key
}

/// The Redis Cluster slot of `key` (CRC16-XMODEM of its hash tag, modulo 16384).
#[cfg(test)]
pub(crate) fn hash_slot(key: &str) -> u16 {
    let mut crc: u16 = 0;
    for &byte in hash_tag(key).as_bytes() {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    crc % 16384
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(byte: u8) -> Digest {
        Digest::from_bytes([byte; 32])
    }

    #[test]
    fn slots_follow_the_cluster_specification() {
        // The reference vectors of the Redis Cluster specification.
        assert_eq!(hash_slot("123456789"), 0x31C3);
        assert_eq!(hash_slot("{user1000}.following"), hash_slot("{user1000}.followers"));
        assert_eq!(hash_tag("foo{}{bar}"), "foo{}{bar}");
        assert_eq!(hash_tag("foo{{bar}}zap"), "{bar");
        assert_eq!(hash_tag("foo{bar}{zap}"), "bar");
    }

    #[test]
    fn every_key_of_one_challenge_shares_its_hash_tag() {
        let token = digest(7);
        let challenge = otp_challenge("resetd:", &token);
        let sibling = format!("resetd:{}:attempts", otp_tag(&token));
        assert_eq!(hash_tag(&challenge), format!("otp:{}", token.to_hex()));
        assert_eq!(hash_tag(&challenge), hash_tag(&sibling));
        assert_eq!(hash_slot(&challenge), hash_slot(&sibling));
        assert_eq!(hash_slot(&challenge), hash_slot(&otp_challenge("other:", &token)), "the prefix is outside the tag");
        assert_ne!(hash_tag(&challenge), hash_tag(&otp_challenge("resetd:", &digest(8))));
    }

    #[test]
    fn prefixes_with_braces_are_refused() {
        assert!(valid_prefix("resetd:"));
        assert!(!valid_prefix("resetd:{x}:"));
        assert!(!valid_prefix("a}"));
    }

    #[test]
    fn other_keys_are_tagged_by_what_their_script_touches() {
        assert_eq!(hash_tag(&rate_limit("p:", "otp:ip:1.2.3.4")), "otp:ip:1.2.3.4");
        let user = UserId::from_i64(42).unwrap();
        assert_eq!(generation("p:", user), "p:{u:42}:g");
        assert_eq!(session("p:", user, &digest(1)), format!("p:{{u:42}}:s:{}", digest(1).to_hex()));
        assert_eq!(hash_slot(&session("p:", user, &digest(1))), hash_slot(&generation("p:", user)), "one slot");
    }

    #[test]
    fn login_keys_share_the_slot_of_their_subject() {
        let user = UserId::from_i64(42).unwrap();
        let family = FamilyId::parse(&"ab".repeat(16)).unwrap();
        let (subject, nobody) = (LockoutSubject::User(user), LockoutSubject::Unknown(digest(3)));
        assert_eq!(refresh_family("p:", user, &family), format!("p:{{u:42}}:rf:{}", "ab".repeat(16)));
        assert_eq!(login_failures("p:", &subject), "p:{u:42}:lf");
        assert_eq!(login_lock("p:", &subject), "p:{u:42}:lk");
        assert_eq!(login_lock("p:", &nobody), format!("p:{{n:{}}}:lk", digest(3).to_hex()));
        let slot = hash_slot(&generation("p:", user));
        for key in [refresh_family("p:", user, &family), login_failures("p:", &subject), login_lock("p:", &subject)] {
            assert_eq!(hash_slot(&key), slot, "{key}");
        }
        assert_eq!(hash_slot(&login_failures("p:", &nobody)), hash_slot(&login_lock("p:", &nobody)));
    }
}
