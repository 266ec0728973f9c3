//! `Tunnel` listeners (pound 4.23): each connection is relayed, bytes as they are, to the
//! tunnel's one backend, until both sides have closed or nothing moved for the backend's
//! `TimeOut` (pound: `I/O time out in tunnel`).
//!
//! pound 4.23 leaves a client connected when the backend cannot be reached, and crashes
//! when the backend is disabled; here the client's connection is closed in both cases.

use std::sync::Arc;

use crate::io::Stream;
use crate::logmsg;
use crate::proxy::Peer;
use crate::splice::{Pipes, Plain};
use crate::state::Listener;

/// Relays one client connection of a tunnel listener.
pub async fn serve(mut client: Stream, peer: Arc<Peer>, listener: Arc<Listener>, id: u64) {
    let Some(service) = listener.services.first() else {
        return;
    };
    let Some(member) = service.member_at(0) else {
        return;
    };
    if service.disabled.load(std::sync::atomic::Ordering::Relaxed)
        || member.disabled.load(std::sync::atomic::Ordering::Relaxed)
    {
        return;
    }
    let backend = &member.backend;
    let mut conn = match backend.connect(None).await {
        Ok(c) => c,
        Err(e) => {
            let err = match &e {
                crate::backend::ConnectError::Connect(e)
                | crate::backend::ConnectError::Handshake(e) => {
                    pound_config::env::describe_io_error(e)
                }
            };
            let name = &backend.named.name;
            logmsg!(
                Warning,
                "({id:x}) connect_nb: {name}: connection failed: {err}"
            );
            logmsg!(
                Warning,
                "({id:x}): {}: can't connect to backend {name}: {err}",
                peer.ip
            );
            return;
        }
    };
    // Between two plain sockets the kernel moves the bytes (splice, through two pipes);
    // TLS needs copying, and so does a process short of descriptors for the pipes.
    let plain = Plain::of(&client).zip(Plain::of(&conn.stream));
    let pipes = match plain.map(|_| Pipes::new()) {
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => {
            let why = pound_config::env::describe_io_error(&e);
            logmsg!(
                Warning,
                "({id:x}) can't make pipes for the tunnel: {why}; copying"
            );
            None
        }
        None => None,
    };
    let relayed = match (plain, &pipes) {
        (Some((a, b)), Some(pipes)) => crate::splice::tunnel(a, b, pipes, backend.timeout).await,
        _ => crate::relay::tunnel(&mut client, &mut conn.stream, backend.timeout).await,
    };
    if let Err(e) = relayed {
        if e.kind() == std::io::ErrorKind::TimedOut {
            logmsg!(Notice, "({id:x}) I/O time out in tunnel");
        }
    }
}
