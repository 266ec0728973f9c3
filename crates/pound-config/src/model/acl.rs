//! Access control lists: sets of CIDR blocks (pound.8, `ACL`, `TrustedIP`).

use std::fmt;
use std::net::IpAddr;

use crate::diag::Span;

/// An ACL, named (global `ACL "name"`) or written in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    pub span: Span,
    pub name: Option<String>,
    pub entries: Vec<Cidr>,
}

impl Acl {
    /// Whether `addr` falls in any entry. An IPv4-mapped IPv6 client address matches IPv4
    /// entries, since a dual-stack listener reports IPv4 clients that way.
    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = match addr {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(addr),
            v4 => v4,
        };
        self.entries.iter().any(|c| c.contains(addr))
    }
}

/// One network: an address and a prefix length. The address is stored already masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
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
    pub fn parse(text: &str) -> Result<Cidr, CidrError> {
        let (addr, bits) = match text.split_once('/') {
            Some((a, b)) => (a, Some(b)),
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| CidrError::InvalidAddress)?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match bits {
            None => max,
            Some(b) if !b.is_empty() && b.bytes().all(|c| c.is_ascii_digit()) => b
                .parse::<u8>()
                .ok()
                .filter(|&p| p <= max)
                .ok_or(CidrError::InvalidNetmask)?,
            Some(_) => return Err(CidrError::InvalidNetmask),
        };
        Ok(Cidr {
            addr: mask(addr, prefix),
            prefix,
        })
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        addr.is_ipv4() == self.addr.is_ipv4() && mask(addr, self.prefix) == self.addr
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
        assert_eq!(Cidr::parse("10.0.0.0/"), Err(CidrError::InvalidNetmask));
        assert_eq!(Cidr::parse("10.0.0.0/-1"), Err(CidrError::InvalidNetmask));
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
            entries: vec![Cidr::parse("192.0.2.0/24").unwrap()],
        };
        assert!(acl.contains("::ffff:192.0.2.7".parse().unwrap()));
    }
}
