#!/usr/bin/env python3
"""Helpers for bench/run: free ports, readiness checks, CPU accounting from
/proc, parsing wrk output and printing the result tables.

Every network operation here targets 127.0.0.1 only and is bounded in time.

Subcommands (all print to stdout):
  ports N                       N distinct free TCP ports on 127.0.0.1
  wait-ready PORT PATH LENGTH TIMEOUT [PID]
                                poll until GET PATH on 127.0.0.1:PORT answers
                                200 with a LENGTH-byte body; exit 1 on timeout,
                                2 if PID exited first
  cpu PID                       utime+stime in seconds of PID and all of its
                                descendants (threads included)
  other-cpu PID                 CPU seconds used by all processes outside
                                PID's tree (to detect a busy machine)
  record KEY=VALUE...           turn one measurement (wrk output file plus CPU
                                samples) into a JSON line
  report RESULTS_DIR            print the result tables for a run
"""

import http.client
import json
import os
import re
import socket
import statistics
import sys
import time

HOST = "127.0.0.1"

# A run during which the rest of the machine used more CPU than this (percent
# of one CPU) is flagged as noisy in the report.
NOISY_PCT = 10

# Display order and labels. bench/run uses the same names.
TARGETS = ["pound-rs", "nginx", "haproxy", "direct"]
WORKLOADS = {
    "small": "(a) 100 B, keep-alive",
    "64k": "(b) 64 KiB, keep-alive",
    "1m": "(c) 1 MiB, keep-alive",
    "close": "(d) 100 B, new connection per request",
}


# ---------------------------------------------------------------- ports


def cmd_ports(n):
    socks = []
    try:
        for _ in range(int(n)):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            socks.append(s)
        print(" ".join(str(s.getsockname()[1]) for s in socks))
    finally:
        for s in socks:
            s.close()


# ---------------------------------------------------------------- readiness


def _alive(pid):
    if pid is None:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except OSError:
        return False


def _probe(port, path, length):
    conn = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            return f"status {resp.status}"
        if len(body) != length:
            return f"body of {len(body)} bytes, expected {length}"
        return None
    finally:
        conn.close()


def cmd_wait_ready(port, path, length, timeout, pid=None):
    port, length, timeout = int(port), int(length), float(timeout)
    pid = int(pid) if pid else None
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if not _alive(pid):
            print(f"process {pid} exited", file=sys.stderr)
            return 2
        try:
            problem = _probe(port, path, length)
            if problem is None:
                return 0
            last = problem
        except (OSError, http.client.HTTPException) as e:
            last = str(e) or type(e).__name__
        time.sleep(0.05)
    print(f"not ready after {timeout:g}s: {last}", file=sys.stderr)
    return 1


# ---------------------------------------------------------------- CPU time


def _stat_fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    # The command name is in parentheses and may contain spaces.
    return data.rsplit(")", 1)[1].split()


def _descendants(root):
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            ppid = int(_stat_fields(entry)[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def cpu_seconds(root):
    """utime+stime of root and its live descendants. /proc/PID/stat of a
    process covers all of its threads; fields 14 and 15 (1-based) are utime
    and stime in clock ticks."""
    ticks = 0
    for pid in _descendants(int(root)):
        try:
            f = _stat_fields(pid)
        except OSError:
            continue
        # f[0] is field 3 (state), so field N is f[N - 3].
        ticks += int(f[14 - 3]) + int(f[15 - 3])
    return ticks / os.sysconf("SC_CLK_TCK")


def cmd_cpu(pid):
    print(f"{cpu_seconds(pid):.2f}")


def other_cpu_seconds(exclude_root):
    """CPU time used by everything on the machine outside exclude_root's
    process tree: the sum over live processes of utime+stime plus the times of
    their reaped children (cutime+cstime), so short-lived processes that
    started and ended in between two samples are still counted once reaped.
    Kernel threads are included."""
    mine = set(_descendants(int(exclude_root)))
    ticks = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in mine:
            continue
        try:
            f = _stat_fields(entry)
        except OSError:
            continue
        ticks += sum(int(f[i - 3]) for i in (14, 15, 16, 17))
    return ticks / os.sysconf("SC_CLK_TCK")


def cmd_other_cpu(pid):
    print(f"{other_cpu_seconds(pid):.2f}")


# ---------------------------------------------------------------- wrk output

_UNITS_TIME = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_UNITS_BYTES = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


def _time_us(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    return float(m.group(1)) * _UNITS_TIME[m.group(2)] * 1e6


def parse_wrk(text):
    """Metrics from one wrk run. Prefers the exact line printed by
    wrk-report.lua and falls back to wrk's --latency text output."""
    r = {}
    m = re.search(r"^BENCH-RESULT (.*)$", text, re.M)
    if m:
        for kv in m.group(1).split():
            k, v = kv.split("=", 1)
            r[k] = float(v)
        secs = r["duration_us"] / 1e6
        return {
            "requests": int(r["requests"]),
            "bytes": int(r["bytes"]),
            "seconds": secs,
            "rps": r["requests"] / secs if secs else 0.0,
            "mib_s": r["bytes"] / secs / 2**20 if secs else 0.0,
            "p50_us": r["lat_p50_us"],
            "p99_us": r["lat_p99_us"],
            "errors": {
                k[4:]: int(v) for k, v in r.items() if k.startswith("err_")
            },
            "non2xx": _non2xx(text),
        }
    # Fallback: wrk's human output (rounded). wrk's byte units are 1024-based.
    out = {"errors": {}, "non2xx": _non2xx(text)}
    m = re.search(r"^\s*(\d+) requests in ([\d.]+\w+), ([\d.]+)(\w+) read", text, re.M)
    if not m:
        raise ValueError("no summary line in wrk output")
    out["requests"] = int(m.group(1))
    out["seconds"] = _time_us(m.group(2)) / 1e6
    out["bytes"] = int(float(m.group(3)) * _UNITS_BYTES[m.group(4)])
    m = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    out["rps"] = float(m.group(1))
    m = re.search(r"^Transfer/sec:\s+([\d.]+)(\w+)", text, re.M)
    out["mib_s"] = float(m.group(1)) * _UNITS_BYTES[m.group(2)] / 2**20
    for pct, key in (("50", "p50_us"), ("99", "p99_us")):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+\w+)", text, re.M)
        out[key] = _time_us(m.group(1))
    m = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    if m:
        out["errors"] = dict(
            zip(("connect", "read", "write", "timeout"), map(int, m.groups()))
        )
    out["errors"]["status"] = out["non2xx"]
    return out


def _non2xx(text):
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    return int(m.group(1)) if m else 0


def cmd_record(*pairs):
    a = dict(p.split("=", 1) for p in pairs)
    with open(a["wrk_out"]) as f:
        m = parse_wrk(f.read())
    rec = {
        "workload": a["workload"],
        "target": a["target"],
        "round": int(a["round"]),
        **m,
    }
    if a.get("proxy_cpu0"):
        rec["proxy_cpu_s"] = float(a["proxy_cpu1"]) - float(a["proxy_cpu0"])
    if a.get("origin_cpu0"):
        rec["origin_cpu_s"] = float(a["origin_cpu1"]) - float(a["origin_cpu0"])
    if a.get("other_cpu0"):
        other = float(a["other_cpu1"]) - float(a["other_cpu0"])
        rec["other_cpu_pct"] = 100 * other / rec["seconds"]
    n = rec["requests"]
    if "proxy_cpu_s" in rec:
        rec["proxy_us_per_req"] = rec["proxy_cpu_s"] / n * 1e6 if n else None
        rec["proxy_cpu_pct"] = 100 * rec["proxy_cpu_s"] / rec["seconds"]
    if "origin_cpu_s" in rec:
        rec["origin_us_per_req"] = rec["origin_cpu_s"] / n * 1e6 if n else None
    print(json.dumps(rec, sort_keys=True))


# ---------------------------------------------------------------- report


def _fmt_num(v, digits=0):
    if v is None:
        return "—"
    return f"{v:,.{digits}f}"


def _fmt_ms(us):
    return "—" if us is None else f"{us / 1000:.2f}"


def _ratio(a, b):
    if a is None or b is None or not b:
        return None
    return a / b


def _fmt_ratio(r):
    return "—" if r is None else f"{r:.2f}×"


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def load_results(d):
    recs = []
    path = os.path.join(d, "results.jsonl")
    if os.path.exists(path):
        with open(path) as f:
            recs = [json.loads(line) for line in f if line.strip()]
    skipped = {}
    path = os.path.join(d, "skipped.tsv")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if "\t" in line:
                    t, why = line.rstrip("\n").split("\t", 1)
                    skipped[t] = why
    return recs, skipped


def aggregate(recs):
    """One row per (workload, target): the median over rounds of each metric,
    the sum of errors over rounds."""
    groups = {}
    for r in recs:
        groups.setdefault((r["workload"], r["target"]), []).append(r)
    rows = {}
    for key, rs in groups.items():
        errors = {}
        for r in rs:
            for k, v in r["errors"].items():
                errors[k] = errors.get(k, 0) + v
        rows[key] = {
            "rounds": len(rs),
            "requests": sum(r["requests"] for r in rs),
            "rps": _median(r["rps"] for r in rs),
            "mib_s": _median(r["mib_s"] for r in rs),
            "p50_us": _median(r["p50_us"] for r in rs),
            "p99_us": _median(r["p99_us"] for r in rs),
            "proxy_us_per_req": _median(r.get("proxy_us_per_req") for r in rs),
            "proxy_cpu_pct": _median(r.get("proxy_cpu_pct") for r in rs),
            "origin_us_per_req": _median(r.get("origin_us_per_req") for r in rs),
            "errors": errors,
        }
    return rows


def _fmt_errors(e):
    parts = [f"{k} {v}" for k, v in sorted(e.items()) if v]
    return ", ".join(parts) if parts else "0"


def _md_table(header, rows):
    out = ["| " + " | ".join(header) + " |"]
    out.append("|" + "|".join("---" if i < 2 else "---:" for i in range(len(header))) + "|")
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def cmd_report(d, subject="pound-rs"):
    recs, skipped = load_results(d)
    rows = aggregate(recs)
    workloads = [w for w in WORKLOADS if any(k[0] == w for k in rows)]
    targets = [t for t in TARGETS if any(k[1] == t for k in rows)]

    header = [
        "workload", "target", "req/s", "MiB/s", "p50 ms", "p99 ms",
        "proxy CPU µs/req", "proxy CPU %", "errors",
    ]
    rounds = max((r["round"] for r in recs), default=1)
    if rounds > 1:
        print(f"Medians over {rounds} rounds; errors are summed.")
        print()
    body = []
    for w in workloads:
        for t in TARGETS:
            row = rows.get((w, t))
            if row is None:
                if t in skipped:
                    body.append([WORKLOADS[w], t, "skipped"] + [""] * (len(header) - 3))
                continue
            body.append([
                WORKLOADS[w], t,
                _fmt_num(row["rps"]),
                _fmt_num(row["mib_s"], 1),
                _fmt_ms(row["p50_us"]),
                _fmt_ms(row["p99_us"]),
                _fmt_num(row["proxy_us_per_req"], 1),
                _fmt_num(row["proxy_cpu_pct"]),
                _fmt_errors(row["errors"]),
            ])
    print(_md_table(header, body))
    print()

    others = [t for t in targets if t != subject]
    if subject not in targets:
        why = skipped.get(subject)
        print(
            f"Ratios: {subject} was not measured"
            + (f" ({why})" if why else "")
            + ", so there are none."
        )
    else:
        print(
            f"Ratios of {subject} to each other target. req/s and MiB/s: higher is "
            "better; p99 and CPU µs/req: lower is better."
        )
        print()
        header = ["workload", "metric"] + [f"{subject} / {t}" for t in others]
        body = []
        metrics = [
            ("req/s", "rps"),
            ("p99", "p99_us"),
            ("CPU µs/req", "proxy_us_per_req"),
        ]
        for w in workloads:
            s = rows.get((w, subject))
            if s is None:
                continue
            ms = metrics + ([("MiB/s", "mib_s")] if w == "1m" else [])
            for label, key in ms:
                cells = []
                for t in others:
                    o = rows.get((w, t))
                    cells.append(_fmt_ratio(_ratio(s[key], o[key] if o else None)))
                if all(c == "—" for c in cells):
                    continue
                body.append([WORKLOADS[w], label] + cells)
        print(_md_table(header, body))
    busy = [
        f"{r['target']}/{r['workload']}"
        + (f" (round {r['round']})" if r["round"] > 1 else "")
        + f": {r['other_cpu_pct']:.0f}%"
        for r in recs
        if r.get("other_cpu_pct", 0) > NOISY_PCT
    ]
    if busy:
        print()
        print(
            "Warning: other processes used more than "
            f"{NOISY_PCT}% of a CPU during these runs, so they are noisy: "
            + "; ".join(busy)
        )
    for t in TARGETS:
        if t in skipped:
            print()
            print(f"Note: {t} skipped: {skipped[t]}")
    return 0


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[1], argv[2:]
    if cmd == "ports":
        cmd_ports(*args)
    elif cmd == "wait-ready":
        return cmd_wait_ready(*args)
    elif cmd == "cpu":
        cmd_cpu(*args)
    elif cmd == "other-cpu":
        cmd_other_cpu(*args)
    elif cmd == "record":
        cmd_record(*args)
    elif cmd == "report":
        return cmd_report(*args)
    else:
        print(f"unknown command {cmd}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
