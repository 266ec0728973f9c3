//! TLS on rustls: the protocol and cipher settings pound.cfg can express, and connections to
//! backends over HTTPS.
//!
//! rustls speaks TLS 1.2 and 1.3 only. `Disable SSLv2|SSLv3|TLSv1|TLSv1_1` therefore changes
//! nothing (those versions are never offered), `Disable TLSv1_2` leaves TLS 1.3 alone, and
//! `Ciphers` selects among the TLS 1.2 suites ([`ciphers`]).

pub mod ciphers;
pub mod client;

use std::sync::Arc;

use pound_config::model::TlsProtocol;
use rustls::crypto::{ring, CryptoProvider};
use rustls::SupportedProtocolVersion;

/// The crypto provider and protocol versions for a `Ciphers`/`Disable` pair, with warnings
/// about what cannot be honoured.
pub struct Settings {
    pub provider: Arc<CryptoProvider>,
    pub versions: Vec<&'static SupportedProtocolVersion>,
    pub warnings: Vec<String>,
}

pub fn settings(ciphers: Option<&str>, disable: Option<TlsProtocol>) -> Result<Settings, String> {
    let mut provider = ring::default_provider();
    let mut warnings = Vec::new();
    let tls12 = disable.is_none_or(|d| d < TlsProtocol::TlsV1_2);
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
        let tls13 = provider
            .cipher_suites
            .iter()
            .filter(|s| s.version() == &rustls::version::TLS13)
            .copied();
        let chosen = sel.suites.iter().filter_map(|name| {
            provider.cipher_suites.iter().copied().find(|s| {
                s.version() == &rustls::version::TLS12 && openssl_name(s.suite()) == Some(name)
            })
        });
        provider.cipher_suites = tls13.chain(chosen).collect();
    }
    let versions = if tls12
        && provider
            .cipher_suites
            .iter()
            .any(|s| s.version() == &rustls::version::TLS12)
    {
        vec![&rustls::version::TLS13, &rustls::version::TLS12]
    } else {
        vec![&rustls::version::TLS13]
    };
    Ok(Settings {
        provider: Arc::new(provider),
        versions,
        warnings,
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
    fn ciphers_and_disable_shape_the_provider() {
        let s = settings(Some("ECDHE-RSA-AES128-GCM-SHA256"), None).expect("valid");
        assert_eq!(s.provider.cipher_suites.len(), 4);
        assert_eq!(s.versions.len(), 2);
        assert!(s.warnings.is_empty());

        let s = settings(None, Some(TlsProtocol::TlsV1_2)).expect("valid");
        assert_eq!(s.versions, [&rustls::version::TLS13]);
        let s = settings(None, Some(TlsProtocol::TlsV1_1)).expect("valid");
        assert_eq!(s.versions.len(), 2);

        let s = settings(Some("AES128-SHA"), None).expect("valid");
        assert_eq!(s.versions, [&rustls::version::TLS13]);
        assert_eq!(s.warnings.len(), 2, "{:?}", s.warnings);
        assert!(settings(Some("HIGH:@NOPE"), None).is_err());
    }
}
