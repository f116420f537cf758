// The data both peers are fed: seeded driver positions and rider queries over a
// region's box, uniform or skewed towards the region's demand hotspots.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rideshard/engine/geo.hpp"
#include "rideshard/engine/region.hpp"

namespace rideshard::peer {

/// How positions are spread over the box.
enum class layout : std::uint8_t { uniform, hotspot };
std::string_view to_string(layout l) noexcept;

/// One driver's position; ids are 1..N (Redis member = decimal id).
struct driver_fix {
  std::uint64_t id = 0;
  lat_lng pos;
};

/// Generated data for one (size, layout). Plain value.
struct fleet_data {
  std::vector<driver_fix> drivers;  ///< exactly N, ids 1..N in order
  std::vector<lat_lng> queries;     ///< rider positions, same spread as the drivers
};

/// Draws `drivers` positions and `queries` query points for `region` with `seed`.
/// Uniform: over region.bounds. Hotspot: each hotspot of the region takes its
/// `weight` share (gaussian, sigma_m), the rest is uniform. Coordinates are
/// rounded to 1e-7 degrees so both peers see exactly the same text and doubles.
fleet_data make_fleet(const region& region, layout l, std::size_t drivers, std::size_t queries,
                      std::uint64_t seed);

/// Exact k nearest drivers within radius_m of `q` by great-circle distance
/// (brute force over a grid bucketing; for the cross-check only).
class nearest_oracle {
 public:
  explicit nearest_oracle(const std::vector<driver_fix>& drivers);
  /// Ids of the k nearest within radius_m, nearest first, with their distances.
  std::vector<std::pair<std::uint64_t, double>> nearest(lat_lng q, double radius_m,
                                                        std::size_t k) const;
  /// Distance from q to driver `id` (metres), or -1 when unknown.
  double distance_to(lat_lng q, std::uint64_t id) const;

 private:
  const std::vector<driver_fix>& drivers_;
  std::vector<std::vector<std::uint32_t>> cells_;  ///< driver indexes per 0.01 deg cell
  double lat0_ = 0, lng0_ = 0;
  int rows_ = 0, cols_ = 0;
};

}  // namespace rideshard::peer
