// The pickup PIN (issue 12 item 1): drawn from a CSPRNG, shown only to the
// rider, and spent after a few wrong tries (pin_locked, a metric, a new PIN).
#include <set>

#include "auth/pickup_pin.hpp"
#include "gateway/metrics.hpp"
#include "node_harness.hpp"

using namespace rideshard;
using namespace rideshard::test;

namespace {

// The PINs of `n` trips requested by fresh riders on a fresh node, in trip-id order.
std::vector<std::pair<trip_id, std::string>> first_pins(int n) {
  harness h;
  std::vector<std::pair<trip_id, std::string>> out;
  for (int i = 1; i <= n; ++i) {
    auto rider = h.connect("r-" + std::to_string(i));
    auto s = h.request_ride(rider, h.near(0), h.near(2000));
    out.emplace_back(s.trip, s.pin);
  }
  return out;
}

}  // namespace

TEST_CASE("new_pickup_pin: four digits, not a fixed sequence") {
  std::set<std::string> seen;
  for (int i = 0; i < 64; ++i) {
    auto pin = auth::new_pickup_pin();
    REQUIRE(pin.size() == 4);
    CHECK(pin >= "1000");
    CHECK(pin <= "9999");
    seen.insert(pin);
  }
  CHECK(seen.size() > 1);
}

TEST_CASE("the same trip ids on two nodes get different PINs: the id does not predict the PIN") {
  // A driver learns the trip id from the offer; were the PIN a function of the id,
  // two nodes would hand out the same PINs for the same ids.
  auto a = first_pins(6);
  auto b = first_pins(6);
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) REQUIRE(a[i].first == b[i].first);
  CHECK(a != b);  // all six equal by chance: 9000^-6
}

TEST_CASE("wrong PINs are limited: the third spends the PIN, the rider gets a new one") {
  gateway::metrics metrics;
  harness h{std::chrono::seconds(3), [&](node::dispatch_options& o) { o.stats = &metrics; }};
  auto driver = h.online_driver("d-1", h.near(300));
  auto rider = h.connect("r-1");
  auto requested = h.request_ride(rider, h.near(0), h.near(2000));
  const trip_id trip = requested.trip;
  const std::string pin = requested.pin;
  REQUIRE(h.next_offer(driver));
  auto acc = h.reply<schemas::trip_status>(driver, h.send(driver, schemas::accept_offer{trip}));
  CHECK(acc.pin.empty());  // the driver never sees it
  auto arrived = h.reply<schemas::trip_status>(driver, h.send(driver, schemas::arrived{trip}));
  CHECK(arrived.pin.empty());
  REQUIRE(h.status(rider, trip, trip_state::driver_arrived));

  const std::string wrong = pin == "1234" ? "4321" : "1234";
  CHECK(h.error_of(driver, h.send(driver, schemas::start_trip{trip, wrong})) == errc::wrong_pin);
  CHECK(h.error_of(driver, h.send(driver, schemas::start_trip{trip, wrong})) == errc::wrong_pin);
  auto locked =
      h.reply<schemas::error_reply>(driver, h.send(driver, schemas::start_trip{trip, wrong}));
  CHECK(locked.code == errc::pin_locked);
  CHECK(metrics.errors(errc::pin_locked) == 1);

  // The rider hears the new PIN; the spent one no longer starts the trip.
  auto renewed =
      rider->wait<schemas::trip_status>([&](const server_message&, const schemas::trip_status& s) {
        return s.trip == trip && s.state == trip_state::driver_arrived && s.pin != pin;
      });
  REQUIRE(renewed);
  const std::string fresh = renewed->second.pin;
  CHECK(fresh.size() == 4);
  CHECK(h.error_of(driver, h.send(driver, schemas::start_trip{trip, pin})) == errc::wrong_pin);
  auto started =
      h.reply<schemas::trip_status>(driver, h.send(driver, schemas::start_trip{trip, fresh}));
  CHECK(started.state == trip_state::in_progress);
  CHECK(started.pin.empty());
}
