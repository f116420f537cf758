// region_switchboard: an admin's switches per region — new dispatch paused,
// surge frozen. Written by the facade (admin API); read by the facade (a ride
// request in a paused region is refused with dispatch_paused before any actor
// sees it) and by the shard directory when it spawns a matcher (a new matcher
// of a frozen region starts frozen). Running matchers never read it: they hear
// a freeze as a surge_freeze message. Internal to node/.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>

namespace rideshard::node {

/// Thread-safe (one atomic flag per switch); sized once, at start.
class region_switchboard {
 public:
  explicit region_switchboard(std::size_t regions)
      : n_(regions),
        paused_(std::make_unique<std::atomic<bool>[]>(regions)),
        frozen_(std::make_unique<std::atomic<bool>[]>(regions)) {
    for (std::size_t i = 0; i < regions; ++i) {
      paused_[i] = false;
      frozen_[i] = false;
    }
  }

  bool dispatch_paused(std::size_t region) const { return region < n_ && paused_[region]; }
  bool surge_frozen(std::size_t region) const { return region < n_ && frozen_[region]; }
  void set_dispatch_paused(std::size_t region, bool on) {
    if (region < n_) paused_[region] = on;
  }
  void set_surge_frozen(std::size_t region, bool on) {
    if (region < n_) frozen_[region] = on;
  }

 private:
  std::size_t n_;
  std::unique_ptr<std::atomic<bool>[]> paused_;
  std::unique_ptr<std::atomic<bool>[]> frozen_;
};

}  // namespace rideshard::node
