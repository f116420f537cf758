#!/usr/bin/env bash
# `./run quality --live`: dispatch quality on the live node. For low, normal and
# peak demand, one node in each `[matching] mode` (sequential, batched) is driven
# by the WebSocket simulator with the same seed; prints one table row per run.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: ./run quality --live [--duration-s N] [--drain-s N] [--drivers N] [--peak-rpm R]
                            [--time-scale X] [--seed S] [--max-trip-m M] [--levels L]
                            [--set KEY=VALUE]... [--markdown]

For each demand level (low / normal / peak = 25 / 50 / 100% of --peak-rpm rider
arrivals per wall minute) and each matching mode (sequential, batched), starts
`rideshard serve` on 127.0.0.1 (free port, temporary data dir, the region file
with `[matching] mode` set) and runs `rideshard simulate` against it with the
same seed, then prints one row per run: requests, matched share, pickup ETA,
the rider's wall-clock wait from ride_request to `accepted`, request -> offer
latency, expired requests and completed trips. Six runs of --duration-s +
--drain-s each (defaults: 60 + 20 s, 300 drivers, 900 riders/min at peak,
time scale 10, seed 7, rides <= 3 km). --levels runs only some demand levels,
comma separated (e.g. `--levels peak`; default low,normal,peak). --set
replaces a [matching] key of the region files for both modes (repeatable, e.g.
`--set batch_leave_out_s=300 --set batch_max_windows_lost=10`).
USAGE
}

here=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$here/../.." && pwd)
BUILD_DIR=${RIDESHARD_BUILD_DIR:-$ROOT/build}
BIN=$BUILD_DIR/rideshard
# shellcheck source=actors/app/node_lib.sh
. "$here/node_lib.sh"

duration_s=60 drain_s=20 drivers=300 peak_rpm=900 time_scale=10 seed=7 max_trip_m=3000 markdown=0
levels=low,normal,peak
sets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --duration-s) duration_s=${2:?--duration-s needs a value}; shift 2 ;;
    --drain-s) drain_s=${2:?--drain-s needs a value}; shift 2 ;;
    --drivers) drivers=${2:?--drivers needs a value}; shift 2 ;;
    --peak-rpm) peak_rpm=${2:?--peak-rpm needs a value}; shift 2 ;;
    --time-scale) time_scale=${2:?--time-scale needs a value}; shift 2 ;;
    --seed) seed=${2:?--seed needs a value}; shift 2 ;;
    --max-trip-m) max_trip_m=${2:?--max-trip-m needs a value}; shift 2 ;;
    --levels) levels=${2:?--levels needs a value}; shift 2 ;;
    --set) sets+=("${2:?--set needs KEY=VALUE}"); shift 2 ;;
    --markdown) markdown=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "quality --live: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
for v in "$duration_s" "$drain_s" "$drivers" "$seed"; do
  case "$v" in '' | *[!0-9]*) echo "quality --live: counts and seconds are whole numbers" >&2; exit 2 ;; esac
done
[ "$duration_s" -ge 5 ] && [ "$duration_s" -le 3600 ] && [ "$drain_s" -le 3600 ] ||
  { echo "quality --live: --duration-s must be 5..3600, --drain-s at most 3600" >&2; exit 2; }
for l in ${levels//,/ }; do
  case "$l" in low | normal | peak) ;; *) echo "quality --live: unknown level '$l' (low, normal, peak)" >&2; exit 2 ;; esac
done
[ -x "$BIN" ] || { echo "quality --live: $BIN not built (./run build)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rideshard-live-quality-XXXXXX")
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  node_stop || true
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A copy of the single-node config whose region file asks for `mode`.
make_config() {
  local mode=$1 dir=$tmp/config-$1
  mkdir -p "$dir/regions"
  cp "$ROOT/cluster-config/single-node.toml" "$dir/"
  cp "$ROOT"/cluster-config/regions/*.toml "$dir/regions/"
  sed -i "s/^mode = \"[a-z]*\"/mode = \"$mode\"/" "$dir"/regions/*.toml
  grep -q "^mode = \"$mode\"" "$dir"/regions/*.toml ||
    { echo "quality --live: no [matching] mode line to set in the region files" >&2; exit 1; }
  local kv key
  for kv in "${sets[@]}"; do
    key=${kv%%=*}
    case "$kv" in [a-z]*=[0-9]*) ;; *) echo "quality --live: --set wants key=number, got '$kv'" >&2; exit 2 ;; esac
    grep -q "^$key = " "$dir"/regions/*.toml ||
      { echo "quality --live: no '$key' line to set in the region files" >&2; exit 2; }
    sed -i "s/^$key = [0-9.]*/$key = ${kv#*=}/" "$dir"/regions/*.toml
  done
  echo "$dir/single-node.toml"
}

# json_num FILE KEY [FIELD]: a counter ("key": N) or a field of an object line
# ("key": {"field": N, ...}) from the simulator's JSON (one key per line).
json_num() {
  local line
  line=$(grep -m1 "\"$2\":" "$1") || { echo 0; return; }
  if [ $# -ge 3 ]; then
    sed -n "s/.*\"$3\": \([-0-9.e+]*\).*/\1/p" <<<"$line"
  else
    sed -n "s/.*\"$2\": \([-0-9.e+]*\).*/\1/p" <<<"$line"
  fi
}

row() {  # demand mode json
  local j=$3 req matched
  req=$(json_num "$j" requests)
  matched=$(json_num "$j" matched)
  local share
  share=$(awk -v m="$matched" -v r="$req" 'BEGIN { printf "%.1f", (r > 0 ? 100 * m / r : 0) }')
  local cols=("$1" "$2" "$req" "$share"
    "$(json_num "$j" pickup_eta_s mean)" "$(json_num "$j" pickup_eta_s p95)"
    "$(json_num "$j" wait_to_match_s mean)" "$(json_num "$j" wait_to_match_s p95)"
    "$(json_num "$j" request_to_offer_ms p50)" "$(json_num "$j" request_to_offer_ms p99)"
    "$(json_num "$j" expired)" "$(json_num "$j" no_driver)" "$(json_num "$j" completed)")
  if [ "$markdown" = 1 ]; then
    printf '| %s ' "${cols[@]}"
    echo '|'
  else
    printf '%-8s %-10s %8s %8s %9s %9s %9s %9s %10s %10s %7s %9s %9s\n' "${cols[@]}"
  fi
}

header=(demand matching requests "matched%" "ETA mean" "ETA p95" "wait mean" "wait p95"
  "offer p50" "offer p99" expired "no driver" completed)
echo "live dispatch quality: $drivers drivers, ${duration_s} s of riders + ${drain_s} s drain,"
echo "time scale $time_scale, seed $seed, rides <= $max_trip_m m${sets:+, region keys: ${sets[*]}}; pickup ETA in simulated seconds,"
echo "wait (request -> accepted) in wall seconds, request -> offer in ms (client side)"
echo
if [ "$markdown" = 1 ]; then
  echo "| demand | matching | requests | matched % | mean pickup ETA (s) | p95 pickup ETA (s) | mean wait to match (s) | p95 wait to match (s) | request -> offer p50 (ms) | p99 (ms) | expired | no driver | completed |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
else
  printf '%-8s %-10s %8s %8s %9s %9s %9s %9s %10s %10s %7s %9s %9s\n' "${header[@]}"
fi

for level in low:25 normal:50 peak:100; do
  name=${level%%:*} pct=${level#*:}
  case ",$levels," in *",$name,"*) ;; *) continue ;; esac
  rpm=$(awk -v p="$peak_rpm" -v q="$pct" 'BEGIN { printf "%g", p * q / 100 }')
  for mode in sequential batched; do
    config=$(make_config "$mode")
    run=$tmp/$name-$mode
    mkdir -p "$run"
    node_start "$BIN" "$run" serve --config "$config" --listen 127.0.0.1:0 \
      --data-dir "$run/data" --dev
    "$BIN" simulate --url "ws://127.0.0.1:$port" --config "$config" --drivers "$drivers" \
      --riders-per-minute "$rpm" --time-scale "$time_scale" --duration-s "$duration_s" \
      --drain-s "$drain_s" --max-trip-m "$max_trip_m" --seed "$seed" \
      --json "$run/sim.json" >"$run/sim.out" 2>&1 ||
      { echo "quality --live: the simulator failed ($name, $mode):" >&2; tail -n 20 "$run/sim.out" >&2; exit 1; }
    node_stop || { echo "quality --live: the node exited badly ($name, $mode)" >&2; tail -n 20 "$run/node.log" >&2; exit 1; }
    row "$name ($rpm/min)" "$mode" "$run/sim.json"
  done
done
