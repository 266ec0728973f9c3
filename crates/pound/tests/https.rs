//! The HTTPS front-end end to end: certificates chosen by SNI, client certificates,
//! revocation, the `X-SSL-*` headers, protocol and cipher limits, handshake time-outs and
//! start-up errors, through the real `pound` binary with certificates made by each test.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::net::*;
use common::tls::{Ca, Issued, Recorder};
use common::{pound_in, scratch_dir};
use rustls::crypto::ring;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, SupportedCipherSuite};

/// How a test client connects.
#[derive(Default)]
struct Opts<'a> {
    cert: Option<&'a Issued>,
    tls12_only: bool,
    suites: Option<Vec<SupportedCipherSuite>>,
    alpn: Vec<&'static [u8]>,
}

struct Client {
    config: Arc<ClientConfig>,
    recorder: Arc<Recorder>,
}

fn client(o: Opts<'_>) -> Client {
    let mut provider = ring::default_provider();
    if let Some(s) = o.suites {
        provider.cipher_suites = s;
    }
    let provider = Arc::new(provider);
    let recorder = Arc::new(Recorder::new(provider.clone()));
    let versions: &[&rustls::SupportedProtocolVersion] = if o.tls12_only {
        &[&rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    };
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone());
    let mut config = match o.cert {
        Some(c) => builder
            .with_client_auth_cert(c.chain.clone(), c.key.clone_key())
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = o.alpn.iter().map(|p| p.to_vec()).collect();
    Client {
        config: Arc::new(config),
        recorder,
    }
}

/// Sends `request` (which should ask to close) over TLS with server name `sni` (`None`:
/// no SNI) and reads everything until the end. `Err` when the handshake or the exchange
/// failed.
fn exchange(
    addr: SocketAddr,
    c: &Client,
    sni: Option<&str>,
    request: &str,
) -> std::io::Result<String> {
    let name = match sni {
        Some(n) => ServerName::try_from(n.to_string()).unwrap(),
        None => ServerName::IpAddress(addr.ip().into()),
    };
    let conn =
        rustls::ClientConnection::new(c.config.clone(), name).map_err(std::io::Error::other)?;
    let tcp = TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.write_all(request.as_bytes())?;
    tls.flush()?;
    let mut out = Vec::new();
    match tls.read_to_end(&mut out) {
        Ok(_) => {}
        // Some servers end without close_notify; what arrived still counts.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !out.is_empty() => {}
        Err(e) => return Err(e),
    }
    if out.is_empty() {
        return Err(std::io::Error::other("no response"));
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

const GET: &str = "GET /x HTTP/1.1\r\nHost: www.example.org\r\nConnection: close\r\n\r\n";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// A configuration with one HTTPS listener (with `tls` statements) and one backend.
fn https(tls: &str, backend: &Backend) -> String {
    format!("ListenHTTPS\nLISTEN\n{tls}\nEnd\n{}", service(&[backend]))
}

fn cert_line(path: &Path) -> String {
    format!("Cert \"{}\"\n", path.display())
}

#[test]
fn sni_chooses_the_first_matching_certificate() {
    let dir = scratch_dir("sni");
    let ca = Ca::new("Test CA");
    let default = ca.issue(&["default.test"]);
    let www = ca.issue(&["www.example.org"]);
    let wildcard = ca.issue(&["*.example.org"]);
    // Never chosen for other.example.org: the wildcard comes first.
    let other = ca.issue(&["other.example.org", "alt.test"]);
    let mut tls = String::new();
    for (name, c) in [
        ("default", &default),
        ("www", &www),
        ("wild", &wildcard),
        ("other", &other),
    ] {
        tls += &cert_line(&write(&dir, &format!("{name}.pem"), &c.pem));
    }
    let backend = Backend::named("ok");
    let pound = Pound::start(&https(&tls, &backend));
    let c = client(Opts::default());
    let cases: [(Option<&str>, &Issued); 7] = [
        (None, &default),
        (Some("www.example.org"), &www),
        (Some("WWW.EXAMPLE.ORG"), &www),
        (Some("a.example.org"), &wildcard),
        (Some("other.example.org"), &wildcard),
        (Some("alt.test"), &other),
        (Some("a.b.example.org"), &default),
    ];
    for (sni, expected) in cases {
        let r = exchange(pound.addr, &c, sni, GET).expect("exchange");
        assert!(r.starts_with("HTTP/1.1 200"), "{r}");
        let seen = c.recorder.seen.lock().unwrap().clone();
        assert_eq!(seen.as_ref(), Some(&expected.chain[0]), "{sni:?}");
    }
}

#[test]
fn a_cert_directory_loads_every_file_in_name_order() {
    let dir = scratch_dir("certdir");
    let certs = dir.join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    let ca = Ca::new("Test CA");
    let first = ca.issue(&["first.test"]);
    let second = ca.issue(&["second.test"]);
    write(&certs, "10-first.pem", &first.pem);
    write(&certs, "20-second.pem", &second.pem);
    let backend = Backend::named("ok");
    let pound = Pound::start(&https(&cert_line(&certs), &backend));
    let c = client(Opts::default());
    for (sni, expected) in [(None, &first), (Some("second.test"), &second)] {
        exchange(pound.addr, &c, sni, GET).expect("exchange");
        let seen = c.recorder.seen.lock().unwrap().clone();
        assert_eq!(seen.as_ref(), Some(&expected.chain[0]), "{sni:?}");
    }
}

/// What the backend saw of the last request, or `None` when the exchange failed.
fn through(
    pound: &Pound,
    backend: &Backend,
    cert: Option<&Issued>,
    extra: &str,
) -> Option<Received> {
    let before = backend.requests().len();
    let c = client(Opts {
        cert,
        ..Opts::default()
    });
    let request =
        format!("GET /x HTTP/1.1\r\nHost: www.example.org\r\n{extra}Connection: close\r\n\r\n");
    match exchange(pound.addr, &c, Some("www.example.org"), &request) {
        Ok(r) if r.starts_with("HTTP/1.1 200") => {
            let all = backend.requests();
            assert_eq!(all.len(), before + 1);
            all.last().cloned()
        }
        _ => None,
    }
}

struct Pki {
    dir: PathBuf,
    ca: Ca,
    server: PathBuf,
    verify: PathBuf,
    good: Issued,
    stranger: Issued,
}

fn pki(name: &str) -> Pki {
    let dir = scratch_dir(name);
    let ca = Ca::new("Test CA");
    let server = write(&dir, "server.pem", &ca.issue(&["www.example.org"]).pem);
    let verify = write(&dir, "verify.pem", &ca.pem());
    let good = ca.issue_serial(&["client.example.org"], Some(4096));
    let stranger = Ca::new("Other CA").issue(&["stranger.example.org"]);
    Pki {
        dir,
        ca,
        server,
        verify,
        good,
        stranger,
    }
}

#[test]
fn client_certificate_modes() {
    let p = pki("clientcert");
    let backend = Backend::named("ok");
    let start = |mode: u8| {
        // pound takes no depth after mode 0.
        let depth = if mode == 0 { "" } else { " 3" };
        let tls = format!(
            "{}ClientCert {mode}{depth}\nVerifyList \"{}\"\n",
            cert_line(&p.server),
            p.verify.display()
        );
        Pound::start(&https(&tls, &backend))
    };
    let subject = |r: Option<Received>| r.map(|r| r.header("X-SSL-Subject"));
    let good = Some(Some("CN = client.example.org".to_string()));

    // 0: no certificate is asked for, so none is reported even when the client has one.
    let pound = start(0);
    assert_eq!(
        subject(through(&pound, &backend, Some(&p.good), "")),
        Some(None)
    );
    drop(pound);

    // 1: asked for; verified when presented.
    let pound = start(1);
    assert_eq!(subject(through(&pound, &backend, None, "")), Some(None));
    assert_eq!(subject(through(&pound, &backend, Some(&p.good), "")), good);
    assert!(through(&pound, &backend, Some(&p.stranger), "").is_none());
    pound.err.wait_for("handshake failed");
    drop(pound);

    // 2: required and verified.
    let pound = start(2);
    assert!(through(&pound, &backend, None, "").is_none());
    assert_eq!(subject(through(&pound, &backend, Some(&p.good), "")), good);
    assert!(through(&pound, &backend, Some(&p.stranger), "").is_none());
    drop(pound);

    // 3: asked for, never verified.
    let pound = start(3);
    assert_eq!(subject(through(&pound, &backend, None, "")), Some(None));
    let r = through(&pound, &backend, Some(&p.stranger), "").expect("accepted");
    assert_eq!(
        r.header("X-SSL-Subject").as_deref(),
        Some("CN = stranger.example.org")
    );
    assert_eq!(r.header("X-SSL-Issuer").as_deref(), Some("CN = Other CA"));
}

/// pound starts with `ClientCert 1` and no `VerifyList`: clients without a certificate are
/// served, and a presented certificate cannot be verified. pound-rs warns at start.
#[test]
fn client_cert_without_verify_list_serves_clients_without_one() {
    let p = pki("clientcert-nolist");
    let backend = Backend::named("ok");
    let tls = format!("{}ClientCert 1 1\n", cert_line(&p.server));
    let pound = Pound::start(&https(&tls, &backend));
    pound
        .err
        .wait_for("warning: ClientCert 1 without VerifyList: no client certificate can be verified, so only clients that present none are served");
    let r = through(&pound, &backend, None, "").expect("served");
    assert_eq!(r.header("X-SSL-Subject"), None);
    assert!(through(&pound, &backend, Some(&p.good), "").is_none());
}

#[test]
fn chains_longer_than_the_depth_are_refused() {
    let p = pki("depth");
    let backend = Backend::named("ok");
    let intermediate = p.ca.intermediate("Intermediate CA");
    let leaf = intermediate.issue(&["deep.example.org"]);
    let mut chained = leaf.clone_issued();
    chained.chain.push(intermediate.der());
    for (depth, accepted) in [(1, true), (0, false)] {
        let tls = format!(
            "{}ClientCert 2 {depth}\nVerifyList \"{}\"\n",
            cert_line(&p.server),
            p.verify.display()
        );
        let pound = Pound::start(&https(&tls, &backend));
        let r = through(&pound, &backend, Some(&chained), "");
        assert_eq!(r.is_some(), accepted, "depth {depth}");
    }
}

#[test]
fn revoked_client_certificates_are_refused() {
    let p = pki("crl");
    let revoked = p.ca.issue_serial(&["revoked.example.org"], Some(7));
    let valid = p.ca.issue_serial(&["valid.example.org"], Some(8));
    let crl = write(&p.dir, "crl.pem", &p.ca.crl(&[7]));
    let backend = Backend::named("ok");
    let tls = format!(
        "{}ClientCert 2 3\nVerifyList \"{}\"\nCRLlist \"{}\"\n",
        cert_line(&p.server),
        p.verify.display(),
        crl.display()
    );
    let pound = Pound::start(&https(&tls, &backend));
    assert!(through(&pound, &backend, Some(&revoked), "").is_none());
    let r = through(&pound, &backend, Some(&valid), "").expect("valid certificate");
    assert_eq!(r.header("X-SSL-serial").as_deref(), Some("8"));
}

#[test]
fn ssl_headers_have_pound_names_and_formats() {
    let p = pki("headers");
    let backend = Backend::named("ok");
    let tls = format!(
        "{}ClientCert 1 3\nVerifyList \"{}\"\n",
        cert_line(&p.server),
        p.verify.display()
    );
    let pound = Pound::start(&https(&tls, &backend));
    let c = client(Opts {
        cert: Some(&p.good),
        suites: Some(vec![ring::cipher_suite::TLS13_AES_128_GCM_SHA256]),
        ..Opts::default()
    });
    let forged = "X-SSL-Subject: CN = admin\r\nx-ssl-extra: 1\r\nX-Forwarded-Proto: http\r\n";
    let request =
        format!("GET /x HTTP/1.1\r\nHost: www.example.org\r\n{forged}Connection: close\r\n\r\n");
    let r = exchange(pound.addr, &c, Some("www.example.org"), &request).expect("exchange");
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    let seen = backend.requests().pop().expect("request");
    let h = |n: &str| seen.header(n);
    assert_eq!(
        h("X-SSL-cipher").as_deref(),
        Some("TLSv1.3/TLS_AES_128_GCM_SHA256         TLSv1.3 Kx=any      Au=any   Enc=AESGCM(128)            Mac=AEAD")
    );
    assert_eq!(
        h("X-SSL-Subject").as_deref(),
        Some("CN = client.example.org")
    );
    assert_eq!(h("X-SSL-Issuer").as_deref(), Some("CN = Test CA"));
    // rcgen's default validity.
    assert_eq!(
        h("X-SSL-notBefore").as_deref(),
        Some("Jan  1 00:00:00 1975 GMT")
    );
    assert_eq!(
        h("X-SSL-notAfter").as_deref(),
        Some("Jan  1 00:00:00 4096 GMT")
    );
    assert_eq!(h("X-SSL-serial").as_deref(), Some("4096"));
    assert_eq!(h("X-Forwarded-Proto").as_deref(), Some("https"));
    assert_eq!(h("x-ssl-extra"), None);
    assert_eq!(seen.head.matches("X-SSL-Subject").count(), 1);
    // The certificate is one field folded over several lines, as pound sends it.
    let start = seen
        .head
        .find("X-SSL-certificate: -----BEGIN CERTIFICATE-----\r\n\t")
        .expect("certificate field");
    let field = &seen.head[start..];
    let end = field.find("-----END CERTIFICATE-----").expect("end line");
    let body: String = field[..end]
        .split("\r\n\t")
        .skip(1)
        .collect::<Vec<_>>()
        .concat();
    let der = rustls::pki_types::CertificateDer::from(base64(&body));
    assert_eq!(der, p.good.chain[0]);
    // The field ends with the END line (here the head's last field).
    let rest = &field[end + "-----END CERTIFICATE-----".len()..];
    assert!(rest.is_empty() || (rest.starts_with("\r\n") && !rest.starts_with("\r\n\t")));
}

fn base64(text: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            _ => 63,
        }
    };
    let clean: Vec<u8> = text.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::new();
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= val(c) << (18 - 6 * i);
        }
        for i in 0..chunk.len().saturating_sub(1) {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

#[test]
fn client_ssl_headers_are_removed_without_a_certificate() {
    let p = pki("forged");
    let backend = Backend::named("ok");
    let pound = Pound::start(&https(&cert_line(&p.server), &backend));
    let r = through(
        &pound,
        &backend,
        None,
        "X-SSL-Subject: CN = admin\r\nX-SSL-certificate: x\r\nX-SSL_Subject: CN = admin\r\n",
    )
    .expect("answered");
    assert_eq!(r.header("X-SSL-Subject"), None);
    assert_eq!(r.header("X-SSL_Subject"), None);
    assert_eq!(r.header("X-SSL-certificate"), None);
    assert!(r.header("X-SSL-cipher").is_some());

    // On a plain listener too.
    let plain = Pound::start(&simple("", &[&backend]));
    let mut c = plain.connect();
    c.send("GET / HTTP/1.1\r\nHost: h\r\nX-SSL-Subject: CN = admin\r\n\r\n");
    assert_eq!(c.response().status, 200);
    let r = backend.requests().pop().expect("request");
    assert_eq!(r.header("X-SSL-Subject"), None);
    assert_eq!(r.header("X-SSL-cipher"), None);
    assert_eq!(r.header("X-Forwarded-Proto").as_deref(), Some("http"));
}

#[test]
fn protocol_and_cipher_restrictions() {
    let p = pki("restrict");
    let backend = Backend::named("ok");
    let run = |tls: &str, o: Opts<'_>| {
        let pound = Pound::start(&https(&format!("{}{tls}", cert_line(&p.server)), &backend));
        let c = client(o);
        exchange(pound.addr, &c, Some("www.example.org"), GET).ok()
    };
    let tls12 = || Opts {
        tls12_only: true,
        ..Opts::default()
    };
    assert!(run("", tls12()).is_some());
    assert!(run("Disable TLSv1_2\n", tls12()).is_none());
    assert!(run("Disable TLSv1_1\n", tls12()).is_some());
    assert!(run("Disable TLSv1_2\n", Opts::default()).is_some());

    let ciphers = "Ciphers \"ECDHE-ECDSA-AES128-GCM-SHA256\"\n";
    let only = |s: SupportedCipherSuite| Opts {
        tls12_only: true,
        suites: Some(vec![s]),
        ..Opts::default()
    };
    use ring::cipher_suite as cs;
    assert!(run(ciphers, only(cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384)).is_none());
    assert!(run(ciphers, only(cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)).is_some());
    let seen = backend.requests().pop().expect("request");
    assert_eq!(
        seen.header("X-SSL-cipher").as_deref(),
        Some("TLSv1.2/ECDHE-ECDSA-AES128-GCM-SHA256  TLSv1.2 Kx=ECDH     Au=ECDSA Enc=AESGCM(128)            Mac=AEAD")
    );

    // `-ciphersuites` (pound 4.21) chooses the TLS 1.3 suites; the TLS 1.2 list stays.
    let suites = "Ciphers -ciphersuites \"TLS_CHACHA20_POLY1305_SHA256\"\n";
    let tls13 = |s: SupportedCipherSuite| Opts {
        suites: Some(vec![s]),
        ..Opts::default()
    };
    assert!(run(suites, tls13(cs::TLS13_AES_256_GCM_SHA384)).is_none());
    assert!(run(suites, tls13(cs::TLS13_CHACHA20_POLY1305_SHA256)).is_some());
    assert!(run(suites, only(cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384)).is_some());
    let both =
        "Ciphers \"ECDHE-ECDSA-AES128-GCM-SHA256\" -ciphersuites \"TLS_AES_256_GCM_SHA384\"\n";
    assert!(run(both, tls13(cs::TLS13_AES_256_GCM_SHA384)).is_some());
    assert!(run(both, tls13(cs::TLS13_AES_128_GCM_SHA256)).is_none());
    assert!(run(both, only(cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384)).is_none());
}

#[test]
fn stalled_handshakes_end_after_the_client_timeout() {
    let p = pki("stall");
    let backend = Backend::named("ok");
    let pound = Pound::start(&https(
        &format!("Client 1\n{}", cert_line(&p.server)),
        &backend,
    ));
    // The start of a ClientHello record, and then nothing.
    let mut stalled = TcpStream::connect(pound.addr).unwrap();
    stalled
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .unwrap();
    // Others are served meanwhile.
    let c = client(Opts::default());
    let r = exchange(pound.addr, &c, Some("www.example.org"), GET).expect("served");
    assert!(r.starts_with("HTTP/1.1 200"));
    stalled
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut b = [0u8; 64];
    let n = stalled.read(&mut b).unwrap_or(0);
    assert_eq!(n, 0, "pound closes the stalled connection");
    let line = pound.err.wait_for("handshake failed");
    assert!(line.contains("): 127.0.0.1: handshake failed: "), "{line}");
}

#[test]
fn no_https11_limits_connections_to_one_request() {
    let p = pki("nohttps11");
    let backend = Backend::named("ok");
    let two = "GET /1 HTTP/1.1\r\nHost: h\r\nUser-Agent: UA\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\nUser-Agent: UA\r\nConnection: close\r\n\r\n";
    let answered = |level: u8, ua: &str| {
        let tls = format!("{}NoHTTPS11 {level}\n", cert_line(&p.server));
        let pound = Pound::start(&https(&tls, &backend));
        let c = client(Opts::default());
        let r = exchange(pound.addr, &c, Some("h"), &two.replace("UA", ua)).expect("exchange");
        r.matches("HTTP/1.1 200").count()
    };
    assert_eq!(answered(0, "Mozilla/4.0 (compatible; MSIE 6.0)"), 2);
    assert_eq!(answered(1, "curl"), 1);
    assert_eq!(answered(2, "Mozilla/4.0 (compatible; MSIE 6.0)"), 1);
    assert_eq!(answered(2, "curl"), 2);
}

#[test]
fn unusable_tls_files_stop_pound_with_their_location() {
    let p = pki("badfiles");
    let dir = &p.dir;
    let only_cert = write(dir, "only-cert.pem", &p.ca.pem());
    let key = rcgen::KeyPair::generate().unwrap().serialize_pem();
    let cert_text = p
        .good
        .pem
        .split("-----BEGIN PRIVATE KEY-----")
        .next()
        .unwrap();
    let mismatched = write(dir, "mismatched.pem", &format!("{cert_text}{key}"));
    let server = cert_line(&p.server);
    let cases = [
        // pound's words and place (the file name, joined to the working directory).
        (
            "Cert \"missing.pem\"\n".to_string(),
            format!(
                "pound: pound.cfg:3.6-18: {}/missing.pem: stat error: No such file or directory\n",
                std::fs::canonicalize(dir).unwrap().display()
            ),
        ),
        (
            cert_line(&only_cert),
            format!(
                "pound: pound.cfg:3.6-{}: {}: no private key found (an encrypted key cannot be used)\n",
                cert_line(&only_cert).len() - 1,
                only_cert.display()
            ),
        ),
        (
            cert_line(&mismatched),
            format!(
                "pound: pound.cfg:3.6-{}: {}: the private key does not match the certificate\n",
                cert_line(&mismatched).len() - 1,
                mismatched.display()
            ),
        ),
        (
            format!("{server}VerifyList \"nothing.pem\"\nClientCert 1 1\n"),
            "pound: pound.cfg:4.12-24: nothing.pem: No such file or directory (os error 2)\n"
                .to_string(),
        ),
    ];
    for (tls, expected) in cases {
        let config = format!(
            "ListenHTTPS\nAddress 127.0.0.1\n{tls}Port 0\nEnd\nService\nBackend\nAddress 127.0.0.1\nPort 1\nEnd\nEnd\n"
        );
        write(dir, "pound.cfg", &config);
        let check = ["-c", "-W", "no-include-dir", "-f", "pound.cfg"];
        let start = ["-F", "-e", "-W", "no-include-dir", "-f", "pound.cfg"];
        for args in [&check[..], &start[..]] {
            let run = pound_in(dir, args);
            assert_eq!(run.code, Some(1), "{tls} {args:?}");
            assert_eq!(run.stderr, expected, "{tls} {args:?}");
        }
    }
}

/// `ClientCert "FILE"` in a service (pound 4.14): the listener asks for a certificate,
/// verifies nothing, and the service is chosen when the client presented that very
/// certificate.
#[test]
fn services_chosen_by_client_certificate() {
    let p = pki("servicecert");
    let known = write(&p.dir, "known.pem", &p.good.pem);
    let by_cert = Backend::named("by-cert");
    let other = Backend::named("other");
    let config = format!(
        "ListenHTTPS\nLISTEN\n{}\
         Service\nClientCert \"{}\"\nBackend\n{}End\nEnd\n\
         Service\nBackend\n{}End\nEnd\nEnd\n",
        cert_line(&p.server),
        known.display(),
        by_cert.config(),
        other.config()
    );
    let pound = Pound::start(&config);
    assert!(through(&pound, &by_cert, Some(&p.good), "").is_some());
    // Another certificate, even from the same CA, or none, goes elsewhere.
    let same_ca = p.ca.issue(&["client.example.org"]);
    assert!(through(&pound, &other, Some(&same_ca), "").is_some());
    assert!(through(&pound, &other, Some(&p.stranger), "").is_some());
    assert!(through(&pound, &other, None, "").is_some());
    assert_eq!(by_cert.requests().len(), 1);
}
