//! Reading certificates, keys, CA lists and revocation lists from PEM files, with errors
//! that name the file and what is wrong with it.

use std::path::Path;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};

/// Reads a PEM file holding a certificate chain (the end-entity certificate first) and its
/// unencrypted private key.
pub fn load_cert(
    path: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let name = path.display();
    let bytes = read(path)?;
    let certs = certificates(path, &bytes)?;
    let key = PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| match e {
        pem::Error::NoItemsFound => {
            format!("{name}: no private key found (an encrypted key cannot be used)")
        }
        e => format!("{name}: bad private key: {e}"),
    })?;
    Ok((certs, key))
}

/// Reads a PEM file of one or more certificates (a CA list).
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    certificates(path, &read(path)?)
}

/// Reads a PEM file of one or more certificate revocation lists.
pub fn load_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, String> {
    let name = path.display();
    let bytes = read(path)?;
    let crls = CertificateRevocationListDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{name}: bad revocation list: {e}"))?;
    if crls.is_empty() {
        return Err(format!("{name}: no revocation list found"));
    }
    Ok(crls)
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn certificates(path: &Path, bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let name = path.display();
    let certs = CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{name}: bad certificate: {e}"))?;
    if certs.is_empty() {
        return Err(format!("{name}: no certificate found"));
    }
    Ok(certs)
}
