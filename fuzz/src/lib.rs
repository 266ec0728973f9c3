//! The checks behind pound-rs's fuzz targets.
//!
//! Each target takes arbitrary bytes, runs one of the pure cores over them and asserts
//! invariants that must hold whatever the input, beyond "it does not panic": lengths stay
//! within the input, spans within the head, the framing a decoder reports does not depend on
//! how the input was split into reads, a head parses the same with or without what follows
//! it, and a parser state reused from an earlier message gives the same result as a fresh
//! one. A failed assertion panics, which AFL records as a crash.
//!
//! Several targets read their first byte as a selector (limits, method) and the rest as the
//! input proper; `tests/corpus.rs` replays the committed seed corpus through every check.

use pound::http::chunked::{ChunkError, Decoder, Segment};
use pound::http::head::{Head, Span};
use pound::http::request::{self, Limits, Reject, Request};
use pound::http::response::{self, Response};
use pound::http::{methods, parse_content_length, trim, BodyKind, Version};
use pound::rules::{self, Action, Cond, Cx, Matches};
use pound_config::env::MemoryFs;
use pound_config::model::{Accessor, MatchMode, Matcher, Part, Pattern, Template};
use pound_config::{load, Options, Severity};

mod chunked;
mod config;
mod expand;
mod request_head;
mod response_head;
mod template;

pub use chunked::chunked;
pub use config::config;
pub use expand::expand;
pub use request_head::request;
pub use response_head::response;
pub use template::template;

/// The targets, by name.
pub const TARGETS: &[&str] = &[
    "request", "chunked", "response", "config", "expand", "template",
];

/// The check of target `name`.
pub fn target(name: &str) -> Option<fn(&[u8])> {
    Some(match name {
        "request" => request,
        "chunked" => chunked,
        "response" => response,
        "config" => config,
        "expand" => expand,
        "template" => template,
        _ => return None,
    })
}

/// Runs the files named on the command line through target `name`'s checks (the targets'
/// binaries do this when built without AFL).
pub fn replay_args(name: &str) {
    let check = target(name).expect("a known target");
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: {name} FILE...  (runs each file through the {name} checks)");
        std::process::exit(2);
    }
    for file in files {
        let data = std::fs::read(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
        eprintln!("{name}: {file} ({} bytes)", data.len());
        check(&data);
    }
}

// ---------------------------------------------------------------------------------------
// Shared helpers

fn in_bounds(buf: &[u8], s: Span) -> bool {
    s.start <= s.end && (s.end as usize) <= buf.len()
}

fn check_head_spans(head: &Head, n: usize) {
    assert_eq!(head.buf.len(), n, "the head buffer holds exactly the head");
    for (i, f) in head.fields.iter().enumerate() {
        assert!(in_bounds(&head.buf, f.name), "field {i} name out of bounds");
        assert!(
            in_bounds(&head.buf, f.value),
            "field {i} value out of bounds"
        );
        let name = head.name(i);
        let value = head.value(i);
        assert!(!name.is_empty(), "field {i} has an empty name");
        assert!(
            name.iter().all(|&b| b > b' ' && b != b':' && b != 0x7f),
            "field {i} name {name:?} is not a token"
        );
        assert!(
            !value.contains(&b'\r') && !value.contains(&b'\n'),
            "field {i} value {value:?} holds a line ending"
        );
        assert_eq!(trim(value), value, "field {i} value is not trimmed");
    }
}

fn count_fields(head: &Head, name: &str) -> usize {
    head.find(name).count()
}

/// A tiny deterministic generator (xorshift), for read sizes chosen from the input.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}
