//! Responses pound writes itself: error pages, as protocol-neutral fields and a body
//! (what each protocol's side of an exchange then sends its way), and as HTTP/1 bytes.

use std::borrow::Cow;
use std::io::Write;

use crate::http::head::Head;
use crate::http::status::reason;
use crate::http::Version;
use pound_config::model::Page;

/// The default text of each error status, shown in the default page.
fn text(code: u16) -> &'static str {
    match code {
        400 => "Your browser (or proxy) sent a request that this server could not understand.",
        401 => "This server could not verify that you are authorized to access the document requested.  Either you supplied the wrong credentials (e.g., bad password), or your browser doesn't understand how to supply the credentials required.",
        403 => "You don't have permission to access this resource. It is either read-protected or not readable by the server.",
        404 => "The requested URL was not found on this server.",
        405 => "The request method is not supported for the requested resource.",
        413 => "The request content is larger than the proxy server is able to process.",
        414 => "The length of the requested URL exceeds the capacity limit for this server.",
        429 => "Originator sent too many requests in a given amount of time.",
        500 => "The server encountered an internal error and was unable to complete your request.",
        501 => "The server does not support the action requested.",
        200 => "Success",
        503 => "The server is temporarily unable to service your request due to maintenance downtime or capacity problems. Please try again later.",
        _ => reason(code),
    }
}

/// pound's default page for an error status.
pub fn default_page(code: u16) -> Vec<u8> {
    let r = reason(code);
    let mut page = Vec::with_capacity(256);
    let _ = write!(
        page,
        "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\"><html><head><title>{code} {r}</title></head><body><h1>{r}</h1><p>{}</p></body></html>",
        text(code)
    );
    page
}

/// The body of pound's answer for an error status: the listener's `ErrorFile` page when it
/// has one, else the default page.
pub fn page(code: u16, custom: Option<&Page>) -> Cow<'_, [u8]> {
    match custom {
        Some(p) => Cow::Borrowed(&p.body),
        None => Cow::Owned(default_page(code)),
    }
}

/// The fields pound adds to a page of its own, unless the page's file sets them.
const PAGE_FIELDS: [(&str, &[u8]); 4] = [
    ("Content-Type", b"text/html"),
    ("Expires", b"now"),
    ("Pragma", b"no-cache"),
    ("Cache-control", b"no-cache,no-store"),
];

/// The fields of pound's error answer with a body of `len` bytes, field for field as pound
/// sends them: `allow` first when given (405), then for `HTTP/1.1` `Content-Length` and
/// `Connection: close`; for `HTTP/1.0` (an HTTP/1.0 request, or one too malformed to have a
/// version, which pound answers in 1.0) the body is delimited by the end of the connection
/// and neither is sent. Then the fields of the page's file (pound 4.17), and pound's own
/// (`Content-Type: text/html` and no caching) where the file does not set them. Error
/// responses always close the connection.
pub fn error_fields(
    head: &mut Head,
    version: Version,
    len: usize,
    allow: Option<&str>,
    custom: Option<&Page>,
) {
    head.clear();
    if let Some(methods) = allow {
        head.push("Allow", methods.as_bytes());
    }
    if version == Version::Http11 {
        head.push("Content-Length", len.to_string().as_bytes());
        head.push("Connection", b"close");
    }
    page_fields(head, custom);
}

/// The page's own fields and pound's defaults for the others, appended to `head`.
pub fn page_fields(head: &mut Head, custom: Option<&Page>) {
    if let Some(p) = custom {
        for (name, value) in &p.headers {
            head.push(name, value.as_bytes());
        }
    }
    for (name, value) in PAGE_FIELDS {
        if !custom.is_some_and(|p| p.sets(name)) {
            head.push(name, value);
        }
    }
}

/// Writes an HTTP/1 response head: the status line, `head`'s fields and the empty line.
pub fn write_head(out: &mut Vec<u8>, version: Version, status: u16, head: &Head) {
    let _ = write!(out, "{} {status} {}\r\n", version.as_str(), reason(status));
    head.write_fields(out, |_| true);
    out.extend_from_slice(b"\r\n");
}

/// Writes a complete HTTP/1 error response (head and page) to `out`, for answers that
/// are bytes on a socket of their own (the control socket); returns the page's length
/// (`%b`).
pub fn error(out: &mut Vec<u8>, version: Version, code: u16, custom: Option<&Page>) -> usize {
    let body = page(code, custom);
    let mut head = Head::default();
    error_fields(&mut head, version, body.len(), None, custom);
    write_head(out, version, code, &head);
    out.extend_from_slice(&body);
    body.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The heads pound 4.23 sends.
    #[test]
    fn default_and_custom_pages() {
        let mut out = Vec::new();
        let n = error(&mut out, Version::Http11, 503, None);
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with(&format!(
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: {n}\r\nConnection: close\r\n\
             Content-Type: text/html\r\nExpires: now\r\nPragma: no-cache\r\n\
             Cache-control: no-cache,no-store\r\n\r\n"
        )));
        assert!(s.contains("<title>503 Service Unavailable</title>"));
        assert_eq!(s.split("\r\n\r\n").nth(1).unwrap().len(), n);
        let mut out = Vec::new();
        let custom = Page::parse(b"too big");
        assert_eq!(error(&mut out, Version::Http10, 413, Some(&custom)), 7);
        let s = String::from_utf8(out).unwrap();
        assert_eq!(
            s,
            "HTTP/1.0 413 Payload Too Large\r\nContent-Type: text/html\r\nExpires: now\r\n\
             Pragma: no-cache\r\nCache-control: no-cache,no-store\r\n\r\ntoo big"
        );
    }
}
