// The simulator's audit rules (actors/sim/ack_audit.hpp): which held trip
// states keep what a client was told, and when one driver holds two trips.
#include <doctest/doctest.h>

#include "sim/ack_audit.hpp"

using namespace rideshard;
using rideshard::sim::assignment;

namespace {

std::uint8_t told(std::initializer_list<trip_state> states) {
  std::uint8_t bits = 0;
  for (auto s : states) bits |= static_cast<std::uint8_t>(1U << static_cast<unsigned>(s));
  return bits;
}

const driver_id d7{7};
const driver_id d8{8};

}  // namespace

TEST_CASE("a requested trip is kept by any state; an assigned one only by itself or later") {
  using s = trip_state;
  CHECK(sim::keeps_acknowledged(told({s::requested}), {}, s::requested, {}));
  CHECK(sim::keeps_acknowledged(told({s::requested, s::offered}), {}, s::expired, {}));
  CHECK(sim::keeps_acknowledged(told({s::accepted}), d7, s::driver_arrived, d7));
  CHECK(sim::keeps_acknowledged(told({s::accepted}), d7, s::cancelled, d7));
  // Back before the acknowledged assignment: a transition was lost.
  CHECK_FALSE(sim::keeps_acknowledged(told({s::accepted}), d7, s::requested, {}));
  CHECK_FALSE(sim::keeps_acknowledged(told({s::accepted, s::in_progress}), d7, s::accepted, d7));
  // Expiry cannot follow an assignment.
  CHECK_FALSE(sim::keeps_acknowledged(told({s::accepted}), d7, s::expired, {}));
  // The same state with another driver is not what the driver was told.
  CHECK_FALSE(sim::keeps_acknowledged(told({s::accepted}), d7, s::accepted, d8));
}

TEST_CASE("an acknowledged end must be held exactly") {
  using s = trip_state;
  CHECK(sim::keeps_acknowledged(told({s::in_progress, s::completed}), d7, s::completed, d7));
  CHECK_FALSE(sim::keeps_acknowledged(told({s::completed}), d7, s::in_progress, d7));
  CHECK_FALSE(sim::keeps_acknowledged(told({s::cancelled}), d7, s::completed, d7));
}

TEST_CASE("overlapping assignments of one driver are counted, other drivers' are not") {
  CHECK(sim::count_overlaps({}) == 0);
  // Back to back: not an overlap.
  CHECK(sim::count_overlaps({{trip_id{1}, d7, 100, 200}, {trip_id{2}, d7, 200, 300}}) == 0);
  CHECK(sim::count_overlaps({{trip_id{1}, d7, 100, 200}, {trip_id{2}, d7, 150, 300}}) == 1);
  // An open assignment (to 0) overlaps everything after it.
  CHECK(sim::count_overlaps({{trip_id{2}, d7, 500, 600}, {trip_id{1}, d7, 100, 0}}) == 1);
  CHECK(sim::count_overlaps({{trip_id{1}, d7, 100, 200}, {trip_id{2}, d8, 150, 300}}) == 0);
}
