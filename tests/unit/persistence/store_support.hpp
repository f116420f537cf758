// Shared helpers of the store tests: open a store or fail the test, an 8-byte
// marker value per batch number, and the seed of the randomized crash tests.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "rideshard/persistence/store.hpp"

namespace rideshard::test {

inline std::unique_ptr<persistence::store> open_store(const persistence::store_options& o) {
  auto s = persistence::store::open(o);
  REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.err().message));
  return std::move(*s);
}

inline std::unique_ptr<persistence::store> open_store(const std::string& path) {
  persistence::store_options o;
  o.path = path;
  return open_store(o);
}

/// n as 8 little-endian bytes: the value a test writes for batch n.
inline std::vector<std::uint8_t> tag(std::uint64_t n) {
  std::vector<std::uint8_t> v(8);
  for (int i = 0; i < 8; ++i) v[i] = static_cast<std::uint8_t>(n >> (8 * i));
  return v;
}

/// $RIDESHARD_SEED, else `fallback` (print it with INFO so a failure can be replayed).
inline std::uint64_t seed_or(std::uint64_t fallback) {
  const char* s = std::getenv("RIDESHARD_SEED");
  return s ? std::strtoull(s, nullptr, 10) : fallback;
}

}  // namespace rideshard::test
