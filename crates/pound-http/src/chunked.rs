//! The chunked transfer coding (RFC 9112, section 7.1), checked as it streams past.
//!
//! pound relays chunked bodies chunk for chunk, exactly as received: the [`Decoder`] does not
//! re-frame anything, it only tells the caller where the framing and the data are and refuses
//! anything malformed (sizes that are not plain hexadecimal, oversized sizes, bad extensions,
//! a missing CRLF after the data, malformed trailers) before those bytes are passed on.

/// Hexadecimal digits a chunk size may have: 16 fill a `u64`.
const MAX_SIZE_DIGITS: u8 = 16;
/// The largest chunk size: many implementations read sizes as signed 64-bit numbers, and a
/// size they would see as negative must not pass through pound to them.
const MAX_SIZE: u64 = i64::MAX as u64;
/// Bound on the extensions of one chunk, and on all trailer fields together.
const MAX_EXTENSION: u32 = 4096;
const MAX_TRAILERS: u32 = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkError {
    /// The size is missing, not hexadecimal, or too large.
    BadSize,
    /// A chunk extension has a forbidden character or is too long.
    BadExtension,
    /// The data of a chunk is not followed by CRLF, or a line ends in a bare CR.
    MissingCrlf,
    /// A trailer field is malformed, or the trailers are too long.
    BadTrailer,
}

impl ChunkError {
    pub fn message(self) -> &'static str {
        match self {
            ChunkError::BadSize => "invalid chunk size",
            ChunkError::BadExtension => "invalid chunk extension",
            ChunkError::MissingCrlf => "missing CRLF in chunked body",
            ChunkError::BadTrailer => "invalid trailer field",
        }
    }
}

/// What a run of bytes returned by [`Decoder::advance`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    /// Chunk sizes, extensions and CRLFs.
    Framing,
    /// Payload data.
    Data,
    /// The trailer section after the last chunk, up to and including the empty line that
    /// ends the body (see [`filter_trailers`]).
    Trailer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a chunk-size line.
    SizeStart,
    Size,
    /// Whitespace after the size, which must lead to an extension.
    SizeSpace,
    Extension,
    Quoted,
    QuotedEscape,
    SizeLf,
    Data,
    DataCr,
    DataLf,
    TrailerStart,
    TrailerName,
    TrailerValue,
    TrailerLf,
    EndLf,
    Done,
}

/// Incremental checker of one chunked body.
#[derive(Debug, Clone)]
pub struct Decoder {
    state: State,
    digits: u8,
    size: u64,
    extension: u32,
    trailers: u32,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn hex(b: u8) -> Option<u64> {
    (b as char).to_digit(16).map(u64::from)
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder {
            state: State::SizeStart,
            digits: 0,
            size: 0,
            extension: 0,
            trailers: 0,
        }
    }

    /// Whether the last chunk and the trailers have been seen.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Examines the start of `input` and returns the length of the next run of framing or
    /// data bytes. Returns 0 only for empty input or when the body is complete; bytes after
    /// the end of the body are never consumed.
    pub fn advance(&mut self, input: &[u8]) -> Result<(usize, Segment), ChunkError> {
        if self.state == State::Data {
            let n = usize::try_from(self.size)
                .unwrap_or(usize::MAX)
                .min(input.len());
            self.size -= n as u64;
            if self.size == 0 {
                self.state = State::DataCr;
            }
            return Ok((n, Segment::Data));
        }
        let trailer = self.in_trailers();
        let mut used = 0;
        while used < input.len() && !matches!(self.state, State::Data | State::Done) {
            self.step(input[used])?;
            used += 1;
            if !trailer && self.in_trailers() {
                break;
            }
        }
        let segment = if trailer {
            Segment::Trailer
        } else {
            Segment::Framing
        };
        Ok((used, segment))
    }

    fn in_trailers(&self) -> bool {
        use State::*;
        matches!(
            self.state,
            TrailerStart | TrailerName | TrailerValue | TrailerLf | EndLf
        )
    }

    /// The data bytes still to come in the current chunk, once its size line is read.
    pub fn remaining(&self) -> u64 {
        if self.state == State::Data {
            self.size
        } else {
            0
        }
    }

    fn step(&mut self, b: u8) -> Result<(), ChunkError> {
        use State::*;
        self.state = match self.state {
            SizeStart => {
                let d = hex(b).ok_or(ChunkError::BadSize)?;
                self.size = d;
                self.digits = 1;
                self.extension = 0;
                Size
            }
            Size => match b {
                b'\r' => SizeLf,
                b';' => Extension,
                b' ' | b'\t' => SizeSpace,
                _ => {
                    let d = hex(b).ok_or(ChunkError::BadSize)?;
                    self.digits += 1;
                    if self.digits > MAX_SIZE_DIGITS {
                        return Err(ChunkError::BadSize);
                    }
                    self.size = (self.size << 4) | d;
                    if self.size > MAX_SIZE {
                        return Err(ChunkError::BadSize);
                    }
                    Size
                }
            },
            SizeSpace => match b {
                b' ' | b'\t' => SizeSpace,
                b';' => Extension,
                _ => return Err(ChunkError::BadExtension),
            },
            Extension | Quoted | QuotedEscape => {
                self.extension += 1;
                if self.extension > MAX_EXTENSION {
                    return Err(ChunkError::BadExtension);
                }
                self.extension_byte(b)?
            }
            SizeLf => {
                if b != b'\n' {
                    return Err(ChunkError::MissingCrlf);
                }
                if self.size == 0 {
                    TrailerStart
                } else {
                    Data
                }
            }
            Data => unreachable!("data is consumed in advance()"),
            DataCr => match b {
                b'\r' => DataLf,
                _ => return Err(ChunkError::MissingCrlf),
            },
            DataLf => match b {
                b'\n' => SizeStart,
                _ => return Err(ChunkError::MissingCrlf),
            },
            TrailerStart => match b {
                b'\r' => EndLf,
                _ if is_tchar(b) => self.trailer_byte(TrailerName)?,
                _ => return Err(ChunkError::BadTrailer),
            },
            TrailerName => match b {
                b':' => self.trailer_byte(TrailerValue)?,
                _ if is_tchar(b) => self.trailer_byte(TrailerName)?,
                _ => return Err(ChunkError::BadTrailer),
            },
            TrailerValue => match b {
                b'\r' => TrailerLf,
                b'\t' | b' '..=b'~' | 0x80..=0xff => self.trailer_byte(TrailerValue)?,
                _ => return Err(ChunkError::BadTrailer),
            },
            TrailerLf | EndLf => {
                if b != b'\n' {
                    return Err(ChunkError::MissingCrlf);
                }
                if self.state == EndLf {
                    Done
                } else {
                    TrailerStart
                }
            }
            Done => Done,
        };
        Ok(())
    }

    fn extension_byte(&mut self, b: u8) -> Result<State, ChunkError> {
        use State::*;
        Ok(match (self.state, b) {
            (Extension, b'\r') => SizeLf,
            (Extension, b'"') => Quoted,
            (Extension, b';' | b'=' | b' ' | b'\t') => Extension,
            (Extension, _) if is_tchar(b) => Extension,
            (Quoted, b'"') => Extension,
            (Quoted, b'\\') => QuotedEscape,
            (Quoted, b'\t' | b' '..=b'~' | 0x80..=0xff) => Quoted,
            (QuotedEscape, b'\t' | b' '..=b'~' | 0x80..=0xff) => Quoted,
            _ => return Err(ChunkError::BadExtension),
        })
    }

    fn trailer_byte(&mut self, next: State) -> Result<State, ChunkError> {
        self.trailers += 1;
        if self.trailers > MAX_TRAILERS {
            return Err(ChunkError::BadTrailer);
        }
        Ok(next)
    }
}

/// Watches the start of a chunked body as it arrives, to tell when its fate is settled: it
/// is whole, or found malformed, or already larger than allowed. Nothing more needs to
/// arrive before the request is taken in (and forwarded or refused). Each byte is looked at
/// once, however the body arrives.
#[derive(Debug, Default)]
pub struct Settle {
    dec: Decoder,
    at: usize,
    total: u64,
}

impl Settle {
    /// `data` is the body received so far (what an earlier call saw, and more).
    pub fn settled(&mut self, data: &[u8], max: Option<u64>) -> bool {
        while self.at < data.len() {
            match self.dec.advance(&data[self.at..]) {
                Ok((n, seg)) if n > 0 => {
                    self.at += n;
                    if seg == Segment::Data {
                        self.total += n as u64;
                    }
                    if max.is_some_and(|m| self.total.saturating_add(self.dec.remaining()) > m) {
                        return true;
                    }
                }
                Ok(_) => break,
                Err(_) => return true,
            }
        }
        self.dec.is_done()
    }
}

/// Fields that must not be sent in a trailer section (RFC 9110, 6.5.1): framing, routing,
/// request modifiers, authentication, response control data, the content's own description,
/// and the fields pound sets itself. A recipient that merged them into the head would act on
/// what it never saw checked.
const NOT_IN_TRAILERS: &[&str] = &[
    "age",
    "authentication-info",
    "authorization",
    "cache-control",
    "connection",
    "content-encoding",
    "content-length",
    "content-location",
    "content-range",
    "content-type",
    "cookie",
    "date",
    "expect",
    "expires",
    "forwarded",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "keep-alive",
    "location",
    "max-forwards",
    "pragma",
    "proxy-authenticate",
    "proxy-authentication-info",
    "proxy-authorization",
    "proxy-connection",
    "range",
    "retry-after",
    "set-cookie",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "vary",
    "www-authenticate",
    "x-forwarded-for",
    "x-forwarded-port",
    "x-forwarded-proto",
];

fn allowed_in_trailers(name: &[u8]) -> bool {
    let ssl = name.len() >= 6
        && name[..5].eq_ignore_ascii_case(b"x-ssl")
        && matches!(name[5], b'-' | b'_');
    !ssl && !NOT_IN_TRAILERS
        .iter()
        .any(|n| name.eq_ignore_ascii_case(n.as_bytes()))
}

/// Appends to `out` the trailer section `section` (as the decoder checked it: fields, each
/// ending in CRLF, then the empty line) without the fields that must not be trailers.
pub fn filter_trailers(section: &[u8], out: &mut Vec<u8>) {
    for line in section.split_inclusive(|&b| b == b'\n') {
        let name = line.split(|&b| b == b':').next().unwrap_or(line);
        if line == b"\r\n" || allowed_in_trailers(name) {
            out.extend_from_slice(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a whole body through the decoder, returning the data and the bytes consumed.
    fn decode(input: &[u8]) -> Result<(Vec<u8>, usize, bool), ChunkError> {
        let mut d = Decoder::new();
        let mut data = Vec::new();
        let mut at = 0;
        while at < input.len() && !d.is_done() {
            let (n, seg) = d.advance(&input[at..])?;
            if seg == Segment::Data {
                data.extend_from_slice(&input[at..at + n]);
            }
            at += n;
        }
        Ok((data, at, d.is_done()))
    }

    /// Feeds one byte at a time, as a slow client would.
    fn decode_bytewise(input: &[u8]) -> Result<(Vec<u8>, usize), ChunkError> {
        let mut d = Decoder::new();
        let mut data = Vec::new();
        let mut at = 0;
        while at < input.len() && !d.is_done() {
            let (n, seg) = d.advance(&input[at..at + 1])?;
            if seg == Segment::Data {
                data.extend_from_slice(&input[at..at + n]);
            }
            at += n;
        }
        Ok((data, at))
    }

    #[test]
    fn valid_bodies() {
        let body = b"5\r\nhello\r\n6;name=val;x=\"q\\\"s\"\r\n world\r\n0\r\nX-T: 1\r\n\r\nNEXT";
        let (data, used, done) = decode(body).unwrap();
        assert_eq!(data, b"hello world");
        assert_eq!(&body[used..], b"NEXT");
        assert!(done);
        assert_eq!(decode_bytewise(body).unwrap(), (data, used));
        assert_eq!(
            decode(b"000A\r\n0123456789\r\n0\r\n\r\n").unwrap().0,
            b"0123456789"
        );
        assert!(decode(b"a ;e\r\n0123456789\r\n0\r\n\r\n").is_ok());
    }

    #[test]
    fn largest_chunk_size_and_trailer_segments() {
        let mut d = Decoder::new();
        assert_eq!(
            d.advance(b"7fffffffffffffff\r\n").unwrap(),
            (18, Segment::Framing)
        );
        assert_eq!(d.remaining(), i64::MAX as u64);
        let mut d = Decoder::new();
        let body = b"1\r\na\r\n0\r\nA: 1\r\n\r\nNEXT";
        assert_eq!(d.advance(body).unwrap(), (3, Segment::Framing));
        assert_eq!(d.advance(&body[3..]).unwrap(), (1, Segment::Data));
        assert_eq!(d.advance(&body[4..]).unwrap(), (5, Segment::Framing));
        assert_eq!(d.advance(&body[9..]).unwrap(), (8, Segment::Trailer));
        assert!(d.is_done());
        let mut d = Decoder::new();
        assert_eq!(d.advance(b"0\r\n\r\n").unwrap(), (3, Segment::Framing));
        assert_eq!(d.advance(b"\r\n").unwrap(), (2, Segment::Trailer));
    }

    #[test]
    fn forbidden_trailer_fields_are_dropped() {
        let mut out = Vec::new();
        filter_trailers(
            b"X-Checksum: 1\r\nContent-Length: 5\r\nhost: evil\r\nX-SSL-cipher: x\r\nTransfer-Encoding: chunked\r\nServer-Timing: a\r\n\r\n",
            &mut out,
        );
        assert_eq!(out, b"X-Checksum: 1\r\nServer-Timing: a\r\n\r\n");
    }

    #[test]
    fn incomplete_body_is_not_done() {
        let (_, used, done) = decode(b"5\r\nhel").unwrap();
        assert_eq!(used, 6);
        assert!(!done);
    }

    #[test]
    fn malformed_bodies() {
        let cases: &[(&[u8], ChunkError)] = &[
            (b"0x5\r\nhello\r\n0\r\n\r\n", ChunkError::BadSize),
            (b"+5\r\nhello\r\n0\r\n\r\n", ChunkError::BadSize),
            (b"-5\r\n", ChunkError::BadSize),
            (b"\r\n", ChunkError::BadSize),
            (b"g\r\n", ChunkError::BadSize),
            (b"10000000000000000\r\n", ChunkError::BadSize),
            (b"8000000000000000\r\n", ChunkError::BadSize),
            (b"ffffffffffffffff\r\n", ChunkError::BadSize),
            (b"5\r\nhelloXX0\r\n\r\n", ChunkError::MissingCrlf),
            (b"5\r\nhello\n0\r\n\r\n", ChunkError::MissingCrlf),
            (b"5\nhello\r\n", ChunkError::BadSize),
            (b"5\r\nhello\r\n0\r\n\r\r", ChunkError::MissingCrlf),
            (b"5;a\x01\r\nhello\r\n", ChunkError::BadExtension),
            (b"5 x\r\nhello\r\n", ChunkError::BadExtension),
            (b"5 \r\nhello\r\n", ChunkError::BadExtension),
            (b"5;\"a\x7f\"\r\nhello\r\n", ChunkError::BadExtension),
            (b"0\r\n X: 1\r\n\r\n", ChunkError::BadTrailer),
            (b"0\r\nX : 1\r\n\r\n", ChunkError::BadTrailer),
            (b"0\r\nX: \x00\r\n\r\n", ChunkError::BadTrailer),
        ];
        for (input, want) in cases {
            assert_eq!(
                decode(input).unwrap_err(),
                *want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
        let long = format!("1;{}\r\n", "a".repeat(5000));
        assert_eq!(
            decode(long.as_bytes()).unwrap_err(),
            ChunkError::BadExtension
        );
        let trailers = format!("0\r\nX: {}\r\n\r\n", "a".repeat(20000));
        assert_eq!(
            decode(trailers.as_bytes()).unwrap_err(),
            ChunkError::BadTrailer
        );
    }
}
