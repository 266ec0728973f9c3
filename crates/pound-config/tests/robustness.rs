//! Bad configuration text never crashes the parser: thousands of corrupted versions of the
//! manual's configurations must each end in a clean result (a model or diagnostics).

use pound_config::env::MemoryFs;
use pound_config::{load, Options};

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const PIECES: &[&[u8]] = &[
    b"\"",
    b"\\",
    b"\n",
    b"End\n",
    b"#",
    b"-re ",
    b"-file ",
    b"Include \"inc.cfg\"\n",
    b"$1(9)",
    b"%[",
    b"(",
    b"[",
    b"{,",
    b"\xff",
    b"\t",
    b"Match OR\n",
    b"Not ",
    b"Else\n",
    b"Backend\n",
    b"Port 99999\n",
    b"Priority 99\n",
    b"ACL\n",
    b"0",
    b"\"10.0.0.0/99\"\n",
    b"Rewrite response\n",
    b"Session\n",
    b" ",
    b"Emergency\n",
];

fn manual_configs() -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../pound/tests/manual");
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .expect("manual fixtures")
        .map(|e| std::fs::read(e.expect("entry").path()).expect("read"))
        .collect();
    v.sort();
    v
}

fn mutate(rng: &mut Rng, mut text: Vec<u8>) -> Vec<u8> {
    for _ in 0..=rng.below(4) {
        let at = rng.below(text.len() + 1);
        match rng.below(4) {
            0 => {
                let piece = PIECES[rng.below(PIECES.len())];
                text.splice(at..at, piece.iter().copied());
            }
            1 => {
                let end = (at + rng.below(16)).min(text.len());
                text.drain(at..end);
            }
            2 => text.truncate(at),
            _ => {
                let end = (at + rng.below(64)).min(text.len());
                let copy = text[at..end].to_vec();
                let to = rng.below(text.len() + 1);
                text.splice(to..to, copy);
            }
        }
    }
    text
}

#[test]
fn corrupted_configurations_never_crash() {
    let seeds = manual_configs();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let opts = Options {
        include_dir: Some("/inc".into()),
        warn_deprecated: true,
    };
    for _ in 0..3000 {
        let seed = seeds[rng.below(seeds.len())].clone();
        let text = mutate(&mut rng, seed);
        let include = mutate(&mut rng, b"Alive 5\n".to_vec());
        let fs = MemoryFs::new()
            .with_file("p.cfg", text.clone())
            .with_file("/inc/inc.cfg", include);
        let loaded = load(&fs, "p.cfg", &opts);
        // Either a model or an error; never both missing.
        let failed = loaded
            .diagnostics
            .iter()
            .any(|d| d.severity == pound_config::Severity::Error);
        assert_eq!(
            loaded.config.is_none(),
            failed,
            "inconsistent result for {:?}",
            String::from_utf8_lossy(&text)
        );
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let opts = Options {
        include_dir: None,
        warn_deprecated: true,
    };
    let text = format!("Service\n{}", "Match AND\n".repeat(100_000));
    let fs = MemoryFs::new().with_file("p.cfg", text);
    let loaded = load(&fs, "p.cfg", &opts);
    assert!(loaded.config.is_none());
    assert!(loaded.diagnostics[0]
        .to_string()
        .ends_with("sections nested too deeply"));

    let text = format!("Service\n{}URL \"x\"\nEnd\n", "Not ".repeat(100_000));
    let fs = MemoryFs::new().with_file("p.cfg", text);
    let loaded = load(&fs, "p.cfg", &opts);
    assert!(loaded.diagnostics[0]
        .to_string()
        .ends_with("sections nested too deeply"));
}
