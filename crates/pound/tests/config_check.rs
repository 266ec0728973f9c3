//! `pound -c` against the manual's configurations and a corpus of pound 4.23's diagnostics.

mod common;

use common::*;

/// Every example and complete fragment of pound.8 (tests/manual) passes `pound -c`, with at
/// most warnings and notes (the manual's own `"\."` escapes draw one).
#[test]
fn manual_configurations_pass_the_check() {
    let dir = crate_dir().join("tests/manual");
    let scratch = scratch_dir("manual");
    let cases = files_ending(&dir, ".cfg");
    assert!(cases.len() >= 15, "manual fixtures missing");
    // The complex example names an error page that must exist when the file is read.
    let page = scratch.join("notfound.html");
    std::fs::write(&page, "<h1>Not here</h1>").unwrap();
    // pound opens the ACME directory when it reads the file.
    let acme = scratch.join("acme");
    std::fs::create_dir_all(&acme).unwrap();
    // Certificates, CA and revocation lists are read by the check: the manual's
    // /etc/pound files are made here.
    let pki = scratch.join("pki");
    std::fs::create_dir_all(&pki).unwrap();
    let ca = tls::Ca::new("Manual CA");
    for name in ["client", "a", "b", "server", "pound"] {
        let cert = ca.issue(&[&format!("{name}.example.org")]);
        std::fs::write(pki.join(format!("{name}.pem")), cert.pem).unwrap();
    }
    std::fs::write(pki.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(pki.join("verify.pem"), ca.pem()).unwrap();
    std::fs::write(pki.join("crl.pem"), ca.crl(&[7])).unwrap();
    // pound notes a missing password file (without failing); the manual's exists.
    std::fs::write(pki.join("htpass"), "").unwrap();
    for case in cases {
        let text = std::fs::read_to_string(&case).unwrap();
        let text = text
            .replace("/var/lib/pound/notfound.html", page.to_str().unwrap())
            .replace("/var/lib/pound/acme", acme.to_str().unwrap())
            .replace("/etc/pound/", &format!("{}/", pki.display()));
        let file = scratch.join(case.file_name().unwrap());
        std::fs::write(&file, text).unwrap();

        let run = pound(&["-c", "-f", file.to_str().unwrap()]);
        assert_eq!(run.code, Some(0), "{}: {}", case.display(), run.stderr);
        assert_eq!(run.stdout, "", "{}", case.display());
        // Warnings, and pound's unlabelled notes (SSLEngine is ignored).
        for line in run.stderr.lines() {
            assert!(
                line.contains(": warning: ")
                    || line.ends_with(": statement ignored")
                    || line.ends_with(": unrecognized escape character"),
                "{}: {line}",
                case.display()
            );
        }
    }
}

/// Each `.cfg` of tests/diagnostics draws exactly the diagnostics of its `.err` file and
/// exits with the status in its `.rc` file: both are what pound 4.23 gives for it (run as
/// `pound -c -W no-include-dir -f NAME.cfg` in that directory). `$CWD/` in a `.err` file
/// stands for the working directory. The cases run in a copy of the directory, with a
/// certificate made for the run as `cert.pem`; other files there (`*.inc`, `*.txt`,
/// `aux.d/`) are what the cases read.
#[test]
fn diagnostics_are_pounds() {
    let source = crate_dir().join("tests/diagnostics");
    let dir = scratch_dir("diagnostics");
    copy_tree(&source, &dir);
    let ca = tls::Ca::new("Corpus CA");
    std::fs::write(dir.join("cert.pem"), ca.issue(&["localhost"]).pem).unwrap();
    let cases = files_ending(&dir, ".cfg");
    assert!(cases.len() >= 100, "diagnostics corpus missing");
    let cwd = format!("{}/", dir.display());
    let mut failures = Vec::new();
    for case in cases {
        let name = case.file_name().unwrap().to_str().unwrap();
        let expected = std::fs::read_to_string(case.with_extension("err"))
            .unwrap()
            .replace("$CWD/", &cwd);
        let rc: i32 = std::fs::read_to_string(case.with_extension("rc"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let run = pound_in(&dir, &["-c", "-W", "no-include-dir", "-f", name]);
        if (run.code, run.stderr.as_str(), run.stdout.as_str()) != (Some(rc), &expected, "") {
            failures.push(format!(
                "{name}: expected rc={rc}\n{expected}got rc={:?}\n{}{}",
                run.code, run.stderr, run.stdout
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn shipped_example_passes_the_check() {
    let example = crate_dir().join("../../examples/pound.cfg");
    let run = pound(&["-c", "-f", example.to_str().unwrap()]);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (Some(0), "", "")
    );
}

/// `-c` is silent on success; with `-v` or `-e` it says so on standard output.
#[test]
fn check_reports_success_only_when_asked() {
    let dir = scratch_dir("ok");
    std::fs::write(dir.join("p.cfg"), "Alive 5\n").unwrap();
    let run = pound_in(&dir, &["-c", "-f", "p.cfg"]);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (Some(0), "", "")
    );
    for flag in ["-v", "-e"] {
        let run = pound_in(&dir, &["-c", flag, "-f", "p.cfg"]);
        assert_eq!(run.code, Some(0));
        assert_eq!(run.stdout, "pound: Config file p.cfg is OK\n");
    }
}

#[test]
fn missing_configuration_file() {
    let run = pound(&["-c", "-f", "/nonexistent/pound.cfg"]);
    assert_eq!(run.code, Some(1));
    assert_eq!(
        run.stderr,
        "pound: can't stat /nonexistent/pound.cfg: No such file or directory\n"
    );
}
