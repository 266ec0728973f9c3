//! TLS on rustls: the protocol and cipher settings pound.cfg can express, and connections to
//! backends over HTTPS.
//!
//! rustls speaks TLS 1.2 and 1.3 only. `Disable SSLv2|SSLv3|TLSv1|TLSv1_1` therefore changes
//! nothing (those versions are never offered), `Disable TLSv1_2` leaves TLS 1.3 alone, and
//! `Ciphers` selects among the TLS 1.2 suites ([`ciphers`]).

pub mod ciphers;
pub mod client;
pub mod files;
pub mod server;
pub mod x509;

use std::sync::Arc;

use pound_config::model::TlsProtocol;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::CertificateDer;
use rustls::{DigitallySignedStruct, SignatureScheme, SupportedProtocolVersion};

/// Checks of handshake signatures with a provider's algorithms: what the verifiers that
/// skip certificate validation (HTTPS backends, `ClientCert 3`) still insist on, so that the
/// peer must hold the key of the certificate it presents.
#[derive(Debug)]
pub struct Signatures(pub Arc<CryptoProvider>);

impl Signatures {
    pub fn tls12(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algs)
    }

    pub fn tls13(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algs)
    }

    pub fn schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Warnings about global TLS statements that cannot be honoured: none any more (`SSLEngine`
/// and `ECDHcurve` are reported, and ignored, by the parser, as pound 4.23 does).
pub fn global_warnings(_global: &pound_config::model::Global) -> Vec<String> {
    Vec::new()
}

/// Adds `new` warnings to `all`, each once: listeners share global statements, whose
/// warnings would otherwise repeat.
pub fn add_warnings(all: &mut Vec<String>, new: Vec<String>) {
    for w in new {
        if !all.contains(&w) {
            all.push(w);
        }
    }
}

/// Reads and checks every TLS file and setting of the configuration — listener
/// certificates, CA and revocation lists, backend client certificates, cipher lists — as
/// `pound -c` must. Returns the warnings to print, or the first error (location first).
pub fn check(config: &pound_config::Config) -> Result<Vec<String>, String> {
    use pound_config::model::{BackendKind, Service};
    let mut warnings = global_warnings(&config.global);
    for l in &config.listeners {
        if let Some(t) = &l.tls {
            let built = server::build(t, &config.global, &l.span, l.http2_enabled())?;
            add_warnings(&mut warnings, built.warnings);
        }
    }
    let mut backend = |tls: Option<&pound_config::model::BackendTls>, span: &pound_config::Span| {
        if let Some(t) = tls {
            let (_, warned) = client::config(t).map_err(|e| format!("{span}: {e}"))?;
            warnings.extend(warned.into_iter().map(|w| format!("{span}: warning: {w}")));
        }
        Ok::<(), String>(())
    };
    for nb in &config.backends {
        backend(nb.backend.tls.as_ref(), &nb.span)?;
    }
    let services: Vec<&Service> = config
        .services
        .iter()
        .chain(config.listeners.iter().flat_map(|l| l.services.iter()))
        .collect();
    for s in services {
        for b in s.backends.iter().chain(&s.emergency) {
            if let BackendKind::Regular(r) = &b.kind {
                backend(r.tls.as_ref(), &b.span)?;
            }
        }
    }
    Ok(warnings)
}

/// The crypto provider and protocol versions for a `Ciphers`/`Disable` pair, with warnings
/// about what cannot be honoured.
pub struct Settings {
    pub provider: Arc<CryptoProvider>,
    pub versions: Vec<&'static SupportedProtocolVersion>,
    pub warnings: Vec<String>,
}

pub fn settings(
    ciphers: Option<&str>,
    suites: Option<&[String]>,
    disable: Option<TlsProtocol>,
) -> Result<Settings, String> {
    let mut provider = ring::default_provider();
    let mut warnings = Vec::new();
    let tls12 = disable.is_none_or(|d| d < TlsProtocol::TlsV1_2);
    if let Some(names) = suites {
        // `Ciphers -ciphersuites` (pound 4.21): the TLS 1.3 suites, in the order given.
        let mut chosen = Vec::new();
        for name in names {
            match provider.cipher_suites.iter().copied().find(|s| {
                s.version() == &rustls::version::TLS13 && tls13_name(s.suite()) == Some(name)
            }) {
                Some(s)
                    if !chosen
                        .iter()
                        .any(|c: &rustls::SupportedCipherSuite| c.suite() == s.suite()) =>
                {
                    chosen.push(s)
                }
                Some(_) => {}
                None => warnings.push(format!(
                    "Ciphers -ciphersuites: {name} is not supported by this build; ignored"
                )),
            }
        }
        if chosen.is_empty() {
            warnings.push("Ciphers -ciphersuites leaves no TLS 1.3 cipher suite".to_string());
        }
        provider
            .cipher_suites
            .retain(|s| s.version() != &rustls::version::TLS13);
        chosen.extend(provider.cipher_suites.iter().copied());
        provider.cipher_suites = chosen;
    }
    if let Some(list) = ciphers {
        let sel = ciphers::select(list).map_err(|e| format!("Ciphers \"{list}\": {e}"))?;
        for u in &sel.unsupported {
            warnings.push(format!(
                "Ciphers: {u} selects no cipher suite this build supports; ignored"
            ));
        }
        if sel.suites.is_empty() && tls12 {
            warnings.push(format!(
                "Ciphers \"{list}\" leaves no TLS 1.2 cipher suite; only TLS 1.3 will be used"
            ));
        }
        let tls13: Vec<_> = provider
            .cipher_suites
            .iter()
            .filter(|s| s.version() == &rustls::version::TLS13)
            .copied()
            .collect();
        let chosen = sel.suites.iter().filter_map(|name| {
            provider.cipher_suites.iter().copied().find(|s| {
                s.version() == &rustls::version::TLS12 && openssl_name(s.suite()) == Some(name)
            })
        });
        provider.cipher_suites = tls13.into_iter().chain(chosen).collect();
    }
    let has = |v: &rustls::SupportedProtocolVersion| {
        provider.cipher_suites.iter().any(|s| s.version() == v)
    };
    let mut versions = Vec::new();
    if has(&rustls::version::TLS13) {
        versions.push(&rustls::version::TLS13);
    }
    if tls12 && has(&rustls::version::TLS12) {
        versions.push(&rustls::version::TLS12);
    }
    if versions.is_empty() {
        return Err("Ciphers and Disable leave no cipher suite to use".to_string());
    }
    Ok(Settings {
        provider: Arc::new(provider),
        versions,
        warnings,
    })
}

/// The OpenSSL (and IANA) name of a TLS 1.3 suite of this build.
fn tls13_name(s: rustls::CipherSuite) -> Option<&'static str> {
    use rustls::CipherSuite as C;
    Some(match s {
        C::TLS13_AES_256_GCM_SHA384 => "TLS_AES_256_GCM_SHA384",
        C::TLS13_AES_128_GCM_SHA256 => "TLS_AES_128_GCM_SHA256",
        C::TLS13_CHACHA20_POLY1305_SHA256 => "TLS_CHACHA20_POLY1305_SHA256",
        _ => return None,
    })
}

/// The OpenSSL name of a TLS 1.2 suite of this build.
fn openssl_name(s: rustls::CipherSuite) -> Option<&'static str> {
    use rustls::CipherSuite as C;
    Some(match s {
        C::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => "ECDHE-ECDSA-AES256-GCM-SHA384",
        C::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => "ECDHE-ECDSA-AES128-GCM-SHA256",
        C::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => "ECDHE-ECDSA-CHACHA20-POLY1305",
        C::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => "ECDHE-RSA-AES256-GCM-SHA384",
        C::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => "ECDHE-RSA-AES128-GCM-SHA256",
        C::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 => "ECDHE-RSA-CHACHA20-POLY1305",
        _ => return None,
    })
}

/// A suite as OpenSSL 3 describes it (`SSL_CIPHER_description`, as `openssl ciphers -v`
/// prints it), which pound sends in `X-SSL-cipher`.
pub fn description(s: rustls::SupportedCipherSuite) -> String {
    use rustls::CipherSuite as C;
    let suite = s.suite();
    let (name, version, kx, au) = match suite {
        C::TLS13_AES_256_GCM_SHA384 => ("TLS_AES_256_GCM_SHA384", "TLSv1.3", "any", "any"),
        C::TLS13_AES_128_GCM_SHA256 => ("TLS_AES_128_GCM_SHA256", "TLSv1.3", "any", "any"),
        C::TLS13_CHACHA20_POLY1305_SHA256 => {
            ("TLS_CHACHA20_POLY1305_SHA256", "TLSv1.3", "any", "any")
        }
        other => {
            let name = openssl_name(other).unwrap_or("UNKNOWN");
            let au = if name.contains("ECDSA") {
                "ECDSA"
            } else {
                "RSA"
            };
            (name, "TLSv1.2", "ECDH", au)
        }
    };
    let enc = if name.contains("CHACHA20") {
        "CHACHA20/POLY1305(256)"
    } else if name.contains("AES256") || name.contains("AES_256") {
        "AESGCM(256)"
    } else {
        "AESGCM(128)"
    };
    format!("{name:<30} {version:<7} Kx={kx:<8} Au={au:<5} Enc={enc:<22} Mac=AEAD")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_suite_exists_in_the_provider() {
        let provider = ring::default_provider();
        for s in ciphers::SUITES {
            assert!(
                provider
                    .cipher_suites
                    .iter()
                    .any(|p| openssl_name(p.suite()) == Some(s.name)),
                "{}",
                s.name
            );
        }
    }

    #[test]
    fn descriptions_match_openssl() {
        // From `openssl ciphers -v` (OpenSSL 3).
        let expected = [
            "TLS_AES_256_GCM_SHA384         TLSv1.3 Kx=any      Au=any   Enc=AESGCM(256)            Mac=AEAD",
            "TLS_AES_128_GCM_SHA256         TLSv1.3 Kx=any      Au=any   Enc=AESGCM(128)            Mac=AEAD",
            "TLS_CHACHA20_POLY1305_SHA256   TLSv1.3 Kx=any      Au=any   Enc=CHACHA20/POLY1305(256) Mac=AEAD",
            "ECDHE-ECDSA-AES256-GCM-SHA384  TLSv1.2 Kx=ECDH     Au=ECDSA Enc=AESGCM(256)            Mac=AEAD",
            "ECDHE-ECDSA-AES128-GCM-SHA256  TLSv1.2 Kx=ECDH     Au=ECDSA Enc=AESGCM(128)            Mac=AEAD",
            "ECDHE-ECDSA-CHACHA20-POLY1305  TLSv1.2 Kx=ECDH     Au=ECDSA Enc=CHACHA20/POLY1305(256) Mac=AEAD",
            "ECDHE-RSA-AES256-GCM-SHA384    TLSv1.2 Kx=ECDH     Au=RSA   Enc=AESGCM(256)            Mac=AEAD",
            "ECDHE-RSA-AES128-GCM-SHA256    TLSv1.2 Kx=ECDH     Au=RSA   Enc=AESGCM(128)            Mac=AEAD",
            "ECDHE-RSA-CHACHA20-POLY1305    TLSv1.2 Kx=ECDH     Au=RSA   Enc=CHACHA20/POLY1305(256) Mac=AEAD",
        ];
        let provider = ring::default_provider();
        let mut got: Vec<String> = provider
            .cipher_suites
            .iter()
            .map(|s| description(*s))
            .collect();
        got.sort();
        let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn ciphers_and_disable_shape_the_provider() {
        let s = settings(Some("ECDHE-RSA-AES128-GCM-SHA256"), None, None).expect("valid");
        assert_eq!(s.provider.cipher_suites.len(), 4);
        assert_eq!(s.versions.len(), 2);
        assert!(s.warnings.is_empty());

        let s = settings(None, None, Some(TlsProtocol::TlsV1_2)).expect("valid");
        assert_eq!(s.versions, [&rustls::version::TLS13]);
        let s = settings(None, None, Some(TlsProtocol::TlsV1_1)).expect("valid");
        assert_eq!(s.versions.len(), 2);

        let s = settings(Some("AES128-SHA"), None, None).expect("valid");
        assert_eq!(s.versions, [&rustls::version::TLS13]);
        assert_eq!(s.warnings.len(), 2, "{:?}", s.warnings);
        assert!(settings(Some("HIGH:@NOPE"), None, None).is_err());
    }
}
