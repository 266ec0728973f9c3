use super::*;
use crate::http::request::{self, Limits};
use crate::rules::Builder;
use pound_config::env::MemoryFs;
use pound_config::{load, Options};

fn request(text: &str) -> Request {
    let mut r = Request::default();
    request::parse(text.as_bytes(), &Limits::default(), &mut r)
        .expect("valid")
        .expect("complete");
    r
}

/// The conditions and request modifications of the first service of `body`.
fn service(body: &str) -> (Vec<Cond>, Vec<Action>, Vec<Vec<Branch>>, bool) {
    let text = format!("Service\n{body}Backend\nAddress 127.0.0.1\nPort 80\nEnd\nEnd\n");
    let fs = MemoryFs::new().with_file("p.cfg", text.as_str());
    let opts = Options {
        include_dir: None,
        warn_deprecated: false,
    };
    let loaded = load(&fs, "p.cfg", &opts);
    let c = loaded
        .config
        .unwrap_or_else(|| panic!("{:?}", loaded.diagnostics));
    let s = &c.services[0];
    let mut b = Builder::default();
    let conds = b.conds(&s.conditions);
    let actions = b.actions(&s.request);
    let resp = b.responses(&s.response);
    (conds, actions, resp, b.captures)
}

struct Run {
    req: Request,
    matches: Matches,
}

impl Run {
    fn new(text: &str) -> Run {
        Run {
            req: request(text),
            matches: Matches::default(),
        }
    }

    fn matches(&mut self, conds: &[Cond]) -> Result<bool, EvalError> {
        let mut cx = Cx {
            req: &self.req,
            headers: &self.req.head,
            client: Some("192.0.2.7".parse().unwrap()),
            matches: &mut self.matches,
            capture: true,
        };
        cx.all(conds)
    }

    fn apply(&mut self, actions: &[Action]) -> Result<(), EvalError> {
        apply(actions, &mut self.req, None, &mut self.matches, true)
    }

    fn expand(&self, text: &str) -> Result<String, EvalError> {
        let t = Template::parse(text);
        let mut out = Vec::new();
        expand(&t, "x", &self.req, &self.matches, &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    fn head(&self) -> String {
        let mut out = Vec::new();
        self.req.head.write_fields(&mut out, |_| true);
        String::from_utf8(out).unwrap()
    }
}

const GET: &str = "GET /static/a/b.jpg?x=1&y=%20z HTTP/1.1\r\nHost: www.Example.org:8080\r\nContent-Type: text/html\r\nX-A: 1\r\n\r\n";

#[test]
fn conditions_with_defaults() {
    let yes = [
        "URL \"^/static/\"\n",
        "Path \"\\\\.jpg$\"\n",
        "Query \"y=%20\"\n",
        "QueryParam \"x\" \"^1$\"\n",
        "Header \"^content-type: text/\"\n",
        "Host \"WWW.example.org:8080\"\n",
        "Host -icase -beg \"www.\"\n",
        "Not Host \"www.example.org\"\n",
        "StringMatch \"%[path]\" \"^/static\"\n",
        "ACL\n\"192.0.2.0/24\"\nEnd\n",
        "Match OR\nURL \"nothing\"\nPath -end \".jpg\"\nEnd\n",
        "Not Match AND\nURL \"^/static\"\nURL \"nothing\"\nEnd\n",
        "HeadDeny \"^X-B:\"\n",
    ];
    for body in yes {
        let (conds, ..) = service(body);
        assert_eq!(Run::new(GET).matches(&conds), Ok(true), "{body}");
    }
    let no = [
        "URL \"^/STATIC/\"\n",
        "Query \"^z\"\n",
        "QueryParam \"nope\" \".*\"\n",
        "Header -case \"^content-type\"\n",
        "Host \"www.example.org\"\n",
        "ACL\n\"10.0.0.0/8\"\n\"::1\"\nEnd\n",
        "URL \"^/static\"\nPath \"x\"\n",
        "HeadRequire \"^X-B:\"\n",
    ];
    for body in no {
        let (conds, ..) = service(body);
        assert_eq!(Run::new(GET).matches(&conds), Ok(false), "{body}");
    }
}

#[test]
fn back_references_follow_the_manual() {
    let (conds, ..) = service(
        "Host -re \"www\\\\.(.+)\"\nHeader -re -icase \"^Content-Type: *(.*)\"\nPath \"^/static(/.*)?\"\n",
    );
    let mut run = Run::new(GET);
    assert_eq!(run.matches(&conds), Ok(true));
    assert_eq!(
        run.expand("$1|$1(1)|$1(2)|$0(2)").unwrap(),
        "/a/b.jpg|text/html|Example.org:8080|www.Example.org:8080"
    );
    assert_eq!(run.expand("${1}(0)").unwrap(), "/a/b.jpg(0)");
    assert_eq!(run.expand("$$1 $% %2F").unwrap(), "$1 % %2F");
    // The group one past a pattern's last is empty (pound 4.23); those beyond, and a match
    // that does not exist, are errors.
    assert_eq!(run.expand("[$2]").unwrap(), "[]");
    assert_eq!(
        run.expand("$3"),
        Err(EvalError("x \"$3\" refers to non-existing group $3".into()))
    );
    assert_eq!(
        run.expand("$1(3)"),
        Err(EvalError(
            "x \"$1(3)\" refers to non-existing group $1(3)".into()
        ))
    );
    // Malformed templates fail when used, with pound's words.
    assert_eq!(
        run.expand("$1(8)"),
        Err(EvalError(
            "x \"$1(8)\" refers to non-existing group $1(8)".into()
        ))
    );
    assert_eq!(
        run.expand("/x%[host"),
        Err(EvalError("x \"/x%[host\": unclosed %[ at offset 2".into()))
    );
    assert_eq!(run.expand("%[nosuch]/").unwrap(), "%[nosuch]/");
}

#[test]
fn accessors() {
    let run = Run::new(GET);
    assert_eq!(
        run.expand("%[url]|%[path]|%[query]|%[param y]|%[param q]|%[header x-a]|%[host]|%[port]")
            .unwrap(),
        "/static/a/b.jpg?x=1&y=%20z|/static/a/b.jpg|x=1&y=%20z|%20z||1|www.Example.org|:8080"
    );
}

#[test]
fn modifications_in_order() {
    let (_, actions, ..) = service(
        "SetURL \"/new/path?a=1\"\nSetPath \"/v2%[path]\"\nSetQueryParam \"b\" \"%[path]\"\nSetQueryParam \"a\" \"x\"\nSetHeader \"X-A: %[query]\"\nSetHeader \"X-New: 2\"\nDeleteHeader \"^Content-Type\"\n",
    );
    let mut run = Run::new(GET);
    run.apply(&actions).unwrap();
    assert_eq!(run.req.target(), b"/v2/new/path?a=x&b=/v2/new/path");
    assert_eq!(
        run.head(),
        "Host: www.Example.org:8080\r\nX-A: a=x&b=/v2/new/path\r\nX-New: 2\r\n"
    );
    assert_eq!(run.req.line(), b"GET /static/a/b.jpg?x=1&y=%20z HTTP/1.1");
    // As pound 4.23: `SetQuery ""` leaves an empty query, `SetPath` drops one, and
    // `SetQueryParam` keeps empty pairs.
    let (_, actions, ..) = service("SetQuery \"\"\n");
    let mut run = Run::new(GET);
    run.apply(&actions).unwrap();
    assert_eq!(run.req.target(), b"/static/a/b.jpg?");
    let (_, actions, ..) = service("SetPath \"/n\"\nSetQueryParam \"b\" \"2\"\n");
    run.apply(&actions[..1]).unwrap();
    assert_eq!(run.req.target(), b"/n");
    let mut run = Run::new("GET /p?&&a HTTP/1.1\r\nHost: h\r\n\r\n");
    run.apply(&actions[1..]).unwrap();
    assert_eq!(run.req.target(), b"/p?&&a&b=2");
}

#[test]
fn rewrite_else_chain() {
    let (_, actions, ..) = service(
        "Rewrite\nPath \"\\\\.(jpg|gif)$\"\nSetPath \"/images%[path]\"\nElse\nMatch AND\nHost \"example.org\"\nPath \"\\\\.[^.]+$\"\nEnd\nSetPath \"/static%[path]\"\nElse\nPath \"\\\\.[^.]+$\"\nSetPath \"/assets%[path]\"\nEnd\n",
    );
    for (req, want) in [
        (
            "GET /a/b.gif HTTP/1.1\r\nHost: x\r\n\r\n",
            "/images/a/b.gif",
        ),
        (
            "GET /a/b.css HTTP/1.1\r\nHost: example.org\r\n\r\n",
            "/static/a/b.css",
        ),
        (
            "GET /a/b.css HTTP/1.1\r\nHost: other\r\n\r\n",
            "/assets/a/b.css",
        ),
        ("GET /a/b HTTP/1.1\r\nHost: other\r\n\r\n", "/a/b"),
    ] {
        let mut run = Run::new(req);
        run.apply(&actions).unwrap();
        assert_eq!(String::from_utf8_lossy(run.req.target()), want, "{req}");
    }
}

#[test]
fn unsafe_results_are_errors() {
    let (conds, actions, ..) =
        service("URL \"^/(.*)\"\nSetHeader \"X-Evil: %[header x-a]\"\nSetPath \"/$1 x\"\n");
    let mut run = Run::new("GET /p HTTP/1.1\r\nHost: h\r\nX-A: a\tb\r\n\r\n");
    assert_eq!(run.matches(&conds), Ok(true));
    let e = run.apply(&actions).unwrap_err();
    assert!(e.0.contains("white space"), "{e:?}");
    for body in [
        "URL \"^/(x)?\"\nSetPath \"$1\"\n",
        "SetURL \"relative\"\n",
        "SetURL \"http://other/x\"\n",
    ] {
        let (conds, actions, ..) = service(body);
        let mut run = Run::new("GET /p HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(run.matches(&conds), Ok(true));
        let e = run.apply(&actions).unwrap_err();
        assert!(e.0.contains("invalid URL"), "{body}: {e:?}");
    }
    // Bytes that are not UTF-8, from a header or from a group that split a character.
    let (_, actions, ..) = service("SetPath \"/%[header X]\"\n");
    let mut run = Run::new("GET / HTTP/1.1\r\nHost: h\r\nX: \u{e9}\r\n\r\n");
    run.req.head.buf.iter_mut().for_each(|b| {
        if *b == 0xc3 {
            *b = b'~';
        }
    });
    let e = run.apply(&actions).unwrap_err();
    assert!(e.0.contains("not valid UTF-8"), "{e:?}");
    let (conds, actions, ..) = service("URL \"^/(.)\"\nSetPath \"/x$1\"\n");
    let mut run = Run::new("GET /\u{e9} HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(run.matches(&conds), Ok(true));
    let e = run.apply(&actions).unwrap_err();
    assert!(e.0.contains("not valid UTF-8"), "{e:?}");
    let (_, actions, ..) = service("SetHeader \"Content-Length: 5\"\n");
    let mut run = Run::new(GET);
    assert!(run.apply(&actions).is_err());
    let (_, actions, ..) = service("DeleteHeader -icase \"^(content-length|host)\"\n");
    let mut run = Run::new("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
    run.apply(&actions).unwrap();
    assert_eq!(run.head(), "Content-Length: 0\r\n");
}

#[test]
fn response_rewrites_see_response_headers() {
    let (_, _, resp, _) = service(
        "Rewrite response\nHeader \"^Server: (.*)\"\nSetHeader \"X-Was: $1 for %[path]\"\nDeleteHeader \"^Server:\"\nElse\nSetHeader \"X-Other: 1\"\nEnd\n",
    );
    let run = Run::new(GET);
    let mut head = Head::default();
    head.push("Server", b"Apache");
    head.push("Content-Length", b"3");
    let mut matches = Matches::default();
    apply_response(&resp, &run.req, &mut head, None, &mut matches, true).unwrap();
    let mut out = Vec::new();
    head.write_fields(&mut out, |_| true);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "Content-Length: 3\r\nX-Was: Apache for /static/a/b.jpg\r\n"
    );
}

#[test]
fn captures_are_recorded_only_when_needed() {
    assert!(!service("URL \"(.*)\"\nSetHeader \"X: %[url]\"\n").3);
    assert!(service("URL \"(.*)\"\nSetHeader \"X: $1\"\n").3);
}

/// A detached condition is evaluated once per request (its result is kept until the
/// matches are cleared for the next one), and its groups stay inside it.
#[test]
fn detached_conditions_are_evaluated_once_per_request() {
    let text = "Condition \"c\"\nPath \"^/static/(a)\"\nEnd\n\
                Service\nHost -re \"^(www)\"\nEval \"c\"\nBackend\nAddress 127.0.0.1\nPort 80\nEnd\nEnd\n";
    let fs = MemoryFs::new().with_file("p.cfg", text);
    let opts = Options {
        include_dir: None,
        warn_deprecated: false,
    };
    let c = load(&fs, "p.cfg", &opts).config.expect("valid");
    let conds = Builder::default().conds(&c.services[0].conditions);
    let mut run = Run::new(GET);
    assert_eq!(run.matches(&conds), Ok(true));
    assert_eq!(
        run.expand("$1|$1(1)").map_err(|e| e.0),
        Err("x \"$1|$1(1)\" refers to non-existing group $1(1)".into())
    );
    assert_eq!(run.expand("$1").unwrap(), "www");
    // The same request state, another path: the kept result answers.
    run.req = request("GET /other HTTP/1.1\r\nHost: www.example.org\r\n\r\n");
    assert_eq!(run.matches(&conds), Ok(true));
    // A new request evaluates it again.
    run.matches.clear();
    assert_eq!(run.matches(&conds), Ok(false));
}
