// The node when things go wrong underneath it: a commit the disk refuses rolls
// the trip back (an offer already sent is withdrawn), unreadable snapshots are skipped at recovery,
// a request no driver takes expires inside the node with the rider told, and a trip that cannot
// answer in time is `unavailable` to the synchronous (HTTP) API.
#include "node_harness.hpp"
#include "rideshard/persistence/power_loss.hpp"
#include "rideshard/persistence/store.hpp"
#include "store_fixture.hpp"

using namespace rideshard;
using namespace rideshard::test;

namespace {

std::unique_ptr<persistence::store> open_on_disk(const std::string& dir,
                                                 std::shared_ptr<persistence::power_loss_disk> d) {
  persistence::store_options o;
  o.path = dir;
  o.power_loss = std::move(d);
  auto s = persistence::store::open(o);
  REQUIRE(s.ok());
  return std::move(s).value();
}

/// Replaces h's node by one on `regions` (same clock and offer timeout).
void restart_with(harness& h, std::vector<region> regions) {
  h.node.reset();
  node::dispatch_options o;
  auto c = h.clock;
  o.now_ms = [c] { return c->load(); };
  o.offer_timeout = 3s;
  auto n = node::dispatch_node::create(std::move(regions), std::move(o), test_verifier);
  REQUIRE(n.ok());
  h.node = std::move(n).value();
}

}  // namespace

TEST_CASE("a transition the disk refuses is rolled back: storage_error, nobody hears of it") {
  temp_dir dir;
  auto disk = std::make_shared<persistence::power_loss_disk>();
  auto store = open_on_disk(dir.path, disk);
  harness h(30s, [&](node::dispatch_options& o) { o.store = store.get(); });
  auto driver = h.online_driver("d-1", h.near(300));
  auto rider = h.connect("r-1");
  const trip_id trip = h.request_ride(rider, h.near(0), h.near(3000, 2000)).trip;
  REQUIRE(h.next_offer(driver));
  REQUIRE(h.status(rider, trip, trip_state::offered));  // the rider hears it once on disk

  disk->cut_power();
  CHECK(h.error_of(driver, h.send(driver, schemas::accept_offer{trip})) == errc::storage_error);
  // The trip is still offered to d-1 in memory, and the rider heard nothing.
  auto snap = h.node->trip_snapshot(trip);
  REQUIRE(snap.ok());
  CHECK(snap->state == trip_state::offered);
  for (const auto& s : rider->all<schemas::trip_status>()) CHECK(s.state != trip_state::accepted);
  // Nor does the store hold an accepted trip once the power is back.
  h.node.reset();
  store.reset();
  REQUIRE(disk->restore_power().ok());
  auto reopened = open_on_disk(dir.path, disk);
  auto rec = reopened->load_entity(persistence::entity_kind::trip, trip.value);
  REQUIRE(rec.ok());
  REQUIRE(*rec);
  auto t = schemas::decode_trip_record((*rec)->value.data(), (*rec)->value.size());
  REQUIRE(t.ok());
  CHECK(t->state == trip_state::offered);
}

TEST_CASE("an offer whose batch never reached the disk was never made: withdrawn, offered again") {
  temp_dir dir;
  auto disk = std::make_shared<persistence::power_loss_disk>();
  trip_id trip;
  {
    auto store = open_on_disk(dir.path, disk);
    harness h(30s, [&](node::dispatch_options& o) { o.store = store.get(); });
    auto rider = h.connect("r-1");
    trip = h.request_ride(rider, h.near(0), h.near(3000, 2000)).trip;  // on disk
    // From here nothing reaches the disk: the `offered` batch is refused.
    disk->cut_power();
    auto driver = h.online_driver("d-1", h.near(300));
    // The driver hears the offer before it is durable (it is no acknowledgement) ...
    auto offer = h.next_offer(driver);
    REQUIRE(offer);
    CHECK(offer->trip == trip);
    // ... and, once the batch is refused, that it is gone; accepting it is refused.
    REQUIRE(h.status(driver, trip, trip_state::expired));
    CHECK(h.error_of(driver, h.send(driver, schemas::accept_offer{trip})) ==
          errc::not_offered_to_driver);
    auto snap = h.node->trip_snapshot(trip);
    REQUIRE(snap.ok());
    CHECK(snap->state == trip_state::requested);
    // The rider never heard of the offer: it was not on disk.
    for (const auto& s : rider->all<schemas::trip_status>()) CHECK(s.state != trip_state::offered);
    h.node.reset();
    store.reset();
  }
  REQUIRE(disk->restore_power().ok());
  auto store = open_on_disk(dir.path, disk);
  harness h(30s, [&](node::dispatch_options& o) { o.store = store.get(); });
  CHECK(h.node->recovery().trips_revived == 1);
  auto snap = h.node->trip_snapshot(trip);
  REQUIRE(snap.ok());
  CHECK(snap->state == trip_state::requested);
  // The driver comes back holding the dead offer: accepting it is refused, and
  // the trip is offered afresh (to the same driver, the only one around).
  auto driver = h.connect("d-1", true);
  CHECK(h.error_of(driver, h.send(driver, schemas::accept_offer{trip})) ==
        errc::not_offered_to_driver);
  h.reply<schemas::ack>(
      driver, h.send(driver, schemas::location_batch{{h.sample(h.near(300), h.clock->load())}}));
  h.reply<schemas::ack>(driver, h.send(driver, schemas::go_online{}));
  auto offer = h.next_offer(driver);
  REQUIRE(offer);
  CHECK(offer->trip == trip);
  auto acc = h.reply<schemas::trip_status>(driver, h.send(driver, schemas::accept_offer{trip}));
  CHECK(acc.state == trip_state::accepted);
}

TEST_CASE("recovery skips an unreadable snapshot, counts it and still serves") {
  temp_dir dir;
  {
    auto store = open_store(dir.path);
    persistence::write_batch b;
    b.put_entity(persistence::entity_kind::trip, 77, 1, {0xde, 0xad, 0xbe, 0xef, 0x00, 0x01});
    REQUIRE(store->commit(std::move(b)).ok());
  }
  auto store = open_store(dir.path);
  harness h(3s, [&](node::dispatch_options& o) { o.store = store.get(); });
  CHECK(h.node->recovery().unreadable == 1);
  CHECK(h.node->recovery().trips_read == 0);
  CHECK(h.node->recovery().trips_revived == 0);
  // The node is up: a ride goes through as usual.
  auto driver = h.online_driver("d-1", h.near(300));
  auto rider = h.connect("r-1");
  const trip_id trip = h.request_ride(rider, h.near(0), h.near(2000)).trip;
  auto offer = h.next_offer(driver);
  REQUIRE(offer);
  CHECK(offer->trip == trip);
}

TEST_CASE("a request no driver takes expires after the region's TTL; the rider may ask again") {
  harness h;
  auto regions = test_regions();
  for (region& r : regions) r.trip.request_ttl_ms = 300;
  restart_with(h, std::move(regions));
  auto rider = h.connect("r-1");
  const trip_id trip = h.request_ride(rider, h.near(0), h.near(2000)).trip;
  auto expired = h.status(rider, trip, trip_state::expired);
  REQUIRE(expired);
  auto snap = h.node->trip_snapshot(trip);
  REQUIRE(snap.ok());
  CHECK(snap->state == trip_state::expired);
  // The expired trip no longer counts as the rider's active trip.
  auto again = h.request_ride(rider, h.near(0), h.near(2000));
  CHECK(again.state == trip_state::requested);
  CHECK(again.trip != trip);
}

TEST_CASE("a trip that cannot answer within query_timeout is unavailable to the facade") {
  temp_dir dir;
  auto store = open_store(dir.path);
  commit_gate gate;
  gate.attach(*store);
  harness h(3s, [&](node::dispatch_options& o) {
    o.store = store.get();
    o.query_timeout = 200ms;
  });
  auto rider = h.connect("r-1");
  const trip_id trip = h.request_ride(rider, h.near(0), h.near(2000)).trip;
  REQUIRE(h.node->trip_snapshot(trip).ok());
  // The rider's cancel is on its way to disk and held there: the trip actor
  // waits for it and answers nobody meanwhile.
  gate.close();
  h.send(rider, schemas::cancel_trip{trip, "changed my mind"});
  REQUIRE(gate.wait_holding());
  auto snap = h.node->trip_snapshot(trip);
  CHECK(snap.code() == errc::unavailable);
  const node::identity admin{"admin-ops", schemas::role::admin};
  auto cancel =
      h.node->change_trip(admin, node::trip_change{trip, trip_event_kind::cancel, {}, {}});
  CHECK(cancel.code() == errc::unavailable);
  // Once the commit is through, the trip answers again: the rider's cancel won.
  gate.open();
  REQUIRE(h.status(rider, trip, trip_state::cancelled));
  snap = h.node->trip_snapshot(trip);
  REQUIRE(snap.ok());
  CHECK(snap->state == trip_state::cancelled);
  CHECK(snap->cancel_reason == "changed my mind");
}
