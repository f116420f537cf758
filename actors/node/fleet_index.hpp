// Drivers known only from an admin fleet feed (no driver app connected): one
// index per shard, kept apart from the dispatch index so they are never offered.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "rideshard/engine/errc.hpp"
#include "rideshard/engine/result.hpp"
#include "rideshard/engine/spatial_index.hpp"

namespace rideshard::node {

/// Owned by one region_matcher; not thread-safe. The index is created on the
/// first sample, so shards without a feed pay nothing.
class fleet_index {
 public:
  explicit fleet_index(const bounding_box& bounds) : bounds_(bounds) {}

  /// Upserts every sample whose driver is not live (`is_live`: a driver app owns
  /// its position); the others are reported to `reject` as duplicate_id.
  /// `now_ms` (server clock) is each applied driver's last sign of life.
  /// Reorders `samples`. Returns the number applied.
  std::uint32_t apply(std::vector<driver_position>& samples, std::int64_t now_ms,
                      const std::function<bool(driver_id)>& is_live,
                      const std::function<void(errc, std::string)>& reject);
  /// Drops a fed driver (its app came online: the live index owns it now).
  void forget(driver_id d);
  /// Drops every fed driver whose last sample arrived before `cutoff_ms` (the
  /// feed stopped reporting it). O(samples expired). Returns how many went.
  std::size_t expire(std::int64_t cutoff_ms);
  std::size_t size() const noexcept { return index_ ? index_->size() : 0; }

  /// The k nearest within radius_m over `live` and the feed, nearest first (ties
  /// by id), into `out`. Errors as spatial_index::nearest.
  [[nodiscard]] result<void> nearest(const spatial_index& live, lat_lng center, double radius_m,
                                     std::size_t k, std::vector<neighbor>& out);

 private:
  bounding_box bounds_;
  std::optional<spatial_index> index_;
  std::vector<neighbor> scratch_;
  std::unordered_map<driver_id, std::int64_t> last_seen_;  ///< fed driver -> its last sample
  /// (time, driver) per applied sample, oldest first; an entry whose time is no
  /// longer the driver's last_seen_ is stale and skipped.
  std::deque<std::pair<std::int64_t, driver_id>> seen_;
};

}  // namespace rideshard::node
