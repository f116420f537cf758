// surge_engine: threshold, slope, cap, 0.1x quantization, EMA smoothing and
// decay, the sliding window, supply gauges, stale time and bad config/input.
#include <doctest/doctest.h>

#include <cmath>

#include "rideshard/engine/surge.hpp"

using namespace rideshard;

namespace {

constexpr std::int64_t t0 = 1'700'000'010'000;  // a bucket boundary (multiple of 30 s)
constexpr std::int64_t bucket = 30'000;

// alpha = 1 makes the output the raw (unsmoothed) multiplier: easy arithmetic.
surge_config raw_config() {
  surge_config c;
  c.smoothing_alpha = 1.0;
  c.threshold_ratio = 1.0;
  c.slope = 0.5;
  c.min_requests = 3;
  c.cap_permille = 3000;
  return c;
}

surge_engine make(const surge_config& c) {
  auto e = surge_engine::create(c);
  REQUIRE(e.ok());
  return std::move(e).value();
}

cell_id midtown(const surge_engine& e) {
  auto c = e.cell_for(lat_lng{40.7549, -73.9840});
  REQUIRE(c.ok());
  return *c;
}

void requests(surge_engine& e, cell_id c, int n, std::int64_t at) {
  for (int i = 0; i < n; ++i) REQUIRE(e.record_request(c, at).ok());
}

std::int32_t mult(surge_engine& e, cell_id c, std::int64_t at) {
  auto m = e.multiplier_permille(c, at);
  REQUIRE(m.ok());
  return *m;
}

}  // namespace

TEST_CASE("no demand, unknown cells and balanced cells do not surge") {
  surge_engine e = make(raw_config());
  const cell_id c = midtown(e);
  CHECK(mult(e, c, t0) == 1000);
  CHECK(e.tracked_cells() == 0);  // querying does not allocate state
  REQUIRE(e.record_supply(c, 10, t0).ok());
  requests(e, c, 10, t0);  // ratio 1.0 == threshold
  CHECK(mult(e, c, t0) == 1000);
}

TEST_CASE("raw multiplier: threshold, slope, quantization and cap") {
  surge_engine e = make(raw_config());
  const cell_id c = midtown(e);
  REQUIRE(e.record_supply(c, 10, t0).ok());
  requests(e, c, 14, t0);  // ratio 1.4 -> 1 + 0.5 * 0.4 = 1.2
  CHECK(mult(e, c, t0) == 1200);
  requests(e, c, 1, t0);  // ratio 1.5 -> 1.25 -> 1.3 (nearest 0.1, half-up)
  CHECK(mult(e, c, t0) == 1300);
  requests(e, c, 1, t0);  // ratio 1.6 -> 1.30
  CHECK(mult(e, c, t0) == 1300);
  requests(e, c, 100, t0);  // ratio 11.6 -> 6.3 -> capped at 3.0
  CHECK(mult(e, c, t0) == 3000);
  // Too few requests never surge, even with no drivers at all.
  const cell_id quiet = *e.cell_for(lat_lng{40.70, -74.01});
  requests(e, quiet, 2, t0);
  CHECK(mult(e, quiet, t0) == 1000);
  requests(e, quiet, 1, t0);  // 3 requests / max(1, 0 drivers) -> ratio 3 -> 2.0
  CHECK(mult(e, quiet, t0) == 2000);
}

TEST_CASE("demand leaves the window after window_ms") {
  surge_engine e = make(raw_config());
  const cell_id c = midtown(e);
  REQUIRE(e.record_supply(c, 2, t0).ok());
  requests(e, c, 6, t0);  // ratio 3 -> 2.0
  CHECK(mult(e, c, t0 + 4 * bucket) == 2000);
  REQUIRE(e.record_supply(c, 2, t0 + 9 * bucket).ok());
  CHECK(mult(e, c, t0 + 9 * bucket + 29'999) == 2000);  // last bucket still in window
  CHECK(mult(e, c, t0 + 10 * bucket) == 1000);          // the t0 bucket has left
}

TEST_CASE("supply is a gauge: the latest sample in the window counts") {
  surge_engine e = make(raw_config());
  const cell_id c = midtown(e);
  REQUIRE(e.record_supply(c, 1, t0).ok());
  requests(e, c, 4, t0);  // ratio 4 -> 2.5
  CHECK(mult(e, c, t0) == 2500);
  REQUIRE(e.record_supply(c, 4, t0 + bucket).ok());  // drivers arrive: ratio 1
  CHECK(mult(e, c, t0 + bucket) == 1000);
  REQUIRE(e.record_supply(c, 2, t0 + 2 * bucket).ok());  // ratio 2 -> 1.5
  CHECK(mult(e, c, t0 + 2 * bucket) == 1500);
  auto snap = e.snapshot(t0 + 2 * bucket);
  REQUIRE(snap.ok());
  REQUIRE(snap->size() == 1);
  CHECK((*snap)[0].cell == c);
  CHECK((*snap)[0].requests_in_window == 4);
  CHECK((*snap)[0].available_drivers == 2);
  CHECK((*snap)[0].multiplier_permille == 1500);
}

TEST_CASE("EMA smooths spikes in and decays them out, one step per bucket") {
  surge_config cfg = raw_config();
  cfg.smoothing_alpha = 0.5;
  cfg.window_ms = bucket;  // one-bucket window isolates the smoothing
  surge_engine e = make(cfg);
  const cell_id c = midtown(e);
  REQUIRE(e.record_supply(c, 1, t0).ok());
  requests(e, c, 5, t0);          // raw = 1 + 0.5 * 4 = 3.0
  CHECK(mult(e, c, t0) == 2000);  // 0.5 * 3 + 0.5 * 1
  // Next bucket: ema = 2.0 folded in; no demand -> raw 1 -> 0.5 + 1.0 = 1.5.
  CHECK(mult(e, c, t0 + bucket) == 1500);
  CHECK(mult(e, c, t0 + 2 * bucket) == 1300);  // ema 1.5 -> 1.25 -> 1.3
  CHECK(mult(e, c, t0 + 3 * bucket) == 1100);  // 1.125 -> 1.1
  // A long silence decays to exactly 1.0x (closed form, not a loop per bucket).
  CHECK(mult(e, c, t0 + 1'000'000 * bucket) == 1000);
}

TEST_CASE("prune forgets idle cells and keeps active ones") {
  surge_engine e = make(raw_config());
  const cell_id busy = midtown(e);
  const cell_id idle = *e.cell_for(lat_lng{40.70, -74.01});
  requests(e, idle, 1, t0);
  requests(e, busy, 1, t0 + 12 * bucket);
  CHECK(e.tracked_cells() == 2);
  CHECK(e.prune(t0 + 12 * bucket) == 1);
  CHECK(e.tracked_cells() == 1);
  CHECK(e.prune(t0 + 30 * bucket) == 1);
  CHECK(e.tracked_cells() == 0);
}

TEST_CASE("time going back a bucket is stale; within the bucket is fine") {
  surge_engine e = make(raw_config());
  const cell_id c = midtown(e);
  REQUIRE(e.record_request(c, t0 + 2 * bucket + 500).ok());
  CHECK(e.record_request(c, t0 + 2 * bucket).ok());  // same bucket, earlier ms
  CHECK(e.record_request(c, t0 + bucket).code() == errc::stale_timestamp);
  CHECK(e.record_supply(c, 3, t0).code() == errc::stale_timestamp);
  CHECK(e.multiplier_permille(c, t0).code() == errc::stale_timestamp);
  CHECK(e.snapshot(t0).code() == errc::stale_timestamp);
  CHECK(e.record_request(c, -1).code() == errc::invalid_argument);
}

TEST_CASE("bad input: wrong cell level, negative supply, bad coordinates") {
  surge_engine e = make(raw_config());
  auto coarse = cell_of(lat_lng{40.75, -73.98}, 12);
  REQUIRE(coarse.ok());
  CHECK(e.record_request(*coarse, t0).code() == errc::invalid_argument);
  CHECK(e.record_supply(*coarse, 1, t0).code() == errc::invalid_argument);
  CHECK(e.multiplier_permille(*coarse, t0).code() == errc::invalid_argument);
  CHECK(e.record_supply(midtown(e), -1, t0).code() == errc::invalid_argument);
  CHECK(e.cell_for(lat_lng{91, 0}).code() == errc::invalid_coordinate);
  CHECK(e.cell_for(lat_lng{NAN, 0}).code() == errc::invalid_coordinate);
}

TEST_CASE("bad config is rejected with bad_config") {
  auto bad = [](auto mutate) {
    surge_config c;
    mutate(c);
    return surge_engine::create(c).code();
  };
  CHECK(validate(surge_config{}).ok());
  CHECK(bad([](surge_config& c) { c.bucket_ms = 0; }) == errc::bad_config);
  CHECK(bad([](surge_config& c) { c.window_ms = 45'000; }) == errc::bad_config);  // not a multiple
  CHECK(bad([](surge_config& c) { c.window_ms = 1025 * c.bucket_ms; }) == errc::bad_config);
  CHECK(bad([](surge_config& c) { c.cell_level = 29; }) == errc::bad_config);
  CHECK(bad([](surge_config& c) { c.threshold_ratio = -1; }) == errc::bad_config);
  CHECK(bad([](surge_config& c) { c.slope = NAN; }) == errc::bad_config);
  CHECK(bad([](surge_config& c) { c.cap_permille = 900; }) == errc::bad_config);
  CHECK(bad([](surge_config& c) { c.cap_permille = 2550; }) == errc::bad_config);  // not a step
  CHECK(bad([](surge_config& c) { c.step_permille = 0; }) == errc::bad_config);
  CHECK(bad([](surge_config& c) { c.step_permille = 300; }) == errc::bad_config);
  CHECK(bad([](surge_config& c) { c.smoothing_alpha = 0; }) == errc::bad_config);
  CHECK(bad([](surge_config& c) { c.smoothing_alpha = 1.5; }) == errc::bad_config);
  CHECK(bad([](surge_config& c) { c.min_requests = -1; }) == errc::bad_config);
}
