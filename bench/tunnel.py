#!/usr/bin/env python3
"""Bulk transfer through a `Tunnel` listener: the proxy's CPU time per GiB moved.

A source on 127.0.0.1 sends SIZE bytes to every connection and closes; clients
connect through the proxy's tunnel and read until end of file. Reported per
proxy: wall time, throughput, and the proxy's CPU seconds (utime+stime of its
process tree from /proc) per GiB relayed.

Usage:
  bench/tunnel.py [--size MIB] [--conns N] [--rounds R] NAME=BINARY...

Each BINARY is a pound (pound-rs's target/release/pound, or pound 4.23) that is
started with a configuration holding one `Tunnel` to the source. Example:

  bench/tunnel.py pound-rs=target/release/pound \
      pound-4.23=../shared/reference/pound-4.23/pound

All traffic stays on 127.0.0.1; every process started is stopped at exit.
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import cpu_seconds  # noqa: E402

HOST = "127.0.0.1"
BLOCK = b"x" * (1 << 20)


def source(listener, size, stop):
    """Sends `size` bytes to each connection, then closes it."""
    def one(conn):
        with conn:
            left = size
            try:
                while left > 0 and not stop.is_set():
                    n = conn.send(BLOCK[: min(left, len(BLOCK))])
                    left -= n
            except OSError:
                pass  # the readiness probes connect and close at once
    listener.settimeout(0.5)
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            continue
        threading.Thread(target=one, args=(conn,), daemon=True).start()


def drain(port, expect, results):
    s = socket.create_connection((HOST, port), timeout=60)
    got = 0
    buf = bytearray(1 << 20)
    with s:
        while True:
            n = s.recv_into(buf)
            if n == 0:
                break
            got += n
    results.append(got == expect)


def wait_port(port, proc, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise SystemExit(f"proxy exited with status {proc.returncode}")
        try:
            socket.create_connection((HOST, port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("proxy did not start listening")


def free_port():
    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def measure(binary, src_port, size, conns, tmp):
    port = free_port()
    cfg = os.path.join(tmp, "tunnel.cfg")
    with open(cfg, "w") as f:
        f.write(
            f'PIDFile "-"\nTunnel\n Address {HOST}\n Port {port}\n'
            f" Backend\n  Address {HOST}\n  Port {src_port}\n  TimeOut 60\n End\nEnd\n"
        )
    proc = subprocess.Popen(
        [binary, "-F", "-e", "-f", cfg],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port, proc)
        before = cpu_seconds(proc.pid)
        results = []
        start = time.time()
        threads = [
            threading.Thread(target=drain, args=(port, size, results))
            for _ in range(conns)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.time() - start
        cpu = cpu_seconds(proc.pid) - before
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
    if not all(results) or len(results) != conns:
        raise SystemExit(f"{binary}: a transfer came up short")
    return wall, cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=1024, help="MiB per connection")
    ap.add_argument("--conns", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("proxies", nargs="+", help="NAME=BINARY")
    args = ap.parse_args()
    size = args.size << 20
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((HOST, 0))
    listener.listen(64)
    stop = threading.Event()
    threading.Thread(
        target=source, args=(listener, size, stop), daemon=True
    ).start()
    gib = size * args.conns / (1 << 30)
    print(f"{args.conns} connections x {args.size} MiB through a Tunnel, "
          f"{args.rounds} rounds (medians)")
    print(f"{'proxy':<12} {'wall s':>8} {'MiB/s':>8} {'CPU s/GiB':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for spec in args.proxies:
            name, _, binary = spec.partition("=")
            runs = [measure(binary, listener.getsockname()[1], size, args.conns, tmp)
                    for _ in range(args.rounds)]
            walls = sorted(r[0] for r in runs)
            cpus = sorted(r[1] for r in runs)
            wall, cpu = walls[len(walls) // 2], cpus[len(cpus) // 2]
            print(f"{name:<12} {wall:>8.2f} {gib * 1024 / wall:>8.0f} {cpu / gib:>10.3f}")
    stop.set()


if __name__ == "__main__":
    main()
