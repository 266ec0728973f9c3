//! Accounting for a request: the metrics of the listener, service and backend involved,
//! and the request log line (pound.8, REQUEST LOGGING).

use std::time::SystemTime;

use super::downstream::Downstream;
use super::{Exchange, Outcome};
use crate::log::format::Entry;
use crate::log::{self, Priority};

impl<C: Downstream> Exchange<C> {
    /// Adds the request to the metrics of the listener, service and backend involved.
    pub(super) fn count(&self, o: &Outcome, elapsed: std::time::Duration) {
        self.listener.stats.observe(o.status, o.bytes, elapsed);
        if let Some(s) = &o.service {
            s.stats.count(o.status, o.bytes);
        }
        if let Some(b) = &o.backend {
            b.stats.requests.count(o.status, o.bytes);
        }
    }

    pub(super) fn log_request(&self, o: &Outcome, start: SystemTime, elapsed: std::time::Duration) {
        let format = self.listener.log.format();
        if format.is_null() {
            return;
        }
        let service = o.service.as_deref();
        if service.is_some_and(|s| s.log_suppress.suppresses(o.status)) {
            return;
        }
        let l = &*self.listener;
        let trusted = service.and_then(|s| s.trusted_ip.as_deref());
        // A refused head has no fields to read the originator from.
        let trusted = trusted.filter(|_| o.refused_line.is_none());
        let origin = trusted.or(l.trusted_ip.as_deref()).and_then(|acl| {
            let header = service
                .and_then(|s| s.forwarded_header.as_deref())
                .unwrap_or(&l.forwarded_header);
            log::origin::originator(self.peer.addr, &self.req.head, header, acl)
        });
        let origin = origin.map(|ip| ip.to_string());
        let origin = origin.as_deref().unwrap_or(&self.peer.ip);
        let anonymised;
        let (client, origin) = if l.anonymise {
            anonymised = (
                log::origin::anonymise(&self.peer.ip),
                log::origin::anonymise(origin),
            );
            (anonymised.0.as_str(), anonymised.1.as_str())
        } else {
            (self.peer.ip.as_str(), origin)
        };
        let response_line = match &o.response_line {
            Some(line) => std::borrow::Cow::Borrowed(line.as_str()),
            None => String::from_utf8_lossy(self.resp.line()),
        };
        let entry = Entry {
            client,
            origin,
            local: &self.peer.local_ip,
            port: &self.peer.port_text,
            request: if o.refused_line.is_some() {
                None
            } else {
                Some(&self.req)
            },
            raw_line: o.refused_line.as_deref().unwrap_or(""),
            status: o.status,
            response_line: &response_line,
            bytes: o.bytes,
            start,
            end: SystemTime::now(),
            elapsed,
            listener: &self.listener.named,
            service: o.service.as_ref().map(|s| &s.named),
            backend: o
                .special
                .as_ref()
                .or_else(|| o.backend.as_ref().map(|b| &b.named)),
            http2: self.client.is_h2(),
            https: self.peer.tls.is_some(),
        };
        let mut line = String::with_capacity(160);
        format.render(&entry, &mut line);
        log::log(Priority::Info, line);
    }
}
