#!/usr/bin/env bash
# The fault suite (issue 24): relay under clock skew, a frozen, stopped or partitioned PostgreSQL, a frozen,
# killed or SIGTERMed instance and a 120 s PostgreSQL outage, with one checker for all (see bench/faults.py).
#
#   bash bench/faults.sh [--relay PATH] [--case NAME]... [--quick] [--no-long] [--json FILE] [--keep]
#
# Default binary: .build/debug/relay (copied to a temporary folder first, so a rebuild meanwhile does not matter).
# Needs root (network namespace; PostgreSQL runs as `postgres`) and Debian's postgresql, faketime and iproute2:
# as root, missing ones are installed. Each case prints a CASE_JSON line; a Markdown table and
# "faults: N passed, N failed" close the run; the exit status is 1 if any case failed.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null || missing+=(postgresql)
command -v faketime >/dev/null 2>&1 || missing+=(faketime)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "faults: installing ${missing[*]}"
    policy=/usr/sbin/policy-rc.d placed=0
    if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; placed=1; fi
    (apt-get update -qq || true) >/dev/null
    rc=0
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
    [ "$placed" = 1 ] && rm -f "$policy"
    [ "$rc" = 0 ] || { echo "faults: cannot install ${missing[*]}" >&2; exit 1; }
  else
    echo "faults: missing ${missing[*]} (and root is needed for the namespace)" >&2
    exit 1
  fi
fi
[ "$(id -u)" = 0 ] || { echo "faults: run as root (ip netns; PostgreSQL as the postgres user)" >&2; exit 1; }

exec python3 bench/faults.py "$@"
