// The facade's way to the shard directory (shard_directory.hpp): gateway
// threads forward client messages to entity actors and look up shards and
// trips through it. Actor code never calls it: actors message the directory.
// Internal to node/.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "node/protocol.hpp"
#include "node/shard_directory.hpp"

namespace rideshard::node {

/// Gateway threads only. Forwarding is fire and forget (one message to the
/// directory, which passes it on in order); lookups are blocking requests
/// bounded by `query_timeout`, except matcher handles, which are cached here
/// (a matcher lives as long as the node) behind a mutex only gateway threads
/// take. Creates the directory and sets ctx->directory.
class shard_router {
 public:
  shard_router(caf::actor_system& sys, context_ptr ctx);

  std::optional<shard_key> shard_of(lat_lng p) const { return node::shard_of(ctx_->regions, p); }
  /// The matcher of p's shard (spawned on first use); invalid outside every
  /// region or after stop_all.
  matcher_handle matcher_at(lat_lng p);
  matcher_handle matcher(const shard_key& key);
  /// The shards that have a matcher, in key order.
  std::vector<shard_key> shard_keys() const;

  /// Enqueues a message to the driver/rider actor (spawned or revived first).
  template <class... Ts>
  void to_driver(driver_id id, Ts&&... xs) {
    caf::anon_send(dir_, id, std::forward<Ts>(xs)...);
  }
  template <class... Ts>
  void to_rider(rider_id id, Ts&&... xs) {
    caf::anon_send(dir_, id, std::forward<Ts>(xs)...);
  }

  /// Respawns the actor of a trip read back from the store (see trip_init).
  trip_handle revive_trip(const rideshard::trip& t);
  /// The actor of a live trip; invalid when it stopped (or never existed).
  trip_handle trip(trip_id id) const;

  /// Entities in the directory (an atomic the directory publishes: no round trip).
  std::size_t live_entities() const { return counters_->entities.load(); }
  /// Actors spawned through the directory that have not terminated yet, as
  /// "matchers=1 drivers=0 riders=2 trips=1" (shutdown diagnostics) and in total.
  std::string running_summary() const;
  int running_actors() const;
  /// Sends an exit to every actor the directory spawned and waits for its
  /// answer (node shutdown). Afterwards lookups return invalid handles.
  void stop_all();
  /// Stops the directory itself (after stop_all, once the actors are gone).
  void close();

 private:
  caf::actor_system& sys_;
  context_ptr ctx_;
  std::shared_ptr<directory_counters> counters_ = std::make_shared<directory_counters>();
  directory_handle dir_;
  mutable std::mutex mu_;
  std::map<shard_key, matcher_handle> matchers_;  ///< guarded by mu_; gateway threads only
  std::uint64_t epoch_ = 0;  ///< ctx_->groups->epoch() when matchers_ was filled; guarded by mu_
};

}  // namespace rideshard::node
