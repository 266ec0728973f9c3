//! The lookups of dynamic backends (`pound::dns`) against the test DNS server: addresses by
//! family with the smallest TTL, SRV records, CNAME chains against `CNAMEChain`, and how
//! failures are told apart (nothing there, or no answer at all).

mod common;

use std::time::Duration;

use common::dns::{ip, DnsServer, Mode, Rr};
use pound::dns::{Dns, Failure, ResolvConf};
use pound_config::model::dns::Family;

fn dns(server: &DnsServer, cname_chain: u32) -> Dns {
    let conf = ResolvConf::parse(
        &format!("nameserver {}\noptions timeout:1 attempts:1\n", server.addr),
        "test",
    )
    .unwrap();
    Dns::with(&conf, cname_chain)
}

fn addrs(a: &pound::dns::Addresses) -> Vec<String> {
    a.addrs.iter().map(|a| a.to_string()).collect()
}

#[tokio::test]
async fn addresses_by_family_with_the_smallest_ttl() {
    let server = DnsServer::start();
    server.set(
        "multi.test",
        &[
            (ip("127.0.21.1"), 30),
            (ip("127.0.21.2"), 4),
            (ip("::1"), 20),
        ],
    );
    let d = dns(&server, 0);
    let any = d.addresses("multi.test", Family::Any).await.unwrap();
    assert_eq!(addrs(&any), ["127.0.21.1", "127.0.21.2", "::1"]);
    assert_eq!(any.ttl, Duration::from_secs(4));
    let v4 = d.addresses("multi.test", Family::Inet).await.unwrap();
    assert_eq!(addrs(&v4), ["127.0.21.1", "127.0.21.2"]);
    let v6 = d.addresses("multi.test", Family::Inet6).await.unwrap();
    assert_eq!(
        (addrs(&v6), v6.ttl),
        (vec!["::1".to_string()], Duration::from_secs(20))
    );
    // The zone changes: the next lookup asks again (no cache).
    server.set("multi.test", &[(ip("127.0.21.3"), 60)]);
    let again = d.addresses("multi.test", Family::Inet).await.unwrap();
    assert_eq!(addrs(&again), ["127.0.21.3"]);
}

#[tokio::test]
async fn srv_records() {
    let server = DnsServer::start();
    server.set(
        "_a._tcp.test",
        &[
            (Rr::Srv(10, 40, 21001, "t1.test".into()), 60),
            (Rr::Srv(20, 10, 21002, "t2.test.".into()), 30),
        ],
    );
    let s = dns(&server, 0).services("_a._tcp.test").await.unwrap();
    let got: Vec<(u16, u16, u16, &str)> = s
        .records
        .iter()
        .map(|r| (r.priority, r.weight, r.port, r.target.as_str()))
        .collect();
    assert_eq!(
        got,
        [(10, 40, 21001, "t1.test"), (20, 10, 21002, "t2.test")]
    );
    assert_eq!(s.ttl, Duration::from_secs(30));
}

#[tokio::test]
async fn cname_chains_against_the_limit() {
    // A name with k CNAMEs resolves when k <= max(1, CNAMEChain), as in pound 4.23.
    let server = DnsServer::start();
    server.set("final.test", &[(ip("127.0.21.9"), 60)]);
    server.set("c0.test", &[(Rr::Cname("final.test".into()), 60)]);
    server.set("c1.test", &[(Rr::Cname("c0.test".into()), 60)]);
    server.set("c2.test", &[(Rr::Cname("c1.test".into()), 60)]);
    for (limit, name, ok) in [
        (0, "c0.test", true),
        (0, "c1.test", false),
        (1, "c1.test", false),
        (2, "c1.test", true),
        (2, "c2.test", false),
        (3, "c2.test", true),
    ] {
        let r = dns(&server, limit).addresses(name, Family::Inet).await;
        match (ok, r) {
            (true, Ok(a)) => assert_eq!(addrs(&a), ["127.0.21.9"], "{limit} {name}"),
            (false, Err(Failure::Nothing)) => {}
            (_, other) => panic!("CNAMEChain {limit}, {name}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn failures_are_told_apart() {
    let server = DnsServer::start();
    let d = dns(&server, 0);
    // Not there at all, or no records of the type: nothing.
    assert_eq!(
        d.addresses("missing.test", Family::Any).await,
        Err(Failure::Nothing)
    );
    // A server that fails: an error, which keeps the last set.
    server.set("broken.test", &[(ip("127.0.21.1"), 60)]);
    server.mode("broken.test", Mode::ServFail);
    assert_eq!(
        d.addresses("broken.test", Family::Inet).await,
        Err(Failure::Error(
            "Querying for A records of broken.test: server failure".into()
        ))
    );
    server.mode("broken.test", Mode::NxDomain);
    assert_eq!(d.services("broken.test").await, Err(Failure::Nothing));
    server.set("v4only.test", &[(ip("127.0.21.1"), 60)]);
    assert_eq!(
        d.addresses("v4only.test", Family::Inet6).await,
        Err(Failure::Nothing)
    );
    // One family without an answer: the answer is incomplete, so a time-out too (the
    // other family's backends must not go with it).
    server.set("half.test", &[(ip("127.0.21.1"), 60), (ip("::1"), 60)]);
    server.mode("half.test", Mode::SilentAaaa);
    assert_eq!(
        d.addresses("half.test", Family::Any).await,
        Err(Failure::Timeout(
            "Querying for AAAA records of half.test: DNS query timed out".into()
        ))
    );
    assert!(d.addresses("half.test", Family::Inet).await.is_ok());
    // No answer: a time-out, with pound's words, so that the last good set stays.
    server.mode("quiet.test", Mode::Silent);
    assert_eq!(
        d.addresses("quiet.test", Family::Inet).await,
        Err(Failure::Timeout(
            "Querying for A records of quiet.test: DNS query timed out".into()
        ))
    );
}
