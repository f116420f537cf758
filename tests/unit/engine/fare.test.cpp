// compute_fare(): exact integer line items, half-up rounding, minimum before
// surge, booking fee unsurged, and typed errors for bad schedules and inputs.
#include <doctest/doctest.h>

#include "rideshard/engine/fare.hpp"

using namespace rideshard;

namespace {

fare_schedule nyc() {
  fare_schedule s;
  s.currency = "USD";
  s.base_minor = 255;
  s.per_km_minor = 109;
  s.per_minute_minor = 35;
  s.minimum_minor = 800;
  s.booking_fee_minor = 275;
  return s;
}

void check_sums(const fare_breakdown& f) {
  CHECK(f.total_minor == f.base_minor + f.distance_minor + f.time_minor +
                             f.minimum_adjustment_minor + f.surge_minor + f.booking_fee_minor);
}

}  // namespace

TEST_CASE("a metered trip itemises exactly") {
  // 5.3 km, 17 min: distance 109 * 5300 / 1000 = 577.7 -> 578; time 35 * 17 = 595.
  auto f = compute_fare(nyc(), 5300, 17 * 60, 1000);
  REQUIRE(f.ok());
  CHECK(f->currency == "USD");
  CHECK(f->base_minor == 255);
  CHECK(f->distance_minor == 578);
  CHECK(f->time_minor == 595);
  CHECK(f->minimum_adjustment_minor == 0);
  CHECK(f->surge_minor == 0);
  CHECK(f->booking_fee_minor == 275);
  CHECK(f->total_minor == 255 + 578 + 595 + 275);
  check_sums(*f);
}

TEST_CASE("rounding is half-up on the minor unit, per line item") {
  fare_schedule s;
  s.per_km_minor = 1;
  s.per_minute_minor = 1;
  CHECK(compute_fare(s, 499, 0, 1000)->distance_minor == 0);   // 0.499 -> 0
  CHECK(compute_fare(s, 500, 0, 1000)->distance_minor == 1);   // 0.5 -> 1 (half-up)
  CHECK(compute_fare(s, 1500, 0, 1000)->distance_minor == 2);  // 1.5 -> 2 (not banker's)
  CHECK(compute_fare(s, 0, 29, 1000)->time_minor == 0);        // 29/60 -> 0
  CHECK(compute_fare(s, 0, 30, 1000)->time_minor == 1);        // 30/60 -> 1
  CHECK(compute_fare(s, 0, 90, 1000)->time_minor == 2);        // 1.5 -> 2
  // Surge: 5 * 1.1 = 5.5 -> 6 extra 1; 15 * 1.1 = 16.5 -> 17.
  fare_schedule b;
  b.base_minor = 5;
  CHECK(compute_fare(b, 0, 0, 1100)->surge_minor == 1);
  b.base_minor = 15;
  CHECK(compute_fare(b, 0, 0, 1100)->total_minor == 17);
  b.base_minor = 14;  // 15.4 -> 15
  CHECK(compute_fare(b, 0, 0, 1100)->total_minor == 15);
}

TEST_CASE("minimum applies before surge; booking fee is never surged") {
  // 1 km, 2 min: 255 + 109 + 70 = 434 < 800 -> adjustment 366.
  auto plain = compute_fare(nyc(), 1000, 120, 1000);
  REQUIRE(plain.ok());
  CHECK(plain->minimum_adjustment_minor == 366);
  CHECK(plain->total_minor == 800 + 275);
  check_sums(*plain);
  // Same trip at 1.5x: 800 * 1.5 = 1200, so the surge (400) is not eaten by the minimum.
  auto surged = compute_fare(nyc(), 1000, 120, 1500);
  REQUIRE(surged.ok());
  CHECK(surged->minimum_adjustment_minor == 366);
  CHECK(surged->surge_minor == 400);
  CHECK(surged->booking_fee_minor == 275);
  CHECK(surged->total_minor == 1200 + 275);
  CHECK(surged->surge_permille == 1500);
  CHECK(surged->total_minor > plain->total_minor);
  check_sums(*surged);
}

TEST_CASE("large amounts stay exact at the limits") {
  fare_schedule s;
  s.currency = "JPY";
  s.base_minor = 1'000'000'000;
  s.per_km_minor = 1'000'000'000;
  s.per_minute_minor = 1'000'000'000;
  s.minimum_minor = 0;
  s.booking_fee_minor = 1'000'000'000;
  auto f = compute_fare(s, max_fare_distance_m, max_fare_duration_s, max_surge_permille);
  REQUIRE(f.ok());
  // 1e9/km x 2,000 km = 2e12; 1e9/min x 2,880 min = 2.88e12.
  const std::int64_t metered = 1'000'000'000LL + 2'000'000'000'000LL + 2'880'000'000'000LL;
  CHECK(f->distance_minor == 2'000'000'000'000LL);
  CHECK(f->time_minor == 2'880'000'000'000LL);
  CHECK(f->surge_minor == metered * 49);
  CHECK(f->total_minor == metered * 50 + 1'000'000'000LL);
  check_sums(*f);
}

TEST_CASE("bad schedules are bad_config") {
  fare_schedule s = nyc();
  s.currency = "usd";
  CHECK(compute_fare(s, 1000, 60, 1000).code() == errc::bad_config);
  s.currency = "US";
  CHECK(validate(s).code() == errc::bad_config);
  s.currency = "";
  CHECK(validate(s).code() == errc::bad_config);
  s = nyc();
  s.per_km_minor = -1;
  CHECK(validate(s).code() == errc::bad_config);
  s = nyc();
  s.booking_fee_minor = 1'000'000'001;
  CHECK(validate(s).code() == errc::bad_config);
  s = nyc();
  s.minimum_minor = -800;
  auto r = compute_fare(s, 1000, 60, 1000);
  REQUIRE_FALSE(r.ok());
  CHECK(r.code() == errc::bad_config);
  CHECK(r.err().message.find("minimum_minor") != std::string::npos);
  CHECK(validate(nyc()).ok());
}

TEST_CASE("bad trip inputs are invalid_argument") {
  CHECK(compute_fare(nyc(), -1, 60, 1000).code() == errc::invalid_argument);
  CHECK(compute_fare(nyc(), 1000, -1, 1000).code() == errc::invalid_argument);
  CHECK(compute_fare(nyc(), max_fare_distance_m + 1, 60, 1000).code() == errc::invalid_argument);
  CHECK(compute_fare(nyc(), 1000, max_fare_duration_s + 1, 1000).code() == errc::invalid_argument);
  CHECK(compute_fare(nyc(), 1000, 60, 999).code() == errc::invalid_argument);
  CHECK(compute_fare(nyc(), 1000, 60, 0).code() == errc::invalid_argument);
  CHECK(compute_fare(nyc(), 1000, 60, -1500).code() == errc::invalid_argument);
  CHECK(compute_fare(nyc(), 1000, 60, max_surge_permille + 1).code() == errc::invalid_argument);
  CHECK(compute_fare(nyc(), 0, 0, 1000).ok());  // a zero trip still costs the minimum
  CHECK(compute_fare(nyc(), 0, 0, 1000)->total_minor == 800 + 275);
}
