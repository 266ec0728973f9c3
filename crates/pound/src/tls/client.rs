//! HTTPS backends: the client side of TLS.
//!
//! pound does not verify a backend's certificate: backends are typically addressed by IP
//! and carry self-signed or internal certificates, and existing configurations rely on that.
//! The handshake's signatures are still checked, so the connection is encrypted to whoever
//! holds the presented certificate's key; what is skipped is whether that certificate is
//! trusted and names the host. Use HTTPS to backends for confidentiality on a network you
//! control, not for authenticating the backend.
//!
//! The name sent by SNI is the request's host (without port), or the backend's own
//! configured host name when the request has no usable one. IP addresses are never sent.

use std::sync::Arc;

use pound_config::model::BackendTls;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};

/// Accepts any certificate, but checks that the peer holds its key.
#[derive(Debug)]
struct Unverified(super::Signatures);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
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
        self.0.tls12(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.schemes()
    }
}

/// The client configuration of one HTTPS backend. Warnings are about `Ciphers` entries that
/// cannot be honoured.
pub fn config(tls: &BackendTls) -> Result<(Arc<ClientConfig>, Vec<String>), String> {
    let s = super::settings(
        tls.ciphers.as_deref(),
        tls.ciphersuites.as_deref(),
        tls.disable,
    )?;
    let builder = ClientConfig::builder_with_provider(s.provider.clone())
        .with_protocol_versions(&s.versions)
        .map_err(|e| format!("TLS settings: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Unverified(super::Signatures(
            s.provider.clone(),
        ))));
    let mut config = match &tls.cert {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let (certs, key) = super::files::load_cert(path)?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| format!("{}: {e}", path.display()))?
        }
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((Arc::new(config), s.warnings))
}

/// The SNI name for a request to a backend: the request's host without its port, else the
/// backend's configured host name; `None` for addresses, which are not sent.
pub fn server_name(host: Option<&[u8]>, fallback: Option<&str>) -> Option<ServerName<'static>> {
    let dns = |s: &str| match ServerName::try_from(s) {
        Ok(n @ ServerName::DnsName(_)) => Some(n.to_owned()),
        _ => None,
    };
    host.and_then(|h| {
        let (name, _) = crate::rules::target::host_port(h);
        std::str::from_utf8(name).ok().and_then(dns)
    })
    .or_else(|| fallback.and_then(dns))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(host: Option<&str>, fallback: Option<&str>) -> Option<String> {
        server_name(host.map(str::as_bytes), fallback).map(|n| match n {
            ServerName::DnsName(d) => d.as_ref().to_string(),
            other => format!("{other:?}"),
        })
    }

    #[test]
    fn sni_comes_from_the_host_then_the_backend_name() {
        assert_eq!(
            name(Some("www.example.org:8443"), None).as_deref(),
            Some("www.example.org")
        );
        assert_eq!(
            name(Some("Example.ORG"), Some("b")).as_deref(),
            Some("Example.ORG")
        );
        assert_eq!(
            name(Some("192.0.2.1:80"), Some("be.internal")).as_deref(),
            Some("be.internal")
        );
        assert_eq!(name(Some("[::1]:80"), None), None);
        assert_eq!(name(None, Some("10.0.0.1")), None);
        assert_eq!(name(Some("bad host"), Some("be")).as_deref(), Some("be"));
    }

    #[test]
    fn certificate_files_are_checked() {
        use crate::tls::files::load_cert;
        let dir = std::env::temp_dir().join(format!("pound-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let missing = dir.join("missing.pem");
        assert!(load_cert(&missing).unwrap_err().contains("missing.pem"));
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "nothing\n").expect("write");
        assert!(load_cert(&empty).unwrap_err().contains("no certificate"));

        let key = rcgen::KeyPair::generate().expect("key");
        let cert = rcgen::CertificateParams::new(vec!["client".into()])
            .expect("params")
            .self_signed(&key)
            .expect("cert");
        let only_cert = dir.join("cert.pem");
        std::fs::write(&only_cert, cert.pem()).expect("write");
        assert!(load_cert(&only_cert)
            .unwrap_err()
            .contains("no private key"));
        let both = dir.join("both.pem");
        std::fs::write(&both, cert.pem() + &key.serialize_pem()).expect("write");
        let (certs, _) = load_cert(&both).expect("loads");
        assert_eq!(certs.len(), 1);

        // A key that is not the certificate's is refused when the configuration is built.
        let other = rcgen::KeyPair::generate().expect("key");
        let mismatched = dir.join("mismatched.pem");
        std::fs::write(&mismatched, cert.pem() + &other.serialize_pem()).expect("write");
        let tls = BackendTls {
            cert: Some(mismatched),
            ..BackendTls::default()
        };
        assert!(config(&tls).is_err());
        let tls = BackendTls {
            cert: Some(both),
            ..BackendTls::default()
        };
        assert!(config(&tls).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
