//! Answers from the special backends (pound.8, Redirect, Error, ACME) and the request edit of
//! `RewriteDestination`.

use std::path::Path;

use std::sync::Arc;

use super::downstream::{Downstream, Respond};
use super::{Exchange, Outcome};
use crate::backend::Backend;
use crate::http::head::Head;
use crate::http::response;
use crate::http::status::reason;
use crate::log::format::Named;
use crate::logmsg;
use crate::rules::{self, target, EvalError};
use crate::state::{Redirect, Service, Special};
use pound_config::model::Page;

/// Where HTTP-01 challenge files are asked for (RFC 8555, 8.3).
const ACME_PREFIX: &[u8] = b"/.well-known/acme-challenge/";
/// Challenge files are a few dozen bytes; anything much larger is not one.
const ACME_MAX: u64 = 64 * 1024;

impl<C: Downstream> Exchange<C> {
    /// Answers the request with the service's special backend.
    pub(super) async fn answer(&mut self, service: &Service, special: &Special) -> Outcome {
        // Special backends see the request as modified, as pound applies the listener's and
        // the service's request rewrites before answering.
        if let Err(e) = self.modify_request(service) {
            return self.eval_failed(&e).await;
        }
        let on = |i: usize| service.special_enabled(i);
        let usable = match special {
            Special::Redirect(list) => (0..list.len()).filter(|&i| on(i)).count(),
            _ => usize::from(on(0)),
        };
        if usable == 0 {
            // Every special backend was disabled through the control socket.
            return self.failed(503, "no backend found").await;
        }
        let mut o = match special {
            Special::Redirect(list) => {
                let pick = fastrand::usize(..usable);
                let i = (0..list.len()).filter(|&i| on(i)).nth(pick).unwrap_or(0);
                self.redirect(&list[i]).await
            }
            Special::Metrics => self.metrics().await,
            Special::Success => self.success(service).await,
            Special::SendFile(dir) => self.send_file(service, dir).await,
            Special::Control => self.control().await,
            Special::Error { status, page } => {
                let page = page
                    .clone()
                    .or_else(|| self.listener.error_pages.get(status).cloned());
                self.error_backend(service, *status, page.as_deref()).await
            }
            Special::Acme(dir) => self.acme(dir).await,
        };
        if o.special.is_none() {
            o.special = Some(Named {
                name: match special {
                    Special::Redirect(_) => "redirect".to_string(),
                    Special::Error { status, .. } => format!("error:{status}"),
                    Special::Acme(_) => "acme".to_string(),
                    Special::Metrics => "metrics".to_string(),
                    Special::Success => "success".to_string(),
                    Special::SendFile(d) => format!("sendfile:{}", d.path.display()),
                    Special::Control => "control".to_string(),
                },
                location: service.named.location.clone(),
            });
        }
        o
    }

    /// Sends `status` with `fields` and `body` (none for HEAD requests, whose answer only
    /// describes it), in the request's version; the connection closes after it.
    async fn send_generated(&mut self, status: u16, fields: &Head, body: &[u8]) -> Outcome {
        let body = if self.req.method() == b"HEAD" {
            &[][..]
        } else {
            body
        };
        let timeout = self.listener.client_timeout;
        let sent = self
            .client
            .deliver(
                self.req.version,
                status,
                fields,
                body,
                &mut self.out,
                &mut self.pace,
                timeout,
            )
            .await;
        let mut o = Outcome::generated(status);
        o.bytes = sent.unwrap_or(0);
        o
    }

    /// `Metrics`: the OpenMetrics exposition of the moment. As in pound 4.22 and later, the
    /// connection closes after it.
    /// `Success` (pound 4.20): 200 with no body, through the service's response rewrites
    /// (the manual's example answers CORS preflights so). pound 4.23 sends
    /// `Content-Length: -1`; the length here is 0.
    async fn success(&mut self, service: &Service) -> Outcome {
        let mut head = Head::default();
        if let Err(e) = self.modify_response(service, Some(&mut head)) {
            return self.eval_failed(&e).await;
        }
        let mut fields = Head::default();
        fields.push("Content-Length", b"0");
        fields.push("Connection", b"close");
        for i in 0..head.fields.len() {
            fields.push_from(&head, i);
        }
        self.send_generated(200, &fields, b"").await
    }

    /// `SendFile` (pound 4.17): the file the (rewritten) request path names beneath the
    /// directory, as `text/plain` (pound's type for every file), streamed with the
    /// engine's backpressure. Opening and reading happen off the runtime. A path that
    /// names nothing there, or tries to leave it, is 404; other failures are 500.
    async fn send_file(
        &mut self,
        service: &Service,
        dir: &Arc<crate::sendfile::SendDir>,
    ) -> Outcome {
        let path = target::split(self.req.target()).path;
        let Some(rel) = crate::sendfile::relative(path).map(str::to_string) else {
            return self.error(404).await;
        };
        let d = dir.clone();
        let name = rel.clone();
        let opened = tokio::task::spawn_blocking(move || d.open_file(&name)).await;
        let (file, len) = match opened {
            Ok(Ok(f)) => f,
            Ok(Err(e)) if crate::sendfile::not_found(&e) => return self.error(404).await,
            Ok(Err(e)) => {
                logmsg!(
                    Notice,
                    "{}e500: {}: \"{}\": can't open {rel}: {}",
                    self.tag,
                    self.peer.ip,
                    self.request_text(),
                    pound_config::env::describe_io_error(&e)
                );
                return self.error(500).await;
            }
            Err(_) => return self.error(500).await,
        };
        let head =
            format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nContent-Type: text/plain\r\n\r\n");
        if response::parse(
            head.as_bytes(),
            head.len(),
            self.req.method(),
            &mut self.resp,
        )
        .ok()
        .flatten()
        .is_none()
        {
            return self.error(500).await;
        }
        if let Err(e) = self.modify_response(service, None) {
            return self.eval_failed(&e).await;
        }
        // The file reaches the engine's relay through a socket pair: a task copies it in
        // (tokio's file reads run on the blocking pool) as fast as the client takes it.
        let (mut tx, rx) = match tokio::net::UnixStream::pair() {
            Ok(p) => p,
            Err(_) => return self.error(500).await,
        };
        let head_only = self.req.method() == b"HEAD";
        let copy = tokio::spawn(async move {
            if !head_only {
                let mut f = tokio::fs::File::from_std(file);
                let _ = tokio::io::copy(&mut f, &mut tx).await;
            }
        });
        let mut stream = crate::io::Stream::Unix(rx);
        let mut bin = crate::io::take_buffer(16 * 1024, 64 * 1024);
        let stopping = *self.shutdown.borrow();
        let timeout = self.listener.client_timeout;
        let relayed = self
            .client
            .respond(Respond {
                req: &self.req,
                resp: &self.resp,
                bin: &mut bin,
                backend: &mut stream,
                read: timeout,
                tunnel: timeout,
                listener: &self.listener,
                upgrade: false,
                stopping,
                pace: &mut self.pace,
                out: &mut self.out,
            })
            .await;
        copy.abort();
        let mut o = Outcome::generated(200);
        match relayed {
            Ok(r) => {
                o.bytes = r.bytes;
                o.keep = r.keep;
            }
            Err(_) => o.keep = false,
        }
        o
    }

    /// `Control` (pound 4.14): the control interface's answer for the (rewritten) request,
    /// with the fields in pound's order; its errors are pound's pages.
    async fn control(&mut self) -> Outcome {
        let method = String::from_utf8_lossy(self.req.method()).into_owned();
        let target = String::from_utf8_lossy(self.req.target()).into_owned();
        match crate::control::answer(method, target).await {
            Ok(body) => {
                let mut fields = Head::default();
                fields.push("Content-Type", b"application/json");
                fields.push("Content-Length", body.len().to_string().as_bytes());
                fields.push("Connection", b"close");
                self.send_generated(200, &fields, body.as_bytes()).await
            }
            Err(status) => self.error(status).await,
        }
    }

    async fn metrics(&mut self) -> Outcome {
        let body = crate::metrics::scrape().unwrap_or_else(|| "# EOF\n".to_string());
        let mut fields = Head::default();
        fields.push(
            "Content-Type",
            b"application/openmetrics-text; version=1.0.0; charset=utf-8",
        );
        fields.push("Content-Length", body.len().to_string().as_bytes());
        fields.push("Connection", b"close");
        self.send_generated(200, &fields, body.as_bytes()).await
    }

    async fn redirect(&mut self, r: &Redirect) -> Outcome {
        let mut url = Vec::new();
        let values = match rules::expand(
            &r.url,
            "Redirect expression",
            &self.req,
            &self.matches,
            &mut url,
        ) {
            Ok(n) => n,
            Err(e) => return self.eval_failed(&e).await,
        };
        if values == 0 && r.append_request {
            let p = target::split(self.req.target());
            target::join(b"", p.path, p.query, &mut self.out);
            url.extend_from_slice(&self.out);
        }
        if url.iter().any(|&b| b <= b' ' || b == 0x7f) {
            let e = EvalError(format!(
                "Redirect expression \"{}\": the result contains white space or control characters",
                r.url.text
            ));
            return self.eval_failed(&e).await;
        }
        let mut body = Vec::with_capacity(160 + 2 * url.len());
        body.extend_from_slice(b"<html><head><title>Redirect</title></head><body><h1>Redirect</h1><p>You should go to <a href=\"");
        html_escape(&url, &mut body);
        body.extend_from_slice(b"\">");
        html_escape(&url, &mut body);
        body.extend_from_slice(b"</a></p></body></html>");
        // pound's head, field for field.
        let mut fields = Head::default();
        fields.push("Content-Type", b"text/html");
        fields.push("Content-Length", body.len().to_string().as_bytes());
        fields.push("Connection", b"close");
        fields.push("Location", &url);
        let mut o = self.send_generated(r.code, &fields, &body).await;
        o.special = Some(r.named.clone());
        // pound logs a redirect as `302 -` (`%>s`), its page as no body (`%b`).
        o.response_line = Some(format!("{} -", r.code));
        o.bytes = 0;
        o
    }

    /// `Error STATUS [FILE]`: the page, after the `Rewrite response` blocks had their say on
    /// its head (the manual's authentication example adds `WWW-Authenticate` that way).
    async fn error_backend(
        &mut self,
        service: &Service,
        status: u16,
        page: Option<&Page>,
    ) -> Outcome {
        let body = crate::reply::page(status, page).into_owned();
        let mut head = Head::default();
        crate::reply::page_fields(&mut head, page);
        if let Err(e) = self.modify_response(service, Some(&mut head)) {
            return self.eval_failed(&e).await;
        }
        // pound's head: with the length first for HTTP/1.1, delimited by the connection's
        // end for HTTP/1.0.
        let version = self.req.version;
        let mut fields = Head::default();
        if version == crate::http::Version::Http11 {
            fields.push("Content-Length", body.len().to_string().as_bytes());
            fields.push("Connection", b"close");
        }
        for i in 0..head.fields.len() {
            fields.push_from(&head, i);
        }
        let mut o = self.send_generated(status, &fields, &body).await;
        o.response_line = Some(format!("{} {status} {}", version.as_str(), reason(status)));
        o
    }

    /// Serves `/.well-known/acme-challenge/NAME` from `dir`. Names are challenge tokens
    /// (base64url characters); anything else, a path included, is not found.
    async fn acme(&mut self, dir: &Path) -> Outcome {
        let path = target::split(self.req.target()).path;
        let name = path
            .strip_prefix(ACME_PREFIX)
            .filter(|n| {
                !n.is_empty()
                    && n.iter()
                        .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
            .map(|n| String::from_utf8_lossy(n).into_owned());
        let Some(name) = name else {
            return self.error(404).await;
        };
        let file = dir.join(name);
        let read = async {
            let meta = tokio::fs::metadata(&file).await?;
            if !meta.is_file() || meta.len() > ACME_MAX {
                return Err(std::io::ErrorKind::NotFound.into());
            }
            tokio::fs::read(&file).await
        };
        let body = match read.await {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return self.error(404).await,
            Err(e) => {
                logmsg!(Err, "{}can't open {}: {e}", self.tag, file.display());
                return self.error(500).await;
            }
        };
        let mut fields = Head::default();
        fields.push("Content-Type", b"text/plain");
        fields.push("Content-Length", body.len().to_string().as_bytes());
        fields.push("Connection", b"close");
        self.send_generated(200, &fields, &body).await
    }

    /// `RewriteDestination 1`: a WebDAV `Destination` naming pound is made to name the
    /// backend, keeping its path and query.
    pub(super) fn rewrite_destination(&mut self, backend: &Backend) {
        let Some(i) = self.req.head.position("destination") else {
            return;
        };
        let value = self.req.head.value(i);
        let parts = target::split(value);
        if parts.authority().is_empty() {
            logmsg!(
                Notice,
                "{}Can't parse Destination {}",
                self.tag,
                String::from_utf8_lossy(value)
            );
            return;
        }
        let path = &value[parts.origin.len()..];
        let mut new = Vec::with_capacity(value.len() + 32);
        let scheme: &[u8] = if backend.tls.is_some() {
            b"https://"
        } else {
            b"http://"
        };
        new.extend_from_slice(scheme);
        new.extend_from_slice(backend.named.name.as_bytes());
        new.extend_from_slice(path);
        self.req.head.set_value(i, &new);
    }
}

fn html_escape(text: &[u8], out: &mut Vec<u8>) {
    for &b in text {
        match b {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            b'"' => out.extend_from_slice(b"&quot;"),
            _ => out.push(b),
        }
    }
}
