#!/usr/bin/env bash
# Idle CPU of the node: one `rideshard serve` (the given config, a temporary data
# dir, no clients) per run; after --settle-s it reads the node's utime+stime and
# its threads' context switches (/proc/<pid>/stat, /proc/<pid>/task/*/status),
# waits --window-s, reads them again and prints CPU seconds, % of one core and
# wake-ups per second, then the medians over --runs. Bounded: each node is
# stopped with SIGTERM and its directory removed (also on Ctrl-C).
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: bench/load/idle_cpu.sh [--runs N] [--window-s N] [--settle-s N] [--config FILE]

  --runs N        runs, a fresh node each (default 5)
  --window-s N    seconds measured per run (default 30)
  --settle-s N    seconds between "listening" and the first reading (default 5)
  --config FILE   node config (default cluster-config/single-node.toml)
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

runs=5 window_s=30 settle_s=5
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=${2:?}; shift 2 ;;
    --window-s) window_s=${2:?}; shift 2 ;;
    --settle-s) settle_s=${2:?}; shift 2 ;;
    --config) CONFIG=${2:?}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "idle_cpu: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
for v in "$runs" "$window_s" "$settle_s"; do
  case "$v" in '' | *[!0-9]*) echo "idle_cpu: options take whole numbers" >&2; exit 2 ;; esac
done
[ "$runs" -ge 1 ] && [ "$runs" -le 20 ] && [ "$window_s" -ge 1 ] && [ "$window_s" -le 600 ] ||
  { echo "idle_cpu: 1 <= runs <= 20, 1 <= window-s <= 600" >&2; exit 2; }
[ -x "$BIN" ] || { echo "idle_cpu: $BIN not built (./run build rideshard)" >&2; exit 1; }

work=$(mktemp -d)
cleanup() { node_stop >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

hz=$(getconf CLK_TCK)
# cpu_ticks PID: utime + stime of the whole process, in clock ticks.
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
# switches PID: voluntary + involuntary context switches summed over its threads.
switches() {
  cat /proc/"$1"/task/*/status 2>/dev/null |
    awk '/^(voluntary|nonvoluntary)_ctxt_switches/ { s += $2 } END { print s + 0 }'
}
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "idle_cpu: $BIN --config $CONFIG, $runs runs of ${window_s} s, load: $(cut -d' ' -f1-3 /proc/loadavg)"
cpus=() wakes=()
for r in $(seq 1 "$runs"); do
  rm -rf "$work/data"
  node_start "$BIN" "$work" serve --dev --config "$CONFIG" --listen 127.0.0.1:0 \
    --data-dir "$work/data"
  sleep "$settle_s"
  t0=$(cpu_ticks "$node_pid") s0=$(switches "$node_pid")
  sleep "$window_s"
  t1=$(cpu_ticks "$node_pid") s1=$(switches "$node_pid")
  threads=$(ls "/proc/$node_pid/task" | wc -l)
  node_stop >/dev/null || true
  cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN { printf "%.3f", (b - a) / hz }')
  wake=$(awk -v a="$s0" -v b="$s1" -v w="$window_s" 'BEGIN { printf "%.0f", (b - a) / w }')
  cpus+=("$cpu") wakes+=("$wake")
  printf 'run %d: %s CPU-s in %d s (%.2f%% of one core), %s context switches/s, %d threads, load %s\n' \
    "$r" "$cpu" "$window_s" "$(awk -v c="$cpu" -v w="$window_s" 'BEGIN { print 100 * c / w }')" \
    "$wake" "$threads" "$(cut -d' ' -f1 /proc/loadavg)"
done
mc=$(printf '%s\n' "${cpus[@]}" | median)
mw=$(printf '%s\n' "${wakes[@]}" | median)
printf 'median: %s CPU-s per %d s (%.2f%% of one core), %s context switches/s; load: %s\n' \
  "$mc" "$window_s" "$(awk -v c="$mc" -v w="$window_s" 'BEGIN { print 100 * c / w }')" "$mw" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"
