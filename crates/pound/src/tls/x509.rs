//! What pound reads from certificates: the names a server certificate answers to (for SNI),
//! and the client-certificate fields passed to backends in `X-SSL-*` headers.

use rustls::pki_types::CertificateDer;
use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate, X509Name};

fn parse<'a>(der: &'a CertificateDer<'_>) -> Result<X509Certificate<'a>, String> {
    X509Certificate::from_der(der.as_ref())
        .map(|(_, c)| c)
        .map_err(|e| format!("cannot parse certificate: {e}"))
}

/// The names a server certificate is chosen by: its subject common names, then its DNS
/// subject alternative names, lower-cased.
pub fn dns_names(der: &CertificateDer<'_>) -> Result<Vec<String>, String> {
    let cert = parse(der)?;
    let mut names: Vec<String> = cert
        .subject()
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok())
        .map(str::to_ascii_lowercase)
        .collect();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            if let GeneralName::DNSName(d) = n {
                names.push(d.to_ascii_lowercase());
            }
        }
    }
    Ok(names)
}

/// Whether the client's server name `host` matches certificate name `name` (lower-case):
/// equal ignoring case, or `*.rest` where `*` stands for exactly one whole label.
pub fn name_matches(name: &str, host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    match name.strip_prefix("*.") {
        Some(rest) => host
            .split_once('.')
            .is_some_and(|(label, tail)| !label.is_empty() && tail.eq_ignore_ascii_case(rest)),
        None => name.eq_ignore_ascii_case(host),
    }
}

/// The DER encoding of a certificate's subject, as sent in a list of acceptable CAs.
pub fn subject_der(der: &CertificateDer<'_>) -> Result<Vec<u8>, String> {
    Ok(parse(der)?.subject().as_raw().to_vec())
}

/// Whether a certificate names itself as its issuer (a root).
pub fn self_signed(der: &CertificateDer<'_>) -> bool {
    parse(der).is_ok_and(|c| c.subject().as_raw() == c.issuer().as_raw())
}

/// The client-certificate fields pound passes on, formatted as pound (OpenSSL) prints them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFields {
    /// `C = DE, O = Example, CN = client`: OpenSSL's one-line form.
    pub subject: String,
    pub issuer: String,
    /// `Nov 21 15:42:23 2026 GMT`.
    pub not_before: String,
    pub not_after: String,
    /// The serial number in decimal, however long.
    pub serial: String,
    /// The PEM text with its lines joined by `CRLF TAB`: one header field folded over
    /// several lines, as pound sends it.
    pub pem_folded: String,
}

pub fn client_fields(der: &CertificateDer<'_>) -> Result<ClientFields, String> {
    let cert = parse(der)?;
    let validity = cert.validity();
    Ok(ClientFields {
        subject: one_line(cert.subject()),
        issuer: one_line(cert.issuer()),
        not_before: asn1_time(validity.not_before.timestamp()),
        not_after: asn1_time(validity.not_after.timestamp()),
        serial: cert.tbs_certificate.serial.to_string(),
        pem_folded: pem_folded(der.as_ref()),
    })
}

/// OpenSSL's short names of the attributes found in distinguished names; others are shown
/// by their dotted number, as OpenSSL shows unknown ones.
const SHORT_NAMES: &[(&str, &str)] = &[
    ("2.5.4.3", "CN"),
    ("2.5.4.4", "SN"),
    ("2.5.4.5", "serialNumber"),
    ("2.5.4.6", "C"),
    ("2.5.4.7", "L"),
    ("2.5.4.8", "ST"),
    ("2.5.4.9", "street"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("2.5.4.12", "title"),
    ("2.5.4.13", "description"),
    ("2.5.4.17", "postalCode"),
    ("2.5.4.41", "name"),
    ("2.5.4.42", "GN"),
    ("2.5.4.43", "initials"),
    ("2.5.4.44", "generationQualifier"),
    ("2.5.4.46", "dnQualifier"),
    ("2.5.4.65", "pseudonym"),
    ("2.5.4.97", "organizationIdentifier"),
    ("1.2.840.113549.1.9.1", "emailAddress"),
    ("0.9.2342.19200300.100.1.1", "UID"),
    ("0.9.2342.19200300.100.1.25", "DC"),
    ("1.3.6.1.4.1.311.60.2.1.1", "jurisdictionL"),
    ("1.3.6.1.4.1.311.60.2.1.2", "jurisdictionST"),
    ("1.3.6.1.4.1.311.60.2.1.3", "jurisdictionC"),
    ("2.5.4.15", "businessCategory"),
];

/// A name as `X509_NAME_print_ex(..., XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB)` prints it:
/// attributes in certificate order, `, ` between RDNs and ` + ` within one, `SN = value`;
/// values holding RFC 2253 specials are quoted (with `"` and `\` escaped by a backslash),
/// control characters are written `\XX`, and other text is passed as UTF-8.
pub fn one_line(name: &X509Name<'_>) -> String {
    let mut out = String::new();
    for (i, rdn) in name.iter_rdn().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        for (j, atv) in rdn.iter().enumerate() {
            if j > 0 {
                out.push_str(" + ");
            }
            let oid = atv.attr_type().to_id_string();
            match SHORT_NAMES.iter().find(|(o, _)| *o == oid) {
                Some((_, sn)) => out.push_str(sn),
                None => out.push_str(&oid),
            }
            out.push_str(" = ");
            let value = atv.attr_value();
            match string_value(value.tag(), value.data) {
                Some(text) => escape_value(&text, &mut out),
                None => {
                    // Not a string type: dumped in hex, as OpenSSL does (which also
                    // shows the tag and length bytes before these contents).
                    out.push('#');
                    for b in value.data {
                        out.push_str(&format!("{b:02X}"));
                    }
                }
            }
        }
    }
    out
}

/// The text of an ASN.1 string, converted to UTF-8 as OpenSSL does.
fn string_value(tag: Tag, data: &[u8]) -> Option<String> {
    match tag {
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::NumericString
        | Tag::Ia5String
        | Tag::VisibleString => Some(String::from_utf8_lossy(data).into_owned()),
        // One byte per character.
        Tag::TeletexString | Tag::GeneralString | Tag::GraphicString | Tag::VideotexString => {
            Some(data.iter().map(|&b| char::from(b)).collect())
        }
        Tag::BmpString => {
            let units = data
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)]));
            Some(
                char::decode_utf16(units)
                    .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                    .collect(),
            )
        }
        Tag::UniversalString => Some(
            data.chunks(4)
                .map(|c| {
                    let mut b = [0u8; 4];
                    b[..c.len()].copy_from_slice(c);
                    char::from_u32(u32::from_be_bytes(b)).unwrap_or(char::REPLACEMENT_CHARACTER)
                })
                .collect(),
        ),
        _ => None,
    }
}

fn escape_value(text: &str, out: &mut String) {
    let last = text.chars().count().saturating_sub(1);
    let quote = text.chars().enumerate().any(|(i, c)| {
        matches!(c, ',' | '+' | '<' | '>' | ';')
            || (i == 0 && matches!(c, ' ' | '#'))
            || (i == last && c == ' ')
    });
    if quote {
        out.push('"');
    }
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\{:02X}", c as u32));
            }
            c => out.push(c),
        }
    }
    if quote {
        out.push('"');
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A time as `ASN1_TIME_print` shows it: `Jan  5 07:08:09 2027 GMT`.
pub fn asn1_time(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{} {:2} {:02}:{:02}:{:02} {} GMT",
        MONTHS[(m - 1) as usize],
        d,
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        y
    )
}

/// Year, month (1-12) and day of the days since 1970-01-01, in the proleptic Gregorian
/// calendar (the well-known era-based conversion).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The PEM form of a certificate, its lines joined by `CRLF TAB`.
fn pem_folded(der: &[u8]) -> String {
    let b64 = crate::base64::encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 * 3 + 80);
    out.push_str("-----BEGIN CERTIFICATE-----");
    for line in b64.as_bytes().chunks(64) {
        out.push_str("\r\n\t");
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
    }
    out.push_str("\r\n\t-----END CERTIFICATE-----");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_stand_for_one_label() {
        assert!(name_matches("www.example.org", "WWW.Example.org"));
        assert!(name_matches("www.example.org", "www.example.org."));
        assert!(!name_matches("www.example.org", "example.org"));
        assert!(name_matches("*.example.org", "a.example.org"));
        assert!(name_matches("*.example.org", "A.EXAMPLE.ORG"));
        assert!(!name_matches("*.example.org", "a.b.example.org"));
        assert!(!name_matches("*.example.org", "example.org"));
        assert!(!name_matches("*.example.org", ".example.org"));
        assert!(!name_matches("*.example.org", "aexample.org"));
    }

    #[test]
    fn names_come_from_the_common_name_and_alternative_names() {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params =
            rcgen::CertificateParams::new(vec!["Alt.Example.org".into(), "*.w.example.org".into()])
                .expect("params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "CN.example.org");
        let cert = params.self_signed(&key).expect("cert");
        let names = dns_names(cert.der()).expect("parses");
        assert_eq!(
            names,
            ["cn.example.org", "alt.example.org", "*.w.example.org"]
        );
        assert!(self_signed(cert.der()));
    }

    #[test]
    fn times_print_as_openssl_does() {
        assert_eq!(asn1_time(0), "Jan  1 00:00:00 1970 GMT");
        assert_eq!(asn1_time(1_795_275_743), "Nov 21 15:42:23 2026 GMT");
        assert_eq!(asn1_time(951_782_400), "Feb 29 00:00:00 2000 GMT");
        assert_eq!(asn1_time(253_402_300_799), "Dec 31 23:59:59 9999 GMT");
    }

    #[test]
    fn client_fields_follow_openssl() {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        let dn = &mut params.distinguished_name;
        dn.push(rcgen::DnType::CountryName, "DE");
        dn.push(rcgen::DnType::OrganizationName, "Exämple, Inc.");
        dn.push(rcgen::DnType::CommonName, "client \"q\"");
        dn.push(rcgen::DnType::OrganizationalUnitName, " lead#");
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&[
            0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
        ]));
        params.not_before = rcgen::date_time_ymd(2026, 1, 5);
        let cert = params.self_signed(&key).expect("cert");
        let f = client_fields(cert.der()).expect("parses");
        assert_eq!(
            f.subject,
            // rcgen writes the common name first; `openssl x509 -nameopt oneline,-esc_msb`
            // prints the same attributes in the same way.
            "CN = client \\\"q\\\", C = DE, O = \"Exämple, Inc.\", OU = \" lead#\""
        );
        assert_eq!(f.issuer, f.subject);
        assert_eq!(f.not_before, "Jan  5 00:00:00 2026 GMT");
        assert_eq!(f.serial, "4759477275222530853130");
        assert!(f
            .pem_folded
            .starts_with("-----BEGIN CERTIFICATE-----\r\n\tMII"));
        assert!(f.pem_folded.ends_with("\r\n\t-----END CERTIFICATE-----"));
        let body: String = f
            .pem_folded
            .split("\r\n\t")
            .filter(|l| !l.starts_with("-----"))
            .collect();
        assert_eq!(
            crate::base64::decode(body.as_bytes()).as_deref(),
            Some(cert.der().as_ref())
        );
    }
}
