#!/usr/bin/env bash
# `./run demo --cluster`: a local Kafka broker, three nodes from
# cluster-config/three-node/ (mutual TLS between them, shard groups owned
# through the broker), the fleet simulator spread over all three; at half time
# the node with the most active trips is killed (kill -9). Prints the shard map
# before and after, the failover time and what the simulator's audit found,
# and writes a JSON summary.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: ./run demo --cluster [--duration-s N] [--drivers N] [--riders-per-minute R]
                            [--time-scale X] [--summary FILE] [-- <more `rideshard simulate` flags>]

Starts a local Kafka broker (tests/system/kafka/kafka.sh; jars from Maven
Central, cached), development certificates (cluster-config/three-node/make-certs.sh),
and three `rideshard serve` nodes on 127.0.0.1 built from
cluster-config/three-node/node-{1,2,3}.toml (free ports, temporary data dirs).
Once every shard group is owned, `rideshard simulate` connects its apps to all
three nodes (client i to node i mod 3; a dropped app redials the next node and
resumes). At half of the load time the node with the most active trips is
killed with SIGKILL. The demo prints the shard map (`rideshard admin cluster`)
before and after, the failover time (kill -> every shard group owned by a node
that is up again), the time to the first offer for a trip in one of the killed
node's shard groups, the simulator's summary with its audit (every trip state an
app was told, read back from the survivors: acknowledged_lost,
double_assignments), stops the survivors with SIGTERM and removes the
temporary directory. Any node accepts any app: a request whose pickup's shard
group another node owns is forwarded to that node. The demo counts the requests
refused because their group had no owner (rideshard_cluster_unowned_total of
the three nodes) before the kill, which must be 0, and in all (the failover
window included), and the request -> offer latency before the kill (the
nodes' histograms, bucket bounds). Exits 1 if anything acknowledged was lost
or a request was refused before the kill.

  --duration-s N          seconds of traffic in all (default 80): the first half
                          with new riders, the rest for trips in flight
  --drivers N             driver connections over the three nodes (default 600)
  --riders-per-minute R   rider arrivals per wall minute (default 240)
  --time-scale X          simulated seconds per wall second (default 10)
  --summary FILE          the JSON summary (default: build/demo-cluster.json):
                          failover_s, first_offer_s, acknowledged_lost,
                          double_assignments, requests, matched,
                          refused_before_kill, refused, request_to_offer_p50_s /
                          _p99_s, killed_node, shard maps
USAGE
}

here=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$here/../.." && pwd)
BUILD_DIR=${RIDESHARD_BUILD_DIR:-$ROOT/build}
BIN=$BUILD_DIR/rideshard
KAFKA_SH=$ROOT/tests/system/kafka/kafka.sh
THREE=$ROOT/cluster-config/three-node
# shellcheck source=actors/app/node_lib.sh
. "$here/node_lib.sh"

duration_s=80 drivers=600 riders_per_minute=240 time_scale=10
summary_json=$BUILD_DIR/demo-cluster.json
sim_extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --cluster) shift ;;
    --duration-s) duration_s=${2:?--duration-s needs a value}; shift 2 ;;
    --drivers) drivers=${2:?--drivers needs a value}; shift 2 ;;
    --riders-per-minute) riders_per_minute=${2:?--riders-per-minute needs a value}; shift 2 ;;
    --time-scale) time_scale=${2:?--time-scale needs a value}; shift 2 ;;
    --summary) summary_json=${2:?--summary needs a file}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    --) shift; sim_extra=("$@"); break ;;
    *) echo "demo --cluster: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
case "$duration_s" in
  '' | *[!0-9]*) echo "demo --cluster: --duration-s must be a whole number of seconds" >&2; exit 2 ;;
esac
[ "$duration_s" -ge 20 ] && [ "$duration_s" -le 3600 ] ||
  { echo "demo --cluster: --duration-s must be 20..3600" >&2; exit 2; }
load_s=$((duration_s / 2))
drain_s=$((duration_s - load_s))

say() { printf '\n==> %s\n' "$*"; }
[ -x "$BIN" ] || { echo "demo --cluster: $BIN not built (./run build)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rideshard-cluster-demo-XXXXXX")
sim_pid="" kafka_started=0
pids=("" "" "" "") ports=("" "" "" "")

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$sim_pid" ]; then kill -TERM "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; fi
  for i in 1 2 3; do
    [ -n "${pids[$i]}" ] || continue
    kill -TERM "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" 2>/dev/null || true
  done
  [ "$kafka_started" = 1 ] && { "$KAFKA_SH" stop "$tmp/kafka" || true; }
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'echo; echo "demo --cluster: interrupted, cleaning up" >&2; exit 130' INT TERM

now_s() { date +%s.%N; }
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 40000))
    if port_free "$p"; then echo "$p"; return 0; fi
  done
  echo "demo --cluster: no free port" >&2
  return 1
}
# `rideshard admin cluster --summary` of node i: "node=1 ... unowned_groups=..."
summary_of() { "$BIN" admin cluster --url "http://127.0.0.1:${ports[$1]}" --summary 2>/dev/null; }
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"; }
# metrics_of i: node i's /metrics (empty if it does not answer).
metrics_of() { port=${ports[$1]} http_get /metrics || true; }
# unowned_sum i...: rideshard_cluster_unowned_total summed over nodes i...
unowned_sum() {
  local i total=0 n
  for i in "$@"; do
    n=$(metrics_of "$i" | awk '$1 == "rideshard_cluster_unowned_total" { printf "%d", $2 }')
    total=$((total + ${n:-0}))
  done
  echo "$total"
}
# offer_quantile Q i...: the upper bound (s) of the bucket holding the Q-quantile
# of rideshard_request_to_offer_seconds, the nodes' histograms merged; null if empty.
offer_quantile() {
  local q=$1 i
  shift
  for i in "$@"; do metrics_of "$i"; done | awk -v q="$q" '
    /^rideshard_request_to_offer_seconds_bucket/ {
      le = $0; sub(/.*le="/, "", le); sub(/".*/, "", le); n[le] += $2; if (!(le in seen)) { seen[le] = 1; order[++k] = le } }
    END {
      total = n["+Inf"]; if (total == 0) { print "null"; exit }
      for (j = 1; j <= k; ++j) if (order[j] != "+Inf" && n[order[j]] >= q * total) { print order[j] + 0; exit }
      print "null" }'
}

# --dev: development secret and card-vault key (the demo mints its own tokens).
dev=()
if [ -z "${RIDESHARD_JWT_SECRET:-}" ]; then
  say "no RIDESHARD_JWT_SECRET: the nodes run with --dev (public development secret, demo only)"
  dev=(--dev)
elif [ -z "${RIDESHARD_VAULT_KEY:-}" ]; then
  RIDESHARD_VAULT_KEY=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
  export RIDESHARD_VAULT_KEY
fi

say "starting a local Kafka broker (first run fetches the jars from Maven Central)"
kafka_started=1
kafka_rc=0
kafka_out=$("$KAFKA_SH" start "$tmp/kafka") || kafka_rc=$?
if [ "$kafka_rc" -ne 0 ]; then
  [ "$kafka_rc" -eq 77 ] && echo "demo --cluster: the Kafka jars cannot be fetched (offline?)" >&2
  tail -n 20 "$tmp/kafka/broker.log" >&2 2>/dev/null || true
  exit 1
fi
bootstrap=${kafka_out#bootstrap=}
echo "Kafka broker at $bootstrap"

say "development certificates for mutual TLS between the nodes"
"$THREE/make-certs.sh" "$tmp/certs" node-1 node-2 node-3 >/dev/null
basp=("" "$(pick_port)" "$(pick_port)" "$(pick_port)")

# Each node's config: the repository's node-N.toml with this run's BASP ports,
# the region files by absolute path, the certificates of this run (certs/ next
# to the copy). Data dir, gateway port and broker come as flags.
for i in 1 2 3; do
  sed -e "s|127\.0\.0\.1:4101|127.0.0.1:${basp[1]}|g" \
    -e "s|127\.0\.0\.1:4102|127.0.0.1:${basp[2]}|g" \
    -e "s|127\.0\.0\.1:4103|127.0.0.1:${basp[3]}|g" \
    -e "s|\"\.\./regions/|\"$ROOT/cluster-config/regions/|g" \
    "$THREE/node-$i.toml" >"$tmp/node-$i.toml"
  mkdir -p "$tmp/node-$i"
done

for i in 1 2 3; do
  args=(serve --config "$tmp/node-$i.toml" --listen 127.0.0.1:0 --data-dir "$tmp/node-$i/data"
    --kafka-bootstrap "$bootstrap" "${dev[@]}")
  say "starting node $i: rideshard ${args[*]}"
  node_start "$BIN" "$tmp/node-$i" "${args[@]}" || { echo "demo --cluster: node $i did not start" >&2; exit 1; }
  pids[$i]=$node_pid ports[$i]=$port
  node_pid=""
done

say "waiting for the three nodes to see each other and own every shard group (up to 90 s)"
ready=0
for _ in $(seq 1 450); do
  s=$(summary_of 1 || true)
  # Every node has its share (the group rebalances as nodes join) and no group is left out.
  if [ "$(field "$s" members_up)" = 3 ] && [ "$(field "$s" members_without_groups)" = 0 ] &&
    [ -z "$(field "$s" unowned_groups)" ] && [ "$(field "$s" shard_groups)" != 0 ]; then
    ready=1
    break
  fi
  sleep 0.2
done
if [ "$ready" != 1 ]; then
  echo "demo --cluster: the cluster did not come up with every shard group owned:" >&2
  "$BIN" admin cluster --url "http://127.0.0.1:${ports[1]}" >&2 || true
  for i in 1 2 3; do tail -n 5 "$tmp/node-$i/node.log" >&2; done
  exit 1
fi

cat <<EOF

Three nodes up (logs in $tmp/node-N/node.log while the demo runs):
  node 1   http://127.0.0.1:${ports[1]}/admin   BASP 127.0.0.1:${basp[1]}
  node 2   http://127.0.0.1:${ports[2]}/admin   BASP 127.0.0.1:${basp[2]}
  node 3   http://127.0.0.1:${ports[3]}/admin   BASP 127.0.0.1:${basp[3]}
  shard map   $BIN admin cluster --url http://127.0.0.1:${ports[1]}
EOF
say "the shard map before"
map_before=$("$BIN" admin cluster --url "http://127.0.0.1:${ports[1]}")
echo "$map_before"

urls="ws://127.0.0.1:${ports[1]},ws://127.0.0.1:${ports[2]},ws://127.0.0.1:${ports[3]}"
sim_args=(simulate --url "$urls" --config "$tmp/node-1.toml" --drivers "$drivers"
  --riders-per-minute "$riders_per_minute" --time-scale "$time_scale"
  --duration-s "$load_s" --drain-s "$drain_s" --max-trip-m 1500 --reconnect-s 30 --audit
  --json "$tmp/simulate.json" --offer-log "$tmp/offers.log" "${sim_extra[@]}")
say "simulating for up to ${duration_s} s over the three nodes: rideshard ${sim_args[*]}"
"$BIN" "${sim_args[@]}" >"$tmp/simulate.out" 2>"$tmp/simulate.err" &
sim_pid=$!
# The demo's timeline, not a synchronisation: let rides get under way.
sleep $((load_s / 2))

say "half time: active trips per node"
victim=0 most=-1 victim_groups=""
for i in 1 2 3; do
  s=$(summary_of "$i" || true)
  n=$(field "$s" active_trips)
  g=$(field "$s" served_groups)
  echo "  node $i: ${n:-?} active trips, serves shard groups [$g]"
  if [ -n "$n" ] && [ "$n" -gt "$most" ]; then most=$n victim=$i victim_groups=$g; fi
done
[ "$victim" != 0 ] || { echo "demo --cluster: no node answered" >&2; exit 1; }
# Steady state, before the kill: requests refused for want of an owner (must be
# 0: every group is owned and any node forwards to the owner), and how long a
# ride request took to its first offer (two in three cross nodes).
refused_before=$(unowned_sum 1 2 3)
offer_p50=$(offer_quantile 0.5 1 2 3) offer_p99=$(offer_quantile 0.99 1 2 3)
echo "  requests refused so far (no owner for their shard group): $refused_before"
echo "  request -> offer so far, bucket upper bounds: p50 <= ${offer_p50} s, p99 <= ${offer_p99} s"
survivor=1
[ "$victim" = 1 ] && survivor=2
say "kill -9 node $victim (pid ${pids[$victim]}, $most active trips)"
t_kill=$(now_s)
kill -KILL "${pids[$victim]}"
wait "${pids[$victim]}" 2>/dev/null || true
pids[$victim]=""

failover_s=null
for _ in $(seq 1 600); do
  s=$(summary_of "$survivor" || true)
  if [ "$(field "$s" members_up)" = 2 ] && [ -z "$(field "$s" unowned_groups)" ] &&
    [ "$(field "$s" shard_groups)" != 0 ]; then
    failover_s=$(awk -v a="$t_kill" -v b="$(now_s)" 'BEGIN { printf "%.2f", b - a }')
    break
  fi
  sleep 0.1
done
if [ "$failover_s" = null ]; then
  echo "  the survivors did not own every shard group within 60 s of the kill"
else
  echo "  failover: every shard group owned by a node that is up ${failover_s} s after the kill"
fi
say "the shard map after"
map_after=$("$BIN" admin cluster --url "http://127.0.0.1:${ports[$survivor]}" || true)
echo "$map_after"

say "the simulator's progress until the end of the run"
sim_rc=0
wait "$sim_pid" || sim_rc=$?
sim_pid=""
tail -n 3 "$tmp/simulate.err"
cat "$tmp/simulate.out"
# kill -> the first offer any driver received for a trip in a group the killed
# node served (the simulator's offer log: "unix_ms trip_id group").
first_offer_s=$(awk -v t="$t_kill" -v groups="$victim_groups" '
  BEGIN { n = split(groups, g, ","); for (i = 1; i <= n; i++) mine[g[i]] = 1; best = -1 }
  ($3 in mine) && $1 / 1000 > t { d = $1 / 1000 - t; if (best < 0 || d < best) best = d }
  END { if (best < 0) print "null"; else printf "%.2f", best }' "$tmp/offers.log" 2>/dev/null ||
  echo null)
if [ "$first_offer_s" = null ]; then
  echo "  no offer for a trip in the killed node's shard groups [$victim_groups] after the kill"
else
  echo "  first offer for a trip in the killed node's shard groups: ${first_offer_s} s after the kill"
fi
# (No match is 0 refusals, not a failure of the demo: set -e and pipefail.)
refused=$({ grep -o 'unavailable=[0-9]*' "$tmp/simulate.out" || true; } | head -n 1 | cut -d= -f2)
refused=${refused:-0}
echo "  requests refused \`unavailable\` in all: $refused ($refused_before before the kill; the rest"
echo "  met a shard group without an owner during the failover window, after [cluster] handoff_wait_ms)"

# The summary's figures from the simulator's JSON (flat "key": number pairs).
num() { grep -o "\"$1\": *[0-9]*" "$tmp/simulate.json" | head -n 1 | grep -o '[0-9]*$' || echo null; }
lost=$(num acknowledged_lost) doubles=$(num double_assignments)
json_text() { sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' | awk 'BEGIN { ORS = "\\n" } { print }'; }
mkdir -p "$(dirname "$summary_json")"
cat >"$summary_json" <<EOF
{
  "failover_s": $failover_s,
  "first_offer_s": $first_offer_s,
  "killed_node_groups": "$victim_groups",
  "acknowledged_lost": $lost,
  "double_assignments": $doubles,
  "requests": $(num requests),
  "matched": $(num matched),
  "refused_before_kill": $refused_before,
  "refused": $refused,
  "request_to_offer_p50_s": $offer_p50,
  "request_to_offer_p99_s": $offer_p99,
  "completed": $(num completed),
  "reconnects": $(num reconnects),
  "resumed_trips": $(num resumed_trips),
  "audited_trips": $(num trips),
  "killed_node": $victim,
  "killed_node_active_trips": $most,
  "shard_map_before": "$(json_text <<<"$map_before")",
  "shard_map_after": "$(json_text <<<"$map_after")"
}
EOF

say "stopping the survivors (SIGTERM)"
node_rc=0
for i in 1 2 3; do
  [ -n "${pids[$i]}" ] || continue
  kill -TERM "${pids[$i]}" 2>/dev/null || true
  rc=0
  wait "${pids[$i]}" || rc=$?
  pids[$i]=""
  echo "  node $i exit status: $rc"
  [ "$rc" -eq 0 ] || node_rc=$rc
done
"$KAFKA_SH" stop "$tmp/kafka" || true
kafka_started=0

say "summary (also in $summary_json)"
cat "$summary_json"
[ "$sim_rc" -eq 0 ] || { echo "demo --cluster: the simulator exited with status $sim_rc" >&2; exit 1; }
[ "$lost" = 0 ] || { echo "demo --cluster: $lost trips lost an acknowledged state" >&2; exit 1; }
[ "$doubles" = 0 ] || { echo "demo --cluster: $doubles double assignments" >&2; exit 1; }
[ "$failover_s" != null ] || { echo "demo --cluster: no failover within 60 s" >&2; exit 1; }
[ "$refused_before" = 0 ] ||
  { echo "demo --cluster: $refused_before requests refused before the kill" >&2; exit 1; }
[ "$node_rc" -eq 0 ] || { echo "demo --cluster: a survivor exited with status $node_rc" >&2; exit 1; }
say "demo done; temporary files removed"
