//! The built-in headers (pound.8, BUILT-IN HEADERS; HTTPS Headers).

use crate::tls::server::ClientTls;

/// Folds every `X-Forwarded-For` field into the first one and appends the client address
/// (or adds the field). A client cannot slip in a second field that a backend reading the
/// last one would trust.
pub(super) fn merge_forwarded_for(head: &mut crate::http::head::Head, ip: &[u8]) {
    let fields: Vec<usize> = head.find("x-forwarded-for").collect();
    let Some(&first) = fields.first() else {
        head.push("X-Forwarded-For", ip);
        return;
    };
    let mut value = Vec::new();
    for &i in &fields {
        let v = head.value(i);
        if !v.is_empty() {
            if !value.is_empty() {
                value.extend_from_slice(b", ");
            }
            value.extend_from_slice(v);
        }
    }
    if !value.is_empty() {
        value.extend_from_slice(b", ");
    }
    value.extend_from_slice(ip);
    head.set_value(first, &value);
    // Drop the others, keeping the first in its place.
    let keep = head.fields[first];
    let buf = &head.buf;
    head.fields
        .retain(|f| *f == keep || !buf[f.name.range()].eq_ignore_ascii_case(b"x-forwarded-for"));
}

/// The `X-SSL-*` headers (pound.8, HTTPS Headers), under the names and in the order pound
/// sends them. Whatever the client sent under any `X-SSL-` (or `X-SSL_`, which CGI-style
/// backends read as the same variable) name is removed first, on every listener, so that a
/// backend can trust these fields.
pub(super) fn add_ssl_headers(head: &mut crate::http::head::Head, tls: Option<&ClientTls>) {
    let buf = &head.buf;
    head.fields.retain(|f| {
        let name = &buf[f.name.range()];
        !(name.len() >= 6
            && name[..5].eq_ignore_ascii_case(b"x-ssl")
            && matches!(name[5], b'-' | b'_'))
    });
    let Some(tls) = tls else {
        return;
    };
    head.push("X-SSL-cipher", tls.cipher.as_bytes());
    if let Some(c) = &tls.cert {
        head.push("X-SSL-Subject", c.subject.as_bytes());
        head.push("X-SSL-Issuer", c.issuer.as_bytes());
        head.push("X-SSL-notBefore", c.not_before.as_bytes());
        head.push("X-SSL-notAfter", c.not_after.as_bytes());
        head.push("X-SSL-serial", c.serial.as_bytes());
        head.push("X-SSL-certificate", c.pem_folded.as_bytes());
    }
}
