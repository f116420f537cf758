// The in-process city is deterministic and its books balance: what `rideshard
// demo` prints can be reproduced and compared across matching modes.
#include <doctest/doctest.h>

#include <string>

#include "rideshard/engine/city_sim.hpp"

using namespace rideshard;

namespace {

region nyc() {
  auto r = load_region_file(std::string(RIDESHARD_SOURCE_DIR) + "/cluster-config/regions/nyc.toml");
  REQUIRE(r.ok());
  return *r;
}

city_sim_config small(matching_mode m) {
  city_sim_config c;
  c.drivers = 400;
  c.duration_ms = 6 * 60'000;
  c.peak_requests_per_minute = 40;
  c.mode = m;
  return c;
}

}  // namespace

TEST_CASE("same region, config and seed give the same report") {
  const region r = nyc();
  for (auto m : {matching_mode::sequential, matching_mode::batched}) {
    auto a = run_city_sim(r, small(m));
    auto b = run_city_sim(r, small(m));
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(a->requests == b->requests);
    CHECK(a->matched == b->matched);
    CHECK(a->offers == b->offers);
    CHECK(a->revenue_minor == b->revenue_minor);
    CHECK(a->mean_pickup_eta_s == b->mean_pickup_eta_s);
  }
}

TEST_CASE("both modes see the same riders and keep consistent books") {
  const region r = nyc();
  auto seq = run_city_sim(r, small(matching_mode::sequential));
  auto bat = run_city_sim(r, small(matching_mode::batched));
  REQUIRE(seq.ok());
  REQUIRE(bat.ok());
  CHECK(seq->requests == bat->requests);  // demand does not depend on the mode
  CHECK(seq->requests > 100);
  for (const auto* rep : {&*seq, &*bat}) {
    CHECK(rep->matched + rep->expired <= rep->requests);
    CHECK(rep->completed <= rep->matched);
    CHECK(rep->offers >= rep->matched);
    CHECK(rep->matched_pct > 80.0);  // 400 drivers for ~40 requests/min is plenty
    CHECK(rep->mean_pickup_eta_s > 0);
    CHECK(rep->p95_pickup_eta_s >= rep->mean_pickup_eta_s);
    CHECK(rep->mean_wait_s >= rep->mean_pickup_eta_s);  // wait includes the search
    CHECK(rep->surge_min_permille >= 1000);
    CHECK(rep->surge_max_permille <= r.surge.cap_permille);
    CHECK(rep->currency == "USD");
  }
  CHECK(seq->revenue_minor > 0);
}

TEST_CASE("a different seed gives a different city") {
  const region r = nyc();
  auto c = small(matching_mode::sequential);
  auto a = run_city_sim(r, c);
  c.seed = 7;
  auto b = run_city_sim(r, c);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->revenue_minor != b->revenue_minor);
}

TEST_CASE("invalid simulation settings are bad_config") {
  const region r = nyc();
  auto c = small(matching_mode::sequential);
  c.drivers = 0;
  CHECK(run_city_sim(r, c).code() == errc::bad_config);
  c = small(matching_mode::sequential);
  c.accept_probability = 1.5;
  CHECK(run_city_sim(r, c).code() == errc::bad_config);
  c = small(matching_mode::sequential);
  c.start_hour = 24;
  CHECK(run_city_sim(r, c).code() == errc::bad_config);
  c = small(matching_mode::sequential);
  c.tick_ms = 700;  // batch window and surge bucket are not multiples
  CHECK(run_city_sim(r, c).code() == errc::bad_config);
}
