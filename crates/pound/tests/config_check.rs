//! `pound -c` against the manual's configurations and a corpus of invalid ones.

mod common;

use common::*;

/// Every example and complete fragment of pound.8 (tests/manual) passes `pound -c`, with at
/// most warnings (the manual's own `"\."` escapes draw one).
#[test]
fn manual_configurations_pass_the_check() {
    let dir = crate_dir().join("tests/manual");
    let scratch = scratch_dir("manual");
    let cases = files_ending(&dir, ".cfg");
    assert!(cases.len() >= 15, "manual fixtures missing");
    // The complex example names an error page that must exist when the file is read.
    let page = scratch.join("notfound.html");
    std::fs::write(&page, "<h1>Not here</h1>").unwrap();
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
    for case in cases {
        let text = std::fs::read_to_string(&case).unwrap();
        let text = text
            .replace("/var/lib/pound/notfound.html", page.to_str().unwrap())
            .replace("/etc/pound/", &format!("{}/", pki.display()));
        let file = scratch.join(case.file_name().unwrap());
        std::fs::write(&file, text).unwrap();

        let run = pound(&["-c", "-f", file.to_str().unwrap()]);
        assert_eq!(run.code, Some(0), "{}: {}", case.display(), run.stderr);
        assert_eq!(run.stdout, "", "{}", case.display());
        for line in run.stderr.lines() {
            assert!(line.contains(": warning: "), "{}: {line}", case.display());
        }
    }
}

/// Each file of tests/invalid is refused with exactly the diagnostics in its `.err` file.
#[test]
fn invalid_configurations_are_refused_precisely() {
    let dir = crate_dir().join("tests/invalid");
    let cases = files_ending(&dir, ".cfg");
    assert!(cases.len() >= 25, "invalid corpus missing");
    for case in cases {
        let name = case.file_name().unwrap().to_str().unwrap();
        let expected = std::fs::read_to_string(case.with_extension("err")).unwrap();
        let run = pound_in(&dir, &["-c", "-W", "no-include-dir", "-f", name]);
        assert_eq!(run.code, Some(1), "{name}");
        assert_eq!(run.stderr, expected, "{name}");
        assert_eq!(run.stdout, "", "{name}");
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
        "pound: can't open /nonexistent/pound.cfg: No such file or directory\n"
    );
}
