// Hostile and out-of-order input to dispatch_node: every refusal is a typed
// error_reply answering the refused frame.
#include "node_harness.hpp"

using namespace rideshard;
using namespace rideshard::test;

TEST_CASE("authentication and roles") {
  harness h;
  auto anon = h.open(gateway::endpoint::rider);
  CHECK(h.error_of(anon, h.send(anon, schemas::quote_request{h.near(0), h.near(100)})) ==
        errc::unauthenticated);
  CHECK(h.error_of(anon, h.send(anon, schemas::ping{1})) == errc::unauthenticated);
  CHECK(h.error_of(anon, h.send(anon, schemas::hello{"garbage", "x", false})) ==
        errc::unauthenticated);
  // A driver token on the rider endpoint.
  CHECK(h.error_of(anon, h.send(anon, schemas::hello{"d-1", "x", false})) == errc::forbidden);

  auto rider = h.connect("r-1");
  CHECK(h.reply<schemas::pong>(rider, h.send(rider, schemas::ping{7})).nonce == 7);
  CHECK(h.error_of(rider, h.send(rider, schemas::accept_offer{trip_id{1}})) == errc::forbidden);
  CHECK(h.error_of(rider, h.send(rider, schemas::go_online{})) == errc::forbidden);
  CHECK(h.error_of(rider, h.send(rider, schemas::hello{"r-1", "x", false})) ==
        errc::invalid_argument);

  auto driver = h.connect("d-1");
  CHECK(h.error_of(driver, h.send(driver, schemas::ride_request{{}, h.near(0), h.near(100)})) ==
        errc::forbidden);
  CHECK(h.error_of(driver, h.send(driver, schemas::quote_request{h.near(0), h.near(100)})) ==
        errc::forbidden);
}

TEST_CASE("trips of others and unknown trips") {
  harness h;
  auto driver = h.online_driver("d-1", h.near(100));
  auto other_driver = h.online_driver("d-2", h.near(4000));
  auto rider = h.connect("r-1");
  auto intruder = h.connect("r-2");
  auto trip = h.request_ride(rider, h.near(0), h.near(2000)).trip;
  REQUIRE(h.next_offer(driver));

  CHECK(h.error_of(intruder, h.send(intruder, schemas::cancel_trip{trip, "x"})) == errc::forbidden);
  CHECK(h.error_of(intruder, h.send(intruder, schemas::cancel_trip{trip_id{12345}, "x"})) ==
        errc::unknown_trip);
  CHECK(h.error_of(other_driver, h.send(other_driver, schemas::accept_offer{trip})) ==
        errc::not_offered_to_driver);
  CHECK(h.error_of(other_driver, h.send(other_driver, schemas::arrived{trip})) == errc::forbidden);
  CHECK(h.error_of(other_driver, h.send(other_driver, schemas::arrived{trip_id{999}})) ==
        errc::unknown_trip);
  // Out-of-order commands of the right driver are illegal transitions.
  h.reply<schemas::trip_status>(driver, h.send(driver, schemas::accept_offer{trip}));
  CHECK(h.error_of(driver, h.send(driver, schemas::complete_trip{trip})) ==
        errc::illegal_transition);
  // One active trip per rider.
  CHECK(h.error_of(rider, h.send(rider, schemas::ride_request{{}, h.near(0), h.near(10)})) ==
        errc::illegal_transition);
  // Unknown quotes and positions outside every region.
  CHECK(h.error_of(intruder,
                   h.send(intruder, schemas::ride_request{quote_id{42}, h.near(0), h.near(10)})) ==
        errc::invalid_argument);
  CHECK(h.error_of(intruder, h.send(intruder, schemas::quote_request{{48.85, 2.35}, h.near(0)})) ==
        errc::out_of_region);
  CHECK(h.error_of(intruder, h.send(intruder, schemas::quote_request{{91, 0}, h.near(0)})) ==
        errc::invalid_coordinate);
}

TEST_CASE("location stream: stale, future, impossible jumps") {
  harness h;
  auto d = h.connect("d-9");
  const auto now = h.clock->load();
  CHECK(h.reply<schemas::ack>(
             d, h.send(d, schemas::location_batch{{h.sample(h.near(0), now - 10'000)}}))
            .accepted == 1);

  // 5 km in one second.
  CHECK(h.error_of(d, h.send(d, schemas::location_batch{{h.sample(h.near(5000), now - 9'000)}})) ==
        errc::impossible_jump);
  // Older than the last accepted sample, and the same timestamp again (an equal
  // timestamp is stale: docs/protocol.md says "not newer").
  CHECK(h.error_of(d, h.send(d, schemas::location_batch{{h.sample(h.near(10), now - 20'000)}})) ==
        errc::stale_timestamp);
  CHECK(h.error_of(d, h.send(d, schemas::location_batch{{h.sample(h.near(10), now - 10'000)}})) ==
        errc::stale_timestamp);
  // A minute in the future.
  CHECK(h.error_of(d, h.send(d, schemas::location_batch{{h.sample(h.near(10), now + 60'000)}})) ==
        errc::future_timestamp);
  // Coordinates out of range.
  CHECK(h.error_of(d, h.send(d, schemas::location_batch{{h.sample({95, 0}, now - 5'000)}})) ==
        errc::invalid_coordinate);

  // A mixed batch gets exactly one answer: the ack says 2 of 3 were taken (the
  // dropped one is counted by code); the error frame is only for "none taken".
  auto seq = h.send(d, schemas::location_batch{{h.sample(h.near(20), now - 8'000),
                                                h.sample(h.near(9000), now - 7'000),
                                                h.sample(h.near(40), now - 6'000)}});
  CHECK(h.reply<schemas::ack>(d, seq).accepted == 2);
  // The driver actor answers in order: any error for `seq` would precede the ack.
  for (const auto& e : d->all<schemas::error_reply>()) CHECK(e.ref_seq != seq);

  // Online with the last good fix: the driver is visible to the matcher.
  h.reply<schemas::ack>(d, h.send(d, schemas::go_online{}));
  auto rider = h.connect("r-9");
  h.request_ride(rider, h.near(0), h.near(1000));
  REQUIRE(h.next_offer(d));
}
