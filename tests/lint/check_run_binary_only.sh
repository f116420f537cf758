#!/usr/bin/env bash
# ./run's build paths against stand-in cmake and dpkg-query: a first `./run quality`
# (the same build step as `./run demo`) configures without tests and benchmarks,
# builds only the rideshard target and asks only for the binary's packages; a later
# `./run build` turns tests and benchmarks on in the same directory and builds all.
# RIDESHARD_SANITIZE=1 builds in build-asan/ and refuses a tree configured without it.
set -euo pipefail
# The caller's sanitizer choice (ctest under `RIDESHARD_TSAN=1 ./run test`) is not this
# test's: the cases below set what they check.
unset RIDESHARD_SANITIZE RIDESHARD_TSAN
root="${1:-$(cd "$(dirname "$0")/../.." && pwd)}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin"
log=$work/calls.log

# cmake: log the call; configure writes build.ninja and the cache's options, a build
# writes a rideshard that only says it ran.
cat >"$work/bin/cmake" <<'EOF'
#!/usr/bin/env bash
echo "cmake $*" >>"$FAKE_LOG"
if [ "$1" = --build ]; then
  printf '#!/bin/sh\necho "stub rideshard $*"\n' >"$2/rideshard"
  chmod +x "$2/rideshard"
  exit 0
fi
while [ $# -gt 0 ]; do
  case "$1" in
    -B) dir=$2; shift ;;
    -DRIDESHARD_TESTS=*) tests=${1#-DRIDESHARD_TESTS=} ;;
    -DRIDESHARD_SANITIZE=*) asan=${1#-DRIDESHARD_SANITIZE=} ;;
  esac
  shift
done
mkdir -p "$dir"
touch "$dir/build.ninja"
printf 'RIDESHARD_TESTS:BOOL=%s\nRIDESHARD_SANITIZE:BOOL=%s\n' "${tests:-ON}" "${asan:-OFF}" \
  >"$dir/CMakeCache.txt"
EOF
# dpkg-query: every package is installed; log which ones were asked about.
cat >"$work/bin/dpkg-query" <<'EOF'
#!/usr/bin/env bash
echo "dpkg-query ${*: -1}" >>"$FAKE_LOG"
printf 'install ok installed'
EOF
chmod +x "$work/bin/cmake" "$work/bin/dpkg-query"
export PATH="$work/bin:$PATH" FAKE_LOG=$log RIDESHARD_BUILD_DIR=$work/build

fail() { echo "FAIL: $*"; echo "--- calls:"; cat "$log"; exit 1; }

out=$("$root/run" quality --seed 1 2>/dev/null)
[ "$out" = "stub rideshard quality --config $root/cluster-config/single-node.toml --seed 1" ] ||
  fail "quality did not run the built binary: $out"
grep -q -- '^cmake -S .*-DRIDESHARD_TESTS=OFF -DRIDESHARD_BENCH=OFF' "$log" ||
  fail "first configure is not binary-only"
[ "$(grep -c -- '^cmake --build' "$log")" = 1 ] || fail "expected one build"
grep -q -- '^cmake --build .* --target rideshard$' "$log" || fail "demo build is not --target rideshard"
for p in doctest-dev libbenchmark-dev default-jre-headless redis-server; do
  ! grep -q "^dpkg-query $p\$" "$log" || fail "binary-only build asked for $p"
done
grep -q '^dpkg-query librocksdb-dev$' "$log" || fail "binary packages not checked"

: >"$log"
"$root/run" build >/dev/null 2>&1
grep -q -- '^cmake -S .*-DRIDESHARD_TESTS=ON -DRIDESHARD_BENCH=ON' "$log" ||
  fail "./run build did not turn tests and benchmarks on"
grep -q -- '^cmake --build [^ ]* -j [0-9]*$' "$log" || fail "./run build did not build everything"
grep -q '^dpkg-query doctest-dev$' "$log" || fail "./run build did not check the test packages"

: >"$log"
"$root/run" build >/dev/null 2>&1
! grep -q -- '^cmake -S' "$log" || fail "a full tree was configured again"
# A sanitizer asked for in a tree configured without it is refused (it would
# run uninstrumented tests and call them clean), and nothing is built.
: >"$log"
if RIDESHARD_SANITIZE=1 "$root/run" build >/dev/null 2>&1; then
  fail "RIDESHARD_SANITIZE=1 reused a tree configured without it"
fi
! grep -q -- '^cmake --build' "$log" || fail "a refused sanitizer build still built"

# Without RIDESHARD_BUILD_DIR, `RIDESHARD_SANITIZE=1 ./run` gets its own tree.
mkdir -p "$work/clone"
cp "$root/run" "$work/clone/run"
: >"$log"
(unset RIDESHARD_BUILD_DIR && RIDESHARD_SANITIZE=1 "$work/clone/run" build >/dev/null 2>&1) ||
  fail "RIDESHARD_SANITIZE=1 ./run build failed in a fresh checkout"
grep -q -- "^cmake -S $work/clone -B $work/clone/build-asan .*-DRIDESHARD_SANITIZE=ON" "$log" ||
  fail "RIDESHARD_SANITIZE=1 did not configure build-asan with ASan+UBSan"
grep -q -- "^cmake --build $work/clone/build-asan " "$log" || fail "build-asan was not built"
echo "ok: demo/quality build only rideshard; ./run build makes the tree full;" \
  "sanitizer runs get their own tree"
