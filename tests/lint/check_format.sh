#!/usr/bin/env bash
# Fails when a tracked C++ source differs from clang-format's output (.clang-format).
set -euo pipefail
root="${1:-$(cd "$(dirname "$0")/../.." && pwd)}"
cd "$root"
if ! command -v clang-format >/dev/null; then echo "clang-format not installed"; exit 1; fi
if [ ! -d .git ] && ! git rev-parse --git-dir >/dev/null 2>&1; then
  echo "not a git checkout; skipping"; exit 0
fi
files=$(git ls-files '*.cpp' '*.hpp' '*.h')
if clang-format --dry-run --Werror $files 2>/tmp/rideshard-format.$$; then
  echo "format ok: $(echo "$files" | wc -l) files"
  rm -f /tmp/rideshard-format.$$
else
  grep -E '(warning|error):' /tmp/rideshard-format.$$ | cut -d: -f1 | sort -u | sed 's|^|needs ./run format: |'
  rm -f /tmp/rideshard-format.$$
  exit 1
fi
