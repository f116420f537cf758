// Cross-shard candidate search, the pure part: which shard cells a search
// circle reaches, and merging nearest-first lists from several shards.
// Internal to node/ (no CAF); the messages are in protocol.hpp.
#pragma once

#include <cstddef>
#include <vector>

#include "rideshard/engine/geo.hpp"
#include "rideshard/engine/spatial_index.hpp"

namespace rideshard::node {

/// Most cells one search enumerates; a larger circle (fine levels, huge
/// nearby radii) is answered from the list of live shards instead.
inline constexpr std::size_t max_cells_per_search = 1024;

/// Great-circle distance (metres) from p to the nearest point of cell c's
/// rectangle (0 inside). Clamps latitude and longitude separately: exact enough
/// for city-sized cells (well under a metre at level 10-14).
double distance_to_cell_m(lat_lng p, cell_id c) noexcept;

/// Cell c's rectangle widened by margin_deg on every side, clipped to `clip`:
/// the bounds of a shard's own indices (every position routed to the shard lies
/// inside; a matcher's index then costs its cell, not its whole region).
bounding_box cell_bounds(cell_id c, const bounding_box& clip, double margin_deg) noexcept;

/// The cells at `level` within radius_m of center (distance_to_cell_m), the
/// search box clamped to `bounds`. Empty when there are more than
/// max_cells_per_search candidates (the caller falls back to its live shards).
/// `overflow` tells the two empty cases apart.
std::vector<cell_id> cells_within(lat_lng center, double radius_m, int level,
                                  const bounding_box& bounds, bool& overflow);

/// Merges `more` (nearest first) into `into` (nearest first, ties by id); an id
/// in both keeps the nearer entry (a driver in flight between two shards);
/// keeps the first k.
void merge_nearest(std::vector<neighbor>& into, const std::vector<neighbor>& more, std::size_t k);

}  // namespace rideshard::node
