#!/usr/bin/env bash
# Issue 15's figure: each console page's render time with 1,000,000 jobs in the store (900,000 pending, not due for a
# day, and 100,000 dead letters); since issue 30 also 48 hours of minute counts behind the overview's charts. Usage: bash bench/console.sh (uses .build/release/relay; sqlite3, curl, python3).
set -euo pipefail
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd); ROOT=$(dirname "$BENCH")
RELAY=${RELAY:-$ROOT/.build/release/relay}; TOKEN=bench-console-token
WORK=$(mktemp -d /tmp/relay-console.XXXXXX); PID=""
trap '[ -z "$PID" ] || kill $PID 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
read -r INGEST ADMIN <<<"$(python3 "$BENCH/benchlib.py" freeport 2)"
cat >"$WORK/routes.yaml" <<YAML
listen: 127.0.0.1:$INGEST
admin:
  listen: 127.0.0.1:$ADMIN
  token: $TOKEN
store:
  sqlite: $WORK/relay.db
sources:
  line:
    provider: line
    channel_secret: bench-secret
$(for j in 1 2 3 4 5 6 7 8 9; do printf '  s%s:\n    provider: line\n    channel_secret: bench-secret\n' $j; done)
$(for j in 0 1 2; do printf '  l%s:\n    provider: 8x8\n    auth:\n      bearer: bench-bearer\n' $j; done)
destinations:
  sink:
    url: http://127.0.0.1:9/events
$(for j in 1 2 3 4 5 6 7 8 9; do printf '  d%s:\n    url: http://127.0.0.1:9/d%s\n' $j $j; done)
routes:
  - to: [sink]
YAML
start() { "$RELAY" serve --config "$WORK/routes.yaml" >>"$WORK/relay.log" 2>&1 & PID=$!; until curl -fsS -o /dev/null "http://127.0.0.1:$INGEST/readyz" 2>/dev/null; do sleep 0.05; done; }
start; kill $PID; wait $PID 2>/dev/null || true; PID=""
populate() { sed -e "s/@ROWS@/$1/g" -e "s/@PREFIX@/$2/g" -e "s/@STATE@/$3/g" -e "s/@AGE_MS@/60000/g" -e "s/@NEXT_MS@/86400000/g" "$BENCH/populate.sql.in" | sqlite3 "$WORK/relay.db" >/dev/null; }
t0=$(date +%s); populate 900000 P pending; populate 100000 D dead; echo "populated in $(( $(date +%s) - t0 )) s: $(sqlite3 "$WORK/relay.db" 'SELECT COUNT(*) FROM jobs') jobs"
# Issue 30: 48 hours of minute counts (SPEC section 17) for 10 destinations (delivered, failed, pending), 10 sources
# (accepted, duplicates) and 3 ledger sources (six statuses each): 68 series of 2,880 minutes, 195,840 rows.
sqlite3 "$WORK/relay.db" >/dev/null <<'SQL'
PRAGMA synchronous = OFF;
WITH RECURSIVE m(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM m WHERE i < 2879),
k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < 9),
series(subject, measure) AS (
  SELECT 'destination:' || CASE j WHEN 0 THEN 'sink' ELSE 'd' || j END, x.measure FROM k, (SELECT 'delivered' AS measure UNION ALL SELECT 'failed' UNION ALL SELECT 'pending') x
  UNION ALL SELECT 'source:' || CASE j WHEN 0 THEN 'line' ELSE 's' || j END, x.measure FROM k, (SELECT 'accepted' AS measure UNION ALL SELECT 'duplicates') x
  UNION ALL SELECT 'source:l' || j, 'status:' || x.status FROM k, (SELECT 'queued' AS status UNION ALL SELECT 'sent' UNION ALL SELECT 'delivered'
    UNION ALL SELECT 'read' UNION ALL SELECT 'undelivered' UNION ALL SELECT 'overdue') x WHERE j < 3)
INSERT OR REPLACE INTO minute_counts (minute, subject, measure, value)
SELECT CAST(strftime('%s', 'now') AS INTEGER) / 60 - i, subject, measure, abs(random()) % 500 FROM m, series;
SQL
echo "minute counts: $(sqlite3 "$WORK/relay.db" 'SELECT COUNT(*) FROM minute_counts') rows"
start
sleep 3  # housekeeping takes the job counts once at start
python3 - "$ADMIN" "$TOKEN" <<'PY'
import http.cookiejar, re, statistics, sys, time, urllib.parse, urllib.request
admin, token = sys.argv[1], sys.argv[2]
base = f"http://127.0.0.1:{admin}"
jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
csrf = re.search(r'name="csrf" value="([^"]+)"', opener.open(base + "/login").read().decode()).group(1)
opener.open(base + "/login", data=urllib.parse.urlencode({"csrf": csrf, "token": token}).encode())
pages = {
    "overview /": "/",
    "dead letters (first 200)": "/dead-letters",
    "dead letters, destination filter": "/dead-letters?destination=sink",
    "dead letters, time filter": "/dead-letters?since=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00Z",
    "event lookup": "/lookup?source=line&event=01D00000000000000050000",
    "event lookup, unknown id": "/lookup?source=line&event=nope",
    "message lookup, unknown id": "/lookup?source=line&message=nope",
}
print("page | median ms | max ms (of 20)")
for name, path in pages.items():
    times = []
    for _ in range(20):
        t = time.perf_counter()
        try:
            body = opener.open(base + path).read()
        except urllib.error.HTTPError as e:
            body = e.read()
        times.append((time.perf_counter() - t) * 1000)
    print(f"{name} | {statistics.median(times):.1f} | {max(times):.1f}")
PY
