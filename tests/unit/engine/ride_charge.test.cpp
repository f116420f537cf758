// The reconciliation decisions of a ride's money at the PSP: which call the
// ledger's committed trip transfers still need given the PSP's recorded answers,
// live and after a crash — never a second capture of a settled hold.
#include <doctest/doctest.h>

#include "rideshard/engine/ride_charge.hpp"
#include "rideshard/engine/trip_money.hpp"

using namespace rideshard;

namespace {

constexpr std::uint64_t trip_no = 77;

ride_ledger ledger_of(const std::vector<transfer>& ts) {
  ride_ledger l;
  for (const auto& t : ts) add_ride_transfer(l, t);
  return l;
}

std::vector<transfer> ride(std::int64_t hold, trip_state end, std::int64_t final_fare = 0,
                           std::int64_t fee = 0) {
  trip t;
  t.id = trip_id{trip_no};
  t.rider = rider_id{3};
  t.quoted_fare_minor = hold;
  std::vector<transfer> out = *trip_transfers(t, t, 0, 1, money_rules{});
  if (end == trip_state::requested) return out;
  trip after = t;
  after.state = end;
  after.driver = driver_id{9};
  after.cancel_fee_minor = fee;
  ++after.sequence;
  auto more = trip_transfers(t, after, final_fare, 2, money_rules{});
  REQUIRE(more.ok());
  out.insert(out.end(), more->begin(), more->end());
  return out;
}

ride_psp psp_state(ride_auth a, ride_settle s = ride_settle::open) {
  ride_psp p;
  p.auth = a;
  p.settle = s;
  return p;
}

}  // namespace

TEST_CASE("the ledger view folds a trip's hold, capture, extra, release and fee") {
  auto l = ledger_of(ride(1000, trip_state::completed, 1300));
  CHECK(l.trip == trip_no);
  CHECK(l.rider == rider_id{3});
  CHECK(l.held == 1000);
  CHECK(l.captured == 1000);
  CHECK(l.extra == 300);
  CHECK_FALSE(l.released);
  auto c = ledger_of(ride(1000, trip_state::cancelled));
  CHECK(c.released);
  CHECK(c.captured == 0);
  auto f = ledger_of(ride(1000, trip_state::cancelled, 0, 400));
  CHECK(f.fee == 400);
  CHECK_FALSE(f.released);
  ride_ledger other;
  other.trip = trip_no + 1;
  for (const auto& t : ride(1000, trip_state::completed, 1000))
    CHECK_FALSE(add_ride_transfer(other, t));  // another trip's transfers are ignored
}

TEST_CASE("a committed hold is authorized first, with the hold's key, whatever followed") {
  for (auto end : {trip_state::requested, trip_state::completed, trip_state::cancelled}) {
    auto a = next_ride_action(ledger_of(ride(1000, end, 1000)), ride_psp{});
    CHECK(a.step == ride_step::authorize);
    CHECK(a.amount == 1000);
    CHECK(a.key == money_code::hold);
  }
  CHECK(next_ride_action(ride_ledger{}, ride_psp{}).step == ride_step::none);  // nothing held
}

TEST_CASE("an authorized hold is captured, cancelled or charged its fee once") {
  const auto authorized = psp_state(ride_auth::authorized);
  CHECK(next_ride_action(ledger_of(ride(1000, trip_state::requested)), authorized).step ==
        ride_step::none);  // the ride goes on
  auto cap = next_ride_action(ledger_of(ride(1000, trip_state::completed, 800)), authorized);
  CHECK(cap.step == ride_step::capture);
  CHECK(cap.amount == 800);
  CHECK(cap.key == money_code::capture);
  auto rel = next_ride_action(ledger_of(ride(1000, trip_state::cancelled)), authorized);
  CHECK(rel.step == ride_step::cancel);
  CHECK(rel.key == money_code::release);
  auto fee = next_ride_action(ledger_of(ride(1000, trip_state::cancelled, 0, 400)), authorized);
  CHECK(fee.step == ride_step::capture);
  CHECK(fee.amount == 400);
  CHECK(fee.key == money_code::cancel_fee);
  // Settled: never again.
  CHECK(next_ride_action(ledger_of(ride(1000, trip_state::completed, 800)),
                         psp_state(ride_auth::authorized, ride_settle::captured))
            .step == ride_step::none);
  CHECK(next_ride_action(ledger_of(ride(1000, trip_state::cancelled)),
                         psp_state(ride_auth::authorized, ride_settle::released))
            .step == ride_step::none);
}

TEST_CASE("a fare above the hold is charged as an extra after the capture") {
  const auto l = ledger_of(ride(1000, trip_state::completed, 1250));
  CHECK(next_ride_action(l, psp_state(ride_auth::authorized)).step == ride_step::capture);
  auto x = next_ride_action(l, psp_state(ride_auth::authorized, ride_settle::captured));
  CHECK(x.step == ride_step::charge_extra);
  CHECK(x.amount == 250);
  CHECK(x.key == money_code::extra_charge);
  auto done = psp_state(ride_auth::authorized, ride_settle::captured);
  done.extra_done = true;
  CHECK(next_ride_action(l, done).step == ride_step::none);
}

TEST_CASE("a refused authorization ends the request, then records the release") {
  for (auto refused : {ride_auth::declined, ride_auth::failed}) {
    auto open = next_ride_action(ledger_of(ride(1000, trip_state::requested)), psp_state(refused));
    CHECK(open.step == ride_step::end_request);
    auto asked = psp_state(refused);
    asked.request_ended = true;
    CHECK(next_ride_action(ledger_of(ride(1000, trip_state::requested)), asked).step ==
          ride_step::none);
    CHECK(next_ride_action(ledger_of(ride(1000, trip_state::cancelled)), asked).step ==
          ride_step::nothing_held);
    // The trip completed before the decline could end it: a debt, never a capture.
    auto debt = next_ride_action(ledger_of(ride(1000, trip_state::completed, 1000)), asked);
    CHECK(debt.step == ride_step::uncollectable);
    CHECK(debt.amount == 1000);
  }
}

TEST_CASE("a rider without a card rides on the ledger only") {
  const auto none = psp_state(ride_auth::no_method);
  CHECK(next_ride_action(ledger_of(ride(1000, trip_state::requested)), none).step ==
        ride_step::none);
  CHECK(next_ride_action(ledger_of(ride(1000, trip_state::completed, 1000)), none).step ==
        ride_step::uncollectable);
  CHECK(next_ride_action(ledger_of(ride(1000, trip_state::cancelled)), none).step ==
        ride_step::nothing_held);
}

TEST_CASE("steps, authorizations and settlements have the names metrics and the admin view use") {
  CHECK(to_string(ride_step::none) == "none");
  CHECK(to_string(ride_step::charge_extra) == "charge_extra");
  CHECK(to_string(ride_step::uncollectable) == "uncollectable");
  CHECK(to_string(ride_auth::unknown) == "unknown");
  CHECK(to_string(ride_auth::no_method) == "no_method");
  CHECK(to_string(ride_settle::open) == "open");
  CHECK(to_string(ride_settle::uncollected) == "uncollected");
  CHECK(to_string(static_cast<ride_step>(99)) == "none");  // out of range: the first name
}
