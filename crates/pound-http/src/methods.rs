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

/// The lowest `xHTTP` level that accepts `method`, or `None` for a method pound does not
/// know. Methods are case-sensitive (RFC 9110, section 9.1).
pub fn level(method: &[u8]) -> Option<u8> {
    CLASSES
        .iter()
        .position(|class| class.iter().any(|m| m.as_bytes() == method))
        .map(|i| i as u8)
}

/// Whether a listener with `xHTTP level` accepts `method`.
pub fn allowed(method: &[u8], level: u8) -> bool {
    self::level(method).is_some_and(|l| l <= level)
}

/// The value of the `Allow` field of a 405 answer: the methods `xHTTP level` accepts (RFC 9110, section
/// 15.5.6 requires the field; pound 4.23 sends none).
pub fn allow_list(level: u8) -> &'static str {
    match level {
        0 => "GET, POST, HEAD",
        1 => "GET, POST, HEAD, PUT, PATCH, DELETE",
        2 => {
            "GET, POST, HEAD, PUT, PATCH, DELETE, LOCK, UNLOCK, PROPFIND, PROPPATCH, \
              SEARCH, MKCOL, MOVE, COPY, OPTIONS, TRACE, MKACTIVITY, CHECKOUT, MERGE, REPORT"
        }
        _ => {
            "GET, POST, HEAD, PUT, PATCH, DELETE, LOCK, UNLOCK, PROPFIND, PROPPATCH, \
              SEARCH, MKCOL, MOVE, COPY, OPTIONS, TRACE, MKACTIVITY, CHECKOUT, MERGE, REPORT, \
              SUBSCRIBE, UNSUBSCRIBE, NOTIFY, BPROPFIND, BPROPPATCH, POLL, BMOVE, BCOPY, \
              BDELETE, CONNECT"
        }
    }
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
        assert_eq!(level(b"BREW"), None);
        assert_eq!(level(b"MERGE"), Some(2));
    }

    #[test]
    fn allow_lists_exactly_the_accepted_methods() {
        for lvl in 0..=3u8 {
            let list = allow_list(lvl);
            let listed: Vec<&str> = list.split(", ").collect();
            let expected: Vec<&str> = CLASSES[..=usize::from(lvl)].concat();
            assert_eq!(listed, expected);
        }
    }
}
