#!/usr/bin/env python3
"""Helpers for bench/run.sh (standard library only). Subcommands:

  freeport [N]                     N different free TCP ports on 127.0.0.1
  wrk-json FILE                    the BENCH_JSON line that line.lua printed into a wrk output, as JSON
  wait-ready URL LAUNCH_NS [T]     polls URL until 200; prints seconds since LAUNCH_NS (time.time_ns()) or fails after T s
  metrics URL                      relay's /metrics digested: ack quantiles, commit groups, event counts, ledger
                                   status events that advanced their message or were stale (JSON)
  drain ADMIN TOKEN BACKLOG T      polls /admin/stats until no destination has more than BACKLOG pending, none in
                                   flight and delivered >= accepted; prints JSON with the seconds it took
  sample ADMIN TOKEN BACKLOG N      undelivered jobs (pending + in flight, less BACKLOG per destination) once a second,
                                   N times, as a JSON list (while a load runs)
  rss PID                          VmHWM and VmRSS of PID in MiB (JSON)
  cpu-snap NAME=PID...             the machine's CPU counters and the CPU time of each PID with its child processes
                                   (JSON, for cpu-diff)
  cpu-diff BEFORE AFTER REQUESTS   what a load cost between two cpu-snap files: cores busy, and CPU microseconds per
                                   request for each NAME and for the rest of the machine (wrk, the kernel) (JSON)
  put RESULTS KEY JSON             sets RESULTS[KEY] (KEY may be dotted) in the JSON file RESULTS
"""
import json
import os
import re
import socket
import sys
import time
import urllib.error
import urllib.request


def freeport(count: str = "1") -> None:
    sockets = [socket.socket() for _ in range(int(count))]
    for s in sockets:  # all bound at once, so the ports differ
        s.bind(("127.0.0.1", 0))
    print(" ".join(str(s.getsockname()[1]) for s in sockets))
    for s in sockets:
        s.close()


def wrk_json(path: str) -> None:
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("BENCH_JSON "):
                print(line[len("BENCH_JSON "):].strip())
                return
    sys.exit(f"benchlib: no BENCH_JSON line in {path}")


def get(url: str, token: str = "", timeout: float = 5.0) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_ready(url: str, launch_ns: str, limit: str = "300") -> None:
    launched = int(launch_ns) / 1e9
    while time.time() - launched < float(limit):
        try:
            if get(url, timeout=1.0)[0] == 200:
                print(f"{time.time() - launched:.3f}")
                return
        except OSError:
            pass
        time.sleep(0.01)
    sys.exit(f"benchlib: {url} not ready after {limit} s")


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> list[tuple[str, dict, float]]:
    samples = []
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match and not line.startswith("#"):
            labels = dict(LABEL.findall(match.group(2) or ""))
            samples.append((match.group(1), labels, float(match.group(3))))
    return samples


def histogram_quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """Prometheus-style: linear interpolation inside the bucket holding the q-th observation."""
    buckets = sorted(buckets)
    if not buckets or buckets[-1][1] == 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return lower_bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / max(count - lower_count, 1e-9)
        lower_bound, lower_count = bound, count
    return lower_bound


def metrics_digest(url: str) -> dict:
    status, body = get(url)
    if status != 200:
        sys.exit(f"benchlib: {url} answered {status}")
    samples = parse_metrics(body.decode())

    def total(name: str, **want: str) -> float:
        return sum(v for n, labels, v in samples if n == name and all(labels.get(k) == w for k, w in want.items()))

    buckets: dict[float, float] = {}
    for name, labels, value in samples:
        if name == "relay_ack_seconds_bucket":
            bound = float(labels["le"].replace("+Inf", "inf"))
            buckets[bound] = buckets.get(bound, 0) + value
    ack = {f"p{int(q * 100)}_ms": (None if (v := histogram_quantile(q, list(buckets.items()))) is None else round(v * 1000, 3))
           for q in (0.5, 0.99)}
    count = total("relay_ack_seconds_count")
    over = {f"ack_over_{int(b * 1000)}ms": count - buckets.get(b, count) for b in (0.1, 0.25, 0.5, 1.0, 2.0)}
    commits = total("relay_store_commits_total")
    requests = total("relay_store_committed_requests_total")
    events = total("relay_store_committed_events_total")
    return {
        "ack": ack,
        "ack_count": count,
        **over,
        "commits": commits,
        "committed_requests": requests,
        "committed_events": events,
        "requests_per_commit": round(requests / commits, 2) if commits else None,
        "events_per_commit": round(events / commits, 2) if commits else None,
        "accepted": total("relay_events_total", outcome="accepted"),
        "duplicates": total("relay_events_total", outcome="duplicate"),
        # The receipt ledger (relay_status_events_total{source,progress}), summed over sources; 0 for LINE loads.
        "status_advanced": total("relay_status_events_total", progress="advanced"),
        "status_stale": total("relay_status_events_total", progress="stale"),
        "ingest_requests": total("relay_ingest_requests_total"),
        "ingest_non200": sum(v for n, labels, v in samples
                             if n == "relay_ingest_requests_total" and labels.get("status") != "200"),
        "delivery_attempts": total("relay_delivery_attempts_total"),
        "delivery_requests": total("relay_delivery_seconds_count"),
        "delivery_failures": sum(v for n, labels, v in samples
                                 if n == "relay_delivery_attempts_total" and labels.get("outcome") != "delivered"),
    }


def drain(admin: str, token: str, backlog: str, limit: str) -> None:
    started = time.time()
    backlog_n = int(backlog)
    last = {}
    while True:
        elapsed = time.time() - started
        status, body = get(admin + "/admin/stats", token)
        if status == 200:
            stats = json.loads(body)
            accepted = metrics_digest(admin + "/metrics")["accepted"]
            destinations = stats["destinations"]
            delivered = sum(d["delivered"] for d in destinations)
            last = {
                "pending": sum(d["pending"] for d in destinations) - backlog_n * len(destinations),
                "in_flight": sum(d["in_flight"] for d in destinations),
                "dead": sum(d["dead"] for d in destinations),
                "delivered": delivered, "accepted": accepted,
            }
            if last["pending"] <= 0 and last["in_flight"] == 0 and delivered >= accepted:
                print(json.dumps({"seconds": round(elapsed, 3), "complete": True, **last}))
                return
        if elapsed > float(limit):
            print(json.dumps({"seconds": round(elapsed, 3), "complete": False, **last}))
            return
        time.sleep(0.2)


def sample(admin: str, token: str, backlog: str, count: str) -> None:
    samples = []
    next_at = time.time() + 1
    for _ in range(int(count)):
        time.sleep(max(0.0, next_at - time.time()))
        next_at += 1
        status, body = get(admin + "/admin/stats", token)
        if status != 200:
            samples.append(None)
            continue
        destinations = json.loads(body)["destinations"]
        samples.append(sum(d["pending"] + d["in_flight"] for d in destinations) - int(backlog) * len(destinations))
    print(json.dumps(samples))


def rss(pid: str) -> None:
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                fields[key] = round(int(value.split()[0]) / 1024, 1)
    print(json.dumps({"peak_mib": fields.get("VmHWM"), "rss_mib": fields.get("VmRSS")}))


def process_ticks(pid: int) -> int:
    """utime + stime of `pid` (all its threads) and of its live child processes (nginx's workers), in clock ticks."""
    def own(p: int) -> int:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            return 0
    total = own(pid)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        total += own(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return total


def cpu_snap(*named: str) -> None:
    with open("/proc/stat") as f:
        machine = [int(x) for x in f.readline().split()[1:]]
    processes = {}
    for item in named:
        name, _, pid = item.partition("=")
        processes[name] = process_ticks(int(pid))
    print(json.dumps({"machine": machine, "processes": processes}))


def cpu_diff(before_path: str, after_path: str, requests: str) -> None:
    with open(before_path) as f:
        before = json.load(f)
    with open(after_path) as f:
        after = json.load(f)
    delta = [b - a for a, b in zip(before["machine"], after["machine"])]
    total = sum(delta[:8])  # user nice system idle iowait irq softirq steal (guest time is inside user)
    idle = delta[3] + delta[4]
    busy = total - idle
    seconds = total / os.sysconf("SC_CLK_TCK") / os.cpu_count()  # wall time the snapshots span
    n = max(int(requests), 1)
    per = lambda ticks: round(ticks / os.sysconf("SC_CLK_TCK") / n * 1e6, 1)
    named = {name: per(after["processes"].get(name, 0) - ticks) for name, ticks in before["processes"].items()}
    named_ticks = sum(after["processes"].get(name, 0) - ticks for name, ticks in before["processes"].items())
    print(json.dumps({
        "busy_cores": round(busy / total * os.cpu_count(), 2) if total else None,
        "seconds": round(seconds, 2),
        "us_per_request": {**named, "rest": per(busy - named_ticks), "machine": per(busy)},
    }))


def put(path: str, key: str, value: str) -> None:
    try:
        with open(path) as f:
            results = json.load(f)
    except FileNotFoundError:
        results = {}
    node = results
    *parents, last = key.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = json.loads(value)
    with open(path, "w") as f:
        json.dump(results, f, indent=1)


def main() -> None:
    commands = {
        "freeport": freeport, "wrk-json": wrk_json, "wait-ready": wait_ready, "drain": drain, "sample": sample, "rss": rss, "put": put,
        "cpu-snap": cpu_snap, "cpu-diff": cpu_diff,
        "metrics": lambda url: print(json.dumps(metrics_digest(url))),
    }
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]](*sys.argv[2:])


if __name__ == "__main__":
    main()
