// region_matcher: one per shard. Owns the spatial index of available drivers,
// the pending ride requests (sequential offers with timeouts) and the surge
// state; answers quotes and nearby queries. Internal to node/.
#pragma once

#include "node/protocol.hpp"

namespace rideshard::node {

/// Spawns the matcher of shard `cell` of region `region_index` (ctx->regions).
caf::actor spawn_region_matcher(caf::actor_system& sys, context_ptr ctx, std::size_t region_index,
                                cell_id cell);

}  // namespace rideshard::node
