//! Local-time formatting for log lines (`%t`, syslog stamps).
//!
//! The broken-down local time is computed at most once per second per thread and cached, so
//! the C library's time-zone lock is not taken for every request.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The parts of a local time that log formats use.
#[derive(Debug, Clone, Copy)]
pub struct Local {
    pub year: i32,
    /// 0-based.
    pub month: usize,
    pub day: u32,
    pub hour: u32,
    pub min: u32,
    pub sec: u32,
    /// Offset from UTC in seconds.
    pub offset: i64,
    pub unix: i64,
}

/// Seconds since the Epoch.
pub fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

thread_local! {
    static CACHE: RefCell<Option<Local>> = const { RefCell::new(None) };
}

/// The local time of `t`, to the second.
pub fn local(t: SystemTime) -> Local {
    let secs = unix_secs(t);
    CACHE.with(|c| {
        if let Some(l) = *c.borrow() {
            if l.unix == secs {
                return l;
            }
        }
        let l = compute(secs);
        *c.borrow_mut() = Some(l);
        l
    })
}

fn compute(secs: i64) -> Local {
    let t: libc::time_t = secs as libc::time_t;
    // SAFETY: `tm` is plain data that localtime_r fills in; both pointers are valid.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    if !ok {
        tm.tm_year = 70;
        tm.tm_mday = 1;
    }
    Local {
        year: tm.tm_year + 1900,
        month: tm.tm_mon.clamp(0, 11) as usize,
        day: tm.tm_mday as u32,
        hour: tm.tm_hour as u32,
        min: tm.tm_min as u32,
        sec: tm.tm_sec as u32,
        offset: tm.tm_gmtoff,
        unix: secs,
    }
}

/// `[18/Sep/2011:19:18:28 -0400]`, the common log format's time.
pub fn clf(t: SystemTime, out: &mut String) {
    use std::fmt::Write;
    let l = local(t);
    let sign = if l.offset < 0 { '-' } else { '+' };
    let off = l.offset.abs() / 60;
    let _ = write!(
        out,
        "[{:02}/{}/{:04}:{:02}:{:02}:{:02} {sign}{:02}{:02}]",
        l.day,
        MONTHS[l.month],
        l.year,
        l.hour,
        l.min,
        l.sec,
        off / 60,
        off % 60
    );
}

/// `Sep 18 19:18:28`, the time stamp of a syslog message.
pub fn syslog_stamp(t: SystemTime) -> String {
    let l = local(t);
    format!(
        "{} {:2} {:02}:{:02}:{:02}",
        MONTHS[l.month], l.day, l.hour, l.min, l.sec
    )
}

/// Formats `t` with strftime(3) `fmt` in local time.
pub fn strftime(t: SystemTime, fmt: &str, out: &mut String) {
    let Ok(cfmt) = std::ffi::CString::new(fmt) else {
        return;
    };
    let secs: libc::time_t = unix_secs(t) as libc::time_t;
    let mut buf = [0u8; 256];
    // SAFETY: all pointers are valid for the calls; strftime writes at most buf.len() bytes.
    let n = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&secs, &mut tm).is_null() {
            return;
        }
        libc::strftime(buf.as_mut_ptr().cast(), buf.len(), cfmt.as_ptr(), &tm)
    };
    out.push_str(&String::from_utf8_lossy(&buf[..n]));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clf_shape() {
        let mut s = String::new();
        clf(
            UNIX_EPOCH + std::time::Duration::from_secs(1_316_387_908),
            &mut s,
        );
        assert_eq!(s.len(), "[18/Sep/2011:19:18:28 -0400]".len(), "{s}");
        assert!(s.contains("/Sep/2011:"), "{s}");
    }
}
