//! Build-time installation directories, like pound's `--sysconfdir` and `--localstatedir`:
//! `POUND_SYSCONFDIR` (default `/etc`), `POUND_LOCALSTATEDIR` (default `/var`) and
//! `POUND_DATADIR` (default `/usr/local/share`, where poundctl looks for `pound/poundctl.tmpl`).

fn main() {
    for (var, default) in [
        ("POUND_SYSCONFDIR", "/etc"),
        ("POUND_LOCALSTATEDIR", "/var"),
        ("POUND_DATADIR", "/usr/local/share"),
    ] {
        println!("cargo:rerun-if-env-changed={var}");
        let value = std::env::var(var).unwrap_or_else(|_| default.to_string());
        println!("cargo:rustc-env={var}={value}");
    }
}
