// The trip state machine: every legal transition, its side effects, and a typed
// error (with the trip left unchanged) for every illegal event in every state.
#include <doctest/doctest.h>

#include <set>
#include <utility>

#include "rideshard/engine/trip.hpp"

using namespace rideshard;

namespace {

const driver_id d1{11};
const driver_id d2{12};
const trip_rules rules{};

trip fresh() {
  trip t;
  t.id = trip_id{1};
  t.rider = rider_id{7};
  t.pin = "4821";
  t.requested_at_ms = 1000;
  return t;
}

trip_event ev(trip_event_kind k, std::int64_t at, driver_id d = d1) {
  trip_event e;
  e.kind = k;
  e.at_ms = at;
  e.driver = d;
  return e;
}

trip_event cancel_by(party p, std::int64_t at, driver_id d = d1) {
  auto e = ev(trip_event_kind::cancel, at, d);
  e.by = p;
  e.reason = "changed plans";
  return e;
}

void must(trip& t, const trip_event& e) {
  auto r = apply(t, e, rules);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
}

// Drives a fresh trip into state s along the happy path.
trip in_state(trip_state s) {
  trip t = fresh();
  if (s == trip_state::requested) return t;
  must(t, ev(trip_event_kind::offer, 2000));
  if (s == trip_state::offered) return t;
  must(t, ev(trip_event_kind::accept, 3000));
  if (s == trip_state::accepted) return t;
  must(t, ev(trip_event_kind::arrive, 4000));
  if (s == trip_state::driver_arrived) return t;
  auto start = ev(trip_event_kind::start, 5000);
  start.pin = "4821";
  must(t, start);
  if (s == trip_state::in_progress) return t;
  must(t, ev(trip_event_kind::complete, 6000));
  return t;
}

}  // namespace

TEST_CASE("happy path walks every state in order with rising sequence") {
  trip t = in_state(trip_state::completed);
  CHECK(t.state == trip_state::completed);
  CHECK(t.driver == d1);
  CHECK(t.sequence == 5);
  CHECK(t.accepted_at_ms == 3000);
  CHECK(t.arrived_at_ms == 4000);
  CHECK(t.started_at_ms == 5000);
  CHECK(t.ended_at_ms == 6000);
  CHECK(is_terminal(t.state));
}

TEST_CASE("every (state, event) pair outside the legal set is a typed error and a no-op") {
  // The legal pairs, for an event from the right party at a time that allows it.
  const std::set<std::pair<trip_state, trip_event_kind>> legal{
      {trip_state::requested, trip_event_kind::offer},
      {trip_state::requested, trip_event_kind::cancel},
      {trip_state::requested, trip_event_kind::expire},
      {trip_state::offered, trip_event_kind::accept},
      {trip_state::offered, trip_event_kind::decline},
      {trip_state::offered, trip_event_kind::offer_timeout},
      {trip_state::offered, trip_event_kind::cancel},
      {trip_state::offered, trip_event_kind::expire},
      {trip_state::accepted, trip_event_kind::arrive},
      {trip_state::accepted, trip_event_kind::cancel},
      {trip_state::driver_arrived, trip_event_kind::start},
      {trip_state::driver_arrived, trip_event_kind::cancel},
      {trip_state::in_progress, trip_event_kind::complete},
  };
  const trip_state states[] = {trip_state::requested,   trip_state::offered,
                               trip_state::accepted,    trip_state::driver_arrived,
                               trip_state::in_progress, trip_state::completed};
  int legal_seen = 0;
  for (auto s : states) {
    for (int k = 0; k <= static_cast<int>(trip_event_kind::expire); ++k) {
      auto kind = static_cast<trip_event_kind>(k);
      trip t = in_state(s);
      const trip before = t;
      auto e = ev(kind, 10'000'000);  // late enough for timeouts and ttl
      e.pin = "4821";
      e.by = party::rider;
      auto r = apply(t, e, rules);
      CAPTURE(to_string(s));
      CAPTURE(to_string(kind));
      if (legal.count({s, kind}) && !(kind == trip_event_kind::accept)) {
        CHECK(r.ok());
        legal_seen += r.ok();
      } else if (kind == trip_event_kind::accept && s == trip_state::offered) {
        CHECK(r.code() == errc::offer_expired);  // 10'000 s after the offer
      } else {
        REQUIRE_FALSE(r.ok());
        CHECK(r.code() == errc::illegal_transition);
        CHECK(t.state == before.state);
        CHECK(t.sequence == before.sequence);
      }
    }
  }
  CHECK(legal_seen == 12);
}

TEST_CASE("offer, decline and timeout move the offer on and release the driver") {
  trip t = in_state(trip_state::offered);
  CHECK(t.offered_to == d1);
  CHECK(t.offer_deadline_ms == 2000 + rules.offer_timeout_ms);

  SUBCASE("decline from another driver is refused") {
    auto r = apply(t, ev(trip_event_kind::decline, 2500, d2), rules);
    CHECK(r.code() == errc::not_offered_to_driver);
    CHECK(t.state == trip_state::offered);
  }
  SUBCASE("decline returns to requested for re-dispatch") {
    auto r = apply(t, ev(trip_event_kind::decline, 2500), rules);
    REQUIRE(r.ok());
    CHECK(r->to == trip_state::requested);
    CHECK(r->redispatch);
    CHECK(r->released_driver == d1);
    CHECK_FALSE(t.offered_to.valid());
    must(t, ev(trip_event_kind::offer, 2600, d2));
    CHECK(t.offers_made == 2);
  }
  SUBCASE("timeout before the deadline is refused, after it re-dispatches") {
    CHECK(apply(t, ev(trip_event_kind::offer_timeout, 2500), rules).code() ==
          errc::illegal_transition);
    auto r = apply(t, ev(trip_event_kind::offer_timeout, t.offer_deadline_ms), rules);
    REQUIRE(r.ok());
    CHECK(r->redispatch);
    CHECK(r->released_driver == d1);
  }
  SUBCASE("accept after the deadline is offer_expired; by another driver not_offered") {
    CHECK(apply(t, ev(trip_event_kind::accept, t.offer_deadline_ms + 1), rules).code() ==
          errc::offer_expired);
    CHECK(apply(t, ev(trip_event_kind::accept, 2500, d2), rules).code() ==
          errc::not_offered_to_driver);
    CHECK(t.state == trip_state::offered);
  }
  SUBCASE("an offer without a driver is refused") {
    trip r = fresh();
    CHECK(apply(r, ev(trip_event_kind::offer, 2000, driver_id{}), rules).code() ==
          errc::unknown_driver);
  }
}

TEST_CASE("only the assigned driver moves an accepted trip; the PIN must match") {
  trip t = in_state(trip_state::accepted);
  CHECK(apply(t, ev(trip_event_kind::arrive, 3500, d2), rules).code() == errc::forbidden);
  must(t, ev(trip_event_kind::arrive, 3500));
  auto start = ev(trip_event_kind::start, 3600);
  start.pin = "0000";
  CHECK(apply(t, start, rules).code() == errc::wrong_pin);
  CHECK(t.state == trip_state::driver_arrived);
  start.pin = "4821";
  start.driver = d2;
  CHECK(apply(t, start, rules).code() == errc::forbidden);
  start.driver = d1;
  must(t, start);
  CHECK(apply(t, ev(trip_event_kind::complete, 3700, d2), rules).code() == errc::forbidden);
  auto r = apply(t, ev(trip_event_kind::complete, 3700), rules);
  REQUIRE(r.ok());
  CHECK(r->released_driver == d1);
}

TEST_CASE("wrong PINs: tries left, then the PIN is spent (pin_locked) and the count restarts") {
  trip t = in_state(trip_state::driver_arrived);
  trip_rules two = rules;
  two.max_pin_attempts = 2;
  auto first = count_wrong_pin(t, two);
  CHECK(first.code == errc::wrong_pin);
  CHECK(first.message.find("1 tries left") != std::string::npos);
  CHECK(t.pin == "4821");
  CHECK(count_wrong_pin(t, two).code == errc::pin_locked);
  CHECK(t.pin.empty());  // spent: nothing matches until the caller sets a new one
  CHECK(t.pin_failures == 0);
  CHECK(t.state == trip_state::driver_arrived);
  t.pin = "5555";
  CHECK(count_wrong_pin(t, two).code == errc::wrong_pin);  // a new PIN gets fresh tries
}

TEST_CASE("cancellation outcomes: who, when, fee and re-dispatch") {
  SUBCASE("rider cancels while searching: free, releases the offered driver") {
    trip t = in_state(trip_state::offered);
    auto r = apply(t, cancel_by(party::rider, 2500), rules);
    REQUIRE(r.ok());
    CHECK(r->to == trip_state::cancelled);
    CHECK(r->fee_minor == 0);
    CHECK(r->released_driver == d1);
    CHECK(t.cancelled_by == party::rider);
    CHECK(t.cancel_reason == "changed plans");
  }
  SUBCASE("rider cancels within the grace period after accept: free") {
    trip t = in_state(trip_state::accepted);
    auto r = apply(t, cancel_by(party::rider, 3000 + rules.free_cancel_ms), rules);
    REQUIRE(r.ok());
    CHECK(r->fee_minor == 0);
  }
  SUBCASE("rider cancels after the grace period: fee") {
    trip t = in_state(trip_state::accepted);
    auto r = apply(t, cancel_by(party::rider, 3001 + rules.free_cancel_ms), rules);
    REQUIRE(r.ok());
    CHECK(r->fee_minor == rules.cancel_fee_minor);
    CHECK(t.cancel_fee_minor == rules.cancel_fee_minor);
  }
  SUBCASE("rider cancels once the driver waits at pickup: no-show fee") {
    trip t = in_state(trip_state::driver_arrived);
    auto r = apply(t, cancel_by(party::rider, 4100), rules);
    REQUIRE(r.ok());
    CHECK(r->fee_minor == rules.no_show_fee_minor);
  }
  SUBCASE("rider cannot cancel a running trip") {
    trip t = in_state(trip_state::in_progress);
    CHECK(apply(t, cancel_by(party::rider, 5500), rules).code() == errc::illegal_transition);
  }
  SUBCASE("driver backs out after accept: re-dispatch, no fee") {
    trip t = in_state(trip_state::accepted);
    auto r = apply(t, cancel_by(party::driver, 3500), rules);
    REQUIRE(r.ok());
    CHECK(r->to == trip_state::requested);
    CHECK(r->redispatch);
    CHECK(r->fee_minor == 0);
    CHECK(r->released_driver == d1);
    CHECK_FALSE(t.driver.valid());
  }
  SUBCASE("driver cancels at pickup (rider no-show): cancelled with the no-show fee") {
    trip t = in_state(trip_state::driver_arrived);
    auto r = apply(t, cancel_by(party::driver, 4100), rules);
    REQUIRE(r.ok());
    CHECK(r->to == trip_state::cancelled);
    CHECK(r->fee_minor == rules.no_show_fee_minor);
  }
  SUBCASE("another driver cannot cancel the trip") {
    trip t = in_state(trip_state::accepted);
    CHECK(apply(t, cancel_by(party::driver, 3500, d2), rules).code() == errc::forbidden);
    CHECK(t.state == trip_state::accepted);
  }
  SUBCASE("the system (admin) can cancel a running trip") {
    trip t = in_state(trip_state::in_progress);
    auto r = apply(t, cancel_by(party::system, 5500), rules);
    REQUIRE(r.ok());
    CHECK(r->released_driver == d1);
    CHECK(r->fee_minor == 0);
  }
}

TEST_CASE("unmatched requests expire only after their ttl") {
  trip t = fresh();
  CHECK(apply(t, ev(trip_event_kind::expire, 1000 + rules.request_ttl_ms - 1), rules).code() ==
        errc::illegal_transition);
  auto r = apply(t, ev(trip_event_kind::expire, 1000 + rules.request_ttl_ms), rules);
  REQUIRE(r.ok());
  CHECK(t.state == trip_state::expired);
  CHECK(apply(t, cancel_by(party::rider, 999999), rules).code() == errc::illegal_transition);
}

TEST_CASE("state and event names are stable and round-trip") {
  CHECK(to_string(trip_state::driver_arrived) == "driver_arrived");
  CHECK(trip_state_from_string("in_progress") == trip_state::in_progress);
  CHECK_FALSE(trip_state_from_string("flying").has_value());
  CHECK(to_string(trip_event_kind::offer_timeout) == "offer_timeout");
  CHECK(to_string(party::driver) == "driver");
}
