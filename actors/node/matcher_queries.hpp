// The read-only questions a region_matcher answers: quotes (priced by
// shard_pricing, pickup ETA from the nearest driver of any shard), nearby
// drivers for the HTTP API and the admin console's nearby_batch. Each merges
// the neighbour shards' answers where its circle crosses a shard edge.
// Private to the matcher's files.
#pragma once

#include "node/matcher_state.hpp"

namespace rideshard::node {

void on_quote(matcher_self self, const quote_ask& q);
caf::result<nearby_answer> on_nearby(matcher_self self, const nearby_query& q);
caf::result<nearby_part_answer> on_nearby_part(matcher_self self, const nearby_part& part);

}  // namespace rideshard::node
