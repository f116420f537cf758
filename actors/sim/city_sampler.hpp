// Where simulated drivers start and roam and where riders appear and go: the
// region's hotspots plus a uniform background, optionally confined to a square
// area, and the hourly demand curve. Seeded and deterministic.
#pragma once

#include <cstdint>
#include <random>

#include "rideshard/engine/geo.hpp"
#include "rideshard/engine/region.hpp"

namespace rideshard::sim {

/// Samples positions in one region. Not thread-safe: one sampler per thread or
/// session (they are cheap to copy). Holds a copy of what it needs from the region.
class city_sampler {
 public:
  /// `area_m` > 0 confines everything to a square that wide around the heaviest
  /// hotspot (or the region's centre); `max_trip_m` caps drop-off distances.
  city_sampler(const region& r, double area_m, double max_trip_m, std::uint64_t seed);

  lat_lng driver_start();                ///< half near hotspots, half uniform
  lat_lng pickup();                      ///< hotspot by weight, else uniform
  lat_lng dropoff(lat_lng from);         ///< log-normal distance, random bearing
  lat_lng roam_target(lat_lng from);     ///< an idle driver's next waypoint (<= 1.5 km)
  double city_speed_mps();               ///< a car's speed, 8-12 m/s
  double uniform(double lo, double hi);  ///< a uniform real
  bool chance(double p) { return uniform(0, 1) < p; }
  void reseed(std::uint64_t seed) { rng_.seed(seed); }
  const bounding_box& bounds() const { return box_; }

 private:
  lat_lng uniform_point();
  lat_lng near(lat_lng c, double sigma_m);
  lat_lng clamp(lat_lng p) const;

  bounding_box box_;
  std::vector<hotspot> hotspots_;  ///< only those inside box_
  double max_trip_m_;
  std::mt19937_64 rng_;
};

/// Relative demand (0..1] at a fractional local hour, linear between the hours
/// of the region's curve. Never 0 so that a run never stalls completely.
double demand_weight(const region& r, double hour);

/// A point `north_m`/`east_m` metres from p (local flat approximation).
lat_lng offset_m(lat_lng p, double north_m, double east_m);

}  // namespace rideshard::sim
