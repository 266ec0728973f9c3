//! The chunked transfer coding (RFC 9112, section 7.1), checked as it streams past.
//!
//! pound relays chunked bodies chunk for chunk, exactly as received: the [`Decoder`] does not
//! re-frame anything, it only tells the caller where the framing and the data are and refuses
//! anything malformed (sizes that are not plain hexadecimal, oversized sizes, bad extensions,
//! a missing CRLF after the data, malformed trailers) before those bytes are passed on.

/// Hexadecimal digits a chunk size may have: 16 fill a `u64`.
const MAX_SIZE_DIGITS: u8 = 16;
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
    /// Chunk sizes, extensions, CRLFs or trailers.
    Framing,
    /// Payload data.
    Data,
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
        let mut used = 0;
        while used < input.len() && !matches!(self.state, State::Data | State::Done) {
            self.step(input[used])?;
            used += 1;
        }
        Ok((used, Segment::Framing))
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
