//! Evaluating conditions, expanding templates and applying modifications.

use std::collections::VecDeque;
use std::net::IpAddr;

use pound_config::model::{Accessor, ConstEncoding, Matcher, Part, Template};

use super::target;
use super::{Action, Branch, Cond};
use crate::http::head::Head;
use crate::http::request::Request;

use pound_config::model::template::MATCH_HISTORY as HISTORY;

/// Why a condition or modification could not be evaluated; the text names the expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError(pub String);

/// One successful match: a copy of its subject, the spans of `$0`, `$1`, ... and the tag of
/// its condition (`-tag`).
#[derive(Default)]
struct Slot {
    subject: Vec<u8>,
    spans: Vec<Option<(usize, usize)>>,
    tag: Option<std::sync::Arc<str>>,
}

/// The recent successful matches of one request, most recent last. Buffers are reused from
/// one request to the next.
#[derive(Default)]
pub struct Matches {
    slots: VecDeque<Slot>,
    spare: Vec<Slot>,
    spans: Vec<Option<(usize, usize)>>,
    /// The results of detached conditions evaluated so far for this request, by index.
    evals: Vec<Option<bool>>,
    /// What `%[remoteip 0]` and `%[remoteip 1]` expand to: the client's address and the
    /// originator behind trusted proxies (see `log::origin`), set for each request.
    pub origin: [Option<IpAddr>; 2],
    /// The constants `%[const NAME]` sees: those of the service being tried or chosen
    /// (`None` when the configuration has none).
    pub consts: Option<std::sync::Arc<super::constants::Constants>>,
    /// The certificate the client presented over TLS (DER), for `ClientCert "FILE"`.
    pub peer_cert: Option<std::sync::Arc<[u8]>>,
}

impl Matches {
    pub fn clear(&mut self) {
        while let Some(s) = self.slots.pop_front() {
            self.spare.push(s);
        }
        self.evals.clear();
    }

    /// Records the match whose spans are in `self.spans`.
    fn push(&mut self, subject: &[u8], tag: Option<&std::sync::Arc<str>>) {
        let mut slot = if self.slots.len() == HISTORY {
            self.slots.pop_front().unwrap_or_default()
        } else {
            self.spare.pop().unwrap_or_default()
        };
        slot.subject.clear();
        slot.subject.extend_from_slice(subject);
        slot.spans.clear();
        slot.spans.extend_from_slice(&self.spans);
        slot.tag = tag.cloned();
        self.slots.push_back(slot);
    }

    /// Group `group` of the `nth` most recent match: `None` if there is no such group,
    /// an empty slice for a group that took no part in the match.
    fn group(&self, nth: usize, group: usize) -> Option<&[u8]> {
        let back = nth.checked_add(1)?;
        let slot = self.slots.get(self.slots.len().checked_sub(back)?)?;
        Self::span(slot, group)
    }

    /// Group `group` of the most recent match of the condition tagged `tag`.
    fn tagged(&self, tag: &str, group: usize) -> Option<&[u8]> {
        let slot = self
            .slots
            .iter()
            .rev()
            .find(|s| s.tag.as_deref() == Some(tag))?;
        Self::span(slot, group)
    }

    fn span(slot: &Slot, group: usize) -> Option<&[u8]> {
        // A group that took no part is empty; one the match does not have is an error
        // (see `Matcher::captures` for where pound draws that line).
        match slot.spans.get(group)? {
            Some((a, b)) => slot.subject.get(*a..*b),
            None => Some(&[]),
        }
    }
}

/// What a condition is evaluated against.
pub struct Cx<'a> {
    /// The request, as modified so far: accessors always read it, even in response rewrites.
    pub req: &'a Request,
    /// The header lines `Header` conditions look at: the request's, or the response's.
    pub headers: &'a Head,
    pub client: Option<IpAddr>,
    pub matches: &'a mut Matches,
    /// Whether to record regex groups (some template refers to them).
    pub capture: bool,
}

impl Cx<'_> {
    /// Whether every condition holds (an empty list holds).
    pub fn all(&mut self, conds: &[Cond]) -> Result<bool, EvalError> {
        for c in conds {
            if !self.eval(c)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The first branch of a `Rewrite` block whose conditions hold.
    fn choose<'b>(&mut self, branches: &'b [Branch]) -> Result<Option<&'b Branch>, EvalError> {
        for b in branches {
            if self.all(&b.when)? {
                return Ok(Some(b));
            }
        }
        Ok(None)
    }

    pub fn eval(&mut self, c: &Cond) -> Result<bool, EvalError> {
        Ok(match c {
            Cond::Acl(acl, false) => self.client.is_some_and(|ip| acl.contains(ip)),
            Cond::Acl(acl, true) => self.matches.origin[1].is_some_and(|ip| acl.contains(ip)),
            Cond::BasicAuth(file) => match self
                .req
                .head
                .get("authorization")
                .and_then(crate::auth::basic_credentials)
            {
                Some((user, password)) => file.check(&user, &password),
                None => false,
            },
            Cond::Header(m) => {
                let headers = self.headers;
                let mut line = Vec::with_capacity(128);
                for i in 0..headers.fields.len() {
                    field_line(headers, i, &mut line);
                    if self.test(m, &line) {
                        return Ok(true);
                    }
                }
                false
            }
            Cond::HeaderField(name, m) => {
                let headers = self.headers;
                let mut line = Vec::new();
                for i in 0..headers.fields.len() {
                    if !headers.name(i).eq_ignore_ascii_case(name.as_bytes()) {
                        continue;
                    }
                    // pound compares the value as it came, without its leading blanks but
                    // with any trailing ones.
                    field_line(headers, i, &mut line);
                    let colon = line.iter().position(|&b| b == b':').map_or(0, |c| c + 1);
                    let blanks = line[colon..]
                        .iter()
                        .take_while(|&&b| b == b' ' || b == b'\t')
                        .count();
                    if self.test(m, &line[colon + blanks..]) {
                        return Ok(true);
                    }
                }
                false
            }
            Cond::Method(m) => self.test(m, self.req.method()),
            Cond::ClientCert(der) => self.matches.peer_cert.as_deref() == Some(&der[..]),
            Cond::Tbf(bucket, key) => {
                let mut k = Vec::new();
                expand(key, "TBF", self.req, self.matches, &mut k)?;
                bucket.take(&k)
            }
            Cond::Eval(index, conds) => {
                if let Some(Some(known)) = self.matches.evals.get(*index) {
                    return Ok(*known);
                }
                // Its regex groups are its own: the request's matches are put aside while
                // it runs and come back unchanged.
                let outer = std::mem::take(&mut self.matches.slots);
                let result = self.all(conds);
                let inner = std::mem::replace(&mut self.matches.slots, outer);
                self.matches.spare.extend(inner);
                let result = result?;
                if self.matches.evals.len() <= *index {
                    self.matches.evals.resize(*index + 1, None);
                }
                self.matches.evals[*index] = Some(result);
                result
            }
            Cond::Host(m) => match self.req.head.get("host") {
                Some(h) => self.test(m, h),
                None => false,
            },
            Cond::Path(m) => self.test_decoded(m, target::split(self.req.target()).path),
            Cond::Query(m) => match target::split(self.req.target()).query {
                Some(q) => self.test(m, q),
                None => false,
            },
            Cond::QueryParam(name, m) => {
                let query = target::split(self.req.target()).query.unwrap_or(b"");
                match target::param(query, name) {
                    Some(Some(v)) => self.test_decoded(m, v),
                    _ => false,
                }
            }
            Cond::StringMatch(t, m) => {
                let mut subject = Vec::new();
                expand(t, "string_match", self.req, self.matches, &mut subject)?;
                self.test(m, &subject)
            }
            Cond::Url(m) => self.test(m, self.req.target()),
            Cond::Not(inner) => !self.eval(inner)?,
            Cond::All(cs) => self.all(cs)?,
            Cond::Any(cs) => {
                for c in cs {
                    if self.eval(c)? {
                        return Ok(true);
                    }
                }
                false
            }
        })
    }

    /// Matches `subject`, recording the match for back-references when they are used.
    fn test(&mut self, m: &Matcher, subject: &[u8]) -> bool {
        if !self.capture {
            return m.is_match(subject);
        }
        let mut spans = std::mem::take(&mut self.matches.spans);
        let hit = m.captures(subject, &mut spans);
        self.matches.spans = spans;
        if hit {
            self.matches.push(subject, m.tag.as_ref());
        }
        hit
    }

    /// [`Cx::test`], percent-decoding the subject first under `-decode`.
    fn test_decoded(&mut self, m: &Matcher, subject: &[u8]) -> bool {
        if m.decode {
            let decoded = target::percent_decode(subject);
            self.test(m, &decoded)
        } else {
            self.test(m, subject)
        }
    }
}

/// Expands `t` for `req` into `out` (which is cleared first). Returns how many references
/// and accessors produced a value, which the `Redirect` compatibility rule needs. `what`
/// names the directive in error messages, as pound does.
pub fn expand(
    t: &Template,
    what: &str,
    req: &Request,
    m: &Matches,
    out: &mut Vec<u8>,
) -> Result<usize, EvalError> {
    out.clear();
    if let Some(e) = &t.error {
        return Err(EvalError(format!("{what} \"{}\": {e}", t.text)));
    }
    let mut values = 0;
    for part in &t.parts {
        match part {
            Part::Literal(s) => out.extend_from_slice(s.as_bytes()),
            Part::Ref {
                group,
                nth,
                tag,
                text,
            } => match match tag {
                Some(tag) => m.tagged(tag, *group),
                None => m.group(*nth, *group),
            } {
                Some(v) => {
                    out.extend_from_slice(v);
                    values += 1;
                }
                None => {
                    return Err(EvalError(format!(
                        "{what} \"{}\" refers to non-existing group {text}",
                        t.text
                    )))
                }
            },
            Part::Accessor(a) => {
                let target = req.target();
                let parts = target::split(target);
                let host = req.head.get("host");
                let value: Option<&[u8]> = match a {
                    Accessor::Url => Some(target),
                    Accessor::Path => Some(parts.path),
                    Accessor::Query => parts.query,
                    Accessor::Param(name) => parts
                        .query
                        .and_then(|q| target::param(q, name.as_bytes()))
                        .flatten(),
                    Accessor::Header(name) => req.head.get(name),
                    Accessor::Host => host.map(|h| target::host_port(h).0),
                    Accessor::Port => host
                        .map(|h| target::host_port(h).1)
                        .filter(|p| !p.is_empty()),
                    Accessor::RemoteIp { forwarded } => {
                        if let Some(ip) = m.origin[usize::from(*forwarded)] {
                            use std::io::Write;
                            let _ = write!(out, "{ip}");
                            values += 1;
                        }
                        None
                    }
                    Accessor::Const { name, encoding } => {
                        if let Some(v) = m.consts.as_ref().and_then(|c| c.get(name)) {
                            const_value(&v, encoding, out);
                            values += 1;
                        }
                        None
                    }
                    Accessor::User => {
                        if let Some((user, _)) = req
                            .head
                            .get("authorization")
                            .and_then(crate::auth::basic_credentials)
                        {
                            out.extend_from_slice(&user);
                            values += 1;
                        }
                        None
                    }
                };
                if let Some(v) = value {
                    out.extend_from_slice(v);
                    values += 1;
                }
            }
        }
    }
    Ok(values)
}

/// Writes a constant's value to `out` in `encoding`. pound expands an encoding it does not
/// know to nothing, and logs it (with its spelling).
fn const_value(v: &[u8], encoding: &ConstEncoding, out: &mut Vec<u8>) {
    match encoding {
        ConstEncoding::None => out.extend_from_slice(v),
        ConstEncoding::Url => {
            let mut encoded = Vec::new();
            target::percent_encode(v, false, &mut encoded);
            out.extend_from_slice(&encoded);
        }
        ConstEncoding::Base64 => out.extend_from_slice(crate::base64::encode(v).as_bytes()),
        ConstEncoding::Unknown(e) => crate::logmsg!(Warning, "unreconginzed encoding: {e}"),
    }
}

/// Applies request modifications in order; the first failure stops them.
pub fn apply(
    actions: &[Action],
    req: &mut Request,
    client: Option<IpAddr>,
    matches: &mut Matches,
    capture: bool,
) -> Result<(), EvalError> {
    let mut value = Vec::new();
    let mut built = Vec::new();
    for action in actions {
        match action {
            Action::SetHeader(t) => {
                expand(t, "Header", req, matches, &mut value)?;
                set_header(&mut req.head, &value, &t.text)?;
            }
            Action::DeleteHeader(m) => delete_header(&mut req.head, m),
            Action::SetUrl(t) => {
                expand(t, "url", req, matches, &mut value)?;
                check_url_part(&value, "url", t)?;
                if value.is_empty() {
                    return Err(EvalError(format!(
                        "url \"{}\": request rewriting results in empty URL",
                        t.text
                    )));
                }
                set_target(req, &value, "url", t)?;
            }
            Action::SetPath(t, encode) => {
                expand(t, "path", req, matches, &mut value)?;
                if *encode {
                    target::percent_encode(&std::mem::take(&mut value), true, &mut value);
                }
                check_url_part(&value, "path", t)?;
                let p = target::split(req.target());
                // pound drops an empty query (`/a?`) when it rebuilds the URL.
                let query = p.query.filter(|q| !q.is_empty());
                target::join(p.origin, &value, query, &mut built);
                set_target(req, &built, "path", t)?;
            }
            Action::SetQuery(t) => {
                expand(t, "query", req, matches, &mut value)?;
                check_url_part(&value, "query", t)?;
                let p = target::split(req.target());
                // As pound: the query is the value, even empty (`/a?`).
                target::join(p.origin, p.path, Some(&value), &mut built);
                set_target(req, &built, "query", t)?;
            }
            Action::DeleteQuery => {
                let p = target::split(req.target());
                if p.query.is_some() {
                    target::join(p.origin, p.path, None, &mut built);
                    req.set_target(&built);
                }
            }
            Action::SetQueryParam(name, None, _) => {
                let p = target::split(req.target());
                let mut query = Vec::new();
                if let Some(kept) = target::delete_param(p.query.unwrap_or(b""), name, &mut query) {
                    let query = kept.map(|()| &query[..]);
                    target::join(p.origin, p.path, query, &mut built);
                    req.set_target(&built);
                }
            }
            Action::SetQueryParam(name, Some(t), encode) => {
                expand(t, "query parameter", req, matches, &mut value)?;
                if *encode {
                    target::percent_encode(&std::mem::take(&mut value), false, &mut value);
                }
                check_url_part(&value, "query parameter", t)?;
                let p = target::split(req.target());
                let mut query = Vec::new();
                target::set_param(p.query.unwrap_or(b""), name, &value, &mut query);
                target::join(p.origin, p.path, Some(&query), &mut built);
                set_target(req, &built, "query parameter", t)?;
            }
            Action::Rewrite(branches) => {
                let mut cx = Cx {
                    req,
                    headers: &req.head,
                    client,
                    matches,
                    capture,
                };
                if let Some(b) = cx.choose(branches)? {
                    apply(&b.then, req, client, matches, capture)?;
                }
            }
        }
    }
    Ok(())
}

/// Applies `Rewrite response` blocks to a response head. Conditions see the response's
/// header lines; accessors and back-references still refer to the request.
pub fn apply_response(
    blocks: &[Vec<Branch>],
    req: &Request,
    head: &mut Head,
    client: Option<IpAddr>,
    matches: &mut Matches,
    capture: bool,
) -> Result<(), EvalError> {
    for branches in blocks {
        apply_response_branches(branches, req, head, client, matches, capture)?;
    }
    Ok(())
}

/// One `Rewrite response` block (or a `Rewrite` nested in one): the first branch whose
/// conditions hold on the response.
fn apply_response_branches(
    branches: &[Branch],
    req: &Request,
    head: &mut Head,
    client: Option<IpAddr>,
    matches: &mut Matches,
    capture: bool,
) -> Result<(), EvalError> {
    let mut cx = Cx {
        req,
        headers: head,
        client,
        matches,
        capture,
    };
    let Some(branch) = cx.choose(branches)? else {
        return Ok(());
    };
    let mut value = Vec::new();
    for action in &branch.then {
        match action {
            Action::SetHeader(t) => {
                expand(t, "Header", req, matches, &mut value)?;
                set_header(head, &value, &t.text)?;
            }
            Action::DeleteHeader(m) => delete_header(head, m),
            Action::Rewrite(nested) => {
                apply_response_branches(nested, req, head, client, matches, capture)?
            }
            // The parser allows only the ones above in response rewrites.
            _ => {}
        }
    }
    Ok(())
}

/// Fields that frame the message: a modification may not touch them, or the body would be
/// delimited differently on the two sides of pound.
fn is_framing(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"transfer-encoding")
}

fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `SetHeader`: replaces the first field of that name in place (dropping any others) or
/// adds the field at the end.
fn set_header(head: &mut Head, line: &[u8], text: &str) -> Result<(), EvalError> {
    let bad = |why: &str| EvalError(format!("Header \"{text}\": {why}"));
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or_else(|| bad("the expanded value is not a header line"))?;
    let name = &line[..colon];
    let value = crate::http::trim(&line[colon + 1..]);
    if name.is_empty() || !name.iter().all(|&b| is_token(b)) {
        return Err(bad("the expanded value is not a header line"));
    }
    if value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(bad("the expanded value contains control characters"));
    }
    if is_framing(name) {
        return Err(bad("Content-Length and Transfer-Encoding cannot be set"));
    }
    let name_text = String::from_utf8_lossy(name);
    match head.position(&name_text) {
        Some(i) => {
            let n = head.append(name);
            head.fields[i].name = n;
            head.set_value(i, value);
            let keep = head.fields[i];
            let buf = &head.buf;
            head.fields
                .retain(|f| *f == keep || !buf[f.name.range()].eq_ignore_ascii_case(name));
        }
        None => head.push(&name_text, value),
    }
    Ok(())
}

/// `DeleteHeader`: removes every field whose `Name: value` line matches, except the
/// framing fields.
fn delete_header(head: &mut Head, m: &Matcher) {
    let mut line = Vec::with_capacity(128);
    let mut i = 0;
    while i < head.fields.len() {
        field_line(head, i, &mut line);
        if !is_framing(head.name(i)) && m.is_match(&line) {
            head.fields.remove(i);
        } else {
            i += 1;
        }
    }
}

/// Installs a rewritten target, which must be in origin form: a path starting with `/`.
fn set_target(req: &mut Request, new: &[u8], what: &str, t: &Template) -> Result<(), EvalError> {
    if new.first() != Some(&b'/') {
        return Err(EvalError(format!(
            "{what} \"{}\": request rewriting results in an invalid URL \"{}\"",
            t.text,
            String::from_utf8_lossy(new)
        )));
    }
    req.set_target(new);
    Ok(())
}

/// Field `i` as the line `Header` and `DeleteHeader` patterns see: `Name: value`.
/// Field `i` as `Header` conditions and `DeleteHeader` see it: the line as it came, or
/// `Name: value` for a field pound made or changed.
fn field_line(head: &Head, i: usize, line: &mut Vec<u8>) {
    line.clear();
    head.write_line(i, line);
}

/// A rewritten URL part may not contain white space or control characters, which would
/// corrupt the request line sent to the backend, nor bytes that are not UTF-8 (from a header
/// value, or a back-reference that split a character), which pound itself refuses in a
/// request line from a client.
fn check_url_part(v: &[u8], what: &str, t: &Template) -> Result<(), EvalError> {
    if v.iter().any(|&b| b <= b' ' || b == 0x7f) {
        return Err(EvalError(format!(
            "{what} \"{}\": the result contains white space or control characters",
            t.text
        )));
    }
    if std::str::from_utf8(v).is_err() {
        return Err(EvalError(format!(
            "{what} \"{}\": the result is not valid UTF-8",
            t.text
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
