//! A DNS server for the tests, on a loopback UDP port: it answers A, AAAA, CNAME and SRV
//! queries from a zone the test changes while pound runs, follows CNAMEs as a recursive
//! server does (the chain, then the records), and can be told to fail a name (SERVFAIL,
//! NXDOMAIN) or to stay silent. It stops when dropped.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// One record of the zone.
#[derive(Debug, Clone)]
pub enum Rr {
    A(IpAddr),
    Cname(String),
    /// priority, weight, port, target.
    Srv(u16, u16, u16, String),
}

/// How the server treats a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Answer,
    ServFail,
    NxDomain,
    Silent,
    /// Answers A queries, stays silent for AAAA.
    SilentAaaa,
}

#[derive(Default)]
struct Zone {
    /// Records by lower-case name, with their TTL.
    records: HashMap<String, Vec<(Rr, u32)>>,
    modes: HashMap<String, Mode>,
}

pub struct DnsServer {
    pub addr: SocketAddr,
    zone: Arc<Mutex<Zone>>,
    stop: Arc<AtomicBool>,
    /// Queries answered (or ignored), for tests that wait for a refresh.
    pub queries: Arc<AtomicUsize>,
}

impl DnsServer {
    pub fn start() -> DnsServer {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind DNS");
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let zone = Arc::new(Mutex::new(Zone::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let queries = Arc::new(AtomicUsize::new(0));
        let (z, s, q) = (zone.clone(), stop.clone(), queries.clone());
        thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !s.load(Ordering::Relaxed) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                q.fetch_add(1, Ordering::Relaxed);
                let zone = z.lock().unwrap();
                if let Some(reply) = answer(&buf[..n], &zone) {
                    let _ = socket.send_to(&reply, from);
                }
            }
        });
        DnsServer {
            addr,
            zone,
            stop,
            queries,
        }
    }

    /// The `Resolver` section that points pound at this server (with pound-rs's
    /// `ADDRESS:PORT` extension).
    pub fn resolver(&self) -> String {
        format!(
            "Resolver\nDebug true\nConfigText\nnameserver {}\noptions timeout:1 attempts:1\nEnd\nEnd\n",
            self.addr
        )
    }

    /// Replaces the records of `name`.
    pub fn set(&self, name: &str, records: &[(Rr, u32)]) {
        self.zone
            .lock()
            .unwrap()
            .records
            .insert(name.to_ascii_lowercase(), records.to_vec());
    }

    pub fn mode(&self, name: &str, mode: Mode) {
        self.zone
            .lock()
            .unwrap()
            .modes
            .insert(name.to_ascii_lowercase(), mode);
    }

    pub fn query_count(&self) -> usize {
        self.queries.load(Ordering::Relaxed)
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// An A or AAAA record.
pub fn ip(text: &str) -> Rr {
    Rr::A(text.parse().expect("an address"))
}

const A: u16 = 1;
const CNAME: u16 = 5;
const AAAA: u16 = 28;
const SRV: u16 = 33;

/// The reply to one query, or nothing (a silent name, or not a query).
fn answer(query: &[u8], zone: &Zone) -> Option<Vec<u8>> {
    if query.len() < 12 {
        return None;
    }
    let (name, end) = read_name(query, 12)?;
    let qtype = u16::from_be_bytes([*query.get(end)?, *query.get(end + 1)?]);
    let question = query.get(12..end + 4)?;
    let key = name.to_ascii_lowercase();
    let mode = zone.modes.get(&key).copied().unwrap_or(Mode::Answer);
    if mode == Mode::Silent || (mode == Mode::SilentAaaa && qtype == AAAA) {
        return None;
    }
    let mut answers = Vec::new();
    let mut rcode = match mode {
        Mode::ServFail => 2,
        Mode::NxDomain => 3,
        _ => 0,
    };
    if rcode == 0 {
        let mut current = key;
        let mut found = false;
        for _ in 0..16 {
            let Some(records) = zone.records.get(&current) else {
                break;
            };
            found = true;
            let cname = records.iter().find_map(|(r, ttl)| match r {
                Rr::Cname(t) => Some((t.to_ascii_lowercase(), *ttl)),
                _ => None,
            });
            if let Some((target, ttl)) = cname {
                answers.push(record(&current, CNAME, ttl, &encode_name(&target)));
                current = target;
                continue;
            }
            for (r, ttl) in records {
                match (r, qtype) {
                    (Rr::A(IpAddr::V4(a)), A) => {
                        answers.push(record(&current, A, *ttl, &a.octets()))
                    }
                    (Rr::A(IpAddr::V6(a)), AAAA) => {
                        answers.push(record(&current, AAAA, *ttl, &a.octets()))
                    }
                    (Rr::Srv(p, w, port, target), SRV) => {
                        let mut data = Vec::new();
                        data.extend_from_slice(&p.to_be_bytes());
                        data.extend_from_slice(&w.to_be_bytes());
                        data.extend_from_slice(&port.to_be_bytes());
                        data.extend_from_slice(&encode_name(target));
                        answers.push(record(&current, SRV, *ttl, &data));
                    }
                    _ => {}
                }
            }
            break;
        }
        if !found {
            rcode = 3;
        }
    }
    let mut out = Vec::new();
    out.extend_from_slice(&query[0..2]);
    // QR, AA, RD as asked, RA.
    let rd = query[2] & 1;
    out.push(0x84 | rd);
    out.push(0x80 | rcode);
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&(answers.len() as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(question);
    for a in answers {
        out.extend_from_slice(&a);
    }
    Some(out)
}

fn record(name: &str, kind: u16, ttl: u32, data: &[u8]) -> Vec<u8> {
    let mut r = encode_name(name);
    r.extend_from_slice(&kind.to_be_bytes());
    r.extend_from_slice(&1u16.to_be_bytes());
    r.extend_from_slice(&ttl.to_be_bytes());
    r.extend_from_slice(&(data.len() as u16).to_be_bytes());
    r.extend_from_slice(data);
    r
}

fn encode_name(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out
}

/// A name without compression (queries have none) and the offset after it.
fn read_name(msg: &[u8], mut at: usize) -> Option<(String, usize)> {
    let mut labels = Vec::new();
    loop {
        let len = *msg.get(at)? as usize;
        at += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None;
        }
        labels.push(String::from_utf8_lossy(msg.get(at..at + len)?).into_owned());
        at += len;
    }
    Some((labels.join("."), at))
}
