#!/usr/bin/env bash
# relay's performance benchmark, one command: `bash bench/run.sh` (QUICK=1 for a smoke run). See bench/README.md.
# Everything listens on 127.0.0.1 only; every load is bounded in time; every process started here is stopped on exit.
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then   # explicit settings still win
  DURATION=${DURATION:-5s}; EVENTS=${EVENTS:-100000}; BACKLOG=${BACKLOG:-0}; PRUNE_ROWS=${PRUNE_ROWS:-0}; BATCH_REQUESTS=${BATCH_REQUESTS:-20000}
fi
THREADS=${THREADS:-2}               # wrk threads
CONNECTIONS=${CONNECTIONS:-64}      # wrk connections
DURATION=${DURATION:-20s}           # each load
EVENTS=${EVENTS:-400000}            # distinct signed single-event requests for A, B and the backlog run
BACKLOG=${BACKLOG:-1000000}         # pending jobs for sections 1 and 2; 0 skips them
PRUNE_ROWS=${PRUNE_ROWS:-300000}    # delivered jobs for relay to prune during a load; 0 skips that section
BATCH=${BATCH:-1}                   # 0 skips section 3 (requests of BATCH_SIZE events each)
BATCH_SIZE=${BATCH_SIZE:-10}
BATCH_REQUESTS=${BATCH_REQUESTS:-100000}
BUILD=${BUILD:-1}                   # 0 reuses .build/release/relay as it is
DRAIN_DEADLINE=${DRAIN_DEADLINE:-120}
SETTLE=${SETTLE:-2}                 # seconds between /readyz 200 and the load (relay's start-up housekeeping)
KEEP_WORK=${KEEP_WORK:-0}           # 1 keeps the temporary directory (logs, databases)
DEST_CONCURRENCY=${DEST_CONCURRENCY:-128}  # attempts in flight to the destination (see bench/README.md)
FLOOR=${FLOOR:-1}                   # 0 skips N, H, A' and A'' (plain NIO; relay's own stack with none of relay's work)
DEST_BATCH=${DEST_BATCH:-100}       # section b_batch: the destination's `batch`; 0 skips the section
BATCH_CONCURRENCY=${BATCH_CONCURRENCY:-8}  # section b_batch: the destination's `concurrency`
INGEST_ONLY=${INGEST_ONLY:-1}       # 0 skips section ingest (events stored, none routed)
ORDERED=${ORDERED:-1}               # 0 skips sections b_ordered and b_ordered10 (B with `ordering: subject`)
CALLGRIND=${CALLGRIND:-1}           # 0 skips sections cg_ingest and cg_b (instructions per request under valgrind's callgrind)
CALLGRIND_DURATION=${CALLGRIND_DURATION:-20s}  # the measured load under callgrind (a few thousand requests)
LEDGER=${LEDGER:-1}                 # 0 skips section ledger (ingest's set-up fed 8x8 status events: the receipt ledger's cost)
LEDGER_EVENTS=${LEDGER_EVENTS:-$EVENTS}  # section ledger: distinct 8x8 status requests (3 statuses per umid, shuffled)
PG=${PG:-1}                         # 0 skips sections pg1 and pg2 (relay on PostgreSQL: one instance; two behind nginx)
TRACING=${TRACING:-0}               # 1 runs B and ingest again with tracing on (b_traced, ingest_traced: always_on, OTLP to a sink)
SECRET=bench-line-channel-secret
EIGHTXEIGHT_TOKEN=bench-8x8-bearer-token
TOKEN=bench-admin-token
DEST_SECRET=whsec_YmVuY2gtZGVzdGluYXRpb24tc2lnbmluZy1zZWNyZXQ=

log() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }
lib() { python3 "$BENCH/benchlib.py" "$@"; }

# --- processes and clean-up -------------------------------------------------------------------------------
PIDS=()
WORK=""
stop_pid() {  # TERM, up to 30 s to exit, then KILL; then forgotten (its number may be reused once reaped)
  local pid=$1 i p kept=()
  for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
  PIDS=("${kept[@]}")
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then echo "bench: pid $pid ignored SIGTERM; killing it" >&2; kill -KILL "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local status=$?
  set +e
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  if [ -n "$WORK" ] && [ -d "$WORK" ]; then
    if [ "$KEEP_WORK" = 1 ] || [ "$status" != 0 ]; then echo "bench: logs and databases kept in $WORK" >&2
    else rm -rf "$WORK"; fi
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tools ------------------------------------------------------------------------------------------------
ensure_tools() {
  local missing=()
  command -v nginx >/dev/null || missing+=(nginx)
  command -v wrk >/dev/null || missing+=(wrk)
  command -v curl >/dev/null || missing+=(curl)
  command -v python3 >/dev/null || missing+=(python3)
  if [ "$BACKLOG$PRUNE_ROWS" != 00 ] && ! command -v sqlite3 >/dev/null; then missing+=(sqlite3); fi
  if [ "$PG" = 1 ] && ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then missing+=(postgresql); fi
  [ ${#missing[@]} = 0 ] && return
  log "installing ${missing[*]}"
  # Keep package scripts from starting a system nginx on port 80 (only if no policy is in place already).
  local policy=/usr/sbin/policy-rc.d placed=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; placed=1; fi
  local rc=0
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
  [ "$placed" = 1 ] && rm -f "$policy"
  [ "$rc" = 0 ] || die "apt-get install ${missing[*]} failed"
}
ensure_tools

if [ "$BUILD" = 1 ]; then
  log "building relay (release)"
  (cd "$ROOT" && swift build -c release --product relay && swift build -c release --product relay-floor)
  # valgrind 3.19 crashes in a dynamically linked Swift program's async main (libdispatch's sigsuspend): callgrind
  # runs a build with the Swift runtime linked in statically (the same code).
  if [ "$CALLGRIND" = 1 ]; then
    log "building relay (release, static Swift runtime, for callgrind)"
    (cd "$ROOT" && swift build -c release --static-swift-stdlib --product relay --scratch-path "$ROOT/.build-static")
  fi
fi
RELAY_STATIC=${RELAY_STATIC:-"$ROOT/.build-static/release/relay"}   # another build to measure: RELAY_STATIC=... RELAY=... BUILD=0
[ "$CALLGRIND" = 0 ] || [ -x "$RELAY_STATIC" ] || die "$RELAY_STATIC is missing (run with BUILD=1, or CALLGRIND=0)"
[ "$CALLGRIND" = 0 ] || command -v valgrind >/dev/null || die "valgrind is missing (apt-get install valgrind, or CALLGRIND=0)"
RELAY=${RELAY:-"$ROOT/.build/release/relay"}
FLOOR_BIN="$ROOT/.build/release/relay-floor"
[ -x "$RELAY" ] || die "$RELAY is missing (run with BUILD=1)"
[ "$FLOOR" = 0 ] || [ -x "$FLOOR_BIN" ] || die "$FLOOR_BIN is missing (run with BUILD=1)"

WORK=$(mktemp -d /tmp/relay-bench.XXXXXX)
RESULTS="$WORK/results.json"
seconds_of() { local d=$1; case "$d" in *ms) echo 1;; *s) echo "${d%s}";; *m) echo $(( ${d%m} * 60 ));; *) echo "$d";; esac; }
lib put "$RESULTS" meta "$(python3 -c 'import json,sys; print(json.dumps(dict(zip(sys.argv[1::2], sys.argv[2::2]))))' \
  date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" commit "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo +changes)" \
  cpus "$(nproc)" loadavg "$(cut -d' ' -f1-3 /proc/loadavg)" threads "$THREADS" connections "$CONNECTIONS" duration "$DURATION" settle "$SETTLE")"
lib put "$RESULTS" meta.events "$EVENTS"
lib put "$RESULTS" meta.ledger_events "$LEDGER_EVENTS"
lib put "$RESULTS" meta.dest_concurrency "$DEST_CONCURRENCY"
lib put "$RESULTS" meta.dest_batch "$DEST_BATCH"
lib put "$RESULTS" meta.batch_concurrency "$BATCH_CONCURRENCY"
lib put "$RESULTS" meta.quick "$([ "$QUICK" = 1 ] && echo true || echo false)"

read -r PROXY_PORT ORIGIN_PORT INGEST_PORT ADMIN_PORT <<<"$(lib freeport 4)"
ADMIN="http://127.0.0.1:$ADMIN_PORT"

# --- request files ----------------------------------------------------------------------------------------
log "generating $EVENTS signed LINE requests (1 event each)"
lib_gen() { python3 "$BENCH/gen_line.py" --secret "$SECRET" "$@"; }
lib_gen --out "$WORK/single.tsv" --requests "$EVENTS" --events-per-request 1
need=$(( $(seconds_of "$DURATION") * 20000 ))
[ "$EVENTS" -ge "$need" ] || echo "bench: note: $EVENTS requests last $DURATION only below $(( EVENTS / $(seconds_of "$DURATION") )) requests/s; faster runs repeat bodies (reported)" >&2
if [ "$LEDGER" = 1 ]; then
  log "generating $LEDGER_EVENTS 8x8 status requests (distinct umids, 3 statuses each in shuffled order)"
  python3 "$BENCH/gen_8x8.py" --out "$WORK/8x8.tsv" --requests "$LEDGER_EVENTS" --token "$EIGHTXEIGHT_TOKEN"
fi
if [ "$ORDERED" = 1 ]; then
  log "generating $EVENTS signed LINE requests (1 event each, 10 consecutive events per subject)"
  lib_gen --out "$WORK/subject10.tsv" --requests "$EVENTS" --events-per-request 1 --events-per-subject 10
fi
if [ "$BATCH" = 1 ]; then
  log "generating $BATCH_REQUESTS signed LINE requests ($BATCH_SIZE events each)"
  lib_gen --out "$WORK/batch.tsv" --requests "$BATCH_REQUESTS" --events-per-request "$BATCH_SIZE"
fi

# --- nginx: proxy (A) and the return-200 origin (A's upstream, B's destination) -----------------------------
mkdir -p "$WORK/nginx"
sed -e "s#@WORK@#$WORK/nginx#g" -e "s#@PROXY_PORT@#$PROXY_PORT#g" -e "s#@ORIGIN_PORT@#$ORIGIN_PORT#g" \
  "$BENCH/nginx.conf.in" >"$WORK/nginx/nginx.conf"
NGINX=(nginx -p "$WORK/nginx" -e "$WORK/nginx/nginx-error.log" -c "$WORK/nginx/nginx.conf")
"${NGINX[@]}" -t -q || die "nginx rejected $WORK/nginx/nginx.conf"
"${NGINX[@]}" >"$WORK/nginx/stdout.log" 2>&1 &
NGINX_PID=$!; PIDS+=("$NGINX_PID")
for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$ORIGIN_PORT/" 2>/dev/null && break; sleep 0.05; done
curl -fsS -o /dev/null -X POST -d x "http://127.0.0.1:$PROXY_PORT/webhooks/line" || die "nginx did not start (see $WORK/nginx)"

# run_wrk NAME URL FILE [LABEL=PID...] -> $WORK/NAME.wrk; prints BENCH_JSON as JSON; CPU use -> NAME.cpu.
# WRK_HEADER=NAME sends each line's first field in that header (line.lua's default: X-Line-Signature).
run_wrk() {
  local name=$1 url=$2 file=$3 json; shift 3
  lib cpu-snap "$@" >"$WORK/$name.cpu0"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 10s --latency -s "$BENCH/line.lua" "$url" -- "$file" "$THREADS" ${WRK_HEADER:+"$WRK_HEADER"} \
    >"$WORK/$name.wrk" 2>&1 || { cat "$WORK/$name.wrk" >&2; die "wrk failed ($name)"; }
  lib cpu-snap "$@" >"$WORK/$name.cpu1"
  grep -v '^BENCH_JSON' "$WORK/$name.wrk" >&2
  json=$(lib wrk-json "$WORK/$name.wrk")
  lib put "$RESULTS" "$name.cpu" "$(lib cpu-diff "$WORK/$name.cpu0" "$WORK/$name.cpu1" "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["requests"])' "$json")")"
  echo "$json"
}

# --- relay instances ------------------------------------------------------------------------------------------
RELAY_PID=""
write_config() {  # write_config DIR [CONCURRENCY [BATCH [ROUTE_TYPES [ORDERING]]]]
  local batch_line="" types_line=""
  [ "${3:-0}" = 0 ] || batch_line="    batch: $3"
  [ -z "${5:-}" ] || batch_line="$batch_line
    ordering: $5"
  [ -z "${4:-}" ] || types_line="    types: [\"$4\"]"
  cat >"$1/routes.yaml" <<EOF
listen: 127.0.0.1:$INGEST_PORT
admin:
  listen: 127.0.0.1:$ADMIN_PORT
  token: $TOKEN
store:
  ${STORE_YAML:-sqlite: $1/relay.db}
limits:
  max_body: 1MiB
dedup_window: 7d
retry: [1s, 10s, 30s, 90s]
sources:
  line:
    provider: line
    channel_secret: $SECRET
  eightxeight:
    provider: 8x8
    auth:
      bearer: $EIGHTXEIGHT_TOKEN
destinations:
  sink:
    url: http://127.0.0.1:$ORIGIN_PORT/events
    format: canonical
    secret: $DEST_SECRET
    timeout: 10s
    concurrency: ${2:-$DEST_CONCURRENCY}
$batch_line
routes:
  - to: [sink]
$types_line
${ROUTE_WHERE:-}
EOF
}
STARTUP=""; LAUNCHED=0
start_relay() {  # start_relay DIR [INGEST_PORT] -> RELAY_PID, STARTUP (seconds from launch to /readyz 200)
  local dir=$1 port=${2:-$INGEST_PORT} t0 t1
  t0=$(date +%s%N); LAUNCHED=$t0
  if [ -n "${RELAY_ENV:-}" ]; then
    # shellcheck disable=SC2086  # RELAY_ENV is a list of NAME=VALUE words; env execs relay (same pid)
    env $RELAY_ENV "$RELAY" serve --config "$dir/routes.yaml" >>"$dir/relay.log" 2>&1 &
  else
    "$RELAY" serve --config "$dir/routes.yaml" >>"$dir/relay.log" 2>&1 &
  fi
  RELAY_PID=$!
  PIDS+=("$RELAY_PID")
  until curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/readyz" 2>/dev/null; do
    kill -0 "$RELAY_PID" 2>/dev/null || { tail -20 "$dir/relay.log" >&2; die "relay exited during start-up"; }
    [ $(( $(date +%s%N) - t0 )) -lt 300000000000 ] || die "relay not ready after 300 s"
    sleep 0.01
  done
  t1=$(date +%s%N)
  STARTUP=$(python3 -c "print(round(($t1 - $t0) / 1e9, 3))")
}
stop_relay() { stop_pid "$RELAY_PID"; grep -q '"relay stopped"' "$1/relay.log" || echo "bench: relay did not log a clean stop" >&2; }

# measure_relay SECTION DIR FILE BACKLOG_ROWS [AT]: load, drain, figures, stop. The relay must be running; the load
# starts SETTLE s after it was ready, or AT s after its launch if that is later.
measure_relay() {
  local section=$1 dir=$2 file=$3 backlog=$4 at=${5:-0} wrk drain wait_ms
  wait_ms=$(( at * 1000 - ( $(date +%s%N) - LAUNCHED ) / 1000000 ))
  [ "$wait_ms" -gt $(( SETTLE * 1000 )) ] || wait_ms=$(( SETTLE * 1000 ))
  sleep "$(python3 -c "print($wait_ms / 1000)")"
  # The dispatcher's backlog once a second while the load runs: does forwarding keep pace with ingest?
  if [ "$backlog" = 0 ]; then lib sample "$ADMIN" "$TOKEN" "$backlog" "$(seconds_of "$DURATION")"; else echo '[]'; fi >"$WORK/$section.samples" &
  local sampler=$!
  # shellcheck disable=SC2086  # EXTRA_CPU is a list of LABEL=PID words
  wrk=$(run_wrk "$section" "${LOAD_URL:-http://127.0.0.1:$INGEST_PORT/webhooks/line}" "$file" relay="$RELAY_PID" nginx="$NGINX_PID" ${EXTRA_CPU:-})
  lib put "$RESULTS" "$section.wrk" "$wrk"
  wait "$sampler" && lib put "$RESULTS" "$section.backlog_samples" "$(cat "$WORK/$section.samples")"
  log "$section: waiting (at most $DRAIN_DEADLINE s) until every accepted event is delivered"
  drain=$(lib drain "$ADMIN" "$TOKEN" "$backlog" "$DRAIN_DEADLINE")
  echo "$drain" >&2
  lib put "$RESULTS" "$section.drain" "$drain"
  lib put "$RESULTS" "$section.rss" "$(lib rss "$RELAY_PID")"
  lib put "$RESULTS" "$section.metrics" "$(lib metrics "$ADMIN/metrics")"
  curl -fsS "$ADMIN/metrics" >"$dir/metrics.txt" || true
  stop_relay "$dir"
}

# --- A: the nginx baseline ----------------------------------------------------------------------------------
log "A: wrk -> nginx proxy -> nginx return 200"
lib put "$RESULTS" a.wrk "$(run_wrk a "http://127.0.0.1:$PROXY_PORT/webhooks/line" "$WORK/single.tsv" nginx="$NGINX_PID")"

# --- H and A': relay's own stack (Hummingbird in, AsyncHTTPClient out) doing none of relay's work --------------
# What the stack costs by itself, on the same load: H answers at once; A' forwards each body to the nginx origin and
# answers after it (nginx's proxy in A, written with relay's stack). Relay does more than either.
floor_load() {  # floor_load SECTION [URL [CLIENT]]
  local section=$1
  "$FLOOR_BIN" "$INGEST_PORT" ${2:+"$2"} ${3:+"$3"} >"$WORK/$section.log" 2>&1 &
  local pid=$!; PIDS+=("$pid")
  for _ in $(seq 200); do curl -fsS -o /dev/null -X POST -d '{}' "http://127.0.0.1:$INGEST_PORT/webhooks/line" 2>/dev/null && break; sleep 0.05; done
  lib put "$RESULTS" "$section.wrk" "$(run_wrk "$section" "http://127.0.0.1:$INGEST_PORT/webhooks/line" "$WORK/single.tsv" relay-floor="$pid" nginx="$NGINX_PID")"
  stop_pid "$pid"
}
if [ "$FLOOR" = 1 ]; then
  log "N: wrk -> relay-floor nio (a plain SwiftNIO HTTP/1.1 server, answers 200)"
  floor_load n nio
  log "H: wrk -> relay-floor (Hummingbird, answers 200)"
  floor_load h
  log "A': wrk -> relay-floor (Hummingbird -> AsyncHTTPClient) -> nginx return 200"
  floor_load a_stack "http://127.0.0.1:$ORIGIN_PORT/events"
  log "A'': wrk -> relay-floor (Hummingbird -> a minimal client on NIO's HTTP/1.1 codec, as relay's own) -> nginx return 200"
  floor_load a_own "http://127.0.0.1:$ORIGIN_PORT/events" own
fi

# --- B: relay, empty store ----------------------------------------------------------------------------------
log "B: wrk -> relay -> dispatcher -> nginx return 200 (empty store)"
mkdir -p "$WORK/b"; write_config "$WORK/b"
start_relay "$WORK/b"; lib put "$RESULTS" b.startup_s "$STARTUP"
measure_relay b "$WORK/b" "$WORK/single.tsv" 0

# --- B with batching: the same load, the destination taking CloudEvents batches (`batch: DEST_BATCH`) ----------
if [ "$DEST_BATCH" != 0 ]; then
  log "b_batch: wrk -> relay -> dispatcher (batch $DEST_BATCH, concurrency $BATCH_CONCURRENCY) -> nginx return 200"
  mkdir -p "$WORK/b_batch"; write_config "$WORK/b_batch" "$BATCH_CONCURRENCY" "$DEST_BATCH"
  start_relay "$WORK/b_batch"
  measure_relay b_batch "$WORK/b_batch" "$WORK/single.tsv" 0
fi

# --- B ordered: the same load to a destination with `ordering: subject` (SPEC section 14) ----------------------------
# Every event its own subject (b_ordered: the cost of the bookkeeping), then 10 consecutive events per subject
# (b_ordered10: each subject's events go one at a time, the others beside them).
if [ "$ORDERED" = 1 ]; then
  for section in b_ordered b_ordered10; do
    log "$section: wrk -> relay -> dispatcher (ordering: subject) -> nginx return 200"
    mkdir -p "$WORK/$section"; write_config "$WORK/$section" "$DEST_CONCURRENCY" 0 "" subject
    start_relay "$WORK/$section"
    file="$WORK/single.tsv"; [ "$section" = b_ordered10 ] && file="$WORK/subject10.tsv"
    measure_relay "$section" "$WORK/$section" "$file" 0
  done
fi

# --- ingest only: the same load, relay storing every event but routing none (no delivery at all) ----------------
# relay's ingest path alone (verify, parse, dedup, durable commit, 200): the ceiling of B with free delivery.
if [ "$INGEST_ONLY" = 1 ]; then
  log "ingest: wrk -> relay (events stored, none routed: no delivery)"
  mkdir -p "$WORK/ingest"; write_config "$WORK/ingest" "$DEST_CONCURRENCY" 0 "message.*"
  start_relay "$WORK/ingest"
  sleep "$SETTLE"
  lib put "$RESULTS" ingest.wrk "$(run_wrk ingest "http://127.0.0.1:$INGEST_PORT/webhooks/line" "$WORK/single.tsv" relay="$RELAY_PID" nginx="$NGINX_PID")"
  lib put "$RESULTS" ingest.rss "$(lib rss "$RELAY_PID")"
  lib put "$RESULTS" ingest.metrics "$(lib metrics "$ADMIN/metrics")"
  stop_relay "$WORK/ingest"
fi

# --- B and ingest with tracing on (SPEC section 15): every request and attempt a span, exported to a sink ----------
# The sink is a small OTLP/HTTP server on loopback (bench/otlp_sink.py); its CPU is counted apart from relay's.
if [ "$TRACING" = 1 ]; then
  read -r OTLP_PORT <<<"$(lib freeport 1)"
  python3 "$BENCH/otlp_sink.py" "$OTLP_PORT" "$WORK/otlp.stats" >"$WORK/otlp.log" 2>&1 &
  OTLP_PID=$!; PIDS+=("$OTLP_PID")
  RELAY_ENV="OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$OTLP_PORT OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf OTEL_TRACES_SAMPLER=always_on OTEL_SERVICE_NAME=relay-bench"
  log "b_traced: B with tracing on (always_on, OTLP/HTTP to a sink on loopback)"
  mkdir -p "$WORK/b_traced"; write_config "$WORK/b_traced"
  start_relay "$WORK/b_traced"
  EXTRA_CPU="otlp-sink=$OTLP_PID" measure_relay b_traced "$WORK/b_traced" "$WORK/single.tsv" 0
  log "ingest_traced: ingest with tracing on"
  mkdir -p "$WORK/ingest_traced"; write_config "$WORK/ingest_traced" "$DEST_CONCURRENCY" 0 "message.*"
  start_relay "$WORK/ingest_traced"
  sleep "$SETTLE"
  lib put "$RESULTS" ingest_traced.wrk "$(run_wrk ingest_traced "http://127.0.0.1:$INGEST_PORT/webhooks/line" "$WORK/single.tsv" relay="$RELAY_PID" nginx="$NGINX_PID" otlp-sink="$OTLP_PID")"
  lib put "$RESULTS" ingest_traced.rss "$(lib rss "$RELAY_PID")"
  stop_relay "$WORK/ingest_traced"
  RELAY_ENV=""
  lib put "$RESULTS" otlp_sink "\"$(cat "$WORK/otlp.stats" 2>/dev/null || echo '0 0')\""
  stop_pid "$OTLP_PID"
fi

# --- ingest with filters: ingest only's load, every route with a three-key `where` (SPEC section 16) ------------------
# The route takes every type, and its filter is evaluated on each event: two conditions hold, the third does not, so
# nothing is delivered and the difference from ingest only is the filters' cost.
if [ "$INGEST_ONLY" = 1 ] && [ "${FILTERS:-1}" = 1 ]; then
  log "ingest_where: wrk -> relay (every event through a three-key where that fails on its last key: no delivery)"
  mkdir -p "$WORK/ingest_where"
  ROUTE_WHERE=$'    where:\n      data.channel: line\n      data.status: delivered\n      subject: {prefix: "zzz"}' \
    write_config "$WORK/ingest_where" "$DEST_CONCURRENCY" 0 ""
  start_relay "$WORK/ingest_where"
  sleep "$SETTLE"
  lib put "$RESULTS" ingest_where.wrk "$(run_wrk ingest_where "http://127.0.0.1:$INGEST_PORT/webhooks/line" "$WORK/single.tsv" relay="$RELAY_PID" nginx="$NGINX_PID")"
  lib put "$RESULTS" ingest_where.metrics "$(lib metrics "$ADMIN/metrics")"
  stop_relay "$WORK/ingest_where"
fi

# --- ledger: ingest's set-up and load size, fed 8x8 status events instead (the receipt ledger's cost) --------------
# Distinct umids, each with 3 of queued / sent / delivered / read in shuffled order (gen_8x8.py), posted to the 8x8
# source (a bearer token): every event is stored with its message's ledger row read and written in the same commit,
# none routed (delivery.* is not message.*). Right after ingest, whose LINE events have no ledger work, to compare.
if [ "$LEDGER" = 1 ]; then
  log "ledger: wrk -> relay (8x8 status events stored with the receipt ledger, none routed)"
  mkdir -p "$WORK/ledger"; write_config "$WORK/ledger" "$DEST_CONCURRENCY" 0 "message.*"
  start_relay "$WORK/ledger"
  sleep "$SETTLE"
  lib put "$RESULTS" ledger.wrk "$(WRK_HEADER=Authorization run_wrk ledger "http://127.0.0.1:$INGEST_PORT/webhooks/eightxeight" "$WORK/8x8.tsv" relay="$RELAY_PID" nginx="$NGINX_PID")"
  lib put "$RESULTS" ledger.rss "$(lib rss "$RELAY_PID")"
  lib put "$RESULTS" ledger.metrics "$(lib metrics "$ADMIN/metrics")"
  curl -fsS "$ADMIN/metrics" >"$WORK/ledger/metrics.txt" || true
  stop_relay "$WORK/ledger"
else
  lib put "$RESULTS" skipped_ledger true
fi

# populate SECTION ROWS PREFIX STATE AGE_MS NEXT_MS: a store with the schema (relay started and stopped once), then
# ROWS events + jobs + dedup keys inserted with sqlite3 (populate.sql.in)
populate() {
  local section=$1 rows=$2 t0
  log "$section: creating the schema, then inserting $rows events + jobs ($4) + dedup keys with sqlite3"
  mkdir -p "$WORK/$section"; write_config "$WORK/$section"
  start_relay "$WORK/$section"; stop_relay "$WORK/$section"
  t0=$(date +%s%N)
  sed -e "s/@ROWS@/$rows/g" -e "s/@PREFIX@/$3/g" -e "s/@STATE@/$4/g" -e "s/@AGE_MS@/$5/g" -e "s/@NEXT_MS@/$6/g" \
    "$BENCH/populate.sql.in" | sqlite3 "$WORK/$section/relay.db" >/dev/null
  lib put "$RESULTS" "$section.populate_s" "$(python3 -c "print(round(($(date +%s%N) - $t0) / 1e9, 1))")"
  lib put "$RESULTS" "$section.rows" "$(sqlite3 "$WORK/$section/relay.db" "SELECT COUNT(*) FROM jobs WHERE state = '$4'")"
}

# --- 1 and 2: the same load with BACKLOG pending jobs already stored; start-up time with them ---------------
# The backlog arrived an hour ago (a destination was down) and is due again in a day, so the dispatcher leaves it
# alone. The load is placed so that relay's 30-second housekeeping pass falls inside it.
if [ "$BACKLOG" != 0 ]; then
  populate backlog "$BACKLOG" BACKLOG pending 3600000 86400000
  log "backlog: starting relay on the $BACKLOG-job store"
  start_relay "$WORK/backlog"; lib put "$RESULTS" backlog.startup_s "$STARTUP"
  measure_relay backlog "$WORK/backlog" "$WORK/single.tsv" "$BACKLOG" $(( 32 - $(seconds_of "$DURATION") ))
else
  lib put "$RESULTS" skipped_backlog true
fi

# --- prune: the same load while relay removes PRUNE_ROWS delivered jobs older than its 5-minute keep ----------
# That is what one 30-second housekeeping pass meets in steady state at PRUNE_ROWS / 30 events per second.
if [ "$PRUNE_ROWS" != 0 ]; then
  populate prune "$PRUNE_ROWS" DELIVRD delivered 600000 -600000
  start_relay "$WORK/prune"
  SETTLE=0 measure_relay prune "$WORK/prune" "$WORK/single.tsv" 0
else
  lib put "$RESULTS" skipped_prune true
fi

# --- pg1 and pg2: relay on PostgreSQL (same load as B); one instance, then two behind nginx on one database ---------
# PostgreSQL runs here as well (initdb in the work dir, fsync and synchronous_commit on), sharing the 2 cores.
if [ "$PG" = 1 ]; then
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$PG_BIN" ] || die "PostgreSQL is not installed (apt-get install postgresql), or run with PG=0"
  PG_DIR="$WORK/pg"; mkdir -p "$PG_DIR"
  as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
  # The server runs as `postgres` when this runs as root: it must own its folder and reach it through the work dir.
  if [ "$(id -u)" = 0 ]; then chown postgres "$PG_DIR"; chmod o+x "$WORK"; fi
  read -r PG_PORT INGEST2_PORT ADMIN2_PORT LB_PORT <<<"$(lib freeport 4)"
  as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 >"$WORK/pg-initdb.log" 2>&1 || die "initdb failed (see $WORK/pg-initdb.log)"
  as_pg "$PG_BIN/pg_ctl" start -w -t 60 -D "$PG_DIR/data" -l "$PG_DIR/server.log" \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PG_DIR -c fsync=on -c synchronous_commit=on -c shared_buffers=256MB -c max_connections=100" \
    >/dev/null || die "PostgreSQL did not start (see $PG_DIR/server.log)"
  PG_PID=$(head -1 "$PG_DIR/data/postmaster.pid"); PIDS+=("$PG_PID")
  for db in relay_pg1 relay_pg2; do as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$db"; done

  log "pg1: wrk -> relay on PostgreSQL (one instance) -> dispatcher -> nginx return 200"
  mkdir -p "$WORK/pg1"; STORE_YAML="postgres: postgres://postgres@127.0.0.1:$PG_PORT/relay_pg1" write_config "$WORK/pg1"
  start_relay "$WORK/pg1"; lib put "$RESULTS" pg1.startup_s "$STARTUP"
  EXTRA_CPU="postgres=$PG_PID" measure_relay pg1 "$WORK/pg1" "$WORK/single.tsv" 0

  log "pg2: wrk -> nginx -> two relays on one PostgreSQL -> dispatchers -> nginx return 200"
  mkdir -p "$WORK/pg2" "$WORK/pg2b" "$WORK/lb"
  STORE_YAML="postgres: postgres://postgres@127.0.0.1:$PG_PORT/relay_pg2" write_config "$WORK/pg2"
  sed -e "s/127.0.0.1:$INGEST_PORT\$/127.0.0.1:$INGEST2_PORT/" -e "s/127.0.0.1:$ADMIN_PORT\$/127.0.0.1:$ADMIN2_PORT/" \
    "$WORK/pg2/routes.yaml" >"$WORK/pg2b/routes.yaml"
  # The load balancer of SPEC section 9: a failed or 503 POST is retried on the other instance (dedup makes it safe).
  sed -e "s#@WORK@#$WORK/lb#g" -e "s#@LB_PORT@#$LB_PORT#g" -e "s#@RELAY1@#127.0.0.1:$INGEST_PORT#g" -e "s#@RELAY2@#127.0.0.1:$INGEST2_PORT#g" \
    "$BENCH/nginx-lb.conf.in" >"$WORK/lb/nginx.conf"
  LB=(nginx -p "$WORK/lb" -e "$WORK/lb/nginx-error.log" -c "$WORK/lb/nginx.conf")
  "${LB[@]}" -t -q || die "nginx rejected $WORK/lb/nginx.conf"
  "${LB[@]}" >"$WORK/lb/stdout.log" 2>&1 &
  LB_PID=$!; PIDS+=("$LB_PID")
  start_relay "$WORK/pg2b" "$INGEST2_PORT"; RELAY2_PID=$RELAY_PID
  start_relay "$WORK/pg2"
  for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$LB_PORT/readyz" 2>/dev/null && break; sleep 0.05; done
  LOAD_URL="http://127.0.0.1:$LB_PORT/webhooks/line" EXTRA_CPU="relay2=$RELAY2_PID postgres=$PG_PID lb=$LB_PID" \
    measure_relay pg2 "$WORK/pg2" "$WORK/single.tsv" 0
  lib put "$RESULTS" pg2.rss2 "$(lib rss "$RELAY2_PID")"
  lib put "$RESULTS" pg2.metrics2 "$(lib metrics "http://127.0.0.1:$ADMIN2_PORT/metrics")"
  RELAY_PID=$RELAY2_PID; stop_relay "$WORK/pg2b"
  stop_pid "$LB_PID"
  stop_pid "$PG_PID"
fi

# --- callgrind: instructions per request, a figure that does not swing with the machine's load ----------------
# relay (static build, debug info stripped: valgrind 3.19 cannot read Swift's DWARF 5) under callgrind with
# instrumentation off until it is ready and warmed up; then counted over an idle window and over a fixed-time load of
# distinct events (for cg_b, until every event is delivered). Instructions per request = (the loaded count - the idle
# rate x the loaded window) / requests. cg_ingest routes nothing
# (ingest only); cg_b delivers each event to the nginx origin (B): their difference is one delivery.
if [ "$CALLGRIND" = 1 ]; then
  strip --strip-debug "$RELAY_STATIC" -o "$WORK/relay-cg"
  for section in cg_ingest cg_b; do
    log "$section: relay under callgrind ($CALLGRIND_DURATION of load, 4 connections)"
    dir="$WORK/$section"; mkdir -p "$dir"
    types=""; [ "$section" = cg_ingest ] && types="message.*"
    write_config "$dir" 8 0 "$types"
    lib_gen --out "$dir/warm.tsv" --requests 2000 --events-per-request 1
    lib_gen --out "$dir/load.tsv" --requests 20000 --events-per-request 1
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$dir/callgrind.out" "$WORK/relay-cg" serve --config "$dir/routes.yaml" \
      >>"$dir/relay.log" 2>&1 &
    cg_pid=$!; PIDS+=("$cg_pid")
    t0=$(date +%s)
    until curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:$INGEST_PORT/readyz" 2>/dev/null; do
      kill -0 "$cg_pid" 2>/dev/null || { tail -20 "$dir/relay.log" >&2; die "relay under callgrind exited during start-up"; }
      [ $(( $(date +%s) - t0 )) -lt 600 ] || die "relay under callgrind not ready after 600 s"
      sleep 1
    done
    wrk -t1 -c4 -d5s --timeout 30s -s "$BENCH/line.lua" "http://127.0.0.1:$INGEST_PORT/webhooks/line" -- "$dir/warm.tsv" 1 >"$dir/warm.wrk" 2>&1
    [ "$section" = cg_ingest ] || lib drain "$ADMIN" "$TOKEN" 0 300 >/dev/null
    # An idle window first (no load, instrumentation on): relay's own timers (housekeeping, gauges, polls) run
    # whatever the load, and at valgrind's pace their share per request would depend on how busy the machine is.
    # Their rate, measured here, is taken out of the loaded window's count.
    callgrind_control -i on "$cg_pid" >/dev/null
    t_idle0=$(date +%s%N); sleep "$(seconds_of "$CALLGRIND_DURATION")"
    callgrind_control -d "$cg_pid" >/dev/null; t_idle1=$(date +%s%N)
    wrk -t1 -c4 -d"$CALLGRIND_DURATION" --timeout 30s --latency -s "$BENCH/line.lua" "http://127.0.0.1:$INGEST_PORT/webhooks/line" -- "$dir/load.tsv" 1 \
      >"$dir/load.wrk" 2>&1 || die "wrk failed ($section)"
    [ "$section" = cg_ingest ] || lib drain "$ADMIN" "$TOKEN" 0 300 >"$dir/drain.json"
    callgrind_control -d "$cg_pid" >/dev/null; t_load1=$(date +%s%N)
    callgrind_control -i off "$cg_pid" >/dev/null
    stop_pid "$cg_pid"
    dumps=$(ls "$dir" | grep -E '^callgrind\.out\.[0-9]+$' | sort -t. -k3 -n || true)
    idle=$(sed -n 1p <<<"$dumps"); dump=$(sed -n 2p <<<"$dumps")
    [ -n "$idle" ] && [ -n "$dump" ] || die "callgrind wrote no dumps ($section)"
    idle="$dir/$idle"; dump="$dir/$dump"
    callgrind_annotate --inclusive=no "$dump" 2>/dev/null | head -60 >"$dir/top.txt" || true
    lib put "$RESULTS" "$section" "$(python3 - "$idle" "$dump" "$(lib wrk-json "$dir/load.wrk")" "$dir/top.txt" \
      "$(( (t_idle1 - t_idle0) / 1000000 ))" "$(( (t_load1 - t_idle1) / 1000000 ))" <<'PY'
import json, re, sys
def total(path):
    count = 0
    for line in open(path, errors="replace"):
        if line.startswith(("totals:", "summary:")):
            count = max(count, int(line.split()[1]))
    return count
idle, loaded = total(sys.argv[1]), total(sys.argv[2])
idle_ms, load_ms = int(sys.argv[5]), int(sys.argv[6])
wrk = json.loads(sys.argv[3])
requests = wrk.get("requests") or 0
background = idle * load_ms / idle_ms if idle_ms else 0
top = []
for line in open(sys.argv[4], errors="replace"):
    m = re.match(r"\s*([\d,]+) \(\s*([\d.]+)%\)\s+(.*)", line)
    if m and len(top) < 15:
        top.append({"ir": int(m.group(1).replace(",", "")), "share": float(m.group(2)), "function": m.group(3)[:160]})
print(json.dumps({"instructions": loaded, "idle_instructions": idle, "idle_ms": idle_ms, "load_ms": load_ms,
                  "requests": requests, "repeats": wrk.get("repeats"),
                  "per_request": round((loaded - background) / requests) if requests else None,
                  "per_request_gross": round(loaded / requests) if requests else None, "top": top}))
PY
)"
  done
fi

# --- 3: requests of BATCH_SIZE events ----------------------------------------------------------------------
if [ "$BATCH" = 1 ]; then
  log "batch: wrk -> relay, $BATCH_SIZE events per request"
  mkdir -p "$WORK/m"; write_config "$WORK/m"
  start_relay "$WORK/m"
  lib put "$RESULTS" batch.events_per_request "$BATCH_SIZE"
  measure_relay batch "$WORK/m" "$WORK/batch.tsv" 0
else
  lib put "$RESULTS" skipped_batch true
fi

stop_pid "$NGINX_PID"
mkdir -p "$BENCH/results"
python3 "$BENCH/report.py" "$RESULTS" >"$BENCH/results/latest.md"
cp "$RESULTS" "$BENCH/results/latest.json"
echo
cat "$BENCH/results/latest.md"
echo
echo "(written to bench/results/latest.md and latest.json)"
