// Races through dispatch_node: accept vs offer timeout, accept vs rider cancel
// (never two drivers on one trip, never two trips on one driver), and idle
// passivation with revival on the next message.
#include <set>
#include <thread>

#include "node_harness.hpp"

using namespace rideshard;
using namespace rideshard::test;

namespace {

// Proves `driver` is available: a fresh ride request nearby is offered to it.
void expect_available(harness& h, const fake_ptr& driver, const std::string& rider_subject) {
  auto probe = h.connect(rider_subject);
  auto trip = h.request_ride(probe, h.near(0), h.near(500)).trip;
  auto o = driver->wait<schemas::offer>(
      [trip](const schemas::server_message&, const schemas::offer& x) { return x.trip == trip; });
  REQUIRE_MESSAGE(o.has_value(), "driver did not become available again");
  h.reply<schemas::trip_status>(probe, h.send(probe, schemas::cancel_trip{trip, "probe"}));
}

}  // namespace

TEST_CASE("accept racing the offer timeout: one outcome, the driver stays consistent") {
  harness h{std::chrono::milliseconds(20)};
  auto driver = h.online_driver("d-1", h.near(100));
  for (int i = 0; i < 10; ++i) {
    auto rider = h.connect("r-" + std::to_string(10 + i));
    auto trip = h.request_ride(rider, h.near(0), h.near(2000)).trip;
    auto o = driver->wait<schemas::offer>(
        [trip](const schemas::server_message&, const schemas::offer& x) { return x.trip == trip; });
    REQUIRE(o);
    auto seq = h.send(driver, schemas::accept_offer{trip});
    // Either the accept won (trip_status accepted) or the timeout did (error).
    auto won = driver->wait<schemas::trip_status>(
        [seq](const schemas::server_message& m, const schemas::trip_status&) {
          return m.reply_to == seq;
        },
        std::chrono::milliseconds(300));
    if (won) {
      CHECK(won->second.state == trip_state::accepted);
      h.reply<schemas::trip_status>(rider, h.send(rider, schemas::cancel_trip{trip, "done"}));
      REQUIRE(h.status(driver, trip, trip_state::cancelled));
    } else {
      auto e = h.error_of(driver, seq);
      CHECK((e == errc::not_offered_to_driver || e == errc::offer_expired));
      // The request keeps looking (only this driver, who is excluded now): cancel it.
      h.reply<schemas::trip_status>(rider, h.send(rider, schemas::cancel_trip{trip, "done"}));
    }
  }
  expect_available(h, driver, "r-99");
}

TEST_CASE("accept racing a rider cancel: never an assigned driver on a cancelled trip") {
  harness h;
  auto driver = h.online_driver("d-2", h.near(100));
  for (int i = 0; i < 10; ++i) {
    auto rider = h.connect("r-" + std::to_string(200 + i));
    auto trip = h.request_ride(rider, h.near(0), h.near(2000)).trip;
    auto o = driver->wait<schemas::offer>(
        [trip](const schemas::server_message&, const schemas::offer& x) { return x.trip == trip; });
    REQUIRE(o);
    std::uint64_t accept_seq = 0, cancel_seq = 0;
    std::thread a{[&] { accept_seq = h.send(driver, schemas::accept_offer{trip}); }};
    std::thread c{[&] { cancel_seq = h.send(rider, schemas::cancel_trip{trip, "race"}); }};
    a.join();
    c.join();
    auto cancelled = h.reply<schemas::trip_status>(rider, cancel_seq);
    CHECK(cancelled.state == trip_state::cancelled);
    auto r = h.receipt(rider, trip);
    REQUIRE(r);
    CHECK(r->cancellation_fee_minor == 0);
    auto snap = h.node->trip_snapshot(trip);
    REQUIRE(snap.ok());
    CHECK(snap->state == trip_state::cancelled);
    // The driver either got the trip and then the cancellation, or a refusal.
    REQUIRE(h.status(driver, trip, trip_state::cancelled));
  }
  expect_available(h, driver, "r-299");
}

TEST_CASE("idle entities are passivated and revived on the next message") {
  std::mutex mu;
  std::condition_variable cv;
  std::set<std::string> passivated;
  harness h{3s, [&](node::dispatch_options& o) {
              o.idle_timeout = std::chrono::milliseconds(50);
              o.on_passivated = [&](const std::string& s) {
                {
                  std::lock_guard<std::mutex> lock{mu};
                  passivated.insert(s);
                }
                cv.notify_all();
              };
            }};
  auto wait_passivated = [&](const std::string& s) {
    std::unique_lock<std::mutex> lock{mu};
    return cv.wait_for(lock, 5s, [&] { return passivated.count(s) != 0; });
  };
  auto driver = h.online_driver("d-3", h.near(100));
  auto rider = h.connect("r-3");
  auto busy_rider = h.connect("r-4");
  auto trip = h.request_ride(busy_rider, h.near(0), h.near(2000)).trip;
  REQUIRE(h.next_offer(driver));
  h.reply<schemas::trip_status>(driver, h.send(driver, schemas::accept_offer{trip}));

  // r-3 has no trip: once disconnected it is passivated. r-4 and d-3 are busy.
  h.node->on_close(rider);
  h.node->on_close(busy_rider);
  REQUIRE(wait_passivated("r-3"));
  {
    std::lock_guard<std::mutex> lock{mu};
    CHECK(passivated.count("r-4") == 0);
    CHECK(passivated.count("d-3") == 0);
  }
  // Revived on the next hello.
  auto back = h.connect("r-3");
  CHECK(h.reply<schemas::quote>(back, h.send(back, schemas::quote_request{h.near(0), h.near(900)}))
            .fare.total_minor > 0);
  // The busy rider still has its trip.
  auto again = h.open(gateway::endpoint::rider);
  auto w = h.reply<schemas::welcome>(again, h.send(again, schemas::hello{"r-4", "t", true}));
  REQUIRE(w.current_trip);
  CHECK(w.current_trip->trip == trip);
}
