// Complete rides through dispatch_node with fake connections: the happy path,
// decline and timeout moving on, cancellation fees, reconnect, and many riders
// racing for few drivers.
#include <thread>

#include "node_harness.hpp"

using namespace rideshard;
using namespace rideshard::test;

TEST_CASE("a whole ride: quote, request, offer, accept, pickup, PIN, complete, receipts") {
  harness h;
  auto driver = h.online_driver("d-1", h.near(300));
  auto rider = h.connect("r-1");

  auto q = h.reply<schemas::quote>(
      rider, h.send(rider, schemas::quote_request{h.near(0), h.near(3000, 2000)}));
  CHECK(q.fare.total_minor > 0);
  CHECK(q.currency == "USD");
  CHECK(q.surge_per_mille >= 1000);
  CHECK(q.pickup_eta_s > 0);

  auto requested = h.reply<schemas::trip_status>(
      rider, h.send(rider, schemas::ride_request{q.id, h.near(0), h.near(3000, 2000)}));
  CHECK(requested.state == trip_state::requested);
  CHECK(requested.pin.size() == 4);
  const trip_id trip = requested.trip;

  auto offer = h.next_offer(driver);
  REQUIRE(offer);
  CHECK(offer->trip == trip);
  CHECK(offer->fare_estimate_minor == q.fare.total_minor);
  CHECK(offer->deadline_ms > t0_ms);

  auto acc = h.reply<schemas::trip_status>(driver, h.send(driver, schemas::accept_offer{trip}));
  CHECK(acc.state == trip_state::accepted);
  CHECK(acc.pin.empty());  // only the rider sees the PIN
  auto seen = h.status(rider, trip, trip_state::accepted);
  REQUIRE(seen);
  CHECK(seen->driver == driver_id{1});

  // The rider follows the driver.
  h.clock->fetch_add(2000);
  h.reply<schemas::ack>(
      driver, h.send(driver, schemas::location_batch{{h.sample(h.near(200), h.clock->load())}}));
  auto pos = rider->wait<schemas::driver_position>();
  REQUIRE(pos);
  CHECK(pos->second.trip == trip);
  CHECK(pos->second.driver == driver_id{1});

  h.reply<schemas::trip_status>(driver, h.send(driver, schemas::arrived{trip}));
  REQUIRE(h.status(rider, trip, trip_state::driver_arrived));

  CHECK(h.error_of(driver, h.send(driver, schemas::start_trip{trip, "0000"})) == errc::wrong_pin);
  auto started = h.reply<schemas::trip_status>(
      driver, h.send(driver, schemas::start_trip{trip, requested.pin}));
  CHECK(started.state == trip_state::in_progress);
  REQUIRE(h.status(rider, trip, trip_state::in_progress));

  h.clock->fetch_add(10 * 60 * 1000);
  auto done = h.reply<schemas::trip_status>(driver, h.send(driver, schemas::complete_trip{trip}));
  CHECK(done.state == trip_state::completed);
  auto rr = h.receipt(rider, trip);
  auto dr = h.receipt(driver, trip);
  REQUIRE(rr);
  REQUIRE(dr);
  CHECK(rr->final_state == trip_state::completed);
  CHECK(rr->fare.total_minor == q.fare.total_minor);  // upfront price
  CHECK(rr->duration_s == 600);
  CHECK(dr->fare.total_minor == rr->fare.total_minor);

  // The driver is available again, the rider may ride again.
  auto snap = h.node->trip_snapshot(trip);
  REQUIRE(snap.ok());
  CHECK(snap->state == trip_state::completed);
  auto near = h.node->nearby(h.near(0).lat, h.near(0).lng, 2000, 10);
  REQUIRE(near.ok());
  REQUIRE(near->size() == 1);
  CHECK(near->front().id == driver_id{1});
}

TEST_CASE("a decline moves the offer to the next driver; a timeout too") {
  harness h{std::chrono::milliseconds(400)};
  auto d_near = h.online_driver("d-2", h.near(100));
  auto d_mid = h.online_driver("d-3", h.near(600));
  auto d_far = h.online_driver("d-4", h.near(1200));
  auto rider = h.connect("r-2");
  auto trip = h.request_ride(rider, h.near(0), h.near(2000)).trip;

  auto first = h.next_offer(d_near);
  REQUIRE(first);
  CHECK(first->trip == trip);
  h.reply<schemas::ack>(d_near, h.send(d_near, schemas::decline_offer{trip, "too far"}));

  auto second = h.next_offer(d_mid);
  REQUIRE(second);
  CHECK(second->trip == trip);
  // d-3 lets the offer time out: it is told, and d-4 gets the offer.
  REQUIRE(h.status(d_mid, trip, trip_state::expired));
  auto third = h.next_offer(d_far);
  REQUIRE(third);
  CHECK(third->trip == trip);
  // Accepting the expired offer now fails.
  CHECK(h.error_of(d_mid, h.send(d_mid, schemas::accept_offer{trip})) ==
        errc::not_offered_to_driver);
  h.reply<schemas::trip_status>(d_far, h.send(d_far, schemas::accept_offer{trip}));
  auto seen = h.status(rider, trip, trip_state::accepted);
  REQUIRE(seen);
  CHECK(seen->driver == driver_id{4});
  // The decliner never gets this trip again.
  CHECK(d_near->all<schemas::offer>().size() == 1);
}

TEST_CASE("rider cancellation: free while offered and in the grace period, fee after") {
  harness h;
  auto driver = h.online_driver("d-5", h.near(200));
  auto rider = h.connect("r-5");

  SUBCASE("while offered: free, the driver's offer is withdrawn") {
    auto trip = h.request_ride(rider, h.near(0), h.near(2000)).trip;
    REQUIRE(h.next_offer(driver));
    auto st = h.reply<schemas::trip_status>(
        rider, h.send(rider, schemas::cancel_trip{trip, "changed mind"}));
    CHECK(st.state == trip_state::cancelled);
    auto r = h.receipt(rider, trip);
    REQUIRE(r);
    CHECK(r->cancellation_fee_minor == 0);
    REQUIRE(h.status(driver, trip, trip_state::cancelled));
    CHECK(h.error_of(driver, h.send(driver, schemas::accept_offer{trip})) ==
          errc::not_offered_to_driver);
  }
  SUBCASE("after accept, within the grace period: free") {
    auto trip = h.request_ride(rider, h.near(0), h.near(2000)).trip;
    REQUIRE(h.next_offer(driver));
    h.reply<schemas::trip_status>(driver, h.send(driver, schemas::accept_offer{trip}));
    h.clock->fetch_add(60'000);
    h.reply<schemas::trip_status>(rider, h.send(rider, schemas::cancel_trip{trip, "late"}));
    auto r = h.receipt(rider, trip);
    REQUIRE(r);
    CHECK(r->cancellation_fee_minor == 0);
    REQUIRE(h.status(driver, trip, trip_state::cancelled));
  }
  SUBCASE("after accept, past the grace period: cancel fee") {
    auto trip = h.request_ride(rider, h.near(0), h.near(2000)).trip;
    REQUIRE(h.next_offer(driver));
    h.reply<schemas::trip_status>(driver, h.send(driver, schemas::accept_offer{trip}));
    h.clock->fetch_add(121'000);
    h.reply<schemas::trip_status>(rider, h.send(rider, schemas::cancel_trip{trip, "late"}));
    auto r = h.receipt(rider, trip);
    REQUIRE(r);
    CHECK(r->cancellation_fee_minor == 500);
    auto dr = h.receipt(driver, trip);
    REQUIRE(dr);
    CHECK(dr->cancellation_fee_minor == 500);
  }
  SUBCASE("after the driver arrived: no-show fee; in progress: refused") {
    auto trip = h.request_ride(rider, h.near(0), h.near(2000)).trip;
    REQUIRE(h.next_offer(driver));
    h.reply<schemas::trip_status>(driver, h.send(driver, schemas::accept_offer{trip}));
    h.reply<schemas::trip_status>(driver, h.send(driver, schemas::arrived{trip}));
    h.reply<schemas::trip_status>(rider, h.send(rider, schemas::cancel_trip{trip, "no"}));
    auto r = h.receipt(rider, trip);
    REQUIRE(r);
    CHECK(r->cancellation_fee_minor == 500);
  }
  SUBCASE("driver backs out after accept: the rider is re-dispatched to another driver") {
    auto other = h.online_driver("d-6", h.near(900));
    auto trip = h.request_ride(rider, h.near(0), h.near(2000)).trip;
    REQUIRE(h.next_offer(driver));
    h.reply<schemas::trip_status>(driver, h.send(driver, schemas::accept_offer{trip}));
    auto st = h.reply<schemas::trip_status>(
        driver, h.send(driver, schemas::cancel_trip{trip, "flat tyre"}));
    CHECK(st.state == trip_state::cancelled);
    auto o = h.next_offer(other);
    REQUIRE(o);
    CHECK(o->trip == trip);
    h.reply<schemas::trip_status>(other, h.send(other, schemas::accept_offer{trip}));
    auto seen = h.status(rider, trip, trip_state::accepted);
    REQUIRE(seen);
    // The first accepted status named d-5; wait for the one naming d-6.
    if (seen->driver != driver_id{6}) seen = h.status(rider, trip, trip_state::accepted);
    REQUIRE(seen);
    CHECK(seen->driver == driver_id{6});
  }
}

TEST_CASE("reconnect with the same identity resumes the current trip") {
  harness h;
  auto driver = h.online_driver("d-8", h.near(200));
  auto rider = h.connect("r-8");
  auto trip = h.request_ride(rider, h.near(0), h.near(2000)).trip;
  REQUIRE(h.next_offer(driver));
  h.reply<schemas::trip_status>(driver, h.send(driver, schemas::accept_offer{trip}));
  REQUIRE(h.status(rider, trip, trip_state::accepted));

  h.node->on_close(rider);
  auto again = h.open(gateway::endpoint::rider);
  auto w = h.reply<schemas::welcome>(again, h.send(again, schemas::hello{"r-8", "test", true}));
  CHECK(w.resumed);
  REQUIRE(w.current_trip);
  CHECK(w.current_trip->trip == trip);
  CHECK(w.current_trip->state == trip_state::accepted);
  CHECK(w.current_trip->pin.size() == 4);

  // A second connection of the driver replaces the first, which is closed.
  auto d2 = h.open(gateway::endpoint::driver);
  auto dw = h.reply<schemas::welcome>(d2, h.send(d2, schemas::hello{"d-8", "test", true}));
  REQUIRE(dw.current_trip);
  CHECK(dw.current_trip->trip == trip);
  CHECK(driver->closed());
  // Updates now reach the new connections.
  h.reply<schemas::trip_status>(d2, h.send(d2, schemas::arrived{trip}));
  REQUIRE(h.status(again, trip, trip_state::driver_arrived));
}

TEST_CASE("many riders racing for few drivers: never two trips on one driver") {
  harness h;
  constexpr int drivers = 3;
  constexpr int riders = 12;
  std::vector<fake_ptr> ds, rs;
  for (int i = 0; i < drivers; ++i)
    ds.push_back(h.online_driver("d-" + std::to_string(100 + i), h.near(100.0 * i)));
  for (int i = 0; i < riders; ++i) rs.push_back(h.connect("r-" + std::to_string(100 + i)));

  std::vector<std::thread> threads;  // requests arrive concurrently, like gateway threads
  for (int i = 0; i < riders; ++i)
    threads.emplace_back([&, i] {
      h.send(rs[i], schemas::ride_request{{}, h.near(50.0 * i), h.near(3000)});
    });
  for (auto& t : threads) t.join();

  // Every driver accepts whatever it is offered; each ends up with exactly one trip.
  std::vector<trip_id> assigned;
  for (auto& d : ds) {
    auto o = h.next_offer(d);
    if (!o) {
      for (auto& x : ds)
        MESSAGE("offers ", x->all<schemas::offer>().size(), " statuses ",
                x->all<schemas::trip_status>().size(), " errors ",
                x->all<schemas::error_reply>().size());
      for (auto& x : ds)
        for (auto& e : x->all<schemas::error_reply>())
          MESSAGE("err ", to_string(e.code), " ", e.message);
      auto n = h.node->nearby(h.near(0).lat, h.near(0).lng, 5000, 10);
      MESSAGE("nearby ", n.ok() ? n->size() : 999);
      int st[8] = {};
      for (auto& r : rs)
        for (auto& x : r->all<schemas::trip_status>()) st[static_cast<int>(x.state)]++;
      MESSAGE("rider statuses req ", st[0], " off ", st[1], " acc ", st[2]);
    }
    REQUIRE(o);
    h.reply<schemas::trip_status>(d, h.send(d, schemas::accept_offer{o->trip}));
    assigned.push_back(o->trip);
  }
  std::sort(assigned.begin(), assigned.end());
  CHECK(std::adjacent_find(assigned.begin(), assigned.end()) == assigned.end());
  // No driver is available and none holds a second offer.
  auto near = h.node->nearby(h.near(0).lat, h.near(0).lng, 5000, 10);
  REQUIRE(near.ok());
  CHECK(near->empty());
  for (auto& d : ds) CHECK(d->all<schemas::offer>().size() == 1);

  // A second accept for another trip is refused by the busy driver.
  CHECK(h.error_of(ds[0], h.send(ds[0], schemas::accept_offer{assigned[1]})) != errc::ok);

  // When a driver finishes, a waiting request gets it.
  auto& d0 = ds[0];
  auto t0 = d0->all<schemas::offer>().front().trip;
  h.reply<schemas::trip_status>(d0, h.send(d0, schemas::arrived{t0}));
  // The rider of t0 holds the PIN; find it through the snapshot API.
  auto snap = h.node->trip_snapshot(t0);
  REQUIRE(snap.ok());
  h.reply<schemas::trip_status>(d0, h.send(d0, schemas::start_trip{t0, snap->pin}));
  h.reply<schemas::trip_status>(d0, h.send(d0, schemas::complete_trip{t0}));
  auto next = h.next_offer(d0);
  REQUIRE(next);
  CHECK(std::find(assigned.begin(), assigned.end(), next->trip) == assigned.end());
  // Exactly `drivers` riders saw an accepted trip so far.
  int accepted = 0;
  for (auto& r : rs)
    for (auto& s : r->all<schemas::trip_status>()) accepted += s.state == trip_state::accepted;
  CHECK(accepted == drivers);
}
