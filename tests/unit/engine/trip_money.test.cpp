// A trip's transitions on the in-memory ledger: the request holds the upfront
// fare, completion captures the receipt's fare split driver / platform / tax,
// a cancel voids or charges its fee, and nothing else moves money.
#include <doctest/doctest.h>

#include "rideshard/engine/trip_money.hpp"

using namespace rideshard;

namespace {

const account_id rider_acct{account_kind::rider, 1};
const account_id driver_acct{account_kind::driver_payable, 7};

trip requested_trip(std::int64_t quoted) {
  trip t;
  t.id = trip_id{55};
  t.rider = rider_id{1};
  t.state = trip_state::requested;
  t.quoted_fare_minor = quoted;
  return t;
}

// Applies the transition's transfers; returns how many there were.
std::size_t step(memory_ledger& l, const trip& before, const trip& after, std::int64_t fare = 0) {
  auto chain = trip_transfers(before, after, fare, 1000, money_rules{});
  REQUIRE_MESSAGE(chain.ok(), (chain.ok() ? "" : chain.err().message));
  const auto n = chain->size();
  if (n > 0) REQUIRE(l.apply(std::move(*chain)).ok());
  return n;
}

trip moved(trip t, trip_state s) {
  t.state = s;
  ++t.sequence;
  return t;
}

}  // namespace

TEST_CASE("request holds, completion captures the fare and pays the driver") {
  memory_ledger l;
  trip t = requested_trip(2000);
  CHECK(step(l, t, t) == 1);  // the hold
  CHECK(l.balance_of(rider_acct).debits_pending == 2000);
  trip offered = moved(t, trip_state::offered);
  CHECK(step(l, t, offered) == 0);
  trip accepted = moved(offered, trip_state::accepted);
  accepted.driver = driver_id{7};
  CHECK(step(l, offered, accepted) == 0);
  trip started = moved(accepted, trip_state::in_progress);
  trip done = moved(started, trip_state::completed);
  CHECK(step(l, started, done, 2000) >= 2);
  CHECK(l.balance_of(rider_acct).debits_posted == 2000);
  CHECK(l.balance_of(rider_acct).debits_pending == 0);
  CHECK(l.balance_of(driver_acct).credits_posted == 1500);  // 75% to the driver
  CHECK(l.check_invariants().ok());
}

TEST_CASE("a free cancel voids the hold, a late one keeps the fee") {
  memory_ledger l;
  trip t = requested_trip(2000);
  step(l, t, t);
  trip cancelled = moved(t, trip_state::cancelled);
  CHECK(step(l, t, cancelled) == 1);
  CHECK(l.balance_of(rider_acct).debits_pending == 0);
  CHECK(l.balance_of(rider_acct).debits_posted == 0);

  memory_ledger l2;
  trip u = requested_trip(2000);
  u.id = trip_id{56};
  step(l2, u, u);
  trip accepted = moved(u, trip_state::accepted);
  accepted.driver = driver_id{7};
  trip late = moved(accepted, trip_state::cancelled);
  late.cancel_fee_minor = 500;
  step(l2, accepted, late);
  CHECK(l2.balance_of(rider_acct).debits_posted == 500);
  CHECK(l2.balance_of(driver_acct).credits_posted == 400);  // 80% of the fee
  CHECK(l2.check_invariants().ok());
}

TEST_CASE("trips without an upfront price and expired requests") {
  memory_ledger l;
  trip t = requested_trip(0);
  CHECK(step(l, t, t) == 0);
  CHECK(step(l, t, moved(t, trip_state::expired)) == 0);
  trip q = requested_trip(900);
  step(l, q, q);
  CHECK(step(l, q, moved(q, trip_state::expired)) == 1);  // the hold is released
  CHECK(l.balance_of(rider_acct).debits_pending == 0);
}

TEST_CASE("a ride without a quote holds its estimate and captures the final fare above it") {
  memory_ledger l;
  trip t = requested_trip(0);
  t.hold_minor = 1200;  // the node's fare estimate at request
  CHECK(held_fare_minor(t) == 1200);
  CHECK(step(l, t, t) == 1);
  CHECK(l.balance_of(rider_acct).debits_pending == 1200);
  trip accepted = moved(t, trip_state::accepted);
  accepted.driver = driver_id{7};
  trip done = moved(moved(accepted, trip_state::in_progress), trip_state::completed);
  step(l, accepted, done, 1500);                          // the receipt came out above the estimate
  CHECK(l.balance_of(rider_acct).debits_posted == 1500);  // hold 1200 + extra 300
  CHECK(l.balance_of(rider_acct).debits_pending == 0);
  CHECK(l.check_invariants().ok());
  trip q = requested_trip(900);
  q.hold_minor = 1200;
  CHECK(held_fare_minor(q) == 900);  // a quote wins over the estimate
}
