// shard_group_of: the stable entity/shard -> shard group hash of cluster mode.
#include "rideshard/engine/shard_group.hpp"

namespace rideshard {
namespace {

// splitmix64's output function: a fixed bijection that spreads nearby inputs.
std::uint64_t mix(std::uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

int reduce(std::uint64_t h, int groups) noexcept {
  return groups <= 0 ? 0 : static_cast<int>(h % static_cast<std::uint64_t>(groups));
}

}  // namespace

int shard_group_of(std::uint64_t entity_id, int groups) noexcept {
  return reduce(mix(entity_id), groups);
}

int shard_group_of(std::size_t region, std::uint64_t cell, int groups) noexcept {
  return reduce(mix(cell ^ mix(static_cast<std::uint64_t>(region) + 0x9e3779b97f4a7c15ULL)),
                groups);
}

}  // namespace rideshard
