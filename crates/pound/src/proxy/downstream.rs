//! The client's side of an exchange: what the engine asks of the protocol its client speaks.
//!
//! The engine ([`super::Exchange`]) reads the request head, decides (service, rules,
//! backend), talks to the backend and accounts for the result, the same way whatever the
//! client spoke. An implementation of [`Downstream`] only moves the client's bytes or
//! frames: an HTTP/1 connection ([`super::h1`]) or an HTTP/2 stream (`crate::h2`). Neither
//! turns its messages into the other's wire format.

use std::future::Future;
use std::io;
use std::time::Duration;

use crate::http::head::Head;
use crate::http::request::Request;
use crate::http::response::Response;
use crate::http::Version;
use crate::io::{InBuf, Stream};
use crate::pace::Pace;
use crate::relay::{Body, RelayError};
use crate::state::Listener;

/// How much of a request body must have arrived (or all of it, if less) before the request
/// takes a worker slot and a backend connection: a client that announces a body and then
/// trickles it holds neither.
pub const BODY_READY: usize = 8 * 1024;

/// How many body bytes [`Downstream::body_ready`] waits for, `None` when there is no body to
/// wait for.
pub fn body_wanted(req: &Request) -> Option<usize> {
    use crate::http::BodyKind;
    match req.body {
        BodyKind::Length(n) => Some(usize::try_from(n).unwrap_or(usize::MAX).min(BODY_READY)),
        BodyKind::Chunked => Some(BODY_READY),
        BodyKind::Empty | BodyKind::UntilClose => None,
    }
}

/// Why waiting for a request body failed.
pub enum BodyWait {
    /// The client closed its connection or reset its stream.
    Closed,
    /// The client was too slow or went silent.
    TimedOut(io::Error),
}

/// What relaying a backend's response needs besides the client.
pub struct Respond<'a> {
    pub req: &'a Request,
    pub resp: &'a Response,
    /// What was read from the backend beyond the response head.
    pub bin: &'a mut InBuf,
    pub backend: &'a mut Stream,
    /// The backend's `TimeOut`, for each read of the body.
    pub read: Duration,
    /// The backend's `WSTimeOut`, for a tunnel after `101`.
    pub tunnel: Duration,
    pub listener: &'a Listener,
    /// Whether the response switches protocols (an agreed `101`, or a `CONNECT` tunnel).
    pub upgrade: bool,
    /// pound is stopping: no further request on this connection.
    pub stopping: bool,
    pub pace: &'a mut Pace,
    /// Scratch space for heads.
    pub out: &'a mut Vec<u8>,
}

/// A response relayed whole.
pub struct Relayed {
    /// Body bytes sent (`%b`).
    pub bytes: u64,
    /// Whether the client connection takes another request.
    pub keep: bool,
    /// Whether the backend connection may serve another request.
    pub reusable: bool,
}

/// A response whose relay failed: why, and whether its head had reached the client (if not,
/// the client can still get a clean error instead).
pub struct Cut {
    pub error: RelayError,
    pub head_sent: bool,
}

/// The protocol of the client's side of an exchange.
///
/// Every method is a future that is `Send`, so that exchanges run on any runtime thread.
pub trait Downstream: Send {
    /// Whether the client is an HTTP/2 stream, which logs show and some HTTP/1 rules
    /// (`NoHTTPS11`, answers in HTTP/1.0) do not apply to.
    fn is_h2(&self) -> bool;

    /// Waits until `want` bytes of the request body, or all of it, have arrived, at the
    /// client's pace (`max` is `MaxRequest`, which settles a chunked body early).
    fn body_ready(
        &mut self,
        want: usize,
        chunked: bool,
        max: Option<u64>,
        pace: &mut Pace,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), BodyWait>> + Send;

    /// Tells a client that expects `100 Continue` to send its body.
    fn proceed(&mut self, timeout: Duration) -> impl Future<Output = io::Result<()>> + Send;

    /// Passes an interim response (`103 Early Hints` and the like) on, where the client's
    /// protocol has them.
    fn interim(
        &mut self,
        req: &Request,
        resp: &Response,
        out: &mut Vec<u8>,
        timeout: Duration,
    ) -> impl Future<Output = io::Result<()>> + Send;

    /// Sends `head` (the HTTP/1.1 request head for the backend) and then the request body
    /// as `body` frames it, reading the client within `read` and its pace and writing the
    /// backend within `write`. `head` is left empty once written. Returns the body bytes
    /// sent.
    #[allow(clippy::too_many_arguments)]
    fn upload(
        &mut self,
        head: &mut &[u8],
        backend: &mut Stream,
        body: Body,
        read: Duration,
        write: Duration,
        pace: &mut Pace,
    ) -> impl Future<Output = Result<u64, RelayError>> + Send;

    /// Sends an answer pound made: `status` with `fields` and `body` (empty for `HEAD`).
    /// `version` is the HTTP/1 version of the status line, where there is one. Returns the
    /// body bytes sent, `None` when the client failed.
    #[allow(clippy::too_many_arguments)]
    fn deliver(
        &mut self,
        version: Version,
        status: u16,
        fields: &Head,
        body: &[u8],
        out: &mut Vec<u8>,
        pace: &mut Pace,
        timeout: Duration,
    ) -> impl Future<Output = Option<u64>> + Send;

    /// Relays the backend's response (its head in `r.resp`, already modified) and its body.
    fn respond(&mut self, r: Respond<'_>) -> impl Future<Output = Result<Relayed, Cut>> + Send;

    /// Resolves when the client has given up on the request while the backend is being
    /// asked (an HTTP/2 stream reset). An HTTP/1 client that goes away is noticed when it is
    /// written to, so for it this never resolves.
    fn gone(&mut self) -> impl Future<Output = ()> + Send;
}
