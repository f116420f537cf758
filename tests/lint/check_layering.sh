#!/usr/bin/env bash
# Fails when a module includes what it must not: engine/ includes a vendor
# runtime library (CAF, Boost, RocksDB, librdkafka, FlatBuffers), or a lower module
# includes a higher one (engine <- schemas <- persistence <- actors).
set -euo pipefail
root="${1:-$(cd "$(dirname "$0")/../.." && pwd)}"
status=0

check() {  # check <dir> <regex> <what>
  local dir="$1" regex="$2" what="$3" hits
  [ -d "$root/$dir" ] || return 0
  hits=$(grep -rnE --include='*.hpp' --include='*.cpp' --include='*.h' "$regex" "$root/$dir" || true)
  if [ -n "$hits" ]; then
    echo "layering violation: $dir/ must not include $what:"
    echo "$hits" | sed "s|$root/||"
    status=1
  fi
}

vendor='^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](caf/|boost/|rocksdb/|librdkafka/|rdkafka|flatbuffers/)'
check engine "$vendor" "CAF, Boost, RocksDB, librdkafka or FlatBuffers headers"
check engine '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]rideshard/(schemas|persistence|actors)/' "schemas, persistence or actors"
check schemas '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]rideshard/(persistence|actors)/' "persistence or actors"
check schemas '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](caf/|boost/|rocksdb/|librdkafka/|rdkafka)' "CAF, Boost, RocksDB or librdkafka headers"
check persistence '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]rideshard/actors/' "actors"
check persistence '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](caf/|boost/)' "CAF or Boost headers"

actors_inc='^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](gateway|node|auth|app|api|payments|sim)/'
for lower in engine schemas persistence; do
  check "$lower" "$actors_inc" "actors headers (gateway/, node/, auth/, app/, api/, payments/, sim/)"
done

if [ "$status" -eq 0 ]; then echo "layering ok: engine <- schemas <- persistence <- actors"; fi
exit "$status"
