#!/usr/bin/env bash
# `./run demo`: one node on a free loopback port driven by the WebSocket fleet
# simulator for about a minute; prints where to look, the summary, then cleans up.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: ./run demo [--duration-s N] [--drivers N] [--riders-per-minute R]
                  [--time-scale X] [--kafka] [-- <more `rideshard simulate` flags>]

Starts `rideshard serve` on 127.0.0.1 (free port, temporary data dir) and
`rideshard simulate` against it (each simulated rider first adds a sandbox test
card through POST /api/payments/methods, so rides are held and captured at the
in-process sandbox PSP), creates a demo admin account and prints the
admin console's address (/admin) with its sign-in, the node's /health, /metrics
and API addresses, the simulator's live progress and summary, the rides at the
sandbox PSP (cards added, holds authorized, rides captured, holds cancelled,
uncollected), then stops the node with SIGTERM (checking it exits 0) and removes the temporary directory. Ctrl-C also
cleans up.

  --duration-s N          seconds of traffic in all (default 60): the first half
                          with new riders, the rest for trips in flight to finish
  --drivers N             driver connections (default 2000)
  --riders-per-minute R   rider arrivals per wall minute at the start (default 360)
  --time-scale X          simulated seconds per wall second (default 10): cars
                          drive faster (the simulator caps them at 60 m/s) and
                          rides are short (<= 1.5 km) so trips complete in the minute
  --cluster               a broker and three nodes instead, with a kill -9 at half
                          time: see ./run demo --cluster --help
  --kafka                 also start a local Kafka broker (tests/system/kafka/kafka.sh,
                          jars from Maven Central, cached) and pass --kafka-bootstrap
                          to the node; prints how many events reached each topic
USAGE
}

here=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$here/../.." && pwd)
BUILD_DIR=${RIDESHARD_BUILD_DIR:-$ROOT/build}
BIN=$BUILD_DIR/rideshard
CONFIG=$ROOT/cluster-config/single-node.toml
KAFKA_SH=$ROOT/tests/system/kafka/kafka.sh
# shellcheck source=actors/app/node_lib.sh
. "$here/node_lib.sh"

duration_s=60 drivers=2000 riders_per_minute=360 time_scale=10 kafka=0
sim_extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --duration-s) duration_s=${2:?--duration-s needs a value}; shift 2 ;;
    --drivers) drivers=${2:?--drivers needs a value}; shift 2 ;;
    --riders-per-minute) riders_per_minute=${2:?--riders-per-minute needs a value}; shift 2 ;;
    --time-scale) time_scale=${2:?--time-scale needs a value}; shift 2 ;;
    --kafka) kafka=1; shift ;;
    --cluster) exec "$here/demo_cluster.sh" "$@" ;;
    -h | --help) usage; exit 0 ;;
    --) shift; sim_extra=("$@"); break ;;
    *) echo "demo: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
case "$duration_s" in
  '' | *[!0-9]*) echo "demo: --duration-s must be a whole number of seconds" >&2; exit 2 ;;
esac
[ "$duration_s" -ge 6 ] && [ "$duration_s" -le 3600 ] ||
  { echo "demo: --duration-s must be 6..3600" >&2; exit 2; }
load_s=$((duration_s / 2))
drain_s=$((duration_s - load_s))

say() { printf '\n==> %s\n' "$*"; }
[ -x "$BIN" ] || { echo "demo: $BIN not built (./run build)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rideshard-demo-XXXXXX")
sim_pid="" kafka_started=0

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$sim_pid" ]; then kill -TERM "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; fi
  node_stop || true
  [ "$kafka_started" = 1 ] && { "$KAFKA_SH" stop "$tmp/kafka" || true; }
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted, cleaning up" >&2; exit 130' INT TERM


# --dev: the demo mints its tokens with the public development secret
# (`rideshard token` without $RIDESHARD_JWT_SECRET); a real node refuses that.
serve_args=(serve --config "$CONFIG" --listen 127.0.0.1:0 --data-dir "$tmp/data")
if [ -z "${RIDESHARD_JWT_SECRET:-}" ]; then
  say "no RIDESHARD_JWT_SECRET: the node runs with --dev (public development secret, demo only)"
  serve_args+=(--dev)
elif [ -z "${RIDESHARD_VAULT_KEY:-}" ]; then
  # The demo's data dir is temporary: a random card-vault key for this run.
  RIDESHARD_VAULT_KEY=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
  export RIDESHARD_VAULT_KEY
fi
if [ "$kafka" = 1 ]; then
  if ! "$BIN" serve --help 2>&1 | grep -q -- --kafka-bootstrap; then
    echo "demo: this build's \`rideshard serve\` has no --kafka-bootstrap flag yet" >&2
    exit 1
  fi
  say "starting a local Kafka broker (first run fetches the jars from Maven Central)"
  kafka_started=1
  kafka_rc=0
  kafka_out=$("$KAFKA_SH" start "$tmp/kafka") || kafka_rc=$?
  if [ "$kafka_rc" -ne 0 ]; then
    [ "$kafka_rc" -eq 77 ] && echo "demo: the Kafka jars cannot be fetched (offline?)" >&2
    tail -n 20 "$tmp/kafka/broker.log" >&2 2>/dev/null || true
    exit 1
  fi
  bootstrap=${kafka_out#bootstrap=}
  echo "Kafka broker at $bootstrap"
  serve_args+=(--kafka-bootstrap "$bootstrap")
fi

say "starting the node: rideshard ${serve_args[*]}"
node_start "$BIN" "$tmp" "${serve_args[@]}" || { echo "demo: the node did not start" >&2; exit 1; }

# A demo admin account for the console (a random password, shown once; the
# account lives in the temporary data dir and goes with it).
admin_email=demo-admin@rideshard.local
admin_password=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
if ! RIDESHARD_ADMIN_PASSWORD=$admin_password "$BIN" admin create-user \
  --url "http://127.0.0.1:$port" --email "$admin_email" --name "Demo admin" >"$tmp/admin.out" 2>&1; then
  echo "demo: could not create the demo admin account:" >&2
  cat "$tmp/admin.out" >&2
  exit 1
fi

cat <<EOF

Node running (pid $node_pid), logs in $tmp/node.log while the demo runs:
  console    http://127.0.0.1:$port/admin   (open it while the city runs)
             sign in as $admin_email / $admin_password   (demo account)
  health     curl -s http://127.0.0.1:$port/health
  metrics    curl -s http://127.0.0.1:$port/metrics
  HTTP API   http://127.0.0.1:$port/api/...   (docs/http-api.md), e.g.
             curl -s -H "Authorization: Bearer \$($BIN token --role admin --sub ops)" \\
               'http://127.0.0.1:$port/api/drivers/nearby?lat=40.754&lon=-73.984&radius_m=2000&k=5'
  WebSocket  ws://127.0.0.1:$port/v1/driver and /v1/rider   (docs/protocol.md)
  /health -> $(http_get /health | tr -d '\n')
EOF

sim_args=(simulate --url "ws://127.0.0.1:$port" --config "$CONFIG" --drivers "$drivers"
  --riders-per-minute "$riders_per_minute" --time-scale "$time_scale"
  --duration-s "$load_s" --drain-s "$drain_s" --max-trip-m 1500
  --json "$tmp/simulate.json" "${sim_extra[@]}")
say "simulating for up to ${duration_s} s: rideshard ${sim_args[*]}"
"$BIN" "${sim_args[@]}" &
sim_pid=$!
sim_rc=0
wait "$sim_pid" || sim_rc=$?
sim_pid=""

if ! kill -0 "$node_pid" 2>/dev/null; then
  echo "demo: the node exited during the run; its log:" >&2
  tail -n 20 "$tmp/node.out" "$tmp/node.log" >&2
  exit 1
fi
say "the node's own counters (GET /metrics)"
http_get /metrics | grep -E '^rideshard_(trips|offers|request_to_offer_seconds_count|rides_paid|ride_money|ride_psp)' |
  grep -v '^#' | head -n 40 || true
[ "$kafka" = 1 ] && echo "health: $(http_get /health | tr -d '\n')"

# The PSP calls follow the ledger on the node's payment worker: give its
# backlog a bounded moment to drain before reading the outcome.
for _ in $(seq 1 50); do
  backlog=$(http_get /metrics | awk '$1 == "rideshard_ride_psp_backlog" { print $2 }')
  [ "${backlog:-0}" = 0 ] && break
  sleep 0.2
done
say "rides at the sandbox PSP (the simulated riders' test cards; GET /metrics)"
http_get /metrics | awk '
  # Sums a counter line by its labels: step/outcome of rideshard_ride_psp_steps_total.
  function label(line, name,   m) {
    if (match(line, name "=\"[^\"]*\"")) { m = substr(line, RSTART, RLENGTH); sub(/^[^"]*"/, "", m); sub(/"$/, "", m); return m }
    return ""
  }
  /^rideshard_payments_total\{/ && label($0, "event") == "method_added" { cards += $2 }
  /^rideshard_ride_psp_steps_total\{/ { n[label($0, "step") "/" label($0, "outcome")] += $2 }
  /^rideshard_ride_psp_uncollected_minor_total / { uncollected_minor = $2 }
  END {
    printf "  cards added (vaulted, number never logged)  %d\n", cards
    printf "  holds authorized at the PSP                 %d (declined %d, refused %d, no card %d)\n",
      n["authorize/ok"], n["authorize/declined"], n["authorize/failed"], n["authorize/no_method"]
    printf "  rides captured at the PSP                   %d (plus %d extra charges above the hold)\n",
      n["capture/ok"], n["charge_extra/ok"]
    printf "  holds cancelled at the PSP                  %d\n", n["cancel/ok"]
    printf "  uncollected (ledger only)                   %d charges, %d minor units\n",
      n["uncollectable/no_method"] + n["uncollectable/declined"] + n["uncollectable/failed"] + n["capture/failed"] + n["capture/declined"],
      uncollected_minor
  }'

say "stopping the node (SIGTERM)"
node_rc=0
node_stop || node_rc=$?
cat "$tmp/node.out"
echo "node exit status: $node_rc"

if [ "$kafka" = 1 ]; then
  "$KAFKA_SH" stop "$tmp/kafka" || true
  kafka_started=0
  # A cleanly stopped broker checkpoints each partition's high watermark.
  echo "Kafka: events per topic (partition high watermarks after a clean broker stop):"
  awk '$1 ~ /^rideshard\./ { n[$1] += $3 } END { for (t in n) printf "  %-32s %d\n", t, n[t] }' \
    "$tmp/kafka/data/replication-offset-checkpoint" 2>/dev/null | sort ||
    echo "  (no checkpoint file: count unknown)"
fi

[ "$sim_rc" -eq 0 ] || { echo "demo: the simulator exited with status $sim_rc" >&2; exit 1; }
[ "$node_rc" -eq 0 ] || { echo "demo: the node exited with status $node_rc; log:" >&2; tail -n 20 "$tmp/node.log" >&2; exit 1; }
say "demo done; temporary files removed"
