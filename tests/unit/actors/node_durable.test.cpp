// A durable node (dispatch_options::store): transitions reach RocksDB before the
// client hears of them, and a new node on the same directory resumes active
// trips — driver busy again, rider and driver get the trip back on resume.
#include <cstdlib>
#include <filesystem>

#include "node_harness.hpp"
#include "rideshard/persistence/store.hpp"
#include "rideshard/schemas/records.hpp"
#include "store_fixture.hpp"

using namespace rideshard;
using namespace rideshard::test;

namespace {

std::optional<trip> stored(persistence::store& s, trip_id id) {
  auto snap = s.load_entity(persistence::entity_kind::trip, id.value);
  REQUIRE(snap.ok());
  if (!*snap) return std::nullopt;
  auto t = schemas::decode_trip_record((*snap)->value.data(), (*snap)->value.size());
  REQUIRE(t.ok());
  return *t;
}

}  // namespace

TEST_CASE("every acknowledged transition is in the store, with its event in the outbox") {
  temp_dir dir;
  auto store = open_store(dir.path);
  harness h(3s, [&](node::dispatch_options& o) { o.store = store.get(); });
  auto driver = h.online_driver("d-1", h.near(300));
  auto rider = h.connect("r-1");
  auto requested = h.request_ride(rider, h.near(0), h.near(3000, 2000));
  // The rider heard `requested`: it is on disk.
  auto t = stored(*store, requested.trip);
  REQUIRE(t);
  CHECK(t->state >= trip_state::requested);
  auto offer = h.next_offer(driver);
  REQUIRE(offer);
  auto acc =
      h.reply<schemas::trip_status>(driver, h.send(driver, schemas::accept_offer{offer->trip}));
  REQUIRE(acc.state == trip_state::accepted);
  t = stored(*store, requested.trip);
  REQUIRE(t);
  CHECK(t->state == trip_state::accepted);
  CHECK(t->driver == driver_id{1});
  CHECK(t->pin == requested.pin);
  // requested, offered, accepted: three trip events waiting for Kafka, in order.
  auto rows = store->read_outbox(0, 100);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 3);
  CHECK(rows->at(0).event.key == to_string(requested.trip));
  CHECK(rows->at(0).event.payload.find("\"requested\"") != std::string::npos);
  CHECK(rows->at(2).event.payload.find("\"accepted\"") != std::string::npos);
  auto journal = store->journal_after(requested.trip, 0);
  REQUIRE(journal.ok());
  CHECK(journal->size() == 2);  // offered (seq 1), accepted (seq 2); requested is seq 0
}

TEST_CASE("a restarted node resumes an accepted trip: driver busy, both resume, ride completes") {
  temp_dir dir;
  trip_id trip;
  std::string pin;
  std::int64_t quoted_total = 0;
  std::int64_t clock_after = 0;
  {
    auto store = open_store(dir.path);
    harness h(3s, [&](node::dispatch_options& o) { o.store = store.get(); });
    auto driver = h.online_driver("d-1", h.near(300));
    auto rider = h.connect("r-1");
    auto q = h.reply<schemas::quote>(
        rider, h.send(rider, schemas::quote_request{h.near(0), h.near(3000, 2000)}));
    quoted_total = q.fare.total_minor;
    auto requested = h.reply<schemas::trip_status>(
        rider, h.send(rider, schemas::ride_request{q.id, h.near(0), h.near(3000, 2000)}));
    trip = requested.trip;
    pin = requested.pin;
    auto offer = h.next_offer(driver);
    REQUIRE(offer);
    REQUIRE(
        h.reply<schemas::trip_status>(driver, h.send(driver, schemas::accept_offer{trip})).state ==
        trip_state::accepted);
    h.reply<schemas::trip_status>(driver, h.send(driver, schemas::arrived{trip}));
    clock_after = h.clock->load();
    // The node goes away here (as after a crash, nothing else is written on stop).
  }
  auto store = open_store(dir.path);
  harness h(3s, [&](node::dispatch_options& o) { o.store = store.get(); });
  h.clock->store(clock_after + 1000);
  CHECK(h.node->recovery().trips_revived == 1);

  // The driver resumes with the trip, and is not offered another one.
  auto dc = h.open(gateway::endpoint::driver);
  auto dw = h.reply<schemas::welcome>(dc, h.send(dc, schemas::hello{"d-1", "test", true}));
  REQUIRE(dw.current_trip);
  CHECK(dw.current_trip->trip == trip);
  CHECK(dw.current_trip->state == trip_state::driver_arrived);
  auto rc = h.open(gateway::endpoint::rider);
  auto rw = h.reply<schemas::welcome>(rc, h.send(rc, schemas::hello{"r-1", "test", true}));
  REQUIRE(rw.current_trip);
  CHECK(rw.current_trip->trip == trip);
  CHECK(rw.current_trip->pin == pin);

  auto other = h.connect("r-2");
  h.reply<schemas::ack>(
      dc, h.send(dc, schemas::location_batch{{h.sample(h.near(300), h.clock->load())}}));
  h.reply<schemas::ack>(dc, h.send(dc, schemas::go_online{}));
  h.request_ride(other, h.near(0), h.near(1000));
  CHECK_FALSE(h.next_offer(dc, 500ms));  // busy with the recovered trip

  auto started = h.reply<schemas::trip_status>(dc, h.send(dc, schemas::start_trip{trip, pin}));
  CHECK(started.state == trip_state::in_progress);
  h.clock->fetch_add(5 * 60 * 1000);
  auto done = h.reply<schemas::trip_status>(dc, h.send(dc, schemas::complete_trip{trip}));
  CHECK(done.state == trip_state::completed);
  auto rr = h.receipt(rc, trip);
  REQUIRE(rr);
  CHECK(rr->fare.total_minor == quoted_total);  // the upfront price survived the restart
}

TEST_CASE("a trip offered when the node died is re-dispatched after restart") {
  temp_dir dir;
  trip_id trip;
  {
    auto store = open_store(dir.path);
    harness h(30s, [&](node::dispatch_options& o) { o.store = store.get(); });
    auto driver = h.online_driver("d-1", h.near(300));
    auto rider = h.connect("r-1");
    trip = h.request_ride(rider, h.near(0), h.near(3000)).trip;
    REQUIRE(h.next_offer(driver));  // offered, never answered
  }
  auto store = open_store(dir.path);
  harness h(30s, [&](node::dispatch_options& o) { o.store = store.get(); });
  CHECK(h.node->recovery().trips_revived == 1);
  auto t = stored(*store, trip);
  REQUIRE(t);
  CHECK(t->state == trip_state::requested);  // the dead offer was timed out durably
  // The rider gets the trip back on resume (and could cancel it).
  auto rc = h.open(gateway::endpoint::rider);
  auto rw = h.reply<schemas::welcome>(rc, h.send(rc, schemas::hello{"r-1", "test", true}));
  REQUIRE(rw.current_trip);
  CHECK(rw.current_trip->trip == trip);
  auto driver = h.online_driver("d-2", h.near(200));
  auto offer = h.next_offer(driver);
  REQUIRE(offer);
  CHECK(offer->trip == trip);
}

TEST_CASE("finished trips are readable after their actor is gone") {
  temp_dir dir;
  trip_id trip;
  {
    auto store = open_store(dir.path);
    harness h(3s, [&](node::dispatch_options& o) { o.store = store.get(); });
    auto rider = h.connect("r-1");
    trip = h.request_ride(rider, h.near(0), h.near(3000)).trip;
    REQUIRE(h.reply<schemas::trip_status>(
                 rider, h.send(rider, schemas::cancel_trip{trip, "changed my mind"}))
                .state == trip_state::cancelled);
  }
  auto store = open_store(dir.path);
  harness h(3s, [&](node::dispatch_options& o) { o.store = store.get(); });
  CHECK(h.node->recovery().trips_read == 1);
  CHECK(h.node->recovery().trips_revived == 0);
  auto snap = h.node->trip_snapshot(trip);
  REQUIRE(snap.ok());
  CHECK(snap->state == trip_state::cancelled);
  CHECK(snap->cancel_reason == "changed my mind");
  CHECK(h.node->trip_snapshot(trip_id{trip.value + 1}).code() == errc::unknown_trip);
}
