// Shard groups (cluster mode): the unit of ownership a node is assigned through
// Kafka (one partition of rideshard.shard-groups.v1 each). Pure functions: any
// node computes the same group for the same trip id or shard cell, so any node
// can tell where a trip or a matcher's shard lives.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rideshard {

/// Largest shard group count a node accepts ([cluster] shard_groups).
inline constexpr int max_shard_groups = 1024;

/// The shard group of an entity (a trip) by its id alone: a stable hash of the
/// id mod `groups` (splitmix64's finaliser, so consecutive ids spread evenly).
/// `groups` <= 0 (not clustered): 0.
int shard_group_of(std::uint64_t entity_id, int groups) noexcept;

/// The shard group of a matcher's shard (`region` index in the node config,
/// shard `cell` id): a stable hash of both mod `groups`; <= 0 groups: 0.
int shard_group_of(std::size_t region, std::uint64_t cell, int groups) noexcept;

/// An id in shard group `group`: the first of `next()`'s ids that
/// shard_group_of maps there (about `groups` draws on average). A new trip takes
/// the group of its pickup shard this way, so the trip and its matcher have the
/// same owner while its group still follows from the id alone. `groups` <= 1 or
/// `group` out of range: next()'s first id.
template <class Next>
std::uint64_t id_in_shard_group(int group, int groups, Next&& next) {
  auto id = next();
  if (groups <= 1 || group < 0 || group >= groups) return id;
  while (shard_group_of(id, groups) != group) id = next();
  return id;
}

}  // namespace rideshard
