//! HTTPS listeners: the server side of TLS.
//!
//! Everything is read and checked when pound starts (and by `pound -c`): certificates and
//! keys, CA and revocation lists, cipher and protocol settings. A listener's configuration
//! is then one immutable `rustls::ServerConfig` shared by all its connections.
//!
//! Certificates are chosen by the name the client sends (SNI): the first `Cert`, in file
//! order, one of whose names (subject common names and DNS subject alternative names,
//! `*.example.org` wildcards included) matches. Without a match, or without SNI, the first
//! `Cert` is used.

use std::fmt;
use std::sync::Arc;

use pound_config::diag::Span;
use pound_config::model::{ClientCert, Global, TlsListener};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig};

use super::{files, x509};

/// ALPN names offered to clients.
pub const ALPN_H2: &[u8] = b"h2";
pub const ALPN_HTTP11: &[u8] = b"http/1.1";

/// The TLS configuration of one `ListenHTTPS`, with warnings about settings that cannot be
/// honoured (`LOCATION: warning: ...`, or `warning: ...` for global statements).
pub struct Built {
    pub config: Arc<ServerConfig>,
    pub warnings: Vec<String>,
}

/// Builds the configuration of an HTTPS listener. `listener` is the span of the whole
/// section, for errors that belong to no single statement. Errors are the text to print,
/// location first. No global statement affects it any more (`ECDHcurve` is ignored, as in
/// pound 4.23); `_global` is kept for the callers.
pub fn build(
    tls: &TlsListener,
    _global: &Global,
    listener: &Span,
    http2: bool,
) -> Result<Built, String> {
    let at = |span: &Span, e: String| format!("{span}: {e}");
    let mut s = super::settings(
        tls.ciphers.as_deref(),
        tls.ciphersuites.as_deref(),
        tls.disable,
    )
    .map_err(|e| at(listener, e))?;
    let mut warnings: Vec<String> = s
        .warnings
        .drain(..)
        .map(|w| at(listener, format!("warning: {w}")))
        .collect();
    if tls.allow_client_renegotiation != 0 {
        warnings.push(at(
            listener,
            "warning: SSLAllowClientRenegotiation: client-initiated renegotiation is always refused by this TLS implementation".into(),
        ));
    }

    let mut certs = Vec::with_capacity(tls.certs.len());
    for c in &tls.certs {
        for path in cert_files(&c.value).map_err(|e| at(&c.span, e))? {
            let (chain, key) = files::load_cert(&path).map_err(|e| at(&c.span, e))?;
            let names = x509::dns_names(&chain[0])
                .map_err(|e| at(&c.span, format!("{}: {e}", path.display())))?;
            let key = CertifiedKey::from_der(chain, key, &s.provider)
                .map_err(|e| at(&c.span, format!("{}: {}", path.display(), key_error(&e))))?;
            certs.push((names, Arc::new(key)));
        }
    }

    if tls.client_cert.mode == 3 && (tls.verify_list.is_some() || tls.crl_list.is_some()) {
        warnings.push(at(
            listener,
            "warning: ClientCert 3 verifies nothing: VerifyList and CRLlist are not used".into(),
        ));
    }
    if matches!(tls.client_cert.mode, 1 | 2) && tls.verify_list.is_none() {
        warnings.push(at(
            listener,
            format!(
                "warning: ClientCert {} without VerifyList: no client certificate can be verified, so {}",
                tls.client_cert.mode,
                if tls.client_cert.mode == 1 {
                    "only clients that present none are served"
                } else {
                    "every handshake will fail"
                }
            ),
        ));
    }
    let verifier = client_verifier(tls, &s.provider)?;
    let mut config = ServerConfig::builder_with_provider(s.provider.clone())
        .with_protocol_versions(&s.versions)
        .map_err(|e| at(listener, format!("TLS settings: {e}")))?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(Arc::new(ByName(certs)));
    config.ignore_client_order = tls.honor_cipher_order;
    config.alpn_protocols = if http2 {
        vec![ALPN_H2.to_vec(), ALPN_HTTP11.to_vec()]
    } else {
        vec![ALPN_HTTP11.to_vec()]
    };
    // Stateless resumption tickets keep no per-client state in pound.
    match rustls::crypto::ring::Ticketer::new() {
        Ok(t) => config.ticketer = t,
        Err(e) => warnings.push(at(
            listener,
            format!("warning: no session tickets ({e}); TLS sessions resume from a cache"),
        )),
    }
    Ok(Built {
        config: Arc::new(config),
        warnings,
    })
}

/// The files a `Cert` statement names: the file itself, or every regular file of a
/// directory, in name order.
fn cert_files(path: &std::path::Path) -> Result<Vec<std::path::PathBuf>, String> {
    match std::fs::metadata(path) {
        // pound's words for a file that is not there.
        Err(e) => {
            return Err(format!(
                "{}: stat error: {}",
                path.display(),
                pound_config::env::describe_io_error(&e)
            ));
        }
        Ok(m) if !m.is_dir() => return Ok(vec![path.to_path_buf()]),
        Ok(_) => {}
    }
    let entries = std::fs::read_dir(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", path.display()))?;
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            files.push(entry.path());
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(format!(
            "{}: no certificate files in directory",
            path.display()
        ));
    }
    Ok(files)
}

/// A key that cannot be used with its certificate, in words.
fn key_error(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InconsistentKeys(_) => {
            "the private key does not match the certificate".into()
        }
        rustls::Error::General(m) => format!("unusable private key: {m}"),
        other => format!("unusable certificate or key: {other}"),
    }
}

/// The certificates of a listener with their names, in `Cert` order.
#[derive(Debug)]
struct ByName(Vec<(Vec<String>, Arc<CertifiedKey>)>);

impl ResolvesServerCert for ByName {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let first = self.0.first().map(|(_, k)| k.clone());
        let Some(host) = hello.server_name() else {
            return first;
        };
        self.0
            .iter()
            .find(|(names, _)| names.iter().any(|n| x509::name_matches(n, host)))
            .map(|(_, k)| k.clone())
            .or(first)
    }
}

/// How client certificates are asked for and checked (`ClientCert`, `VerifyList`,
/// `CAlist`, `CRLlist`).
fn client_verifier(
    tls: &TlsListener,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, String> {
    let ClientCert { mode, depth } = tls.client_cert;
    if mode == 0 && tls.service_client_cert {
        // Services compare the certificate itself (`ClientCert "FILE"`): ask for one,
        // verify nothing.
        return Ok(Arc::new(AcceptAny {
            signatures: super::Signatures(provider.clone()),
            hints: Vec::new(),
            accept: true,
            mandatory: false,
        }));
    }
    if mode == 0 {
        return Ok(WebPkiClientVerifier::no_client_auth());
    }
    // The CA names sent to the client come from CAlist only, as with OpenSSL: without it
    // the list is empty, and clients may offer any certificate they have.
    let hints = match &tls.ca_list {
        Some(f) => {
            let certs = files::load_certs(&f.value).map_err(|e| format!("{}: {e}", f.span))?;
            let mut names = Vec::with_capacity(certs.len());
            for c in &certs {
                names
                    .push(DistinguishedName::from(x509::subject_der(c).map_err(
                        |e| format!("{}: {}: {e}", f.span, f.value.display()),
                    )?));
            }
            names
        }
        None => Vec::new(),
    };
    if mode == 3 {
        return Ok(Arc::new(AcceptAny {
            signatures: super::Signatures(provider.clone()),
            hints,
            accept: true,
            mandatory: false,
        }));
    }
    // Without `VerifyList` no certificate can be verified. pound starts all the same: mode 1
    // serves clients that present none, and every presented certificate fails (as OpenSSL
    // fails it with no trusted CA); mode 2 fails everyone. The caller warns.
    let Some(list) = &tls.verify_list else {
        return Ok(Arc::new(AcceptAny {
            signatures: super::Signatures(provider.clone()),
            hints,
            accept: false,
            mandatory: mode == 2,
        }));
    };
    let mut roots = RootCertStore::empty();
    for c in files::load_certs(&list.value).map_err(|e| format!("{}: {e}", list.span))? {
        roots.add(c).map_err(|e| {
            format!(
                "{}: {}: unusable CA certificate: {e}",
                list.span,
                list.value.display()
            )
        })?;
    }
    let mut builder =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .clear_root_hint_subjects()
            .add_root_hint_subjects(hints);
    if let Some(crl) = &tls.crl_list {
        let crls = files::load_crls(&crl.value).map_err(|e| format!("{}: {e}", crl.span))?;
        // As pound's X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL: every certificate of
        // the chain below the root is looked up, a CA that has no list on file makes
        // verification fail, and so does an expired list.
        builder = builder.with_crls(crls).enforce_revocation_expiration();
    }
    if mode == 1 {
        builder = builder.allow_unauthenticated();
    }
    let inner = builder
        .build()
        .map_err(|e| format!("{}: client certificate verification: {e}", list.span))?;
    Ok(Arc::new(DepthLimited { inner, depth }))
}

/// `ClientCert 3`: ask for a certificate and accept whatever is presented, checking only
/// that the client holds its key. With `accept` false (modes 1 and 2 without `VerifyList`),
/// every presented certificate is refused as of an unknown issuer.
struct AcceptAny {
    signatures: super::Signatures,
    hints: Vec<DistinguishedName>,
    accept: bool,
    mandatory: bool,
}

impl fmt::Debug for AcceptAny {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AcceptAny")
    }
}

impl ClientCertVerifier for AcceptAny {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if self.accept {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.tls12(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.signatures.schemes()
    }
}

/// Verification with a limit on the chain, as OpenSSL's verify depth: at most `depth` CA
/// certificates between the client's certificate and the trusted root. The chain counted
/// is the one the client sends, less any self-signed certificate (a root it includes).
struct DepthLimited {
    inner: Arc<dyn ClientCertVerifier>,
    depth: u8,
}

impl fmt::Debug for DepthLimited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DepthLimited({})", self.depth)
    }
}

impl ClientCertVerifier for DepthLimited {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        let cas = intermediates
            .iter()
            .filter(|c| !x509::self_signed(c))
            .count();
        if cas > usize::from(self.depth) {
            return Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Other(rustls::OtherError(Arc::new(TooDeep(self.depth)))),
            ));
        }
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[derive(Debug)]
struct TooDeep(u8);

impl fmt::Display for TooDeep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "certificate chain too long (ClientCert depth {})",
            self.0
        )
    }
}

impl std::error::Error for TooDeep {}

/// What backends are told about a client's TLS connection (pound.8, HTTPS Headers), worked
/// out once when the handshake completes.
#[derive(Debug)]
pub struct ClientTls {
    /// The `X-SSL-cipher` value: `TLSv1.3/` and OpenSSL's description of the suite.
    pub cipher: String,
    /// The client's certificate, when `ClientCert` asked for one and one was presented.
    pub cert: Option<x509::ClientFields>,
    /// The certificate the client presented (DER), for `ClientCert "FILE"` conditions.
    pub der: Option<Arc<[u8]>>,
}

impl ClientTls {
    pub fn new(conn: &rustls::ServerConnection, with_cert: bool) -> ClientTls {
        let version = match conn.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2",
            _ => "unknown",
        };
        let suite = conn
            .negotiated_cipher_suite()
            .map(super::description)
            .unwrap_or_default();
        let cert = if with_cert {
            conn.peer_certificates()
                .and_then(|c| c.first())
                .and_then(|c| x509::client_fields(c).ok())
        } else {
            None
        };
        let der = conn
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|c| Arc::from(c.as_ref()));
        ClientTls {
            cipher: format!("{version}/{suite}"),
            cert,
            der,
        }
    }
}
