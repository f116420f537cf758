// region_matcher: one per shard. Owns the spatial index of available drivers,
// the pending ride requests (sequential offers with timeouts) and the surge
// state; answers quotes and nearby queries. Internal to node/.
#pragma once

#include <memory>

#include "node/protocol.hpp"

namespace rideshard::node {

class position_buffer;

/// Spawns the matcher of shard `cell` of region `region_index` (ctx->regions).
/// `positions`: the shard's location buffer (see position_buffer.hpp), drained
/// by the matcher only.
caf::actor spawn_region_matcher(caf::actor_system& sys, context_ptr ctx, std::size_t region_index,
                                cell_id cell, std::shared_ptr<position_buffer> positions);

}  // namespace rideshard::node
