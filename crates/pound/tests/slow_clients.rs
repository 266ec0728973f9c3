//! Slow and greedy clients (docs/SECURITY.md): slow request bodies, slow heads and slow
//! readers cannot take the worker slots that other clients need; per-address limits; the
//! same over HTTP/2. The real `pound` binary, raw-socket clients, loopback.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use bytes::Bytes;
use common::net::*;

/// Clients that each announce a large body and then send a byte every 200 ms, until pound
/// closes them or `stop` is set. Returns their threads; each yields what it read back.
fn tricklers(pound: &Pound, n: usize, stop: &Arc<AtomicBool>) -> Vec<thread::JoinHandle<Vec<u8>>> {
    (0..n)
        .map(|_| {
            let mut s = TcpStream::connect(pound.addr).expect("connect");
            s.write_all(b"POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n")
                .expect("head");
            s.set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            let stop = stop.clone();
            thread::spawn(move || {
                let mut got = Vec::new();
                // Bounded: 300 bytes at most, one every 200 ms.
                for _ in 0..300 {
                    if stop.load(Ordering::Relaxed) || s.write_all(b"a").is_err() {
                        break;
                    }
                    let mut b = [0u8; 4096];
                    match s.read(&mut b) {
                        Ok(0) => break,
                        Ok(n) => got.extend_from_slice(&b[..n]),
                        Err(e)
                            if matches!(
                                e.kind(),
                                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                            ) => {}
                        Err(_) => break,
                    }
                }
                got
            })
        })
        .collect()
}

#[test]
fn slow_request_bodies_do_not_starve_other_clients() {
    let backend = Backend::start(|r| ok(r.line()));
    let config = format!(
        "WorkerMinCount 1\nWorkerMaxCount 4\nClientRateGrace 3\n{}",
        simple("", &[&backend])
    );
    let pound = Pound::start(&config);
    let stop = Arc::new(AtomicBool::new(false));
    let slow = tricklers(&pound, 24, &stop);
    // Six times as many slow uploads as slots, and every ordinary request is answered.
    for i in 0..10 {
        let r = pound.connect().get(&format!("/fast{i}"));
        assert_eq!(r.status, 200, "{}", r.head);
    }
    // The slow clients are cut off once they fall behind the minimum rate by the grace,
    // with 408: none of their bodies reached a backend.
    let answers: Vec<Vec<u8>> = slow.into_iter().map(|t| t.join().unwrap()).collect();
    for a in &answers {
        let text = String::from_utf8_lossy(a);
        assert!(text.starts_with("HTTP/1.1 408 "), "{text:?}");
    }
    assert!(backend
        .requests()
        .iter()
        .all(|r| r.line().starts_with("GET /fast")));
    pound.err.wait_for("\": client too slow");
}

#[test]
fn a_request_waiting_on_its_client_gives_back_its_slot() {
    let backend = Backend::start(|r| ok(r.line()));
    let config = format!(
        "WorkerMinCount 1\nWorkerMaxCount 1\nClientRateGrace 4\n{}",
        simple("", &[&backend])
    );
    let pound = Pound::start(&config);
    // A body that is ready to flow (its first 8 KiB are there), then stalls.
    let mut upload = pound.connect();
    upload.send(format!(
        "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{}",
        "b".repeat(10000)
    ));
    // The only slot is the upload's until it has waited a second on its client; then an
    // ordinary request gets it while the upload is still open.
    let r = pound.connect().get("/fast");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "GET /fast HTTP/1.1");
    upload.send("more");
    // The stalled upload is cut off after its grace; its head had reached the backend, so
    // the connection is just closed.
    assert!(upload.is_closed());
    assert!(backend
        .requests()
        .iter()
        .all(|r| r.line() == "GET /fast HTTP/1.1"));
}

#[test]
fn a_request_head_must_arrive_within_client() {
    let backend = Backend::named("ok");
    let pound = Pound::start(&simple("Client 2", &[&backend]));
    let head = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Long: {}\r\n\r\n",
        "y".repeat(80)
    );
    let mut s = TcpStream::connect(pound.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut sent = 0;
    let mut closed = false;
    // One byte every 300 ms: each read well within `Client`, the whole head not.
    for b in head.bytes() {
        if s.write_all(&[b]).is_err() {
            closed = true;
            break;
        }
        sent += 1;
        let mut buf = [0u8; 1024];
        match s.read(&mut buf) {
            Ok(_) => {
                closed = true;
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                closed = true;
                break;
            }
            Err(_) => {}
        }
    }
    assert!(closed, "the trickled head was never cut off");
    assert!(sent < head.len() / 2, "closed only after {sent} bytes");
    assert!(backend.requests().is_empty());
}

#[test]
fn a_slow_reader_is_cut_off_and_does_not_hold_its_slot() {
    let big = "z".repeat(16 << 20);
    let backend = Backend::start(move |r| {
        if r.line().starts_with("GET /big") {
            ok(&big)
        } else {
            ok("small")
        }
    });
    let config = format!(
        "WorkerMinCount 1\nWorkerMaxCount 1\nClientRateGrace 2\nClientMinRate 100000\n{}",
        simple("", &[&backend])
    );
    let pound = Pound::start(&config);
    let mut reader = pound.connect();
    reader
        .s
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    // A small receive window, so that pound's writes block early.
    reader.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    // Served while the reader reads nothing at all.
    let r = pound.connect().get("/other");
    assert_eq!(r.text(), "small");
    // The reader stays silent for longer than its grace.
    thread::sleep(Duration::from_secs(4));
    // pound gave up on the reader: it gets less than the whole body, then the end.
    let mut got = 0usize;
    let mut b = vec![0u8; 1 << 16];
    loop {
        match reader.s.read(&mut b) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
        assert!(got < 16 << 20, "the whole body arrived");
    }
}

#[test]
fn per_address_connection_and_request_limits() {
    let backend = Backend::start(|r| ok(r.line()));
    let pound = Pound::start(&simple(
        "ClientMaxConnections 3\nClientMaxRequests 1",
        &[&backend],
    ));
    let mut a = pound.connect();
    let mut b = pound.connect();
    let c = pound.connect();
    // A fourth connection from the same address is closed at once.
    let mut d = pound.connect();
    assert!(d.is_closed());
    pound.err.wait_for("127.0.0.1: too many connections");
    // One request in progress per address. `a`'s is counted once pound answers its
    // `Expect` (it waits for the body), so `b`'s is refused.
    a.send("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 20000\r\nExpect: 100-continue\r\n\r\n");
    assert_eq!(a.response().status, 100);
    b.send("GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = b.response();
    assert_eq!(r.status, 429, "{}", r.head);
    a.send("x".repeat(20000));
    assert_eq!(a.response().text(), "POST /a HTTP/1.1");
    // Once `a`'s request is over, the address may make another; and once connections
    // close, new ones are let in.
    assert_eq!(a.get("/again").text(), "GET /again HTTP/1.1");
    drop((b, c));
    let mut e = poll("a connection place", || {
        let mut e = pound.connect();
        (!e.is_closed_within(Duration::from_millis(100))).then_some(e)
    });
    assert_eq!(e.get("/e").text(), "GET /e HTTP/1.1");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn h2c(addr: std::net::SocketAddr) -> h2::client::SendRequest<Bytes> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (client, conn) = h2::client::handshake(tcp).await.expect("h2 handshake");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

#[test]
fn slow_http2_uploads_do_not_starve_other_clients() {
    let backend = Backend::start(|r| ok(r.line()));
    let config = format!(
        "WorkerMinCount 1\nWorkerMaxCount 4\nClientRateGrace 3\n{}",
        simple("HTTP2 on\nHTTP2MaxSlowStreams 10", &[&backend])
    );
    let pound = Pound::start(&config);
    let rt = runtime();
    rt.block_on(async {
        // 2 connections × 40 streams, each announcing a large body and sending a byte a
        // second.
        let mut streams = Vec::new();
        for _ in 0..2 {
            let mut client = h2c(pound.addr).await;
            for _ in 0..40 {
                client = client.ready().await.expect("ready");
                let req = http::Request::post("http://x/slow")
                    .header("content-length", "1000000")
                    .body(())
                    .unwrap();
                let (resp, mut body) = client.send_request(req, false).expect("send");
                streams.push(tokio::spawn(async move {
                    for _ in 0..20 {
                        if body.send_data(Bytes::from_static(b"a"), false).is_err() {
                            break;
                        }
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    match resp.await {
                        Ok(r) => Some(r.status().as_u16()),
                        Err(_) => None,
                    }
                }));
            }
        }
        // Ordinary clients are served meanwhile, over HTTP/1 and HTTP/2.
        for i in 0..5 {
            let addr = pound.addr;
            let r = tokio::task::spawn_blocking(move || {
                Client::connect(addr).get(&format!("/fast{i}"))
            })
            .await
            .unwrap();
            assert_eq!(r.status, 200);
            let mut client = h2c(pound.addr).await;
            client = client.ready().await.unwrap();
            let (resp, _) = client
                .send_request(http::Request::get("http://x/h2").body(()).unwrap(), true)
                .unwrap();
            assert_eq!(resp.await.unwrap().status(), 200);
        }
        // Every slow stream ends with 408: once behind by the grace, or at once when more
        // than HTTP2MaxSlowStreams of its connection wait on the client.
        for s in streams {
            assert_eq!(s.await.unwrap(), Some(408));
        }
    });
    pound.err.wait_for("\": client too slow");
    pound
        .err
        .wait_for("\": too many slow streams on the connection");
    assert!(backend
        .requests()
        .iter()
        .all(|r| !r.line().starts_with("POST")));
}

#[test]
fn slow_http2_readers_beyond_the_limit_lose_their_streams() {
    let body = "r".repeat(100_000);
    let backend = Backend::start(move |_| ok(&body));
    // With `Client 60`, a stream whose client keeps its window shut would wait a minute;
    // beyond HTTP2MaxSlowStreams, it is reset after a second.
    let pound = Pound::start(&simple(
        "HTTP2 on\nHTTP2MaxSlowStreams 2\nClient 60",
        &[&backend],
    ));
    let rt = runtime();
    rt.block_on(async {
        let tcp = tokio::net::TcpStream::connect(pound.addr).await.unwrap();
        let (mut client, conn) = h2::client::Builder::new()
            .initial_window_size(0)
            .handshake::<_, Bytes>(tcp)
            .await
            .expect("h2 handshake");
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut bodies = Vec::new();
        for _ in 0..5 {
            client = client.ready().await.unwrap();
            let (resp, _) = client
                .send_request(http::Request::get("http://x/big").body(()).unwrap(), true)
                .unwrap();
            let resp = resp.await.expect("response head");
            assert_eq!(resp.status(), 200);
            bodies.push(resp.into_body());
        }
        // Read nothing: three of the five streams are reset well before `Client`.
        let ends = bodies.into_iter().map(|mut b| async move {
            match tokio::time::timeout(Duration::from_secs(5), b.data()).await {
                Ok(Some(Err(e))) => e.reason() == Some(h2::Reason::CANCEL),
                _ => false,
            }
        });
        let reset = futures_join(ends).await.into_iter().filter(|r| *r).count();
        assert_eq!(reset, 3);
    });
}

/// Awaits every future (the tests have no `futures` crate).
async fn futures_join<F>(fs: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = fs.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}
