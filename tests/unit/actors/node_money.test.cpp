// A ride's money on a durable node: the request's hold, the completion's
// capture and the cancel's void are in the store's ledger with the transition
// that caused them (one batch), the driver is credited, and the ledger balances.
#include <utility>

#include "node_harness.hpp"
#include "rideshard/persistence/ledger.hpp"
#include "rideshard/persistence/store.hpp"
#include "store_fixture.hpp"

using namespace rideshard;
using namespace rideshard::test;

namespace {

balance of(persistence::store& s, account_kind k, std::uint64_t owner) {
  return persistence::ledger(s).balance_of({k, owner});
}

// A quote, then a ride request at its upfront price.
std::pair<schemas::quote, schemas::trip_status> quoted_ride(harness& h, const fake_ptr& rider) {
  auto q = h.reply<schemas::quote>(
      rider, h.send(rider, schemas::quote_request{h.near(0), h.near(3000, 2000)}));
  REQUIRE(q.fare.total_minor > 0);
  auto requested = h.reply<schemas::trip_status>(
      rider, h.send(rider, schemas::ride_request{q.id, h.near(0), h.near(3000, 2000)}));
  return {q, requested};
}

}  // namespace

TEST_CASE("a quoted ride holds at request, captures at completion, credits the driver") {
  temp_dir dir;
  auto store = open_store(dir.path);
  harness h(3s, [&](node::dispatch_options& o) { o.store = store.get(); });
  auto driver = h.online_driver("d-1", h.near(300));
  auto rider = h.connect("r-1");
  auto [q, requested] = quoted_ride(h, rider);
  const trip_id trip = requested.trip;
  // The rider heard `requested`: the hold is on disk with it.
  CHECK(of(*store, account_kind::rider, 1).debits_pending == q.fare.total_minor);

  auto offer = h.next_offer(driver);
  REQUIRE(offer);
  h.reply<schemas::trip_status>(driver, h.send(driver, schemas::accept_offer{trip}));
  h.reply<schemas::trip_status>(driver, h.send(driver, schemas::arrived{trip}));
  h.reply<schemas::trip_status>(driver, h.send(driver, schemas::start_trip{trip, requested.pin}));
  h.clock->fetch_add(10 * 60 * 1000);
  auto done = h.reply<schemas::trip_status>(driver, h.send(driver, schemas::complete_trip{trip}));
  REQUIRE(done.state == trip_state::completed);
  auto r = of(*store, account_kind::rider, 1);
  CHECK(r.debits_pending == 0);
  CHECK(r.debits_posted == q.fare.total_minor);
  const auto d = of(*store, account_kind::driver_payable, 1);
  CHECK(d.credits_posted > 0);
  CHECK(d.credits_posted < q.fare.total_minor);  // the platform keeps its commission
  CHECK(d.credits_posted + of(*store, account_kind::platform_revenue, 0).credits_posted ==
        q.fare.total_minor);
  auto ok = persistence::ledger(*store).check_invariants();
  CHECK_MESSAGE(ok.ok(), (ok.ok() ? "" : ok.err().message));
}

TEST_CASE("a free cancel releases the hold") {
  temp_dir dir;
  auto store = open_store(dir.path);
  harness h(3s, [&](node::dispatch_options& o) { o.store = store.get(); });
  auto rider = h.connect("r-2");
  auto [q, requested] = quoted_ride(h, rider);
  CHECK(of(*store, account_kind::rider, 2).debits_pending == q.fare.total_minor);
  auto cancelled = h.reply<schemas::trip_status>(
      rider, h.send(rider, schemas::cancel_trip{requested.trip, "changed my mind"}));
  REQUIRE(cancelled.state == trip_state::cancelled);
  const auto r = of(*store, account_kind::rider, 2);
  CHECK(r.debits_pending == 0);
  CHECK(r.debits_posted == 0);
  CHECK(persistence::ledger(*store).check_invariants().ok());
}

TEST_CASE("the capture is split with the node's money rules, not the defaults") {
  temp_dir dir;
  auto store = open_store(dir.path);
  money_rules rules;
  rules.commission_permille = 100;
  rules.tax_permille = 80;
  harness h(3s, [&](node::dispatch_options& o) {
    o.store = store.get();
    o.money = rules;
  });
  auto driver = h.online_driver("d-3", h.near(300));
  auto rider = h.connect("r-3");
  auto [q, requested] = quoted_ride(h, rider);
  const trip_id trip = requested.trip;
  REQUIRE(h.next_offer(driver));
  h.reply<schemas::trip_status>(driver, h.send(driver, schemas::accept_offer{trip}));
  h.reply<schemas::trip_status>(driver, h.send(driver, schemas::arrived{trip}));
  h.reply<schemas::trip_status>(driver, h.send(driver, schemas::start_trip{trip, requested.pin}));
  auto done = h.reply<schemas::trip_status>(driver, h.send(driver, schemas::complete_trip{trip}));
  REQUIRE(done.state == trip_state::completed);
  const auto want = split_fare(q.fare.total_minor, rules);
  REQUIRE(want.tax > 0);
  CHECK(of(*store, account_kind::driver_payable, 3).credits_posted == want.driver);
  CHECK(of(*store, account_kind::platform_revenue, 0).credits_posted == want.platform);
  CHECK(of(*store, account_kind::tax, 0).credits_posted == want.tax);
  CHECK(persistence::ledger(*store).check_invariants().ok());
}
