//! The `Metrics` backend: OpenMetrics text, checked with an OpenMetrics parser against the
//! traffic sent, and protected by `ACL` and silenced by `LogSuppress` as in the manual.

mod common;

use openmetrics_parser::openmetrics::parse_openmetrics;
use openmetrics_parser::{MetricsExposition, OpenMetricsType, OpenMetricsValue};

use common::control;
use common::net::{ok, Backend, Pound, Reply};

type Exposition = MetricsExposition<OpenMetricsType, OpenMetricsValue>;

fn scrape(pound: &Pound) -> Exposition {
    let r = pound.connect().get("/metrics");
    assert_eq!(r.status, 200, "{}", r.head);
    assert!(
        r.head
            .contains("Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8"),
        "{}",
        r.head
    );
    let text = r.text();
    assert!(text.ends_with("# EOF\n"), "{text}");
    for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
        let name = line.split(' ').nth(2).unwrap();
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "{name} has no HELP"
        );
    }
    parse_openmetrics(&text).unwrap_or_else(|e| panic!("{e:?}\n{text}"))
}

/// The value of the sample of `family` whose labels include all of `labels`.
fn value(e: &Exposition, family: &str, labels: &[(&str, &str)]) -> f64 {
    let f = e
        .families
        .get(family)
        .unwrap_or_else(|| panic!("no family {family}"));
    let mut found = f.iter_samples().filter(|s| {
        let set = s.get_labelset().unwrap();
        labels
            .iter()
            .all(|(k, v)| set.get_label_value(k) == Some(*v))
    });
    let s = found
        .next()
        .unwrap_or_else(|| panic!("no {family} sample with {labels:?}"));
    assert!(found.next().is_none(), "several {family} with {labels:?}");
    match &s.value {
        OpenMetricsValue::Counter(c) => c.value.as_f64(),
        OpenMetricsValue::Gauge(g) => g.as_f64(),
        OpenMetricsValue::Unknown(u) => u.as_f64(),
        other => panic!("{family}: {other:?}"),
    }
}

/// Scrapes until `ready` holds: a request is counted just after its response is sent, so
/// a scrape can overtake the count of the request answered just before it.
fn scrape_when(pound: &Pound, ready: impl Fn(&Exposition) -> bool) -> Exposition {
    common::net::poll("metrics to count the traffic", || {
        let e = scrape(pound);
        ready(&e).then_some(e)
    })
}

fn histogram_count(e: &Exposition, family: &str, labels: &[(&str, &str)]) -> u64 {
    let f = &e.families[family];
    let s = f
        .iter_samples()
        .find(|s| {
            let set = s.get_labelset().unwrap();
            labels
                .iter()
                .all(|(k, v)| set.get_label_value(k) == Some(*v))
        })
        .expect("a histogram");
    match &s.value {
        OpenMetricsValue::Histogram(h) => h.count.unwrap_or_default(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn metrics_follow_the_traffic_sent() {
    let backend = Backend::start(|r| {
        if r.line().contains("/missing") {
            Reply::Send(b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno".to_vec())
        } else {
            ok("hello")
        }
    });
    let dir = common::scratch_dir("metrics");
    let sock = dir.join("ctl.sock");
    let config = format!(
        "Control \"{}\"\nListenHTTP \"front\"\nLISTEN\n\
         Service \"metrics\"\nURL \"^/metrics$\"\nMetrics\nEnd\n\
         Service \"app\"\nURL \"^/(a|missing)\"\nSession\nType COOKIE\nID \"sid\"\nTTL 300\nEnd\n\
         Backend\n{}End\nBackend\nAddress 127.0.0.1\nPort 1\nPriority 1\nEnd\nEnd\nEnd\n\
         Service\nURL \"^/gone\"\nError 404\nEnd\n",
        sock.display(),
        backend.config()
    );
    let pound = Pound::start(&config);
    let mut c = pound.connect();
    for _ in 0..3 {
        c.send("GET /a HTTP/1.1\r\nHost: h\r\nCookie: sid=s1\r\n\r\n");
        assert_eq!(c.response().text(), "hello");
    }
    c.get("/missing");
    c.get("/missing");
    let front = [("listener", "1"), ("listener_name", "front")];
    let app = [("listener", "1"), ("service", "1"), ("service_name", "app")];
    let be = [("listener", "1"), ("service", "1"), ("backend", "0")];
    let class = |labels: &[(&'static str, &'static str)], class: &'static str| {
        let mut l = labels.to_vec();
        l.push(("class", class));
        l
    };
    let e = scrape_when(&pound, |e| {
        value(e, "pound_requests", &class(&front, "4xx")) == 2.0
    });
    assert_eq!(value(&e, "pound_requests", &class(&front, "2xx")), 3.0);
    assert_eq!(value(&e, "pound_requests", &class(&front, "4xx")), 2.0);
    assert_eq!(value(&e, "pound_requests", &class(&front, "5xx")), 0.0);
    assert_eq!(
        value(&e, "pound_service_requests", &class(&app, "2xx")),
        3.0
    );
    assert_eq!(value(&e, "pound_backend_requests", &class(&be, "4xx")), 2.0);
    assert_eq!(
        value(&e, "pound_response_body_bytes", &front),
        3.0 * 5.0 + 2.0 * 2.0
    );
    assert_eq!(
        histogram_count(&e, "pound_request_duration_seconds", &front),
        5
    );
    // The client's connection and the scrape's.
    assert_eq!(value(&e, "pound_connections", &front), 2.0);
    assert_eq!(value(&e, "pound_connections_active", &front), 2.0);
    assert_eq!(value(&e, "pound_service_sessions", &app), 1.0);
    // One connection to the backend, reused for the other four requests.
    assert_eq!(value(&e, "pound_backend_connections", &be), 1.0);
    assert_eq!(value(&e, "pound_backend_connections_reused", &be), 4.0);
    assert_eq!(value(&e, "pound_backend_pool_idle", &be), 1.0);
    let mut st = be.to_vec();
    st.push(("state", "alive"));
    assert_eq!(value(&e, "pound_backend_state", &st), 1.0);
    let mut total = app.to_vec();
    total.push(("state", "total"));
    assert_eq!(value(&e, "pound_backends", &total), 2.0);
    assert_eq!(value(&e, "pound_listener_enabled", &front), 1.0);
    assert_eq!(value(&e, "pound_workers", &[("type", "max")]), 128.0);
    assert_eq!(value(&e, "pound_workers", &[("type", "min")]), 5.0);
    assert!(value(&e, "pound_uptime", &[]) >= 0.0);
    let info = e.families.get("pound_listener").expect("listener info");
    assert_eq!(info.iter_samples().count(), 1);

    // A special backend's answers count for its service; the scrapes count too.
    c.get("/gone");
    // State changes through the control socket show at once.
    let (status, _) = control::request(&sock, "DELETE", "/listener/1/1/0");
    assert_eq!(status, 200);
    let gone = [("listener", "-"), ("service", "0"), ("service_name", "")];
    let e = scrape_when(&pound, |e| {
        value(e, "pound_service_requests", &class(&gone, "4xx")) == 1.0
    });
    let metrics = [("listener", "1"), ("service", "0")];
    assert!(value(&e, "pound_service_requests", &class(&metrics, "2xx")) >= 1.0);
    let mut en = be.to_vec();
    en.push(("state", "enabled"));
    assert_eq!(value(&e, "pound_backend_state", &en), 0.0);
    // Left: the second backend (dead or never tried, but enabled).
    let mut enabled = app.to_vec();
    enabled.push(("state", "enabled"));
    assert_eq!(value(&e, "pound_backends", &enabled), 1.0);
}

#[test]
fn metrics_are_protected_by_acl_and_silenced_by_log_suppress() {
    let backend = Backend::named("app");
    // The manual's example: a Metrics service for the "secure" network only, which logs no
    // successful scrape; loopback is not in "secure", so the other service answers.
    let config = format!(
        "ACL \"secure\"\n\"192.0.2.0/26\"\nEnd\nACL \"local\"\n\"127.0.0.0/8\"\nEnd\n\
         LogFormat \"u\" \"%U %s\"\nLogLevel \"u\"\nListenHTTP\nLISTEN\nEnd\n\
         Service\nURL \"/metrics\"\nMetrics\nACL \"secure\"\nLogSuppress success\nEnd\n\
         Service\nURL \"/local-metrics\"\nMetrics\nACL \"local\"\nLogSuppress success\nEnd\n\
         Service\nBackend\n{}End\nEnd\n",
        backend.config()
    );
    let pound = Pound::start(&config);
    let mut c = pound.connect();
    assert_eq!(c.get("/metrics").text(), "app");
    let r = c.get("/local-metrics");
    assert!(r.text().ends_with("# EOF\n"));
    // As in pound 4.22 and later, the connection closes after a scrape.
    assert_eq!(r.header("connection").as_deref(), Some("close"));
    assert!(c.is_closed());
    // HEAD describes the exposition without sending it.
    let mut c = pound.connect();
    c.send("HEAD /local-metrics HTTP/1.1\r\nHost: h\r\n\r\n");
    let r = c.response_to("HEAD");
    assert_eq!((r.status, r.body.len()), (200, 0));
    assert!(
        r.header("content-length").is_some_and(|l| l != "0"),
        "{}",
        r.head
    );
    pound.connect().get("/marker");
    pound.out.wait_for("/marker 200");
    let lines = pound.out.all();
    assert!(
        lines.contains(&"pound: /metrics 200".to_string()),
        "{lines:?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("/local-metrics")),
        "{lines:?}"
    );
}
