//! Request logging (pound.8, REQUEST LOGGING): every conversion of `LogFormat`, the built-in
//! formats by number and name, `LogLevel` per listener, `%a` behind trusted proxies,
//! `LogSuppress` and `Anonymise`, all through the real binary.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::net::{ok, Backend, Pound, Reply};

/// The configuration file pound was started with, as spans in log lines name it.
fn cfg_name(pound: &Pound) -> String {
    pound.dir.join("pound.cfg").display().to_string()
}

/// The backend answers by the last segment of the path.
fn reply_for(path: &str) -> Reply {
    match &path[path.rfind('/').unwrap_or(0)..] {
        "/empty" => Reply::Send(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec()),
        "/missing" => {
            Reply::Send(b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope".to_vec())
        }
        "/moved" => {
            Reply::Send(b"HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n".to_vec())
        }
        "/broken" => {
            Reply::Send(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n".to_vec())
        }
        _ => ok("hello"),
    }
}

fn path_backend() -> Backend {
    Backend::start(|r| {
        let path = r.line().split(' ').nth(1).unwrap_or("/").to_string();
        reply_for(path.split('?').next().unwrap_or("/"))
    })
}

#[test]
fn every_conversion_has_its_text() {
    let backend = path_backend();
    let format = "%%|%a|%A|%B|%b|%h|%H|%{X-Test}i|%{X-None}i|%{X-None}I|%{listener}L|\
                  %{service}L|%{backend}L|%m|%{listener}N|%{service}N|%{backend}N|%q|%r|%s|\
                  %>s|%u|%U|%v|%l";
    let config = format!(
        "LogFormat \"all\" \"{format}\"\nLogLevel \"all\"\nListenHTTP \"front\"\nLISTEN\nEnd\n\
         Service \"svc\"\nBackend\n{}End\nEnd\n",
        backend.config()
    );
    let pound = Pound::start(&config);
    let cfg = cfg_name(&pound);
    let be = format!("127.0.0.1:{}", backend.port());
    let mut c = pound.connect();
    c.send(
        "GET /p/x?a=1&b HTTP/1.1\r\nHost: h.test\r\nX-Test: tv\r\n\
         Authorization: Basic YWxpY2U6c2VjcmV0\r\n\r\n",
    );
    assert_eq!(c.response().text(), "hello");
    let line = pound.out.wait_for("/p/x");
    let want = format!(
        "pound: %|127.0.0.1|127.0.0.1|5|5|127.0.0.1|http|tv||-|{cfg}:3.12-5.3|\
         {cfg}:6.9-11.3|{cfg}:7.1-10.3|GET|front|svc|{be}|?a=1&b|GET /p/x?a=1&b HTTP/1.1|200|\
         HTTP/1.1 200 OK|alice|/p/x|h.test|-"
    );
    assert_eq!(line, want);

    // An empty body: `%B` is 0 and `%b` a dash; no query, no user.
    c.send("GET /empty HTTP/1.1\r\nHost: h.test\r\n\r\n");
    assert_eq!(c.response().text(), "");
    let line = pound.out.wait_for("/empty");
    assert!(
        line.starts_with("pound: %|127.0.0.1|127.0.0.1|0|-|127.0.0.1|http|||-|"),
        "{line}"
    );
    assert!(
        line.ends_with(&format!(
            "|GET|front|svc|{be}||GET /empty HTTP/1.1|200|HTTP/1.1 200 OK|-|/empty|h.test|-"
        )),
        "{line}"
    );
}

/// Parses `%t`: `[18/Sep/2011:19:18:28 -0400]`.
fn is_clf_time(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 28
        && b[0] == b'['
        && b[27] == b']'
        && t[1..3].chars().all(|c| c.is_ascii_digit())
        && [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ]
        .contains(&&t[4..7])
        && matches!(b[22], b'+' | b'-')
}

#[test]
fn time_conversions_and_units() {
    let backend = path_backend();
    let format = "%t|%{begin:%Y}t|%{end:sec}t|%{msec}t|%{usec}t|%{msec_frac}t|%{usec_frac}t|\
                  %{%d/%b/%Y}t|%D|%T|%{ms}T|%{us}T|%{f}T|%{s}T|%P";
    let config = format!(
        "LogFormat \"t\" \"{format}\"\nLogLevel \"t\"\nListenHTTP\nLISTEN\nEnd\nService\n\
         Backend\n{}End\nEnd\n",
        backend.config()
    );
    let pound = Pound::start(&config);
    let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    assert_eq!(pound.connect().get("/t").text(), "hello");
    let line = pound.out.wait_for("pound: [");
    let after = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let f: Vec<&str> = line.trim_start_matches("pound: ").split('|').collect();
    assert_eq!(f.len(), 15, "{line}");
    assert!(is_clf_time(f[0]), "{line}");
    let num = |s: &str| {
        s.parse::<u128>()
            .unwrap_or_else(|_| panic!("{s} in {line}"))
    };
    let year = 1970 + before.as_secs() / 31_556_952;
    assert!(
        (year - 1..=year + 1).contains(&(num(f[1]) as u64)),
        "{line}"
    );
    let in_range = |v: u128, lo: u128, hi: u128| assert!(lo <= v && v <= hi, "{v}: {line}");
    in_range(num(f[2]), before.as_secs().into(), after.as_secs().into());
    in_range(num(f[3]), before.as_millis(), after.as_millis());
    in_range(num(f[4]), before.as_micros(), after.as_micros());
    assert!(f[5].len() == 3 && num(f[5]) < 1000, "{line}");
    assert!(f[6].len() == 6 && num(f[6]) < 1_000_000, "{line}");
    assert_eq!(f[7], &f[0][1..12], "{line}");
    let micros = num(f[8]);
    assert!(micros < 20_000_000, "{line}");
    assert_eq!(num(f[9]), micros / 1_000_000, "{line}");
    // %{ms}T and %{us}T are separate readings of the clock than %D: at least as large.
    assert!(
        num(f[10]) >= micros / 1000 && num(f[11]) >= micros,
        "{line}"
    );
    let (s, frac) = f[12].split_once('.').expect("fractional seconds");
    assert!(num(s) == micros / 1_000_000 && frac.len() == 3, "{line}");
    assert_eq!(num(f[13]), micros / 1_000_000, "{line}");
    // %P: a thread of the pound process.
    let task = format!("/proc/{}/task/{}", pound.child.id(), f[14]);
    assert!(std::path::Path::new(&task).exists(), "{task}: {line}");
}

#[test]
fn builtin_formats_by_name_and_per_listener() {
    let backend = path_backend();
    let be = format!("127.0.0.1:{}", backend.port());
    // Global `combined`; a second listener logs `vhost_combined` and a third `detailed`.
    let second = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let third = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (p2, p3) = (
        second.local_addr().unwrap().port(),
        third.local_addr().unwrap().port(),
    );
    drop((second, third));
    let config = format!(
        "LogLevel \"combined\"\nListenHTTP\nLISTEN\nEnd\n\
         ListenHTTP\nAddress 127.0.0.1\nPort {p2}\nLogLevel \"vhost_combined\"\nEnd\n\
         ListenHTTP\nAddress 127.0.0.1\nPort {p3}\nLogLevel \"detailed\"\nEnd\n\
         Service \"s\"\nBackend\n{}End\nEnd\n",
        backend.config()
    );
    let pound = Pound::start(&config);
    let request = "GET /one?x HTTP/1.1\r\nHost: v.test\r\nReferer: http://r/\r\n\
                   User-Agent: agent/1\r\n\r\n";
    let mut c = pound.connect();
    c.send(request);
    assert_eq!(c.response().text(), "hello");
    let line = pound.out.wait_for("/one");
    let (head, tail) = line.split_once(" [").expect("a time stamp");
    assert_eq!(head, "pound: 127.0.0.1 - -");
    assert!(
        tail.ends_with("] \"GET /one?x HTTP/1.1\" 200 5 \"http://r/\" \"agent/1\""),
        "{line}"
    );

    let addr = |port| std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut c2 = common::net::Client::connect(addr(p2));
    c2.send(request.replace("/one", "/two"));
    assert_eq!(c2.response().text(), "hello");
    let line = pound.out.wait_for("/two");
    assert!(
        line.starts_with(&format!("pound: v.test:{p2} 127.0.0.1 - - [")),
        "{line}"
    );

    let mut c3 = common::net::Client::connect(addr(p3));
    c3.send("GET /missing HTTP/1.1\r\nHost: v.test\r\nAuthorization: Basic Ym9iOng=\r\n\r\n");
    assert_eq!(c3.response().text(), "nope");
    let line = pound.out.wait_for("/missing");
    let (head, tail) = line.split_once(" [").expect("a time stamp");
    assert_eq!(head, format!("pound: v.test:{p3} 127.0.0.1 - bob"));
    let (_, rest) = tail.split_once("] ").unwrap();
    let want = format!("\"GET /missing HTTP/1.1\" 404 4 \"\" \"\" (s -> {be}) ");
    assert!(rest.starts_with(&want), "{line}");
    assert!(rest.ends_with(" sec"), "{line}");
}

#[test]
fn the_originator_is_found_behind_trusted_proxies() {
    let backend = path_backend();
    let be = backend.config();
    // The loopback peer is a trusted proxy globally; the second service trusts nobody and
    // reads another header; the listener-level setting is overridden by the service.
    let config = format!(
        "TrustedIP\n\"127.0.0.0/8\"\n\"10.0.0.0/8\"\nEnd\nLogFormat \"o\" \"%a %h %U\"\n\
         LogLevel \"o\"\nListenHTTP\nLISTEN\nForwardedHeader \"X-Chain\"\nEnd\n\
         Service\nURL \"^/own\"\nForwardedHeader \"X-Real-Chain\"\nTrustedIP\n\"127.0.0.1/32\"\n\
         End\nBackend\n{be}End\nEnd\n\
         Service\nURL \"^/none\"\nTrustedIP\n\"192.0.2.0/24\"\nEnd\nBackend\n{be}End\nEnd\n\
         Service\nBackend\n{be}End\nEnd\n"
    );
    let pound = Pound::start(&config);
    let mut c = pound.connect();
    let mut ask = |path: &str, headers: &str| {
        c.send(format!("GET {path} HTTP/1.1\r\nHost: h\r\n{headers}\r\n"));
        c.response();
        pound.out.wait_for(&format!(" {path}"))
    };
    // The listener's header: walked right to left past trusted 10.x to 198.51.100.7.
    assert_eq!(
        ask("/a", "X-Chain: 203.0.113.1, 198.51.100.7, 10.1.2.3\r\n"),
        "pound: 198.51.100.7 127.0.0.1 /a"
    );
    // X-Forwarded-For is not the header this listener reads.
    assert_eq!(
        ask("/b", "X-Forwarded-For: 198.51.100.7\r\n"),
        "pound: 127.0.0.1 127.0.0.1 /b"
    );
    // Every address trusted: the peer.
    assert_eq!(
        ask("/c", "X-Chain: 10.0.0.1, 10.0.0.2\r\n"),
        "pound: 127.0.0.1 127.0.0.1 /c"
    );
    // The service's own header and list: 10.x is not trusted there.
    assert_eq!(
        ask(
            "/own",
            "X-Chain: 198.51.100.9\r\nX-Real-Chain: 203.0.113.5, 10.0.0.1\r\n"
        ),
        "pound: 10.0.0.1 127.0.0.1 /own"
    );
    // A service whose list does not hold the peer: the header is the client's claim.
    assert_eq!(
        ask("/none", "X-Chain: 198.51.100.9\r\n"),
        "pound: 127.0.0.1 127.0.0.1 /none"
    );
}

#[test]
fn log_suppress_silences_status_classes_per_service() {
    let backend = path_backend();
    let be = backend.config();
    let config = format!(
        "LogFormat \"s\" \"%U %s\"\nLogLevel \"s\"\nListenHTTP\nLISTEN\nEnd\n\
         Service\nURL \"^/quiet\"\nLogSuppress success clterr\nBackend\n{be}End\nEnd\n\
         Service\nURL \"^/all\"\nLogSuppress all\nBackend\n{be}End\nEnd\n\
         Service\nURL \"^/num\"\nLogSuppress 3 5\nBackend\n{be}End\nEnd\n\
         Service\nBackend\n{be}End\nEnd\n"
    );
    let pound = Pound::start(&config);
    let mut c = pound.connect();
    // Each request's line (or its absence) is settled by the marker request after it,
    // logged by a service that suppresses nothing.
    let mut n = 0;
    let mut logged = |path: &str| {
        c.get(path);
        n += 1;
        let marker = format!("/marker{n} ");
        c.get(marker.trim_end());
        pound.out.wait_for(&marker);
        pound.out.count(&format!("pound: {path} ")) == 1
    };
    for (path, want) in [
        ("/quiet", false),
        ("/quiet/missing", false),
        ("/quiet/moved", true),
        ("/all", false),
        ("/all/broken", false),
        ("/num/moved", false),
        ("/num/broken", false),
        ("/num", true),
        ("/num/missing", true),
        ("/loud/missing", true),
    ] {
        assert_eq!(logged(path), want, "{path}: {:?}", pound.out.all());
    }
}

#[test]
fn anonymise_clears_the_last_byte_of_logged_addresses() {
    let backend = path_backend();
    let config = format!(
        "Anonymise\nLogFormat \"a\" \"%a %h %U\"\nLogLevel \"a\"\nListenHTTP\nLISTEN\nEnd\n\
         Service\nBackend\n{}End\nEnd\n",
        backend.config()
    );
    let pound = Pound::start(&config);
    pound.connect().get("/anon");
    assert_eq!(
        pound.out.wait_for("/anon"),
        "pound: 127.0.0.0 127.0.0.0 /anon"
    );
}
