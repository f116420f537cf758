// Issue 12 item 8: a rider for whom no driver can be found within the region's
// largest search radius sees the search widen (trip_status pushes carrying
// search_radius_m) and, after dispatch_options::no_driver_timeout on the
// node's clock (the harness's manual clock), hears its trip cancelled by the
// system with reason no_driver_available — not `expired` at the end of the
// request's TTL (5 minutes in the test region). On a durable node that cancel
// is journalled, published and voids the ride's hold like any free cancel.
#include "gateway/metrics.hpp"
#include "node_harness.hpp"
#include "rideshard/persistence/ledger.hpp"
#include "rideshard/persistence/topics.hpp"
#include "store_fixture.hpp"

using namespace rideshard;
using namespace rideshard::test;

namespace {

constexpr std::int64_t timeout_ms = 20'000;  // dispatch_options' default no_driver_timeout

// The node checks parked requests every 2 ms of real time; the timeout itself
// runs on the manual clock, so nothing here waits for it in real time.
harness no_driver_node(persistence::store* store = nullptr, gateway::metrics* stats = nullptr) {
  return harness(3s, [store, stats](node::dispatch_options& o) {
    o.no_driver_check = 2ms;
    o.store = store;
    o.stats = stats;
  });
}

// Waits for the rider's push of `trip`, still requested, searching `radius_m`.
bool searching(const fake_ptr& rider, trip_id trip, std::uint32_t radius_m) {
  return rider
      ->wait<schemas::trip_status>(
          [&](const schemas::server_message& m, const schemas::trip_status& s) {
            return m.reply_to == 0 && s.trip == trip && s.state == trip_state::requested &&
                   s.search_radius_m == radius_m;
          })
      .has_value();
}

trip_state stored_state(harness& h, trip_id trip) {
  auto snap = h.node->trip_snapshot(trip);
  REQUIRE(snap.ok());
  return snap->state;
}

void check_no_driver(const std::optional<schemas::trip_status>& over) {
  REQUIRE(over);
  CHECK(over->cancelled_by == party::system);
  CHECK(over->cancel_reason == "no_driver_available");
  CHECK(over->search_radius_m == 0);  // not searching any more
}

}  // namespace

TEST_CASE("the search widens, then the rider hears no_driver_available after the timeout") {
  gateway::metrics stats;
  auto h = no_driver_node(nullptr, &stats);
  auto rider = h.connect("r-1");
  // The only driver, 2 km east: beyond the first radius (1.5 km), within the
  // second (3 km).
  auto driver = h.online_driver("d-1", h.near(0, 2000));
  auto requested = h.request_ride(rider, h.near(0), h.near(3000));
  const trip_id trip = requested.trip;
  CHECK(requested.search_radius_m == 1500);  // the region's initial_radius_m
  CHECK(searching(rider, trip, 3000));
  auto offer = h.next_offer(driver);
  REQUIRE(offer);
  h.reply<schemas::ack>(driver, h.send(driver, schemas::decline_offer{trip, "too far"}));
  // Nobody else up to max_radius_m (8 km): the rider sees the last radius.
  CHECK(searching(rider, trip, 8000));
  CHECK(stored_state(h, trip) == trip_state::requested);  // the clock has not moved
  h.clock->fetch_add(timeout_ms);
  check_no_driver(h.status(rider, trip, trip_state::cancelled));
  auto receipt = h.receipt(rider, trip);
  REQUIRE(receipt);
  CHECK(receipt->fare.total_minor == 0);
  CHECK(stored_state(h, trip) == trip_state::cancelled);
  // Counted as what it is — a trip the system gave up on — before the rider heard
  // it; no error_reply was sent, so errors_total has no such code.
  const auto text = stats.render_text();
  CHECK(series(text, "rideshard_no_driver_cancels_total") == 1);
  CHECK(series(text, "rideshard_errors_total{code=\"no_driver_available\"}") == -1);
  CHECK(stats.errors(errc::no_driver_available) == 0);
  // The rider may ask again at once, and the search starts afresh.
  auto again = h.request_ride(rider, h.near(0), h.near(3000));
  CHECK(again.trip != trip);
  CHECK(again.search_radius_m == 1500);
}

TEST_CASE("a driver free before the timeout gets the ride; the timeout never ends it") {
  auto h = no_driver_node();
  auto rider = h.connect("r-2");
  const trip_id trip = h.request_ride(rider, h.near(0), h.near(3000)).trip;
  CHECK(searching(rider, trip, 8000));  // nobody at all
  h.clock->fetch_add(timeout_ms - 1000);
  auto driver = h.online_driver("d-2", h.near(0, 500));
  auto offer = h.next_offer(driver);
  REQUIRE(offer);
  CHECK(offer->trip == trip);
  auto accepted =
      h.reply<schemas::trip_status>(driver, h.send(driver, schemas::accept_offer{trip}));
  CHECK(accepted.state == trip_state::accepted);
  h.clock->fetch_add(2 * timeout_ms);
  CHECK(h.status(rider, trip, trip_state::accepted));
  CHECK(stored_state(h, trip) == trip_state::accepted);
}

TEST_CASE("on a durable node the give-up is journalled, published and voids the hold") {
  temp_dir dir;
  auto store = open_store(dir.path);
  auto h = no_driver_node(store.get());
  auto rider = h.connect("r-3");
  auto q = h.reply<schemas::quote>(rider,
                                   h.send(rider, schemas::quote_request{h.near(0), h.near(3000)}));
  auto requested = h.reply<schemas::trip_status>(
      rider, h.send(rider, schemas::ride_request{q.id, h.near(0), h.near(3000)}));
  const trip_id trip = requested.trip;
  persistence::ledger ledger(*store);
  CHECK(ledger.balance_of({account_kind::rider, 3}).debits_pending == q.fare.total_minor);
  CHECK(searching(rider, trip, 8000));
  h.clock->fetch_add(timeout_ms);
  check_no_driver(h.status(rider, trip, trip_state::cancelled));
  // The rider heard it: it is on disk — the trip, its journal entry, its event.
  auto journal = store->journal_after(trip, 0);
  REQUIRE(journal.ok());
  CHECK(journal->size() == 1);  // requested is seq 0, the cancel seq 1
  auto rows = store->read_outbox(0, 100);
  REQUIRE(rows.ok());
  std::vector<std::string> events;
  for (auto& r : *rows)
    if (r.event.topic == persistence::trip_events_topic && r.event.key == to_string(trip))
      events.push_back(r.event.payload);
  REQUIRE(events.size() == 2);
  CHECK(events.back().find("\"cancelled\"") != std::string::npos);
  CHECK(events.back().find("no_driver_available") != std::string::npos);
  const auto r = ledger.balance_of({account_kind::rider, 3});
  CHECK(r.debits_pending == 0);
  CHECK(r.debits_posted == 0);
  auto ok = ledger.check_invariants();
  CHECK_MESSAGE(ok.ok(), (ok.ok() ? "" : ok.err().message));
}
