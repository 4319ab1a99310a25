#!/usr/bin/env python3
"""The fault suite of issue 24: relay's promises (SPEC sections 9 and 12) under faults of time and of PostgreSQL,
run for real against a relay binary, with one checker for every case.

    python3 bench/faults.py [--relay PATH] [--case NAME]... [--quick] [--long | --no-long] [--json FILE]
    bash bench/faults.sh ...          (the same, after checking the tools it needs)

Each case starts its own relay instances (the binary is copied to a temporary folder first) on a database of their
own, sends signed LINE delivery events alternately to them at a steady rate while a nemesis acts, heals it, waits for
delivery, and prints one line of figures (CASE_JSON ...). At the end a Markdown table; the exit status is 1 if any
case failed the checker.

The checker (check(), the same for every case):
  1. every acked event (a 200 at ingest) is delivered: a 2xx answered to at least one attempt, within a deadline
     after the fault heals;
  2. no two attempts of one event overlap in time at the receiver (its hold of 20-100 ms makes overlaps visible);
  3. duplicates (an event answered 2xx more than once) only from attempts in flight at a crash (kill -9, SIGSTOP
     of an instance, SIGTERM, the store's failure): each such attempt may cause one extra delivery, no more;
  4. `relay stats --json` at the end: nothing pending or in flight, delivered jobs = events delivered at the
     receiver, dead letters only where the case expects them.

Nemeses: clock skew of one of two instances (faketime, +120 s wall clock only); PostgreSQL frozen (SIGSTOP of the
postmaster and its children) and stopped (pg_ctl stop -m immediate); a silent partition (PostgreSQL in a network
namespace this suite makes, its veth set down so packets vanish without a reset, twice in a row); an instance
frozen past its lease; kill -9 of an instance; SIGTERM during an attempt; a 120 s PostgreSQL outage (--long).

Traffic stays on 127.0.0.1 and inside the suite's own namespace (10.213.0.0/30 on a veth pair that exists only on
this machine). Every loop is bounded in time and count; every process started is ended at exit (also on Ctrl-C).
Needs root for the namespace and to run PostgreSQL as `postgres`; Debian packages: postgresql, faketime, iproute2.
Standard library only.
"""
import argparse
import base64
import glob
import hashlib
import hmac
import http.client
import http.server
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

SECRET = "faults-line-channel-secret"
PREFIX = "relayfaults"              # temp folders, the network namespace: a previous run's leftovers go by it
NETNS = "relayfaults-pg"
VETH_HOST, VETH_NS = "rflt0", "rflt1"
HOST_ADDR, NS_ADDR = "10.213.0.1", "10.213.0.2"   # a /30 on a veth pair inside this machine only
ID_RE = re.compile(rb"01RF[0-9A-Z]{22}")
SLACK = 1.0                        # s before a crash an answered attempt may still lack its recorded outcome

T0 = time.monotonic()
ROOT = os.geteuid() == 0


def now() -> float:
    return time.monotonic()


def log(*parts) -> None:
    print(f"[{now() - T0:7.1f}s]", *parts, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, check=True, timeout=120, **kw) -> subprocess.CompletedProcess:
    """A command to its end, output captured (never a pipe left to a daemon: pg_ctl's server gets a log file)."""
    with tempfile.TemporaryFile() as out:
        p = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=timeout, **kw)
        out.seek(0)
        text = out.read().decode(errors="replace")
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {text.strip()[-800:]}")
    return subprocess.CompletedProcess(cmd, p.returncode, text, "")


# ---------------------------------------------------------------------------------------------------------------
# Everything started is registered here and ended at exit.

class Registry:
    def __init__(self):
        self.relays: list["Relay"] = []
        self.servers: list["Postgres"] = []
        self.netns = False

    def cleanup(self) -> None:
        for r in list(self.relays):
            try:
                r.kill()
            except Exception:
                pass
        for s in list(self.servers):
            try:
                s.destroy()
            except Exception:
                pass
        if self.netns:
            netns_remove()


REG = Registry()


def on_signal(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


# ---------------------------------------------------------------------------------------------------------------
# PostgreSQL

def pg_bin() -> str:
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(re.findall(r"\d+", d)[0]))
    for d in reversed(dirs):
        if os.path.exists(f"{d}/pg_ctl"):
            return d
    found = shutil.which("pg_ctl")
    if found:
        return os.path.dirname(found)
    raise RuntimeError("no PostgreSQL server binaries (Debian: apt-get install postgresql)")


class Postgres:
    """A server of this suite's own: initdb in a temp folder, on a free port, fsync on; as `postgres` when root.
    With netns, it runs inside that namespace and listens on NS_ADDR only."""

    def __init__(self, netns: str | None = None, listen: str | None = None):
        self.bin = pg_bin()
        self.netns = netns
        self.host = listen or (NS_ADDR if netns else "127.0.0.1")
        self.dir = tempfile.mkdtemp(prefix=f"{PREFIX}-pg.")
        os.chmod(self.dir, 0o755)
        self.data = f"{self.dir}/data"
        if ROOT:
            shutil.chown(self.dir, "postgres", "postgres")
        self.port = 0
        self.dbs = 0
        REG.servers.append(self)
        self.as_pg(["initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        if netns:   # relay connects from the host's end of the veth pair
            with open(f"{self.data}/pg_hba.conf", "a") as f:
                f.write(f"host all all {HOST_ADDR}/32 trust\n")
        for _ in range(3):   # a free port can be taken before the server binds it
            self.port = free_port()
            try:
                self.start()
                return
            except RuntimeError as e:
                last = e
        raise last

    def as_pg(self, cmd: list[str], ns: bool = False, check=True, timeout=120):
        cmd = [f"{self.bin}/{cmd[0]}"] + cmd[1:]
        if ROOT:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        if ns and self.netns:
            cmd = ["ip", "netns", "exec", self.netns] + cmd
        return run(cmd, check=check, timeout=timeout)

    def options(self) -> str:
        return (f"-p {self.port} -c listen_addresses={self.host} -c unix_socket_directories={self.dir}"
                " -c fsync=on -c synchronous_commit=on -c max_connections=300")

    def start(self) -> None:
        self.as_pg(["pg_ctl", "start", "-w", "-t", "60", "-D", self.data, "-l", f"{self.dir}/server.log",
                    "-o", self.options()], ns=True)

    def stop_immediate(self) -> None:
        self.cont()
        self.as_pg(["pg_ctl", "stop", "-m", "immediate", "-w", "-t", "60", "-D", self.data], check=False)

    def pids(self) -> list[int]:
        try:
            with open(f"{self.data}/postmaster.pid") as f:
                master = int(f.readline())
        except (OSError, ValueError):
            return []
        pids = [master]
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        if int(f.read().rsplit(")", 1)[1].split()[1]) == master:
                            pids.append(int(entry))
                except (OSError, IndexError, ValueError):
                    pass
        return pids

    def freeze(self) -> int:
        pids = self.pids()
        for p in pids:
            try:
                os.kill(p, signal.SIGSTOP)
            except ProcessLookupError:
                pass
        return len(pids)

    def cont(self) -> None:
        for p in self.pids():
            try:
                os.kill(p, signal.SIGCONT)
            except ProcessLookupError:
                pass

    def createdb(self) -> str:
        """A new database (over the unix socket, which no partition touches), as a URL relay can use."""
        self.dbs += 1
        name = f"faults_{os.getpid()}_{self.dbs}"
        self.as_pg(["createdb", "-h", self.dir, "-p", str(self.port), "-U", "postgres", name])
        return f"postgres://postgres@{self.host}:{self.port}/{name}"

    def destroy(self) -> None:
        if os.path.exists(f"{self.data}/postmaster.pid"):
            self.stop_immediate()
        shutil.rmtree(self.dir, ignore_errors=True)
        if self in REG.servers:
            REG.servers.remove(self)


# ---------------------------------------------------------------------------------------------------------------
# The network namespace of the partition case

def netns_remove() -> None:
    """Removes this suite's namespaces (also a previous run's, by the fixed prefix) and ends what runs in them."""
    listed = run(["ip", "netns", "list"], check=False).stdout
    for line in listed.splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith(PREFIX):
            pids = run(["ip", "netns", "pids", name], check=False).stdout.split()
            for p in pids:
                try:
                    os.kill(int(p), signal.SIGCONT)
                    os.kill(int(p), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            run(["ip", "netns", "del", name], check=False)
    run(["ip", "link", "del", VETH_HOST], check=False)
    REG.netns = False


def netns_make() -> None:
    netns_remove()
    REG.netns = True
    run(["ip", "netns", "add", NETNS])
    run(["ip", "link", "add", VETH_HOST, "type", "veth", "peer", "name", VETH_NS])
    run(["ip", "link", "set", VETH_NS, "netns", NETNS])
    run(["ip", "addr", "add", f"{HOST_ADDR}/30", "dev", VETH_HOST])
    run(["ip", "link", "set", VETH_HOST, "up"])
    run(["ip", "netns", "exec", NETNS, "ip", "addr", "add", f"{NS_ADDR}/30", "dev", VETH_NS])
    run(["ip", "netns", "exec", NETNS, "ip", "link", "set", VETH_NS, "up"])
    run(["ip", "netns", "exec", NETNS, "ip", "link", "set", "lo", "up"])


BLACKHOLE = "route"   # or "link"; --blackhole


def netns_link(up: bool, mode: str = "route") -> None:
    """Black-holes PostgreSQL's side, no reset, no ICMP. "route" (the default): inside the namespace a blackhole route
    to relay's address, so PostgreSQL's replies (and ACKs) vanish while relay's packets still arrive; "link": the
    namespace's veth end set down, so packets vanish both ways."""
    ns = ["ip", "netns", "exec", NETNS]
    if mode == "link":
        run(ns + ["ip", "link", "set", VETH_NS, "up" if up else "down"])
    else:
        run(ns + ["ip", "route", "del" if up else "add", "blackhole", f"{HOST_ADDR}/32"])


# ---------------------------------------------------------------------------------------------------------------
# The receiver: one destination URL per instance (/events/<instance>), so each attempt is attributed.

class Receiver:
    def __init__(self):
        self.attempts: list[dict] = []
        self.lock = threading.Lock()
        self.behave = lambda event_id, n, inst: (random.uniform(0.02, 0.1), 200)
        self.counts: dict[str, int] = {}
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                start = now()
                try:
                    body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                except OSError:
                    return
                m = ID_RE.search(body)
                event_id = m.group(0).decode() if m else (self.headers.get("webhook-id") or "?")
                inst = self.path.rstrip("/").rsplit("/", 1)[-1]
                with receiver.lock:
                    n = receiver.counts.get(event_id, 0) + 1
                    receiver.counts[event_id] = n
                hold, status = receiver.behave(event_id, n, inst)
                sent = self.hold(hold)
                if sent:
                    try:
                        self.send_response(status)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        self.wfile.flush()
                    except OSError:
                        sent = False
                else:
                    self.close_connection = True
                with receiver.lock:
                    receiver.attempts.append({"id": event_id, "inst": inst, "start": start, "end": now(),
                                              "status": status, "sent": sent, "n": n,
                                              "webhook_id": self.headers.get("webhook-id")})

            def hold(self, seconds: float) -> bool:
                """Holds the answer; False as soon as relay closed the connection (it died or gave up): the
                attempt ends there, unanswered."""
                end = now() + seconds
                while (left := end - now()) > 0:
                    readable, _, _ = select.select([self.connection], [], [], min(left, 0.05))
                    if readable:
                        try:
                            if not self.connection.recv(1, socket.MSG_PEEK):
                                return False
                        except OSError:
                            return False
                        time.sleep(max(0.0, end - now()))   # bytes of a next request: just wait
                        return True
                return True

            def log_message(self, *args):
                pass

        http.server.ThreadingHTTPServer.daemon_threads = True
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, inst: str) -> str:
        return f"http://127.0.0.1:{self.port}/events/{inst}"

    def delivered(self) -> set[str]:
        with self.lock:
            return {a["id"] for a in self.attempts if 200 <= a["status"] < 300 and a["sent"]}

    def snapshot(self) -> list[dict]:
        with self.lock:
            return list(self.attempts)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------------------------------------------------------
# relay instances

class Relay:
    def __init__(self, name: str, binary: str, work: str, store_url: str, receiver: Receiver, *,
                 lease="2s", timeout="2s", retry="[200ms, 500ms, 1s, 2s]", breaker: str | None = None,
                 concurrency=8, faketime: str | None = None, extra=""):
        self.name, self.binary, self.faketime = name, binary, faketime
        self.port, self.admin = free_port(), free_port()
        self.config = f"{work}/{name}.yaml"
        self.logpath = f"{work}/{name}.log"
        self.proc: subprocess.Popen | None = None
        self.frozen = False
        breaker_line = f"\n    breaker: {breaker}" if breaker else ""
        with open(self.config, "w") as f:
            f.write(f"""listen: 127.0.0.1:{self.port}
admin:
  listen: 127.0.0.1:{self.admin}
store:
  postgres: {store_url}
  lease: {lease}
retry: {retry}
{extra}
sources:
  line:
    provider: line
    channel_secret: {SECRET}
destinations:
  crm:
    url: {receiver.url(name)}
    format: canonical
    timeout: {timeout}
    concurrency: {concurrency}{breaker_line}
routes:
  - to: [crm]
""")
        REG.relays.append(self)

    def start(self, wait=True) -> None:
        cmd = [self.binary, "serve", "--config", self.config]
        env = dict(os.environ)
        if self.faketime:
            cmd = ["faketime", "-f", self.faketime] + cmd
            env["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
        logf = open(self.logpath, "a")
        self.log_offset = logf.tell()
        self.started_wall = time.time()
        self.proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                     start_new_session=True)
        logf.close()
        self.frozen = False
        if wait:
            self.wait_ready(60)

    def ready(self) -> bool:
        try:
            return http_get(self.port, "/readyz", 1.0)[0] == 200
        except OSError:
            return False

    def wait_ready(self, limit: float) -> float:
        started = now()
        while now() - started < limit:
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: {self.tail()}")
            if self.ready():
                return now() - started
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} not ready after {limit} s: {self.tail()}")

    def tail(self, n=15) -> str:
        try:
            with open(self.logpath, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def signal(self, sig) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def freeze(self) -> None:
        self.signal(signal.SIGSTOP)
        self.frozen = True

    def cont(self) -> None:
        self.signal(signal.SIGCONT)
        self.frozen = False

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGCONT)
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)

    def stop(self, limit=20.0) -> int | None:
        """SIGTERM and wait (bounded); kill -9 after the limit. The exit status, None if it had to be killed."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.cont()
        self.signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def stats(self) -> dict | None:
        p = run([self.binary, "stats", "--json", "--config", self.config], check=False, timeout=30)
        try:
            return json.loads(p.stdout)
        except ValueError:
            return None


def http_get(port: int, path: str, timeout: float) -> tuple[int, bytes]:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def crm_stats(stats: dict | None) -> dict | None:
    if not stats:
        return None
    for d in stats.get("destinations", []):
        if d.get("destination") == "crm":
            return d
    return None


# ---------------------------------------------------------------------------------------------------------------
# Traffic: signed LINE delivery events, alternately to each instance, at a steady rate.

class Traffic:
    MAX_OPEN = 128   # requests open at once; past it a tick is skipped (counted), so a hung relay bounds the threads

    def __init__(self, relays: list[Relay], rate: float, tag: str):
        self.relays, self.rate = relays, rate
        self.tag = hashlib.sha1(f"{tag}{time.time()}{os.getpid()}".encode()).hexdigest()[:6].upper()
        self.lock = threading.Lock()
        self.sent: dict[str, dict] = {}       # id -> {"at", "to", "status", "done"} (last try)
        self.acked: dict[str, float] = {}     # id -> time of its first 200
        self.statuses: dict[str, int] = {}    # "200", "503", "timeout", "refused", ...: every try
        self.skipped = 0
        self.slots = threading.BoundedSemaphore(self.MAX_OPEN)
        self.n = 0
        self.stop_flag = threading.Event()
        self.thread: threading.Thread | None = None
        self.live: list[threading.Thread] = []

    def new_id(self) -> str:
        self.n += 1
        return f"01RF{self.tag}{self.n:016d}"

    @staticmethod
    def body(event_id: str) -> bytes:
        event = {"type": "delivery", "delivery": {"data": "d" + event_id.lower()}, "webhookEventId": event_id,
                 "deliveryContext": {"isRedelivery": False}, "timestamp": int(time.time() * 1000), "mode": "active"}
        return json.dumps({"destination": "Ufaults", "events": [event]}, separators=(",", ":")).encode()

    def post(self, event_id: str, relay: Relay, timeout: float = 4.0) -> str:
        body = self.body(event_id)
        sig = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
        at = now()
        try:
            c = http.client.HTTPConnection("127.0.0.1", relay.port, timeout=timeout)
            try:
                c.request("POST", "/webhooks/line", body=body,
                          headers={"Content-Type": "application/json", "X-Line-Signature": sig})
                r = c.getresponse()
                r.read()
                result = str(r.status)
            finally:
                c.close()
        except socket.timeout:
            result = "timeout"
        except ConnectionRefusedError:
            result = "refused"
        except OSError as e:
            result = type(e).__name__
        done = now()
        with self.lock:
            self.statuses[result] = self.statuses.get(result, 0) + 1
            self.sent[event_id] = {"at": at, "to": relay.name, "status": result, "done": done}
            if result == "200" and event_id not in self.acked:
                self.acked[event_id] = done
        return result

    def _send_one(self, event_id: str, relay: Relay) -> None:
        try:
            self.post(event_id, relay)
        finally:
            self.slots.release()

    def _loop(self, duration: float) -> None:
        start = now()
        limit = int(duration * self.rate) + 1
        for i in range(limit):
            if self.stop_flag.is_set():
                break
            due = start + i / self.rate
            delay = due - now()
            if delay > 0:
                self.stop_flag.wait(delay)
            if self.stop_flag.is_set() or now() - start > duration:
                break
            relay = self.relays[i % len(self.relays)]
            if not self.slots.acquire(blocking=False):
                self.skipped += 1
                continue
            t = threading.Thread(target=self._send_one, args=(self.new_id(), relay), daemon=True)
            t.start()
            self.live.append(t)

    def start(self, duration: float) -> None:
        self.thread = threading.Thread(target=self._loop, args=(duration,), daemon=True)
        self.thread.start()

    def finish(self) -> None:
        self.stop_flag.set()
        if self.thread:
            self.thread.join(timeout=10)
        end = now() + 10
        for t in self.live:   # each request has its own timeout: all are done within a few seconds
            t.join(timeout=max(0.0, end - now()))

    def first_ack_after(self, t: float, until: float | None = None, to: str | None = None) -> float | None:
        """Seconds from t to the first 200 sent after t (by instance `to`, if given)."""
        with self.lock:
            after = [self.sent[i]["done"] for i in self.acked if self.sent[i]["at"] >= t
                     and self.sent[i]["status"] == "200" and (to is None or self.sent[i]["to"] == to)
                     and (until is None or self.sent[i]["done"] <= until)]
        return min(after) - t if after else None

    def last_non200_after(self, t: float) -> float | None:
        with self.lock:
            late = [s["at"] for s in self.sent.values() if s["at"] >= t and s["status"] != "200"]
        return round(max(late) - t, 2) if late else None

    def non200_between(self, a: float, b: float) -> int:
        with self.lock:
            return sum(1 for s in self.sent.values() if a <= s["at"] <= b and s["status"] != "200")


# ---------------------------------------------------------------------------------------------------------------
# The one checker

def check(acked: set[str], attempts: list[dict], crashes: list[dict], stats: dict | None, *,
          expect_dead: int = 0, origin: float = 0.0) -> dict:
    """crashes: [{"inst": name or None (the store, for every instance), "at": t, "until": t2 (optional)}]: an attempt
    of that instance in flight in the crash (started no later than `until`, answered no earlier than at - SLACK: its
    outcome could not be recorded) may cause one more delivery of its event."""
    by_id: dict[str, list[dict]] = {}
    for a in attempts:
        by_id.setdefault(a["id"], []).append(a)
    delivered = {i for i, lst in by_id.items() if any(200 <= a["status"] < 300 and a["sent"] for a in lst)}
    lost = sorted(acked - delivered)
    overlap_events, overlap_cross, dup_extra, dup_excused, dup_unexcused = 0, 0, 0, 0, 0
    unexcused_ids = []
    for i, lst in by_id.items():
        lst.sort(key=lambda a: a["start"])
        over = cross = False
        for x in range(len(lst)):
            for y in range(x + 1, len(lst)):
                a, b = lst[x], lst[y]
                if b["start"] < a["end"] and a["start"] < b["end"]:
                    over = True
                    cross = cross or a["inst"] != b["inst"]
        overlap_events += over
        overlap_cross += cross
        ok = [a for a in lst if 200 <= a["status"] < 300 and a["sent"]]
        if len(ok) > 1:
            extra = len(ok) - 1
            in_flight = sum(1 for a in ok if any(
                (c["inst"] is None or c["inst"] == a["inst"]) and a["start"] <= c.get("until", c["at"])
                and a["end"] >= c["at"] - SLACK
                for c in crashes))
            excused = min(extra, in_flight)
            dup_extra += extra
            dup_excused += excused
            dup_unexcused += extra - excused
            if extra > excused:
                unexcused_ids.append(f"{i}: " + ", ".join(
                    f"{a['inst']} {a['start'] - origin:.2f}-{a['end'] - origin:.2f}s {a['status'] if a['sent'] else 'unanswered'}"
                    for a in lst))
    dup_attempts = sum(len(lst) - 1 for lst in by_id.values())
    failures = []
    if lost:
        failures.append(f"{len(lost)} acked events never delivered")
    if overlap_events:
        failures.append(f"{overlap_events} events with overlapping attempts ({overlap_cross} across instances)")
    if dup_unexcused:
        failures.append(f"{dup_unexcused} duplicate deliveries not from an attempt in flight at a crash")
    d = crm_stats(stats)
    stats_summary = None
    if d is None:
        failures.append("relay stats unreadable")
    else:
        stats_summary = {k: d.get(k) for k in ("pending", "in_flight", "dead", "delivered", "state")}
        if d.get("pending") or d.get("in_flight"):
            failures.append(f"stats: {d.get('pending')} pending, {d.get('in_flight')} in flight at the end")
        if d.get("dead", 0) != expect_dead:
            failures.append(f"stats: {d.get('dead')} dead letters (expected {expect_dead})")
        if "delivered" in d and d["delivered"] != len(delivered):
            failures.append(f"stats: {d['delivered']} delivered jobs, the receiver got {len(delivered)} events")
    return {
        "acked": len(acked), "delivered": len(delivered & acked), "delivered_all": len(delivered), "lost": len(lost),
        "attempts": len(attempts), "dup_attempts": dup_attempts, "dup_deliveries": dup_extra,
        "dup_excused": dup_excused, "dup_unexcused": dup_unexcused, "overlap_events": overlap_events,
        "overlap_cross_instance": overlap_cross, "stats": stats_summary, "failures": failures,
        "lost_sample": lost[:3], "unexcused_sample": unexcused_ids[:3],
    }


# ---------------------------------------------------------------------------------------------------------------
# Cases

class Case:
    """One case's world: a receiver, a database (on the shared server unless given), relay instances, traffic."""

    def __init__(self, suite: "Suite", name: str, pg: Postgres | None = None):
        self.suite, self.name = suite, name
        self.work = tempfile.mkdtemp(prefix=f"{PREFIX}-{name}.", dir=suite.work)
        self.receiver = Receiver()
        self.pg = pg or suite.pg()
        self.store = self.pg.createdb()
        self.relays: list[Relay] = []
        self.crashes: list[dict] = []
        self.figures: dict = {}
        self.extra_failures: list[str] = []
        self.traffic: Traffic | None = None
        self.t0 = now()

    def relay(self, name: str, **kw) -> Relay:
        r = Relay(name, self.suite.binary, self.work, self.store, self.receiver, **kw)
        self.relays.append(r)
        return r

    def wait_delivered(self, limit: float) -> float | None:
        """Seconds until every acked event was delivered, None if not within limit (bounded poll)."""
        started = now()
        while now() - started < limit:
            with self.traffic.lock:
                acked = set(self.traffic.acked)
            if acked <= self.receiver.delivered():
                return round(now() - started, 2)
            time.sleep(0.2)
        return None

    def wait_settled(self, limit: float) -> dict | None:
        """Polls relay stats until nothing pending or in flight (bounded); the last stats read."""
        started = now()
        stats = None
        while now() - started < limit:
            stats = self.relays[0].stats()
            d = crm_stats(stats)
            if d and not d.get("pending") and not d.get("in_flight"):
                return stats
            time.sleep(0.5)
        return stats

    def finish(self, *, expect_dead=0, deliver_limit=30.0) -> dict:
        t = self.traffic
        t.finish()
        self.figures["deliver_s"] = self.wait_delivered(deliver_limit)
        stats = self.wait_settled(15)
        time.sleep(0.5)   # attempts answered just now reach the receiver's log
        attempts = self.receiver.snapshot()
        result = check(set(t.acked), attempts, self.crashes, stats, expect_dead=expect_dead, origin=self.t0)
        self.figures["crashes_at_s"] = [round(c["at"] - self.t0, 2) for c in self.crashes]
        if self.suite.args.keep:
            with open(f"{self.work}/attempts.json", "w") as f:
                json.dump({"t0": self.t0, "attempts": attempts, "sent": t.sent, "acked": t.acked,
                           "crashes": self.crashes}, f)
        result["failures"] = self.extra_failures + result["failures"]
        non200 = {k: v for k, v in t.statuses.items() if k != "200"}
        return {"case": self.name, "sent": len(t.sent), "skipped": t.skipped, "non200": non200,
                "n503": t.statuses.get("503", 0), **self.figures, **result,
                "verdict": "PASS" if not result["failures"] else "FAIL"}

    def close(self) -> None:
        if self.traffic:
            self.traffic.finish()
        for r in self.relays:
            r.kill()
            if r in REG.relays:
                REG.relays.remove(r)
        self.receiver.close()


def skew_probe(relay: Relay) -> float | None:
    """How far relay's own wall clock is from this harness's: the "time" of the first log line it wrote after its
    last start, less the wall time it was started at (to about 0.1 s: the line comes a few ms after the start)."""
    try:
        with open(relay.logpath, errors="replace") as f:
            f.seek(relay.log_offset)
            line = f.readline()
        stamp = json.loads(line)["time"]
        from datetime import datetime
        return round(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() - relay.started_wall, 1)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def case_clock_skew(s: "Suite") -> dict:
    c = Case(s, "clock_skew")
    try:
        a = c.relay("a")
        b = c.relay("b", faketime="+120s")
        a.start()
        b.start()
        c.figures["skew_s"] = skew_probe(b)
        c.figures["skew_a_s"] = skew_probe(a)
        if c.figures["skew_s"] is not None and c.figures["skew_s"] < 60:
            c.extra_failures.append(f"faketime did not skew relay's wall clock ({c.figures['skew_s']} s)")
        c.traffic = Traffic([a, b], s.rate, c.name)
        c.traffic.start(s.dur(30))
        c.traffic.thread.join(timeout=s.dur(30) + 10)
        return c.finish()
    finally:
        c.close()


def store_fault_case(s: "Suite", name: str, break_fn, heal_fn, down: float, before: float = 5, after: float = 15,
                     pg: Postgres | None = None) -> dict:
    c = Case(s, name, pg=pg)
    try:
        a, b = c.relay("a"), c.relay("b")
        a.start()
        b.start()
        c.traffic = Traffic([a, b], s.rate, c.name)
        c.traffic.start(before + down + after + 90)   # stopped `after` s after the heal (restarts take a while)
        time.sleep(before)
        t_break = now()
        log(f"{name}: fault")
        break_fn()
        c.crashes.append({"inst": None, "at": t_break})
        time.sleep(down)
        heal_fn()
        t_heal = now()
        c.crashes[-1]["until"] = t_heal
        log(f"{name}: healed")
        time.sleep(after)
        c.traffic.stop_flag.set()
        c.traffic.thread.join(timeout=10)
        first = max_first(c.traffic, t_heal, [a, b])
        c.figures.update({"down_s": down, "outage_s": round(t_heal - t_break, 1),
                          "first_200_after_heal_s": first,
                          "non200_during": c.traffic.non200_between(t_break, t_heal),
                          "non200_after_heal": c.traffic.non200_between(t_heal, now()),
                          "last_non200_after_heal_s": c.traffic.last_non200_after(t_heal)})
        if first is None or first > 5:
            c.extra_failures.append(f"no 200 within 5 s after the store came back (first: {first})")
        return c.finish(deliver_limit=30)
    finally:
        c.close()


def case_pg_freeze(s: "Suite") -> dict:
    pg = s.pg()
    return store_fault_case(s, "pg_freeze", pg.freeze, pg.cont, down=10)


def case_pg_stop(s: "Suite") -> dict:
    pg = s.pg()
    return store_fault_case(s, "pg_stop", pg.stop_immediate, pg.start, down=10)


def case_outage_120(s: "Suite") -> dict:
    pg = s.pg()
    return store_fault_case(s, "pg_outage_120s", pg.stop_immediate, pg.start, down=120, before=5, after=15)


def partition_case(s: "Suite", name: str, mode: str, hole: float, gap: float) -> dict:
    """Two black-holes of `hole` s, `gap` s apart, between relay and PostgreSQL (which runs in the suite's network
    namespace); after each heal, every instance must answer a 200 within 5 s. mode: "route" or "link" (the kernel
    drops the packets; TCP retransmits once healed), or "flows" (a relay in the namespace forgets the connections
    of the partition, as a NAT or firewall that lost their state: they stay silent, new ones pass)."""
    if not ROOT:
        raise RuntimeError("the partition cases need root (ip netns)")
    netns_make()
    proxy = None
    pg = Postgres(netns=NETNS, listen="127.0.0.1" if mode == "flows" else None)
    try:
        if mode == "flows":
            port = free_port()
            proxy = subprocess.Popen(["ip", "netns", "exec", NETNS, sys.executable, os.path.abspath(__file__), "_proxy",
                                      NS_ADDR, str(port), str(pg.port)], stdin=subprocess.DEVNULL,
                                     stdout=open(f"{s.work}/{name}-proxy.log", "w"), stderr=subprocess.STDOUT)
            wait_port(NS_ADDR, port, 10)
        c = Case(s, name, pg=pg)
        if proxy:
            c.store = c.store.replace(f"@127.0.0.1:{pg.port}/", f"@{NS_ADDR}:{port}/")
    except BaseException:
        if proxy:
            proxy.kill()
        pg.destroy()
        netns_remove()
        raise

    def blackhole(on: bool) -> None:
        if proxy:
            proxy.send_signal(signal.SIGUSR1 if on else signal.SIGUSR2)
        else:
            netns_link(not on, mode)

    try:
        a, b = c.relay("a"), c.relay("b")
        a.start()
        b.start()
        before, after = 5, 15
        c.traffic = Traffic([a, b], s.rate, c.name)
        c.traffic.start(before + 2 * hole + gap + after + 30)
        time.sleep(before)
        firsts = []
        for k in range(2):
            t_break = now()
            blackhole(True)
            c.crashes.append({"inst": None, "at": t_break})
            log(f"{name}: black-hole {k + 1} for {hole} s ({mode})")
            time.sleep(hole)
            blackhole(False)
            t_heal = now()
            c.crashes[-1]["until"] = t_heal
            log(f"{name}: healed {k + 1}")
            time.sleep(gap if k == 0 else after)
            firsts.append(max_first(c.traffic, t_heal, [a, b], now()))
            c.figures[f"non200_after_heal{k + 1}"] = c.traffic.non200_between(t_heal, now())
        c.traffic.stop_flag.set()
        c.traffic.thread.join(timeout=10)
        c.figures.update({"first_200_after_heal_s": firsts, "hole_s": hole, "blackhole": mode})
        for k, f in enumerate(firsts):
            if f is None or f > 5:
                c.extra_failures.append(f"after black-hole {k + 1}: an instance had no 200 within 5 s of healing (slower first 200: {f})")
        # Stuck? Then restart the instances, so delivery and the end state can still be checked.
        if any(f is None for f in firsts):
            c.figures["stuck"] = {r.name: {"readyz": r.ready(), "ingest": probe_ingest(c.traffic, r)} for r in (a, b)}
            log(f"{name}: stuck {c.figures['stuck']}; restarting the instances")
            for r in (a, b):
                r.kill()
                r.start()
            c.figures["restarted"] = True
            c.figures["after_restart"] = {r.name: probe_ingest(c.traffic, r) for r in (a, b)}
        return c.finish(deliver_limit=30)
    finally:
        c.close()
        if proxy:
            proxy.kill()
            proxy.wait(timeout=10)
        pg.destroy()
        netns_remove()


def case_partition(s: "Suite") -> dict:
    return partition_case(s, "partition", BLACKHOLE, s.dur(20, 8), s.dur(10, 6))


def case_partition_flows(s: "Suite") -> dict:
    return partition_case(s, "partition_flows", "flows", s.dur(10, 6), s.dur(10, 6))


def wait_port(host: str, port: int, limit: float) -> None:
    started = now()
    while now() - started < limit:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {host}:{port} after {limit} s")


def proxy_main(listen_host: str, listen_port: str, target_port: str) -> None:
    """`faults.py _proxy HOST PORT TARGET`, run inside the namespace: forwards HOST:PORT to 127.0.0.1:TARGET.
    SIGUSR1 starts a black-hole: every connection open then or opened during it goes silent for good (bytes both ways
    are read and dropped, nothing is closed); SIGUSR2 ends it for new connections. Exits after 15 minutes at most."""
    lock = threading.Lock()
    state = {"hole": False, "flows": []}

    def hole(on: bool):
        with lock:
            state["hole"] = on
            if on:
                for flow in state["flows"]:
                    flow["dead"] = True

    signal.signal(signal.SIGUSR1, lambda *_: hole(True))
    signal.signal(signal.SIGUSR2, lambda *_: hole(False))
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((listen_host, int(listen_port)))
    server.listen(128)
    server.settimeout(0.5)

    def pump(src, dst, flow):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if not flow["dead"]:
                    dst.sendall(data)
        except OSError:
            pass
        if not flow["dead"]:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    started = time.monotonic()
    while time.monotonic() - started < 900:
        try:
            client, _ = server.accept()
        except socket.timeout:
            continue
        except InterruptedError:
            continue
        with lock:
            flow = {"dead": state["hole"]}
            state["flows"].append(flow)
        try:
            upstream = socket.create_connection(("127.0.0.1", int(target_port)), timeout=5)
            upstream.settimeout(None)
        except OSError:
            client.close()
            continue
        threading.Thread(target=pump, args=(client, upstream, flow), daemon=True).start()
        threading.Thread(target=pump, args=(upstream, client, flow), daemon=True).start()


def max_first(t: Traffic, heal: float, relays: list[Relay], until: float | None = None) -> float | None:
    """The slower instance's first 200 after the heal (None if one had none): every instance must recover."""
    firsts = [t.first_ack_after(heal, until, r.name) for r in relays]
    return None if any(f is None for f in firsts) else round(max(firsts), 2)


def probe_ingest(t: Traffic, r: Relay) -> str:
    return t.post(t.new_id(), r, timeout=3)


def case_instance_freeze(s: "Suite") -> dict:
    c = Case(s, "instance_freeze")
    try:
        a, b = c.relay("a"), c.relay("b")
        a.start()
        b.start()
        freeze = 2 + 2 + 3   # lease + timeout + 3 s
        c.traffic = Traffic([a, b], s.rate, c.name)
        c.traffic.start(5 + freeze + 10)
        time.sleep(5)
        t0 = now()
        a.freeze()
        c.crashes.append({"inst": "a", "at": t0})
        log(f"instance_freeze: a stopped for {freeze} s")
        time.sleep(freeze)
        a.cont()
        c.crashes[-1]["until"] = now()
        c.figures["frozen_s"] = freeze
        c.traffic.thread.join(timeout=30)
        return c.finish()
    finally:
        c.close()


def case_kill9(s: "Suite") -> dict:
    c = Case(s, "kill9")
    try:
        a, b = c.relay("a"), c.relay("b")
        a.start()
        b.start()
        c.traffic = Traffic([a, b], s.rate, c.name)
        c.traffic.start(20)
        time.sleep(6)
        t0 = now()
        a.kill()
        c.crashes.append({"inst": "a", "at": t0})
        log("kill9: a killed")
        time.sleep(5)
        a.start()
        c.figures["restart_ready_s"] = round(now() - t0 - 5, 2)
        c.traffic.thread.join(timeout=30)
        return c.finish()
    finally:
        c.close()


def case_sigterm_attempt(s: "Suite") -> dict:
    """One instance; each event's first attempt answers 500, its second (the last of `retry: [200ms]`) is held
    longer than relay's shutdown grace (10 s). SIGTERM while those attempts are under way: the jobs must go back
    to pending (no dead letter) and be delivered after a restart."""
    c = Case(s, "sigterm_attempt")
    try:
        hold = 14.0
        phase = {"restarted": False}

        def behave(event_id, n, inst):
            if phase["restarted"]:
                return random.uniform(0.02, 0.1), 200
            return (0.02, 500) if n == 1 else (hold, 200)

        c.receiver.behave = behave
        a = c.relay("a", retry="[200ms]", timeout="20s", breaker="off")
        a.start()
        c.traffic = Traffic([a], 10, c.name)
        c.traffic.start(0.5)   # 5 events
        c.traffic.thread.join(timeout=10)
        for t in c.traffic.live:
            t.join(timeout=10)
        # Wait (bounded) until every event's second attempt is being held.
        started = now()
        n = len(c.traffic.acked)
        while now() - started < 15:
            with c.receiver.lock:
                held = sum(1 for k, v in c.receiver.counts.items() if v >= 2)
            if held >= n:
                break
            time.sleep(0.05)
        c.figures["held_at_sigterm"] = held
        time.sleep(0.5)
        t0 = now()
        a.signal(signal.SIGTERM)
        c.crashes.append({"inst": "a", "at": t0})
        log("sigterm_attempt: SIGTERM with attempts held")
        try:
            code = a.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            code = None
            a.kill()
        c.crashes[-1]["until"] = now()
        c.figures["exit_code"] = code
        c.figures["exit_after_s"] = round(now() - t0, 2)
        if code != 0:
            c.extra_failures.append(f"relay did not exit 0 after SIGTERM (exit {code})")
        mid = crm_stats(a.stats())
        c.figures["stats_after_stop"] = None if mid is None else {k: mid.get(k) for k in ("pending", "in_flight", "dead")}
        if mid and mid.get("dead"):
            c.extra_failures.append(f"{mid['dead']} dead letters after SIGTERM during the last attempt")
        phase["restarted"] = True
        a.start()
        # Dead letters are replayed (what an operator would do), so the end state and delivery can still be read.
        if mid and mid.get("dead"):
            run([a.binary, "dlq", "replay", "--all", "--config", a.config], check=False, timeout=30)
        return c.finish(deliver_limit=30)
    finally:
        c.close()


CASES = {
    "clock_skew": case_clock_skew,
    "pg_freeze": case_pg_freeze,
    "pg_stop": case_pg_stop,
    "partition": case_partition,
    "partition_flows": case_partition_flows,
    "instance_freeze": case_instance_freeze,
    "kill9": case_kill9,
    "sigterm_attempt": case_sigterm_attempt,
    "pg_outage_120s": case_outage_120,
}
LONG = {"pg_outage_120s"}


class Suite:
    def __init__(self, args):
        self.args = args
        self.work = tempfile.mkdtemp(prefix=f"{PREFIX}.")
        os.chmod(self.work, 0o755)
        self.binary = f"{self.work}/relay"
        shutil.copy2(args.relay, self.binary)
        self.rate = args.rate
        self._pg: Postgres | None = None

    def pg(self) -> Postgres:
        if self._pg is None:
            self._pg = Postgres()
        return self._pg

    def dur(self, full: float, quick: float | None = None) -> float:
        return (quick if quick is not None else full / 2) if self.args.quick else full


def stale_cleanup() -> None:
    """A previous run's leftovers, by the fixed prefix: its namespace and servers."""
    if ROOT:
        netns_remove()
    for pidfile in glob.glob(f"{tempfile.gettempdir()}/{PREFIX}*/**/postmaster.pid", recursive=True) + \
            glob.glob(f"{tempfile.gettempdir()}/{PREFIX}-pg.*/data/postmaster.pid"):
        data = os.path.dirname(pidfile)
        try:
            cmd = [f"{pg_bin()}/pg_ctl", "stop", "-m", "immediate", "-D", data]
            run((["runuser", "-u", "postgres", "--"] if ROOT else []) + cmd, check=False, timeout=60)
        except Exception:
            pass


def table(results: list[dict]) -> str:
    head = ("| case | verdict | sent | acked | 503s | delivered | lost | attempts | dup attempts | dup deliveries "
            "(excused) | overlapping events (both instances) | recovery | end stats | why |")
    rows = [head, "|" + "---|" * 14]
    for r in results:
        if "error" in r:
            rows.append(f"| {r['case']} | ERROR | | | | | | | | | | | | {r['error']} |")
            continue
        rec = r.get("first_200_after_heal_s")
        recovery = []
        if rec is not None or "first_200_after_heal_s" in r:
            recovery.append(f"first 200 after heal: {rec}")
        if r.get("restarted"):
            recovery.append("stuck: restarted")
        recovery.append(f"all delivered +{r.get('deliver_s')} s")
        st = r.get("stats") or {}
        rows.append(
            f"| {r['case']} | {r['verdict']} | {r['sent']} | {r['acked']} | {r['n503']} | {r['delivered']} | {r['lost']} "
            f"| {r['attempts']} | {r['dup_attempts']} | {r['dup_deliveries']} ({r['dup_excused']}) "
            f"| {r['overlap_events']} ({r['overlap_cross_instance']}) | {'; '.join(recovery)} "
            f"| p{st.get('pending')} f{st.get('in_flight')} d{st.get('dead')} ok{st.get('delivered')} "
            f"| {'; '.join(r['failures'])} |")
    return "\n".join(rows)


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "_proxy":
        proxy_main(*sys.argv[2:])
        return 0
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--relay", default=os.path.join(here, "..", ".build", "debug", "relay"))
    p.add_argument("--case", action="append", choices=sorted(CASES), help="run only this case (repeatable)")
    p.add_argument("--quick", action="store_true", help="shorter traffic and faults; no 120 s outage")
    p.add_argument("--long", dest="long", action="store_true", default=None, help="include the 120 s outage (default)")
    p.add_argument("--no-long", dest="long", action="store_false")
    p.add_argument("--rate", type=float, default=20.0, help="events per second, over all instances")
    p.add_argument("--json", help="write the results to this file")
    p.add_argument("--keep", action="store_true", help="keep the work folder (logs, configs, attempts.json)")
    p.add_argument("--blackhole", choices=["route", "link"], default="route",
                   help="how the partition drops packets: a blackhole route for PostgreSQL's replies (default), or its link down")
    args = p.parse_args()
    if args.long is None:
        args.long = not args.quick
    global BLACKHOLE
    BLACKHOLE = args.blackhole
    if not os.path.exists(args.relay):
        print(f"faults: no relay binary at {args.relay} (swift build first)", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    names = args.case or [n for n in CASES if n not in LONG or args.long]
    results = []
    suite = None
    try:
        stale_cleanup()
        suite = Suite(args)
        log(f"relay copied to {suite.binary}; work folder {suite.work}")
        for name in names:
            log(f"== {name}")
            started = now()
            try:
                r = CASES[name](suite)
            except KeyboardInterrupt:
                raise
            except Exception as e:
                traceback.print_exc()
                r = {"case": name, "verdict": "FAIL", "error": f"{type(e).__name__}: {e}"[:300]}
            r["case_s"] = round(now() - started, 1)
            results.append(r)
            print("CASE_JSON " + json.dumps(r, default=str), flush=True)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        REG.cleanup()
        if suite and not args.keep:
            shutil.rmtree(suite.work, ignore_errors=True)
        elif suite:
            log(f"kept {suite.work}")
    print()
    print(table(results))
    failed = [r["case"] for r in results if r["verdict"] != "PASS"]
    print()
    if failed:
        print(f"failed cases: {', '.join(failed)}")
    print(f"faults: {len(results) - len(failed)} passed, {len(failed)} failed")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=str)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
