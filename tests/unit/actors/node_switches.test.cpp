// Region switches (issue 10 step 3): a paused region refuses new ride requests
// with dispatch_paused over WebSocket and HTTP; a frozen region's matchers hold
// each surge multiplier while demand rises, and follow demand again unfrozen.
#include "node_harness.hpp"

using namespace rideshard;
using namespace rideshard::test;

namespace {

std::uint32_t quoted_surge(harness& h, const fake_ptr& rider, lat_lng pickup) {
  auto q = h.reply<schemas::quote>(
      rider, h.send(rider, schemas::quote_request{pickup, h.near(2000, 2000)}));
  return q.surge_per_mille;
}

// `n` riders each request a ride at `pickup` (no driver: they stay requested),
// so the pickup's surge cell sees n requests and no supply.
std::vector<fake_ptr> demand(harness& h, int n, lat_lng pickup, int first_rider) {
  std::vector<fake_ptr> riders;
  for (int i = 0; i < n; ++i) {
    riders.push_back(h.connect("r-" + std::to_string(first_rider + i)));
    CHECK(h.request_ride(riders.back(), pickup, h.near(1500, 1500)).state == trip_state::requested);
  }
  return riders;
}

}  // namespace

TEST_CASE("a paused region refuses ride requests with dispatch_paused over WebSocket and HTTP") {
  harness h;
  auto rider = h.connect("r-1");
  auto paused = h.node->pause_dispatch("nyc", true);
  REQUIRE(paused.ok());
  CHECK(paused->region == "nyc");
  CHECK(paused->dispatch_paused);
  CHECK_FALSE(paused->surge_frozen);
  CHECK(h.node->switches().at(0).dispatch_paused);

  const auto seq = h.send(rider, schemas::ride_request{{}, h.near(100), h.near(1500)});
  auto refused = h.reply<schemas::error_reply>(rider, seq);
  CHECK(refused.code == errc::dispatch_paused);
  CHECK(refused.ref_seq == seq);
  CHECK(refused.message.find("nyc") != std::string::npos);

  auto http =
      h.node->request_ride(rider_id{2}, schemas::ride_request{{}, h.near(100), h.near(1500)});
  REQUIRE_FALSE(http.ok());
  CHECK(http.code() == errc::dispatch_paused);

  CHECK(h.node->pause_dispatch("atlantis", true).code() == errc::out_of_region);

  // Resumed: the same request creates a trip.
  REQUIRE(h.node->pause_dispatch("nyc", false).ok());
  CHECK_FALSE(h.node->switches().at(0).dispatch_paused);
  CHECK(h.request_ride(rider, h.near(100), h.near(1500)).state == trip_state::requested);
}

TEST_CASE("a frozen region holds its surge while demand rises; unfrozen it follows demand") {
  harness h;
  auto asker = h.connect("r-100");
  const auto pickup = h.near(300, 300);
  CHECK(quoted_surge(h, asker, pickup) == 1000);  // spawns the shard's matcher
  auto frozen = h.node->freeze_surge("nyc", true);
  REQUIRE(frozen.ok());
  CHECK(frozen->surge_frozen);
  auto riders = demand(h, 8, pickup, 1);
  CHECK(quoted_surge(h, asker, pickup) == 1000);  // held at its value when frozen

  REQUIRE(h.node->freeze_surge("nyc", false).ok());
  CHECK(quoted_surge(h, asker, pickup) > 1000);  // the same demand surges once unfrozen
}

TEST_CASE("a matcher spawned in a frozen region starts frozen") {
  harness h;
  REQUIRE(h.node->freeze_surge("nyc", true).ok());  // no matcher exists yet
  const auto pickup = h.near(-300, -300);
  auto riders = demand(h, 8, pickup, 1);
  auto asker = h.connect("r-100");
  CHECK(quoted_surge(h, asker, pickup) == 1000);
  REQUIRE(h.node->freeze_surge("nyc", false).ok());
  CHECK(quoted_surge(h, asker, pickup) > 1000);
}
