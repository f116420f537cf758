// city_sampler: hotspot gaussians, a uniform background and straight-line trips.
#include "sim/city_sampler.hpp"

#include <algorithm>
#include <cmath>

namespace rideshard::sim {

namespace {
constexpr double pi = 3.14159265358979323846;
constexpr double m_per_deg = 111'320.0;
}  // namespace

lat_lng offset_m(lat_lng p, double north_m, double east_m) {
  return {p.lat + north_m / m_per_deg, p.lng + east_m / (m_per_deg * std::cos(p.lat * pi / 180))};
}

city_sampler::city_sampler(const region& r, double area_m, double max_trip_m, std::uint64_t seed)
    : box_(r.bounds), max_trip_m_(std::max(200.0, max_trip_m)), rng_(seed) {
  if (area_m > 0) {
    lat_lng c{(r.bounds.south_west.lat + r.bounds.north_east.lat) / 2,
              (r.bounds.south_west.lng + r.bounds.north_east.lng) / 2};
    double best = -1;
    for (const hotspot& h : r.hotspots)
      if (h.weight > best) best = h.weight, c = h.center;
    const lat_lng sw = offset_m(c, -area_m / 2, -area_m / 2);
    const lat_lng ne = offset_m(c, area_m / 2, area_m / 2);
    box_.south_west = {std::max(sw.lat, r.bounds.south_west.lat),
                       std::max(sw.lng, r.bounds.south_west.lng)};
    box_.north_east = {std::min(ne.lat, r.bounds.north_east.lat),
                       std::min(ne.lng, r.bounds.north_east.lng)};
  }
  for (const hotspot& h : r.hotspots)
    if (box_.contains(h.center)) hotspots_.push_back(h);
}

double city_sampler::uniform(double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(rng_);
}

lat_lng city_sampler::uniform_point() {
  return {uniform(box_.south_west.lat, box_.north_east.lat),
          uniform(box_.south_west.lng, box_.north_east.lng)};
}

lat_lng city_sampler::near(lat_lng c, double sigma_m) {
  std::normal_distribution<double> n(0, sigma_m);
  const double north = n(rng_);
  const double east = n(rng_);
  return clamp(offset_m(c, north, east));
}

lat_lng city_sampler::clamp(lat_lng p) const {
  return {std::min(std::max(p.lat, box_.south_west.lat), box_.north_east.lat),
          std::min(std::max(p.lng, box_.south_west.lng), box_.north_east.lng)};
}

lat_lng city_sampler::driver_start() {
  if (hotspots_.empty() || chance(0.5)) return uniform_point();
  const auto i = std::uniform_int_distribution<std::size_t>(0, hotspots_.size() - 1)(rng_);
  return near(hotspots_[i].center, hotspots_[i].sigma_m);
}

lat_lng city_sampler::pickup() {
  double x = uniform(0, 1);
  for (const hotspot& h : hotspots_) {
    if (x < h.weight) return near(h.center, h.sigma_m);
    x -= h.weight;
  }
  return uniform_point();
}

lat_lng city_sampler::dropoff(lat_lng from) {
  // Median ~4.5 km like a city trip, at least 200 m, capped by max_trip_m.
  const double d = std::lognormal_distribution<double>(std::log(4500.0), 0.6)(rng_);
  const double dist = std::min(max_trip_m_, std::max(200.0, d));
  const double bearing = uniform(0, 2 * pi);
  return clamp(offset_m(from, dist * std::cos(bearing), dist * std::sin(bearing)));
}

lat_lng city_sampler::roam_target(lat_lng from) {
  const double dist = uniform(300, 1500);
  const double bearing = uniform(0, 2 * pi);
  return clamp(offset_m(from, dist * std::cos(bearing), dist * std::sin(bearing)));
}

double city_sampler::city_speed_mps() { return uniform(8, 12); }

double demand_weight(const region& r, double hour) {
  const double h = std::fmod(std::fmod(hour, 24.0) + 24.0, 24.0);
  const auto i = static_cast<std::size_t>(h) % 24;
  const double f = h - std::floor(h);
  const double w = r.hourly_demand[i] * (1 - f) + r.hourly_demand[(i + 1) % 24] * f;
  return std::max(0.01, w);
}

}  // namespace rideshard::sim
