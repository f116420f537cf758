// Spatial index of available drivers for one region/shard: insert, move, remove
// and k-nearest-within-radius queries. A flat bucket grid over a local planar
// projection; see spatial_index.cpp for the layout and its memory budget.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "rideshard/engine/geo.hpp"
#include "rideshard/engine/ids.hpp"
#include "rideshard/engine/result.hpp"

namespace rideshard {

/// One query hit: a driver, its indexed position and its great-circle distance.
struct neighbor {
  driver_id id;
  lat_lng pos;
  double distance_m = 0;
};

struct spatial_index_config {
  bounding_box bounds;           ///< positions outside are rejected (out_of_region)
  double bucket_size_m = 250.0;  ///< grid bucket edge; ~25 drivers/bucket at NYC peak density
  double max_radius_m = 50000.0; ///< larger query radii are rejected (invalid_radius)
  std::size_t max_k = 1000;      ///< larger k is rejected (invalid_k)
};

/// Not thread-safe: owned by exactly one matcher (actor) at a time.
class spatial_index {
 public:
  /// Validates the config (non-empty valid bounds, bucket size > 0).
  [[nodiscard]] static result<spatial_index> create(const spatial_index_config& cfg);

  /// Inserts the driver or moves it to `pos`.
  [[nodiscard]] result<void> upsert(driver_id id, lat_lng pos);
  /// Removes the driver; unknown_driver if absent.
  [[nodiscard]] result<void> remove(driver_id id);

  bool contains(driver_id id) const noexcept;
  std::optional<lat_lng> position(driver_id id) const noexcept;
  std::size_t size() const noexcept;

  /// The k nearest drivers within radius_m of center, nearest first (ties by id).
  /// Errors: invalid_coordinate, invalid_radius, invalid_k.
  [[nodiscard]] result<std::vector<neighbor>> nearest(lat_lng center, double radius_m,
                                                      std::size_t k) const;

  /// Heap bytes owned by the index (buckets, id table), for the bytes/driver figure.
  std::size_t memory_bytes() const noexcept;

  const spatial_index_config& config() const noexcept { return cfg_; }

 private:
  explicit spatial_index(const spatial_index_config& cfg);
  spatial_index_config cfg_;
  // Implementation state is defined by spatial_index.cpp's author.
};

}  // namespace rideshard
