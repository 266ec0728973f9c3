//! The command line of pound.8 (OPTIONS): flags, features, include directory, and the refusal
//! to start with statements the runtime does not implement yet.

mod common;

use common::*;

#[test]
fn help_and_version() {
    let run = pound(&["-h"]);
    assert_eq!(run.code, Some(0));
    assert!(run
        .stdout
        .starts_with("usage: pound [-FVcehv] [-W [no-]FEATURE] [-f FILE] [-p FILE]\n"));
    let etc = pound_config::dirs::SYSCONFDIR;
    assert!(run.stdout.contains(&format!("(default: {etc}/pound.cfg)")));

    let run = pound(&["-V"]);
    assert_eq!(run.code, Some(0));
    let first = run.stdout.lines().next().unwrap();
    assert!(
        first.starts_with("pound (pound) 4.23 (pound-rs "),
        "{first}"
    );
    assert!(run.stdout.contains("License GPLv3+"));
    assert!(run
        .stdout
        .contains(&format!("\nConfiguration file:         {etc}/pound.cfg\n")));
    assert!(run
        .stdout
        .contains(&format!("\nInclude directory:          {etc}\n")));
}

#[test]
fn bad_options() {
    for (args, message) in [
        (&["-x"][..], "pound: invalid option -- 'x'\n"),
        (&["-f"][..], "pound: option requires an argument -- 'f'\n"),
        (&["-W", "color"][..], "pound: invalid feature name: color\n"),
        (
            &["-c", "extra"][..],
            "pound: unknown extra arguments (extra...)\n",
        ),
    ] {
        let run = pound(args);
        assert_eq!(run.code, Some(1), "{args:?}");
        assert_eq!(run.stderr, message, "{args:?}");
    }
}

/// Relative names in the configuration resolve against `-W include-dir=DIR`, or against the
/// current directory with `-W no-include-dir`.
#[test]
fn include_directory() {
    let dir = scratch_dir("incdir");
    let conf = dir.join("conf.d");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(dir.join("main.cfg"), "Include \"part.cfg\"\n").unwrap();
    std::fs::write(conf.join("part.cfg"), "Alive 5\n").unwrap();

    let inc = format!("include-dir={}", conf.display());
    let run = pound_in(&dir, &["-c", "-W", &inc, "-f", "main.cfg"]);
    assert_eq!((run.code, run.stderr.as_str()), (Some(0), ""));
    // The attached forms work too.
    let attached = format!("-W{inc}");
    let run = pound_in(&dir, &["-c", &attached, "-fmain.cfg"]);
    assert_eq!((run.code, run.stderr.as_str()), (Some(0), ""));

    // In the current directory there is no part.cfg (named, as pound names it, joined to
    // the current directory) ...
    let run = pound_in(&dir, &["-c", "-Wno-include-dir", "-f", "main.cfg"]);
    assert_eq!(run.code, Some(1));
    assert_eq!(
        run.stderr,
        format!(
            "pound: main.cfg:1.9-18: can't stat {}/part.cfg: No such file or directory\n",
            std::fs::canonicalize(&dir).unwrap().display()
        )
    );
    // ... until there is.
    std::fs::write(dir.join("part.cfg"), "Alive 5\n").unwrap();
    let run = pound_in(&dir, &["-c", "-Wno-include-dir", "-f", "main.cfg"]);
    assert_eq!((run.code, run.stderr.as_str()), (Some(0), ""));

    // By default the include directory is the build-time sysconfdir.
    let run = pound_in(&dir, &["-c", "-f", "main.cfg"]);
    assert_eq!(run.code, Some(1));
    assert_eq!(
        run.stderr,
        format!(
            "pound: main.cfg:1.9-18: can't stat {}/part.cfg: No such file or directory\n",
            pound_config::dirs::SYSCONFDIR
        )
    );
}

#[test]
fn deprecation_warnings_can_be_turned_off() {
    let dir = scratch_dir("deprecated");
    std::fs::write(dir.join("p.cfg"), "IgnoreCase 1\n").unwrap();
    let run = pound_in(&dir, &["-c", "-f", "p.cfg"]);
    assert_eq!(
        run.stderr,
        "pound: p.cfg:1.1-10: warning: deprecated statement, use the -icase matching directive flag to request case-insensitive comparison\n"
    );
    let run = pound_in(&dir, &["-c", "-W", "no-warn-deprecated", "-f", "p.cfg"]);
    assert_eq!((run.code, run.stderr.as_str()), (Some(0), ""));
}

/// Every statement of pound.8 is implemented, so starting refuses only what cannot serve.
/// (The gate that refused statements without a runtime yet is unit-tested in support.rs.)
#[test]
fn a_configuration_without_listeners_is_refused_at_start() {
    let dir = scratch_dir("start");
    std::fs::write(dir.join("inc.cfg"), "# empty\n").unwrap();
    // A configuration with only parse-time statements has nothing to serve.
    std::fs::write(dir.join("empty.cfg"), "Include \"inc.cfg\"\n").unwrap();
    let run = pound_in(&dir, &["-e", "-Wno-include-dir", "-f", "empty.cfg"]);
    assert_eq!(run.code, Some(1));
    assert_eq!(
        run.stderr,
        "pound: no listeners defined\npound: pound terminated\n"
    );
}

/// Host names in `Address` are resolved when pound starts; `-W no-dns` refuses them.
#[test]
fn host_names_need_dns_at_start() {
    let dir = scratch_dir("nodns");
    std::fs::write(
        dir.join("p.cfg"),
        "ListenHTTP\nAddress localhost\nPort 1\nEnd\nService\nBackend\nAddress 127.0.0.1\nPort 2\nEnd\nEnd\n",
    )
    .unwrap();
    let run = pound_in(&dir, &["-F", "-e", "-W", "no-dns", "-f", "p.cfg"]);
    assert_eq!(run.code, Some(1));
    assert_eq!(
        run.stderr,
        "pound: p.cfg:1.10-4.3: localhost: host name resolution is disabled (-W no-dns)\n"
    );
}

/// As pound does, a directory given with `-W include-dir=` is checked before the
/// configuration is read.
#[test]
fn a_given_include_directory_must_be_one() {
    let dir = scratch_dir("incdir-check");
    std::fs::write(
        dir.join("p.cfg"),
        "ListenHTTP\nAddress 127.0.0.1\nPort 8080\nEnd\n",
    )
    .unwrap();
    std::fs::write(dir.join("file"), "").unwrap();
    let run = pound_in(&dir, &["-c", "-W", "include-dir=nosub", "-f", "p.cfg"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            Some(1),
            "pound: include-dir: can't stat nosub: No such file or directory\n"
        )
    );
    let run = pound_in(&dir, &["-c", "-W", "include-dir=file", "-f", "p.cfg"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (Some(1), "pound: include-dir: file is not a directory\n")
    );
}
