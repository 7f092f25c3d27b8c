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
//!
//! Redis Cluster hashes only the part between the first `{` and the next `}` (the hash tag),
//! so every key one Lua script touches must share it. The OTP and rate-limit scripts each
//! touch one key, whose tag names the challenge or the window; a user's sessions and its
//! generation share the user's tag, so checking a session against the generation is one
//! script on one slot (see [`crate::access`]).

use resetd_domain::keyed::Digest;
use resetd_domain::user::UserId;

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
}
