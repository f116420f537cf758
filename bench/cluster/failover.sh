#!/usr/bin/env bash
# bench/cluster/failover.sh: the cluster failover figures of issue 9 as medians.
# Runs `./run demo --cluster` (a local broker, three nodes, the simulator over
# all three, kill -9 of the node with the most active trips at half time) N
# times and prints, per run and as medians:
#   failover_s      kill -> every shard group owned by a node that is up
#   first_offer_s   kill -> the first offer a driver received for a trip in one
#                   of the killed node's shard groups
#   lost, doubles   the simulator's audit: acknowledged states the survivors do
#                   not hold, drivers assigned to two trips at once
# Each run's JSON summary is kept in the results directory.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: bench/cluster/failover.sh [--runs N] [--out DIR] [-- <./run demo --cluster flags>]

  --runs N   demo runs (default 5; the median needs >= 5 to mean much)
  --out DIR  where each run's summary goes (default build/bench/results/failover)
Flags after -- go to every demo run (default: --duration-s 40 --drivers 400
--riders-per-minute 300). Each run takes about duration + 30 s (broker and
nodes start anew). Needs a built tree (./run build).
USAGE
}

here=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$here/../.." && pwd)
BUILD_DIR=${RIDESHARD_BUILD_DIR:-$ROOT/build}
runs=5 out=$BUILD_DIR/bench/results/failover
demo_args=(--duration-s 40 --drivers 400 --riders-per-minute 300)
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=${2:?--runs needs a number}; shift 2 ;;
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    --) shift; demo_args=("$@"); break ;;
    *) echo "failover.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
case "$runs" in '' | *[!0-9]*) echo "failover.sh: --runs must be a whole number" >&2; exit 2 ;; esac
[ "$runs" -ge 1 ] && [ "$runs" -le 50 ] || { echo "failover.sh: --runs 1..50" >&2; exit 2; }
mkdir -p "$out"

num() { grep -o "\"$2\": *[0-9.]*" "$1" | head -n 1 | sed 's/.*: *//' | grep . || echo null; }
median() { tr ' ' '\n' | grep -v '^null$' | grep . | sort -g |
  awk '{ v[NR] = $1 } END { if (NR == 0) print "null"; else if (NR % 2) print v[(NR + 1) / 2];
    else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "failover bench: $runs runs of ./run demo --cluster ${demo_args[*]}"
echo "machine: $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
fo=() first=() lost=0 doubles=0 failed=0
printf '%-4s %11s %14s %6s %8s %9s %8s\n' run failover_s first_offer_s lost doubles requests matched
for i in $(seq 1 "$runs"); do
  s=$out/run-$i.json
  rm -f "$s"
  if ! "$ROOT/actors/app/demo_cluster.sh" --summary "$s" "${demo_args[@]}" >"$out/run-$i.log" 2>&1; then
    failed=$((failed + 1))
    echo "run $i: the demo failed (log: $out/run-$i.log)"
  fi
  [ -f "$s" ] || continue
  f=$(num "$s" failover_s) o=$(num "$s" first_offer_s)
  l=$(num "$s" acknowledged_lost) d=$(num "$s" double_assignments)
  printf '%-4s %11s %14s %6s %8s %9s %8s\n' "$i" "$f" "$o" "$l" "$d" \
    "$(num "$s" requests)" "$(num "$s" matched)"
  fo+=("$f") first+=("$o")
  [ "$l" = null ] || lost=$((lost + l))
  [ "$d" = null ] || doubles=$((doubles + d))
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "median failover_s (kill -> every group owned):        $(echo "${fo[*]:-}" | median)"
echo "median first_offer_s (kill -> first offer, affected): $(echo "${first[*]:-}" | median)"
echo "acknowledged_lost over all runs: $lost; double_assignments: $doubles; failed runs: $failed"
echo "anchors (defaults, not run here): Akka Cluster Sharding ~45 s, Orleans ~15 s detection,"
echo "Kafka consumer groups 45 s session timeout"
[ "$failed" = 0 ] && [ "$lost" = 0 ] && [ "$doubles" = 0 ]
