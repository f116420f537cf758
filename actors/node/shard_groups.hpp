// shard_group_board: which shard groups this node serves (cluster mode with
// Kafka shard ownership). Written only by the shard directory (on group_serve /
// group_stop, shard_directory.hpp); read by actors and the facade before they
// ask for something of a group (a refusal names the group instead of a vague
// "shutting down"). Not clustered (0 groups): every shard is served here.
// Internal to node/.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "rideshard/engine/shard_group.hpp"

namespace rideshard::node {

/// Thread-safe (one atomic flag per group, an atomic epoch); sized once, at start.
class shard_group_board {
 public:
  explicit shard_group_board(int groups)
      : n_(groups > 0 ? groups : 0), served_(std::make_unique<std::atomic<bool>[]>(n_ + 1)) {
    for (int i = 0; i <= n_; ++i) served_[i] = false;
  }

  /// Shard groups of the cluster; 0: not clustered (everything is local).
  int groups() const { return n_; }
  bool clustered() const { return n_ > 0; }
  /// True when this node serves `group` (always when not clustered).
  bool serves(int group) const { return n_ == 0 || (group >= 0 && group < n_ && served_[group]); }
  bool serves_trip(std::uint64_t trip) const { return serves(rideshard::shard_group_of(trip, n_)); }
  /// Bumped whenever a group stops being served here or another node's groups
  /// change owner: a cached matcher handle taken at an older epoch may belong
  /// to a matcher that was stopped.
  std::uint64_t epoch() const { return epoch_.load(); }
  /// The shard directory only: the owner table of the other nodes' groups
  /// changed (a cached handle of another node's matcher may be stale).
  void owners_changed() { ++epoch_; }
  /// The shard directory only.
  void set(int group, bool served) {
    if (group < 0 || group >= n_) return;
    served_[group] = served;
    if (!served) ++epoch_;
  }
  /// The served groups, ascending.
  std::vector<int> served() const {
    std::vector<int> out;
    for (int i = 0; i < n_; ++i)
      if (served_[i]) out.push_back(i);
    return out;
  }

 private:
  int n_;
  std::unique_ptr<std::atomic<bool>[]> served_;
  std::atomic<std::uint64_t> epoch_{0};
};

}  // namespace rideshard::node
