#!/usr/bin/env bash
# with_kafka.sh <cmd...>: runs <cmd> against a fresh single-node broker (kafka.sh)
# with RIDESHARD_KAFKA_BOOTSTRAP exported (and RIDESHARD_KAFKA_CTL/_WORKDIR, so a
# test can stop and restart it); stops the broker afterwards. The broker's work
# dir (config, data, broker.log) is removed on success and kept on failure.
# Exits with <cmd>'s status, or 1 if the Kafka jars cannot be fetched or the
# broker does not start (a kafka test never passes without its broker).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ "$#" -gt 0 ] || { echo "usage: with_kafka.sh <cmd...>" >&2; exit 2; }

"$here/kafka.sh" fetch || { echo "with_kafka.sh: no Kafka jars (./run deps installs java and maven; the jars come from Maven Central)" >&2; exit 1; }
workdir=$(mktemp -d "${TMPDIR:-/tmp}/rideshard-kafka-XXXXXX")
stop_broker() { "$here/kafka.sh" stop "$workdir" || true; }
trap 'stop_broker; exit 130' INT TERM

if ! out=$("$here/kafka.sh" start "$workdir"); then
  echo "with_kafka.sh: broker did not start; log kept in $workdir/broker.log" >&2
  tail -n 40 "$workdir/broker.log" >&2 2>/dev/null
  stop_broker
  exit 1
fi
export RIDESHARD_KAFKA_BOOTSTRAP=${out#bootstrap=}
# For outage tests: `$RIDESHARD_KAFKA_CTL stop|restart` controls this broker.
export RIDESHARD_KAFKA_CTL="$here/kafka.sh"
export RIDESHARD_KAFKA_WORKDIR="$workdir"
echo "with_kafka.sh: broker at $RIDESHARD_KAFKA_BOOTSTRAP (work dir $workdir)" >&2

"$@"
status=$?
stop_broker
if [ "$status" -eq 0 ]; then
  rm -rf "$workdir"
else
  echo "with_kafka.sh: command failed ($status); broker log kept in $workdir/broker.log" >&2
fi
exit "$status"
