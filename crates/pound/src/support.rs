//! Which configuration statements the runtime implements.
//!
//! `pound -c` accepts the whole language of pound.8. Starting the server is stricter: a
//! statement whose runtime behaviour does not exist yet must not be accepted and silently
//! ignored, so pound refuses to start and names the first such statement and its location.
//! Each feature that lands adds its statements here.

use pound_config::model::Statement;
use pound_config::Config;

/// Statements whose whole effect is already delivered. `Include` and `IncludeDir` act while
/// the file is read, so they are complete as soon as the parser is.
const IMPLEMENTED: &[&str] = &[
    "Include",
    "IncludeDir",
    // Global settings of the HTTP engine.
    "Alive",
    "Client",
    "ClientMinRate",
    "ClientRateGrace",
    "ClientMaxConnections",
    "ClientMaxRequests",
    "HTTP2MaxSlowStreams",
    "ConnTO",
    "Daemon",
    "Grace",
    "HeaderOption",
    "CombineHeaders",
    "LogFacility",
    "LogLevel",
    "PIDFile",
    "User",
    "Group",
    "RootJail",
    "Supervisor",
    "TimeOut",
    "WSTimeOut",
    "ServerName",
    // Listeners.
    "ListenHTTP",
    "Address",
    "Port",
    "SocketFrom",
    "xHTTP",
    "CheckURL",
    "Err400",
    "Err401",
    "Err403",
    "Err404",
    "Err413",
    "Err414",
    "Err500",
    "Err501",
    "Err503",
    "MaxRequest",
    "MaxURI",
    "ErrorFile",
    "RewriteErrors",
    "LineBufferSize",
    "ConnectionQueueSize",
    "ReserveFD",
    "WorkerStackSize",
    "RewriteLocation",
    // Services and regular backends.
    "Service",
    "Backend",
    "UseBackend",
    "Emergency",
    "Priority",
    "Disabled",
    // Balancing, sessions and backends over TLS.
    "Balancer",
    "Session",
    "Type",
    "TTL",
    "ID",
    "HTTPS",
    "Cert",
    "Ciphers",
    "Disable",
    // The HTTPS front-end and HTTP/2.
    "ListenHTTPS",
    "ClientCert",
    "SSLHonorCipherOrder",
    "SSLAllowClientRenegotiation",
    "CAlist",
    "VerifyList",
    "CRLlist",
    "NoHTTPS11",
    "SSLEngine",
    "ECDHcurve",
    "HTTP2",
    "HTTP2MaxStreams",
    "HTTP2WindowSize",
    // The control socket, metrics and workers.
    "Control",
    "Socket",
    "Mode",
    "ChangeOwner",
    "Metrics",
    "WorkerMinCount",
    "WorkerMaxCount",
    "WorkerIdleTimeout",
    "Threads",
    // Request logging.
    "LogFormat",
    "TrustedIP",
    "ForwardedHeader",
    "LogSuppress",
    "Anonymise",
    "Anonymize",
    // Routing and rewriting besides the matching and modification directives (the
    // families below; `ACL` is among them, in both its uses).
    "IgnoreCase",
    "RegexType",
    "Condition",
    "Constant",
    "WatcherTTL",
    "LogTag",
    "Else",
    "RewriteDestination",
    // Dynamic backends (pound 4.14): `Resolve first|all|srv` (recorded as `Resolve`) and
    // `Resolve immediate`, the static lookup of old.
    "Resolve",
    "Resolver",
    "CNAMEChain",
    "ConfigFile",
    "ConfigText",
    "Debug",
    "RetryInterval",
    "Resolve immediate",
    "Family",
    "IgnoreSRVWeight",
    "OverrideTTL",
    // Special backends.
    "Redirect",
    "Error",
    "ACME",
    "Success",
    "SendFile",
    "Tunnel",
];

// `Control` is among the global statements above, and stands for the service backend too.

// `TBF` is among the conditions (`pound_config::keywords::CONDITIONS`).

/// Statement families the runtime implements whole.
const FAMILIES: &[&[&str]] = &[
    IMPLEMENTED,
    pound_config::keywords::CONDITIONS,
    pound_config::keywords::MODIFICATIONS,
    pound_config::keywords::OLD_MODIFICATIONS,
];

/// With `-W no-dns`, a dynamic backend (`Resolve first|all|srv`) cannot be made: pound's
/// message, at the backend's section, for the first one.
pub fn dns_disabled(config: &Config) -> Option<String> {
    use pound_config::model::{Backend, BackendKind};
    let dynamic =
        |b: &&Backend| matches!(&b.kind, BackendKind::Regular(r) if r.dynamic.resolve.is_dynamic());
    let services = config
        .listeners
        .iter()
        .flat_map(|l| l.services.iter())
        .chain(config.services.iter());
    let in_services = services.flat_map(|s| s.backends.iter().chain(s.emergency.iter()));
    let first = in_services.filter(dynamic).map(|b| &b.span).chain(
        config
            .backends
            .iter()
            .filter(|nb| nb.backend.dynamic.resolve.is_dynamic())
            .map(|nb| &nb.span),
    );
    first
        .min_by_key(|span| (span.start.line, span.start.col))
        .map(|span| {
            format!("{span}: Dynamic backend creation is not available: disabled by -Wno-dns")
        })
}

/// The first statement, in file order, that the runtime cannot honour yet.
pub fn first_unsupported(config: &Config) -> Option<&Statement> {
    config
        .statements
        .iter()
        .find(|s| !FAMILIES.iter().any(|f| f.contains(&s.keyword)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pound_config::env::MemoryFs;
    use pound_config::{load, Options};

    fn config(text: &str) -> Config {
        let fs = MemoryFs::new()
            .with_file("p.cfg", text)
            .with_file("inc.cfg", "# nothing\n")
            // `IncludeDir` names a directory that must exist.
            .with_file("/x/inc.cfg", "# nothing\n");
        let opts = Options {
            include_dir: None,
            warn_deprecated: true,
        };
        load(&fs, "p.cfg", &opts).config.expect("valid")
    }

    #[test]
    fn names_the_first_unimplemented_statement() {
        // Every statement of pound.8 is implemented now; the gate stays for statements the
        // language gains before the runtime does.
        let mut c = config(
            "Include \"inc.cfg\"\nDaemon 0\nListenHTTP\nAddress 127.0.0.1\nPort 1\nEnd\nUser \"nobody\"\n",
        );
        assert!(first_unsupported(&c).is_none());
        let mut future = c.statements[1].clone();
        future.keyword = "Future";
        c.statements.push(future);
        let s = first_unsupported(&c).expect("Future is not implemented");
        assert_eq!(s.keyword, "Future");
        assert_eq!(s.span.to_string(), "p.cfg:2.1-6");
    }

    #[test]
    fn parse_time_statements_pass() {
        assert!(first_unsupported(&config("IncludeDir \"/x\"\n")).is_none());
        assert!(first_unsupported(&config("Include \"inc.cfg\"\n")).is_none());
    }
}
