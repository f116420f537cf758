#!/usr/bin/env bash
# Proves the layering check can fail: plants violations in a scratch tree and
# expects check_layering.sh to reject each one and accept the clean tree.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"/{engine/src,schemas/src,persistence/src,actors/app}
echo '#include <vector>' > "$tmp/engine/src/ok.cpp"
"$here/check_layering.sh" "$tmp" >/dev/null || { echo "clean tree rejected"; exit 1; }
expect_fail() {  # expect_fail <file> <line>
  local f="$tmp/$1"
  printf '%s\n' "$2" > "$f"
  if "$here/check_layering.sh" "$tmp" >/dev/null; then echo "not caught: $1: $2"; exit 1; fi
  rm -f "$f"
}
expect_fail engine/src/bad.cpp '#include <caf/all.hpp>'
expect_fail engine/src/bad.cpp '#include <boost/asio.hpp>'
expect_fail engine/src/bad.cpp '#include "rocksdb/db.h"'
expect_fail engine/src/bad.cpp '#include <librdkafka/rdkafkacpp.h>'
expect_fail engine/src/bad.cpp '#include <flatbuffers/flatbuffers.h>'
expect_fail engine/src/bad.cpp '#include "rideshard/schemas/codec.hpp"'
expect_fail schemas/src/bad.cpp '#include "rideshard/actors/x.hpp"'
expect_fail persistence/src/bad.cpp '#include <caf/actor.hpp>'
expect_fail persistence/src/bad.cpp '#include "node/dispatch_node.hpp"'
expect_fail schemas/src/bad.cpp '#include "gateway/handlers.hpp"'
expect_fail persistence/src/bad.cpp '#include "payments/psp.hpp"'
echo "layering self-test ok: 11 violations caught"
