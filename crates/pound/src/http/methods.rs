//! Request methods and the `xHTTP` classes that admit them (pound.8, HTTP Listener).

/// Methods by the lowest `xHTTP` level that accepts them.
const CLASSES: &[&[&str]] = &[
    &["GET", "POST", "HEAD"],
    &["PUT", "PATCH", "DELETE"],
    &[
        "LOCK",
        "UNLOCK",
        "PROPFIND",
        "PROPPATCH",
        "SEARCH",
        "MKCOL",
        "MOVE",
        "COPY",
        "OPTIONS",
        "TRACE",
        "MKACTIVITY",
        "CHECKOUT",
        "MERGE",
        "REPORT",
    ],
    &[
        "SUBSCRIBE",
        "UNSUBSCRIBE",
        "NOTIFY",
        "BPROPFIND",
        "BPROPPATCH",
        "POLL",
        "BMOVE",
        "BCOPY",
        "BDELETE",
        "CONNECT",
    ],
];

/// Whether a listener with `xHTTP level` accepts `method`. Methods are case-sensitive
/// (RFC 9110, section 9.1).
pub fn allowed(method: &[u8], level: u8) -> bool {
    CLASSES
        .iter()
        .take(usize::from(level) + 1)
        .any(|class| class.iter().any(|m| m.as_bytes() == method))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_cumulative() {
        assert!(allowed(b"GET", 0));
        assert!(!allowed(b"PUT", 0));
        assert!(allowed(b"PUT", 1));
        assert!(allowed(b"PATCH", 1));
        assert!(!allowed(b"OPTIONS", 1));
        assert!(allowed(b"OPTIONS", 2));
        assert!(allowed(b"GET", 3));
        assert!(allowed(b"CONNECT", 3));
        assert!(!allowed(b"CONNECT", 2));
        assert!(!allowed(b"get", 3));
        assert!(!allowed(b"BREW", 3));
    }
}
