// The in-process city is deterministic and its books balance: what `rideshard
// quality` prints can be reproduced and compared across modes and demand levels.
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
    CHECK(rep->mean_match_wait_s > 0);                  // offers take 2-9 s to answer
    // Request -> pickup is request -> match plus the pickup ETA, to the millisecond.
    CHECK(rep->mean_wait_s ==
          doctest::Approx(rep->mean_match_wait_s + rep->mean_pickup_eta_s).epsilon(0.01));
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

TEST_CASE("demand levels scale only the request rate") {
  city_sim_config c = small(matching_mode::batched);
  c.peak_requests_per_minute = 200;
  CHECK(at_demand(c, demand_level::low).peak_requests_per_minute == doctest::Approx(50));
  CHECK(at_demand(c, demand_level::normal).peak_requests_per_minute == doctest::Approx(100));
  const city_sim_config p = at_demand(c, demand_level::peak);
  CHECK(p.peak_requests_per_minute == doctest::Approx(200));
  CHECK(p.drivers == c.drivers);
  CHECK(p.seed == c.seed);
  CHECK(p.duration_ms == c.duration_ms);
  CHECK(to_string(demand_level::low) == "low");
  CHECK(to_string(demand_level::normal) == "normal");
  CHECK(to_string(demand_level::peak) == "peak");
}

TEST_CASE("quality table: both modes per level, more demand strains the same fleet") {
  const region r = nyc();
  city_sim_config c = small(matching_mode::sequential);
  c.drivers = 150;  // peak 120/min outruns 150 drivers; low 30/min does not
  c.peak_requests_per_minute = 120;
  auto rows = run_quality_table(r, c);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 3);
  const quality_row& low = (*rows)[0];
  const quality_row& peak = (*rows)[2];
  CHECK(low.level == demand_level::low);
  CHECK((*rows)[1].level == demand_level::normal);
  CHECK(peak.level == demand_level::peak);
  for (const quality_row& row : *rows) {
    CHECK(row.sequential.mode == matching_mode::sequential);
    CHECK(row.batched.mode == matching_mode::batched);
    CHECK(row.sequential.requests == row.batched.requests);  // same riders in both modes
  }
  CHECK(low.sequential.requests < (*rows)[1].sequential.requests);
  CHECK((*rows)[1].sequential.requests < peak.sequential.requests);
  for (auto pick : {+[](const quality_row& q) { return q.sequential; },
                    +[](const quality_row& q) { return q.batched; }}) {
    CHECK(pick(peak).matched_pct < pick(low).matched_pct);
    CHECK(pick(peak).mean_pickup_eta_s > pick(low).mean_pickup_eta_s);
  }
  // The row repeats what run_city_sim reports for that level and mode.
  c.mode = matching_mode::batched;
  auto direct = run_city_sim(r, at_demand(c, demand_level::peak));
  REQUIRE(direct.ok());
  CHECK(direct->mean_pickup_eta_s == peak.batched.mean_pickup_eta_s);
  CHECK(direct->expired == peak.batched.expired);
}

TEST_CASE("pickup ETA gain is relative to sequential") {
  quality_row q;
  q.sequential.mean_pickup_eta_s = 200;
  q.batched.mean_pickup_eta_s = 150;
  CHECK(q.pickup_eta_gain_pct() == doctest::Approx(25.0));
  q.batched.mean_pickup_eta_s = 250;
  CHECK(q.pickup_eta_gain_pct() == doctest::Approx(-25.0));
  q.sequential.mean_pickup_eta_s = 0;  // nothing matched: no claim either way
  CHECK(q.pickup_eta_gain_pct() == 0.0);
}
