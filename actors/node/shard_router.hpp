// Finds the shard (region + cell at the region's shard_level) of a position and
// the actor serving it, and the entity actor of an id, spawning or reviving it.
// Single node: every shard is local. Internal to node/.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "node/position_buffer.hpp"
#include "node/protocol.hpp"
#include "node/region_matcher.hpp"

namespace rideshard::node {

/// A shard: one cell of one region's shard grid.
struct shard_key {
  std::size_t region = 0;
  cell_id cell;
  friend bool operator<(const shard_key& a, const shard_key& b) {
    return a.region != b.region ? a.region < b.region : a.cell < b.cell;
  }
};

/// A shard's matcher and the buffer its location updates go through.
struct shard_handle {
  matcher_handle matcher;
  std::shared_ptr<position_buffer> positions;
};

/// Thread-safe (one mutex; held only to look up, spawn and enqueue, never to
/// wait). Entity actors are spawned on first use and removed by passivation.
class shard_router {
 public:
  shard_router(caf::actor_system& sys, context_ptr ctx);

  std::optional<shard_key> shard_of(lat_lng p) const;
  /// The matcher of p's shard; an invalid handle when p is outside every region.
  matcher_handle matcher_at(lat_lng p);
  matcher_handle matcher(const shard_key& key);
  /// Like matcher_at, plus the shard's position buffer (both invalid outside
  /// every region or after stop_all). Driver actors deposit positions there.
  shard_handle shard_at(lat_lng p);
  /// Position buffer counters summed over every shard (metrics, tests).
  position_buffer::counters location_stats() const;
  /// The shards that have a matcher (spawned on first use), in key order.
  std::vector<shard_key> shard_keys() const;
  /// Cross-shard search: the matchers that already exist (never spawns one: a
  /// shard without a matcher has no drivers) of `own`'s region whose cells lie
  /// within radius_m of center, `own` excluded, nearest cell first.
  std::vector<matcher_handle> neighbours(const shard_key& own, lat_lng center, double radius_m);

  /// Enqueues a message to the driver/rider actor, spawning (reviving) it first.
  template <class... Ts>
  void to_driver(driver_id id, Ts&&... xs) {
    std::lock_guard<std::mutex> lock{mu_};
    caf::anon_send(driver_locked(id), std::forward<Ts>(xs)...);
  }
  template <class... Ts>
  void to_rider(rider_id id, Ts&&... xs) {
    std::lock_guard<std::mutex> lock{mu_};
    caf::anon_send(rider_locked(id), std::forward<Ts>(xs)...);
  }
  /// Removes the entry if it is still `self`; after this no message from the
  /// router reaches `self`. Returns false if a newer actor took the id.
  bool release_driver(driver_id id, const driver_handle& self);
  bool release_rider(rider_id id, const rider_handle& self);

  /// Spawns and registers a trip actor (see trip_actor.hpp).
  trip_handle create_trip(trip_id id, rider_id rider, rider_handle rider_actor, lat_lng pickup,
                          lat_lng dropoff, std::optional<schemas::quote> quoted,
                          std::uint64_t reply_seq, std::int64_t request_in_us = 0);
  /// Respawns the actor of a trip read back from the store (see trip_init).
  trip_handle revive_trip(const rideshard::trip& t);
  trip_handle trip(trip_id id);
  /// The driver/rider actor of an id, spawning (reviving) it first.
  driver_handle driver(driver_id id);
  rider_handle rider(rider_id id);
  void release_trip(trip_id id);

  std::size_t live_entities() const;
  /// Actors spawned through the router that have not terminated yet, as
  /// "matchers=1 drivers=0 riders=2 trips=1" (shutdown diagnostics) and in total.
  std::string running_summary() const;
  int running_actors() const;
  /// Sends an exit to every actor and forgets them (node shutdown). Afterwards
  /// nothing is spawned any more: lookups return invalid handles.
  void stop_all();

 private:
  driver_handle driver_locked(driver_id id);
  rider_handle rider_locked(rider_id id);
  shard_handle shard_locked(const shard_key& key);

  /// Counts the actor until it terminates (kinds: 0 matcher, 1 driver, 2 rider, 3 trip).
  template <class Handle>
  Handle track(Handle a, int kind);

  caf::actor_system& sys_;
  std::shared_ptr<std::array<std::atomic<int>, 4>> running_ =
      std::make_shared<std::array<std::atomic<int>, 4>>();
  context_ptr ctx_;
  mutable std::mutex mu_;
  bool stopped_ = false;  ///< guarded by mu_
  std::map<shard_key, matcher_handle> matchers_;
  /// One per matcher, created with it; kept after stop_all (drivers may hold it).
  std::map<shard_key, std::shared_ptr<position_buffer>> positions_;
  std::unordered_map<driver_id, driver_handle> drivers_;
  std::unordered_map<rider_id, rider_handle> riders_;
  std::unordered_map<trip_id, trip_handle> trips_;
};

}  // namespace rideshard::node
