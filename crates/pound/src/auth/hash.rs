//! Password hashes of htpasswd files (pound.8, BASIC AUTHENTICATION): plain text, `{SHA}`,
//! Apache `$apr1$`, and the crypt(3) family (`$1$`, `$5$`, `$6$`, `$2a$ $2b$ $2y$` and
//! traditional DES).
//!
//! Which kind a stored hash is follows from its prefix, as in Apache's own checker; a string
//! that is no known hash is compared as a plain-text password.

use md5::{Digest, Md5};
use sha1::Sha1;

/// Whether `password` matches the stored `hash`. Comparisons of secrets take the same time
/// whatever the position of the first difference.
pub fn verify(password: &[u8], hash: &str) -> bool {
    if let Some(b64) = hash.strip_prefix("{SHA}") {
        let Some(stored) = crate::base64::decode(b64.as_bytes()) else {
            return false;
        };
        return constant_eq(&Sha1::digest(password), &stored);
    }
    if let Some(rest) = hash.strip_prefix("$apr1$") {
        let salt = rest.split('$').next().unwrap_or("");
        return constant_eq(
            md5_crypt(password, salt, "$apr1$").as_bytes(),
            hash.as_bytes(),
        );
    }
    if ["$1$", "$2a$", "$2b$", "$2y$", "$5$", "$6$"]
        .iter()
        .any(|p| hash.starts_with(p))
    {
        return pwhash::unix::verify(password, hash);
    }
    // Another scheme (yescrypt `$y$`, `{SSHA}`, ...) is not supported: it must not be taken
    // for a plain-text password that equals the hash string.
    if hash.starts_with('$') || hash.starts_with('{') {
        return false;
    }
    // A 13-character DES hash looks like a plain-text password; try both, as pound does
    // (crypt(3), then a plain comparison).
    (is_des(hash) && pwhash::unix::verify(password, hash)) || constant_eq(password, hash.as_bytes())
}

/// Whether `hash` has the shape of traditional DES crypt: 13 characters of its alphabet.
fn is_des(hash: &str) -> bool {
    const DES: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    hash.len() == 13 && hash.bytes().all(|b| DES.contains(&b))
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The MD5-based crypt of FreeBSD, parameterised by its magic string (`$1$`, or `$apr1$`
/// for Apache's variant). `salt` is truncated to eight characters.
pub fn md5_crypt(password: &[u8], salt: &str, magic: &str) -> String {
    let salt = &salt.as_bytes()[..salt.len().min(8)];
    let mut alt = Md5::new();
    alt.update(password);
    alt.update(salt);
    alt.update(password);
    let alt = alt.finalize();

    let mut ctx = Md5::new();
    ctx.update(password);
    ctx.update(magic.as_bytes());
    ctx.update(salt);
    let mut left = password.len();
    while left > 0 {
        ctx.update(&alt[..left.min(16)]);
        left = left.saturating_sub(16);
    }
    let mut i = password.len();
    while i > 0 {
        if i & 1 == 1 {
            ctx.update([0u8]);
        } else {
            ctx.update(&password[..1]);
        }
        i >>= 1;
    }
    let mut digest = ctx.finalize();
    for round in 0..1000 {
        let mut c = Md5::new();
        if round & 1 == 1 {
            c.update(password);
        } else {
            c.update(digest);
        }
        if round % 3 != 0 {
            c.update(salt);
        }
        if round % 7 != 0 {
            c.update(password);
        }
        if round & 1 == 1 {
            c.update(digest);
        } else {
            c.update(password);
        }
        digest = c.finalize();
    }

    const ITOA64: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = String::with_capacity(magic.len() + salt.len() + 23);
    out.push_str(magic);
    out.push_str(&String::from_utf8_lossy(salt));
    out.push('$');
    let mut put = |mut v: u32, n: usize| {
        for _ in 0..n {
            out.push(char::from(ITOA64[(v & 0x3f) as usize]));
            v >>= 6;
        }
    };
    let d = |i: usize| u32::from(digest[i]);
    for (a, b, c) in [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)] {
        put((d(a) << 16) | (d(b) << 8) | d(c), 4);
    }
    put(d(11), 2);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hashes of `pa:ss wörd` made by `openssl passwd` and the C library's crypt(3).
    const PASSWORD: &str = "pa:ss wörd";
    const VECTORS: &[&str] = &[
        "$1$abcdefgh$628452QtYZlNKJP3TsuUq.",
        "$apr1$abcdefgh$heejsnde5T6g6eroYlT2k/",
        "$5$saltsalt$f3/UQ15npnSs4Vv7.Xos27TA1i1CpdMGT34D5fPQuj5",
        "$6$saltsalt$C4RIzsZQIZD5.VEF3opYL3gpxyszQ5ZhzXA6QVzJgu5AFkGPMkRyVj.ao7MicoMK9iVtJ6ezaZhxMP8Sj1Ymr0",
        "abPThFfsm.QAM",
        "$2b$04$abcdefghijklmnopqrstuuC5VMwYwbzdFgvTXUffgXF6mHCmfegLa",
        "{SHA}cRQ3iPZN/cUFUyAxdC91S5hcXvA=",
        "pa:ss wörd",
    ];

    #[test]
    fn every_kind_verifies() {
        for hash in VECTORS {
            assert!(verify(PASSWORD.as_bytes(), hash), "{hash}");
            assert!(
                !verify(b"pa:ss word", hash),
                "wrong password accepted by {hash}"
            );
            assert!(!verify(b"", hash), "empty password accepted by {hash}");
        }
    }

    #[test]
    fn md5_crypt_matches_openssl() {
        assert_eq!(
            md5_crypt(PASSWORD.as_bytes(), "abcdefgh", "$1$"),
            "$1$abcdefgh$628452QtYZlNKJP3TsuUq."
        );
        assert_eq!(
            md5_crypt(PASSWORD.as_bytes(), "abcdefghij", "$apr1$"),
            "$apr1$abcdefgh$heejsnde5T6g6eroYlT2k/"
        );
    }

    #[test]
    fn malformed_hashes_never_match() {
        for hash in ["$1$", "$apr1$", "$6$x", "{SHA}!!", "$2b$99$x"] {
            assert!(!verify(b"x", hash), "{hash}");
        }
        // Unsupported schemes never match, not even their own text.
        for hash in ["$y$j9T$abc$def", "{SSHA}abcdef"] {
            assert!(!verify(hash.as_bytes(), hash), "{hash}");
        }
        // A plain password that looks like a DES hash still works.
        assert!(verify(b"abcdefghijklm", "abcdefghijklm"));
    }
}
