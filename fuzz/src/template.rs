//! The `template` target: poundctl's template language (crates/poundctl/src/template/) over
//! a template file and a reply, the reply being what a remote pound may send.
//!
//! Input: the template text, a NUL, then the reply's JSON (a sample full listing when it is
//! not JSON). Checks: parsing and running never panic; both are deterministic (the same
//! input gives the same templates and the same output); and the built-in `default`
//! template lays out every JSON object without an error or a warning, whatever its members.

use poundctl::template::{Templates, DEFAULT_TEMPLATES};
use serde_json::Value;

const SAMPLE: &str = r#"{"kind":"pound","core":{"kind":"core","pid":7,"timestamp":"t",
 "version":"4.23","workers":{"active":1,"count":5,"max":128,"min":5,"timeout":30}},
 "listeners":[{"kind":"listener","address":"/s","enabled":true,"name":null,"protocol":"http",
 "services":[{"kind":"service","name":"web","enabled":true,"session_type":"IP",
 "sessions":[{"key":"k","backend":0,"expire":"e"}],"backends":[{"kind":"backend",
 "type":"backend","address":"a:1","protocol":"http","priority":5,"alive":true,
 "enabled":true,"weight":0}]}]}],"services":[]}"#;

pub fn template(data: &[u8]) {
    let (text, reply) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let reply: Value = serde_json::from_slice(reply)
        .or_else(|_| serde_json::from_str(SAMPLE))
        .expect("the sample is JSON");

    if reply.is_object() {
        let builtin = Templates::parse(DEFAULT_TEMPLATES).expect("the built-in file parses");
        let run = builtin.run("default", &reply);
        assert!(
            run.error.is_none(),
            "default template: {:?} on {reply}",
            run.error
        );
        assert!(
            run.warnings.is_empty(),
            "default template: {:?}",
            run.warnings
        );
    }

    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let parsed = Templates::parse(text);
    let again = Templates::parse(text);
    let (t, t2) = match (parsed, again) {
        (Ok(t), Ok(t2)) => (t, t2),
        (Err(a), Err(b)) => {
            assert_eq!(a.to_string(), b.to_string());
            return;
        }
        (a, b) => panic!(
            "parsing is not deterministic: {:?} / {:?}",
            a.is_ok(),
            b.is_ok()
        ),
    };
    for name in ["default", "x", ""] {
        assert_eq!(t.has(name), t2.has(name));
        if !t.has(name) {
            continue;
        }
        let one = t.run(name, &reply);
        let two = t2.run(name, &reply);
        assert_eq!(one.output, two.output);
        assert_eq!(one.warnings, two.warnings);
        assert_eq!(
            one.error.map(|e| e.to_string()),
            two.error.map(|e| e.to_string())
        );
    }
}
