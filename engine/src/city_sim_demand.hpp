// Where the simulated city's drivers start and riders appear (private to the
// engine): hotspot-weighted gaussians plus a uniform background, seeded.
#pragma once

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "rideshard/engine/region.hpp"

namespace rideshard {

/// Not thread-safe; deterministic for a given region and seed.
class city_demand {
 public:
  city_demand(const region& r, std::uint64_t seed) : r_(r), rng_(seed) {}

  /// Drivers start half around hotspots (as demand), half uniformly.
  lat_lng driver_start() { return coin(0.5) ? around_hotspot() : uniform(); }
  /// A pickup: a hotspot with probability = its weight, else uniform.
  lat_lng pickup() {
    double x = std::uniform_real_distribution<double>(0, 1)(rng_);
    for (const hotspot& h : r_.hotspots) {
      if (x < h.weight) return gaussian(h.center, h.sigma_m);
      x -= h.weight;
    }
    return uniform();
  }
  /// A drop-off 1-15 km away (log-normal, median ~4.5 km) in a random direction.
  lat_lng dropoff(lat_lng from) {
    const double dist = std::min(15000.0, std::max(1000.0, std::lognormal_distribution<double>(
                                                               std::log(4500.0), 0.6)(rng_)));
    const double bearing = std::uniform_real_distribution<double>(0, 2 * 3.14159265358979)(rng_);
    return clamp(offset(from, dist * std::cos(bearing), dist * std::sin(bearing)));
  }
  /// The 4-digit PIN a rider tells the driver.
  std::string pin() {
    std::string p = std::to_string(std::uniform_int_distribution<int>(0, 9999)(rng_));
    return std::string(4 - p.size(), '0') + p;
  }

 private:
  bool coin(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  lat_lng uniform() {
    const auto& b = r_.bounds;
    return {std::uniform_real_distribution<double>(b.south_west.lat, b.north_east.lat)(rng_),
            std::uniform_real_distribution<double>(b.south_west.lng, b.north_east.lng)(rng_)};
  }
  lat_lng around_hotspot() {
    if (r_.hotspots.empty()) return uniform();
    const auto i = std::uniform_int_distribution<std::size_t>(0, r_.hotspots.size() - 1)(rng_);
    return gaussian(r_.hotspots[i].center, r_.hotspots[i].sigma_m);
  }
  lat_lng gaussian(lat_lng c, double sigma_m) {
    std::normal_distribution<double> n(0, sigma_m);
    const double north = n(rng_);
    const double east = n(rng_);
    return clamp(offset(c, north, east));
  }
  static lat_lng offset(lat_lng p, double north_m, double east_m) {
    constexpr double m_per_deg = 111'320.0;
    return {p.lat + north_m / m_per_deg,
            p.lng + east_m / (m_per_deg * std::cos(p.lat * 3.14159265358979 / 180))};
  }
  lat_lng clamp(lat_lng p) const {
    const auto& b = r_.bounds;
    return {std::min(std::max(p.lat, b.south_west.lat), b.north_east.lat),
            std::min(std::max(p.lng, b.south_west.lng), b.north_east.lng)};
  }

  const region& r_;
  std::mt19937_64 rng_;
};

}  // namespace rideshard
