//! Every file of the seed corpus (and of `crashes/`, once a crash has been kept there) passes
//! its target's checks: `cargo test` in `fuzz/` runs the harnesses without AFL.

use std::path::Path;

fn replay(target: &str, dir: &Path) -> usize {
    let check = pound_fuzz::target(target).expect("a known target");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut files: Vec<_> = entries.map(|e| e.expect("entry").path()).collect();
    files.sort();
    for f in &files {
        let data = std::fs::read(f).expect("readable");
        let r = std::panic::catch_unwind(|| check(&data));
        assert!(r.is_ok(), "{target}: {} fails its checks", f.display());
    }
    files.len()
}

#[test]
fn seed_corpus_passes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for target in pound_fuzz::TARGETS {
        let n = replay(target, &root.join("corpus").join(target));
        assert!(n > 0, "no seeds for {target}");
    }
}

#[test]
fn unknown_target() {
    assert!(pound_fuzz::target("nosuch").is_none());
}
