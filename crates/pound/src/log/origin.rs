//! `%a`, the originator of a request (pound.8, REQUEST LOGGING), and `Anonymise`.
//!
//! Behind trusted proxies the client's own address is not the originator: each proxy
//! appends the address it received the request from to the forwarded header. The chain is
//! read from the right, starting with the connection's own peer, and the first address that
//! is not a trusted proxy is the originator. Starting with the peer matters: an untrusted
//! client's forwarded header is its own claim and must not be believed.

use std::net::IpAddr;

use pound_config::model::Acl;

use crate::http::head::Head;

/// The originator address, or `None` when it is the peer itself: no chain is trusted, the
/// peer is not a trusted proxy, or the chain ends (or breaks) before an untrusted address.
pub fn originator(
    peer: Option<IpAddr>,
    head: &Head,
    header: &str,
    trusted: &Acl,
) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(peer) {
        return None;
    }
    // Later fields were appended later: read them last to first, each right to left.
    let fields: Vec<usize> = head.find(header).collect();
    for &i in fields.iter().rev() {
        for entry in head.value(i).rsplit(|&b| b == b',') {
            let ip = parse(entry)?;
            if !trusted.contains(ip) {
                return Some(ip);
            }
        }
    }
    None
}

/// One list entry: an address with optional spaces around it; IPv6 may be bracketed.
fn parse(entry: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(entry).ok()?.trim_matches([' ', '\t']);
    let text = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    text.parse().ok()
}

/// `Anonymise`: the address with its last part set to 0, as pound writes it (`192.0.2.0`,
/// `2001:db8::0`).
/// Text that is not an address (a UNIX-socket client) is left as it is.
pub fn anonymise(text: &str) -> String {
    match text.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => {
            let mut o = v4.octets();
            o[3] = 0;
            IpAddr::from(o).to_string()
        }
        // As pound writes it: the last group of the usual text form is `0`
        // (`2001:db8::12ff` → `2001:db8::0`, `::1` → `::0`).
        Ok(IpAddr::V6(v6)) => {
            let full = v6.to_string();
            let cut = full.rfind(':').map_or(0, |i| i + 1);
            format!("{}0", &full[..cut])
        }
        Err(_) => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pound_config::model::Cidr;

    fn acl(cidrs: &[&str]) -> Acl {
        Acl {
            span: pound_config::Span {
                file: "t".into(),
                start: Default::default(),
                end: Default::default(),
            },
            name: None,
            entries: pound_config::model::Live::new(
                cidrs.iter().map(|c| Cidr::parse(c).unwrap()).collect(),
            ),
        }
    }

    fn head(fields: &[(&str, &str)]) -> Head {
        let mut h = Head::default();
        for (n, v) in fields {
            h.push(n, v.as_bytes());
        }
        h
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn walks_right_to_left_to_the_first_untrusted_address() {
        let t = acl(&["10.0.0.0/8", "127.0.0.1/32"]);
        let h = head(&[(
            "X-Forwarded-For",
            "203.0.113.9, 198.51.100.7,10.1.1.1 , 10.2.2.2",
        )]);
        let got = originator(ip("127.0.0.1"), &h, "x-forwarded-for", &t);
        assert_eq!(got, ip("198.51.100.7"));
    }

    #[test]
    fn an_untrusted_peer_is_the_originator_whatever_it_claims() {
        let t = acl(&["10.0.0.0/8"]);
        let h = head(&[("X-Forwarded-For", "203.0.113.9")]);
        assert_eq!(originator(ip("192.0.2.1"), &h, "X-Forwarded-For", &t), None);
    }

    #[test]
    fn a_chain_of_trusted_addresses_or_garbage_gives_the_peer() {
        let t = acl(&["10.0.0.0/8"]);
        let all = head(&[("X-Forwarded-For", "10.0.0.1, 10.0.0.2")]);
        assert_eq!(
            originator(ip("10.9.9.9"), &all, "X-Forwarded-For", &t),
            None
        );
        let bad = head(&[("X-Forwarded-For", "203.0.113.9, unknown, 10.0.0.2")]);
        assert_eq!(
            originator(ip("10.9.9.9"), &bad, "X-Forwarded-For", &t),
            None
        );
        let none = head(&[]);
        assert_eq!(
            originator(ip("10.9.9.9"), &none, "X-Forwarded-For", &t),
            None
        );
        assert_eq!(originator(None, &all, "X-Forwarded-For", &t), None);
    }

    #[test]
    fn later_fields_come_first_and_the_header_name_is_configurable() {
        let t = acl(&["10.0.0.0/8", "::1/128"]);
        let h = head(&[
            ("X-Real-Chain", "198.51.100.1"),
            ("X-Forwarded-For", "203.0.113.50"),
            ("X-Real-Chain", "[2001:db8::7], 10.0.0.3"),
        ]);
        assert_eq!(
            originator(ip("::1"), &h, "X-Real-Chain", &t),
            ip("2001:db8::7")
        );
    }

    #[test]
    fn anonymise_clears_the_last_byte() {
        // pound 4.23's output for the same addresses.
        assert_eq!(anonymise("192.0.2.77"), "192.0.2.0");
        assert_eq!(anonymise("2001:db8::12ff"), "2001:db8::0");
        assert_eq!(anonymise("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2:3:4:5:0");
        assert_eq!(anonymise("2001:db8::"), "2001:db8::0");
        assert_eq!(anonymise("::1"), "::0");
        assert_eq!(anonymise("socket"), "socket");
    }
}
