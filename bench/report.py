#!/usr/bin/env python3
"""Turns the results JSON that run.sh collected into the markdown results table (stdout)."""
import json
import sys


def fmt(value, digits=0, unit=""):
    if value is None:
        return "n/a"
    text = f"{value:,.{digits}f}" if isinstance(value, (int, float)) else str(value)
    return text + unit


def verdict(ok):
    return "n/a" if ok is None else ("met" if ok else "**MISSED**")


def over(metrics):
    return " / ".join(fmt(metrics.get(f"ack_over_{ms}ms")) for ms in (100, 250, 500, 1000, 2000))


def tail_rows(row, name, w, metrics):
    row(f"{name}: ack p50 / p99 / p99.9 / max (wrk)",
        f"{fmt(w.get('p50_ms'), 2)} / {fmt(w.get('p99_ms'), 2)} / {fmt(w.get('p999_ms'), 2)} / {fmt(w.get('max_ms'), 2)} ms",
        "p99 <= 50 ms", None if w.get("p99_ms") is None else w["p99_ms"] <= 50)
    row(f"{name}: acks slower than 0.1 / 0.25 / 0.5 / 1 / 2 s (histogram)", over(metrics),
        "0 over 2 s (LINE)", None if metrics.get("ack_over_2000ms") is None else metrics["ack_over_2000ms"] == 0)
    row(f"{name}: non-2xx / timeouts", f"{fmt(w.get('non2xx'))} / {fmt(w.get('timeouts'))}", "0",
        None if not w else w.get("non2xx", 0) + w.get("timeouts", 0) == 0)


def pace_rows(row, name, section, w):
    """The undelivered jobs sampled during a load, and their growth over its second half (near 0: keeps pace)."""
    samples = [x for x in section.get("backlog_samples", []) if x is not None]
    if not samples:
        return
    half = samples[len(samples) // 2:]
    growth = (half[-1] - half[0]) / (len(half) - 1) if len(half) > 1 else None
    every = max(1, len(samples) // 5)
    row(f"{name}: undelivered jobs during the load (every few seconds)", " ".join(fmt(x) for x in samples[every - 1::every]))
    row(f"{name}: backlog growth over the second half of the load", fmt(growth, 0, " jobs/s"), "~0 (keeps pace)",
        None if growth is None else growth <= 0.02 * w.get("rps", 0))


def cpu_row(row, name, section):
    """Where the machine's CPU went during a load: microseconds per request for each process measured, the rest
    (wrk, kernel work outside them), and the cores busy (of all; idle is the remainder)."""
    cpu = section.get("cpu")
    if not cpu:
        return
    per = cpu.get("us_per_request", {})
    parts = [f"{label} {fmt(value, 1)}" for label, value in per.items() if label not in ("rest", "machine")]
    row(f"{name}: CPU per request, µs (machine {fmt(per.get('machine'), 1)}; cores busy {fmt(cpu.get('busy_cores'), 2)})",
        ", ".join(parts + [f"wrk and the rest {fmt(per.get('rest'), 1)}"]))


def main() -> None:
    with open(sys.argv[1]) as f:
        r = json.load(f)
    meta, a, b = r.get("meta", {}), r.get("a", {}), r.get("b", {})
    rows = []

    def row(measure, value, target="", ok=None):
        rows.append(f"| {measure} | {value} | {target} | {verdict(ok) if target else ''} |")

    aw, bw = a.get("wrk", {}), b.get("wrk", {})
    ratio = bw["rps"] / aw["rps"] if aw.get("rps") and bw.get("rps") else None
    row("A: nginx proxy -> nginx, requests/s", fmt(aw.get("rps")))
    row("A: latency p50 / p99", f"{fmt(aw.get('p50_ms'), 2)} / {fmt(aw.get('p99_ms'), 2)} ms")
    cpu_row(row, "A", a)
    nw = r.get("n", {}).get("wrk", {})
    if nw:
        row("N: plain SwiftNIO HTTP/1.1 answering 200 (2 event loops, no framework), requests/s",
            f"{fmt(nw.get('rps'))} ({fmt(nw['rps'] / aw['rps'] if nw.get('rps') and aw.get('rps') else None, 3)} of A)")
        cpu_row(row, "N", r.get("n", {}))
    hw, sw = r.get("h", {}).get("wrk", {}), r.get("a_stack", {}).get("wrk", {})
    if hw or sw:
        row("H: Hummingbird answering 200 (relay's stack, none of its work), requests/s",
            f"{fmt(hw.get('rps'))} ({fmt(hw['rps'] / aw['rps'] if hw.get('rps') and aw.get('rps') else None, 3)} of A)")
        row("A': Hummingbird -> AsyncHTTPClient proxy -> nginx (A with relay's stack), requests/s",
            f"{fmt(sw.get('rps'))} ({fmt(sw['rps'] / aw['rps'] if sw.get('rps') and aw.get('rps') else None, 3)} of A)")
        ow = r.get("a_own", {}).get("wrk", {})
        if ow:
            row("A'': Hummingbird -> a minimal client on NIO's HTTP/1.1 codec -> nginx, requests/s",
                f"{fmt(ow.get('rps'))} ({fmt(ow['rps'] / aw['rps'] if ow.get('rps') and aw.get('rps') else None, 3)} of A)")
        cpu_row(row, "H", r.get("h", {}))
        cpu_row(row, "A'", r.get("a_stack", {}))
        if ow:
            cpu_row(row, "A''", r.get("a_own", {}))
    row("B: relay (verify, dedup, fsync, dispatch), requests/s", fmt(bw.get("rps")))
    row("B/A throughput ratio", fmt(ratio, 3), ">= 0.5", None if ratio is None else ratio >= 0.5)
    if sw.get("rps") and bw.get("rps"):
        row("B/A' (relay against its own stack as a bare proxy)", fmt(bw["rps"] / sw["rps"], 3))
    row("B: ack latency p50 (wrk)", fmt(bw.get("p50_ms"), 2, " ms"))
    row("B: ack latency p99 (wrk)", fmt(bw.get("p99_ms"), 2, " ms"), "<= 50 ms",
        None if bw.get("p99_ms") is None else bw["p99_ms"] <= 50)
    row("B: ack latency p99.9 / max (wrk)", f"{fmt(bw.get('p999_ms'), 2)} / {fmt(bw.get('max_ms'), 2)} ms")
    bm = b.get("metrics", {})
    ack = bm.get("ack", {})
    row("B: relay_ack_seconds p50 / p99 (histogram, interpolated)", f"{fmt(ack.get('p50_ms'), 2)} / {fmt(ack.get('p99_ms'), 2)} ms")
    row("B: acks slower than 0.1 / 0.25 / 0.5 / 1 / 2 s (histogram)", over(bm))
    errors = sum(w.get(k, 0) for w in (aw, bw) for k in ("non2xx", "connect_errors", "read_errors", "write_errors", "timeouts"))
    row("non-2xx responses A / B", f"{fmt(aw.get('non2xx'))} / {fmt(bw.get('non2xx'))}", "0",
        None if not bw else (aw.get("non2xx", 0) + bw.get("non2xx", 0)) == 0)
    row("socket errors A + B (connect, read, write, timeout)", fmt(errors))
    row("B: repeated request bodies (file too short)", fmt(bw.get("repeats")), "0",
        None if not bw else bw.get("repeats", 0) == 0)
    row("B: events accepted / duplicates (relay metrics)", f"{fmt(bm.get('accepted'))} / {fmt(bm.get('duplicates'))}")
    bd = b.get("drain", {})
    row("B: end of load -> all accepted delivered", fmt(bd.get("seconds"), 2, " s") + ("" if bd.get("complete", True) else " (INCOMPLETE)"),
        "<= 60 s", None if not bd else bd.get("complete") and bd["seconds"] <= 60)
    pace_rows(row, "B", b, bw)
    row("B: delivered / accepted / dead", f"{fmt(bd.get('delivered'))} / {fmt(bd.get('accepted'))} / {fmt(bd.get('dead'))}")
    row("B: delivery attempts that failed", fmt(bm.get("delivery_failures")))
    peak = b.get("rss", {}).get("peak_mib")
    row("B: relay peak RSS (VmHWM)", fmt(peak, 1, " MiB"), "<= 150 MB", None if peak is None else peak * 1.048576 <= 150)
    row("B: commit groups", fmt(bm.get("commits")))
    row("B: mean requests / events per commit", f"{fmt(bm.get('requests_per_commit'), 2)} / {fmt(bm.get('events_per_commit'), 2)}")
    row("B: relay start-up, empty store (launch -> /readyz 200)", fmt(b.get("startup_s"), 3, " s"))
    cpu_row(row, "B", b)

    g = r.get("b_batch")
    if g:
        gw, gm, gd = g.get("wrk", {}), g.get("metrics", {}), g.get("drain", {})
        gratio = gw["rps"] / aw["rps"] if aw.get("rps") and gw.get("rps") else None
        row(f"B-batch: relay, destination `batch: {meta.get('dest_batch')}`, `concurrency: {meta.get('batch_concurrency')}`, requests/s",
            fmt(gw.get("rps")))
        row("B-batch/A throughput ratio", fmt(gratio, 3), ">= 0.5", None if gratio is None else gratio >= 0.5)
        row("B-batch: ack p50 / p99 (wrk)", f"{fmt(gw.get('p50_ms'), 2)} / {fmt(gw.get('p99_ms'), 2)} ms", "p99 <= 50 ms",
            None if gw.get("p99_ms") is None else gw["p99_ms"] <= 50)
        pace_rows(row, "B-batch", g, gw)
        row("B-batch: end of load -> all accepted delivered", fmt(gd.get("seconds"), 2, " s") + ("" if gd.get("complete", True) else " (INCOMPLETE)"),
            "<= 60 s", None if not gd else gd.get("complete") and gd["seconds"] <= 60)
        per = gm["delivery_attempts"] / gm["delivery_requests"] if gm.get("delivery_requests") else None
        row("B-batch: delivery requests / events per request", f"{fmt(gm.get('delivery_requests'))} / {fmt(per, 1)}")
        cpu_row(row, "B-batch", g)
        row("B-batch: non-2xx / repeats / peak RSS", f"{fmt(gw.get('non2xx'))} / {fmt(gw.get('repeats'))} / {fmt(g.get('rss', {}).get('peak_mib'), 1, ' MiB')}")

    ci, cb = r.get("cg_ingest"), r.get("cg_b")
    if ci or cb:
        ci, cb = ci or {}, cb or {}
        row("callgrind: instructions per ingest-only request (static build; repeatable)", fmt(ci.get("per_request")),
            "", None)
        row("callgrind: instructions per B request (ingest + one delivery)", fmt(cb.get("per_request")))
        if ci.get("per_request") and cb.get("per_request"):
            row("callgrind: instructions per delivery (B - ingest only)", fmt(cb["per_request"] - ci["per_request"]))
        row("callgrind: requests counted (ingest / B)", f"{fmt(ci.get('requests'))} / {fmt(cb.get('requests'))}")
        row("callgrind: gross per request, timers not taken out (ingest / B)", f"{fmt(ci.get('per_request_gross'))} / {fmt(cb.get('per_request_gross'))}")

    for key, name in (("b_ordered", "B-ordered (every event its own subject)"), ("b_ordered10", "B-ordered10 (10 events per subject)")):
        o = r.get(key)
        if not o:
            continue
        ow, od = o.get("wrk", {}), o.get("drain", {})
        short = name.split(" ")[0]
        oratio = ow["rps"] / bw["rps"] if bw.get("rps") and ow.get("rps") else None
        row(f"{name}: relay, destination `ordering: subject`, requests/s", fmt(ow.get("rps")))
        row(f"{short}/B throughput ratio", fmt(oratio, 3), ">= 0.8" if key == "b_ordered" else "",
            None if oratio is None or key != "b_ordered" else oratio >= 0.8)
        row(f"{short}: ack p50 / p99 (wrk)", f"{fmt(ow.get('p50_ms'), 2)} / {fmt(ow.get('p99_ms'), 2)} ms")
        pace_rows(row, short, o, ow)
        row(f"{short}: end of load -> all accepted delivered", fmt(od.get("seconds"), 2, " s") + ("" if od.get("complete", True) else " (INCOMPLETE)"))
        cpu_row(row, short, o)

    for key, name in (("pg1", "PG-1"), ("pg2", "PG-2")):
        q = r.get(key)
        if not q:
            continue
        qw, qm, qd = q.get("wrk", {}), q.get("metrics", {}), q.get("drain", {})
        label = ("relay on PostgreSQL, one instance" if key == "pg1"
                 else "two relays behind nginx on one PostgreSQL")
        qb = qw["rps"] / bw["rps"] if bw.get("rps") and qw.get("rps") else None
        row(f"{name}: {label}, requests/s (of SQLite B in this run)", f"{fmt(qw.get('rps'))} ({fmt(qb, 3)} of B)",
            ">= 0.5 of B" if key == "pg1" else "", None if key != "pg1" or qb is None else qb >= 0.5)
        row(f"{name}: ack p50 / p99 (wrk); non-2xx", f"{fmt(qw.get('p50_ms'), 2)} / {fmt(qw.get('p99_ms'), 2)} ms; {fmt(qw.get('non2xx'))}",
            "p99 <= 50 ms", None if qw.get("p99_ms") is None else qw["p99_ms"] <= 50)
        # Accepted by both instances (each counts its own); delivered is the shared store's.
        accepted = (qm.get("accepted") or 0) + (q.get("metrics2", {}).get("accepted") or 0) if qm.get("accepted") is not None else None
        row(f"{name}: end of load -> all accepted delivered; delivered / accepted / dead",
            fmt(qd.get("seconds"), 2, " s") + ("" if qd.get("complete", True) else " (INCOMPLETE)")
            + f"; {fmt(qd.get('delivered'))} / {fmt(accepted)} / {fmt(qd.get('dead'))}",
            "all delivered", None if not qd or accepted is None else bool(qd.get("complete")) and qd.get("delivered") == accepted)
        row(f"{name}: mean requests per commit (first instance)", fmt(qm.get("requests_per_commit"), 2))
        cpu_row(row, name, q)

    i = r.get("ingest")
    if i:
        iw, im = i.get("wrk", {}), i.get("metrics", {})
        row("ingest only (events stored, none routed: B without delivery), requests/s",
            f"{fmt(iw.get('rps'))} ({fmt(iw['rps'] / aw['rps'] if iw.get('rps') and aw.get('rps') else None, 3)} of A)")
        row("ingest only: ack p50 / p99 (wrk); non-2xx", f"{fmt(iw.get('p50_ms'), 2)} / {fmt(iw.get('p99_ms'), 2)} ms; {fmt(iw.get('non2xx'))}")
        row("ingest only: mean requests per commit", fmt(im.get("requests_per_commit"), 2))
        cpu_row(row, "ingest only", i)
    f = r.get("ingest_where")
    if f and i:
        fw = f.get("wrk", {})
        share = fw["rps"] / iw["rps"] if fw.get("rps") and iw.get("rps") else None
        row("ingest with a three-key `where` on every route (no delivery), requests/s", fmt(fw.get("rps")))
        row("ingest with filters / ingest only", fmt(None if share is None else share * 100, 1, " %"), ">= 95 %",
            None if share is None else share >= 0.95)
        cpu_row(row, "ingest with filters", f)

    # Tracing on (TRACING=1): the same loads, every request and attempt a span exported over OTLP to a loopback sink.
    for key, base, name in (("b_traced", r.get("b"), "B traced"), ("ingest_traced", i, "ingest only traced")):
        t = r.get(key)
        if not t or not base:
            continue
        tw, bw0 = t.get("wrk", {}), base.get("wrk", {})
        share = tw["rps"] / bw0["rps"] if tw.get("rps") and bw0.get("rps") else None
        row(f"{name} (always_on, OTLP/HTTP to a sink), requests/s (of tracing off)", f"{fmt(tw.get('rps'))} ({fmt(share, 3)})")
        row(f"{name}: ack p50 / p99 (wrk); non-2xx", f"{fmt(tw.get('p50_ms'), 2)} / {fmt(tw.get('p99_ms'), 2)} ms; {fmt(tw.get('non2xx'))}")
        off = (base.get("cpu") or {}).get("us_per_request", {}).get("relay")
        on = (t.get("cpu") or {}).get("us_per_request", {}).get("relay")
        row(f"{name}: relay CPU per request, µs (tracing off -> on)", f"{fmt(off, 1)} -> {fmt(on, 1)}")
        cpu_row(row, name, t)

    led = r.get("ledger")
    if led:
        lw, lm = led.get("wrk", {}), led.get("metrics", {})
        iw = (i or {}).get("wrk", {})
        share = lw["rps"] / iw["rps"] if lw.get("rps") and iw.get("rps") else None
        row("ledger (8x8 status events, 3 per umid in shuffled order, stored with the receipt ledger, none routed), requests/s",
            f"{fmt(lw.get('rps'))} ({fmt(lw['rps'] / aw['rps'] if lw.get('rps') and aw.get('rps') else None, 3)} of A)")
        row("ledger vs ingest only (LINE, no ledger work), requests/s", fmt(None if share is None else share * 100, 1, " %"),
            "within 15 %", None if share is None else share >= 0.85)
        row("ledger: ack p50 / p99 (wrk); non-2xx / repeats",
            f"{fmt(lw.get('p50_ms'), 2)} / {fmt(lw.get('p99_ms'), 2)} ms; {fmt(lw.get('non2xx'))} / {fmt(lw.get('repeats'))}",
            "p99 <= 50 ms", None if lw.get("p99_ms") is None else lw["p99_ms"] <= 50)
        row("ledger: mean requests per commit", fmt(lm.get("requests_per_commit"), 2))
        cpu_row(row, "ledger", led)
        if lm.get("status_advanced") is not None:
            row("ledger: status events that advanced their message / were stale (relay_status_events_total); accepted",
                f"{fmt(lm.get('status_advanced'))} / {fmt(lm.get('status_stale'))}; {fmt(lm.get('accepted'))}")
    elif r.get("skipped_ledger"):
        row("ledger section", "skipped")

    k = r.get("backlog")
    if k:
        kw = k.get("wrk", {})
        diff = (kw["rps"] - bw["rps"]) / bw["rps"] * 100 if kw.get("rps") and bw.get("rps") else None
        n = fmt(k.get("rows"))
        row(f"backlog: rows inserted (events, jobs, dedup keys) / time", f"{n} / {fmt(k.get('populate_s'), 1, ' s')}")
        row(f"backlog: relay start-up with {n} pending (launch -> /readyz 200)", fmt(k.get("startup_s"), 3, " s"))
        row(f"backlog: requests/s, empty store vs {n} pending", f"{fmt(bw.get('rps'))} vs {fmt(kw.get('rps'))}")
        row("backlog: ingest rate difference", fmt(diff, 1, " %"), "within 20 %", None if diff is None else diff >= -20)
        tail_rows(row, "backlog", kw, k.get("metrics", {}))
        kd = k.get("drain", {})
        row("backlog: end of load -> new events delivered", fmt(kd.get("seconds"), 2, " s") + ("" if kd.get("complete", True) else " (INCOMPLETE)"))
        row("backlog: relay peak RSS", fmt(k.get("rss", {}).get("peak_mib"), 1, " MiB"))
    elif r.get("skipped_backlog"):
        row("backlog section", "skipped")

    p = r.get("prune")
    if p:
        pw = p.get("wrk", {})
        diff = (pw["rps"] - bw["rps"]) / bw["rps"] * 100 if pw.get("rps") and bw.get("rps") else None
        row("prune: delivered jobs older than 5 min for relay to prune", fmt(p.get("rows")))
        row("prune: requests/s while pruning (vs B)", f"{fmt(pw.get('rps'))} ({fmt(diff, 1, ' %')})")
        tail_rows(row, "prune", pw, p.get("metrics", {}))
    elif r.get("skipped_prune"):
        row("prune section", "skipped")

    m = r.get("batch")
    if m:
        mw, mm = m.get("wrk", {}), m.get("metrics", {})
        per = m.get("events_per_request", 10)
        row(f"multi ({per} events per webhook request): requests/s / events/s",
            f"{fmt(mw.get('rps'))} / {fmt(mw.get('rps', 0) * per)}")
        row("multi: ack p50 / p99 (wrk)", f"{fmt(mw.get('p50_ms'), 2)} / {fmt(mw.get('p99_ms'), 2)} ms")
        row("multi: non-2xx / repeats", f"{fmt(mw.get('non2xx'))} / {fmt(mw.get('repeats'))}", "0",
            None if not mw else mw.get("non2xx", 0) + mw.get("repeats", 0) == 0)
        row("multi: mean requests / events per commit", f"{fmt(mm.get('requests_per_commit'), 2)} / {fmt(mm.get('events_per_commit'), 2)}")
        md = m.get("drain", {})
        row("multi: end of load -> all delivered", fmt(md.get("seconds"), 2, " s") + ("" if md.get("complete", True) else " (INCOMPLETE)"))
        row("multi: relay peak RSS", fmt(m.get("rss", {}).get("peak_mib"), 1, " MiB"))
    elif r.get("skipped_batch"):
        row("multi section", "skipped")

    print(f"# relay benchmark ({'QUICK smoke run' if meta.get('quick') else 'full run'})\n")
    print(f"- when: {meta.get('date')}; commit {meta.get('commit')}; {meta.get('cpus')} CPUs; load average at start {meta.get('loadavg')}")
    print(f"- load: `wrk -t{meta.get('threads')} -c{meta.get('connections')} -d{meta.get('duration')} --latency`, "
          f"one distinct signed LINE delivery event per request ({fmt(meta.get('events'))} pre-generated)")
    if r.get("ledger"):
        print(f"- ledger = ingest only's set-up (nothing routed) fed 8x8 ChatApps status events through an 8x8 source "
              f"(`auth: bearer`): {fmt(meta.get('ledger_events'))} pre-generated, distinct umids with 3 statuses each in "
              "shuffled order, so every event reads and writes its message's ledger row; compared with ingest only's LINE "
              "events, which have no ledger work")
    print("- H and A' = relay-floor (Sources/relay-floor): relay's stack, Hummingbird in and AsyncHTTPClient out, with none of "
          "relay's work: H answers each POST at once, A' forwards it to the nginx origin and answers after it")
    print("- A = wrk -> nginx proxy_pass (keepalive 64) -> nginx return 200; "
          f"B = wrk -> relay -> dispatcher -> same nginx return 200 (concurrency {meta.get('dest_concurrency', '?')})")
    print(f"- each relay load starts {meta.get('settle')} s after /readyz 200, except: backlog, placed to include relay's "
          "30-second housekeeping pass; prune, started at once (its pass begins at start-up)")
    print("- wrk latencies include wrk's coordinated-omission correction; the histogram rows are relay's own, uncorrected")
    print("- targets are shown, not asserted; figures from a busy machine are for checking the harness only\n")
    print("| measure | value | target | |")
    print("| --- | --- | --- | --- |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
