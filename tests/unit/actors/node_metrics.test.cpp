// dispatch_node feeds gateway::metrics: request->offer latency, trips by state,
// offers made and how they ended, errors by code. No timing thresholds.
#include <sstream>
#include <string>

#include "gateway/metrics.hpp"
#include "node/log.hpp"
#include "node_harness.hpp"

using namespace rideshard;
using namespace rideshard::test;

namespace {

struct metered {
  gateway::metrics stats;
  harness h;
  explicit metered(std::chrono::milliseconds offer_timeout = 3s)
      : h(offer_timeout, [this](node::dispatch_options& o) { o.stats = &stats; }) {}
};

}  // namespace

TEST_CASE("a complete ride shows up in /metrics") {
  metered m;
  auto& h = m.h;
  auto driver = h.online_driver("d-1", h.near(300));
  auto rider = h.connect("r-1");
  const trip_id trip = h.request_ride(rider, h.near(0), h.near(3000, 2000)).trip;
  auto offer = h.next_offer(driver);
  REQUIRE(offer);
  h.reply<schemas::trip_status>(driver, h.send(driver, schemas::accept_offer{trip}));
  REQUIRE(h.status(rider, trip, trip_state::accepted));
  h.reply<schemas::trip_status>(driver, h.send(driver, schemas::arrived{trip}));
  const auto pin = h.status(rider, trip, trip_state::driver_arrived)->pin;
  h.reply<schemas::trip_status>(driver, h.send(driver, schemas::start_trip{trip, pin}));
  h.clock->fetch_add(10 * 60 * 1000);
  auto done = h.reply<schemas::trip_status>(driver, h.send(driver, schemas::complete_trip{trip}));
  CHECK(done.state == trip_state::completed);
  REQUIRE(h.receipt(rider, trip));

  // A rider may not accept offers: refused with a typed error, and counted.
  CHECK(h.error_of(rider, h.send(rider, schemas::accept_offer{trip})) == errc::forbidden);

  // The matcher hears how the offer closed before the driver hears `accepted`
  // (and the trip's end before the receipt); a query it answers after that is a
  // barrier: its FIFO mailbox has handled both, so the gauge is settled.
  REQUIRE(h.node->nearby(h.near(0).lat, h.near(0).lng, 100, 1).ok());

  const auto text = m.stats.render_text();
  CHECK(series(text, "rideshard_request_to_offer_seconds_count") >= 1);
  CHECK(series(text, "rideshard_trips{state=\"completed\"}") == 1);
  CHECK(series(text, "rideshard_trips{state=\"in_progress\"}") == 0);
  CHECK(series(text, "rideshard_trips{state=\"requested\"}") == 0);
  CHECK(series(text, "rideshard_errors_total{code=\"forbidden\"}") == 1);
  CHECK(series(text, "rideshard_offers_made_total") == 1);
  CHECK(series(text, "rideshard_offer_outcomes_total{outcome=\"accepted\"}") == 1);
  // The matched request left its matcher.
  CHECK(series(text, "rideshard_queue_depth{queue=\"matcher_pending\"}") == 0);
  CHECK(m.stats.errors(errc::forbidden) == 1);
}

TEST_CASE("declined and timed-out offers are counted; latency only for the first offer") {
  metered m{1500ms};  // long enough that d-1 surely declines before its offer runs out
  auto& h = m.h;
  auto d1 = h.online_driver("d-1", h.near(100));
  auto d2 = h.online_driver("d-2", h.near(400));
  auto rider = h.connect("r-1");
  const trip_id trip = h.request_ride(rider, h.near(0), h.near(3000, 2000)).trip;

  auto first = h.next_offer(d1);
  REQUIRE(first);
  h.reply<schemas::ack>(d1, h.send(d1, schemas::decline_offer{trip, "too far"}));
  // d-2 lets its offer run out: it is withdrawn and shown as expired.
  REQUIRE(h.next_offer(d2));
  REQUIRE(h.status(d2, trip, trip_state::expired));

  const auto text = m.stats.render_text();
  CHECK(series(text, "rideshard_offers_made_total") == 2);
  CHECK(series(text, "rideshard_offer_outcomes_total{outcome=\"declined\"}") == 1);
  CHECK(series(text, "rideshard_offer_outcomes_total{outcome=\"timed_out\"}") == 1);
  CHECK(series(text, "rideshard_request_to_offer_seconds_count") == 1);
  // Nobody left to offer to: the request waits in its matcher.
  CHECK(series(text, "rideshard_trips{state=\"requested\"}") == 1);
  CHECK(series(text, "rideshard_queue_depth{queue=\"matcher_pending\"}") == 1);
}

TEST_CASE("an unauthenticated frame is an error metric; no metrics object is fine too") {
  metered m;
  auto c = m.h.open(gateway::endpoint::rider);
  CHECK(m.h.error_of(c, m.h.send(c, schemas::ping{1})) == errc::unauthenticated);
  CHECK(m.stats.errors(errc::unauthenticated) == 1);

  harness plain;  // stats == nullptr
  auto p = plain.open(gateway::endpoint::rider);
  CHECK(plain.error_of(p, plain.send(p, schemas::ping{1})) == errc::unauthenticated);
}

TEST_CASE("log levels by name") {
  CHECK(node::set_log_level("off"));
  CHECK(node::set_log_level("warn"));
  CHECK_FALSE(node::set_log_level("loud"));
}
