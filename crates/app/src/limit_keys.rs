//! Every rate-limit and budget key the use cases count under, in one place. The stores add
//! their prefix (and, in Redis, a hash tag around the whole key: `Prl:{<key>}`). Destinations
//! appear only as keyed digests (see `CiamService::destination`), never as addresses.

use std::net::IpAddr;

use resetd_domain::client::ClientId;
use resetd_domain::user::UserId;

/// Looker logins from one address.
pub(crate) fn login_from(ip: IpAddr) -> String {
    format!("login:ip:{ip}")
}

/// Failed Looker logins of one API client from one address (`-`: no address known).
pub(crate) fn login_failures(client: &ClientId, from: Option<IpAddr>) -> String {
    let from = from.map_or_else(|| "-".to_owned(), |ip| ip.to_string());
    format!("login:fail:{client}:{from}")
}

/// Reset links minted by one administrator.
pub(crate) fn links_by(caller: UserId) -> String {
    format!("reset:caller:{caller}")
}

/// Password changes (link redemptions, CIAM resets) from one address.
pub(crate) fn changes_from(ip: IpAddr) -> String {
    format!("change:ip:{ip}")
}

/// The send cooldown and the daily cap of one destination (its digest, in hex).
pub(crate) fn destination_cooldown(digest: &str) -> String {
    format!("otp:dest:{digest}:cooldown")
}

pub(crate) fn destination_daily(digest: &str) -> String {
    format!("otp:dest:{digest}:day")
}

/// Sends in the name of one CIAM client.
pub(crate) fn sends_by(client: &ClientId) -> String {
    format!("otp:client:{client}")
}

/// Sends asked for from one address.
pub(crate) fn sends_from(ip: IpAddr) -> String {
    format!("otp:ip:{ip}")
}

/// The guess budget of one account, or of one destination without an account.
pub(crate) fn guesses_of(user: UserId) -> String {
    format!("otp:guess:u:{user}")
}

pub(crate) fn guesses_at(digest: &str) -> String {
    format!("otp:guess:d:{digest}")
}

/// Token requests (`/oauth2/token`) from one address.
pub(crate) fn tokens_from(ip: IpAddr) -> String {
    format!("token:ip:{ip}")
}

/// Tokens issued to one CIAM client.
pub(crate) fn tokens_for(client: &ClientId) -> String {
    format!("token:client:{client}")
}
