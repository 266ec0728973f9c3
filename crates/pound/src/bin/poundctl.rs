//! The `poundctl` binary: the `poundctl` crate's program.

fn main() -> std::process::ExitCode {
    poundctl::main()
}
