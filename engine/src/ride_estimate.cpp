// estimate_ride and eta_seconds: the numbers of a quote, in one place.
#include "rideshard/engine/ride_estimate.hpp"

#include <cmath>

namespace rideshard {

ride_estimate estimate_ride(const fare_schedule& schedule, const straight_line_eta& eta,
                            lat_lng pickup, lat_lng dropoff, std::int32_t surge_permille) {
  ride_estimate e;
  const double road_m = distance_m(pickup, dropoff) * eta.config().detour_factor;
  e.distance_m = static_cast<std::uint32_t>(std::lround(road_m));
  e.duration_s = eta_seconds(eta, pickup, dropoff);
  if (auto f = compute_fare(schedule, e.distance_m, e.duration_s, surge_permille))
    e.fare = std::move(*f);
  return e;
}

std::uint32_t eta_seconds(const eta_model& eta, lat_lng from, lat_lng to) {
  return eta_seconds(eta.estimate_s(from, to));
}

std::uint32_t eta_seconds(double eta_s) { return static_cast<std::uint32_t>(std::lround(eta_s)); }

}  // namespace rideshard
