#!/usr/bin/env python3
"""Crash consistency: `tiaki serve` under concurrent writes, killed with SIGKILL at random moments.

Each cycle starts the service on the same data directory, times how long it takes to answer, checks that every
write acknowledged so far is in the ledger (same index, kind and subject) and that the ledger never shrank below
a checkpoint a client was given, drives consents, decisions, disclosures and withdrawals from several threads,
and kills the process at a random moment. Every seventh cycle (from the third) the process kills itself in the
middle of a batch commit, inside the write transaction (`TIAKI_FAULT=mid-batch:N`), and every seventh (from the
sixth) just after archiving a checkpoint, before the transaction commits (`TIAKI_FAULT=mid-archive:N`). Every
fifth cycle also tears the WAL as a power loss would: the frames after the last commit are cut at a random point
and garbage is left where a frame was being written. `tiaki verify` must pass after every kill.

    Scripts/crash-test.py [--cycles 25] [--writers 8] [--seed N]

With --postgres URL (a server on which the user may create databases, e.g. the URL Scripts/postgres-start.sh
prints), three instances share one ledger in a new database on it; the writers spread their requests over them;
each cycle one instance is killed (SIGKILL at a random moment, or, every third cycle, by itself in the middle of a
batch commit) while the others go on; it is started again, every acknowledged write must still be there, read
through any instance, and the ledger exported from the database must pass `tiaki verify`.

    Scripts/crash-test.py --postgres postgres://postgres@127.0.0.1:55432/postgres [--cycles 12]

Exit 0 when no acknowledged write was lost and every verify passed; the figures are printed at the end.
"""

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIAKI = os.path.join(ROOT, ".build", "release", "tiaki")

CONSENT = {
    "purposes": ["referral", "learning-support-planning"],
    "information": ["register-entry", "assessment-progress"],
    "audience": {"kinds": ["rtlb"]},
    "sharing": {"channels": ["secure-email"], "storageRegions": ["nz"], "protection": "encrypted email"},
    "retention": {"until": "2027-12-31"},
    "accuracy": {"contact": "the SENCO", "method": "ask to see it"},
    "withdrawal": {"effect": "sharing stops", "how": "tell the school"},
    "consenters": [{"role": "parent", "name": "A parent"}],
    "informed": {"date": "2026-02-10", "noticeVersion": "v1", "language": "en", "method": "meeting"},
    "text": "We would like to share",
}
SHARE = {
    "purpose": "referral", "information": ["register-entry"], "recipient": "rtlb",
    "channel": "secure-email", "storageRegion": "nz",
}


def run(args, **kw):
    return subprocess.run([TIAKI] + args, capture_output=True, text=True, **kw)


class Acks:
    """Every acknowledged write: index → (kind, subject), and the largest checkpoint size any client was given."""

    def __init__(self):
        self.lock = threading.Lock()
        self.entries = {}
        self.checkpoint = 0
        self.subjects = []
        self.consents = []

    def add(self, index, kind, subject, checkpoint_size):
        with self.lock:
            self.entries[index] = (kind, subject)
            self.checkpoint = max(self.checkpoint, checkpoint_size)


def checkpoint_size(note):
    return int(note.split("\n")[1])


class Client:
    def __init__(self, port, token):
        self.port, self.token = port, token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def call(self, method, path, body=None):
        headers = {"Authorization": "Bearer " + self.token}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        text = response.read()
        return response.status, text


def writer(port, token, acks, stop, rng, errors):
    """Consents, decisions, disclosures and withdrawals until stopped. `port` is one instance's port, or a list of
    several: then each request goes to one of them, as a load balancer would send it."""
    ports = port if isinstance(port, list) else [port]
    client = Client(ports[0], token)
    while not stop.is_set():
        if len(ports) > 1:
            client = Client(rng.choice(ports), token)
        try:
            with acks.lock:
                subjects = list(acks.subjects[-200:])
                consents = list(acks.consents[-200:])
            choice = rng.random()
            if choice < 0.1 or not subjects:
                status, text = client.call("POST", "/v1/subjects", {"birthMonth": "2015-06"})
                if status == 201:
                    body = json.loads(text)
                    with acks.lock:
                        acks.subjects.append(body["subject"])
                    # Registration answers with the subject and its index.
                    if "index" in body:
                        acks.add(body["index"], "subject.registered", body["subject"], body["index"] + 1)
                continue
            subject = rng.choice(subjects)
            if choice < 0.3:
                status, text = client.call("POST", f"/v1/subjects/{subject}/consents", CONSENT)
                if status == 201:
                    body = json.loads(text)
                    size = checkpoint_size(body["receipt"]["checkpoint"])
                    acks.add(body["consent"], "consent.granted", subject, size)
                    with acks.lock:
                        acks.consents.append(body["consent"])
            elif choice < 0.8:
                status, text = client.call("POST", "/v1/decisions", dict(SHARE, subject=subject, date="2026-03-01"))
                if status == 201:
                    body = json.loads(text)
                    acks.add(body["decision"], "decision", subject, checkpoint_size(body["checkpoint"]))
            elif choice < 0.95:
                status, text = client.call("POST", "/v1/disclosures", dict(SHARE, subject=subject))
                if status == 201:
                    body = json.loads(text)
                    acks.add(body["disclosure"], "disclosure", subject, body["disclosure"] + 1)
            elif consents:
                consent = rng.choice(consents)
                status, text = client.call("POST", f"/v1/consents/{consent}/withdraw", {"by": "parent"})
                if status == 200:
                    body = json.loads(text)
                    acks.add(body["index"], "consent.withdrawn", None, body["index"] + 1)
            else:
                continue
            if status >= 500:
                errors.append(f"{status} {text[:200]!r}")
        except (OSError, http.client.HTTPException, ValueError):
            # The server was killed mid-request: the outcome is unknown, and nothing was acknowledged.
            if stop.is_set():
                return
            time.sleep(0.05)
            client = Client(rng.choice(ports), token)


def wait_ready(port, process, limit=60.0):
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if process.poll() is not None:
            return None
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.02)
    return None


def check(port, token, acks):
    """Every acknowledged entry present with its kind and subject; the ledger at least as large as any checkpoint
    a client was given. Returns a list of problems."""
    client = Client(port, token)
    status, text = client.call("GET", "/v1/ledger/checkpoint")
    size = checkpoint_size(text.decode())
    problems = []
    if size < acks.checkpoint:
        problems.append(f"the ledger has {size} entries, but a client was given a checkpoint of {acks.checkpoint}")
    with acks.lock:
        wanted = dict(acks.entries)
    for start in range(0, size, 1000):
        status, text = client.call("GET", f"/v1/ledger/entries?start={start}&end={min(size, start + 1000)}")
        if status != 200:
            problems.append(f"entries from {start}: {status}")
            continue
        for line in text.decode().splitlines():
            entry = json.loads(line)
            expected = wanted.pop(entry["index"], None)
            if expected is None:
                continue
            kind, subject = expected
            if entry.get("kind") != kind or (subject is not None and entry.get("subject") != subject):
                problems.append(f"entry {entry['index']} is {entry.get('kind')} of {entry.get('subject')}, "
                                f"acknowledged as {kind} of {subject}")
    for index in sorted(wanted)[:10]:
        problems.append(f"acknowledged entry {index} ({wanted[index][0]}) is missing")
    if len(wanted) > 10:
        problems.append(f"... and {len(wanted) - 10} more missing")
    return problems, size


def start_instance(data, policies, port, database, log, fault=None):
    env = dict(os.environ, TIAKI_DATABASE_URL=database)
    if fault:
        env["TIAKI_FAULT"] = fault
    return subprocess.Popen([TIAKI, "serve", "--data", data, "--policies", policies, "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, env=env)


def postgres_mode(args, rng, policies):
    """Three instances on one PostgreSQL database, one killed per cycle while the others go on."""
    admin = args.postgres
    name = f"tiaki_crash_{args.seed}"
    base, _, _ = admin.rpartition("/")
    psql = ["psql", admin, "-qAtc"]
    subprocess.run(psql + [f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=True)
    subprocess.run(psql + [f"CREATE DATABASE {name}"], check=True)
    database = f"{base}/{name}"
    work = tempfile.mkdtemp(prefix="tiaki-crash-pg-")
    dirs = [f"{work}/data-{n}" for n in range(3)]
    env = dict(os.environ, TIAKI_DATABASE_URL=database)
    subprocess.run([TIAKI, "init", "--data", dirs[0], "--policies", policies], check=True, capture_output=True, env=env)
    for org, kind in [("school-a", "school"), ("rtlb", "rtlb"), ("office", "ministry-learning-support")]:
        subprocess.run([TIAKI, "org", "add", "--data", dirs[0], "--policies", policies, "--id", org, "--kind", kind,
                        "--name", org], check=True, capture_output=True, env=env)
    def credential(org, role):
        out = subprocess.run([TIAKI, "credential", "add", "--data", dirs[0], "--policies", policies, "--org", org,
                              "--role", role, "--holder", f"crash test {org}"], check=True, capture_output=True, text=True, env=env)
        return out.stdout.strip().splitlines()[-1]
    member, auditor = credential("school-a", "member"), credential("office", "auditor")
    for d in dirs[1:]:
        os.makedirs(d, mode=0o700)
        for key in ["log.key", "log.vkey", "lookup.key", "seal.key"]:
            shutil.copy2(f"{dirs[0]}/{key}", f"{d}/{key}")
    vkey = open(f"{dirs[0]}/log.vkey").read().strip()
    base_port = 20000 + rng.randint(0, 20000)
    ports = [base_port + n for n in range(3)]
    servers = [None, None, None]
    acks = Acks()
    lost, failures, errors, restarts = 0, [], [], []
    size = 0
    for cycle in range(1, args.cycles + 1):
        victim = rng.randrange(3)
        fault = f"mid-batch:{rng.randint(5, 200)}" if cycle % 3 == 0 else None
        if fault and servers[victim] is not None and servers[victim].poll() is None:
            # Started again below with the fault armed.
            servers[victim].send_signal(signal.SIGTERM)
            servers[victim].wait()
        for n in range(3):
            if servers[n] is None or servers[n].poll() is not None:
                log = open(f"{work}/server-{n}-{cycle}.log", "w")
                servers[n] = start_instance(dirs[n], policies, ports[n], database, log,
                                            fault if n == victim else None)
                ready = wait_ready(ports[n], servers[n])
                if ready is None:
                    failures.append(f"cycle {cycle}: instance {n} did not start (see {work}/server-{n}-{cycle}.log)")
                    break
                restarts.append(ready)
        if failures:
            break
        # Read back through an instance that was not just restarted, then through the victim.
        problems, size = check(ports[(victim + 1) % 3], auditor, acks)
        lost += sum(1 for p in problems if "missing" in p)
        failures += [f"cycle {cycle}: {p}" for p in problems]
        stop = threading.Event()
        threads = [threading.Thread(target=writer, args=(ports, member, acks, stop,
                                                           random.Random(rng.random()), errors))
                   for _ in range(args.writers)]
        for t in threads:
            t.start()
        if fault:
            try:
                servers[victim].wait(timeout=60)
                how = f"instance {victim} killed itself at {fault}"
            except subprocess.TimeoutExpired:
                failures.append(f"cycle {cycle}: {fault} was never reached")
                servers[victim].send_signal(signal.SIGKILL)
                servers[victim].wait()
                how = f"instance {victim} SIGKILL (fault not reached)"
        else:
            time.sleep(rng.uniform(0.5, 3.0))
            servers[victim].send_signal(signal.SIGKILL)
            servers[victim].wait()
            how = f"instance {victim} SIGKILL at a random moment"
        # The others go on for a moment without it.
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join()
        bundle = f"{work}/bundle-{cycle}"
        exported = subprocess.run([TIAKI, "export", "--data", dirs[0], "--out", bundle], capture_output=True,
                                  text=True, env=env)
        verified = subprocess.run([TIAKI, "verify", bundle, "--vkey", vkey], capture_output=True, text=True)
        if exported.returncode != 0 or verified.returncode != 0:
            failures.append(f"cycle {cycle}: export/verify failed: {exported.stderr[-300:]}{verified.stdout[-300:]}")
        shutil.rmtree(bundle, ignore_errors=True)
        print(f"cycle {cycle:2}: {size} entries before, {len(acks.entries)} acknowledged so far, {how}, "
              f"verify exit {verified.returncode}", flush=True)
    # Everything acknowledged is there, read through each instance.
    for n in range(3):
        if servers[n] is None or servers[n].poll() is not None:
            servers[n] = start_instance(dirs[n], policies, ports[n], database, subprocess.DEVNULL)
            if wait_ready(ports[n], servers[n]) is None:
                failures.append(f"final: instance {n} did not start")
                continue
        problems, size = check(ports[n], auditor, acks)
        lost += sum(1 for p in problems if "missing" in p)
        failures += [f"final, instance {n}: {p}" for p in problems]
    for server in servers:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait()
    print()
    print(f"kill cycles: {args.cycles} (3 instances on PostgreSQL); acknowledged writes: {len(acks.entries)}; "
          f"lost: {lost}; server errors (5xx): {len(errors)}")
    print(f"ledger entries at the end: {size}; restart until answering: median "
          f"{statistics.median(restarts) * 1000:.0f} ms")
    for failure in failures[:20]:
        print("FAIL", failure)
    for error in errors[:5]:
        print("5xx", error)
    if args.keep:
        print("data kept in", work, "database", database)
    else:
        shutil.rmtree(work, ignore_errors=True)
        subprocess.run(psql + [f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"])
    sys.exit(1 if failures or errors else 0)


def tear_wal(path, rng, committed=False):
    """Cut the WAL after its last commit frame at a random point and leave a partly written frame of garbage:
    what a power loss can leave of writes that were never synced. Returns what it did."""
    wal = path + "/ledger.sqlite-wal"
    if not os.path.exists(wal) or os.path.getsize(wal) < 32:
        return "no WAL to tear"
    with open(wal, "rb") as f:
        data = f.read()
    page_size = struct.unpack(">I", data[8:12])[0]
    frame = 24 + page_size
    salt = data[16:24]
    offset, last_commit_end = 32, 32
    while offset + frame <= len(data):
        header = data[offset:offset + 24]
        if header[8:16] != salt:
            break
        offset += frame
        if struct.unpack(">I", header[4:8])[0] != 0:
            last_commit_end = offset
    if committed:
        # The harness's own check: tear into committed frames, which a real power loss cannot do once synced.
        last_commit_end = 32
    cut = rng.randint(last_commit_end, len(data))
    garbage = os.urandom(rng.randint(1, frame - 1))
    with open(wal, "r+b") as f:
        f.truncate(cut)
        f.seek(cut)
        f.write(garbage)
    return f"WAL cut from {len(data)} to {cut} bytes (last commit ends at {last_commit_end}) + {len(garbage)} torn bytes"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=25)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--seed", type=int, default=int.from_bytes(os.urandom(4), "big"))
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    parser.add_argument("--tear-committed", action="store_true",
                        help="check the checker: tear committed WAL frames too, which must be reported as lost")
    parser.add_argument("--postgres", metavar="URL",
                        help="three instances on a new database on this PostgreSQL server, one killed per cycle")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(f"crash test: {args.cycles} cycles, {args.writers} writers, seed {args.seed}", flush=True)
    subprocess.run(["swift", "build", "-c", "release", "--product", "tiaki"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if args.postgres:
        return postgres_mode(args, rng, os.path.join(ROOT, "Policies"))
    work = tempfile.mkdtemp(prefix="tiaki-crash-")
    data = work + "/data"
    policies = os.path.join(ROOT, "Policies")
    for org, kind in [("school-a", "school"), ("rtlb", "rtlb"), ("office", "ministry-learning-support")]:
        run(["org", "add", "--data", data, "--policies", policies, "--id", org, "--kind", kind, "--name", org],
            check=True)
    member = run(["credential", "add", "--data", data, "--policies", policies, "--org", "school-a", "--role",
                  "member", "--holder", "crash test school"], check=True).stdout.strip().splitlines()[-1]
    auditor = run(["credential", "add", "--data", data, "--policies", policies, "--org", "office", "--role",
                   "auditor", "--holder", "crash test auditor"], check=True).stdout.strip().splitlines()[-1]

    acks = Acks()
    ready_times, lost, failures, errors, verify_times = [], 0, [], [], []
    port = 20000 + rng.randint(0, 20000)
    for cycle in range(1, args.cycles + 1):
        log = open(f"{work}/server-{cycle}.log", "w")
        fault = None
        if cycle % 7 == 3:
            fault = f"mid-batch:{rng.randint(5, 300)}"
        elif cycle % 7 == 6:
            fault = f"mid-archive:{rng.randint(0, 2)}"
        env = dict(os.environ, TIAKI_FAULT=fault) if fault else None
        server = subprocess.Popen([TIAKI, "serve", "--data", data, "--policies", policies, "--port", str(port)],
                                  stdout=log, stderr=subprocess.STDOUT, env=env)
        ready = wait_ready(port, server)
        if ready is None:
            failures.append(f"cycle {cycle}: the service did not start (see {work}/server-{cycle}.log)")
            server.kill()
            break
        ready_times.append(ready)
        problems, size = check(port, auditor, acks)
        lost += sum(1 for p in problems if "missing" in p)
        failures += [f"cycle {cycle}: {p}" for p in problems]

        stop = threading.Event()
        threads = [threading.Thread(target=writer, args=(port, member, acks, stop, random.Random(rng.random()), errors))
                   for _ in range(args.writers)]
        for t in threads:
            t.start()
        how = "SIGKILL at a random moment"
        if fault:
            try:
                server.wait(timeout=60)
                how = f"killed itself at {fault}" if server.returncode == -signal.SIGKILL else \
                    f"exited {server.returncode} at {fault}"
            except subprocess.TimeoutExpired:
                failures.append(f"cycle {cycle}: {fault} was never reached")
                server.send_signal(signal.SIGKILL)
                server.wait()
        else:
            time.sleep(rng.uniform(0.3, 3.0))
            server.send_signal(signal.SIGKILL)
            server.wait()
        stop.set()
        for t in threads:
            t.join()
        log.close()
        torn = tear_wal(data, rng, args.tear_committed) if cycle % 5 == 0 else ""
        started = time.monotonic()
        verified = run(["verify", data])
        verify_times.append(time.monotonic() - started)
        if verified.returncode != 0:
            failures.append(f"cycle {cycle}: tiaki verify failed: {verified.stdout[-500:]}{verified.stderr[-500:]}")
        print(f"cycle {cycle:2}: ready in {ready * 1000:.0f} ms, {size} entries before, {len(acks.entries)} "
              f"acknowledged so far, {how}, verify exit {verified.returncode}" + (f"; {torn}" if torn else ""),
              flush=True)

    # One last start: everything acknowledged in the last cycle must be there too.
    server = subprocess.Popen([TIAKI, "serve", "--data", data, "--policies", policies, "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ready = wait_ready(port, server)
    if ready is None:
        failures.append("the final start failed")
    else:
        ready_times.append(ready)
        problems, size = check(port, auditor, acks)
        lost += sum(1 for p in problems if "missing" in p)
        failures += [f"final: {p}" for p in problems]
    server.send_signal(signal.SIGTERM)
    server.wait()

    print()
    print(f"kill cycles: {args.cycles}; acknowledged writes: {len(acks.entries)}; lost: {lost}; "
          f"server errors (5xx): {len(errors)}")
    print(f"ledger entries at the end: {size}; largest checkpoint given to a client: {acks.checkpoint}")
    print(f"restart until answering: median {statistics.median(ready_times) * 1000:.0f} ms, "
          f"max {max(ready_times) * 1000:.0f} ms")
    print(f"tiaki verify after each kill: {sum(1 for _ in verify_times)} runs, "
          f"median {statistics.median(verify_times) * 1000:.0f} ms")
    for failure in failures[:20]:
        print("FAIL", failure)
    for error in errors[:5]:
        print("5xx", error)
    if args.keep:
        print("data kept in", work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failures or errors else 0)


if __name__ == "__main__":
    main()
