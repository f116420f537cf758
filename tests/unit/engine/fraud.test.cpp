// Fraud rules: each rule flags exactly when its count in its window exceeds its
// max, and forgets what left the window.
#include <doctest/doctest.h>

#include "rideshard/engine/fraud.hpp"

using namespace rideshard;

namespace {
constexpr std::int64_t t0 = 1'750'000'000'000;
constexpr std::int64_t minute = 60'000, hour = 60 * minute, day = 24 * hour;
}  // namespace

TEST_CASE("too many cards per rider per day") {
  fraud_rules f;
  for (int i = 0; i < 3; ++i)
    CHECK_FALSE(f.card_added(rider_id{7}, "fp" + std::to_string(i), t0 + i)[0].flagged);
  auto fourth = f.card_added(rider_id{7}, "fp3", t0 + 10);
  CHECK(fourth[0].rule == fraud_rule::too_many_cards);
  CHECK(fourth[0].flagged);
  CHECK(fourth[0].count == 4);
  CHECK(fourth[0].subject == "r-7");
  CHECK_FALSE(f.card_added(rider_id{8}, "fp9", t0)[0].flagged);  // per rider
  // A day later the window is empty again.
  CHECK_FALSE(f.card_added(rider_id{7}, "fp4", t0 + day + 11)[0].flagged);
}

TEST_CASE("one card on two accounts is flagged as shared") {
  fraud_rules f;
  CHECK_FALSE(f.card_added(rider_id{1}, "card-a", t0)[1].flagged);
  CHECK_FALSE(f.card_added(rider_id{1}, "card-a", t0 + 1)[1].flagged);  // same account again
  auto second = f.card_added(rider_id{2}, "card-a", t0 + 2);
  CHECK(second[1].rule == fraud_rule::shared_card);
  CHECK(second[1].flagged);
  CHECK(second[1].subject == "r-2");
  CHECK(second[1].related == "r-1");
  CHECK(second[1].count == 2);
  CHECK_FALSE(f.card_added(rider_id{3}, "card-b", t0)[1].flagged);
}

TEST_CASE("repeated refunds within the window") {
  fraud_rules f;
  CHECK_FALSE(f.refund(rider_id{5}, t0).flagged);
  CHECK_FALSE(f.refund(rider_id{5}, t0 + day).flagged);
  auto third = f.refund(rider_id{5}, t0 + 2 * day);
  CHECK(third.flagged);
  CHECK(third.count == 3);
  // 40 days later the first ones have left the 30-day window.
  CHECK_FALSE(f.refund(rider_id{5}, t0 + 40 * day).flagged);
}

TEST_CASE("accept-then-cancel loops per rider-driver pair") {
  fraud_rules f;
  auto ride = [&](std::uint64_t trip, std::int64_t at, std::int64_t cancel_after) {
    f.trip_accepted(trip_id{trip}, rider_id{1}, driver_id{2}, at);
    return f.trip_cancelled(trip_id{trip}, at + cancel_after);
  };
  CHECK_FALSE(ride(10, t0, 30'000).flagged);
  CHECK_FALSE(ride(11, t0 + minute, 5 * minute).flagged);  // a late cancel does not count
  CHECK_FALSE(ride(12, t0 + 2 * minute, 10'000).flagged);
  auto third = ride(13, t0 + 3 * minute, 10'000);
  CHECK(third.flagged);
  CHECK(third.count == 3);
  CHECK(third.subject == "d-2");
  CHECK(third.related == "r-1");
  // A cancel of a trip no driver accepted is not this rule's.
  auto unaccepted = f.trip_cancelled(trip_id{99}, t0);
  CHECK_FALSE(unaccepted.flagged);
  CHECK(unaccepted.subject.empty());
  // Completed trips are forgotten: a later cancel event for them counts nothing.
  f.trip_accepted(trip_id{20}, rider_id{1}, driver_id{2}, t0);
  f.trip_ended(trip_id{20});
  CHECK(f.trip_cancelled(trip_id{20}, t0 + 1).subject.empty());
  // Two hours on, the window is empty.
  CHECK_FALSE(ride(30, t0 + 3 * hour, 1000).flagged);
}

TEST_CASE("impossible speeds per driver") {
  fraud_rules f;
  CHECK_FALSE(f.impossible_speed(driver_id{4}, t0).flagged);
  CHECK_FALSE(f.impossible_speed(driver_id{4}, t0 + 1).flagged);
  auto third = f.impossible_speed(driver_id{4}, t0 + 2);
  CHECK(third.flagged);
  CHECK(third.rule == fraud_rule::gps_spoofing);
  CHECK(to_string(third.rule) == "gps_spoofing");
  CHECK_FALSE(f.impossible_speed(driver_id{4}, t0 + 2 * hour).flagged);
}
