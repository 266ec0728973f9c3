//! Test certificates, made fresh by each test, and a small HTTPS backend that records what
//! each TLS connection negotiated.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::net::find;

/// A certificate authority of its own.
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its key, as DER for rustls and as one PEM text (chain then key) for
/// pound's `Cert` files.
pub struct Issued {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    pub pem: String,
}

impl Issued {
    #[allow(dead_code)]
    pub fn clone_issued(&self) -> Issued {
        Issued {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
            pem: self.pem.clone(),
        }
    }
}

impl Ca {
    pub fn new(name: &str) -> Ca {
        let key = KeyPair::generate().expect("CA key");
        Ca {
            issuer: CertifiedIssuer::self_signed(Self::params(name), key).expect("CA certificate"),
        }
    }

    fn params(name: &str) -> CertificateParams {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params
    }

    /// A CA whose certificate this one signs.
    #[allow(dead_code)]
    pub fn intermediate(&self, name: &str) -> Ca {
        let key = KeyPair::generate().expect("CA key");
        Ca {
            issuer: CertifiedIssuer::signed_by(Self::params(name), key, &self.issuer)
                .expect("CA certificate"),
        }
    }

    pub fn der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    /// The CA certificate, PEM.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A revocation list of this CA, PEM, naming the certificates with these serials.
    pub fn crl(&self, revoked: &[u64]) -> String {
        let params = rcgen::CertificateRevocationListParams {
            this_update: rcgen::date_time_ymd(2020, 1, 1),
            next_update: rcgen::date_time_ymd(2099, 1, 1),
            crl_number: rcgen::SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|&s| rcgen::RevokedCertParams {
                    serial_number: rcgen::SerialNumber::from(s),
                    revocation_time: rcgen::date_time_ymd(2021, 1, 1),
                    reason_code: None,
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        };
        params
            .signed_by(&self.issuer)
            .expect("CRL")
            .pem()
            .expect("CRL PEM")
    }

    /// A certificate for `names` (subject alternative names; the first is also the CN).
    pub fn issue(&self, names: &[&str]) -> Issued {
        self.issue_serial(names, None)
    }

    /// As [`Ca::issue`], with a chosen serial number.
    pub fn issue_serial(&self, names: &[&str], serial: Option<u64>) -> Issued {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).expect("params");
        params.serial_number = serial.map(rcgen::SerialNumber::from);
        if let Some(cn) = names.first() {
            params
                .distinguished_name
                .push(DnType::CommonName, cn.as_str());
        }
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("certificate");
        let pem = cert.pem() + &key.serialize_pem();
        Issued {
            chain: vec![cert.der().clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            pem,
        }
    }
}

/// What one TLS connection to a [`TlsBackend`] negotiated, and the requests it carried.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    pub sni: Option<String>,
    pub version: String,
    pub suite: String,
    pub client_cert: bool,
    pub requests: Vec<String>,
}

/// How a [`TlsBackend`] misbehaves.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quirks {
    /// Read request bodies slowly, so that pound's writes fill the socket.
    pub slow_reader: bool,
    /// On the second request of a connection, close it without answering and without
    /// close_notify (as a server whose keep-alive timer fired just then).
    pub close_second: bool,
}

/// An HTTPS backend answering every request with `200 OK` and body `name` (or `name:N` for
/// a request with a body of N bytes).
pub struct TlsBackend {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
}

impl TlsBackend {
    pub fn start(name: &'static str, config: rustls::ServerConfig) -> TlsBackend {
        Self::with(name, config, Quirks::default())
    }

    pub fn with(name: &'static str, config: rustls::ServerConfig, quirks: Quirks) -> TlsBackend {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let config = Arc::new(config);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (seen.clone(), stop.clone());
        thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((tcp, _)) => {
                        let (config, seen) = (config.clone(), s.clone());
                        thread::spawn(move || serve(tcp, config, seen, name, quirks));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        TlsBackend { addr, seen, stop }
    }

    pub fn config(&self) -> String {
        format!("Address 127.0.0.1\nPort {}\nHTTPS\n", self.addr.port())
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for TlsBackend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve(
    tcp: TcpStream,
    config: Arc<rustls::ServerConfig>,
    seen: Arc<Mutex<Vec<Seen>>>,
    name: &str,
    quirks: Quirks,
) {
    tcp.set_nonblocking(false).expect("blocking");
    tcp.set_read_timeout(Some(super::net::PATIENCE))
        .expect("timeout");
    let conn = rustls::ServerConnection::new(config).expect("server connection");
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    // Complete the handshake (a failed one is simply the end of this connection).
    while tls.conn.is_handshaking() {
        if tls.conn.complete_io(&mut tls.sock).is_err() {
            return;
        }
    }
    let index = {
        let mut all = seen.lock().unwrap();
        all.push(Seen {
            sni: tls.conn.server_name().map(str::to_string),
            version: format!("{:?}", tls.conn.protocol_version().expect("version")),
            suite: format!(
                "{:?}",
                tls.conn.negotiated_cipher_suite().expect("suite").suite()
            ),
            client_cert: tls.conn.peer_certificates().is_some_and(|c| !c.is_empty()),
            requests: Vec::new(),
        });
        all.len() - 1
    };
    let mut buf = Vec::new();
    let mut b = [0u8; 4096];
    loop {
        let end = loop {
            if let Some(p) = find(&buf, b"\r\n\r\n") {
                break p + 4;
            }
            match tls.read(&mut b) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&b[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        buf.drain(..end);
        let served = {
            let mut all = seen.lock().unwrap();
            all[index].requests.push(head.clone());
            all[index].requests.len()
        };
        if quirks.close_second && served == 2 {
            // Dropping the stream closes the socket without close_notify.
            return;
        }
        let length: usize = head
            .to_ascii_lowercase()
            .lines()
            .find_map(|l| {
                l.strip_prefix("content-length:")
                    .map(|v| v.trim().parse().unwrap())
            })
            .unwrap_or(0);
        let mut have = buf.len().min(length);
        buf.drain(..have);
        if quirks.slow_reader && length > 0 {
            // Let pound fill every buffer on the way before reading anything.
            thread::sleep(Duration::from_millis(300));
        }
        while have < length {
            if quirks.slow_reader {
                thread::sleep(Duration::from_micros(200));
            }
            let want = (length - have).min(if quirks.slow_reader { 1024 } else { b.len() });
            match tls.read(&mut b[..want]) {
                Ok(0) | Err(_) => return,
                Ok(n) => have += n,
            }
        }
        let body = if length > 0 {
            format!("{name}:{have}")
        } else {
            name.to_string()
        };
        let reply = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if tls.write_all(reply.as_bytes()).is_err() || tls.flush().is_err() {
            return;
        }
    }
}

/// A client-side verifier for tests: accepts any server certificate (checking handshake
/// signatures) and remembers the last one presented.
#[allow(dead_code)]
#[derive(Debug)]
pub struct Recorder {
    pub seen: Mutex<Option<CertificateDer<'static>>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl Recorder {
    pub fn new(provider: Arc<rustls::crypto::CryptoProvider>) -> Recorder {
        Recorder {
            seen: Mutex::new(None),
            provider,
        }
    }
}

impl rustls::client::danger::ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        *self.seen.lock().unwrap() = Some(end_entity.clone().into_owned());
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            m,
            c,
            d,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            m,
            c,
            d,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
