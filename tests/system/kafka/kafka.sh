#!/usr/bin/env bash
# A single-node Apache Kafka (KRaft, broker+controller) on 127.0.0.1 for tests and
# the demo, assembled from Maven Central jars (pom.xml next to this script).
#   kafka.sh fetch            download the jars once (cached; see RIDESHARD_KAFKA_JARS)
#   kafka.sh start <workdir>  format + start a broker with data, config and log in
#                             <workdir>; prints bootstrap=127.0.0.1:PORT
#   kafka.sh stop <workdir>   stop it (the log stays in <workdir>/broker.log)
#   kafka.sh restart <workdir> start it again on the same port and data (outage tests)
# Exit codes: 0 ok, 1 failure, 77 jars cannot be fetched (no network: callers skip).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
KAFKA_VERSION=3.9.1
JARS=${RIDESHARD_KAFKA_JARS:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/rideshard/kafka-$KAFKA_VERSION/jars}
START_TIMEOUT_S=${RIDESHARD_KAFKA_START_TIMEOUT:-90}

log() { printf 'kafka.sh: %s\n' "$*" >&2; }

cmd_fetch() {
  if [ -f "$JARS/.complete" ]; then return 0; fi
  command -v mvn >/dev/null || { log "mvn not installed"; exit 77; }
  command -v java >/dev/null || { log "java not installed"; exit 77; }
  mkdir -p "$JARS"
  log "fetching Kafka $KAFKA_VERSION jars into $JARS"
  if ! mvn -q -B -f "$here/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
      dependency:copy-dependencies -DoutputDirectory="$JARS" >&2; then
    log "could not fetch the Kafka jars (offline?)"
    exit 77
  fi
  touch "$JARS/.complete"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pick_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 40000))
    if port_free "$p"; then echo "$p"; return 0; fi
  done
  log "no free port found"; return 1
}

write_config() {  # write_config <workdir> <port> <controller_port>
  local dir="$1" port="$2" cport="$3"
  cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=3
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=3
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.flush.interval.messages=9223372036854775807
PROPS
  cat >"$dir/log4j.properties" <<'L4J'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.log.LogCleaner=WARN
log4j.logger.org.apache.kafka.storage=WARN
L4J
}

java_opts() {  # java_opts <workdir>: JVM options shared by the tools and the broker
  printf '%s\n' -Xms128m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
    "-Dlog4j.configuration=file:$1/log4j.properties" -cp "$JARS/*"
}

launch() {  # launch <workdir> <port>: starts the broker on a formatted dir, waits until up
  local dir="$1" port="$2" deadline pid seen
  seen=0
  touch "$dir/broker.log"
  [ -f "$dir/broker.log" ] && seen=$(wc -l <"$dir/broker.log")
  local opts
  mapfile -t opts < <(java_opts "$dir")
  # java itself in the background (not a function or subshell), so $! is the JVM.
  java "${opts[@]}" kafka.Kafka "$dir/server.properties" >>"$dir/broker.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$dir/broker.pid"
  deadline=$((SECONDS + START_TIMEOUT_S))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then log "broker exited during start-up"; return 1; fi
    if tail -n +"$((seen + 1))" "$dir/broker.log" | grep -q "Kafka Server started" &&
        ! port_free "$port"; then
      echo "127.0.0.1:$port" >"$dir/bootstrap"
      echo "bootstrap=127.0.0.1:$port"
      return 0
    fi
    sleep 0.5  # polling a child process's log: there is no event to wait on
  done
  log "broker not up after ${START_TIMEOUT_S}s"
  cmd_stop "$dir"
  return 1
}

try_start() {  # try_start <workdir>: fresh ports, config and storage, then launch
  local dir="$1" port cport cluster_id
  port=$(pick_port); cport=$(pick_port)
  [ "$port" != "$cport" ] || cport=$(pick_port)
  rm -rf "$dir/data"; mkdir -p "$dir/data"
  write_config "$dir" "$port" "$cport"
  echo "$port" >"$dir/port"
  # A URL-safe base64 id, as Kafka's own random-uuid; one starting with '-' would
  # be taken for an option by the format tool's argument parser (1 start in 64).
  cluster_id=-
  while [[ $cluster_id == -* ]]; do
    cluster_id=$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
  done
  local opts
  mapfile -t opts < <(java_opts "$dir")
  if ! java "${opts[@]}" kafka.tools.StorageTool format -t "$cluster_id" \
      -c "$dir/server.properties" >"$dir/format.log" 2>&1; then
    log "storage format failed:"; cat "$dir/format.log" >&2; return 1
  fi
  launch "$dir" "$port"
}

cmd_restart() {  # same ports, config and data as the last start (outage tests)
  local dir="${1:?usage: kafka.sh restart <workdir>}"
  dir=$(cd "$dir" && pwd)
  [ -f "$dir/port" ] || { log "$dir was never started"; return 1; }
  cmd_stop "$dir"
  launch "$dir" "$(cat "$dir/port")"
}

cmd_start() {
  local dir="${1:?usage: kafka.sh start <workdir>}"
  mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
  cmd_fetch
  for attempt in 1 2 3; do  # a port picked as free can be taken before bind
    if try_start "$dir"; then return 0; fi
    log "start attempt $attempt failed; log: $dir/broker.log"
    [ -f "$dir/broker.pid" ] && cmd_stop "$dir"
  done
  return 1
}

cmd_stop() {
  local dir="${1:?usage: kafka.sh stop <workdir>}" pid
  [ -f "$dir/broker.pid" ] || return 0
  pid=$(cat "$dir/broker.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then log "broker $pid ignored SIGTERM; killing"; kill -KILL "$pid" || true; fi
  fi
  rm -f "$dir/broker.pid"
}

case "${1:-}" in
  fetch) cmd_fetch ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  restart) shift; cmd_restart "$@" ;;
  *) echo "usage: kafka.sh fetch | start <workdir> | stop <workdir> | restart <workdir>" >&2; exit 2 ;;
esac
