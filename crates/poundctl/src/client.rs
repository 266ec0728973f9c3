//! One HTTP/1.1 exchange over the control socket (control-api.md, "Transport").
//!
//! The request is byte-for-byte what the original poundctl sends (`METHOD TARGET HTTP/1.1`,
//! `Host: localhost`, nothing else), so either pound sees the same thing from either
//! poundctl. The reply is read strictly but defensively: everything in it comes from another
//! process, so lengths are bounded and every malformation is an error with a message,
//! never a panic.

use std::io::{BufRead, BufReader, Read, Write};

use serde_json::Value;

/// The longest status or header line accepted.
const MAX_LINE: usize = 16 * 1024;
/// The most header lines accepted.
const MAX_HEADERS: usize = 100;
/// The largest body accepted. A full listing of a very large configuration stays far
/// below; parsed JSON takes about twenty times its text, and the reply may come from the
/// network (`-s URL`), so the bound is modest.
const MAX_BODY: u64 = 32 * 1024 * 1024;

/// Why an exchange failed. [`Failure::Status`] is pound's answer (printed as its reason
/// phrase, as the original does); the others are problems talking to it.
#[derive(Debug, PartialEq, Eq)]
pub enum Failure {
    /// A status other than 200: the code and the reason phrase.
    Status(u16, String),
    /// Anything else: the message.
    Other(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Status(code, reason) if reason.is_empty() => {
                write!(f, "pound replied with status {code}")
            }
            Failure::Status(_, reason) => f.write_str(reason),
            Failure::Other(m) => f.write_str(m),
        }
    }
}

fn other(m: impl Into<String>) -> Failure {
    Failure::Other(m.into())
}

/// Who the request is for: `Host` and, for a remote interface behind `BasicAuth`, the
/// credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer<'a> {
    /// `localhost` over the UNIX socket, the URL's host name otherwise.
    pub host: &'a str,
    /// `USER:PASSWORD`.
    pub credentials: Option<&'a str>,
}

/// Over the control socket: `Host: localhost`, as the original poundctl sends.
pub const LOCAL: Peer<'static> = Peer {
    host: "localhost",
    credentials: None,
};

/// The request line and headers for `method target`.
pub fn request_text(method: &str, target: &str, peer: &Peer<'_>) -> String {
    use base64::Engine as _;
    let mut text = format!("{method} {target} HTTP/1.1\r\nHost: {}\r\n", peer.host);
    if let Some(c) = peer.credentials {
        let token = base64::engine::general_purpose::STANDARD.encode(c);
        text.push_str(&format!("Authorization: Basic {token}\r\n"));
    }
    text.push_str("\r\n");
    text
}

/// Sends one request on `stream` and returns the JSON body of a 200 reply.
pub fn exchange<S: Read + Write>(
    mut stream: S,
    method: &str,
    target: &str,
    peer: &Peer<'_>,
) -> Result<Value, Failure> {
    stream
        .write_all(request_text(method, target, peer).as_bytes())
        .and_then(|()| stream.flush())
        .map_err(|e| other(format!("error sending request: {}", describe(&e))))?;
    let mut reader = BufReader::new(stream);
    let body = read_reply(&mut reader)?;
    serde_json::from_slice(&body).map_err(|e| other(format!("error parsing JSON: {e}")))
}

/// Reads a reply: status line, headers, and the body they announce.
fn read_reply(r: &mut impl BufRead) -> Result<Vec<u8>, Failure> {
    let status = read_line(r)?.ok_or_else(|| other("no reply from pound"))?;
    let (minor, code, reason) = parse_status(&status)?;
    if code != 200 {
        return Err(Failure::Status(code, reason));
    }
    let mut length = None;
    let mut close = false;
    let mut headers = 0;
    loop {
        let line = read_line(r)?.ok_or_else(|| other("unexpected end of reply headers"))?;
        if line.is_empty() {
            break;
        }
        headers += 1;
        if headers > MAX_HEADERS {
            return Err(other("too many header lines in reply"));
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(other(format!("bad header line: {line}")));
        };
        let value = value.trim_matches(|c| c == ' ' || c == '\t');
        if name.eq_ignore_ascii_case("content-length") {
            let n = value
                .parse::<u64>()
                .map_err(|_| other(format!("bad header line: {line}")))?;
            if n > MAX_BODY {
                return Err(other(format!("reply too large ({n} bytes)")));
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case("content-type") {
            let media = value.split(';').next().unwrap_or("").trim();
            if !media.eq_ignore_ascii_case("application/json") {
                return Err(other(format!("unexpected content type: {value}")));
            }
        } else if name.eq_ignore_ascii_case("connection") {
            close = value
                .split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("close"));
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(other(format!("unsupported transfer encoding: {value}")));
        }
    }
    let mut body = Vec::new();
    match length {
        Some(n) => {
            r.take(n)
                .read_to_end(&mut body)
                .map_err(|e| other(format!("error reading reply: {}", describe(&e))))?;
            if (body.len() as u64) < n {
                return Err(other("reply shorter than its Content-Length"));
            }
        }
        // Without a length, the body runs to the end of the connection (HTTP/1.0, or
        // `Connection: close`).
        None if close || minor == 0 => {
            r.take(MAX_BODY + 1)
                .read_to_end(&mut body)
                .map_err(|e| other(format!("error reading reply: {}", describe(&e))))?;
            if body.len() as u64 > MAX_BODY {
                return Err(other("reply too large"));
            }
        }
        None => {
            return Err(other(
                "protocol error: reply has neither Content-Length nor Connection: close",
            ))
        }
    }
    Ok(body)
}

/// `HTTP/1.x CODE REASON` → (x, code, reason).
fn parse_status(line: &str) -> Result<(u8, u16, String), Failure> {
    let bad = || other(format!("unexpected response: {line}"));
    let rest = line.strip_prefix("HTTP/1.").ok_or_else(bad)?;
    let minor = match rest.as_bytes().first() {
        Some(b'0') => 0,
        Some(b'1') => 1,
        _ => return Err(bad()),
    };
    let rest = &rest[1..];
    if !rest.starts_with([' ', '\t']) {
        return Err(bad());
    }
    let rest = rest.trim_start_matches([' ', '\t']);
    let digits = rest.get(..3).ok_or_else(bad)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let after = &rest[3..];
    if !(after.is_empty() || after.starts_with([' ', '\t'])) {
        return Err(bad());
    }
    let code = digits.parse::<u16>().map_err(|_| bad())?;
    Ok((minor, code, after.trim().to_string()))
}

/// One line without its CRLF (or LF); `None` at the end of the stream.
fn read_line(r: &mut impl BufRead) -> Result<Option<String>, Failure> {
    let mut buf = Vec::new();
    let n = r
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', &mut buf)
        .map_err(|e| other(format!("error reading reply: {}", describe(&e))))?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() != Some(&b'\n') {
        return Err(if buf.len() > MAX_LINE {
            other("reply line too long")
        } else {
            other("unexpected end of reply")
        });
    }
    buf.pop();
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    String::from_utf8(buf)
        .map(Some)
        .map_err(|_| other("reply headers are not valid text"))
}

/// An I/O error as strerror(3) words it, without Rust's " (os error N)".
pub fn describe(e: &std::io::Error) -> String {
    pound_config::env::describe_io_error(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A connection whose replies come from `input` and whose requests land in `sent`.
    struct Fake {
        input: Cursor<Vec<u8>>,
        sent: Vec<u8>,
    }

    impl Read for Fake {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.input.read(buf)
        }
    }

    impl Write for Fake {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.sent.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn talk(reply: &str) -> (Result<Value, Failure>, String) {
        let mut fake = Fake {
            input: Cursor::new(reply.as_bytes().to_vec()),
            sent: Vec::new(),
        };
        let result = exchange(&mut fake, "GET", "/listener/1", &LOCAL);
        (result, String::from_utf8_lossy(&fake.sent).into_owned())
    }

    #[test]
    fn request_is_exactly_the_originals() {
        let (_, sent) = talk("");
        assert_eq!(sent, "GET /listener/1 HTTP/1.1\r\nHost: localhost\r\n\r\n");
    }

    #[test]
    fn content_length_body() {
        let (r, _) = talk(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\ntrue",
        );
        assert_eq!(r, Ok(Value::Bool(true)));
        // Extra bytes after the announced length are not read.
        let (r, _) = talk("HTTP/1.1 200 OK\r\ncontent-length:5\r\n\r\nfalsegarbage");
        assert_eq!(r, Ok(Value::Bool(false)));
    }

    #[test]
    fn body_to_end_of_connection() {
        let (r, _) = talk("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"a\": 1}");
        assert_eq!(r, Ok(serde_json::json!({"a": 1})));
        let (r, _) = talk("HTTP/1.0 200 OK\nContent-Type: application/json; charset=utf-8\n\n[]");
        assert_eq!(r, Ok(serde_json::json!([])));
    }

    #[test]
    fn error_statuses_carry_the_reason_phrase() {
        let (r, _) = talk("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(r, Err(Failure::Status(404, "Not Found".into())));
        assert_eq!(
            Failure::Status(404, "Not Found".into()).to_string(),
            "Not Found"
        );
        let (r, _) = talk("HTTP/1.1 405\r\n\r\n");
        assert_eq!(r, Err(Failure::Status(405, String::new())));
        assert_eq!(
            Failure::Status(405, String::new()).to_string(),
            "pound replied with status 405"
        );
    }

    #[test]
    fn malformed_replies() {
        let msg = |reply: &str| match talk(reply).0 {
            Err(f) => f.to_string(),
            Ok(v) => format!("unexpected success: {v}"),
        };
        assert_eq!(msg(""), "no reply from pound");
        assert_eq!(msg("SSH-2.0-x\r\n"), "unexpected response: SSH-2.0-x");
        assert_eq!(
            msg("HTTP/1.1 2000 OK\r\n"),
            "unexpected response: HTTP/1.1 2000 OK"
        );
        assert_eq!(
            msg("HTTP/1.2 200 OK\r\n"),
            "unexpected response: HTTP/1.2 200 OK"
        );
        assert_eq!(
            msg("HTTP/1.1 200 OK\r\n"),
            "unexpected end of reply headers"
        );
        assert_eq!(msg("HTTP/1.1 200 OK"), "unexpected end of reply");
        assert_eq!(
            msg("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"),
            "bad header line: Content-Length: x"
        );
        assert_eq!(
            msg("HTTP/1.1 200 OK\r\nno colon\r\n\r\n"),
            "bad header line: no colon"
        );
        assert_eq!(
            msg("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 0\r\n\r\n"),
            "unexpected content type: text/html"
        );
        assert_eq!(
            msg("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\ntrue"),
            "reply shorter than its Content-Length"
        );
        assert_eq!(
            msg("HTTP/1.1 200 OK\r\n\r\ntrue"),
            "protocol error: reply has neither Content-Length nor Connection: close"
        );
        assert_eq!(
            msg("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\ntrue\r\n0\r\n\r\n"),
            "unsupported transfer encoding: chunked"
        );
        assert!(msg("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n{x}")
            .starts_with("error parsing JSON: "));
        let long = format!(
            "HTTP/1.1 200 OK\r\nX: {}\r\n\r\n",
            "a".repeat(MAX_LINE + 10)
        );
        assert_eq!(msg(&long), "reply line too long");
        let many = format!(
            "HTTP/1.1 200 OK\r\n{}\r\n",
            "X: y\r\n".repeat(MAX_HEADERS + 1)
        );
        assert_eq!(msg(&many), "too many header lines in reply");
        assert_eq!(
            msg("HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n"),
            "reply too large (99999999999 bytes)"
        );
    }
}
