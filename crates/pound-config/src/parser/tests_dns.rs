//! The `Resolver` section and the dynamic-backend statements of pound 4.14, with pound
//! 4.23's diagnostics (recorded from the reference).

use super::tests::{fails, ok, run, service};
use crate::env::MemoryFs;
use crate::model::dns::{Family, ResolveMode, ResolverConfig};
use crate::model::*;

fn regular(c: &Config) -> &RegularBackend {
    match &c.services[0].backends[0].kind {
        BackendKind::Regular(r) => r,
        other => panic!("not a regular backend: {other:?}"),
    }
}

fn matrix(body: &str) -> String {
    service(&format!(
        "Backend\nAddress \"gen.test\"\nPort 8080\n{body}End\n"
    ))
}

#[test]
fn dynamic_backend_statements() {
    let c = ok(&matrix(
        "Resolve srv\nFamily inet6\nIgnoreSRVWeight true\nOverrideTTL 30\nRetryInterval 7\n",
    ));
    let d = &regular(&c).dynamic;
    assert_eq!(
        (
            d.resolve,
            d.family,
            d.ignore_srv_weight,
            d.override_ttl,
            d.retry_interval
        ),
        (ResolveMode::Srv, Family::Inet6, true, Some(30), Some(7))
    );
    // 0 leaves OverrideTTL and RetryInterval unset; the default mode is the static lookup.
    let c = ok(&matrix("OverrideTTL 0\nRetryInterval 0\n"));
    let d = &regular(&c).dynamic;
    assert_eq!(
        (d.resolve, d.family, d.override_ttl, d.retry_interval),
        (ResolveMode::Immediate, Family::Any, None, None)
    );
    for (mode, want) in [
        ("first", ResolveMode::First),
        ("all", ResolveMode::All),
        ("immediate", ResolveMode::Immediate),
    ] {
        let c = ok(&matrix(&format!("Resolve {mode}\n")));
        assert_eq!(regular(&c).dynamic.resolve, want);
    }
    // The runtime's list of statements: the static lookup under its own name.
    let c = ok(&matrix("Resolve immediate\n"));
    assert!(c
        .statements
        .iter()
        .any(|s| s.keyword == "Resolve immediate"));
    let c = ok(&matrix("Resolve all\n"));
    assert!(c.statements.iter().any(|s| s.keyword == "Resolve"));
}

#[test]
fn dynamic_backend_errors() {
    // The statement is on line 5.
    for (line, error) in [
        (
            "Resolve bogus",
            "p.cfg:5.9-13: unrecognized backend resolve mode",
        ),
        (
            "Resolve ALL",
            "p.cfg:5.9-11: unrecognized backend resolve mode",
        ),
        (
            "Resolve \"all\"",
            "p.cfg:5.9-13: expected identifier, but found quoted string",
        ),
        (
            "Resolve 1",
            "p.cfg:5.9: expected identifier, but found number",
        ),
        (
            "Family INET",
            "p.cfg:5.8-11: unrecognized address family name",
        ),
        (
            "Family ipv4",
            "p.cfg:5.8-11: unrecognized address family name",
        ),
        (
            "OverrideTTL -1",
            "p.cfg:5.13-14: expected number, but found literal",
        ),
        (
            "OverrideTTL 4294967296",
            "p.cfg:5.13-22: bad unsigned number",
        ),
        (
            "RetryInterval 4294967296",
            "p.cfg:5.15-24: bad unsigned number",
        ),
    ] {
        fails(&matrix(&format!("{line}\n")), &[error]);
    }
    fails(
        &matrix("IgnoreSRVWeight maybe\n"),
        &[
            "p.cfg:5.17-21: not a boolean value",
            "p.cfg:5.17-21: valid booleans are: 1, yes, true, on for true value, and 0, no, \
             false, off for false value",
        ],
    );
    // pound accepts `Family unix` (and then cannot resolve with it).
    assert_eq!(
        regular(&ok(&matrix("Family unix\n"))).dynamic.family,
        Family::Unix
    );
    fails(
        &service("Backend\nResolve srv\nEnd\n"),
        &["p.cfg:2.1-4.3: Backend missing Address declaration"],
    );
}

#[test]
fn resolver_section() {
    let c = ok(
        "Resolver\n CNAMEChain 2\n Debug true\n RetryInterval 0\n ConfigText\n  \
         nameserver 192.0.2.1\n\n  options ndots:1 # as written\n  end\nEnd\n",
    );
    let r = &c.global.resolver;
    assert_eq!(
        (r.cname_chain, r.debug, r.retry_interval),
        (2, true, Some(0))
    );
    assert_eq!(
        r.config,
        Some(ResolverConfig::Text(
            "  nameserver 192.0.2.1\n\n  options ndots:1 # as written\n".into()
        ))
    );
    assert_eq!(
        r.span.as_ref().map(|s| s.to_string()).as_deref(),
        Some("p.cfg:1.1-10.3")
    );
    for (line, error) in [
        (
            "CNAMEChain 4294967296",
            "p.cfg:2.13-22: bad unsigned number",
        ),
        (
            "CNAMEChain -1",
            "p.cfg:2.13-14: expected number, but found literal",
        ),
        (
            "CNAMEChain \"2\"",
            "p.cfg:2.13-15: expected number, but found quoted string",
        ),
        (
            "ConfigFile 12",
            "p.cfg:2.13-14: expected quoted string, but found number",
        ),
        (
            "ConfigText \"x\"",
            "p.cfg:2.13-15: expected newline, but found quoted string",
        ),
        (
            "RetryInterval abc",
            "p.cfg:2.16-18: expected number, but found identifier",
        ),
        ("Foo 1", "p.cfg:2.2-4: unrecognized keyword"),
    ] {
        fails(&format!("Resolver\n {line}\nEnd\n"), &[error]);
    }
    // An unterminated ConfigText runs to the end of the file.
    fails(
        "Resolver\n ConfigText\n  nameserver 192.0.2.1\n",
        &["p.cfg:2.2-11: unexpected end of file"],
    );
    // A stray argument is noted, and the section read.
    let (c, d) = run("Resolver \"x\"\n Debug 1\nEnd\n");
    assert_eq!(d, ["p.cfg:1.10-12: syntax error"]);
    assert!(c.is_some_and(|c| c.global.resolver.debug));
}

#[test]
fn resolver_files_and_overrides() {
    let fs = MemoryFs::new()
        .with_file(
            "p.cfg",
            "Resolver\n ConfigFile \"/r/resolv.conf\"\n ConfigText\n  nameserver ::1\n End\n\
             ConfigFile \"/r/resolv.conf\"\nEnd\n",
        )
        .with_file("/r/resolv.conf", "nameserver 192.0.2.9\n");
    let (c, d) = super::tests::load_fs(&fs);
    assert_eq!(
        d,
        [
            "p.cfg:3.2-11: ConfigText statement overrides prior ConfigFile",
            "p.cfg:6.1-10: ConfigFile statement overrides prior ConfigText",
        ]
    );
    assert!(matches!(
        c.and_then(|c| c.global.resolver.config),
        Some(ResolverConfig::File { text, .. }) if text == "nameserver 192.0.2.9\n"
    ));
    fails(
        "Resolver\n ConfigFile \"/nonexistent/resolv.conf\"\nEnd\n",
        &["p.cfg:2.13-38: can't open /nonexistent/resolv.conf: No such file or directory"],
    );
}
