#!/usr/bin/env python3
"""Slow and idle clients against a real `tiaki serve` with a low open-file limit (ulimit -n 256).

Starts the service on a fresh data directory under `ulimit -n 256`, then opens 400 connections that send a partial
request line and one header every 5 s, and 100 that send nothing. Checks that:
  - every slow connection is closed within the request-head timeout (10 s, with slack), every idle one within the
    idle timeout (60 s, with slack; --idle shortens it for a quick run);
  - /healthz never hangs: each try is answered 200, or refused at once while the connection cap is full (the cap
    is the open-file limit less 64: 192 here), never left waiting;
  - once the slow and idle connections are gone, /healthz answers 200.
Prints the figures; exits 1 when a check fails.

    python3 Scripts/limits-check.py --tiaki .build/debug/tiaki [--idle 20]
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time

parser = argparse.ArgumentParser()
parser.add_argument("--tiaki", required=True)
parser.add_argument("--idle", type=int, default=60, help="the idle timeout to run with (seconds)")
parser.add_argument("--head", type=int, default=10, help="the request-head timeout to run with (seconds)")
args = parser.parse_args()

work = tempfile.mkdtemp(prefix="tiaki-limits-")
os.chmod(work, 0o700)
data = os.path.join(work, "data")
port = 20000 + os.getpid() % 20000
policies = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Policies")
subprocess.run([args.tiaki, "init", "--data", data, "--policies", policies], check=True, stdout=subprocess.DEVNULL)
server = subprocess.Popen(
    ["bash", "-c", f"ulimit -n 256 && exec {args.tiaki} serve --data {data} --policies {policies} --port {port} "
     f"--header-timeout {args.head} --idle-timeout {args.idle}"],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def connect():
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setblocking(False)
    return s


def closed(s):
    """Whether the server closed `s` (read what it sent; False while it is still open)."""
    try:
        chunk = s.recv(4096)
        return chunk == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def health():
    """'ok' (200), 'refused' (closed at once, the cap full), or 'hung' (no answer within 3 s)."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=3)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = s.recv(64)
        s.close()
        if answer.startswith(b"HTTP/1.1 200"):
            return "ok"
        return "refused" if answer == b"" else "other"
    except socket.timeout:
        return "hung"
    except OSError:
        return "refused"


failed = False
try:
    for _ in range(100):
        if health() == "ok":
            break
        time.sleep(0.1)
    else:
        sys.exit("limits-check: the service did not start")
    started = time.time()
    slow, idle = [], []
    for i in range(400):
        try:
            s = connect()
            s.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            slow.append([s, None])
        except OSError:
            pass
    for i in range(100):
        try:
            idle.append([connect(), None])
        except OSError:
            pass
    answers = {"ok": 0, "refused": 0, "hung": 0, "other": 0}
    last_header = time.time()
    limit = max(args.idle, args.head) + 15
    while time.time() - started < limit and any(c[1] is None for c in slow + idle):
        now = time.time()
        if now - last_header >= 5:
            for c in slow:
                if c[1] is None:
                    try:
                        c[0].send(b"X-Slow: 1\r\n")
                    except OSError:
                        pass
            last_header = now
        for c in slow + idle:
            if c[1] is None and closed(c[0]):
                c[1] = now - started
        answers[health()] += 1
        time.sleep(0.5)
    slow_times = [c[1] for c in slow if c[1] is not None]
    idle_times = [c[1] for c in idle if c[1] is not None]
    refused = sum(1 for t in slow_times + idle_times if t < 2.5)
    after = health()
    # Within the cap: idle connections alone, closed by the idle timeout.
    quiet = []
    for i in range(100):
        try:
            quiet.append([connect(), None])
        except OSError:
            pass
    begun = time.time()
    while time.time() - begun < args.idle + 15 and any(c[1] is None for c in quiet):
        for c in quiet:
            if c[1] is None and closed(c[0]):
                c[1] = time.time() - begun
        time.sleep(0.25)
    quiet_times = [c[1] for c in quiet if c[1] is not None]
    print(f"limits-check: {len(slow)} slow and {len(idle)} idle connections opened under ulimit -n 256")
    print(f"  slow closed: {len(slow_times)}/{len(slow)}, latest after {max(slow_times, default=0):.1f} s "
          f"(head timeout {args.head} s)")
    print(f"  idle closed: {len(idle_times)}/{len(idle)}, latest after {max(idle_times, default=0):.1f} s "
          f"(idle timeout {args.idle} s)")
    print(f"  of them closed within 2.5 s, refused beyond the cap (the open-file limit less 64): {refused}")
    print(f"  /healthz meanwhile: {answers['ok']} answered, {answers['refused']} refused at once (cap full), "
          f"{answers['hung']} hung; afterwards: {after}")
    print(f"  100 idle connections within the cap: {len(quiet_times)} closed, between "
          f"{min(quiet_times, default=0):.1f} and {max(quiet_times, default=0):.1f} s")
    if len(slow_times) < len(slow) or max(slow_times, default=0) > args.head + 8:
        print("limits-check: FAILED: a slow connection outlived the request-head timeout")
        failed = True
    if len(idle_times) < len(idle) or max(idle_times, default=0) > args.idle + 8:
        print("limits-check: FAILED: an idle connection outlived the idle timeout")
        failed = True
    if answers["hung"] or answers["other"]:
        print("limits-check: FAILED: /healthz was left waiting")
        failed = True
    if len(quiet_times) < len(quiet) or min(quiet_times, default=0) < args.idle - 1 \
            or max(quiet_times, default=0) > args.idle + 8:
        print("limits-check: FAILED: idle connections were not closed by the idle timeout")
        failed = True
    if after != "ok":
        print("limits-check: FAILED: /healthz does not answer once the slow and idle connections are gone")
        failed = True
finally:
    server.terminate()
    server.wait(timeout=30)
    subprocess.run(["rm", "-rf", work])
sys.exit(1 if failed else 0)
