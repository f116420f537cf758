// Cross-shard search of a region_matcher, the messaging part: probing the
// neighbour matchers (async, with a timeout) and the scratch index where their
// candidates meet ours. The pure part (cells within a radius, merging nearest
// lists) is shard_search.hpp. Private to the matcher's files.
#pragma once

#include <chrono>
#include <functional>
#include <vector>

#include "node/matcher_state.hpp"

namespace rideshard::node {

/// Answers of one fan-out: answers[i][q] is target i's list for its query q
/// (empty when the target failed or timed out: it then offers nothing).
struct probe_round {
  std::vector<matcher_handle> targets;
  std::vector<std::vector<std::vector<neighbor>>> answers;
  std::size_t left = 0;
};
using probe_done = std::function<void(probe_round&)>;

/// How long a neighbour (probe or reservation) may take: query_timeout / 2,
/// clamped to [1 ms, 1 s].
std::chrono::milliseconds probe_timeout(const matcher_self self);

/// Sends probes[i] to targets[i]; `done` runs once, in this actor, after every
/// target answered or timed out. Never blocks the actor.
void probe_neighbours(matcher_self self, std::vector<matcher_handle> targets,
                      std::vector<shard_probe> probes, probe_done done);

/// The scratch index (created on first use, coarse buckets).
spatial_index& scratch(matcher_self self);
/// Adds candidates to the scratch index; `owner` invalid: ours.
void add_scratch(matcher_self self, const std::vector<neighbor>& hits, const matcher_handle& owner);
void clear_scratch(matcher_self self);

}  // namespace rideshard::node
