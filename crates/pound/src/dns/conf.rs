//! The resolver's configuration in resolv.conf syntax (`Resolver` `ConfigFile` or
//! `ConfigText`, or /etc/resolv.conf): `nameserver` lines, and the `options` that change
//! how queries are made (`timeout:N`, `attempts:N`). `search`, `domain`, `sortlist` and the
//! other options are accepted and have no effect: dynamic backends name hosts absolutely.
//!
//! Extension: `nameserver ADDRESS:PORT` (`[ADDRESS]:PORT` for IPv6) asks a server on
//! another port than 53; pound's resolver refuses it. Tests use it to reach their own DNS
//! server on loopback.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// What a resolv.conf says, for the lookups of dynamic backends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvConf {
    pub nameservers: Vec<SocketAddr>,
    /// How long one try waits for an answer.
    pub timeout: Duration,
    /// How many tries a query gets.
    pub attempts: usize,
}

/// The port of DNS.
const DNS_PORT: u16 = 53;

/// resolv.conf's defaults: wait 5 s, try twice.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_ATTEMPTS: usize = 2;

/// resolv.conf's limits on `timeout` and `attempts`.
const MAX_TIMEOUT: u64 = 30;
const MAX_ATTEMPTS: usize = 5;

impl ResolvConf {
    /// Reads `text`; the error is the message for a line that cannot be used, as pound's
    /// resolver words it (`FILE:LINE: invalid nameserver address `X'`). No nameserver means
    /// the local one, 127.0.0.1.
    pub fn parse(text: &str, origin: &str) -> Result<ResolvConf, String> {
        let mut conf = ResolvConf {
            nameservers: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            attempts: DEFAULT_ATTEMPTS,
        };
        for (n, line) in text.lines().enumerate() {
            let line = line.split(['#', ';']).next().unwrap_or("");
            let mut words = line.split_whitespace();
            match words.next() {
                Some("nameserver") => {
                    let Some(addr) = words.next() else { continue };
                    let ns = nameserver(addr).ok_or_else(|| {
                        format!("{origin}:{}: invalid nameserver address `{addr}'", n + 1)
                    })?;
                    conf.nameservers.push(ns);
                }
                Some("options") => {
                    for option in words {
                        if let Some(v) = option.strip_prefix("timeout:") {
                            if let Ok(secs) = v.parse::<u64>() {
                                conf.timeout = Duration::from_secs(secs.clamp(1, MAX_TIMEOUT));
                            }
                        } else if let Some(v) = option.strip_prefix("attempts:") {
                            if let Ok(n) = v.parse::<usize>() {
                                conf.attempts = n.clamp(1, MAX_ATTEMPTS);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        if conf.nameservers.is_empty() {
            conf.nameservers
                .push(SocketAddr::new(IpAddr::from([127, 0, 0, 1]), DNS_PORT));
        }
        Ok(conf)
    }
}

/// `ADDRESS`, `ADDRESS:PORT` or `[ADDRESS]:PORT`.
fn nameserver(text: &str) -> Option<SocketAddr> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, DNS_PORT));
    }
    text.parse::<SocketAddr>().ok().filter(|a| a.port() != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nameservers_and_options() {
        let c = ResolvConf::parse(
            "# local\nsearch example.org\nnameserver 192.0.2.1\nnameserver ::1 # v6\n\
             nameserver 127.0.0.1:5353\nnameserver [::1]:5300\noptions ndots:1 timeout:2 \
             attempts:9 rotate\nsortlist 130.155.160.0/255.255.240.0\n",
            "t",
        );
        let c = c.unwrap_or_else(|e| panic!("{e}"));
        let addrs: Vec<String> = c.nameservers.iter().map(|a| a.to_string()).collect();
        assert_eq!(
            addrs,
            ["192.0.2.1:53", "[::1]:53", "127.0.0.1:5353", "[::1]:5300"]
        );
        assert_eq!((c.timeout, c.attempts), (Duration::from_secs(2), 5));
    }

    #[test]
    fn defaults_and_errors() {
        let c = ResolvConf::parse("domain x\n", "t").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.nameservers[0].to_string(), "127.0.0.1:53");
        assert_eq!((c.timeout, c.attempts), (DEFAULT_TIMEOUT, DEFAULT_ATTEMPTS));
        assert_eq!(
            ResolvConf::parse("\nnameserver notanip\n", "<text>"),
            Err("<text>:2: invalid nameserver address `notanip'".into())
        );
        assert!(ResolvConf::parse("nameserver 127.0.0.1:0\n", "t").is_err());
    }
}
