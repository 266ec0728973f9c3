#!/usr/bin/env python3
"""Helper for bench/slow-clients: the origin, the slow attackers, the ordinary clients
and the result tables.

Every connection goes to 127.0.0.1 and every wait is bounded in time. HTTP/2 needs the
`h2` package (PyPI); without it the HTTP/2 scenarios cannot run.

Subcommands:
  backend PORT                  the origin: a threaded HTTP/1.1 server that reads any
                                request body fully and answers 200 "hello world\\n", or
                                16 MiB for paths starting with /big
  ordinary PORT SECS KINDS OUT  (internal) one GET on a fresh connection per kind
                                (h1, h2; comma-separated) every second for SECS seconds,
                                each with a 5 s time-out; writes JSON to OUT
  run KEY=VALUE...              run one scenario against pound on 127.0.0.1:port and
                                append one JSON line to out=FILE. Keys: scenario, port,
                                pid (pound's), out, n (connections, slow-body-h1 only),
                                label
  skip KEY=VALUE...             record a skipped scenario (scenario, why, out)
  report DIR                    print the tables for the run in DIR
"""

import asyncio
import collections
import json
import logging
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # leave no __pycache__ in bench/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402  (process tree and liveness helpers)

try:
    import h2.config
    import h2.connection
    import h2.errors
    import h2.events
    import h2.exceptions
    import h2.settings

    HAVE_H2 = True
except ImportError:
    HAVE_H2 = False

HOST = "127.0.0.1"
BODY = b"hello world\n"
BIG_LEN = 16 << 20
# An ordinary request (connect, send, whole response) must finish within this.
ORDINARY_TIMEOUT = 5.0
# Bounds on opening one attacking connection, and on how many are being opened at once.
CONNECT_TIMEOUT = 10.0
OPEN_INFLIGHT = 100

# Scenarios in their default order: (seconds of ordinary clients, ordinary kinds, text).
SCENARIOS = {
    "slow-body-h1": (30, ("h1",), "N HTTP/1.1 POSTs, Content-Length 10000000, 1 body byte/s"),
    "slow-body-h1-500": (30, ("h1",), "the same with N2 connections"),
    "slow-body-h2": (20, ("h1", "h2"), "2 h2c connections x 80 POST streams, 1 DATA byte/stream/s"),
    "slow-read-h2": (20, ("h1", "h2"), "2 h2c connections x 80 GET streams, initial window 0"),
    "slow-head": (20, ("h1",), "Client 3; 2000 connections sending a head 1 byte / 500 ms"),
    "slow-read-h1": (20, ("h1",), "50 connections GET /big (16 MiB) and never read"),
}

H2_STREAMS = 80
H2_CONNS = 2
SLOW_HEAD_CONNS = 2000
SLOW_HEAD_MAX = 40.0  # seconds the slow-head attackers are watched at most
SLOW_READ_CONNS = 50
DRAIN_LIMIT = 20.0  # seconds to drain the slow readers at the end, at most
DRAIN_STALL = 3.0  # a slow reader that gives nothing for this long while drained is done


def now():
    # CLOCK_MONOTONIC: the same clock in every process, so the ordinary clients'
    # times line up with the attackers'.
    return time.monotonic()


def _pct(values, p):
    """Nearest-rank percentile."""
    if not values:
        return None
    v = sorted(values)
    k = max(1, -(-len(v) * p // 100))  # ceil
    return v[int(k) - 1]


def _mmm(values):
    """min / median / max, or None."""
    if not values:
        return None
    return (min(values), statistics.median(values), max(values))


def _fmt_mmm(t, unit="s"):
    if t is None:
        return "—"
    return f"{t[0]:.1f}/{t[1]:.1f}/{t[2]:.1f} {unit}"


def _fmt_hist(values):
    """Lifetimes rounded to whole seconds, when they fall into a few groups."""
    h = collections.Counter(round(v) for v in values)
    if not h or len(h) > 5:
        return ""
    return " (" + ", ".join(f"~{k} s ×{v}" for k, v in sorted(h.items())) + ")"


def _fmt_counter(c):
    return ", ".join(f"{k} ×{v}" for k, v in sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))


def _err_key(e):
    if isinstance(e, (socket.timeout, asyncio.TimeoutError, TimeoutError)):
        return "timeout"
    return type(e).__name__


def _h2_code(code):
    try:
        return h2.errors.ErrorCodes(int(code)).name
    except (ValueError, TypeError):
        return str(code)


# ---------------------------------------------------------------- backend


def cmd_backend(port):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    big = memoryview(b"b" * BIG_LEN)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # The head and the body are separate writes: without TCP_NODELAY the body would
        # wait for the ACK of the head (Nagle against delayed ACK, about 40 ms).
        disable_nagle_algorithm = True
        timeout = 120  # a stuck connection's thread ends eventually

        def log_message(self, *args):
            pass

        def _read_body(self):
            te = (self.headers.get("Transfer-Encoding") or "").lower()
            if "chunked" in te:
                while True:
                    line = self.rfile.readline(1024)
                    if not line:
                        return False
                    size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                    if size == 0:
                        while True:  # trailers
                            t = self.rfile.readline(8192)
                            if t in (b"\r\n", b"\n", b""):
                                return True
                    left = size
                    while left:
                        d = self.rfile.read(min(left, 65536))
                        if not d:
                            return False
                        left -= len(d)
                    self.rfile.readline(1024)
            left = int(self.headers.get("Content-Length") or 0)
            while left > 0:
                d = self.rfile.read(min(left, 65536))
                if not d:
                    return False
                left -= len(d)
            return True

        def _answer(self, send_body=True):
            if not self._read_body():
                self.close_connection = True
                return
            body = big if self.path.startswith("/big") else BODY
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if send_body:
                self.wfile.write(body)

        def do_GET(self):
            self._answer()

        def do_HEAD(self):
            self._answer(send_body=False)

        do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = do_GET

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 4096
        allow_reuse_address = True

        def handle_error(self, request, client_address):
            pass  # pound closing a connection mid-response is expected here

    srv = Server((HOST, int(port)), Handler)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    srv.serve_forever()


# ---------------------------------------------------------------- ordinary clients


def _get_h1(port):
    end = now() + ORDINARY_TIMEOUT
    s = socket.create_connection((HOST, port), timeout=ORDINARY_TIMEOUT)
    try:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        buf, hl, need, status = b"", None, None, None
        while True:
            left = end - now()
            if left <= 0:
                raise socket.timeout()
            s.settimeout(left)
            d = s.recv(65536)
            if not d:
                if hl is not None and need is None:
                    break  # close-delimited body
                raise EOFError("closed before the whole response")
            buf += d
            if hl is None:
                i = buf.find(b"\r\n\r\n")
                if i < 0:
                    continue
                hl = i + 4
                lines = buf[:i].decode("latin-1").split("\r\n")
                parts = lines[0].split(" ", 2)
                status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
                for line in lines[1:]:
                    k, _, v = line.partition(":")
                    if k.strip().lower() == "content-length":
                        need = int(v.strip())
            if need is not None and len(buf) - hl >= need:
                break
        return status, buf[hl:hl + need] if need is not None else buf[hl:]
    finally:
        s.close()


def _get_h2(port):
    end = now() + ORDINARY_TIMEOUT
    s = socket.create_connection((HOST, port), timeout=ORDINARY_TIMEOUT)
    try:
        c = h2.connection.H2Connection(
            config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        c.initiate_connection()
        sid = c.get_next_available_stream_id()
        c.send_headers(sid, [(":method", "GET"), (":scheme", "http"), (":authority", "x"),
                             (":path", "/")], end_stream=True)
        s.sendall(c.data_to_send())
        status, body = None, b""
        while True:
            left = end - now()
            if left <= 0:
                raise socket.timeout()
            s.settimeout(left)
            d = s.recv(65536)
            if not d:
                raise EOFError("closed before the whole response")
            done = False
            for ev in c.receive_data(d):
                if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == sid:
                    status = int(dict(ev.headers).get(":status", 0))
                elif isinstance(ev, h2.events.DataReceived) and ev.stream_id == sid:
                    body += ev.data
                    c.acknowledge_received_data(ev.flow_controlled_length, sid)
                elif isinstance(ev, h2.events.StreamEnded) and ev.stream_id == sid:
                    done = True
                elif isinstance(ev, h2.events.StreamReset) and ev.stream_id == sid:
                    raise ConnectionError(f"RST_STREAM {_h2_code(ev.error_code)}")
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    raise ConnectionError(f"GOAWAY {_h2_code(ev.error_code)}")
            out = c.data_to_send()
            if out:
                s.sendall(out)
            if done:
                break
        try:
            c.close_connection()
            s.sendall(c.data_to_send())
        except OSError:
            pass
        return status, body
    finally:
        s.close()


def _ordinary_one(kind, port, i, results, lock):
    t0 = now()
    rec = {"kind": kind, "i": i, "t0": t0, "ok": False, "status": None, "lat": None, "err": None}
    try:
        status, body = (_get_h1 if kind == "h1" else _get_h2)(port)
        rec["status"] = status
        if status != 200:
            rec["err"] = f"status {status}"
        elif body != BODY:
            rec["err"] = "wrong body"
        else:
            rec["ok"] = True
    except Exception as e:  # noqa: BLE001  (every failure is a result here)
        msg = str(e)
        rec["err"] = msg if msg.startswith(("RST_STREAM", "GOAWAY")) else _err_key(e)
    rec["lat"] = now() - t0
    with lock:
        results.append(rec)


def cmd_ordinary(port, secs, kinds, out):
    port, secs = int(port), int(secs)
    kinds = [k for k in kinds.split(",") if k]
    results, lock, threads = [], threading.Lock(), []
    start = now()
    for i in range(secs):
        time.sleep(max(0.0, start + i - now()))
        for k in kinds:
            th = threading.Thread(target=_ordinary_one, args=(k, port, i, results, lock), daemon=True)
            th.start()
            threads.append(th)
    for th in threads:
        th.join(max(0.0, start + secs + ORDINARY_TIMEOUT + 2 - now()))
    with lock:
        data = {"start": start, "secs": secs, "kinds": kinds, "results": list(results),
                "unfinished": sum(1 for th in threads if th.is_alive())}
    with open(out, "w") as f:
        json.dump(data, f)
    return 0


def _pdeathsig():
    """In the child: be stopped with SIGTERM when the parent dies."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001
        pass


class Ordinary:
    """The ordinary clients, in a process of their own so that the attackers' event loop
    (and its share of the GIL) does not add to their latency."""

    def __init__(self, port, secs, kinds, path):
        self.path = path
        self.secs = secs
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "ordinary", str(port), str(secs),
             ",".join(kinds), path], preexec_fn=_pdeathsig)
        self.start = now()

    def done(self):
        return self.proc.poll() is not None

    async def wait(self):
        end = self.start + self.secs + ORDINARY_TIMEOUT + 10
        while self.proc.poll() is None and now() < end:
            await asyncio.sleep(0.1)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        try:
            with open(self.path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {"start": self.start, "secs": self.secs, "kinds": [], "results": [],
                    "unfinished": -1}


def ordinary_summary(data):
    out = {}
    for kind in data.get("kinds", []):
        rs = sorted((r for r in data["results"] if r["kind"] == kind), key=lambda r: r["i"])
        ok = [r["lat"] for r in rs if r["ok"]]
        errs = collections.Counter(r["err"] for r in rs if not r["ok"])
        lost = data["secs"] - len(rs)
        if lost > 0:
            errs["no result"] += lost
        out[kind] = {
            "attempted": data["secs"], "served": len(ok),
            "p50": _pct(ok, 50), "p99": _pct(ok, 99), "max": max(ok) if ok else None,
            "errors": dict(errs),
            # per second: latency in ms, or the error
            "timeline": [round(r["lat"] * 1000) if r["ok"] else f"{r['err']}@{r['lat']:.1f}s"
                         for r in rs],
        }
    return out


# ---------------------------------------------------------------- pound's resources


async def sample_pound(pid, samples, stop):
    while not stop.is_set():
        fds = rss = 0
        for p in benchlib._descendants(pid):
            try:
                fds += len(os.listdir(f"/proc/{p}/fd"))
                with open(f"/proc/{p}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            rss += int(line.split()[1]) * 1024
            except OSError:
                pass
        samples.append((now(), fds, rss, benchlib.cpu_seconds(pid)))
        try:
            await asyncio.wait_for(stop.wait(), 1.0)
        except asyncio.TimeoutError:
            pass


# ---------------------------------------------------------------- HTTP/1.1 attackers


class H1Attacker(asyncio.Protocol):
    """One attacking HTTP/1.1 connection: sends `first` on connect, then whatever the
    scenario trickles; records what comes back and when pound ends the connection."""

    def __init__(self, first, pause=False):
        self.first = first
        self.pause = pause
        self.tr = None
        self.t_open = self.t_end = self.t_data = None
        self.how = None
        self.head = b""
        self.got = 0
        self.sent = 0
        self.due = None
        self.stopped = False
        self.cut_at = None  # slow-read-h1: when pound's side was seen closed
        self.cut_state = None

    def connection_made(self, tr):
        self.tr = tr
        self.t_open = now()
        if self.first:
            tr.write(self.first)
            self.sent += len(self.first)
        if self.pause:
            tr.pause_reading()

    def data_received(self, d):
        if self.t_data is None:
            self.t_data = now()
        self.got += len(d)
        if len(self.head) < 4096:
            self.head += d[:4096 - len(self.head)]

    def eof_received(self):
        self._end("closed (FIN)")
        return False

    def connection_lost(self, exc):
        self._end(f"closed ({type(exc).__name__})" if exc else "closed (FIN)")

    def _end(self, how):
        if self.t_end is None and not self.stopped:
            self.t_end = now()
            self.how = how

    @property
    def alive(self):
        return (self.t_end is None and self.tr is not None and not self.tr.is_closing()
                and not self.stopped)

    def send(self, b):
        if self.alive:
            self.tr.write(b)
            self.sent += len(b)

    def status(self):
        if not self.head:
            return "nothing"
        line = self.head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = line.split(" ", 2)
        if line.startswith("HTTP/") and len(parts) > 1:
            return parts[1]
        return repr(line[:20])

    def response_len(self):
        i = self.head.find(b"\r\n\r\n")
        if i < 0:
            return None
        for line in self.head[:i].decode("latin-1").split("\r\n")[1:]:
            k, _, v = line.partition(":")
            if k.strip().lower() == "content-length":
                return i + 4 + int(v.strip())
        return None

    def stop(self):
        self.stopped = True
        if self.tr is not None:
            self.tr.abort()


async def open_h1(port, n, make):
    loop = asyncio.get_running_loop()
    sem = asyncio.Semaphore(OPEN_INFLIGHT)
    conns, errors = [], collections.Counter()

    async def one():
        async with sem:
            p = make()
            try:
                await asyncio.wait_for(loop.create_connection(lambda: p, HOST, port),
                                       CONNECT_TIMEOUT)
                conns.append(p)
            except (OSError, asyncio.TimeoutError) as e:
                errors[_err_key(e)] += 1

    await asyncio.gather(*(one() for _ in range(n)))
    return conns, errors


def h1_attack_summary(conns, n, errors, t_stop, what="connections"):
    ended = [c for c in conns if c.t_end is not None]
    life = [c.t_end - c.t_open for c in ended]
    answered = [c for c in conns if c.t_data is not None]
    got = collections.Counter(c.status() for c in ended)
    how = collections.Counter(c.how for c in ended)
    still = [c for c in conns if c.t_end is None]
    parts = []
    if len(conns) < n:
        parts.append(f"only {len(conns)}/{n} opened ({_fmt_counter(errors)})")
    if ended:
        parts.append(f"{len(ended)}/{len(conns)} cut by pound after {_fmt_mmm(_mmm(life))}"
                     f" (min/med/max){_fmt_hist(life)}; got: {_fmt_counter(got)}")
    if still:
        parts.append(f"{len(still)}/{len(conns)} still open after"
                     f" {min(t_stop - c.t_open for c in still):.0f} s"
                     + (f" ({sum(1 for c in still if c.t_data)} of them answered)"
                        if any(c.t_data for c in still) else ""))
    text = f"{len(conns)} {what}: " + "; ".join(parts)
    return {
        "text": text, "opened": len(conns), "wanted": n, "open_errors": dict(errors),
        "cut": len(ended), "cut_after": _mmm(life), "got": dict(got), "how": dict(how),
        "answered": len(answered), "still_open": len(still),
        "answered_after": _mmm([c.t_data - c.t_open for c in answered]),
    }


async def trickle(conns, interval, chunk, until):
    """Sends chunk(conn) to every live connection once per interval, until until()."""
    while not until():
        t = now()
        for c in conns:
            if c.due is not None and c.due <= t and c.alive:
                c.send(chunk(c))
                c.due += interval
        await asyncio.sleep(0.05)


async def scenario_slow_body_h1(a, ordinary_path):
    port, n = int(a["port"]), int(a["n"])
    secs = SCENARIOS[a["scenario"]][0]
    head = b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n"
    conns, errors = await open_h1(port, n, lambda: H1Attacker(head))
    for c in conns:
        c.due = c.t_open + 1.0
    o = Ordinary(port, secs, ["h1"], ordinary_path)
    await trickle(conns, 1.0, lambda c: b"x", o.done)
    data = await o.wait()
    t_stop = now()
    summary = h1_attack_summary(conns, n, errors, t_stop)
    for c in conns:
        c.stop()
    return data, summary


def _slow_head_bytes():
    b = b"GET / HTTP/1.1\r\nHost: x\r\n"
    # A head that never ends: more header lines than can be sent at 2 bytes/s.
    return b + b"".join(b"X-Slow-%d: y\r\n" % i for i in range(400))


async def scenario_slow_head(a, ordinary_path):
    port = int(a["port"])
    secs = SCENARIOS[a["scenario"]][0]
    head = _slow_head_bytes()
    o = None
    t_begin = now()
    conns, errors = await open_h1(port, SLOW_HEAD_CONNS, lambda: H1Attacker(head[:1]))
    for c in conns:
        c.due = c.t_open + 0.5
    o = Ordinary(port, secs, ["h1"], ordinary_path)
    limit = t_begin + SLOW_HEAD_MAX

    def until():
        attack_over = now() >= limit or not any(c.alive for c in conns)
        return attack_over and o.done()

    await trickle(conns, 0.5, lambda c: head[c.sent:c.sent + 1], until)
    data = await o.wait()
    t_stop = now()
    summary = h1_attack_summary(conns, SLOW_HEAD_CONNS, errors, t_stop)
    summary["bytes_sent"] = _mmm([c.sent for c in conns])
    summary["text"] += f"; head bytes sent {_fmt_mmm(summary['bytes_sent'], 'B')}"
    for c in conns:
        c.stop()
    return data, summary


def _server_side_states(port, client_ports):
    """State of pound's side of each client connection, from /proc/net/tcp: client port
    -> hex state ('01' ESTABLISHED, '04' FIN_WAIT1 ...), missing when gone."""
    out = {}
    want = f"0100007F:{port:04X}"
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                fields = line.split()
                if fields[1] != want:
                    continue
                rport = int(fields[2].split(":")[1], 16)
                if rport in client_ports:
                    out[rport] = fields[3]
    except OSError:
        pass
    return out


TCP_STATES = {"01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1",
              "05": "FIN_WAIT2", "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT",
              "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING"}


async def scenario_slow_read_h1(a, ordinary_path):
    port = int(a["port"])
    secs = SCENARIOS[a["scenario"]][0]
    req = b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n"
    conns, errors = await open_h1(port, SLOW_READ_CONNS, lambda: H1Attacker(req, pause=True))
    by_port = {}
    for c in conns:
        try:
            by_port[c.tr.get_extra_info("sockname")[1]] = c
        except (TypeError, IndexError):
            pass
    o = Ordinary(port, secs, ["h1"], ordinary_path)
    # Watch pound's side of each connection while nobody reads.
    while not o.done():
        t = now()
        states = _server_side_states(port, set(by_port))
        for cp, c in by_port.items():
            if c.cut_at is not None:
                continue
            st = states.get(cp)
            client_state = None
            sock = c.tr.get_extra_info("socket") if c.tr else None
            if sock is not None:
                try:
                    client_state = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]
                except OSError:
                    pass
            if st != "01" or (client_state is not None and client_state != 1):
                c.cut_at = t
                c.cut_state = (TCP_STATES.get(st, st) if st else "gone") + (
                    f", client side {TCP_STATES.get(f'{client_state:02X}', client_state)}"
                    if client_state not in (None, 1) else "")
        await asyncio.sleep(0.5)
    data = await o.wait()
    t_watch_end = now()
    # Then drain: read everything that comes, until each response is complete, the
    # connection ends, or nothing arrives for DRAIN_STALL seconds.
    for c in conns:
        if c.tr is not None and not c.tr.is_closing():
            try:
                c.tr.resume_reading()
            except RuntimeError:
                pass
    drain_end = now() + DRAIN_LIMIT
    last = {id(c): (c.got, now()) for c in conns}
    while now() < drain_end:
        pending = 0
        t = now()
        for c in conns:
            full = c.response_len()
            if c.t_end is not None or (full is not None and c.got >= full):
                continue
            g, since = last[id(c)]
            if c.got != g:
                last[id(c)] = (c.got, t)
            elif t - since >= DRAIN_STALL:
                continue
            pending += 1
        if not pending:
            break
        await asyncio.sleep(0.1)
    complete = [c for c in conns if c.response_len() is not None and c.got >= c.response_len()]
    cut = [c for c in conns if c.cut_at is not None]
    ended = [c for c in conns if c.t_end is not None]
    stalled = [c for c in conns if c not in complete and c.t_end is None]
    parts = []
    if len(conns) < SLOW_READ_CONNS:
        parts.append(f"only {len(conns)}/{SLOW_READ_CONNS} opened ({_fmt_counter(errors)})")
    if cut:
        life = [c.cut_at - c.t_open for c in cut]
        parts.append(f"{len(cut)}/{len(conns)} cut by pound after"
                     f" {_fmt_mmm(_mmm(life))}{_fmt_hist(life)} (pound's side:"
                     f" {_fmt_counter(collections.Counter(c.cut_state for c in cut))})")
    else:
        parts.append(f"none cut within {t_watch_end - min((c.t_open for c in conns), default=t_watch_end):.0f} s")
    mib = [c.got / 1048576 for c in conns]
    parts.append(f"drained: {len(complete)} whole responses, {len(ended)} ended by pound"
                 f" ({_fmt_counter(collections.Counter(c.how for c in ended))})"
                 + (f", {len(stalled)} stalled" if stalled else "")
                 + f"; MiB received {_fmt_mmm(_mmm(mib), 'MiB')}")
    summary = {
        "text": f"{len(conns)} readers: " + "; ".join(parts),
        "opened": len(conns), "wanted": SLOW_READ_CONNS, "open_errors": dict(errors),
        "cut": len(cut), "cut_after": _mmm([c.cut_at - c.t_open for c in cut]),
        "complete": len(complete), "ended": len(ended), "stalled": len(stalled),
        "mib_received": _mmm(mib),
        "statuses": dict(collections.Counter(c.status() for c in conns)),
    }
    for c in conns:
        c.stop()
    return data, summary


# ---------------------------------------------------------------- HTTP/2 attackers


class Stream:
    __slots__ = ("sid", "t_open", "t_resp", "status", "t_end", "how", "got")

    def __init__(self, sid):
        self.sid = sid
        self.t_open = now()
        self.t_resp = self.status = self.t_end = self.how = None
        self.got = 0

    def end(self, how):
        if self.t_end is None:
            self.t_end = now()
            self.how = how


class H2Attacker(asyncio.Protocol):
    """One attacking h2c (prior knowledge) connection.

    mode "body": POST streams with content-length 1000000, to be fed 1 byte per second
    (feed()). mode "read": GET streams with SETTINGS_INITIAL_WINDOW_SIZE 0, never opening
    the window; the scenario tops them up (top_up()) whenever some end."""

    def __init__(self, mode, nstreams, path):
        self.mode = mode
        self.nstreams = nstreams
        self.path = path
        cfg = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        self.conn = h2.connection.H2Connection(config=cfg)
        if mode == "read":
            self.conn.local_settings = h2.settings.Settings(
                client=True,
                initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0,
                                h2.settings.SettingCodes.ENABLE_PUSH: 0})
        self.tr = None
        self.streams = {}
        self.t_open = self.t_end = None
        self.how = None
        self.goaway = None
        self.stopped = False
        self.errors = collections.Counter()

    # --- asyncio
    def connection_made(self, tr):
        self.tr = tr
        self.t_open = now()
        self.conn.initiate_connection()
        self.top_up()

    def data_received(self, data):
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError as e:
            self.errors[f"protocol error: {type(e).__name__}"] += 1
            self._lost(f"our protocol error ({type(e).__name__})")
            self.tr.abort()
            return
        for ev in events:
            s = self.streams.get(getattr(ev, "stream_id", None))
            if isinstance(ev, h2.events.ResponseReceived) and s is not None:
                s.status = dict(ev.headers).get(":status")
                s.t_resp = now()
                if self.mode == "body":
                    s.end(f"status {s.status}")
            elif isinstance(ev, h2.events.DataReceived) and s is not None:
                s.got += len(ev.data)
                if self.mode == "body":
                    try:
                        self.conn.acknowledge_received_data(ev.flow_controlled_length,
                                                            ev.stream_id)
                    except h2.exceptions.H2Error:
                        pass
            elif isinstance(ev, h2.events.StreamEnded) and s is not None:
                s.end(f"status {s.status}" if s.status else "ended")
            elif isinstance(ev, h2.events.StreamReset) and s is not None:
                s.end(f"RST_STREAM {_h2_code(ev.error_code)}")
            elif isinstance(ev, h2.events.ConnectionTerminated):
                self.goaway = (now(), _h2_code(ev.error_code), ev.last_stream_id)
        self.flush()

    def eof_received(self):
        self._lost("connection closed (FIN)")
        return False

    def connection_lost(self, exc):
        self._lost(f"connection closed ({type(exc).__name__})" if exc
                   else "connection closed (FIN)")

    def _lost(self, how):
        if self.stopped or self.t_end is not None:
            return
        self.t_end = now()
        if self.goaway:
            how = f"GOAWAY {self.goaway[1]}"
        self.how = how
        for s in self.streams.values():
            s.end(how)

    # --- the attack
    @property
    def alive(self):
        return (self.tr is not None and not self.tr.is_closing() and self.t_end is None
                and not self.stopped and self.goaway is None)

    def flush(self):
        out = self.conn.data_to_send()
        if out and self.tr is not None and not self.tr.is_closing():
            self.tr.write(out)

    def open_streams(self):
        return [s for s in self.streams.values() if s.t_end is None]

    def top_up(self):
        if not self.alive:
            return 0
        opened = 0
        missing = self.nstreams - len(self.open_streams())
        for _ in range(missing):
            try:
                sid = self.conn.get_next_available_stream_id()
                if self.mode == "body":
                    hdrs = [(":method", "POST"), (":scheme", "http"), (":authority", "x"),
                            (":path", self.path), ("content-length", "1000000")]
                    self.conn.send_headers(sid, hdrs, end_stream=False)
                else:
                    hdrs = [(":method", "GET"), (":scheme", "http"), (":authority", "x"),
                            (":path", self.path)]
                    self.conn.send_headers(sid, hdrs, end_stream=True)
            except h2.exceptions.H2Error as e:
                self.errors[f"cannot open a stream: {type(e).__name__}"] += 1
                break
            self.streams[sid] = Stream(sid)
            opened += 1
        self.flush()
        return opened

    def feed(self):
        """mode body: one byte of DATA on each stream still open."""
        if not self.alive:
            return
        for s in self.open_streams():
            try:
                if self.conn.local_flow_control_window(s.sid) < 1:
                    self.errors["no send window"] += 1
                    continue
                self.conn.send_data(s.sid, b"x")
            except h2.exceptions.H2Error as e:
                self.errors[f"send failed: {type(e).__name__}"] += 1
                s.end(f"send failed ({type(e).__name__})")
        self.flush()

    def stop(self):
        self.stopped = True
        if self.tr is not None:
            self.tr.abort()


async def open_h2(port, mode, path):
    loop = asyncio.get_running_loop()
    p = H2Attacker(mode, H2_STREAMS, path)
    try:
        await asyncio.wait_for(loop.create_connection(lambda: p, HOST, port), CONNECT_TIMEOUT)
        return p, None
    except (OSError, asyncio.TimeoutError) as e:
        return None, _err_key(e)


def h2_attack_summary(attackers, t_stop, open_errors, reconnects=0):
    streams = [s for p in attackers for s in p.streams.values()]
    ended = [s for s in streams if s.t_end is not None]
    still = [s for s in streams if s.t_end is None]
    how = collections.Counter(s.how for s in ended)
    life = [s.t_end - s.t_open for s in ended]
    answered = [s for s in streams if s.t_resp is not None]
    conns_ended = [p for p in attackers if p.t_end is not None]
    errors = collections.Counter()
    for p in attackers:
        errors.update(p.errors)
    parts = [f"{len(attackers)} connections"
             + (f" (open errors: {_fmt_counter(open_errors)})" if open_errors else "")
             + (f", {reconnects} reconnects" if reconnects else ""),
             f"{len(streams)} streams"]
    if ended:
        parts.append(f"{len(ended)} ended by pound after {_fmt_mmm(_mmm(life))} (min/med/max)"
                     f"{_fmt_hist(life)}: {_fmt_counter(how)}")
    if still:
        resp = sum(1 for s in still if s.t_resp is not None)
        parts.append(f"{len(still)} still open at the end (oldest"
                     f" {max(t_stop - s.t_open for s in still):.0f} s"
                     + (f"; {resp} of them had response headers" if resp else "") + ")")
    if conns_ended:
        parts.append(f"{len(conns_ended)} connections ended by pound after"
                     f" {_fmt_mmm(_mmm([p.t_end - p.t_open for p in conns_ended]))}:"
                     f" {_fmt_counter(collections.Counter(p.how for p in conns_ended))}")
    if errors:
        parts.append(f"client-side: {_fmt_counter(errors)}")
    return {
        "text": "; ".join(parts), "connections": len(attackers), "reconnects": reconnects,
        "streams": len(streams), "ended": len(ended), "ended_after": _mmm(life),
        "how": dict(how), "still_open": len(still), "answered": len(answered),
        "connections_ended": len(conns_ended), "client_errors": dict(errors),
    }


async def scenario_slow_body_h2(a, ordinary_path):
    port = int(a["port"])
    secs = SCENARIOS[a["scenario"]][0]
    attackers, errs = [], collections.Counter()
    for _ in range(H2_CONNS):
        p, e = await open_h2(port, "body", "/x")
        if p:
            attackers.append(p)
        else:
            errs[e] += 1
    o = Ordinary(port, secs, ["h1", "h2"], ordinary_path)
    next_feed = now() + 1.0
    while not o.done():
        if now() >= next_feed:
            for p in attackers:
                p.feed()
            next_feed += 1.0
        await asyncio.sleep(0.05)
    data = await o.wait()
    summary = h2_attack_summary(attackers, now(), errs)
    for p in attackers:
        p.stop()
    return data, summary


async def scenario_slow_read_h2(a, ordinary_path):
    port = int(a["port"])
    secs = SCENARIOS[a["scenario"]][0]
    path = a.get("h2_read_path") or "/"
    slots, everyone, errs = [], [], collections.Counter()
    for _ in range(H2_CONNS):
        p, e = await open_h2(port, "read", path)
        slots.append(p)
        if p:
            everyone.append(p)
        else:
            errs[e] += 1
    o = Ordinary(port, secs, ["h1", "h2"], ordinary_path)
    reconnects, retry_at = 0, [0.0] * len(slots)
    while not o.done():
        t = now()
        for i, p in enumerate(slots):
            if p is not None and p.alive:
                p.top_up()  # a new stream for each one that was reset or ended
            elif t >= retry_at[i]:
                # The connection is gone (or refused a GOAWAY): open another, at most
                # one attempt per second per slot.
                retry_at[i] = t + 1.0
                if p is not None:
                    p._lost("abandoned")  # ends its streams (as GOAWAY, if one came)
                    p.stop()
                q, e = await open_h2(port, "read", path)
                slots[i] = q
                if q:
                    everyone.append(q)
                    reconnects += 1
                else:
                    errs[e] += 1
        await asyncio.sleep(0.05)
    data = await o.wait()
    summary = h2_attack_summary(everyone, now(), errs, reconnects)
    summary["text"] += f"; path {path}"
    for p in everyone:
        p.stop()
    return data, summary


# ---------------------------------------------------------------- run


RUNNERS = {
    "slow-body-h1": scenario_slow_body_h1,
    "slow-body-h1-500": scenario_slow_body_h1,
    "slow-body-h2": scenario_slow_body_h2,
    "slow-read-h2": scenario_slow_read_h2,
    "slow-head": scenario_slow_head,
    "slow-read-h1": scenario_slow_read_h1,
}


def _raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= want:
        return
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


async def _run(a):
    pid = int(a["pid"])
    samples, stop = [], asyncio.Event()
    sampler = asyncio.create_task(sample_pound(pid, samples, stop))
    t0 = now()
    ordinary_path = os.path.join(os.path.dirname(os.path.abspath(a["out"])),
                                 f"ordinary-{a['scenario']}.json")
    try:
        data, attack = await RUNNERS[a["scenario"]](a, ordinary_path)
    finally:
        stop.set()
        await sampler
    return data, attack, samples, now() - t0


def cmd_run(*pairs):
    a = dict(p.split("=", 1) for p in pairs)
    name = a["scenario"]
    if name not in RUNNERS:
        print(f"unknown scenario {name!r}", file=sys.stderr)
        return 2
    if name in ("slow-body-h2", "slow-read-h2") and not HAVE_H2:
        print("the h2 package is missing", file=sys.stderr)
        return 2
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    _raise_nofile(SLOW_HEAD_CONNS + int(a.get("n", 0)) + 1024)
    pid = int(a["pid"])
    data, attack, samples, elapsed = asyncio.run(_run(a))
    ordinary = ordinary_summary(data)
    rec = {
        "scenario": name, "label": a.get("label", ""), "n": int(a.get("n", 0)),
        "elapsed_s": round(elapsed, 1), "ordinary": ordinary, "attack": attack,
        "pound_alive": benchlib._alive(pid),
        "pound_fds_max": max((s[1] for s in samples), default=None),
        "pound_rss_max": max((s[2] for s in samples), default=None),
        "pound_cpu_s": round(samples[-1][3] - samples[0][3], 2) if len(samples) > 1 else None,
        "ordinary_unfinished": data.get("unfinished"),
    }
    with open(a["out"], "a") as f:
        f.write(json.dumps(rec) + "\n")
    _print_one(rec)
    return 0 if rec["pound_alive"] else 4


def cmd_skip(*pairs):
    a = dict(p.split("=", 1) for p in pairs)
    rec = {"scenario": a["scenario"], "skipped": a.get("why", "skipped")}
    with open(a["out"], "a") as f:
        f.write(json.dumps(rec) + "\n")
    return 0


# ---------------------------------------------------------------- report


def _ms(v):
    return "—" if v is None else f"{v * 1000:.0f}"


def _title(rec):
    n = rec.get("n")
    if rec["scenario"].startswith("slow-body-h1") and n:
        return f"{rec['scenario']} (N={n})"
    return rec["scenario"]


def _ordinary_cell(o):
    return f"{o['served']}/{o['attempted']}"


def _print_one(rec):
    """The one-line result of a scenario, then its details."""
    cells = []
    for kind, o in rec["ordinary"].items():
        errs = f", failed: {_fmt_counter(o['errors'])}" if o["errors"] else ""
        cells.append(f"{kind} {_ordinary_cell(o)} served, p99 {_ms(o['p99'])} ms,"
                     f" max {_ms(o['max'])} ms{errs}")
    print(f"RESULT {_title(rec)}: ordinary {'; '.join(cells)} | attackers: {rec['attack']['text']}"
          + ("" if rec["pound_alive"] else " | POUND EXITED"), flush=True)
    for kind, o in rec["ordinary"].items():
        print(f"    {kind} ordinary, one per second (ms, or error@time):"
              f" {' '.join(str(x) for x in o['timeline'])}", flush=True)
    if rec.get("pound_fds_max") is not None:
        print(f"    pound: at most {rec['pound_fds_max']} descriptors,"
              f" RSS at most {rec['pound_rss_max'] / 1048576:.1f} MiB,"
              f" {rec['pound_cpu_s']} CPU s; scenario took {rec['elapsed_s']} s", flush=True)


def _md(header, rows):
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" if i in (0, 1, len(header) - 1) else "---:"
                          for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def cmd_report(d):
    recs = []
    path = os.path.join(d, "results.jsonl")
    if os.path.exists(path):
        with open(path) as f:
            recs = [json.loads(line) for line in f if line.strip()]
    if not recs:
        print("no results")
        return 1
    header = ["scenario", "ordinary client", "served/attempted", "p50 ms", "p99 ms", "max ms",
              "attackers"]
    rows = []
    for rec in recs:
        if "skipped" in rec:
            rows.append([rec["scenario"], "—", "skipped", "", "", "", rec["skipped"]])
            continue
        first = True
        for kind, o in rec["ordinary"].items():
            att = rec["attack"]["text"] if first else "″"
            if first and not rec["pound_alive"]:
                att += " **(pound exited)**"
            served = _ordinary_cell(o)
            if o["errors"]:
                served += f" ({_fmt_counter(o['errors'])})"
            rows.append([_title(rec) if first else "″", kind, served, _ms(o["p50"]),
                         _ms(o["p99"]), _ms(o["max"]), att.replace("|", "/")])
            first = False
    print(_md(header, rows))
    print()
    print("Latencies are those of the served requests (connect to last byte, fresh"
          " connection each, 5 s time-out); one request per kind per second.")
    return 0


def main(argv):
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[0], argv[1:]
    fn = {"backend": cmd_backend, "ordinary": cmd_ordinary, "run": cmd_run, "skip": cmd_skip,
          "report": cmd_report}.get(cmd)
    if fn is None:
        print(f"unknown command {cmd!r}\n{__doc__}", file=sys.stderr)
        return 2
    return fn(*args) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
