//! poundctl's templates through the binary (manual 12.5): `-t FILE`, `-T NAME`, the
//! template path (`POUND_TMPL_PATH`, `~/.poundctl.tmpl`), `TemplateFile`/`TemplateName`
//! in `~/.poundctl`, the built-in file, and what errors and warnings look like. The
//! expected texts were recorded from poundctl 4.23 given the same templates and replies.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A control socket in `dir` answering every connection with `body` as JSON.
fn fake(dir: &Path, body: &str) -> PathBuf {
    let socket = dir.join("ctl.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let _ = conn.set_read_timeout(Some(Duration::from_secs(20)));
            let mut seen = Vec::new();
            let mut buf = [0u8; 1024];
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
            let _ = conn.write_all(reply.as_bytes());
        }
    });
    socket
}

struct Case {
    dir: PathBuf,
    socket: PathBuf,
}

impl Case {
    fn new(name: &str, body: &str) -> Case {
        let dir = common::scratch_dir(name);
        let socket = fake(&dir, body);
        Case { dir, socket }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// poundctl `args` with HOME in the case's directory and `env` set.
    fn run(&self, env: &[(&str, &str)], args: &[&str]) -> common::Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_poundctl"));
        cmd.env("HOME", &self.dir)
            .env_remove("POUNDCTL_CONF")
            .env_remove("POUND_TMPL_PATH")
            .arg("-s")
            .arg(&self.socket)
            .args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("run poundctl").into()
    }
}

const LISTING: &str = r#"{"listeners":[{"name":null},{"name":"main"}],"pid":42}"#;
const TWO: &str = "{{define \"default\"}}{{range $i, $l = .listeners}}{{$i}}:\
    {{if $l.name}}{{$l.name}}{{else}}-{{end}} {{end}}\n{{end}}\
    {{define \"brief\"}}{{len .listeners}} listeners, pid {{.pid}}\n{{end}}";

fn outcome(r: &common::Run) -> (&str, &str, Option<i32>) {
    (r.stdout.as_str(), r.stderr.as_str(), r.code)
}

#[test]
fn template_file_and_name() {
    let c = Case::new("tmpl-file", LISTING);
    let file = c.write("two.tmpl", TWO);
    let file = file.to_str().unwrap();
    assert_eq!(
        outcome(&c.run(&[], &["-t", file, "list"])),
        ("0:- 1:main \n", "", Some(0))
    );
    assert_eq!(
        outcome(&c.run(&[], &["-t", file, "-T", "brief", "list"])),
        ("2 listeners, pid 42\n", "", Some(0))
    );
    assert_eq!(
        outcome(&c.run(&[], &["-t", file, "-T", "nosuch", "list"])),
        ("", "poundctl: template nosuch not defined\n", Some(1))
    );
    let r = c.run(&[], &["-t", "/nonexistent/x.tmpl", "list"]);
    assert_eq!(
        outcome(&r),
        (
            "",
            "poundctl: can't open template file /nonexistent/x.tmpl: No such file or directory\n",
            Some(1)
        )
    );
    // -j needs no template.
    let r = c.run(&[], &["-j", "-T", "nosuch", "list"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
}

#[test]
fn template_search_path_and_configuration() {
    let c = Case::new("tmpl-path", LISTING);
    // The built-in file when nothing is installed: the default layout.
    let r = c.run(&[], &["list"]);
    assert!(r.stdout.starts_with("Server time: \n"), "{}", r.stdout);
    // ~/.poundctl.tmpl comes first in the default path.
    c.write(".poundctl.tmpl", TWO);
    assert_eq!(c.run(&[], &["list"]).stdout, "0:- 1:main \n");
    // POUND_TMPL_PATH replaces the path: a directory is searched for poundctl.tmpl.
    let sub = c.dir.join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(
        sub.join("poundctl.tmpl"),
        "{{define \"default\"}}from sub\n{{end}}",
    )
    .unwrap();
    let path = format!("/nonexistent:{}", sub.display());
    assert_eq!(
        c.run(&[("POUND_TMPL_PATH", &path)], &["list"]).stdout,
        "from sub\n"
    );
    // ~/.poundctl: TemplateName, and TemplateFile over the search.
    c.write(".poundctl", "TemplateName \"brief\"\n");
    assert_eq!(c.run(&[], &["list"]).stdout, "2 listeners, pid 42\n");
    assert_eq!(
        c.run(&[], &["-T", "default", "list"]).stdout,
        "0:- 1:main \n"
    );
    let other = c.write("other.tmpl", "{{define \"brief\"}}other\n{{end}}");
    c.write(
        ".poundctl",
        &format!(
            "TemplateFile \"{}\"\nTemplateName \"brief\"\n",
            other.display()
        ),
    );
    assert_eq!(c.run(&[], &["list"]).stdout, "other\n");
}

#[test]
fn errors_and_warnings_as_pound_shows_them() {
    let c = Case::new("tmpl-errors", "{\"a\":[1]}");
    let bad = c.write("bad.tmpl", "{{define \"default\"}}one\n{{if}}{{end}}");
    assert_eq!(
        outcome(&c.run(&[], &["-t", bad.to_str().unwrap(), "list"])),
        (
            "",
            format!("poundctl: {}:2:8: Unexpected token\n", bad.display()).as_str(),
            Some(1)
        )
    );
    // What was printed before a run-time error stays printed.
    let partial = c.write(
        "partial.tmpl",
        "{{define \"default\"}}before {{printf \"%d %d\" 1}} after\n{{end}}",
    );
    assert_eq!(
        outcome(&c.run(&[], &["-t", partial.to_str().unwrap(), "list"])),
        (
            "before ",
            "poundctl: not enough arguments in call to printf: argument 1 requested by format \
             string\n",
            Some(1)
        )
    );
    // A warning does not fail the run.
    let warn = c.write(
        "warn.tmpl",
        "{{define \"default\"}}{{exists .a \"x\"}}\n{{end}}",
    );
    assert_eq!(
        outcome(&c.run(&[], &["-t", warn.to_str().unwrap(), "list"])),
        (
            "false\n",
            "poundctl: argument 1 to exists has wrong type in: [1]\n",
            Some(0)
        )
    );
    let fmt = c.write(
        "fmt.tmpl",
        "{{define \"default\"}}{{printf \"%-6s|%5.1f|%03d\" .name .f .n}}\n{{end}}",
    );
    let c2 = Case::new("tmpl-printf", r#"{"name":"ab","f":2.25,"n":7}"#);
    assert_eq!(
        c2.run(&[], &["-t", fmt.to_str().unwrap(), "list"]).stdout,
        "ab    |  2.2|007\n"
    );
}
