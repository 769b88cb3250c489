//! The client's address, as the audit trail records it. Behind a reverse proxy the TCP peer is the
//! proxy; the client is in the proxy's `Forwarded` (RFC 7239), `X-Forwarded-For` or `X-Real-IP`
//! header. Anyone can send those headers, so they count only when the peer is a proxy the operator
//! named (`--trusted-proxies`), and only as far as they were written by trusted proxies: the list
//! is read from the right (the hop the peer itself added) and the first address that is not a
//! trusted proxy is the client. Whatever a client put further left is never read.
//!
//! Everything here is pure: header values in, an address out. Anything unusable (a malformed
//! header, an `unknown` or obfuscated hop) gives the peer's own address, never a guess.

use axum::http::HeaderMap;
use ipnet::IpNet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

/// The networks whose forwarding headers are believed. Empty (the default) trusts nobody: the
/// peer address is the client address and no header is read.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Option<Arc<[IpNet]>>);

impl TrustedProxies {
    /// A comma-separated list of IP addresses and CIDR networks, IPv4 or IPv6
    /// (`10.0.0.0/8, 192.0.2.7, 2001:db8::/32`); empty entries are ignored.
    pub fn parse(list: &str) -> Result<TrustedProxies, String> {
        let mut nets = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            nets.push(parse_net(entry).ok_or_else(|| {
                format!("`{entry}` is not an IP address or CIDR network (e.g. 10.0.0.0/8, 192.0.2.7, 2001:db8::/32)")
            })?);
        }
        Ok(TrustedProxies((!nets.is_empty()).then(|| nets.into())))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// Whether `ip` is one of the trusted proxies (an IPv4-mapped IPv6 address counts as its IPv4
    /// address, as a dual-stack socket reports IPv4 peers).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.as_deref().is_some_and(|nets| nets.iter().any(|n| n.contains(&ip)))
    }
}

impl fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nets = self.0.as_deref().unwrap_or_default();
        for (i, net) in nets.iter().enumerate() {
            write!(f, "{}{net}", if i > 0 { ", " } else { "" })?;
        }
        Ok(())
    }
}

/// A CIDR network, or a bare address as a network of one.
fn parse_net(entry: &str) -> Option<IpNet> {
    if entry.contains('/') {
        return entry.parse::<IpNet>().ok().map(|n| n.trunc());
    }
    let ip = entry.parse::<IpAddr>().ok()?;
    IpNet::new(ip, if ip.is_ipv4() { 32 } else { 128 }).ok()
}

/// The client address of a request from `peer`: the peer itself unless it is a trusted proxy;
/// then, from the first of `Forwarded`, `X-Forwarded-For` and `X-Real-IP` the request carries,
/// the rightmost address that is not a trusted proxy (the leftmost when all are).
pub fn client_addr(peer: IpAddr, trusted: &TrustedProxies, headers: &HeaderMap) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted.contains(peer) {
        return peer;
    }
    let values = |name: &str| headers.get_all(name).iter().map(|v| v.as_bytes()).collect::<Vec<_>>();
    from_headers(peer, trusted, &values("forwarded"), &values("x-forwarded-for"), &values("x-real-ip"))
}

/// [`client_addr`] for a trusted `peer`, given each header's values (one per header line, in the
/// order received).
pub fn from_headers(
    peer: IpAddr,
    trusted: &TrustedProxies,
    forwarded: &[&[u8]],
    x_forwarded_for: &[&[u8]],
    x_real_ip: &[&[u8]],
) -> IpAddr {
    if !forwarded.is_empty() {
        // Each line is read whole (a quoted value may hold a comma), the last line first.
        let hops = forwarded.iter().rev().flat_map(|line| match forwarded_hops(line) {
            Ok(hops) => hops.into_iter().rev().map(|hop| hop.map_or(Ok(Node::Unknown), |v| node(&v))).collect(),
            Err(Malformed) => vec![Err(Malformed)],
        });
        return walk(peer, trusted, hops);
    }
    if !x_forwarded_for.is_empty() {
        let hops = x_forwarded_for.iter().rev().flat_map(|line| match std::str::from_utf8(line) {
            Ok(line) => line.rsplit(',').map(str::trim).filter(|e| !e.is_empty()).map(node).collect::<Vec<_>>(),
            Err(_) => vec![Err(Malformed)],
        });
        return walk(peer, trusted, hops);
    }
    match x_real_ip {
        [value] => match std::str::from_utf8(value).map(str::trim) {
            Ok(value) => match node(value) {
                Ok(Node::Ip(ip)) => ip,
                Ok(Node::Unknown) | Err(Malformed) => peer,
            },
            Err(_) => peer,
        },
        // Absent, or more than one: nothing to go by.
        _ => peer,
    }
}

/// One hop of a forwarding list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    Ip(IpAddr),
    /// `unknown`, an obfuscated identifier (`_hidden`), or a `Forwarded` element without `for`:
    /// the hop exists but says nothing usable about who is behind it.
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Malformed;

/// Walks the hops from the right (the one the peer added) while they are trusted proxies. Only
/// the hops it reaches must be well-formed: what lies further left was written by someone who is
/// not trusted and is never looked at.
fn walk(peer: IpAddr, trusted: &TrustedProxies, hops: impl Iterator<Item = Result<Node, Malformed>>) -> IpAddr {
    let mut leftmost = None;
    for hop in hops {
        match hop {
            Ok(Node::Ip(ip)) if trusted.contains(ip) => leftmost = Some(ip),
            Ok(Node::Ip(ip)) => return ip,
            Ok(Node::Unknown) | Err(Malformed) => return peer,
        }
    }
    leftmost.unwrap_or(peer)
}

/// An address as forwarding headers write it: `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]`,
/// `[2001:db8::1]:4711`, a bare `2001:db8::1`, `unknown`, or an obfuscated `_name` (RFC 7239
/// §6); an obfuscated port (`:_p`) is accepted too. The port is dropped.
fn node(text: &str) -> Result<Node, Malformed> {
    if text.eq_ignore_ascii_case("unknown") {
        return Ok(Node::Unknown);
    }
    if let Some(name) = text.strip_prefix('_') {
        return if obfuscated(name) { Ok(Node::Unknown) } else { Err(Malformed) };
    }
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (inside, after) = rest.split_once(']').ok_or(Malformed)?;
        let ip = inside.parse::<Ipv6Addr>().map_err(|_| Malformed)?;
        (IpAddr::V6(ip), if after.is_empty() { None } else { Some(after.strip_prefix(':').ok_or(Malformed)?) })
    } else if let Ok(ip) = text.parse::<Ipv6Addr>() {
        (IpAddr::V6(ip), None)
    } else {
        let (host, port) = match text.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        };
        (IpAddr::V4(host.parse::<Ipv4Addr>().map_err(|_| Malformed)?), port)
    };
    match port {
        None => {}
        Some(p) if p.len() <= 5 && !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {}
        Some(p) if p.strip_prefix('_').is_some_and(obfuscated) => {}
        Some(_) => return Err(Malformed),
    }
    Ok(Node::Ip(host.to_canonical()))
}

/// RFC 7239's obfuscated node or port, after its leading `_`: letters, digits, `.`, `_`, `-`.
fn obfuscated(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// The `for` value of each element of one `Forwarded` line, left to right (RFC 7239 §4:
/// `for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8:cafe::17]:4711"`), unquoted but
/// not yet read as an address (only the hops the walk reaches are). Parameter names are
/// case-insensitive; values are tokens or quoted strings. An element without `for` is `None`;
/// empty elements are skipped (list syntax allows them). A token may also hold `:`, `[` and `]`,
/// which proxies in the wild write unquoted.
fn forwarded_hops(line: &[u8]) -> Result<Vec<Option<String>>, Malformed> {
    let line = std::str::from_utf8(line).map_err(|_| Malformed)?;
    let bytes = line.as_bytes();
    let mut hops = Vec::new();
    let (mut i, mut element_for, mut element_started) = (0, None::<String>, false);
    let skip_ows = |i: &mut usize| {
        while *i < bytes.len() && (bytes[*i] == b' ' || bytes[*i] == b'\t') {
            *i += 1;
        }
    };
    loop {
        skip_ows(&mut i);
        let Some(&b) = bytes.get(i) else { break };
        match b {
            b',' => {
                if element_started {
                    hops.push(element_for.take());
                }
                element_started = false;
                i += 1;
            }
            b';' => {
                element_started = true;
                i += 1;
            }
            _ => {
                element_started = true;
                let name_start = i;
                while i < bytes.len() && tchar(bytes[i]) {
                    i += 1;
                }
                let name = &line[name_start..i];
                if name.is_empty() || bytes.get(i) != Some(&b'=') {
                    return Err(Malformed);
                }
                i += 1;
                let value = if bytes.get(i) == Some(&b'"') {
                    quoted(line, &mut i)?
                } else {
                    let start = i;
                    while i < bytes.len() && (tchar(bytes[i]) || b":[]".contains(&bytes[i])) {
                        i += 1;
                    }
                    if start == i {
                        return Err(Malformed);
                    }
                    line[start..i].to_string()
                };
                if name.eq_ignore_ascii_case("for") {
                    // A parameter occurs at most once per element (RFC 7239 §4).
                    if element_for.is_some() {
                        return Err(Malformed);
                    }
                    element_for = Some(value);
                }
                skip_ows(&mut i);
                if !matches!(bytes.get(i), None | Some(b',' | b';')) {
                    return Err(Malformed);
                }
            }
        }
    }
    if element_started {
        hops.push(element_for);
    }
    Ok(hops)
}

/// A quoted string starting at `line[*i]` (`"`), with `\` escapes; `*i` ends after the closing
/// quote.
fn quoted(line: &str, i: &mut usize) -> Result<String, Malformed> {
    let mut out = String::new();
    let mut chars = line[*i + 1..].char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => {
                *i += 1 + at + 1;
                return Ok(out);
            }
            '\\' => out.push(chars.next().ok_or(Malformed)?.1),
            c => out.push(c),
        }
    }
    Err(Malformed)
}

/// RFC 7230's token characters.
fn tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn trusted(list: &str) -> TrustedProxies {
        TrustedProxies::parse(list).unwrap()
    }

    const PEER: &str = "10.0.0.1";
    const PROXIES: &str = "10.0.0.0/8, 2001:db8:ffff::/48";

    /// The client address for a request from `peer` with these header lines.
    fn resolve(peer: &str, proxies: &str, headers: &[(&'static str, &str)]) -> IpAddr {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        client_addr(ip(peer), &trusted(proxies), &map)
    }

    fn via_trusted_peer(headers: &[(&'static str, &str)]) -> IpAddr {
        resolve(PEER, PROXIES, headers)
    }

    #[test]
    fn trusted_proxy_lists() {
        let t = trusted(" 10.0.0.0/8 ,192.0.2.7,, 2001:db8::/32, ::1 ");
        assert_eq!(t.to_string(), "10.0.0.0/8, 192.0.2.7/32, 2001:db8::/32, ::1/128");
        for yes in ["10.1.2.3", "192.0.2.7", "2001:db8::5", "::1", "::ffff:10.9.9.9"] {
            assert!(t.contains(ip(yes)), "{yes}");
        }
        for no in ["11.0.0.1", "192.0.2.8", "2001:db9::1", "::2", "127.0.0.1"] {
            assert!(!t.contains(ip(no)), "{no}");
        }
        // Host bits in a CIDR are dropped: 10.1.2.3/8 is 10.0.0.0/8.
        assert_eq!(trusted("10.1.2.3/8").to_string(), "10.0.0.0/8");
        assert!(trusted("").is_empty() && trusted(" , ").is_empty());
        assert!(!trusted("127.0.0.1").contains(ip("127.0.0.2")));
        for bad in ["10.0.0.0/33", "::/129", "10.0.0", "example.com", "10.0.0.1/", "/8", "10.0.0.1:80", "fe80::1%eth0"]
        {
            let e = TrustedProxies::parse(bad).unwrap_err();
            assert!(e.contains(bad), "{bad}: {e}");
        }
    }

    #[test]
    fn untrusted_peers_headers_are_ignored() {
        let forged = [("forwarded", "for=6.6.6.6"), ("x-forwarded-for", "6.6.6.6"), ("x-real-ip", "6.6.6.6")];
        assert_eq!(resolve("192.0.2.1", PROXIES, &forged), ip("192.0.2.1"));
        // No trusted proxies at all (the default): even loopback is taken as the client.
        assert_eq!(resolve("127.0.0.1", "", &forged), ip("127.0.0.1"));
        // A dual-stack socket's IPv4-mapped peer is reported as its IPv4 address.
        assert_eq!(resolve("::ffff:192.0.2.1", "", &forged), ip("192.0.2.1"));
    }

    #[test]
    fn trusted_peer_without_headers_is_the_client() {
        assert_eq!(via_trusted_peer(&[]), ip(PEER));
        assert_eq!(via_trusted_peer(&[("x-forwarded-host", "example.com")]), ip(PEER));
    }

    #[test]
    fn x_forwarded_for_is_read_from_the_right() {
        assert_eq!(via_trusted_peer(&[("x-forwarded-for", "192.0.2.9")]), ip("192.0.2.9"));
        // The client prepended a forged address; the proxy appended the real one.
        assert_eq!(via_trusted_peer(&[("x-forwarded-for", "6.6.6.6, 192.0.2.9")]), ip("192.0.2.9"));
        // Two trusted proxies in a chain: skip them.
        assert_eq!(via_trusted_peer(&[("x-forwarded-for", "6.6.6.6, 192.0.2.9, 10.2.2.2, 10.3.3.3")]), ip("192.0.2.9"));
        // All trusted: the leftmost (the client is itself inside the trusted network).
        assert_eq!(via_trusted_peer(&[("x-forwarded-for", "10.5.5.5,10.2.2.2")]), ip("10.5.5.5"));
        // Several header lines form one list, in order.
        assert_eq!(
            via_trusted_peer(&[("x-forwarded-for", "6.6.6.6"), ("x-forwarded-for", "192.0.2.9, 10.2.2.2")]),
            ip("192.0.2.9")
        );
        assert_eq!(
            via_trusted_peer(&[("x-forwarded-for", "192.0.2.9, 10.2.2.2"), ("x-forwarded-for", "198.51.100.3")]),
            ip("198.51.100.3")
        );
        // Empty list elements are skipped; an empty header says nothing.
        assert_eq!(via_trusted_peer(&[("x-forwarded-for", " , 192.0.2.9 ,")]), ip("192.0.2.9"));
        assert_eq!(via_trusted_peer(&[("x-forwarded-for", "")]), ip(PEER));
    }

    #[test]
    fn x_forwarded_for_addresses_ports_and_ipv6() {
        for (value, want) in [
            ("192.0.2.9:4711", "192.0.2.9"),
            ("2001:db8::9", "2001:db8::9"),
            ("[2001:db8::9]", "2001:db8::9"),
            ("[2001:db8::9]:4711", "2001:db8::9"),
            ("::ffff:192.0.2.9", "192.0.2.9"),
            ("6.6.6.6, 2001:db8::9, 2001:db8:ffff::1", "2001:db8::9"),
        ] {
            assert_eq!(via_trusted_peer(&[("x-forwarded-for", value)]), ip(want), "{value}");
        }
    }

    #[test]
    fn malformed_or_unknown_hops_give_the_peer() {
        for value in [
            "not-an-address",
            "192.0.2.9, garbage",
            "192.0.2.9:port",
            "192.0.2.9:123456",
            "[2001:db8::9",
            "[2001:db8::9]4711",
            "[192.0.2.9]",
            "unknown",
            "192.0.2.9, unknown",
            "192.0.2.9, _hidden",
            "fe80::1%eth0",
            "192.0.2.9 10.2.2.2",
        ] {
            assert_eq!(via_trusted_peer(&[("x-forwarded-for", value)]), ip(PEER), "{value}");
        }
        // Garbage the client wrote left of the real hop is never read, so it cannot force the
        // fallback either.
        assert_eq!(via_trusted_peer(&[("x-forwarded-for", "garbage, unknown, 192.0.2.9")]), ip("192.0.2.9"));
        assert_eq!(via_trusted_peer(&[("x-forwarded-for", "]]]"), ("x-forwarded-for", "192.0.2.9")]), ip("192.0.2.9"));
    }

    #[test]
    fn forwarded_header() {
        for (value, want) in [
            ("for=192.0.2.60", "192.0.2.60"),
            ("For=192.0.2.60;proto=http;by=203.0.113.43", "192.0.2.60"),
            ("proto=https; for=192.0.2.60", "192.0.2.60"),
            ("for=\"192.0.2.60:4711\"", "192.0.2.60"),
            ("for=\"[2001:db8:cafe::17]\"", "2001:db8:cafe::17"),
            ("for=\"[2001:db8:cafe::17]:4711\"", "2001:db8:cafe::17"),
            ("for=\"[2001:db8:cafe::17]:_port\"", "2001:db8:cafe::17"),
            ("for=\"2001:db8:cafe::17\"", "2001:db8:cafe::17"),
            // Unquoted, as some proxies write it.
            ("for=[2001:db8:cafe::17]:4711", "2001:db8:cafe::17"),
            ("for=192.0.2.60:4711", "192.0.2.60"),
            ("for=\"\\192.0.2.60\"", "192.0.2.60"),
            // Read from the right: forged hops on the left, trusted proxies on the right.
            ("for=6.6.6.6, for=192.0.2.43", "192.0.2.43"),
            ("for=6.6.6.6, for=192.0.2.43, for=10.1.1.1;by=10.0.0.1", "192.0.2.43"),
            ("for=10.3.3.3, for=10.1.1.1", "10.3.3.3"),
            ("for=\"6.6.6.6, for=7.7.7.7\", for=192.0.2.43", "192.0.2.43"),
            (" , for=192.0.2.43 , ", "192.0.2.43"),
            ("for=\"[2001:db8:ffff::5]\", for=\"[2001:db8::5]\", for=10.1.1.1", "2001:db8::5"),
        ] {
            assert_eq!(via_trusted_peer(&[("forwarded", value)]), ip(want), "{value}");
        }
        // Several header lines form one list.
        assert_eq!(
            via_trusted_peer(&[("forwarded", "for=6.6.6.6"), ("forwarded", "for=192.0.2.43")]),
            ip("192.0.2.43")
        );
        // A malformed line left of the hops that matter is never reached.
        assert_eq!(
            via_trusted_peer(&[("forwarded", "for=\"broken"), ("forwarded", "for=192.0.2.43")]),
            ip("192.0.2.43")
        );
    }

    #[test]
    fn forwarded_obfuscated_unknown_and_malformed_give_the_peer() {
        for value in [
            "for=unknown",
            "for=_hidden",
            "for=\"_SEVKISEK\"",
            "for=192.0.2.43, for=unknown",
            "for=192.0.2.43, for=_hidden",
            "proto=https",
            "for=192.0.2.43, by=10.0.0.1",
            // Malformed.
            "for=",
            "for",
            "=192.0.2.43",
            "for=\"192.0.2.43",
            "for=192.0.2.43 x",
            "for=192.0.2.43;for=192.0.2.44",
            "for=_bad!name",
            "for=example.com",
            "for=\"[2001:db8::1\"",
            "for=\"[2001:db8::1]:\"",
            "for=\"192.0.2.43:99999999\"",
            "for=192.0.2.43, for=\"oops",
        ] {
            assert_eq!(via_trusted_peer(&[("forwarded", value)]), ip(PEER), "{value}");
        }
    }

    #[test]
    fn forwarded_wins_over_the_others_and_x_real_ip_comes_last() {
        let all = [("x-forwarded-for", "198.51.100.1"), ("forwarded", "for=192.0.2.43"), ("x-real-ip", "203.0.113.9")];
        assert_eq!(via_trusted_peer(&all), ip("192.0.2.43"));
        assert_eq!(via_trusted_peer(&all[..1]), ip("198.51.100.1"));
        assert_eq!(via_trusted_peer(&[all[0], all[2]]), ip("198.51.100.1"));
        assert_eq!(via_trusted_peer(&all[2..]), ip("203.0.113.9"));
        // A malformed header that wins is not skipped for the next one: the peer it is.
        assert_eq!(via_trusted_peer(&[("forwarded", "for=\"oops"), all[0]]), ip(PEER));
    }

    #[test]
    fn x_real_ip() {
        for (value, want) in [
            ("203.0.113.9", "203.0.113.9"),
            (" 203.0.113.9 ", "203.0.113.9"),
            ("203.0.113.9:80", "203.0.113.9"),
            ("2001:db8::9", "2001:db8::9"),
            ("[2001:db8::9]:80", "2001:db8::9"),
            // Even a trusted address: X-Real-IP is one value, set by the peer.
            ("10.7.7.7", "10.7.7.7"),
            ("unknown", PEER),
            ("203.0.113.9, 6.6.6.6", PEER),
            ("", PEER),
            ("nope", PEER),
        ] {
            assert_eq!(via_trusted_peer(&[("x-real-ip", value)]), ip(want), "{value:?}");
        }
        assert_eq!(via_trusted_peer(&[("x-real-ip", "203.0.113.9"), ("x-real-ip", "6.6.6.6")]), ip(PEER));
    }

    #[test]
    fn non_utf8_header_values_give_the_peer() {
        let t = trusted(PROXIES);
        let bad: &[u8] = b"for=192.0.2.43\xff";
        assert_eq!(from_headers(ip(PEER), &t, &[bad], &[], &[]), ip(PEER));
        assert_eq!(from_headers(ip(PEER), &t, &[], &[b"\xff"], &[]), ip(PEER));
        assert_eq!(from_headers(ip(PEER), &t, &[], &[], &[b"\xff"]), ip(PEER));
        assert_eq!(from_headers(ip(PEER), &t, &[], &[b"\xff", b"192.0.2.43"], &[]), ip("192.0.2.43"));
    }

    #[test]
    fn nodes() {
        assert_eq!(node("192.0.2.1"), Ok(Node::Ip(ip("192.0.2.1"))));
        assert_eq!(node("UNKNOWN"), Ok(Node::Unknown));
        assert_eq!(node("_x.y-z_1"), Ok(Node::Unknown));
        assert_eq!(node("_"), Err(Malformed));
        assert_eq!(node("192.0.2.1:"), Err(Malformed));
        assert_eq!(node("192.0.2.1:_"), Err(Malformed));
        assert_eq!(node("192.0.2.1:_p"), Ok(Node::Ip(ip("192.0.2.1"))));
        assert_eq!(node("1.2.3.4.5"), Err(Malformed));
        assert_eq!(node(""), Err(Malformed));
    }
}
