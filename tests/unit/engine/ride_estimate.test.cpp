// estimate_ride / eta_seconds: a quote's distance, duration and fare come from
// the region's detour factor, speed and fare schedule, rounded once.
#include <doctest/doctest.h>

#include <cmath>

#include "rideshard/engine/ride_estimate.hpp"

using namespace rideshard;

namespace {

const lat_lng times_square{40.7580, -73.9855};
const lat_lng empire_state{40.7484, -73.9857};

fare_schedule schedule() {
  fare_schedule s;
  s.base_minor = 255;
  s.per_km_minor = 109;
  s.per_minute_minor = 35;
  s.minimum_minor = 800;
  s.booking_fee_minor = 275;
  return s;
}

}  // namespace

TEST_CASE("a ride's distance and duration use the detour factor and speed, rounded once") {
  auto eta = straight_line_eta::create(eta_config{1.5, 10.0}).value();
  auto e = estimate_ride(schedule(), eta, times_square, empire_state, no_surge_permille);
  const double road = distance_m(times_square, empire_state) * 1.5;
  CHECK(e.distance_m == static_cast<std::uint32_t>(std::lround(road)));
  CHECK(e.duration_s == static_cast<std::uint32_t>(std::lround(road / 10.0)));
  REQUIRE(e.fare.has_value());
  auto f = compute_fare(schedule(), e.distance_m, e.duration_s, no_surge_permille).value();
  CHECK(e.fare->total_minor == f.total_minor);
}

TEST_CASE("surge prices the estimate; a refused surge leaves the fare empty") {
  auto eta = straight_line_eta::create(eta_config{}).value();
  auto plain = estimate_ride(schedule(), eta, times_square, empire_state, 1000);
  auto surged = estimate_ride(schedule(), eta, times_square, empire_state, 1500);
  REQUIRE(plain.fare);
  REQUIRE(surged.fare);
  CHECK(surged.fare->total_minor > plain.fare->total_minor);
  CHECK_FALSE(estimate_ride(schedule(), eta, times_square, empire_state, 999).fare);
}

TEST_CASE("eta_seconds rounds half away from zero; a quote holds five minutes") {
  CHECK(eta_seconds(89.5) == 90);
  CHECK(eta_seconds(89.49) == 89);
  auto eta = straight_line_eta::create(eta_config{1.0, 1.0}).value();
  CHECK(eta_seconds(eta, times_square, times_square) == 0);
  CHECK(quote_validity_ms == 300'000);
}
