//! HTTP/2 for clients end to end: multiplexed streams, large bodies both ways, protocol
//! errors, h2c with prior knowledge, the ALPN switch, trailers and a graceful shutdown —
//! through the real `pound` binary to HTTP/1.1 test backends.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::net::*;
use common::scratch_dir;
use common::tls::{Ca, Recorder};
use rustls::crypto::ring;
use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A TLS connection to `addr` offering `alpn`; returns the stream and the protocol chosen.
async fn tls(
    addr: SocketAddr,
    alpn: &[&[u8]],
) -> (tokio_rustls::client::TlsStream<TcpStream>, Option<Vec<u8>>) {
    let provider = Arc::new(ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Recorder::new(provider)))
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("www.example.org").unwrap();
    let s = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("handshake");
    let chosen = s.get_ref().1.alpn_protocol().map(|p| p.to_vec());
    (s, chosen)
}

async fn h2_client<T>(io: T) -> h2::client::SendRequest<Bytes>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (client, conn) = h2::client::handshake(io).await.expect("h2 handshake");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// Sends one request with `body` (none when `None`) and returns the status and body.
async fn fetch(
    client: &mut h2::client::SendRequest<Bytes>,
    method: &str,
    path: &str,
    body: Option<(Vec<u8>, bool)>,
) -> (u16, Vec<u8>) {
    let mut req = http::Request::builder()
        .method(method)
        .uri(format!("https://www.example.org{path}"));
    if let Some((b, true)) = &body {
        req = req.header("content-length", b.len());
    }
    let req = req.body(()).unwrap();
    let mut ready = client.clone().ready().await.expect("ready");
    let (resp, mut send) = ready
        .send_request(req, body.is_none())
        .expect("send request");
    if let Some((b, _)) = body {
        for piece in b.chunks(100_000) {
            send.send_data(Bytes::copy_from_slice(piece), false)
                .expect("data");
        }
        send.send_data(Bytes::new(), true).expect("end");
    }
    let resp = resp.await.expect("response");
    let status = resp.status().as_u16();
    (status, read_body(&mut resp.into_body()).await)
}

/// Opens a GET stream for `path` (ended at once); the response to come, and the stream.
fn get(
    client: &mut h2::client::SendRequest<Bytes>,
    path: &str,
) -> (h2::client::ResponseFuture, h2::SendStream<Bytes>) {
    let req = http::Request::builder()
        .uri(format!("https://www.example.org{path}"))
        .body(())
        .unwrap();
    client.send_request(req, true).expect("send request")
}

/// Reads a response body to its end, giving the flow-control capacity back as it goes.
async fn read_body(body: &mut h2::RecvStream) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.expect("body");
        let _ = body.flow_control().release_capacity(chunk.len());
        out.extend_from_slice(&chunk);
    }
    out
}

/// The decoded body of a request as the backend received it.
fn decoded(r: &Received) -> Vec<u8> {
    if r.header("transfer-encoding").is_none() {
        return r.raw_body.clone();
    }
    let mut out = Vec::new();
    let mut rest = &r.raw_body[..];
    loop {
        let line = find(rest, b"\r\n").expect("chunk size");
        let size = usize::from_str_radix(std::str::from_utf8(&rest[..line]).unwrap(), 16).unwrap();
        rest = &rest[line + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

const BIG: usize = 4 << 20;

fn big_body() -> Vec<u8> {
    // No CR or LF, so that the test backend's end-of-body search cannot be fooled.
    (0..BIG).map(|i| b'a' + (i % 23) as u8).collect()
}

/// A backend that answers `/big` with a 4 MiB body (`/bigchunked`: chunked), `/echo` with
/// the length and a checksum of the request body, and anything else with its path.
fn backend() -> Backend {
    Backend::start(|r| {
        let path = r.line().split(' ').nth(1).unwrap_or("").to_string();
        match path.as_str() {
            "/big" => {
                let mut out =
                    format!("HTTP/1.1 200 OK\r\nContent-Length: {BIG}\r\n\r\n").into_bytes();
                out.extend(big_body());
                Reply::Send(out)
            }
            "/bigchunked" => {
                let mut out = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
                for piece in big_body().chunks(70_000) {
                    out.extend(format!("{:x}\r\n", piece.len()).into_bytes());
                    out.extend_from_slice(piece);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\n\r\n");
                Reply::Send(out)
            }
            "/trailers" => Reply::Send(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: grpc-status\r\n\r\n\
                  5\r\nhello\r\n0\r\ngrpc-status: 0\r\nContent-Length: 9\r\n\r\n"
                    .to_vec(),
            ),
            "/slow" => Reply::Delay(
                Duration::from_secs(30),
                b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow".to_vec(),
            ),
            "/echo" => {
                let body = decoded(r);
                let sum: u64 = body.iter().map(|&b| u64::from(b)).sum();
                ok(&format!("{} {sum}", body.len()))
            }
            _ => ok(&path),
        }
    })
}

fn https_pound(extra: &str, b: &Backend) -> Pound {
    let dir = scratch_dir("h2cert");
    let cert = dir.join("server.pem");
    std::fs::write(&cert, Ca::new("Test CA").issue(&["www.example.org"]).pem).unwrap();
    Pound::start(&format!(
        "ListenHTTPS\nLISTEN\nCert \"{}\"\n{extra}End\n{}",
        cert.display(),
        service(&[b])
    ))
}

#[test]
fn streams_are_multiplexed_on_one_connection() {
    let b = backend();
    let pound = https_pound("HTTP2MaxStreams 16\n", &b);
    runtime().block_on(async {
        let (s, alpn) = tls(pound.addr, &[b"h2", b"http/1.1"]).await;
        assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
        let mut client = h2_client(s).await;
        // One exchange first, so that the client knows pound's stream limit before it opens
        // forty streams (until then it may assume none, and pound would refuse the excess).
        assert_eq!(fetch(&mut client, "GET", "/first", None).await.0, 200);
        let mut tasks = Vec::new();
        for i in 0..40 {
            let mut c = client.clone();
            tasks.push(tokio::spawn(async move {
                fetch(&mut c, "GET", &format!("/s{i}?q={i}"), None).await
            }));
        }
        for (i, t) in tasks.into_iter().enumerate() {
            let (status, body) = t.await.unwrap();
            assert_eq!(status, 200);
            assert_eq!(body, format!("/s{i}?q={i}").into_bytes());
        }
    });
    let seen = b.requests();
    assert_eq!(seen.len(), 41);
    for r in &seen {
        assert!(r.line().ends_with(" HTTP/1.1"), "{}", r.line());
        assert_eq!(r.header("host").as_deref(), Some("www.example.org"));
        assert_eq!(r.header("x-forwarded-proto").as_deref(), Some("https"));
        assert!(r.header("x-ssl-cipher").is_some());
    }
    let line = pound.out.wait_for("GET /s7?q=7 HTTP/2.0");
    assert!(line.contains(" 200 "), "{line}");
}

#[test]
fn large_bodies_stream_both_ways() {
    let b = backend();
    let pound = https_pound("", &b);
    let sum: u64 = big_body().iter().map(|&x| u64::from(x)).sum();
    runtime().block_on(async {
        let (s, _) = tls(pound.addr, &[b"h2"]).await;
        let mut c = h2_client(s).await;
        for path in ["/big", "/bigchunked"] {
            let (status, body) = fetch(&mut c, "GET", path, None).await;
            assert_eq!(status, 200, "{path}");
            assert!(body == big_body(), "{path}: {} bytes", body.len());
        }
        // With a length, and without one (sent on chunked to the backend).
        for with_length in [true, false] {
            let (status, body) =
                fetch(&mut c, "POST", "/echo", Some((big_body(), with_length))).await;
            assert_eq!(status, 200);
            assert_eq!(String::from_utf8(body).unwrap(), format!("{BIG} {sum}"));
        }
    });
    let uploads: Vec<Received> = b
        .requests()
        .into_iter()
        .filter(|r| r.line().starts_with("POST"))
        .collect();
    assert_eq!(uploads.len(), 2);
    assert_eq!(uploads[0].header("content-length"), Some(BIG.to_string()));
    assert_eq!(
        uploads[1].header("transfer-encoding").as_deref(),
        Some("chunked")
    );
}

/// Frames are 9 bytes of header: length (24 bits), type, flags, stream id (31 bits).
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(9 + payload.len());
    f.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    f.push(kind);
    f.push(flags);
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// Reads frames until a GOAWAY arrives and returns its error code.
async fn goaway_code<T: AsyncRead + Unpin>(s: &mut T) -> u32 {
    loop {
        let mut head = [0u8; 9];
        s.read_exact(&mut head).await.expect("frame header");
        let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let mut payload = vec![0u8; len];
        s.read_exact(&mut payload).await.expect("frame payload");
        if head[3] == 0x7 {
            return u32::from_be_bytes([payload[4], payload[5], payload[6], payload[7]]);
        }
    }
}

#[test]
fn protocol_errors_close_the_connection_with_their_code() {
    let b = backend();
    let pound = https_pound("", &b);
    runtime().block_on(async {
        let (mut s, _) = tls(pound.addr, &[b"h2"]).await;
        let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        out.extend(frame(0x4, 0, 0, &[])); // SETTINGS
                                           // HEADERS on an even stream: only servers may open those (RFC 9113, 5.1.1).
        out.extend(frame(0x1, 0x5, 2, &[0x82, 0x84, 0x87]));
        s.write_all(&out).await.unwrap();
        s.flush().await.unwrap();
        let code = tokio::time::timeout(Duration::from_secs(20), goaway_code(&mut s))
            .await
            .expect("GOAWAY");
        assert_eq!(code, 0x1, "PROTOCOL_ERROR");

        // A good connection meanwhile is unaffected.
        let (s, _) = tls(pound.addr, &[b"h2"]).await;
        let mut c = h2_client(s).await;
        assert_eq!(fetch(&mut c, "GET", "/fine", None).await.0, 200);
    });
    assert!(b
        .requests()
        .iter()
        .all(|r| r.line() == "GET /fine HTTP/1.1"));
}

#[test]
fn request_errors_are_answered_on_their_stream() {
    let b = backend();
    let pound = https_pound("MaxRequest 1000\n", &b);
    runtime().block_on(async {
        let (s, _) = tls(pound.addr, &[b"h2"]).await;
        let mut c = h2_client(s).await;
        let (status, _) = fetch(&mut c, "POST", "/echo", Some((vec![b'x'; 5000], true))).await;
        assert_eq!(status, 413);
        // The connection goes on.
        assert_eq!(fetch(&mut c, "GET", "/after", None).await.0, 200);
    });
}

#[test]
fn alpn_offers_h2_only_when_enabled() {
    let b = backend();
    let pound = https_pound("HTTP2 off\n", &b);
    runtime().block_on(async {
        let (_, alpn) = tls(pound.addr, &[b"h2", b"http/1.1"]).await;
        assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
    });
}

#[test]
fn h2c_with_prior_knowledge_on_a_plain_listener() {
    let b = backend();
    let pound = Pound::start(&simple("HTTP2 on", &[&b]));
    runtime().block_on(async {
        let tcp = TcpStream::connect(pound.addr).await.unwrap();
        let mut c = h2_client(tcp).await;
        let (status, body) = fetch(&mut c, "GET", "/clear", None).await;
        assert_eq!(status, 200);
        assert_eq!(body, b"/clear");
    });
    // HTTP/1.1 still works on the same listener.
    let mut c = pound.connect();
    assert_eq!(c.get("/plain").status, 200);
    let r = b.requests();
    assert_eq!(r[0].header("x-forwarded-proto").as_deref(), Some("http"));
    pound.out.wait_for("GET /clear HTTP/2.0");

    // Without `HTTP2 on`, the preface is just a bad request.
    let plain = Pound::start(&simple("", &[&b]));
    let mut c = plain.connect();
    c.send("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    assert_ne!(c.response().status, 200);
}

#[test]
fn a_client_that_opens_no_window_loses_the_stream() {
    let b = backend();
    let pound = https_pound("Client 1\n", &b);
    runtime().block_on(async {
        let (mut s, _) = tls(pound.addr, &[b"h2"]).await;
        let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        // SETTINGS_INITIAL_WINDOW_SIZE = 0: pound may send no body data at all.
        out.extend(frame(0x4, 0, 0, &[0x00, 0x04, 0, 0, 0, 0]));
        // GET https://h/big, HPACK: :method GET, :scheme https, :authority h, :path /big.
        let mut block = vec![0x82, 0x87, 0x01, 0x01, b'h', 0x04, 0x04];
        block.extend_from_slice(b"/big");
        out.extend(frame(0x1, 0x5, 1, &block));
        s.write_all(&out).await.unwrap();
        s.flush().await.unwrap();
        let reset = async {
            loop {
                let mut head = [0u8; 9];
                s.read_exact(&mut head).await.expect("frame header");
                let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
                let mut payload = vec![0u8; len];
                s.read_exact(&mut payload).await.expect("frame payload");
                let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]);
                assert_ne!(head[3], 0x0, "no DATA may come without a window");
                if head[3] == 0x3 && stream == 1 {
                    return;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(20), reset)
            .await
            .expect("RST_STREAM");
    });
}

#[test]
fn idle_connections_close_after_the_client_timeout() {
    let b = backend();
    let pound = https_pound("Client 1\n", &b);
    runtime().block_on(async {
        let (s, _) = tls(pound.addr, &[b"h2"]).await;
        let (mut client, conn) = h2::client::handshake(s).await.expect("h2 handshake");
        let driver = tokio::spawn(conn);
        assert_eq!(fetch(&mut client, "GET", "/one", None).await.0, 200);
        // Then nothing: pound ends the connection (GOAWAY, then the end of the stream).
        let ended = tokio::time::timeout(Duration::from_secs(20), driver).await;
        assert!(ended.is_ok(), "the connection is still open");
    });
}

#[test]
fn a_reset_stream_gives_its_place_back_at_once() {
    let b = backend();
    let pound = https_pound("HTTP2MaxStreams 1\n", &b);
    runtime().block_on(async {
        let (s, _) = tls(pound.addr, &[b"h2"]).await;
        let mut c = h2_client(s).await;
        let (_resp, mut send) = get(&mut c.clone().ready().await.unwrap(), "/slow");
        poll("the slow request at the backend", || {
            (b.requests().len() == 1).then_some(())
        });
        send.send_reset(h2::Reason::CANCEL);
        // The slow backend exchange is abandoned with its stream, so the only stream place
        // is free for the next request.
        let (status, body) = fetch(&mut c, "GET", "/next", None).await;
        assert_eq!((status, body), (200, b"/next".to_vec()));
    });
}

#[test]
fn a_stream_ending_without_data_sends_no_body() {
    let b = backend();
    let pound = https_pound("", &b);
    runtime().block_on(async {
        let (s, _) = tls(pound.addr, &[b"h2"]).await;
        let mut c = h2_client(s).await;
        let (status, body) = fetch(&mut c, "POST", "/echo", Some((Vec::new(), false))).await;
        assert_eq!((status, body), (200, b"0 0".to_vec()));
    });
    let r = b.requests().pop().expect("request");
    assert_eq!(r.header("transfer-encoding"), None, "{}", r.head);
}

#[test]
fn trailers_pass_both_ways() {
    let b = backend();
    let pound = https_pound("", &b);
    runtime().block_on(async {
        let (s, _) = tls(pound.addr, &[b"h2"]).await;
        let c = h2_client(s).await;
        // The backend's trailer section reaches the client as HTTP/2 trailers, less the
        // fields that may not be trailers.
        let (resp, _) = get(&mut c.clone().ready().await.expect("ready"), "/trailers");
        let mut body = resp.await.expect("response").into_body();
        assert_eq!(read_body(&mut body).await, b"hello");
        let trailers = body.trailers().await.expect("trailers").expect("some");
        assert_eq!(
            trailers.get("grpc-status").map(|v| v.as_bytes()),
            Some(&b"0"[..])
        );
        assert!(trailers.get("content-length").is_none());

        // A client's trailers reach the backend at the end of the chunked body.
        let req = http::Request::builder()
            .method("POST")
            .uri("https://www.example.org/echo")
            .body(())
            .unwrap();
        let mut ready = c.clone().ready().await.expect("ready");
        let (resp, mut send) = ready.send_request(req, false).expect("send request");
        send.send_data(Bytes::from_static(b"abc"), false)
            .expect("data");
        let mut t = http::HeaderMap::new();
        t.insert("x-checksum", http::HeaderValue::from_static("7"));
        send.send_trailers(t).expect("trailers");
        assert_eq!(resp.await.expect("response").status(), 200);
    });
    let r = b.requests().pop().expect("request");
    assert_eq!(r.header("transfer-encoding").as_deref(), Some("chunked"));
    assert!(
        r.raw_body
            .ends_with(b"3\r\nabc\r\n0\r\nx-checksum: 7\r\n\r\n"),
        "{:?}",
        String::from_utf8_lossy(&r.raw_body)
    );
}

#[test]
fn graceful_shutdown_finishes_streams_in_flight() {
    let b = Backend::start(|_| {
        Reply::Delay(
            Duration::from_millis(700),
            b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nfinished".to_vec(),
        )
    });
    let mut pound = https_pound("", &b);
    runtime().block_on(async {
        let (s, _) = tls(pound.addr, &[b"h2"]).await;
        let (client, conn) = h2::client::handshake(s).await.expect("h2 handshake");
        let driver = tokio::spawn(conn);
        let (resp, _send) = get(&mut client.clone().ready().await.unwrap(), "/");
        poll("the request at the backend", || {
            (b.requests().len() == 1).then_some(())
        });
        pound.signal(libc::SIGINT);
        pound.err.wait_for("shutting down...");
        // The stream in flight is answered in full...
        let resp = tokio::time::timeout(Duration::from_secs(20), resp)
            .await
            .expect("the response")
            .expect("a response, not a reset");
        assert_eq!(resp.status(), 200);
        assert_eq!(read_body(&mut resp.into_body()).await, b"finished");
        // ...and the connection ends without an error: GOAWAY (NO_ERROR), then its end.
        let ended = tokio::time::timeout(Duration::from_secs(20), driver)
            .await
            .expect("the connection is still open");
        assert!(matches!(ended, Ok(Ok(()))), "{ended:?}");
    });
    assert_eq!(pound.wait(), Some(0));
}
