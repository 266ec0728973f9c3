//! poundctl against pound's control interface served as a service (pound 4.14): over HTTPS
//! with an ACL and basic authentication, with the TLS options `-C`, `-k` and `-K`, under a
//! path prefix, and configured through `~/.poundctl` (`URL`, `CAFile`, `Server` sections,
//! `-S`, `POUNDCTL_CONF`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::net::Pound;
use common::tls::Ca;
use serde_json::Value;

/// `alice:s3cret`.
const HTPASSWD: &str = "alice:{SHA}/vNB+F2HQ559kaLUZbmHHvZrXpg=\n";

struct Setup {
    pound: Pound,
    dir: PathBuf,
    ca: PathBuf,
}

/// An HTTPS listener whose control service wants `alice` and a loopback client, and is
/// also reachable under `/control/`.
fn setup(name: &str) -> Setup {
    let dir = common::scratch_dir(name);
    let ca = Ca::new("control CA");
    let cert = dir.join("server.pem");
    std::fs::write(&cert, ca.issue(&["localhost"]).pem).unwrap();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    std::fs::write(dir.join("htpasswd"), HTPASSWD).unwrap();
    let config = format!(
        "ListenHTTPS \"secure\"\nLISTEN\nCert \"{}\"\nxHTTP 2\n\
         Service \"auth\"\nNot BasicAuth \"{}/htpasswd\"\nRewrite response\n\
         SetHeader \"WWW-Authenticate: Basic realm=\\\"pound\\\"\"\nEnd\nError 401\nEnd\n\
         Service \"prefixed\"\nACL\n\"127.0.0.0/8\"\nEnd\nURL -re \"^/control(/.+)\"\n\
         SetURL \"$1\"\nControl\nEnd\n\
         Service \"control\"\nACL\n\"127.0.0.0/8\"\nEnd\nControl\nEnd\nEnd\n",
        cert.display(),
        dir.display()
    );
    Setup {
        pound: Pound::start(&config),
        dir,
        ca: ca_file,
    }
}

impl Setup {
    fn url(&self, user: &str, path: &str) -> String {
        format!("https://{user}localhost:{}{path}", self.pound.addr.port())
    }

    /// Runs poundctl with `HOME` in the test's directory (so that no real `~/.poundctl`
    /// is read) and `env` set.
    fn poundctl(&self, env: &[(&str, &str)], args: &[&str]) -> common::Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_poundctl"));
        cmd.env("HOME", &self.dir)
            .env_remove("POUNDCTL_CONF")
            .env_remove("POUND_TMPL_PATH")
            .args(["-f", "/nonexistent/pound.cfg"])
            .args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("run poundctl").into()
    }

    fn ok(&self, env: &[(&str, &str)], args: &[&str]) -> String {
        let r = self.poundctl(env, args);
        assert_eq!(r.code, Some(0), "{args:?}: {}{}", r.stdout, r.stderr);
        r.stdout
    }

    fn ca(&self) -> &str {
        self.ca.to_str().unwrap()
    }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn https_with_basic_authentication_and_ca() {
    let s = setup("remote-https");
    let url = s.url("alice:s3cret@", "/");
    let core = json(&s.ok(&[], &["-C", s.ca(), "-s", &url, "-j", "core"]));
    assert_eq!(core["kind"], "core");
    assert_eq!(core["pid"], s.pound.child.id());
    // Listeners count from 0: there is no control socket.
    let l = json(&s.ok(&[], &["-C", s.ca(), "-s", &url, "-j", "list", "/0"]));
    assert_eq!(l["name"], "secure");
    assert_eq!(l["protocol"], "https");
    // Changes go through too.
    s.ok(&[], &["-C", s.ca(), "-s", &url, "disable", "/0/0"]);
    let svc = json(&s.ok(
        &[],
        &["-C", s.ca(), "-s", &url, "-j", "list", "/secure/auth"],
    ));
    assert_eq!(svc["enabled"], false);
    s.ok(&[], &["-C", s.ca(), "-s", &url, "enable", "/0/0"]);
    // What serves the interface cannot be switched off through it (pound 4.23).
    for object in ["/0", "/0/1", "/0/2", "/0/2/0"] {
        let r = s.poundctl(&[], &["-C", s.ca(), "-s", &url, "disable", object]);
        assert_eq!(r.stderr, "poundctl: Bad Request\n", "{object}");
    }
    // The CA given as a directory.
    let ca_dir = s.dir.join("cas");
    std::fs::create_dir_all(&ca_dir).unwrap();
    std::fs::copy(&s.ca, ca_dir.join("ca.pem")).unwrap();
    s.ok(&[], &["-C", ca_dir.to_str().unwrap(), "-s", &url, "core"]);
}

#[test]
fn certificate_and_credential_failures() {
    let s = setup("remote-failures");
    let url = s.url("alice:s3cret@", "/");
    // The system does not trust this CA; -k accepts any certificate.
    let r = s.poundctl(&[], &["-s", &url, "core"]);
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr.starts_with("poundctl: ") && r.stderr.contains("certificate"),
        "{}",
        r.stderr
    );
    s.ok(&[], &["-k", "-s", &url, "core"]);
    // A wrong password: pound's answer, by its reason phrase.
    let r = s.poundctl(&[], &["-k", "-s", &s.url("alice:wrong@", "/"), "core"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (Some(1), "poundctl: Unauthorized\n")
    );
    let r = s.poundctl(&[], &["-k", "-s", "ftp://localhost/", "core"]);
    assert_eq!(
        r.stderr,
        "poundctl: unsupported URL scheme: ftp://localhost/\n"
    );
    // Nothing listens on port 1.
    let r = s.poundctl(&[], &["-s", "http://127.0.0.1:1/", "core"]);
    assert_eq!(r.stderr, "poundctl: connect: Connection refused\n");
}

#[test]
fn path_prefix_is_kept_in_requests() {
    let s = setup("remote-prefix");
    let url = s.url("alice:s3cret@", "/control/");
    let l = json(&s.ok(&[], &["-k", "-s", &url, "-j", "list", "/0/1"]));
    assert_eq!(l["name"], "prefixed");
    let log = json(&s.ok(&[], &["-k", "-s", &url, "-j", "log"]));
    assert_eq!(log["kind"], "log");
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn poundctl_configuration_file() {
    let s = setup("remote-conf");
    let url = s.url("alice:s3cret@", "/");
    write(
        &s.dir,
        ".poundctl",
        &format!(
            "# servers\nURL \"{url}\"\nCAFile \"{}\"\n\nServer \"bad\"\n  URL \"{url}\"\nEnd\n\
             Server \"lax\"\n  URL \"{}\"\n  Verify off\nEnd\n",
            s.ca(),
            s.url("alice:s3cret@", "/control")
        ),
    );
    // The global statements.
    assert_eq!(json(&s.ok(&[], &["-j", "core"]))["kind"], "core");
    // A Server section is complete in itself: without CAFile, the certificate is unknown.
    let r = s.poundctl(&[], &["-S", "bad", "core"]);
    assert_eq!(r.code, Some(1), "{}", r.stdout);
    assert_eq!(
        json(&s.ok(&[], &["-S", "lax", "-j", "list", "/0"]))["name"],
        "secure"
    );
    let r = s.poundctl(&[], &["-S", "nosuch", "core"]);
    assert_eq!(
        r.stderr,
        "poundctl: nosuch: no such server defined in configuration\n"
    );
    // -s wins over the file; here it points nowhere.
    let r = s.poundctl(&[], &["-s", "/nonexistent/ctl.sock", "core"]);
    assert!(r.stderr.contains("/nonexistent/ctl.sock"), "{}", r.stderr);
    // POUNDCTL_CONF: another file (relative to the home directory), or none at all.
    write(&s.dir, "other.conf", "Bogus 1\n");
    let r = s.poundctl(&[("POUNDCTL_CONF", "other.conf")], &["core"]);
    assert_eq!(
        r.stderr,
        format!(
            "poundctl: {}/other.conf:1.1-5: unrecognized keyword\n",
            s.dir.display()
        )
    );
    let r = s.poundctl(&[("POUNDCTL_CONF", "")], &["core"]);
    assert_eq!(
        r.stderr,
        "poundctl: can't determine control socket name; use the -s option\n"
    );
}

#[test]
fn client_certificate() {
    // A listener that wants a client certificate from its CA: -K presents one.
    let dir = common::scratch_dir("remote-client-cert");
    let ca = Ca::new("control CA");
    let server = write(&dir, "server.pem", &ca.issue(&["localhost"]).pem);
    let client = write(&dir, "client.pem", &ca.issue(&["operator"]).pem);
    let ca_file = write(&dir, "ca.pem", &ca.pem());
    let pound = Pound::start(&format!(
        "ListenHTTPS\nLISTEN\nCert \"{}\"\nClientCert 2 1\nVerifyList \"{}\"\n\
         Service\nControl\nEnd\nEnd\n",
        server.display(),
        ca_file.display()
    ));
    let url = format!("https://localhost:{}/", pound.addr.port());
    let run = |extra: &[&str]| -> common::Run {
        Command::new(env!("CARGO_BIN_EXE_poundctl"))
            .env("HOME", &dir)
            .env_remove("POUNDCTL_CONF")
            .args(["-f", "/nonexistent/pound.cfg", "-C"])
            .arg(&ca_file)
            .args(["-s", &url])
            .args(extra)
            .output()
            .expect("run poundctl")
            .into()
    };
    let r = run(&["-K", client.to_str().unwrap(), "-j", "core"]);
    assert_eq!((r.code, r.stderr.as_str()), (Some(0), ""), "{}", r.stdout);
    assert_eq!(json(&r.stdout)["kind"], "core");
    // Without it the handshake (or the first read) fails.
    let r = run(&["core"]);
    assert_eq!(r.code, Some(1), "{}", r.stdout);
    let r = run(&["-K", "/nonexistent/me.pem", "core"]);
    assert_eq!(
        r.stderr,
        "poundctl: can't stat /nonexistent/me.pem: No such file or directory\n"
    );
}
