#!/usr/bin/env bash
# Soak: one `rideshard serve` (the embedded default: no broker, temporary data
# dir) driven by `rideshard simulate` for --duration-s; every --interval-s it
# records the node's memory (VmRSS), open files, data dir size and outbox depth
# (/health: depth, analytics rows, events dropped by retention; the data dir also
# split into WAL and table files) into a CSV and
# prints the line. Bounded: the simulator stops at --duration-s, the node is
# stopped with SIGTERM and the temporary directory removed (also on Ctrl-C).
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: bench/soak/soak.sh [--duration-s N] [--interval-s N] [--drivers N]
                          [--riders-per-minute R] [--out FILE.csv] [--nice N]
                          [--config FILE] [-- <more `rideshard serve` flags>]

  --duration-s N          traffic duration (default 1800, the issue's 30 minutes)
  --interval-s N          seconds between samples (default 30)
  --drivers N             driver connections (default 2000)
  --riders-per-minute R   rider arrivals per minute (default 420, ~7 requests/s)
  --out FILE.csv          where the samples go (default build/bench/results/soak.csv)
  --nice N                run node and simulator under `nice -n N` (default 0)
  --config FILE           node config (default cluster-config/single-node.toml; e.g.
                          a copy with a shorter [outbox] analytics_max_age_s so a
                          short soak reaches the retention bound)
Environment: RIDESHARD_BUILD_DIR (default ./build) holds the rideshard binary.
USAGE
}

here=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$here/../.." && pwd)
BUILD_DIR=${RIDESHARD_BUILD_DIR:-$ROOT/build}
BIN=$BUILD_DIR/rideshard
CONFIG=$ROOT/cluster-config/single-node.toml
# shellcheck source=actors/app/node_lib.sh
. "$ROOT/actors/app/node_lib.sh"

duration_s=1800 interval_s=30 drivers=2000 riders_per_minute=420 niceness=0
out=$BUILD_DIR/bench/results/soak.csv
serve_extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --duration-s) duration_s=${2:?}; shift 2 ;;
    --interval-s) interval_s=${2:?}; shift 2 ;;
    --drivers) drivers=${2:?}; shift 2 ;;
    --riders-per-minute) riders_per_minute=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --nice) niceness=${2:?}; shift 2 ;;
    --config) CONFIG=${2:?}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    --) shift; serve_extra=("$@"); break ;;
    *) echo "soak: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
for v in "$duration_s" "$interval_s" "$drivers" "$riders_per_minute" "$niceness"; do
  case "$v" in '' | *[!0-9]*) echo "soak: numeric options take whole numbers" >&2; exit 2 ;; esac
done
[ "$duration_s" -le 7200 ] && [ "$interval_s" -ge 1 ] || { echo "soak: duration <= 7200 s, interval >= 1 s" >&2; exit 2; }
[ -x "$BIN" ] || { echo "soak: $BIN not built (./run build rideshard)" >&2; exit 1; }
mkdir -p "$(dirname "$out")"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rideshard-soak-XXXXXX")
sim_pid=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [ -n "$sim_pid" ] && { kill -TERM "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; }
  node_stop || true
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "soak: interrupted" >&2; exit 130' INT TERM

health() {  # GET /health -> "depth analytics_rows dropped status"
  http_get /health | python3 -c '
import json, sys
try:
    h = json.load(sys.stdin)
    o = h["checks"]["outbox"]; r = o.get("retention", {})
    print(o.get("depth", -1), r.get("analytics_rows", -1), r.get("dropped", -1), h["status"])
except Exception:
    print(-1, -1, -1, "unreachable")'
}

# Without RIDESHARD_JWT_SECRET node and simulator use the public development
# secret (--dev), as ./run demo does; a real node refuses to start without one.
[ -n "${RIDESHARD_JWT_SECRET:-}" ] || serve_extra=(--dev "${serve_extra[@]}")
# With a secret but no card-vault key: a random one (the data dir is temporary).
if [ -n "${RIDESHARD_JWT_SECRET:-}" ] && [ -z "${RIDESHARD_VAULT_KEY:-}" ]; then
  RIDESHARD_VAULT_KEY=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
  export RIDESHARD_VAULT_KEY
fi
# nice execs the node, so node_pid is the node's own pid (VmRSS, fds below).
node_start nice "$tmp" -n "$niceness" "$BIN" serve --config "$CONFIG" --listen 127.0.0.1:0 \
  --data-dir "$tmp/data" "${serve_extra[@]}" || exit 1

echo "soak: node pid $node_pid on port $port, $drivers drivers, $riders_per_minute riders/min, ${duration_s} s"
nice -n "$niceness" "$BIN" simulate --url "ws://127.0.0.1:$port" --config "$CONFIG" \
  --drivers "$drivers" --riders-per-minute "$riders_per_minute" --duration-s "$duration_s" \
  --drain-s 0 --json "$tmp/simulate.json" >"$tmp/sim.out" 2>&1 &
sim_pid=$!

echo "t_s,rss_kb,open_files,data_dir_bytes,wal_bytes,sst_bytes,outbox_depth,analytics_rows,dropped,health" |
  tee "$out"
start=$(date +%s)
while :; do
  t=$(($(date +%s) - start))
  rss=$(awk '/^VmRSS/{print $2}' "/proc/$node_pid/status" 2>/dev/null || echo -1)
  fds=$(find "/proc/$node_pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
  bytes=$(du -sb "$tmp/data" 2>/dev/null | cut -f1)
  # The data dir is RocksDB's WAL (bounded by max_total_wal_size) plus table files.
  wal=$(find "$tmp/data" -name '*.log' -printf '%s\n' 2>/dev/null | awk '{s+=$1} END{print s+0}')
  sst=$(find "$tmp/data" -name '*.sst' -printf '%s\n' 2>/dev/null | awk '{s+=$1} END{print s+0}')
  read -r depth analytics dropped status < <(health)
  echo "$t,$rss,$fds,$bytes,$wal,$sst,$depth,$analytics,$dropped,$status" | tee -a "$out"
  kill -0 "$sim_pid" 2>/dev/null || break
  [ "$t" -ge "$((duration_s + 60))" ] && break  # the simulator should be gone by now
  sleep "$interval_s"
done
wait "$sim_pid" || echo "soak: the simulator exited with $?" >&2
sim_pid=""
tail -n 12 "$tmp/sim.out"
echo "soak: samples in $out"
