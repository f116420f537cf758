// straight_line_eta: config validation and distance x detour / speed.
#include <doctest/doctest.h>

#include <cmath>

#include "rideshard/engine/eta.hpp"

using namespace rideshard;

TEST_CASE("eta_config validation rejects impossible parameters") {
  CHECK(validate(eta_config{}).ok());
  CHECK(validate(eta_config{1.0, 0.1}).ok());
  CHECK(validate(eta_config{0.99, 8.3}).code() == errc::bad_config);
  CHECK(validate(eta_config{1.35, 0.0}).code() == errc::bad_config);
  CHECK(validate(eta_config{1.35, -5.0}).code() == errc::bad_config);
  CHECK(validate(eta_config{NAN, 8.3}).code() == errc::bad_config);
  CHECK(validate(eta_config{1.35, INFINITY}).code() == errc::bad_config);
  auto bad = straight_line_eta::create(eta_config{0.5, 8.3});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.code() == errc::bad_config);
  CHECK_FALSE(bad.err().message.empty());
}

TEST_CASE("straight_line_eta is great-circle distance x detour / speed") {
  auto eta = straight_line_eta::create(eta_config{1.5, 10.0});
  REQUIRE(eta.ok());
  const lat_lng a{40.7580, -73.9855};  // Times Square
  const lat_lng b{40.7484, -73.9857};  // Empire State Building
  const double d = distance_m(a, b);
  CHECK(d == doctest::Approx(1067.5).epsilon(0.01));  // ~1.07 km, a sanity anchor
  CHECK(eta->estimate_s(a, b) == doctest::Approx(d * 1.5 / 10.0));
  CHECK(eta->estimate_s(a, a) == 0.0);
  CHECK(eta->estimate_s(a, b) == eta->estimate_s(b, a));
}

TEST_CASE("default eta is ~30 km/h with a 1.35 detour") {
  auto eta = straight_line_eta::create(eta_config{});
  REQUIRE(eta.ok());
  // One degree of latitude ~111.2 km -> 111195 * 1.35 / 8.3 ~ 18086 s.
  const double s = eta->estimate_s(lat_lng{40, -74}, lat_lng{41, -74});
  CHECK(s == doctest::Approx(111195.0 * 1.35 / 8.3).epsilon(0.001));
  const eta_model& model = *eta;  // usable through the interface
  CHECK(model.estimate_s(lat_lng{40, -74}, lat_lng{41, -74}) == s);
}
