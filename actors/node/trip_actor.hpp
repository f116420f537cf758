// trip_actor: the single owner of one trip's state machine (engine apply()).
// Internal to node/.
#pragma once

#include <optional>

#include "node/protocol.hpp"
#include "node/region_matcher.hpp"

namespace rideshard::node {

/// What a trip starts from (built by the rider actor or the recovery; the shard
/// directory, which spawns every trip, fills in the handles it looks up).
struct trip_init {
  trip_id id;
  rider_id rider;
  rider_handle rider_actor;
  lat_lng pickup;
  lat_lng dropoff;
  std::optional<schemas::quote> quoted;  ///< the accepted quote, if the rider had one
  std::uint64_t reply_seq = 0;           ///< seq of the ride_request frame
  std::int64_t request_in_us = 0;        ///< wall_clock_us() when the ride_request reached the node
  /// Set when the trip is read back from the store at start-up: the actor
  /// resumes it (re-dispatch, or re-attach driver and rider) instead of creating.
  std::optional<rideshard::trip> recovered;
  matcher_handle matcher;  ///< the pickup shard's matcher (directory)
  driver_handle driver;    ///< recovered with a driver: its actor (directory)
};
/// Serializable: a rider's node forwards the creation to the directory of the
/// node owning the pickup's shard group (cluster mode).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, trip_init& x) {
  return f(caf::meta::type_name("trip_init"), x.id, x.rider, x.rider_actor, x.pickup, x.dropoff,
           opt(x.quoted), x.reply_seq, x.request_in_us, opt(x.recovered), x.matcher, x.driver);
}

/// Spawns the trip actor: asks the pickup shard's matcher for a driver, applies
/// every event through apply(), and notifies rider and driver (trip_status,
/// receipt). Stops itself a while after reaching a terminal state.
/// Its interface is trip_handle (protocol.hpp).
trip_handle spawn_trip_actor(caf::actor_system& sys, context_ptr ctx, trip_init init);

}  // namespace rideshard::node
