// Trips for the cluster tests (trip changelog, cluster failover, cluster_member):
// a valid trip record per id and the one-snapshot batch a transition writes.
#pragma once

#include <cstdint>

#include "rideshard/persistence/write_batch.hpp"

namespace rideshard::test {

inline trip make_trip(std::uint64_t id, std::uint64_t sequence = 1) {
  trip t;
  t.id = trip_id{id};
  t.rider = rider_id{1000 + id};
  t.pickup = {40.75 + static_cast<double>(id % 100) * 1e-4, -73.98};
  t.dropoff = {40.70, -74.0};
  t.pin = "1234";
  t.requested_at_ms = 1'800'000'000'000 + static_cast<std::int64_t>(id);
  t.sequence = sequence;
  return t;
}

/// A batch holding only trip `id`'s snapshot (sequence 1).
inline persistence::write_batch trip_batch(std::uint64_t id) {
  persistence::write_batch b;
  b.put_trip(make_trip(id));
  return b;
}

}  // namespace rideshard::test
