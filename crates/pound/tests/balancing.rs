//! Load balancing, sessions, fail-over and HTTPS backends end to end, through the real
//! `pound` binary and real backends on loopback.

mod common;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::Arc;

use common::net::*;
use common::tls::{Ca, TlsBackend};

/// Sends `n` requests for `path` with `extra` header lines on one keep-alive connection and
/// returns the body of each answer (the name of the backend that served it).
fn bodies(pound: &Pound, n: usize, path: &str, extra: &str) -> Vec<String> {
    let mut c = pound.connect();
    (0..n)
        .map(|_| {
            c.send(format!("GET {path} HTTP/1.1\r\nHost: test\r\n{extra}\r\n"));
            let r = c.response();
            assert_eq!(r.status, 200, "{}", r.head);
            r.text()
        })
        .collect()
}

fn tally(names: &[String]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for n in names {
        *m.entry(n.clone()).or_insert(0) += 1;
    }
    m
}

fn backend_with(b: &Backend, extra: &str) -> String {
    format!("Backend\n{}{extra}End\n", b.config())
}

/// A port with nothing listening on it.
fn closed_port() -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

#[test]
fn iwrr_gives_exact_interleaved_shares() {
    let (a, b, c) = (
        Backend::named("a"),
        Backend::named("b"),
        Backend::named("c"),
    );
    // The global Balancer applies to services without their own; this service has one.
    let config = format!(
        "Balancer iwrr\nListenHTTP\nLISTEN\nEnd\nService\nURL \"^/random\"\nBalancer random\n{}{}End\nService\n{}{}{}End\n",
        backend_with(&a, ""),
        backend_with(&b, ""),
        backend_with(&a, "Priority 5\n"),
        backend_with(&b, "Priority 7\n"),
        backend_with(&c, "Priority 8\n"),
    );
    let pound = Pound::start(&config);
    let seq = bodies(&pound, 20 * 10, "/", "");
    // Every cycle of S(P) = 20 requests holds exactly Pi of each, interleaved, as in
    // pound 4.23.
    for cycle in seq.chunks(20) {
        let t = tally(cycle);
        assert_eq!((t["a"], t["b"], t["c"]), (5, 7, 8), "{cycle:?}");
    }
    assert_eq!(
        seq[..20].concat(),
        "abcabcabcabcabcbcbcc",
        "the first cycle, round by round (pound 4.23's order)"
    );
    // The random service is not round robin: over 200 requests some runs repeat a backend.
    let random = bodies(&pound, 200, "/random", "");
    assert!(random.windows(2).any(|w| w[0] == w[1]));
}

#[test]
fn iwrr_ten_equal_backends_get_exactly_a_tenth() {
    let names = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    let backends: Vec<Backend> = names.iter().map(|n| Backend::named(n)).collect();
    let refs: Vec<&Backend> = backends.iter().collect();
    let config = format!("Balancer iwrr\nListenHTTP\nLISTEN\nEnd\n{}", service(&refs));
    let pound = Pound::start(&config);
    let t = tally(&bodies(&pound, 1000, "/", ""));
    assert_eq!(t.len(), 10);
    assert!(t.values().all(|&n| n == 100), "{t:?}");
}

#[test]
fn weighted_random_follows_priorities() {
    let (low, high) = (Backend::named("low"), Backend::named("high"));
    let config = format!(
        "ListenHTTP\nLISTEN\nEnd\nService\n{}{}End\n",
        backend_with(&low, "Priority 1\n"),
        backend_with(&high, "Priority 9\n"),
    );
    let pound = Pound::start(&config);
    let t = tally(&bodies(&pound, 1000, "/", ""));
    // Expected 100 ± 9.5 (one standard deviation); the bound is over six.
    let low_share = t.get("low").copied().unwrap_or(0);
    assert!((45..=155).contains(&low_share), "{t:?}");
}

#[test]
fn disabled_backends_and_per_service_overrides() {
    let (shared, own, off) = (
        Backend::named("shared"),
        Backend::named("own"),
        Backend::named("off"),
    );
    let config = format!(
        "Balancer iwrr\n\
         Backend \"shared\"\n{}Priority 1\nEnd\n\
         ListenHTTP\nLISTEN\nEnd\n\
         Service\nURL \"^/one\"\nUseBackend \"shared\"\n{}{}End\n\
         Service\nURL \"^/two\"\nBackend \"shared\"\nPriority 9\nEnd\n{}End\n\
         Service\nURL \"^/three\"\nBackend \"shared\"\nDisabled 1\nEnd\n{}End\n",
        shared.config(),
        backend_with(&own, "Priority 1\n"),
        backend_with(&off, "Disabled 1\n"),
        backend_with(&own, "Priority 1\n"),
        backend_with(&own, ""),
    );
    let pound = Pound::start(&config);
    // /one: the named definition's priority 1 against own's 1; the disabled one never.
    let t = tally(&bodies(&pound, 40, "/one", ""));
    assert_eq!(
        (t["shared"], t["own"], t.get("off")),
        (20, 20, None),
        "{t:?}"
    );
    // /two: the override gives shared priority 9: 9 of every 10.
    let t = tally(&bodies(&pound, 50, "/two", ""));
    assert_eq!((t["shared"], t["own"]), (45, 5), "{t:?}");
    // /three: disabled in this service only.
    let t = tally(&bodies(&pound, 10, "/three", ""));
    assert_eq!(t.get("shared"), None, "{t:?}");
}

#[test]
fn emergency_serves_only_when_no_regular_backend_can() {
    let (spare, main) = (Backend::named("emergency"), Backend::named("main"));
    let dead = closed_port();
    let config = format!(
        "ListenHTTP\nLISTEN\nEnd\n\
         Service\nURL \"^/disabled\"\n{}Emergency\n{}End\nEnd\n\
         Service\nURL \"^/dead\"\nBackend\nAddress 127.0.0.1\nPort {}\nEnd\nEmergency\n{}End\nEnd\n\
         Service\nURL \"^/fine\"\n{}Emergency\n{}End\nEnd\n\
         Service\nURL \"^/none\"\nBackend\nAddress 127.0.0.1\nPort {}\nEnd\nEnd\n",
        backend_with(&main, "Disabled 1\n"),
        spare.config(),
        dead.port(),
        spare.config(),
        backend_with(&main, ""),
        spare.config(),
        dead.port(),
    );
    let pound = Pound::start(&config);
    assert_eq!(bodies(&pound, 3, "/disabled", ""), ["emergency"; 3]);
    assert_eq!(bodies(&pound, 3, "/dead", ""), ["emergency"; 3]);
    assert_eq!(bodies(&pound, 3, "/fine", ""), ["main"; 3]);
    // Every backend dead and no emergency: 503.
    assert_eq!(pound.connect().get("/none").status, 503);
    pound
        .err
        .wait_for("e503: 127.0.0.1: \"GET /none HTTP/1.1\": no backend found");
}

/// pound 4.14 and later: several `Emergency` backends, balanced among themselves by the
/// service's strategy and priorities, taking `Disabled` like any backend.
#[test]
fn several_emergency_backends_are_balanced() {
    let (one, two, off) = (
        Backend::named("one"),
        Backend::named("two"),
        Backend::named("off"),
    );
    let dead = closed_port();
    let config = format!(
        "ListenHTTP\nLISTEN\nEnd\n\
         Service\nBalancer iwrr\nBackend\nAddress 127.0.0.1\nPort {}\nEnd\n\
         Emergency\n{}Priority 1\nEnd\nEmergency\n{}Priority 3\nEnd\nEmergency\n{}Disabled 1\nEnd\nEnd\n",
        dead.port(),
        one.config(),
        two.config(),
        off.config(),
    );
    let pound = Pound::start(&config);
    let t = tally(&bodies(&pound, 8, "/", ""));
    assert_eq!((t["one"], t["two"], t.get("off")), (2, 6, None), "{t:?}");
}

/// Three backends under iwrr with `session`; without sessions consecutive requests would
/// rotate among them.
fn session_pound(session: &str) -> (Pound, [Backend; 3]) {
    let bs = [
        Backend::named("a"),
        Backend::named("b"),
        Backend::named("c"),
    ];
    let refs: Vec<&Backend> = bs.iter().collect();
    let svc = service(&refs).replacen(
        "Service\n",
        &format!("Service\nBalancer iwrr\nSession\n{session}End\n"),
        1,
    );
    let pound = Pound::start(&format!("ListenHTTP\nLISTEN\nEnd\n{svc}"));
    (pound, bs)
}

/// 100 requests with the same key, on fresh connections and on one kept alive, all reach
/// one backend; other keys are spread by the balancer.
fn assert_sticky(pound: &Pound, request: impl Fn(&str) -> (String, String)) {
    let (path, extra) = request("k1");
    let mut served = Vec::new();
    for _ in 0..50 {
        let mut c = pound.connect();
        c.send(format!("GET {path} HTTP/1.1\r\nHost: test\r\n{extra}\r\n"));
        served.push(c.response().text());
    }
    served.extend(bodies(pound, 50, &path, &extra));
    let t = tally(&served);
    assert_eq!(t.len(), 1, "one backend for one session: {t:?}");
    let others: Vec<String> = (2..8)
        .map(|i| {
            let (path, extra) = request(&format!("k{i}"));
            bodies(pound, 1, &path, &extra).remove(0)
        })
        .collect();
    assert!(
        tally(&others).len() > 1,
        "new sessions are balanced: {others:?}"
    );
}

#[test]
fn sessions_stick_for_every_key_type() {
    let (pound, _bs) = session_pound("Type URL\nID \"sessid\"\nTTL 300\n");
    assert_sticky(&pound, |k| (format!("/a?x=1&sessid={k}"), String::new()));

    let (pound, _bs) = session_pound("Type PARM\nTTL 300\n");
    assert_sticky(&pound, |k| (format!("/app;{k}?x=1"), String::new()));

    let (pound, _bs) = session_pound("Type COOKIE\nID \"userid\"\nTTL 300\n");
    assert_sticky(&pound, |k| {
        ("/".into(), format!("Cookie: theme=dark; userid={k}\r\n"))
    });

    let (pound, _bs) = session_pound("Type HEADER\nID \"X-Session\"\nTTL 300\n");
    assert_sticky(&pound, |k| ("/".into(), format!("X-Session: {k}\r\n")));

    let (pound, _bs) = session_pound("Type BASIC\nTTL 300\n");
    assert_sticky(&pound, |k| {
        // The user name decides, whatever the password.
        let cred = common_base64(&format!("{k}:{}", fastrand_password()));
        ("/".into(), format!("Authorization: Basic {cred}\r\n"))
    });
}

#[test]
fn ip_sessions_stick_to_the_client_address() {
    let (pound, _bs) = session_pound("Type IP\nTTL 300\n");
    let mut served = Vec::new();
    for _ in 0..50 {
        served.push(pound.connect().get("/").text());
    }
    served.extend(bodies(&pound, 50, "/", ""));
    assert_eq!(tally(&served).len(), 1, "{served:?}");
}

#[test]
fn a_backends_set_cookie_starts_the_session() {
    let bs: Vec<Backend> = ["a", "b", "c"]
        .iter()
        .map(|&n| {
            Backend::start(move |_| {
                Reply::Send(
                    format!(
                        "HTTP/1.1 200 OK\r\nSet-Cookie: userid=from-{n}; Path=/\r\nContent-Length: 1\r\n\r\n{n}"
                    )
                    .into_bytes(),
                )
            })
        })
        .collect();
    let refs: Vec<&Backend> = bs.iter().collect();
    let svc = service(&refs).replacen(
        "Service\n",
        "Service\nBalancer iwrr\nSession\nType COOKIE\nID \"userid\"\nTTL 300\nEnd\n",
        1,
    );
    let pound = Pound::start(&format!("ListenHTTP\nLISTEN\nEnd\n{svc}"));
    // The first request has no cookie: the backend that answers names the session.
    let mut c = pound.connect();
    let first = c.get("/");
    let cookie = first.header("set-cookie").expect("a cookie");
    let value = cookie.split(';').next().unwrap().to_string();
    let served = bodies(&pound, 100, "/", &format!("Cookie: {value}\r\n"));
    assert_eq!(tally(&served).len(), 1);
    assert_eq!(served[0], first.text());
}

#[test]
fn sessions_expire_after_their_ttl() {
    let (pound, _bs) = session_pound("Type HEADER\nID \"X-Session\"\nTTL 1\n");
    // iwrr over a, b, c: the first session goes to a, and session hits do not advance it.
    assert_eq!(bodies(&pound, 5, "/", "X-Session: one\r\n"), ["a"; 5]);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    // Expired: balanced afresh, to the next backend in turn.
    assert_eq!(bodies(&pound, 3, "/", "X-Session: one\r\n"), ["b"; 3]);
}

#[test]
fn a_session_on_a_dead_backend_moves_and_sticks() {
    let victim_addr = TcpListener::bind("127.0.0.1:0").unwrap();
    let victim = Backend::on(victim_addr, Arc::new(|_: &Received| ok("victim")));
    let other = Backend::named("other");
    let config = format!(
        "Alive 1\nListenHTTP\nLISTEN\nEnd\nService\nBalancer iwrr\nSession\nType HEADER\nID \"S\"\nTTL 300\nEnd\n{}{}End\n",
        backend_with(&victim, ""),
        backend_with(&other, ""),
    );
    let pound = Pound::start(&config);
    assert_eq!(bodies(&pound, 3, "/", "S: k\r\n"), ["victim"; 3]);
    let port = victim.port();
    victim.stop();
    drop(victim);
    // Once its pooled connection is closed too, the session's request fails over. A request
    // caught by the backend's own shutdown (accepted, then reset) may fail meanwhile.
    poll("the session to fail over", || {
        let mut c = pound.connect();
        c.send("GET / HTTP/1.1\r\nHost: test\r\nS: k\r\n\r\n");
        let r = c.response();
        (r.status == 200 && r.text() == "other").then_some(())
    });
    pound
        .err
        .wait_for(&format!("Backend 127.0.0.1:{port} dead (killed)"));
    assert_eq!(bodies(&pound, 3, "/", "S: k\r\n"), ["other"; 3]);
    // It comes back: the session stays where it moved; new clients reach it again.
    let revived = Backend::on(
        TcpListener::bind(("127.0.0.1", port)).unwrap(),
        Arc::new(|_: &Received| ok("victim")),
    );
    pound.err.wait_for("resurrected");
    assert_eq!(bodies(&pound, 3, "/", "S: k\r\n"), ["other"; 3]);
    poll("new sessions on the revived backend", || {
        let n = fastrand_password();
        (bodies(&pound, 1, "/", &format!("S: {n}\r\n"))[0] == "victim").then_some(())
    });
    drop(revived);
}

#[test]
fn backends_die_and_come_back_again_and_again() {
    let addr = closed_port();
    let steady = Backend::named("steady");
    let config = format!(
        "Alive 1\nBalancer iwrr\nListenHTTP\nLISTEN\nEnd\nService\nBackend\nAddress 127.0.0.1\nPort {}\nEnd\n{}End\n",
        addr.port(),
        backend_with(&steady, ""),
    );
    let pound = Pound::start(&config);
    for round in 1..=3 {
        // Once its last connections are gone, it is found dead and every request goes
        // to the other backend.
        poll("the death to be logged", || {
            bodies(&pound, 1, "/", "");
            (pound.err.count("dead (killed)") == round).then_some(())
        });
        assert_eq!(bodies(&pound, 4, "/", ""), ["steady"; 4]);
        let back = Backend::on(
            TcpListener::bind(addr).unwrap(),
            Arc::new(|_: &Received| ok("flaky")),
        );
        poll("the backend to be used again", || {
            (pound.err.count("resurrected") == round
                && bodies(&pound, 2, "/", "").contains(&"flaky".to_string()))
            .then_some(())
        });
        back.stop();
        drop(back);
        poll("the port to close", || {
            std::net::TcpStream::connect(addr).is_err().then_some(())
        });
    }
}

/// Base64 of `s`, for Basic credentials.
fn common_base64(s: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &c)| n | (u32::from(c) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A value that differs from call to call.
fn fastrand_password() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "p{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn server_config(ca: &Ca, names: &[&str]) -> rustls::ServerConfig {
    server_config_for(ca, names, rustls::DEFAULT_VERSIONS)
}

/// A server speaking TLS 1.2 only.
fn tls12_only(ca: &Ca) -> rustls::ServerConfig {
    server_config_for(ca, &["old.test"], &[&rustls::version::TLS12])
}

fn server_config_for(
    ca: &Ca,
    names: &[&str],
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> rustls::ServerConfig {
    let cert = ca.issue(names);
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(versions)
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(cert.chain, cert.key)
        .unwrap()
}

#[test]
fn https_backends_get_sni_from_the_host_and_keep_connections() {
    let ca = Ca::new("test CA");
    let backend = TlsBackend::start("secure", server_config(&ca, &["www.example.org"]));
    let config = format!(
        "ListenHTTP\nLISTEN\nEnd\nService\nBackend\n{}End\nEnd\n",
        backend.config()
    );
    let pound = Pound::start(&config);
    let mut c = pound.connect();
    for host in [
        "www.example.org:8080",
        "www.example.org",
        "other.example.org",
    ] {
        c.send(format!("GET /x HTTP/1.1\r\nHost: {host}\r\n\r\n"));
        assert_eq!(c.response().text(), "secure");
    }
    let seen = backend.seen();
    // One connection per name; the second request reused the first.
    let snis: Vec<_> = seen.iter().map(|s| s.sni.clone()).collect();
    assert_eq!(
        snis,
        [
            Some("www.example.org".into()),
            Some("other.example.org".into())
        ]
    );
    assert_eq!(seen[0].requests.len(), 2);
    assert_eq!(seen[0].version, "TLSv1_3");
    // A Host that is an address sends no SNI (the backend's own address neither).
    c.send("GET /x HTTP/1.1\r\nHost: 192.0.2.1\r\n\r\n");
    assert_eq!(c.response().text(), "secure");
    assert_eq!(backend.seen().last().unwrap().sni, None);
}

#[test]
fn https_backend_client_certificates_ciphers_and_protocols() {
    let ca = Ca::new("test CA");
    let dir = common::scratch_dir("tls-backend");
    // A backend that requires a client certificate from our CA.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let cert = ca.issue(&["backend.test"]);
    let strict = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(cert.chain, cert.key)
        .unwrap();
    let strict = TlsBackend::start("strict", strict);
    let client = ca.issue(&["pound.test"]);
    let client_pem = dir.join("client.pem");
    std::fs::write(&client_pem, &client.pem).unwrap();
    // A backend that speaks TLS 1.2 only.
    let old = TlsBackend::start("old", tls12_only(&ca));
    let config = format!(
        "ListenHTTP\nLISTEN\nEnd\n\
         Service\nURL \"^/cert\"\nBackend\n{}Cert \"{}\"\nEnd\nEnd\n\
         Service\nURL \"^/nocert\"\nBackend\n{}End\nEnd\n\
         Service\nURL \"^/cipher\"\nBackend\n{}Ciphers \"ECDHE-ECDSA-CHACHA20-POLY1305:AES128-SHA\"\nEnd\nEnd\n\
         Service\nURL \"^/tls13\"\nBackend\n{}Disable TLSv1_2\nEnd\nEnd\n",
        strict.config(),
        client_pem.display(),
        strict.config(),
        old.config(),
        old.config(),
    );
    let pound = Pound::start(&config);
    // The cipher that cannot be honoured is named at start-up.
    pound
        .err
        .wait_for("warning: Ciphers: AES128-SHA selects no cipher suite");
    assert_eq!(pound.connect().get("/cert").text(), "strict");
    assert!(strict.seen()[0].client_cert);
    // Without the certificate the backend refuses us. In TLS 1.3 that alert comes after
    // the client's side of the handshake is done, so it is a response error: 503, as
    // pound 4.23 answers a backend that fails to answer.
    assert_eq!(pound.connect().get("/nocert").status, 503);
    pound.err.wait_for("CertificateRequired");
    assert_eq!(pound.connect().get("/cipher").text(), "old");
    let seen = old.seen();
    assert_eq!(seen[0].version, "TLSv1_2");
    assert_eq!(
        seen[0].suite,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
    );
    // TLS 1.2 disabled against a TLS 1.2-only backend: no common protocol. The handshake
    // fails, which is logged; the backend is passed over but not taken for dead.
    assert_eq!(pound.connect().get("/tls13").status, 503);
    pound.err.wait_for("TLS handshake");
    assert_eq!(pound.err.count("dead (killed)"), 0);
}

#[test]
fn bad_backend_tls_files_stop_pound_at_start() {
    let dir = common::scratch_dir("tls-bad");
    let ca = Ca::new("test CA");
    let cert = ca.issue(&["x"]);
    let other = ca.issue(&["y"]);
    let cert_only = cert
        .pem
        .split("-----BEGIN PRIVATE KEY")
        .next()
        .unwrap()
        .to_string();
    let other_key = other
        .pem
        .split_at(other.pem.find("-----BEGIN PRIVATE KEY").unwrap())
        .1;
    for (name, text, expect) in [
        ("missing.pem", None, "No such file"),
        ("nokey.pem", Some(cert_only.clone()), "no private key"),
        ("mismatch.pem", Some(cert_only.clone() + other_key), "key"),
    ] {
        let path = dir.join(name);
        if let Some(t) = text {
            std::fs::write(&path, t).unwrap();
        }
        let cfg = dir.join(format!("{name}.cfg"));
        std::fs::write(
            &cfg,
            format!(
                "ListenHTTP\nAddress 127.0.0.1\nPort 0\nEnd\nService\nBackend\nAddress 127.0.0.1\nPort 1\nHTTPS\nCert \"{}\"\nEnd\nEnd\n",
                path.display()
            ),
        )
        .unwrap();
        let run = common::pound_in(&dir, &["-F", "-e", "-f", cfg.to_str().unwrap()]);
        assert_eq!(run.code, Some(1), "{name}: {}", run.stderr);
        assert!(
            run.stderr
                .starts_with(&format!("pound: {}:", cfg.display()))
                && run.stderr.contains(expect),
            "{name}: {}",
            run.stderr
        );
    }
}

/// A backend that answers the first request of its only connection, stops listening, and
/// closes that connection without answering when the next request comes.
fn one_shot_backend() -> (std::net::SocketAddr, std::sync::mpsc::Receiver<String>) {
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        drop(listener);
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut buf = Vec::new();
        let mut b = [0u8; 4096];
        for n in 0..2 {
            while find(&buf, b"\r\n\r\n").is_none() {
                match s.read(&mut b) {
                    Ok(0) | Err(_) => return,
                    Ok(k) => buf.extend_from_slice(&b[..k]),
                }
            }
            let end = find(&buf, b"\r\n\r\n").unwrap() + 4;
            let _ = tx.send(String::from_utf8_lossy(&buf[..end]).into_owned());
            buf.drain(..end);
            if n == 0 {
                s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\none-shot")
                    .unwrap();
            }
        }
    });
    (addr, rx)
}

#[test]
fn a_stale_connection_to_a_vanished_backend_fails_over() {
    let (addr, received) = one_shot_backend();
    let other = Backend::named("other");
    let config = format!(
        "ListenHTTP\nLISTEN\nEnd\nService\nBalancer iwrr\nSession\nType HEADER\nID \"S\"\nTTL 300\nEnd\n\
         Backend\nAddress 127.0.0.1\nPort {}\nEnd\n{}End\n",
        addr.port(),
        backend_with(&other, ""),
    );
    let pound = Pound::start(&config);
    let mut c = pound.connect();
    c.send("GET /1 HTTP/1.1\r\nHost: test\r\nS: k\r\n\r\n");
    assert_eq!(c.response().text(), "one-shot");
    // The session sends the next request to the pooled connection, which the backend
    // closes; reconnecting is refused, so the request goes to the other backend.
    c.send("GET /2 HTTP/1.1\r\nHost: test\r\nS: k\r\n\r\n");
    assert_eq!(c.response().text(), "other");
    assert!(received.recv().unwrap().starts_with("GET /1 "));
    assert!(received.recv().unwrap().starts_with("GET /2 "));
    pound
        .err
        .wait_for(&format!("Backend 127.0.0.1:{} dead (killed)", addr.port()));
    assert_eq!(other.requests().len(), 1);
}

#[test]
fn a_failed_handshake_passes_the_request_to_the_next_backend() {
    let ca = Ca::new("test CA");
    let old = TlsBackend::start("old", tls12_only(&ca));
    let plain = Backend::named("plain");
    let config = format!(
        "ListenHTTP\nLISTEN\nEnd\nService\nBalancer iwrr\nBackend\n{}Disable TLSv1_2\nEnd\n{}End\n",
        old.config(),
        backend_with(&plain, ""),
    );
    let pound = Pound::start(&config);
    // iwrr tries the TLS backend first for every other request; each is served anyway.
    assert_eq!(bodies(&pound, 4, "/", ""), ["plain"; 4]);
    pound.err.wait_for("TLS handshake");
    assert_eq!(pound.err.count("dead (killed)"), 0);
}

#[test]
fn https_backends_take_large_uploads_and_recover_stale_connections() {
    use common::tls::Quirks;
    let ca = Ca::new("test CA");
    let slow = TlsBackend::with(
        "slow",
        server_config(&ca, &["slow.test"]),
        Quirks {
            slow_reader: true,
            ..Quirks::default()
        },
    );
    let closing = TlsBackend::with(
        "closing",
        server_config(&ca, &["closing.test"]),
        Quirks {
            close_second: true,
            ..Quirks::default()
        },
    );
    let config = format!(
        "TimeOut 5\nListenHTTP\nLISTEN\nEnd\n\
         Service\nURL \"^/upload\"\nBackend\n{}End\nEnd\n\
         Service\nBackend\n{}End\nEnd\n",
        slow.config(),
        closing.config(),
    );
    let pound = Pound::start(&config);
    // Every byte of a large body reaches the TLS backend, the last ones included.
    for size in [4usize << 20, 4_000_001] {
        let mut c = pound.connect();
        let writer = {
            let mut s = c.s.try_clone().unwrap();
            std::thread::spawn(move || {
                use std::io::Write;
                s.write_all(
                    format!("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: {size}\r\n\r\n")
                        .as_bytes(),
                )
                .unwrap();
                s.write_all(&vec![b'x'; size]).unwrap();
            })
        };
        let r = c.response();
        writer.join().unwrap();
        assert_eq!((r.status, r.text()), (200, format!("slow:{size}")));
    }
    // The backend drops the pooled connection (no close_notify) when the second request
    // comes: pound retries on a new connection, as with a plain backend.
    let mut c = pound.connect();
    assert_eq!(c.get("/a").text(), "closing");
    assert_eq!(c.get("/b").text(), "closing");
    assert_eq!(closing.seen().len(), 2);
    assert_eq!(pound.err.count("e500"), 0, "{:?}", pound.err.all());
}

#[test]
fn a_backend_conn_to_overrides_the_global_one_and_a_stalled_handshake_kills() {
    // Accepts connections and never says a word.
    let mute = TcpListener::bind("127.0.0.1:0").unwrap();
    let mute_addr = mute.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        while let Ok((s, _)) = mute.accept() {
            held.push(s);
            if held.len() > 64 {
                return;
            }
        }
    });
    let plain = Backend::named("plain");
    // With the global ConnTO of 60 s the first request would outlast the test's patience.
    let config = format!(
        "ConnTO 60\nListenHTTP\nLISTEN\nEnd\nService\nBalancer iwrr\n\
         Backend\nAddress 127.0.0.1\nPort {}\nHTTPS\nConnTO 1\nEnd\n{}End\n",
        mute_addr.port(),
        backend_with(&plain, ""),
    );
    let pound = Pound::start(&config);
    assert_eq!(bodies(&pound, 3, "/", ""), ["plain"; 3]);
    pound.err.wait_for(&format!(
        "Backend 127.0.0.1:{} dead (killed)",
        mute_addr.port()
    ));
}
