//! POSIX extended regular expressions (ERE) on top of the `regex` crate.
//!
//! pound.cfg patterns are POSIX EREs as understood by the C library's `regcomp(3)` (with the
//! GNU extensions operators rely on). The `regex` crate speaks a Perl-like dialect, so a pattern
//! is first *translated*: the two dialects disagree on bracket expressions (`[]a]`, a literal
//! backslash inside brackets), on intervals (`{,2}`), on stacked repetition (`a+?` is greedy
//! `(a+)?` in POSIX but lazy in Perl) and on escapes of ordinary characters (`\d` is just `d`).
//!
//! Matching is byte-oriented (HTTP heads are bytes, not UTF-8) and `.` matches a newline, as
//! `regcomp` does without `REG_NEWLINE`. The remaining semantic difference, POSIX
//! leftmost-longest against leftmost-first alternation, only shows in which alternative wins
//! a match and therefore in the text of capture groups; whether a pattern matches at all is the
//! same.
//!
//! Errors carry the texts of glibc's `regerror(3)`, which pound prints. Back-references are
//! not supported (the `regex` crate has none): a valid one is refused with a message that
//! says so.
//!
//! Perl-compatible patterns (`RegexType pcre`, `-pcre`) are compiled by PCRE2 itself (see
//! [`pcre`]), so that look-around, lazy quantifiers and back-references mean what they mean
//! in pound. Both kinds are a [`Regex`].

use std::fmt;

mod bracket;
mod pcre;

pub use pcre::compile_pcre;

/// Why a pattern was rejected, with the byte offset in the original pattern when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub message: String,
    pub offset: Option<usize>,
}

impl Error {
    fn at(offset: usize, message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            offset: Some(offset),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Which language a pattern is written in (`RegexType`, `-posix`, `-pcre`/`-perl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    #[default]
    Posix,
    Pcre,
}

/// A compiled pattern of either dialect.
#[derive(Clone, Debug)]
pub struct Regex(Engine);

#[derive(Clone, Debug)]
enum Engine {
    Posix(regex::bytes::Regex),
    Pcre(pcre::Pcre),
}

impl Regex {
    /// Whether the pattern matches somewhere in `subject`.
    pub fn is_match(&self, subject: &[u8]) -> bool {
        match &self.0 {
            Engine::Posix(re) => re.is_match(subject),
            Engine::Pcre(re) => re.is_match(subject),
        }
    }

    /// Like [`Regex::is_match`], and on success `spans` holds the match (`$0`) and each
    /// parenthesized group (`None` for a group that took no part).
    pub fn captures(&self, subject: &[u8], spans: &mut Vec<Option<(usize, usize)>>) -> bool {
        spans.clear();
        match &self.0 {
            Engine::Posix(re) => {
                let mut locs = re.capture_locations();
                if re.captures_read(&mut locs, subject).is_none() {
                    return false;
                }
                spans.extend((0..locs.len()).map(|i| locs.get(i)));
                true
            }
            Engine::Pcre(re) => re.captures(subject, spans),
        }
    }

    /// How many spans a match has: the whole match and each group.
    pub fn groups(&self) -> usize {
        match &self.0 {
            Engine::Posix(re) => re.captures_len(),
            Engine::Pcre(re) => re.groups(),
        }
    }

    pub fn dialect(&self) -> Dialect {
        match self.0 {
            Engine::Posix(_) => Dialect::Posix,
            Engine::Pcre(_) => Dialect::Pcre,
        }
    }
}

/// Compiles `pattern` written in `dialect`; `icase` ignores case.
pub fn compile_as(dialect: Dialect, pattern: &str, icase: bool) -> Result<Regex, Error> {
    match dialect {
        Dialect::Posix => compile(pattern, icase),
        Dialect::Pcre => compile_pcre(pattern, icase),
    }
}

/// Translates a POSIX ERE into the `regex` crate's syntax.
pub fn translate(pattern: &str) -> Result<String, Error> {
    Translator::new(pattern).run()
}

/// Translates and compiles `pattern`; `icase` is `REG_ICASE`.
///
/// An ASCII pattern matches bytes, as in the C locale. A pattern with non-ASCII characters
/// matches them as UTF-8 characters (so `[é]` means the character, as in a UTF-8 locale);
/// its `.` then matches whole characters of valid UTF-8.
pub fn compile(pattern: &str, icase: bool) -> Result<Regex, Error> {
    let translated = translate(pattern)?;
    regex::bytes::RegexBuilder::new(&translated)
        .unicode(!pattern.is_ascii())
        .case_insensitive(icase)
        .dot_matches_new_line(true)
        .build()
        .map(|re| Regex(Engine::Posix(re)))
        .map_err(|e| Error {
            message: describe_regex_error(&e),
            offset: None,
        })
}

/// glibc's text for a malformed interval.
const BAD_INTERVAL: &str = "Invalid content of \\{\\}";

/// glibc's `RE_DUP_MAX`: the largest count an interval may give.
const DUP_MAX: u32 = 0x7fff;

const TOO_BIG: &str = "Regular expression too big";

/// glibc's text for what the `regex` crate refuses after translation.
fn describe_regex_error(e: &regex::Error) -> String {
    match e {
        regex::Error::CompiledTooBig(_) => TOO_BIG.to_string(),
        _ => "Invalid regular expression".to_string(),
    }
}

/// Appends `c` so that the `regex` crate reads it as itself, inside or outside a class.
pub(crate) fn push_literal(out: &mut String, c: char) {
    if matches!(
        c,
        '\\' | '.'
            | '+'
            | '*'
            | '?'
            | '('
            | ')'
            | '|'
            | '['
            | ']'
            | '{'
            | '}'
            | '^'
            | '$'
            | '#'
            | '&'
            | '-'
            | '~'
    ) {
        out.push('\\');
    }
    out.push(c);
}

struct Translator<'a> {
    src: &'a str,
    chars: Vec<(usize, char)>,
    pos: usize,
    out: String,
    /// Output offset where the most recent complete atom (with its repetitions) starts, so that a
    /// second repetition operator can wrap it: POSIX `a*?` is `(?:a*)?`, never a lazy `a*`.
    last_atom: Option<usize>,
    /// Whether the last thing emitted was a repetition operator.
    after_repeat: bool,
    /// Output offsets of the open groups, to restore `last_atom` when a group closes.
    groups: Vec<(usize, usize)>,
    /// How many groups are complete (what a back-reference may name).
    closed: usize,
}

impl<'a> Translator<'a> {
    fn new(src: &'a str) -> Self {
        Translator {
            src,
            chars: src.char_indices().collect(),
            pos: 0,
            out: String::with_capacity(src.len() + 8),
            last_atom: None,
            after_repeat: false,
            groups: Vec::new(),
            closed: 0,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).map(|&(_, c)| c)
    }

    fn offset(&self) -> usize {
        self.chars
            .get(self.pos)
            .map(|&(o, _)| o)
            .unwrap_or(self.src.len())
    }

    fn begin_atom(&mut self) {
        self.last_atom = Some(self.out.len());
        self.after_repeat = false;
    }

    fn run(mut self) -> Result<String, Error> {
        while let Some(c) = self.peek() {
            let at = self.offset();
            self.pos += 1;
            match c {
                '\\' => self.escape(at)?,
                '[' => {
                    self.begin_atom();
                    self.pos = bracket::translate(&self.chars, self.pos, at, &mut self.out)?;
                }
                '(' => {
                    self.groups.push((self.out.len(), at));
                    self.out.push('(');
                    self.last_atom = None;
                    self.after_repeat = false;
                }
                ')' => match self.groups.pop() {
                    Some((start, _)) => {
                        self.closed += 1;
                        self.out.push(')');
                        self.last_atom = Some(start);
                        self.after_repeat = false;
                    }
                    // POSIX: a `)` only closes a group that is open; otherwise it is literal.
                    None => {
                        self.begin_atom();
                        self.out.push_str("\\)");
                    }
                },
                '|' => {
                    self.out.push('|');
                    self.last_atom = None;
                    self.after_repeat = false;
                }
                '*' | '+' | '?' => self.repeat(at, &c.to_string())?,
                // As in regcomp(3), a brace must open a valid interval.
                '{' => {
                    let text = self.interval().map_err(|m| Error::at(at, m))?;
                    self.repeat(at, &text)?
                }
                '^' | '$' => {
                    self.out.push(c);
                    self.last_atom = None;
                    self.after_repeat = false;
                }
                '.' => {
                    self.begin_atom();
                    self.out.push('.');
                }
                _ => {
                    self.begin_atom();
                    push_literal(&mut self.out, c);
                }
            }
        }
        if let Some(&(_, at)) = self.groups.last() {
            return Err(Error::at(at, "Unmatched ( or \\("));
        }
        Ok(self.out)
    }

    fn repeat(&mut self, at: usize, op: &str) -> Result<(), Error> {
        let Some(start) = self.last_atom else {
            return Err(Error::at(at, "Invalid preceding regular expression"));
        };
        if self.after_repeat {
            self.out.insert_str(start, "(?:");
            self.out.push(')');
        }
        self.out.push_str(op);
        self.after_repeat = true;
        Ok(())
    }

    /// Reads `{n}`, `{n,}`, `{n,m}` or the GNU `{,m}` and `{,}` after the opening brace;
    /// the error is glibc's text when the brace does not start a valid interval.
    fn interval(&mut self) -> Result<String, &'static str> {
        let mut min = String::new();
        let mut max = String::new();
        let mut comma = false;
        let mut i = self.pos;
        loop {
            match self.chars.get(i).map(|&(_, c)| c) {
                None => return Err("Unmatched \\{"),
                Some('}') => break,
                Some(',') if !comma => comma = true,
                Some(d) if d.is_ascii_digit() => {
                    if comma { &mut max } else { &mut min }.push(d);
                }
                Some(_) => return Err(BAD_INTERVAL),
            }
            i += 1;
        }
        if min.is_empty() && !comma {
            return Err(BAD_INTERVAL);
        }
        self.pos = i + 1;
        let count = |s: &str| s.parse::<u32>().unwrap_or(u32::MAX);
        let lo = if min.is_empty() { 0 } else { count(&min) };
        let hi = (!max.is_empty()).then(|| count(&max));
        if hi.is_some_and(|hi| lo > hi) {
            return Err(BAD_INTERVAL);
        }
        if hi.unwrap_or(lo) > DUP_MAX {
            return Err(TOO_BIG);
        }
        Ok(match (comma, hi) {
            (false, _) => format!("{{{lo}}}"),
            (true, None) => format!("{{{lo},}}"),
            (true, Some(hi)) => format!("{{{lo},{hi}}}"),
        })
    }

    fn escape(&mut self, at: usize) -> Result<(), Error> {
        let Some(c) = self.peek() else {
            return Err(Error::at(at, "Trailing backslash"));
        };
        self.pos += 1;
        match c {
            // GNU extensions that regcomp(3) accepts in EREs.
            'w' | 'W' | 's' | 'S' => {
                self.begin_atom();
                self.out.push('\\');
                self.out.push(c);
            }
            'b' | 'B' | '<' | '>' => {
                self.out.push('\\');
                self.out.push(c);
                self.last_atom = None;
                self.after_repeat = false;
            }
            '`' | '\'' => {
                self.out.push_str(if c == '`' { "\\A" } else { "\\z" });
                self.last_atom = None;
                self.after_repeat = false;
            }
            '1'..='9' => {
                let n = c as usize - '0' as usize;
                return Err(Error::at(
                    at,
                    if n > self.closed {
                        "Invalid back reference"
                    } else {
                        "back-references inside regular expressions are not supported"
                    },
                ));
            }
            // Any other escaped character stands for itself.
            _ => {
                self.begin_atom();
                push_literal(&mut self.out, c);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
