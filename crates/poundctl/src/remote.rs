//! Connections to a control interface served over HTTP or HTTPS (pound 4.14's `Control`
//! service directive), with the TLS options of manual 12.2: the certificate authorities to
//! trust (`-C FILE|DIR`, `CAFile`, `CAPath`; the system's by default), a client
//! certificate (`-K FILE`, `ClientCert`), and `-k` / `Verify off` to accept any server.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, StreamOwned};

use crate::client::describe;
use crate::url::Remote;

/// How long connecting and each read or write may take: a control interface answers at
/// once, and a stuck one must not hang a script.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The TLS settings of one server, from the command line over `~/.poundctl`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tls {
    /// `-C` / `CAFile`, `CAPath`: PEM files, or directories of them.
    pub ca: Vec<PathBuf>,
    /// `-K` / `ClientCert`: certificate chain and private key in one PEM file.
    pub client_cert: Option<PathBuf>,
    /// `-k` / `Verify off`: accept whatever certificate the server shows.
    pub insecure: bool,
}

/// A byte stream to the control interface, plain or TLS.
pub trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

/// Connects to `remote`, with TLS when its scheme is `https`.
pub fn connect(remote: &Remote, tls: &Tls) -> Result<Box<dyn Stream>, String> {
    let config = if remote.tls {
        Some(client_config(tls)?)
    } else {
        None
    };
    let addrs = (remote.host.as_str(), remote.port)
        .to_socket_addrs()
        .map_err(|e| {
            // getaddrinfo's own words, as pound's poundctl prints them.
            let why = describe(&e);
            let why = why
                .strip_prefix("failed to lookup address information: ")
                .unwrap_or(&why);
            format!("can't resolve {}: {why}", remote.host)
        })?;
    let mut last = None;
    let mut tcp = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, TIMEOUT) {
            Ok(s) => {
                tcp = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let tcp = tcp.ok_or_else(|| match last {
        Some(e) => format!("connect: {}", describe(&e)),
        None => format!("can't resolve {}: no address", remote.host),
    })?;
    let _ = tcp.set_read_timeout(Some(TIMEOUT));
    let _ = tcp.set_write_timeout(Some(TIMEOUT));
    let Some(config) = config else {
        return Ok(Box::new(tcp));
    };
    let name = ServerName::try_from(remote.host.clone())
        .map_err(|_| format!("invalid server name: {}", remote.host))?;
    let conn = ClientConnection::new(Arc::new(config), name).map_err(|e| format!("TLS: {e}"))?;
    let mut stream = StreamOwned::new(conn, tcp);
    // Handshake now, so that a certificate problem is reported as such.
    while stream.conn.is_handshaking() {
        stream
            .conn
            .complete_io(&mut stream.sock)
            .map_err(|e| format!("TLS handshake with {}: {}", remote.host, describe(&e)))?;
    }
    Ok(Box::new(stream))
}

/// The client configuration for `tls`.
fn client_config(tls: &Tls) -> Result<ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    let builder = if tls.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
    } else {
        builder.with_root_certificates(roots(&tls.ca)?)
    };
    match &tls.client_cert {
        None => Ok(builder.with_no_client_auth()),
        Some(path) => {
            let (certs, key) = client_identity(path)?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| format!("{}: {e}", path.display()))
        }
    }
}

/// The certificate authorities to trust: those named, else the system's.
fn roots(named: &[PathBuf]) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    if named.is_empty() {
        let found = rustls_native_certs::load_native_certs();
        let (added, _) = store.add_parsable_certificates(found.certs);
        if added == 0 {
            return Err("no trusted certificate authorities found on this system; use -C".into());
        }
        return Ok(store);
    }
    for path in named {
        let files = if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| format!("can't read {}: {}", path.display(), describe(&e)))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            files
        } else {
            vec![path.clone()]
        };
        for file in &files {
            let bytes = std::fs::read(file)
                .map_err(|e| format!("can't stat {}: {}", file.display(), describe(&e)))?;
            // In a directory, files that are not PEM certificates are passed over.
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
                .filter_map(Result::ok)
                .collect();
            if certs.is_empty() && !path.is_dir() {
                return Err(format!("{}: no certificate found", file.display()));
            }
            store.add_parsable_certificates(certs);
        }
    }
    Ok(store)
}

/// `-K FILE`: the client's certificate chain and private key, both in FILE.
fn client_identity(
    path: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("can't stat {}: {}", path.display(), describe(&e)))?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: bad certificate: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate found", path.display()));
    }
    let key = PrivateKeyDer::from_pem_slice(&bytes)
        .map_err(|e| format!("{}: no usable private key: {e}", path.display()))?;
    Ok((certs, key))
}

/// `-k`: every certificate is accepted; signatures are still checked so that the handshake
/// itself is sound.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
