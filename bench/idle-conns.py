#!/usr/bin/env python3
"""Helper for bench/idle-conns: the client that opens and holds idle keep-alive
connections, the memory readings from /proc, and the result tables.

Every connection goes to 127.0.0.1 and every wait is bounded in time.

Subcommands:
  probe PORT TLS DEADLINE PID   poll until GET / on 127.0.0.1:PORT (over TLS when
                                TLS is 1) answers 200 "hello world\\n"; exit 1 on
                                timeout, 2 if PID exited first
  mem PID                       print the memory of PID's process tree
  measure KEY=VALUE...          run the rounds against one proxy; appends one JSON
                                line per round to out=FILE. Keys: target, mode,
                                port, pid, conns, rounds, settle, inflight, out
  report DIR                    print the tables for the run in DIR
"""

import asyncio
import json
import os
import resource
import ssl
import sys
import time

sys.dont_write_bytecode = True  # leave no __pycache__ in bench/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402  (process tree and liveness helpers)

HOST = "127.0.0.1"
REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
BODY = b"hello world\n"
# Bounds on single steps of one connection, in seconds.
CONNECT_TIMEOUT = 30
RESPONSE_TIMEOUT = 30
# Bound on closing every connection of a round.
CLOSE_TIMEOUT = 60
# Pause between the last connection opened and the "idle" reading, so that the proxy
# has finished whatever it does after a response (pool return, buffer release).
IDLE_PAUSE = 2.0

TARGETS = ["pound-rs", "nginx", "haproxy"]
MODES = {"plain": "plain HTTP/1.1", "tls": "TLS 1.3, HTTP/1.1"}


def client_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    # HTTP/1.1 only: pound-rs and HAProxy would pick h2 if it were offered.
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


# ---------------------------------------------------------------- memory


def _status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                out[key] = int(value.split()[0]) * 1024
            elif key == "Threads":
                out[key] = int(value)
    return out


def mem(root):
    """VmRSS (and its anonymous/file/shmem parts), threads and open descriptors,
    summed over root and its descendants (nginx: master and worker)."""
    tot = {"rss": 0, "anon": 0, "file": 0, "shmem": 0, "threads": 0, "fds": 0, "procs": 0}
    for pid in benchlib._descendants(int(root)):
        try:
            s = _status(pid)
            fds = len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            continue  # exited in between
        tot["rss"] += s.get("VmRSS", 0)
        tot["anon"] += s.get("RssAnon", 0)
        tot["file"] += s.get("RssFile", 0)
        tot["shmem"] += s.get("RssShmem", 0)
        tot["threads"] += s.get("Threads", 0)
        tot["fds"] += fds
        tot["procs"] += 1
    if tot["procs"] == 0:
        raise RuntimeError(f"process {root} is gone")
    return tot


def cmd_mem(pid):
    m = mem(pid)
    print(f"{m['procs']} process(es), {m['threads']} thread(s), RSS {m['rss'] / 1048576:.1f} MiB"
          f" (anon {m['anon'] / 1048576:.1f} MiB), {m['fds']} descriptors")


# ---------------------------------------------------------------- client


async def _read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0].split(" ", 2)
    if len(status) < 2 or status[1] != "200":
        raise ValueError(f"status line {lines[0]!r}")
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
        elif name.strip().lower() == "connection" and value.strip().lower() == "close":
            raise ValueError("the proxy answered with Connection: close")
    if length is None:
        raise ValueError("no Content-Length in the response")
    body = await reader.readexactly(length)
    if body != BODY:
        raise ValueError(f"unexpected body {body[:40]!r}")


async def _open_one(port, ctx, sem, held, errors):
    async with sem:
        writer = None
        try:
            kw = {"ssl": ctx, "server_hostname": "localhost"} if ctx else {}
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(HOST, port, **kw), CONNECT_TIMEOUT
            )
            writer.write(REQUEST)
            await asyncio.wait_for(_read_response(reader), RESPONSE_TIMEOUT)
            held.append((reader, writer))
        except (OSError, ValueError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                asyncio.LimitOverrunError, ssl.SSLError) as e:
            key = type(e).__name__ + (f" {e.errno}" if isinstance(e, OSError) and e.errno else "")
            errors[key] = errors.get(key, 0) + 1
            if writer is not None:
                writer.transport.abort()


async def _close_all(held):
    for _, w in held:
        w.close()
    waits = [w.wait_closed() for _, w in held]
    try:
        await asyncio.wait_for(asyncio.gather(*waits, return_exceptions=True), CLOSE_TIMEOUT)
    except asyncio.TimeoutError:
        for _, w in held:
            w.transport.abort()
        return False
    return True


def _mib(b):
    return f"{b / 1048576:7.1f} MiB"


async def _round(a, r, ctx, start_rss, log):
    pid, n, port = int(a["pid"]), int(a["conns"]), int(a["port"])
    settle = int(a["settle"])
    before = mem(pid)
    held, errors = [], {}
    sem = asyncio.Semaphore(int(a["inflight"]))
    t0 = time.monotonic()
    await asyncio.gather(*(_open_one(port, ctx, sem, held, errors) for _ in range(n)))
    open_s = time.monotonic() - t0
    await asyncio.sleep(IDLE_PAUSE)
    idle = mem(pid)
    # Connections the proxy closed while they were supposed to stay idle.
    dropped = sum(1 for rd, _ in held if rd.at_eof())
    opened = len(held)
    t1 = time.monotonic()
    closed_cleanly = await _close_all(held)
    held.clear()
    close_s = time.monotonic() - t1
    series = [mem(pid)]
    for _ in range(settle):
        await asyncio.sleep(1)
        series.append(mem(pid))
    after = series[-1]
    per_conn = (idle["rss"] - before["rss"]) / opened if opened else None
    rec = {
        "target": a["target"], "mode": a["mode"], "round": r, "conns": n,
        "opened": opened, "errors": errors, "dropped_while_idle": dropped,
        "closed_cleanly": closed_cleanly, "open_s": round(open_s, 2), "close_s": round(close_s, 2),
        "start": start_rss, "before": before, "idle": idle, "after": after,
        "series_rss": [m["rss"] for m in series], "series_fds": [m["fds"] for m in series],
        "bytes_per_conn": per_conn,
        "anon_bytes_per_conn": (idle["anon"] - before["anon"]) / opened if opened else None,
        "after_minus_before": after["rss"] - before["rss"],
        "after_minus_start": after["rss"] - start_rss["rss"],
    }
    errs = ", ".join(f"{k} x{v}" for k, v in sorted(errors.items())) or "none"
    log(f"    round {r}: before {_mib(before['rss'])}, {opened}/{n} open in {open_s:.1f} s"
        f" (errors: {errs}; proxy fds {idle['fds']}), idle {_mib(idle['rss'])}"
        f" = {per_conn if per_conn is not None else float('nan'):,.0f} B/conn"
        f" (anon {rec['anon_bytes_per_conn'] or 0:,.0f})")
    log(f"             closed in {close_s:.1f} s{'' if closed_cleanly else ' (timed out, aborted)'};"
        f" RSS each second: {' '.join(f'{x / 1048576:.1f}' for x in rec['series_rss'])} MiB;"
        f" after - before {rec['after_minus_before'] / 1048576:+.1f} MiB,"
        f" after - start {rec['after_minus_start'] / 1048576:+.1f} MiB"
        + (f"; {dropped} dropped while idle" if dropped else ""))
    return rec


async def _measure(a):
    ctx = client_context() if a["mode"] == "tls" else None
    start = mem(int(a["pid"]))
    recs = []

    def log(msg):
        print(msg, flush=True)

    for r in range(1, int(a["rounds"]) + 1):
        if not benchlib._alive(int(a["pid"])):
            log(f"    {a['target']} exited before round {r}")
            return recs, 1
        recs.append(await _round(a, r, ctx, start, log))
    return recs, 0


def cmd_measure(*pairs):
    a = dict(p.split("=", 1) for p in pairs)
    n = int(a["conns"])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 256
    if soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            print(f"the client needs {want} descriptors; the hard limit is {hard}", file=sys.stderr)
            return 1
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    recs, rc = asyncio.run(_measure(a))
    with open(a["out"], "a") as f:
        for rec in recs:
            f.write(json.dumps(rec) + "\n")
    bad = [x for x in recs if x["opened"] < n or x["dropped_while_idle"]]
    return rc or (3 if bad else 0)


# ---------------------------------------------------------------- probe


def cmd_probe(port, tls, deadline, pid):
    port, deadline, pid = int(port), float(deadline), int(pid)
    ctx = client_context() if tls == "1" else None

    async def once():
        kw = {"ssl": ctx, "server_hostname": "localhost"} if ctx else {}
        reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port, **kw), 2)
        try:
            writer.write(REQUEST)
            await asyncio.wait_for(_read_response(reader), 2)
            # A second request on the same connection: keep-alive must work.
            writer.write(REQUEST)
            await asyncio.wait_for(_read_response(reader), 2)
        finally:
            writer.transport.abort()

    end, last = time.monotonic() + deadline, "no answer"
    while time.monotonic() < end:
        if not benchlib._alive(pid):
            print(f"process {pid} exited ({last})", file=sys.stderr)
            return 2
        try:
            asyncio.run(once())
            return 0
        except (OSError, ValueError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                ssl.SSLError) as e:
            last = f"{type(e).__name__}: {e}"
        time.sleep(0.1)
    print(f"no valid answer in {deadline:g} s ({last})", file=sys.stderr)
    return 1


# ---------------------------------------------------------------- report


def _load(d):
    recs = []
    path = os.path.join(d, "results.jsonl")
    if os.path.exists(path):
        with open(path) as f:
            recs = [json.loads(line) for line in f if line.strip()]
    return recs


def _md(header, rows):
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def _fmt_mib(b):
    return f"{b / 1048576:.1f}"


def _fmt_delta(b):
    return f"{b / 1048576:+.1f}"


def cmd_report(d):
    recs = _load(d)
    if not recs:
        print("no results")
        return 1
    rounds = max(r["round"] for r in recs)
    n = recs[0]["conns"]
    for mode, label in MODES.items():
        mine = [r for r in recs if r["mode"] == mode]
        if not mine:
            continue
        print(f"### {label}, {n} idle connections, {rounds} round(s)")
        print()
        rr = range(1, rounds + 1)
        header = (["target", "RSS at start (MiB)"]
                  + [f"bytes/idle conn r{i}" for i in rr]
                  + [f"RSS after close r{i} (MiB, vs start)" for i in rr])
        rows = []
        for t in TARGETS:
            byr = {r["round"]: r for r in mine if r["target"] == t}
            if not byr:
                continue
            start = next(iter(byr.values()))["start"]["rss"]
            row = [t, _fmt_mib(start)]
            for i in rr:
                x = byr.get(i)
                if x is None or x["bytes_per_conn"] is None:
                    row.append("—")
                else:
                    flag = "" if x["opened"] == x["conns"] and not x["dropped_while_idle"] else " *"
                    row.append(f"{x['bytes_per_conn']:,.0f}{flag}")
            for i in rr:
                x = byr.get(i)
                row.append("—" if x is None else
                           f"{_fmt_mib(x['after']['rss'])} ({_fmt_delta(x['after_minus_start'])})")
            rows.append(row)
        print(_md(header, rows))
        notes = []
        for r in mine:
            if r["opened"] < r["conns"] or r["dropped_while_idle"] or r["errors"]:
                errs = ", ".join(f"{k} x{v}" for k, v in sorted(r["errors"].items())) or "none"
                notes.append(f"* {r['target']} round {r['round']}: {r['opened']}/{r['conns']} opened,"
                             f" errors: {errs}, {r['dropped_while_idle']} dropped while idle")
        if notes:
            print()
            print("\n".join(notes))
        print()
        print("RSS (MiB) each second after closing, t = 0 .. settle:")
        print()
        for t in TARGETS:
            for r in sorted((r for r in mine if r["target"] == t), key=lambda r: r["round"]):
                s = " ".join(f"{x / 1048576:.1f}" for x in r["series_rss"])
                print(f"    {t:<9} r{r['round']}: before {_fmt_mib(r['before']['rss'])}, idle "
                      f"{_fmt_mib(r['idle']['rss'])}, after close: {s}")
        print()
    return 0


def main(argv):
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[0], argv[1:]
    fn = {"probe": cmd_probe, "mem": cmd_mem, "measure": cmd_measure, "report": cmd_report}.get(cmd)
    if fn is None:
        print(f"unknown command {cmd!r}\n{__doc__}", file=sys.stderr)
        return 2
    return fn(*args) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
