// rider_actor: one rider's connection, quotes and current trip. Internal to node/.
#pragma once

#include "node/protocol.hpp"

namespace rideshard::node {

/// Spawns the actor of rider `id`: asks its pickup shard's matcher for quotes,
/// creates trips (one active at a time) and relays trip updates and positions.
rider_handle spawn_rider_actor(caf::actor_system& sys, context_ptr ctx, rider_id id);

}  // namespace rideshard::node
