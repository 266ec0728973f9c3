//! Talking to pound's control socket as poundctl does: one HTTP/1.1 request per connection.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// Sends `METHOD TARGET` and returns the status and body.
pub fn request(socket: &Path, method: &str, target: &str) -> (u16, String) {
    let mut s = UnixStream::connect(socket).expect("connect to the control socket");
    write!(s, "{method} {target} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).expect("control reply");
    let (head, body) = out.split_once("\r\n\r\n").expect("a reply head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status code");
    assert!(
        head.contains(&format!("Content-Length: {}", body.len())),
        "{head}"
    );
    (status, body.to_string())
}

/// `GET`, expecting 200 and JSON.
pub fn get(socket: &Path, target: &str) -> serde_json::Value {
    let (status, body) = request(socket, "GET", target);
    assert_eq!(status, 200, "{target}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{target}: {e}: {body}"))
}
