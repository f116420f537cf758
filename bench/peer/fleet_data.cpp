// fleet_data: seeded positions for both peers and an exact k-nearest oracle.
#include "peer/fleet_data.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace rideshard::peer {

namespace {

constexpr double m_per_deg = 111'195.08;
constexpr double pi = 3.14159265358979323846;
constexpr double cell_deg = 0.01;

double round7(double v) { return std::round(v * 1e7) / 1e7; }

lat_lng offset_m(lat_lng p, double north_m, double east_m) {
  return {p.lat + north_m / m_per_deg, p.lng + east_m / (m_per_deg * std::cos(p.lat * pi / 180))};
}

// One point: a hotspot with probability = its weight (hotspot layout), else uniform.
lat_lng draw(const region& r, layout l, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> unit(0, 1);
  std::normal_distribution<double> gauss(0, 1);
  const auto& b = r.bounds;
  for (int attempt = 0; attempt < 1000; ++attempt) {
    lat_lng p{b.south_west.lat + unit(rng) * (b.north_east.lat - b.south_west.lat),
              b.south_west.lng + unit(rng) * (b.north_east.lng - b.south_west.lng)};
    if (l == layout::hotspot) {
      double pick = unit(rng);
      for (const auto& h : r.hotspots) {
        if (pick < h.weight) {
          p = offset_m(h.center, gauss(rng) * h.sigma_m, gauss(rng) * h.sigma_m);
          break;
        }
        pick -= h.weight;
      }
    }
    p = {round7(p.lat), round7(p.lng)};
    if (b.contains(p)) return p;
  }
  return {round7((b.south_west.lat + b.north_east.lat) / 2),
          round7((b.south_west.lng + b.north_east.lng) / 2)};
}

}  // namespace

std::string_view to_string(layout l) noexcept {
  return l == layout::uniform ? "uniform" : "hotspot";
}

fleet_data make_fleet(const region& region, layout l, std::size_t drivers, std::size_t queries,
                      std::uint64_t seed) {
  std::mt19937_64 rng(seed * 1000003 + static_cast<std::uint64_t>(l) * 7919 + drivers);
  fleet_data f;
  f.drivers.reserve(drivers);
  for (std::size_t i = 0; i < drivers; ++i) f.drivers.push_back({i + 1, draw(region, l, rng)});
  f.queries.reserve(queries);
  for (std::size_t i = 0; i < queries; ++i) f.queries.push_back(draw(region, l, rng));
  return f;
}

nearest_oracle::nearest_oracle(const std::vector<driver_fix>& drivers) : drivers_(drivers) {
  double lat1 = -90, lng1 = -180;
  lat0_ = 90;
  lng0_ = 180;
  for (const auto& d : drivers) {
    lat0_ = std::min(lat0_, d.pos.lat);
    lng0_ = std::min(lng0_, d.pos.lng);
    lat1 = std::max(lat1, d.pos.lat);
    lng1 = std::max(lng1, d.pos.lng);
  }
  if (drivers.empty()) return;
  rows_ = static_cast<int>((lat1 - lat0_) / cell_deg) + 1;
  cols_ = static_cast<int>((lng1 - lng0_) / cell_deg) + 1;
  cells_.resize(static_cast<std::size_t>(rows_) * static_cast<std::size_t>(cols_));
  for (std::uint32_t i = 0; i < drivers.size(); ++i) {
    const int r = static_cast<int>((drivers[i].pos.lat - lat0_) / cell_deg);
    const int c = static_cast<int>((drivers[i].pos.lng - lng0_) / cell_deg);
    cells_[static_cast<std::size_t>(r) * static_cast<std::size_t>(cols_) +
           static_cast<std::size_t>(c)]
        .push_back(i);
  }
}

std::vector<std::pair<std::uint64_t, double>> nearest_oracle::nearest(lat_lng q, double radius_m,
                                                                      std::size_t k) const {
  std::vector<std::pair<std::uint64_t, double>> hits;
  if (rows_ == 0) return hits;
  const int dr = static_cast<int>(std::ceil(radius_m / (m_per_deg * cell_deg))) + 1;
  const int dc =
      static_cast<int>(std::ceil(radius_m / (m_per_deg * cell_deg * std::cos(q.lat * pi / 180)))) +
      1;
  const int r0 = static_cast<int>(std::floor((q.lat - lat0_) / cell_deg));
  const int c0 = static_cast<int>(std::floor((q.lng - lng0_) / cell_deg));
  for (int r = std::max(0, r0 - dr); r <= std::min(rows_ - 1, r0 + dr); ++r)
    for (int c = std::max(0, c0 - dc); c <= std::min(cols_ - 1, c0 + dc); ++c)
      for (std::uint32_t i : cells_[static_cast<std::size_t>(r) * static_cast<std::size_t>(cols_) +
                                    static_cast<std::size_t>(c)]) {
        const double d = distance_m(q, drivers_[i].pos);
        if (d <= radius_m) hits.emplace_back(drivers_[i].id, d);
      }
  const std::size_t n = std::min(k, hits.size());
  std::partial_sort(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(n), hits.end(),
                    [](const auto& a, const auto& b) { return a.second < b.second; });
  hits.resize(n);
  return hits;
}

double nearest_oracle::distance_to(lat_lng q, std::uint64_t id) const {
  if (id == 0 || id > drivers_.size()) return -1;
  return distance_m(q, drivers_[id - 1].pos);
}

}  // namespace rideshard::peer
