//! The client's address: the TCP peer, unless the peer is a trusted proxy, in which case the
//! right-most untrusted address of `X-Forwarded-For` (or of `Forwarded: for=`). Limits key an
//! IPv6 client by its network prefix (a /64 by default), since one host holds a whole /64.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use ipnet::IpNet;

use crate::Shared;

/// Which peers may speak for the client, and how wide an IPv6 client is.
#[derive(Debug, Clone)]
pub struct ProxyTrust {
    /// The networks of the proxies in front of resetd (none by default: the peer is the client).
    pub trusted: Vec<IpNet>,
    /// Leading bits of an IPv6 address that name one client (64).
    pub ipv6_prefix: u8,
}

impl Default for ProxyTrust {
    fn default() -> Self {
        Self { trusted: Vec::new(), ipv6_prefix: 64 }
    }
}

impl ProxyTrust {
    fn trusts(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|net| net.contains(&ip))
    }

    /// The client behind `peer`: the peer itself unless it is trusted; then the right-most
    /// address of the forwarding chain that is not a trusted proxy (the left-most if all are).
    pub(crate) fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let chain = forwarded_for(headers);
        chain.iter().rev().find(|ip| !self.trusts(**ip)).or_else(|| chain.first()).copied().unwrap_or(peer)
    }

    /// The address limits count `ip` under: itself for IPv4, its network for IPv6.
    pub(crate) fn limit_key(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V4(_) => ip,
            IpAddr::V6(v6) => {
                let bits = u32::from(self.ipv6_prefix.min(128));
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
            }
        }
    }
}

/// The addresses of `X-Forwarded-For` (every header, in order), else those of `Forwarded`'s
/// `for=` parameters; unparsable entries are dropped.
fn forwarded_for(headers: &HeaderMap) -> Vec<IpAddr> {
    let values = |name: &str| -> Vec<String> {
        headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).map(str::to_owned).collect()
    };
    let xff: Vec<IpAddr> =
        values("x-forwarded-for").iter().flat_map(|v| v.split(',')).filter_map(|s| parse_node(s.trim())).collect();
    if !xff.is_empty() {
        return xff;
    }
    values("forwarded")
        .iter()
        .flat_map(|v| v.split([',', ';']))
        .filter_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            key.trim().eq_ignore_ascii_case("for").then(|| parse_node(value.trim().trim_matches('"'))).flatten()
        })
        .collect()
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]:443`.
fn parse_node(raw: &str) -> Option<IpAddr> {
    if let Ok(ip) = raw.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(addr) = raw.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    raw.strip_prefix('[').and_then(|r| r.split(']').next()).and_then(|ip| ip.parse().ok())
}

/// The client's address as limits count it (see [`ProxyTrust`]); `None` when the connection
/// has no peer address (a request built in a test). The request span records the client.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<Shared> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Self::Rejection> {
        let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>().copied() else {
            return Ok(Self(None));
        };
        let client = state.proxies.client(peer.ip(), &parts.headers);
        tracing::Span::current().record("client_ip", tracing::field::display(client));
        Ok(Self(Some(state.proxies.limit_key(client))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trust(nets: &[&str]) -> ProxyTrust {
        ProxyTrust { trusted: nets.iter().map(|n| n.parse().unwrap()).collect(), ipv6_prefix: 64 }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let h = headers(&[("x-forwarded-for", "203.0.113.9"), ("forwarded", "for=198.51.100.1")]);
        assert_eq!(trust(&[]).client(ip("192.0.2.1"), &h), ip("192.0.2.1"));
        assert_eq!(trust(&["10.0.0.0/8"]).client(ip("192.0.2.1"), &h), ip("192.0.2.1"));
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_address_is_the_client() {
        let t = trust(&["10.0.0.0/8", "fd00::/8"]);
        let h = headers(&[("x-forwarded-for", "198.51.100.7, 203.0.113.5, 10.1.1.1")]);
        assert_eq!(t.client(ip("10.0.0.2"), &h), ip("203.0.113.5"), "a spoofed left part is ignored");
        let split = headers(&[("x-forwarded-for", "198.51.100.7"), ("x-forwarded-for", "10.2.2.2")]);
        assert_eq!(t.client(ip("10.0.0.2"), &split), ip("198.51.100.7"), "several headers read in order");
        let all = headers(&[("x-forwarded-for", "10.3.3.3, 10.4.4.4")]);
        assert_eq!(t.client(ip("10.0.0.2"), &all), ip("10.3.3.3"));
        assert_eq!(t.client(ip("10.0.0.2"), &HeaderMap::new()), ip("10.0.0.2"), "no header: the peer");
        let fwd = headers(&[("forwarded", "for=198.51.100.3;proto=https, for=\"[2001:db8::5]:4711\"")]);
        assert_eq!(t.client(ip("fd00::1"), &fwd), ip("2001:db8::5"), "RFC 7239");
        let junk = headers(&[("x-forwarded-for", "unknown, 203.0.113.77:8080")]);
        assert_eq!(t.client(ip("10.0.0.2"), &junk), ip("203.0.113.77"));
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_network() {
        let t = trust(&[]);
        assert_eq!(t.limit_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(t.limit_key(ip("2001:db8:1:2:bbbb::9")), ip("2001:db8:1:2::"));
        assert_eq!(t.limit_key(ip("192.0.2.44")), ip("192.0.2.44"));
        let wide = ProxyTrust { ipv6_prefix: 48, ..t.clone() };
        assert_eq!(wide.limit_key(ip("2001:db8:1:2::1")), ip("2001:db8:1::"));
        let exact = ProxyTrust { ipv6_prefix: 128, ..t };
        assert_eq!(exact.limit_key(ip("2001:db8::1")), ip("2001:db8::1"));
    }
}
