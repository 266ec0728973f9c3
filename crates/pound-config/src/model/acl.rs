//! Access control lists: sets of CIDR blocks (pound.8, `ACL`, `TrustedIP`).

use std::fmt;
use std::net::IpAddr;

use super::Live;
use crate::diag::Span;

/// An ACL, named (global `ACL "name"`) or written in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    pub span: Span,
    pub name: Option<String>,
    /// Replaced when the ACL's `-filewatch` file changes.
    pub entries: Live<Vec<Cidr>>,
}

impl Acl {
    /// Whether `addr` falls in any entry. An IPv4-mapped IPv6 client address matches IPv4
    /// entries, since a dual-stack listener reports IPv4 clients that way.
    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = match addr {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(addr),
            v4 => v4,
        };
        self.entries.load().iter().any(|c| c.contains(addr))
    }
}

impl CidrError {
    /// pound's words (its look-up is getaddrinfo(3)).
    pub fn message(&self) -> &'static str {
        match self {
            CidrError::InvalidAddress => "invalid IP address: Name or service not known",
            CidrError::InvalidNetmask => "invalid netmask",
        }
    }
}

/// The CIDRs of an ACL file (`ACL -file`, `TrustedIP -file`): one per line, quoted or not,
/// with blanks around it; empty lines and `#` comment lines are skipped. Bad lines are
/// left out and reported: their numbers and pound's messages.
pub fn parse_acl_file(text: &str) -> (Vec<Cidr>, Vec<(usize, &'static str)>) {
    let mut cidrs = Vec::new();
    let mut errors = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let unquoted = line
            .strip_prefix('"')
            .and_then(|l| l.strip_suffix('"'))
            .unwrap_or(line);
        match Cidr::parse_lenient(unquoted) {
            Ok((cidr, _)) => cidrs.push(cidr),
            Err(e) => errors.push((n + 1, e.message())),
        }
    }
    (cidrs, errors)
}

/// One network: an address and a prefix length. The address is stored already masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

/// A netmask pound accepts although it is out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OddMask {
    /// Longer than the address: the whole address is used.
    TooLong,
    /// Negative: `BITS mod 8` bits are used.
    Negative,
}

/// Why a CIDR string was rejected; the texts are pound's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CidrError {
    InvalidAddress,
    InvalidNetmask,
}

impl Cidr {
    /// Parses `ADDR` or `ADDR/BITS`. Host bits set under the mask (as in `"127.0.0.1/8"`,
    /// the manual's own example) are cleared rather than rejected.
    ///
    /// `BITS` is read as pound reads it (`strtoul`): an optional sign, then digits; nothing
    /// at all is 0. A mask longer than the address (up to 255) is the whole address, as
    /// pound 4.23 ends up using it; a negative one covers `BITS mod 8` bits, as pound 4.23
    /// does. The second value tells those two odd cases apart (for a warning).
    pub fn parse_lenient(text: &str) -> Result<(Cidr, Option<OddMask>), CidrError> {
        let (addr, bits) = match text.split_once('/') {
            Some((a, b)) => (a, Some(b)),
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| CidrError::InvalidAddress)?;
        let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
        let (prefix, odd) = match bits {
            None => (max, None),
            Some(b) => {
                let (negative, digits) = match b.as_bytes().first() {
                    Some(b'-') => (true, &b[1..]),
                    Some(b'+') => (false, &b[1..]),
                    _ => (false, b),
                };
                let signed = digits.len() < b.len();
                if !digits.bytes().all(|c| c.is_ascii_digit()) || (signed && digits.is_empty()) {
                    return Err(CidrError::InvalidNetmask);
                }
                let n: u64 = if digits.is_empty() {
                    0
                } else {
                    digits.parse().map_err(|_| CidrError::InvalidNetmask)?
                };
                if negative && n != 0 {
                    let p = (n.wrapping_neg() % 8) as u8;
                    (p, Some(OddMask::Negative))
                } else if n <= u64::from(max) {
                    (n as u8, None)
                } else if n <= 255 {
                    (max, Some(OddMask::TooLong))
                } else {
                    return Err(CidrError::InvalidNetmask);
                }
            }
        };
        Ok((
            Cidr {
                addr: mask(addr, prefix),
                prefix,
            },
            odd,
        ))
    }

    /// Parses `ADDR` or `ADDR/BITS` with `0 <= BITS <=` the address length.
    pub fn parse(text: &str) -> Result<Cidr, CidrError> {
        match Cidr::parse_lenient(text)? {
            (c, None) => Ok(c),
            (_, Some(_)) => Err(CidrError::InvalidNetmask),
        }
    }

    /// Whether `addr` is in the network. An IPv6 network holds the IPv4 addresses whose
    /// mapped form it holds (`::ffff:10.0.0.0/104`), as in pound 4.22 (the caller maps
    /// clients to IPv4).
    pub fn contains(&self, addr: IpAddr) -> bool {
        if addr.is_ipv4() == self.addr.is_ipv4() {
            return mask(addr, self.prefix) == self.addr;
        }
        match addr {
            IpAddr::V4(v4) => mask(IpAddr::V6(v4.to_ipv6_mapped()), self.prefix) == self.addr,
            IpAddr::V6(_) => false,
        }
    }
}

fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((u32::from(a) & m).into())
        }
        IpAddr::V6(a) => {
            let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((u128::from(a) & m).into())
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_match() {
        let c = Cidr::parse("127.0.0.1/8").unwrap();
        assert_eq!(c.to_string(), "127.0.0.0/8");
        assert!(c.contains("127.255.0.1".parse().unwrap()));
        assert!(!c.contains("128.0.0.1".parse().unwrap()));
        assert!(!c.contains("::1".parse().unwrap()));

        let c = Cidr::parse("2001:db8::/32").unwrap();
        assert!(c.contains("2001:db8:1::5".parse().unwrap()));
        assert_eq!(Cidr::parse("10.0.0.1").unwrap().prefix, 32);
        assert_eq!(Cidr::parse("0.0.0.0/0").unwrap().prefix, 0);
        assert!(Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("1.2.3.4".parse().unwrap()));
    }

    #[test]
    fn rejects() {
        assert_eq!(Cidr::parse("10.0.0/8"), Err(CidrError::InvalidAddress));
        assert_eq!(Cidr::parse("10.0.0.0/33"), Err(CidrError::InvalidNetmask));
        // pound reads an empty mask as 0.
        assert_eq!(Cidr::parse("10.0.0.0/").map(|c| c.prefix), Ok(0));
        assert_eq!(Cidr::parse("10.0.0.0/-1"), Err(CidrError::InvalidNetmask));
        assert_eq!(Cidr::parse("10.0.0.0/5x"), Err(CidrError::InvalidNetmask));
        assert_eq!(
            Cidr::parse_lenient("10.0.0.0/256"),
            Err(CidrError::InvalidNetmask)
        );
        assert_eq!(
            Cidr::parse_lenient("10.0.0.0/-"),
            Err(CidrError::InvalidNetmask)
        );
    }

    #[test]
    fn pounds_odd_masks() {
        let p = |t: &str| Cidr::parse_lenient(t).map(|(c, o)| (c.to_string(), o));
        assert_eq!(p("127.0.0.1/"), Ok(("0.0.0.0/0".into(), None)));
        assert_eq!(p("127.0.0.1/+8"), Ok(("127.0.0.0/8".into(), None)));
        assert_eq!(p("127.0.0.1/-0"), Ok(("0.0.0.0/0".into(), None)));
        assert_eq!(
            p("127.0.0.1/33"),
            Ok(("127.0.0.1/32".into(), Some(OddMask::TooLong)))
        );
        assert_eq!(p("::1/129"), Ok(("::1/128".into(), Some(OddMask::TooLong))));
        assert_eq!(
            p("127.0.0.1/-1"),
            Ok(("126.0.0.0/7".into(), Some(OddMask::Negative)))
        );
        assert_eq!(
            p("127.0.0.1/-31"),
            Ok(("0.0.0.0/1".into(), Some(OddMask::Negative)))
        );
    }

    #[test]
    fn acl_files() {
        let (cidrs, errors) =
            parse_acl_file("# trusted\n\n  10.0.0.0/8  \n\"192.0.2.1\"\n::1\n10.1.0.0/33\n");
        assert_eq!((cidrs.len(), errors), (4, vec![]));
        const BAD: &str = "invalid IP address: Name or service not known";
        assert_eq!(parse_acl_file("10.0.0.1 10.0.0.2\n").1, [(1, BAD)]);
        let (cidrs, errors) = parse_acl_file("foo\n10.0.0.1 # office\n10.0.0.2\nbar\n");
        assert_eq!(cidrs.len(), 1);
        assert_eq!(errors, [(1, BAD), (2, BAD), (4, BAD)]);
        assert_eq!(parse_acl_file("10.0.0.0/x\n").1, [(1, "invalid netmask")]);
    }

    #[test]
    fn mapped_addresses_match_v4_entries() {
        let acl = Acl {
            span: Span {
                file: "x".into(),
                start: Default::default(),
                end: Default::default(),
            },
            name: None,
            entries: Live::new(vec![Cidr::parse("192.0.2.0/24").unwrap()]),
        };
        assert!(acl.contains("::ffff:192.0.2.7".parse().unwrap()));
        // An IPv4-mapped entry holds the IPv4 addresses it maps, as pound 4.22's does.
        let acl = Acl {
            entries: Live::new(vec![
                Cidr::parse("::ffff:127.0.0.1/128").unwrap(),
                Cidr::parse("::ffff:10.0.0.0/104").unwrap(),
            ]),
            ..acl
        };
        assert!(acl.contains("127.0.0.1".parse().unwrap()));
        assert!(acl.contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(acl.contains("10.9.8.7".parse().unwrap()));
        assert!(!acl.contains("127.0.0.2".parse().unwrap()));
        assert!(!acl.contains("11.0.0.1".parse().unwrap()));
        assert!(Cidr::parse("::/64")
            .unwrap()
            .contains("127.0.0.1".parse().unwrap()));
        assert!(!Cidr::parse("2001:db8::/32")
            .unwrap()
            .contains("127.0.0.1".parse().unwrap()));
    }
}
