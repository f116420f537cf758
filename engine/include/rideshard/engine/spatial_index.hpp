// Spatial index of available drivers for one region/shard: insert, move, remove
// and k-nearest-within-radius queries. A flat bucket grid over the region's
// tangent plane; see spatial_index.cpp for the layout and its memory budget.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
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

/// One position update of a batch (see spatial_index::upsert_batch).
struct driver_position {
  driver_id id;
  lat_lng pos;
};

struct spatial_index_config {
  bounding_box bounds;            ///< positions outside are rejected (out_of_region)
  double bucket_size_m = 250.0;   ///< grid bucket edge; ~25 drivers/bucket at NYC peak density
  double max_radius_m = 50000.0;  ///< larger query radii are rejected (invalid_radius)
  std::size_t max_k = 1000;       ///< larger k is rejected (invalid_k)
};

/// Not thread-safe: owned by exactly one matcher (actor) at a time. (Concurrent
/// const queries with no writer are safe: query scratch space is per thread.)
class spatial_index {
 public:
  /// Validates the config (non-empty valid bounds, bucket size > 0).
  /// Errors: invalid_coordinate (a bound is not a valid position); bad_config
  /// (empty bounds, a side over 20 degrees, bucket_size_m < 1 or more than 4M
  /// buckets, max_radius_m <= 0 or not finite, max_k == 0).
  [[nodiscard]] static result<spatial_index> create(const spatial_index_config& cfg);

  /// Inserts the driver or moves it to `pos`.
  /// Errors: invalid_argument (id 0), invalid_coordinate, out_of_region.
  [[nodiscard]] result<void> upsert(driver_id id, lat_lng pos);
  /// Removes the driver; unknown_driver if absent.
  [[nodiscard]] result<void> remove(driver_id id);

  bool contains(driver_id id) const noexcept;
  /// The indexed position: kept as float metres within its bucket, so it is
  /// within ~15 um (250 m buckets) of the upserted one, not bit-identical.
  std::optional<lat_lng> position(driver_id id) const noexcept;
  std::size_t size() const noexcept;

  /// The k nearest drivers within radius_m of center, nearest first (ties by id).
  /// Ranked by great-circle distance (exactly, via the 3-D chord, not a planar
  /// approximation); neighbor::distance_m equals distance_m(center, pos) to
  /// within ~0.1 mm. The center may lie outside the bounds.
  /// Errors: invalid_coordinate, invalid_radius, invalid_k.
  [[nodiscard]] result<std::vector<neighbor>> nearest(lat_lng center, double radius_m,
                                                      std::size_t k) const;

  /// Like nearest(), but fills `out` (cleared first) so a caller that keeps the
  /// vector across queries does not allocate. On error `out` is left empty.
  [[nodiscard]] result<void> nearest(lat_lng center, double radius_m, std::size_t k,
                                     std::vector<neighbor>& out) const;

  /// Applies updates in order, as upsert() would, prefetching the memory of
  /// updates a few positions ahead (several times faster than single upserts
  /// at a million drivers). Invalid updates are skipped, the valid ones are all
  /// applied; the error (if any) has the first rejected update's code and says
  /// how many were rejected.
  [[nodiscard]] result<void> upsert_batch(const driver_position* updates, std::size_t count);
  [[nodiscard]] result<void> upsert_batch(const std::vector<driver_position>& updates) {
    return upsert_batch(updates.data(), updates.size());
  }

  /// Pre-sizes the id table for `drivers` drivers (optional).
  void reserve(std::size_t drivers);

  /// Heap bytes owned by the index (buckets, id table), for the bytes/driver figure.
  std::size_t memory_bytes() const noexcept;

  const spatial_index_config& config() const noexcept { return cfg_; }

 private:
  // Positions live in a local tangent plane: east/north metres from the
  // bucket's south-west corner as float (~15 um resolution in a 250 m bucket);
  // the up component is derived from them.
  struct entry {
    std::uint64_t id;
    float east;
    float north;
  };
  struct bucket {
    std::unique_ptr<entry[]> data;
    std::uint32_t size = 0;
    std::uint32_t capacity = 0;
  };
  struct candidate;
  struct ring_cell;
  struct query_state;

  explicit spatial_index(const spatial_index_config& cfg, const tangent_plane& frame);

  lat_lng to_lat_lng(double east, double north) const noexcept;
  std::uint32_t bucket_of(double east, double north) const noexcept;
  double bucket_east0(std::uint32_t b) const noexcept;
  double bucket_north0(std::uint32_t b) const noexcept;

  std::size_t find_slot(std::uint64_t id, std::uint64_t hash) const noexcept;
  void insert_slot(std::uint64_t hash, std::uint64_t packed);
  void erase_slot(std::size_t index) noexcept;
  void rehash(std::size_t capacity);
  const entry& entry_at(std::uint64_t packed) const noexcept;
  const void* slot_line(driver_id id) const noexcept;
  std::uint64_t peek_slot(driver_id id) const noexcept;
  const void* header_line(driver_id id) const noexcept;
  const void* entry_line(driver_id id) const noexcept;

  bool acceptable(driver_id id, lat_lng pos) const noexcept;
  error update_error(driver_id id, lat_lng pos) const;
  bool apply_upsert(driver_id id, lat_lng pos);  // false: the target cell is full
  std::uint32_t push_entry(std::uint32_t b, const entry& e);
  void erase_entry(std::uint32_t b, std::uint32_t s);
  void scan_bucket(std::uint32_t b, query_state& q) const;

  spatial_index_config cfg_;
  tangent_plane frame_;  // at the centre of cfg_.bounds
  // Bucket grid over the tangent plane; every in-bounds position lies inside it.
  double grid_east0_ = 0, grid_north0_ = 0, bucket_m_ = 0, inv_bucket_m_ = 0;
  double min_up_ = 0;  // lowest up coordinate of any in-bounds position
  std::int32_t grid_nx_ = 0, grid_ny_ = 0;
  std::vector<bucket> buckets_;
  // Open-addressing id table (linear probing, power-of-two capacity). A slot is
  // hash tag (16 bits) | bucket (24) | index in bucket (24); empty is all ones.
  std::vector<std::uint64_t> slots_;
  int slot_shift_ = 64;
  std::size_t size_ = 0;
  std::size_t allocated_buckets_ = 0;
  std::size_t entry_capacity_ = 0;
};

}  // namespace rideshard
