#!/usr/bin/env bash
# The outbound client's cost on the framework floor (issue 27, lever 3): relay-floor's rows H (Hummingbird answers
# 200), A' (Hummingbird -> AsyncHTTPClient -> nginx) in three ways of calling AsyncHTTPClient, and A'' (Hummingbird ->
# OwnClient, NIO's own HTTP/1.1 codec -> nginx), each under callgrind (instructions per request), then, if WRK=1, each
# under wrk back to back (requests/s, noisy on a shared machine).
#   bash bench/floor-clients.sh [MODE...]     MODE: h ahc fwd best own (default: all)
# Needs .build-static/release/relay-floor (swift build -c release --static-swift-stdlib --product relay-floor
# --scratch-path .build-static), nginx, wrk, valgrind. Everything on 127.0.0.1; every process stopped on exit.
set -euo pipefail
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
CG=${CG:-1}; CG_DURATION=${CG_DURATION:-20}   # CG=0 skips callgrind; seconds of load under callgrind
WRK=${WRK:-1}; WRK_DURATION=${WRK_DURATION:-10s}; WRK_ROUNDS=${WRK_ROUNDS:-2}
MODES=("$@"); [ ${#MODES[@]} -gt 0 ] || MODES=(h ahc fwd best own)
BIN="$ROOT/.build-static/release/relay-floor"
[ -x "$BIN" ] || { echo "missing $BIN" >&2; exit 1; }
WORK=$(mktemp -d /tmp/relay-floor-cg.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
lib() { python3 "$BENCH/benchlib.py" "$@"; }
read -r PORT ORIGIN_PORT PROXY_PORT <<<"$(lib freeport 3)"
python3 "$BENCH/gen_line.py" --secret s --out "$WORK/load.tsv" --requests 20000 --events-per-request 1
mkdir -p "$WORK/nginx"
sed -e "s#@WORK@#$WORK/nginx#g" -e "s#@PROXY_PORT@#$PROXY_PORT#g" -e "s#@ORIGIN_PORT@#$ORIGIN_PORT#g" "$BENCH/nginx.conf.in" >"$WORK/nginx/nginx.conf"
nginx -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf" >"$WORK/nginx/out.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$ORIGIN_PORT/" 2>/dev/null && break; sleep 0.05; done
args_of() { case "$1" in h) echo "$PORT";; ahc) echo "$PORT http://127.0.0.1:$ORIGIN_PORT/events";; *) echo "$PORT http://127.0.0.1:$ORIGIN_PORT/events $1";; esac; }
wait_up() { for _ in $(seq 600); do curl -fsS -o /dev/null -X POST -d '{}' "http://127.0.0.1:$PORT/webhooks/line" 2>/dev/null && return 0; sleep 0.1; done; echo "floor not up" >&2; exit 1; }
total() { awk '/^(totals|summary):/ { if ($2 > m) m = $2 } END { print m + 0 }' "$1"; }
requests() { awk '/requests in/ { print $1 }' "$1"; }

strip --strip-debug "$BIN" -o "$WORK/floor-cg"
[ "$CG" = 1 ] && echo "mode  requests  instructions/request  (idle-corrected)"
for mode in "${MODES[@]}"; do
  [ "$CG" = 1 ] || break
  dir="$WORK/$mode"; mkdir -p "$dir"
  # shellcheck disable=SC2046
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$dir/cg.out" "$WORK/floor-cg" $(args_of "$mode") >"$dir/log" 2>&1 &
  pid=$!; PIDS+=("$pid")
  wait_up
  wrk -t1 -c4 -d5s --timeout 30s -s "$BENCH/line.lua" "http://127.0.0.1:$PORT/webhooks/line" -- "$WORK/load.tsv" 1 >"$dir/warm.wrk" 2>&1
  callgrind_control -i on "$pid" >/dev/null 2>&1
  t0=$(date +%s%N); sleep 5; callgrind_control -d "$pid" >/dev/null 2>&1; t1=$(date +%s%N)
  wrk -t1 -c4 -d"${CG_DURATION}s" --timeout 30s -s "$BENCH/line.lua" "http://127.0.0.1:$PORT/webhooks/line" -- "$WORK/load.tsv" 1 >"$dir/load.wrk" 2>&1
  callgrind_control -d "$pid" >/dev/null 2>&1; t2=$(date +%s%N)
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  dumps=$(ls "$dir" | grep -E '^cg\.out\.[0-9]+$' | sort -t. -k3 -n)
  idle=$(total "$dir/$(sed -n 1p <<<"$dumps")"); loaded=$(total "$dir/$(sed -n 2p <<<"$dumps")"); n=$(requests "$dir/load.wrk")
  python3 -c "import sys; i,l,n,a,b=map(int,sys.argv[1:6]); print(f'{sys.argv[6]:5} {n:9} {l/n:12.0f} {(l-i*b/a)/n:12.0f}')" "$idle" "$loaded" "$n" $((t1 - t0)) $((t2 - t1)) "$mode"
  callgrind_annotate --inclusive=no "$dir/$(sed -n 2p <<<"$dumps")" 2>/dev/null | head -45 >"$ROOT/bench/results/floor-cg-$mode.txt" || true
done

if [ "$WRK" = 1 ]; then
  echo "wrk -t2 -c64 -d$WRK_DURATION, back to back, $WRK_ROUNDS rounds: requests/s"
  for round in $(seq "$WRK_ROUNDS"); do
    line="round $round:"
    for mode in "${MODES[@]}"; do
      # shellcheck disable=SC2046
      "$BIN" $(args_of "$mode") >"$WORK/$mode.wrklog" 2>&1 &
      pid=$!; PIDS+=("$pid"); wait_up
      wrk -t2 -c64 -d"$WRK_DURATION" --timeout 10s -s "$BENCH/line.lua" "http://127.0.0.1:$PORT/webhooks/line" -- "$WORK/load.tsv" 2 >"$WORK/$mode.wrk" 2>&1
      kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
      line="$line $mode=$(awk '/^Requests\/sec/ { printf "%.0f", $2 }' "$WORK/$mode.wrk")"
      non2xx=$(awk '/Non-2xx/ { print $NF }' "$WORK/$mode.wrk"); [ -z "$non2xx" ] || line="$line(non2xx:$non2xx)"
    done
    echo "$line"
  done
fi
