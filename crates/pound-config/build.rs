//! Build-time installation directories, like pound's `--sysconfdir` and `--localstatedir`:
//! `POUND_SYSCONFDIR` (default `/etc`) and `POUND_LOCALSTATEDIR` (default `/var`).

fn main() {
    for (var, default) in [
        ("POUND_SYSCONFDIR", "/etc"),
        ("POUND_LOCALSTATEDIR", "/var"),
    ] {
        println!("cargo:rerun-if-env-changed={var}");
        let value = std::env::var(var).unwrap_or_else(|_| default.to_string());
        println!("cargo:rustc-env={var}={value}");
    }
}
