//! Behaviour pinned to pound 4.23's, found by running the original side by side with
//! `scripts/compare-reference`: each expected output here is what pound itself produces for
//! the same configuration and request.

mod common;

use common::net::{Backend, Pound, Reply};

/// `CombineHeaders`: every occurrence of a listed field, in requests and in responses,
/// becomes one field at the place of the first, its elements trimmed and empty ones
/// dropped; `%{Name}i` logs the combined value.
#[test]
fn combine_headers_joins_listed_fields_both_ways() {
    let backend = Backend::start(|_| {
        Reply::Send(
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-Foo: a\r\nX-Foo: b ,c\r\n\r\nok\n".to_vec(),
        )
    });
    let pound = Pound::start(&format!(
        "CombineHeaders\n\"X-Foo\"\n\"accept\" \"Via\"\nEnd\n\
         LogFormat \"f\" \"%{{X-Foo}}i|%{{Accept}}i|%{{Via}}i\"\nLogLevel \"f\"\n{}",
        common::net::simple("", &[&backend])
    ));
    let resp = pound
        .connect()
        .send(
            "GET / HTTP/1.1\r\nHost: a\r\nX-Foo: a\r\nAccept: x\r\nX-Bar: 1\r\nx-foo: b ,c\r\n\
             accept: y\r\nVia: 1\r\nX-Foo:\r\nX-Foo:   d  \r\nVia: 2\r\n\r\n",
        )
        .response();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("X-Foo").as_deref(), Some("a, b, c"));
    assert_eq!(resp.head.matches("X-Foo").count(), 1, "{}", resp.head);
    let got = &backend.requests()[0];
    let fields: Vec<&str> = got.head.lines().skip(1).take(4).collect();
    assert_eq!(
        fields,
        ["Host: a", "X-Foo: a, b, c, d", "Accept: x, y", "X-Bar: 1"]
    );
    assert_eq!(got.header("Via").as_deref(), Some("1, 2"));
    assert_eq!(got.head.matches("Via:").count(), 1);
    pound.out.wait_for("a, b, c, d|x, y|1, 2");
}
