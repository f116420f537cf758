// Shared by the fuzz targets: a property check that aborts (libFuzzer and the
// corpus replay both report an abort as a crash, with the input that caused it).
#pragma once

#include <cstdio>
#include <cstdlib>

namespace rideshard::fuzz {

/// Aborts with `what` when a property of the code under test does not hold.
inline void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz property violated: %s\n", what);
  std::abort();
}

}  // namespace rideshard::fuzz
