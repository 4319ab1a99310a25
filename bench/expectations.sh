#!/usr/bin/env bash
# Issue 17's figure: registering 100,000 expectations (100 requests of 1,000) beside a LINE ingest load, against the
# same load alone. Usage: bash bench/expectations.sh (uses .build/release/relay; wrk, curl and python3 on PATH).
set -euo pipefail
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd); ROOT=$(dirname "$BENCH")
RELAY=${RELAY:-$ROOT/.build/release/relay}; DURATION=${DURATION:-15s}; SECRET=bench-line-channel-secret
WORK=$(mktemp -d /tmp/relay-expect.XXXXXX); trap 'kill $RELAY_PID 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
read -r INGEST ADMIN <<<"$(python3 "$BENCH/benchlib.py" freeport 2)"
cat >"$WORK/routes.yaml" <<YAML
listen: 127.0.0.1:$INGEST
admin:
  listen: 127.0.0.1:$ADMIN
store:
  sqlite: $WORK/relay.db
sources:
  line:
    provider: line
    channel_secret: $SECRET
    expect_receipt: 24h
routes: []
YAML
python3 "$BENCH/gen_line.py" --secret "$SECRET" --out "$WORK/line.tsv" --requests 200000 --events-per-request 1
"$RELAY" serve --config "$WORK/routes.yaml" >"$WORK/relay.log" 2>&1 & RELAY_PID=$!
until curl -fsS -o /dev/null "http://127.0.0.1:$INGEST/readyz" 2>/dev/null; do sleep 0.05; done
load() { wrk -t2 -c64 -d"$DURATION" --latency -s "$BENCH/line.lua" "http://127.0.0.1:$INGEST/webhooks/line" -- "$1" 2 | grep BENCH_JSON | sed 's/^BENCH_JSON //'; }
head -100000 "$WORK/line.tsv" >"$WORK/a.tsv"; tail -100000 "$WORK/line.tsv" >"$WORK/b.tsv"
alone=$(load "$WORK/a.tsv")
python3 - "$ADMIN" >"$WORK/register.json" <<'PY' &
import json, sys, time, urllib.request
port = sys.argv[1]
time.sleep(2)
start = time.time(); registered = 0
for r in range(100):
    body = json.dumps({"source": "line", "expectations": [{"key": f"tag-{r}-{i}", "within": "24h"} for i in range(1000)]}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/admin/expectations", data=body, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as reply:
        registered += json.load(reply)["registered"]
print(json.dumps({"registered": registered, "seconds": round(time.time() - start, 2)}))
PY
REG=$!
beside=$(load "$WORK/b.tsv")
wait $REG
python3 - "$alone" "$beside" "$(cat "$WORK/register.json")" <<'PY'
import json, sys
alone, beside, reg = (json.loads(a) for a in sys.argv[1:4])
print(f"LINE load alone:               {alone['rps']:.0f} req/s, p99 {alone['p99_ms']:.1f} ms")
print(f"LINE load beside registration: {beside['rps']:.0f} req/s, p99 {beside['p99_ms']:.1f} ms")
print(f"registered {reg['registered']} expectations in {reg['seconds']} s (100 requests of 1,000)")
PY
