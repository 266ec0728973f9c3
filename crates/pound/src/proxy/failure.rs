//! Why an exchange failed, decided in one place for both protocols: who failed, whether
//! another backend may still take the request, and what the client gets: pound's error
//! page, a cut (an HTTP/1 connection reset, an HTTP/2 stream reset whose code says whose
//! fault it was), or nothing because it is gone. The messages pound logs for each case stay
//! with the code that knows their details (`forward`).

use crate::relay::RelayError;

/// Who failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// The client: it went away, reset its stream, stopped reading, or sent a malformed
    /// body.
    Client,
    /// The backend: it closed, went silent, or answered what cannot be used.
    Backend,
    /// pound itself (a rule that could not be evaluated).
    Proxy,
}

/// What the client gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// pound's error page with this status: nothing of a response reached the client yet.
    Answer(u16),
    /// A response was under way: it is cut, so the client cannot take it for complete.
    Cut,
    /// The client is gone: nothing more is sent.
    Drop,
}

/// A failed exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    pub party: Party,
    /// Nothing of the request was consumed: another backend (or a fresh connection to the
    /// same one) may take it.
    pub retry: bool,
    pub then: Then,
}

/// Why no usable response head came from the backend.
pub enum HeadError {
    /// The backend closed before sending a byte (a stale pooled connection).
    Closed,
    /// The client gave up on the request meanwhile.
    Gone,
    /// pound's words for what went wrong.
    Failed(String),
}

/// HTTP/2 error codes (RFC 9113, 7) a cut stream is reset with.
pub const INTERNAL_ERROR: u32 = 0x2;
pub const CANCEL: u32 = 0x8;

impl Failure {
    const fn new(party: Party, retry: bool, then: Then) -> Failure {
        Failure { party, retry, then }
    }

    /// Passing the request body to the backend failed.
    pub fn request_body(e: &RelayError) -> Failure {
        match e {
            RelayError::Read(_) => Failure::new(Party::Client, false, Then::Drop),
            RelayError::Write(_) => Failure::new(Party::Backend, false, Then::Answer(500)),
            RelayError::Framing(_) => Failure::new(Party::Client, false, Then::Answer(400)),
            RelayError::TooLarge => Failure::new(Party::Client, false, Then::Answer(413)),
        }
    }

    /// No usable response head came; `resendable` says whether the request may be sent
    /// again (idempotent, on a pooled connection, nothing of its body consumed).
    pub fn response_head(e: &HeadError, resendable: bool) -> Failure {
        match e {
            HeadError::Closed if resendable => Failure::new(Party::Backend, true, Then::Drop),
            HeadError::Gone => Failure::new(Party::Client, false, Then::Drop),
            // pound 4.23 answers a backend that fails to answer with 503.
            HeadError::Closed | HeadError::Failed(_) => {
                Failure::new(Party::Backend, false, Then::Answer(503))
            }
        }
    }

    /// Relaying the response failed; `head_sent` says whether its head reached the client.
    pub fn response_body(e: &RelayError, head_sent: bool) -> Failure {
        match e {
            // Writing to the client failed: it is gone or stopped reading.
            RelayError::Write(_) => Failure::new(Party::Client, false, Then::Cut),
            // Nothing reached the client yet: it gets a clean error instead.
            _ if !head_sent => Failure::new(Party::Backend, false, Then::Answer(500)),
            _ => Failure::new(Party::Backend, false, Then::Cut),
        }
    }

    /// A rule or expansion could not be evaluated.
    pub const fn evaluation() -> Failure {
        Failure::new(Party::Proxy, false, Then::Answer(500))
    }

    /// The code an HTTP/2 stream cut by this failure is reset with: `CANCEL` when the
    /// client gave up, `INTERNAL_ERROR` when the response could not be completed.
    pub fn reset_code(&self) -> u32 {
        match self.party {
            Party::Client => CANCEL,
            Party::Backend | Party::Proxy => INTERNAL_ERROR,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::chunked::ChunkError;
    use std::io::ErrorKind;

    fn io(kind: ErrorKind) -> std::io::Error {
        kind.into()
    }

    #[test]
    fn request_body_failures() {
        let table = [
            (
                RelayError::Read(io(ErrorKind::TimedOut)),
                Party::Client,
                Then::Drop,
            ),
            (
                RelayError::Write(io(ErrorKind::BrokenPipe)),
                Party::Backend,
                Then::Answer(500),
            ),
            (
                RelayError::Framing(ChunkError::BadSize),
                Party::Client,
                Then::Answer(400),
            ),
            (RelayError::TooLarge, Party::Client, Then::Answer(413)),
        ];
        for (e, party, then) in table {
            let f = Failure::request_body(&e);
            assert_eq!((f.party, f.then, f.retry), (party, then, false), "{e:?}");
        }
    }

    #[test]
    fn response_head_failures() {
        let closed = Failure::response_head(&HeadError::Closed, true);
        assert_eq!((closed.party, closed.retry), (Party::Backend, true));
        let closed = Failure::response_head(&HeadError::Closed, false);
        assert_eq!((closed.then, closed.retry), (Then::Answer(503), false));
        let failed = Failure::response_head(&HeadError::Failed("eof".into()), true);
        assert_eq!((failed.then, failed.retry), (Then::Answer(503), false));
        let gone = Failure::response_head(&HeadError::Gone, true);
        assert_eq!((gone.party, gone.then), (Party::Client, Then::Drop));
        assert_eq!(gone.reset_code(), CANCEL);
    }

    #[test]
    fn response_body_failures() {
        let write = RelayError::Write(io(ErrorKind::ConnectionReset));
        let read = RelayError::Read(io(ErrorKind::UnexpectedEof));
        let f = Failure::response_body(&write, false);
        assert_eq!(
            (f.party, f.then, f.reset_code()),
            (Party::Client, Then::Cut, CANCEL)
        );
        let f = Failure::response_body(&read, false);
        assert_eq!((f.party, f.then), (Party::Backend, Then::Answer(500)));
        let f = Failure::response_body(&read, true);
        assert_eq!(
            (f.party, f.then, f.reset_code()),
            (Party::Backend, Then::Cut, INTERNAL_ERROR)
        );
        let f = Failure::response_body(&RelayError::Framing(ChunkError::BadSize), true);
        assert_eq!(f.then, Then::Cut);
        assert_eq!(Failure::evaluation().then, Then::Answer(500));
    }
}
