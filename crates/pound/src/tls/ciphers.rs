//! OpenSSL cipher lists (`Ciphers "..."`, ciphers(1)) applied to the TLS 1.2 cipher suites
//! this build supports.
//!
//! The list is read as OpenSSL reads it: elements separated by `:`, `,`, `;` or spaces; an
//! element is one or more selectors joined by `+` (all must hold); a leading `!` removes the
//! matching suites for good, `-` removes them (a later element may add them back), `+` moves
//! them to the end, and no prefix appends those not yet listed. `@STRENGTH` sorts by key
//! length, `@SECLEVEL=n` is accepted and has no effect.
//!
//! As in OpenSSL, the list governs TLS 1.2 only: the three TLS 1.3 suites are always
//! offered. Only the six ECDHE suites with AEAD ciphers exist here; a known OpenSSL cipher
//! or alias that matches none of them is reported back as unsupported, so the caller can
//! warn rather than ignore it silently.

/// What an OpenSSL selector can test about a suite.
#[derive(Debug, Clone, Copy)]
pub struct Suite {
    /// The OpenSSL name.
    pub name: &'static str,
    /// Authentication: `RSA` or `ECDSA`.
    pub auth: &'static str,
    /// `AES128`, `AES256` or `CHACHA20`.
    pub cipher: &'static str,
    /// Symmetric key bits, for `@STRENGTH`.
    pub bits: u16,
}

/// The TLS 1.2 suites of this build, in its default order of preference.
pub const SUITES: &[Suite] = &[
    Suite {
        name: "ECDHE-ECDSA-AES256-GCM-SHA384",
        auth: "ECDSA",
        cipher: "AES256",
        bits: 256,
    },
    Suite {
        name: "ECDHE-ECDSA-AES128-GCM-SHA256",
        auth: "ECDSA",
        cipher: "AES128",
        bits: 128,
    },
    Suite {
        name: "ECDHE-ECDSA-CHACHA20-POLY1305",
        auth: "ECDSA",
        cipher: "CHACHA20",
        bits: 256,
    },
    Suite {
        name: "ECDHE-RSA-AES256-GCM-SHA384",
        auth: "RSA",
        cipher: "AES256",
        bits: 256,
    },
    Suite {
        name: "ECDHE-RSA-AES128-GCM-SHA256",
        auth: "RSA",
        cipher: "AES128",
        bits: 128,
    },
    Suite {
        name: "ECDHE-RSA-CHACHA20-POLY1305",
        auth: "RSA",
        cipher: "CHACHA20",
        bits: 256,
    },
];

/// OpenSSL aliases and cipher families that select none of [`SUITES`]: accepted, and reported
/// as unsupported when they would add something.
const NOTHING_HERE: &[&str] = &[
    "LOW",
    "MEDIUM",
    "EXPORT",
    "EXP",
    "eNULL",
    "NULL",
    "aNULL",
    "COMPLEMENTOFDEFAULT",
    "COMPLEMENTOFALL",
    "kRSA",
    "RSA",
    "kDHE",
    "kEDH",
    "DH",
    "DHE",
    "EDH",
    "ADH",
    "AECDH",
    "kPSK",
    "PSK",
    "kECDHEPSK",
    "kDHEPSK",
    "kRSAPSK",
    "aPSK",
    "SRP",
    "kSRP",
    "aDSS",
    "DSS",
    "3DES",
    "DES",
    "RC4",
    "RC2",
    "IDEA",
    "SEED",
    "MD5",
    "SHA1",
    "SHA",
    "CAMELLIA",
    "CAMELLIA128",
    "CAMELLIA256",
    "ARIA",
    "ARIA128",
    "ARIA256",
    "AESCCM",
    "AESCCM8",
    "CBC",
    "SSLv3",
    "TLSv1",
    "TLSv1.0",
    "aGOST",
    "kGOST",
    "GOST94",
    "GOST89MAC",
    "aECDH",
    "kECDH",
    "ECDH",
];

/// The result of reading a list: the chosen suites in order of preference, and the parts of
/// the list that this build cannot honour.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Selection {
    pub suites: Vec<&'static str>,
    pub unsupported: Vec<String>,
}

/// Whether one selector (`AESGCM`, `aRSA`, `ECDHE-RSA-AES128-GCM-SHA256`, ...) holds for
/// `s`; `None` when it is not a selector this module knows.
fn selects(word: &str, s: &Suite) -> Option<bool> {
    Some(match word {
        // Since OpenSSL 1.1.0 `ECDH` is another name for `kECDHE`.
        "ALL" | "DEFAULT" | "HIGH" | "TLSv1.2" | "ECDHE" | "EECDH" | "kECDHE" | "kEECDH"
        | "ECDH" | "AEAD" => true,
        "FIPS" => s.cipher != "CHACHA20",
        "aRSA" => s.auth == "RSA",
        "aECDSA" | "ECDSA" => s.auth == "ECDSA",
        "AES" => s.cipher.starts_with("AES"),
        "AESGCM" => s.cipher.starts_with("AES"),
        "AES128" => s.cipher == "AES128",
        "AES256" => s.cipher == "AES256",
        "CHACHA20" => s.cipher == "CHACHA20",
        w if NOTHING_HERE.contains(&w) => false,
        w => {
            if SUITES.iter().any(|x| x.name == w) {
                s.name == w
            } else {
                return None;
            }
        }
    })
}

/// Whether `word` could be an OpenSSL cipher name (which this build does not have).
fn looks_like_cipher(word: &str) -> bool {
    !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Reads an OpenSSL cipher list. Errors name the part that is not cipher-list syntax.
pub fn select(list: &str) -> Result<Selection, String> {
    let mut chosen: Vec<usize> = Vec::new();
    let mut killed = [false; SUITES.len()];
    let mut unsupported = Vec::new();
    let elements = list.split([':', ',', ';', ' ']).filter(|e| !e.is_empty());
    for element in elements {
        if let Some(cmd) = element.strip_prefix('@') {
            if cmd == "STRENGTH" {
                chosen.sort_by_key(|&i| std::cmp::Reverse(SUITES[i].bits));
                continue;
            }
            if cmd.starts_with("SECLEVEL=") {
                continue;
            }
            return Err(format!("unknown command \"{element}\""));
        }
        let (op, body) = match element.as_bytes()[0] {
            op @ (b'!' | b'-' | b'+') => (op, &element[1..]),
            _ => (b' ', element),
        };
        if body.is_empty() {
            return Err(format!("empty element \"{element}\""));
        }
        let mut matching = Vec::new();
        let mut known = true;
        for (i, s) in SUITES.iter().enumerate() {
            let mut all = true;
            for word in body.split('+') {
                match selects(word, s) {
                    Some(v) => all &= v,
                    None if looks_like_cipher(word) => {
                        known = false;
                        all = false;
                    }
                    None => return Err(format!("bad cipher name \"{word}\"")),
                }
            }
            if all {
                matching.push(i);
            }
        }
        match op {
            b'!' => {
                for &i in &matching {
                    killed[i] = true;
                }
                chosen.retain(|i| !matching.contains(i));
            }
            b'-' => chosen.retain(|i| !matching.contains(i)),
            b'+' => {
                let (moved, kept): (Vec<usize>, Vec<usize>) =
                    chosen.iter().partition(|i| matching.contains(i));
                chosen = kept;
                chosen.extend(moved);
            }
            _ => {
                if matching.is_empty() || !known {
                    unsupported.push(body.to_string());
                }
                for i in matching {
                    if !killed[i] && !chosen.contains(&i) {
                        chosen.push(i);
                    }
                }
            }
        }
    }
    Ok(Selection {
        suites: chosen.into_iter().map(|i| SUITES[i].name).collect(),
        unsupported,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &str) -> Vec<&'static str> {
        select(list).expect("valid list").suites
    }

    #[test]
    fn aliases_and_names_select_suites_in_order() {
        assert_eq!(names("HIGH").len(), 6);
        assert_eq!(
            names("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384"),
            [
                "ECDHE-RSA-AES128-GCM-SHA256",
                "ECDHE-ECDSA-AES256-GCM-SHA384"
            ]
        );
        assert_eq!(
            names("aRSA+AESGCM"),
            ["ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-AES128-GCM-SHA256"]
        );
        assert_eq!(
            names("ECDHE+CHACHA20"),
            [
                "ECDHE-ECDSA-CHACHA20-POLY1305",
                "ECDHE-RSA-CHACHA20-POLY1305"
            ]
        );
    }

    #[test]
    fn removal_kill_and_move_follow_openssl() {
        // `-` removes, a later element adds back; `!` removes for good.
        assert_eq!(names("HIGH:-aRSA:aRSA+AES128").len(), 4);
        assert_eq!(names("HIGH:!aRSA:aRSA").len(), 3);
        let moved = names("ALL:+AES128");
        assert_eq!(
            &moved[4..],
            [
                "ECDHE-ECDSA-AES128-GCM-SHA256",
                "ECDHE-RSA-AES128-GCM-SHA256"
            ]
        );
        let strong = names("AES128:AES256:@STRENGTH");
        assert!(
            strong[..2].iter().all(|n| n.contains("AES256")),
            "{strong:?}"
        );
        assert_eq!(names("HIGH:!aNULL:!MD5:@SECLEVEL=2").len(), 6);
    }

    #[test]
    fn ciphers_this_build_lacks_are_reported() {
        let s = select("AES128-SHA:DHE-RSA-AES256-SHA256").expect("valid list");
        assert!(s.suites.is_empty());
        assert_eq!(s.unsupported, ["AES128-SHA", "DHE-RSA-AES256-SHA256"]);
        let s = select("ECDHE-RSA-AES128-GCM-SHA256:RC4:!MD5").expect("valid list");
        assert_eq!(s.suites, ["ECDHE-RSA-AES128-GCM-SHA256"]);
        assert_eq!(s.unsupported, ["RC4"]);
    }

    #[test]
    fn common_lists_from_the_wild() {
        // Mozilla-style list: ECDH is every ECDHE suite; DH and RSA key exchange are absent.
        let s = select(
            "ECDH+AESGCM:DH+AESGCM:ECDH+AES256:DH+AES256:ECDH+AES128:DH+AES:RSA+AESGCM:RSA+AES:!aNULL:!MD5:!DSS",
        )
        .expect("valid list");
        assert_eq!(s.suites.len(), 4, "{s:?}");
        assert!(s.suites.iter().all(|n| n.contains("AES")));
        // "AEAD only": the MAC aliases select nothing here, so nothing is lost.
        assert_eq!(names("HIGH:!aNULL:!MD5:!SHA1:!SHA256:!SHA384").len(), 6);
        assert!(select("ECDHE+SHA384").expect("valid").suites.is_empty());
        // FIPS has no ChaCha20.
        let fips = names("FIPS");
        assert_eq!(fips.len(), 4);
        assert!(fips.iter().all(|n| !n.contains("CHACHA")));
    }

    #[test]
    fn malformed_lists_are_errors() {
        assert!(select("HIGH:@FOO").is_err());
        assert!(select("HIGH:!").is_err());
        assert!(select("AES/GCM").is_err());
    }
}
