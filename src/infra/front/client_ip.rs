//! The client's address: the TCP peer, or — only when that peer is one of
//! `server.trusted_proxies` — the address those proxies report in `X-Forwarded-For`.
//! Both front doors name the client this way (the token endpoint's and the sign-in
//! page's failed-login limits, the API's and the pages' password change).
//!
//! The header is read right to left: each trusted proxy appends the address it got the
//! request from, so the first address that is not a trusted proxy is the client. Anything
//! to its left was written by the client itself and is never believed.

use std::net::IpAddr;

use actix_web::HttpRequest;
use ipnet::IpNet;

/// The address rate limits and the audit trail name.
pub fn client_ip(req: &HttpRequest, trusted: &[IpNet]) -> IpAddr {
    let peer = req
        .peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok());
    from_chain(peer, forwarded, trusted)
}

/// `peer` and the `X-Forwarded-For` values (in header order) to the client's address.
pub fn from_chain<'a>(
    peer: IpAddr,
    forwarded: impl Iterator<Item = &'a str>,
    trusted: &[IpNet],
) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    return ip;
                }
            }
            // A hop that is not an address ends what can be believed.
            Err(_) => return client,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_header_counts_only_behind_a_trusted_proxy() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        // Straight from the internet: the header is the client's own words.
        assert_eq!(
            from_chain(ip("203.0.113.9"), ["1.2.3.4"].into_iter(), &trusted),
            ip("203.0.113.9")
        );
        // Behind the proxy: the last untrusted hop.
        assert_eq!(
            from_chain(
                ip("10.0.0.2"),
                ["1.2.3.4, 198.51.100.7"].into_iter(),
                &trusted
            ),
            ip("198.51.100.7")
        );
        // Two trusted proxies, two header lines.
        assert_eq!(
            from_chain(
                ip("10.0.0.2"),
                ["198.51.100.7", "10.0.0.5"].into_iter(),
                &trusted
            ),
            ip("198.51.100.7")
        );
        // Garbage the client wrote cannot hide it.
        assert_eq!(
            from_chain(ip("10.0.0.2"), ["evil, 198.51.100.7"].into_iter(), &trusted),
            ip("198.51.100.7")
        );
        assert_eq!(
            from_chain(ip("10.0.0.2"), ["198.51.100.7, junk"].into_iter(), &trusted),
            ip("10.0.0.2")
        );
        // No header: the proxy itself.
        assert_eq!(
            from_chain(ip("10.0.0.2"), [].into_iter(), &trusted),
            ip("10.0.0.2")
        );
        // Nothing trusted: never the header.
        assert_eq!(
            from_chain(ip("10.0.0.2"), ["198.51.100.7"].into_iter(), &[]),
            ip("10.0.0.2")
        );
    }
}
