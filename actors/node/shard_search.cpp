// shard_search: circle -> shard cells, and the merge of per-shard nearest lists.
#include "node/shard_search.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace rideshard::node {
namespace {

constexpr double metres_per_degree = earth_radius_m * 3.14159265358979323846 / 180.0;

double cell_degrees(int level) { return std::ldexp(180.0, -level); }

bool closer(const neighbor& a, const neighbor& b) {
  return a.distance_m != b.distance_m ? a.distance_m < b.distance_m : a.id < b.id;
}

}  // namespace

double distance_to_cell_m(lat_lng p, cell_id c) noexcept {
  const double half = cell_degrees(cell_level(c)) / 2;
  const lat_lng mid = cell_center(c);
  const lat_lng q{std::clamp(p.lat, mid.lat - half, mid.lat + half),
                  std::clamp(p.lng, mid.lng - half, mid.lng + half)};
  return q == p ? 0.0 : distance_m(p, q);
}

bounding_box cell_bounds(cell_id c, const bounding_box& clip, double margin_deg) noexcept {
  const double half = cell_degrees(cell_level(c)) / 2 + margin_deg;
  const lat_lng mid = cell_center(c);
  bounding_box b{{std::max(mid.lat - half, clip.south_west.lat),
                  std::max(mid.lng - half, clip.south_west.lng)},
                 {std::min(mid.lat + half, clip.north_east.lat),
                  std::min(mid.lng + half, clip.north_east.lng)}};
  if (b.south_west.lat > b.north_east.lat || b.south_west.lng > b.north_east.lng) return clip;
  return b;
}

std::vector<cell_id> cells_within(lat_lng center, double radius_m, int level,
                                  const bounding_box& bounds, bool& overflow) {
  overflow = false;
  std::vector<cell_id> out;
  if (!(radius_m > 0) || !validate(center)) return out;
  const double deg = cell_degrees(level);
  const double dlat = radius_m / metres_per_degree;
  const double cos_lat = std::max(0.01, std::cos(center.lat * 3.14159265358979323846 / 180.0));
  const double dlng = dlat / cos_lat;
  const double south = std::max(center.lat - dlat, bounds.south_west.lat);
  const double north = std::min(center.lat + dlat, bounds.north_east.lat);
  const double west = std::max(center.lng - dlng, bounds.south_west.lng);
  const double east = std::min(center.lng + dlng, bounds.north_east.lng);
  if (south > north || west > east) return out;
  const auto row0 = static_cast<std::int64_t>(std::floor((south + 90.0) / deg));
  const auto row1 = static_cast<std::int64_t>(std::floor((north + 90.0) / deg));
  const auto col0 = static_cast<std::int64_t>(std::floor((west + 180.0) / deg));
  const auto col1 = static_cast<std::int64_t>(std::floor((east + 180.0) / deg));
  const auto count =
      static_cast<std::uint64_t>(row1 - row0 + 1) * static_cast<std::uint64_t>(col1 - col0 + 1);
  if (count > max_cells_per_search) {
    overflow = true;
    return out;
  }
  for (auto row = row0; row <= row1; ++row) {
    for (auto col = col0; col <= col1; ++col) {
      // The cell through its centre: cell_of owns the row/column encoding.
      const lat_lng mid{(static_cast<double>(row) + 0.5) * deg - 90.0,
                        (static_cast<double>(col) + 0.5) * deg - 180.0};
      if (!validate(mid)) continue;
      auto cell = cell_of(mid, level);
      if (cell && distance_to_cell_m(center, *cell) <= radius_m) out.push_back(*cell);
    }
  }
  return out;
}

void merge_nearest(std::vector<neighbor>& into, const std::vector<neighbor>& more, std::size_t k) {
  if (!more.empty()) {
    const auto mid = into.size();
    into.insert(into.end(), more.begin(), more.end());
    std::inplace_merge(into.begin(), into.begin() + static_cast<std::ptrdiff_t>(mid), into.end(),
                       closer);
    // Keep the first (nearest) entry of each id.
    std::unordered_set<std::uint64_t> seen;
    seen.reserve(into.size());
    auto end = std::remove_if(into.begin(), into.end(),
                              [&](const neighbor& n) { return !seen.insert(n.id.value).second; });
    into.erase(end, into.end());
  }
  if (into.size() > k) into.resize(k);
}

}  // namespace rideshard::node
