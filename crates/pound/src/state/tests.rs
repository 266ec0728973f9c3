use std::sync::Arc;

use pound_config::env::MemoryFs;
use pound_config::{load, Options};

use super::{Carry, State};

fn state(text: &str, carry: &mut Carry) -> State {
    let fs = MemoryFs::new().with_file("pound.cfg", text);
    let opts = Options {
        include_dir: None,
        warn_deprecated: false,
    };
    let loaded = load(&fs, "pound.cfg", &opts);
    let config = loaded.config.expect("configuration");
    State::build_carrying(&config, false, carry).expect("state")
}

const BEFORE: &str = "ListenHTTP\n Address 127.0.0.1\n Port 8080\n Service \"web\"\n  \
    Backend\n   Address 127.0.0.1\n   Port 9001\n  End\n  Backend\n   Address 127.0.0.1\n   \
    Port 9002\n  End\n  Session\n   Type IP\n   TTL 300\n  End\n End\n \
    Service \"api\"\n  Backend\n   Address 127.0.0.1\n   Port 9003\n  End\n End\nEnd\n";

#[test]
fn a_new_snapshot_takes_over_what_it_finds_again() {
    let old = state(BEFORE, &mut Carry::default());
    // A statement added above moves every line, the second backend's time-out changes,
    // and the services swap places: identity is by service name and settings, not by place.
    let after = "# reloaded\nListenHTTP\n Address 127.0.0.1\n Port 8080\n Service \"api\"\n  \
        Backend\n   Address 127.0.0.1\n   Port 9003\n  End\n End\n Service \"web\"\n  \
        Backend\n   Address 127.0.0.1\n   Port 9001\n  End\n  Backend\n   Address 127.0.0.1\n   \
        Port 9002\n   TimeOut 30\n  End\n  Session\n   Type IP\n   TTL 300\n  End\n End\nEnd\n";
    let new = state(after, &mut Carry::from(&old));
    let (old_web, old_api) = (&old.listeners[0].services[0], &old.listeners[0].services[1]);
    let (new_api, new_web) = (&new.listeners[0].services[0], &new.listeners[0].services[1]);
    assert!(Arc::ptr_eq(
        &old_web.backends.load().list[0].backend,
        &new_web.backends.load().list[0].backend
    ));
    assert!(!Arc::ptr_eq(
        &old_web.backends.load().list[1].backend,
        &new_web.backends.load().list[1].backend
    ));
    assert!(Arc::ptr_eq(
        &old_api.backends.load().list[0].backend,
        &new_api.backends.load().list[0].backend
    ));
    let (a, b) = (old_web.sessions.as_ref(), new_web.sessions.as_ref());
    assert!(Arc::ptr_eq(a.expect("old table"), b.expect("new table")));
    // Every backend of the new snapshot is known to it, carried or not.
    assert_eq!(new.backends.len(), 3);

    // A changed `Session` block starts a new table; a service of another name is another
    // service.
    let changed = BEFORE
        .replace("TTL 300", "TTL 60")
        .replace("\"api\"", "\"api2\"");
    let third = state(&changed, &mut Carry::from(&new));
    let web = &third.listeners[0].services[0];
    assert!(!Arc::ptr_eq(
        new_web.sessions.as_ref().expect("table"),
        web.sessions.as_ref().expect("table")
    ));
    assert!(Arc::ptr_eq(
        &new_web.backends.load().list[0].backend,
        &web.backends.load().list[0].backend
    ));
    assert!(!Arc::ptr_eq(
        &new_api.backends.load().list[0].backend,
        &third.listeners[0].services[1].backends.load().list[0].backend
    ));
}

#[test]
fn the_running_snapshot_is_replaced_whole() {
    let running = crate::running::Running::new(state(BEFORE, &mut Carry::default()));
    let held = running.listener(0).expect("listener");
    let next = state(BEFORE, &mut Carry::from(&running.load()));
    let old = running.replace(next);
    // What was taken before the replacement stays as it was; new work sees the new one.
    assert!(Arc::ptr_eq(&held, &old.listeners[0]));
    let now = running.listener(0).expect("listener");
    assert!(!Arc::ptr_eq(&held, &now));
    assert!(Arc::ptr_eq(
        &held.services[0].backends.load().list[0].backend,
        &now.services[0].backends.load().list[0].backend
    ));
    assert!(running.listener(1).is_none());
}
