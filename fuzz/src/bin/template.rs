//! The `template` target; its checks are `pound_fuzz::template`.
//!
//! Built by `cargo afl build` (which sets `--cfg fuzzing`), it is AFL's persistent-mode
//! harness. Built by plain cargo, it runs the files named on its command line through the same
//! checks, to reproduce a crash with its panic message: `cargo run --bin template -- FILE...`.

#[cfg(fuzzing)]
fn main() {
    afl::fuzz!(|data: &[u8]| {
        pound_fuzz::template(data);
    });
}

#[cfg(not(fuzzing))]
fn main() {
    pound_fuzz::replay_args("template");
}
