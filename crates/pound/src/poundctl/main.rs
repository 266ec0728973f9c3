//! `poundctl`: the control tool (placeholder until it lands).
fn main() {
    eprintln!("poundctl: not built yet");
    std::process::exit(1);
}
