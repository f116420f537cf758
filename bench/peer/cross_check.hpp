// The correctness cross-check: both peers' k-nearest answers against the exact
// answer computed from the generated data (ties and geohash precision allowed).
#pragma once

#include <cstdint>
#include <vector>

#include "peer/fleet_data.hpp"
#include "peer/peer_bench.hpp"

namespace rideshard::peer {

/// Distance slack (metres) at the k-th neighbour or the radius: Redis stores
/// 52-bit geohashes (~0.6 m) and uses a different Earth radius (~0.6 m at 2 km).
inline constexpr double tie_tolerance_m = 1.5;

/// Compares the answers to queries [0, count) of `data` (ids per query, as
/// returned). A peer that was not run (`have_*` false) counts as not matching.
cross_check compare_answers(const fleet_data& data, std::size_t count, double radius_m,
                            std::uint32_t k, const std::vector<std::vector<std::uint64_t>>& redis,
                            const std::vector<std::vector<std::uint64_t>>& rideshard,
                            bool have_redis, bool have_rideshard);

}  // namespace rideshard::peer
