// driver_actor: the single owner of one driver's availability, last position
// and (at most one) offer or trip. Internal to node/.
#pragma once

#include "node/protocol.hpp"

namespace rideshard::node {

/// Spawns the actor of driver `id`. It validates location samples (stale,
/// future, impossible jump), keeps the matcher of its shard informed while
/// available, refuses offers while busy and streams positions to its rider.
driver_handle spawn_driver_actor(caf::actor_system& sys, context_ptr ctx, driver_id id);

}  // namespace rideshard::node
