// shard_index: one matcher's drivers — the spatial index of available drivers
// (the only place a driver is handed out from), their actors, the drivers known
// only from the admin fleet feed, and the location messages of the shard,
// buffered and applied to the index in batches. Owned by one region_matcher; not thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "node/fleet_index.hpp"
#include "node/position_buffer.hpp"
#include "node/protocol.hpp"
#include "node/shard_pricing.hpp"

namespace rideshard::node {

class shard_index {
 public:
  /// `bounds`: the shard's cell plus a margin; `buffer_max`: bound of the
  /// location buffer (position_buffer); `pricing` hears supply changes.
  shard_index(const bounding_box& bounds, std::size_t buffer_max, shard_pricing& pricing);

  /// Applies the buffered location updates: withdrawals remove, positions go in
  /// with ONE upsert_batch. `timed`: the buffer's timed flush (drains even when
  /// it looks empty). Returns whether any driver is available after it.
  bool flush(bool timed);
  /// A driver_avail: buffered until the next flush (last write wins). The
  /// answer says whether the caller must kick a flush (the timed one is the
  /// matcher's flush_schedule).
  position_buffer::deposit_status deposit(const driver_avail& a) {
    return positions_.put(a.driver, a.pos, a.actor, a.fresh);
  }
  position_buffer::counters location_stats() const { return positions_.stats(); }
  /// Out of the index (offered, withdrawn, reserved by another shard).
  void remove(driver_id d);
  /// Back into the index after a declined / timed-out offer, unless it
  /// re-announced itself meanwhile (its newer position wins) or has no actor.
  void put_back(driver_id d, lat_lng pos);
  /// Another shard's request takes `d` iff it is still available here.
  reserve_answer reserve(driver_id d);

  /// A neighbour's probe: per query, our nearest drivers it may offer (or,
  /// with_fleet, every driver we know of, fed ones included).
  shard_probe_answer probe(const shard_probe& p);
  /// Admin fleet feed samples for this shard, received at `now_ms`.
  fleet_applied feed(fleet_upsert& u, std::int64_t now_ms, node_stats& stats);
  /// Fed drivers whose last sample is older than `cutoff_ms` leave (a feed that
  /// stops reporting a driver is no longer believed, as a live driver whose
  /// app goes away is no longer available).
  void expire_fed(std::int64_t cutoff_ms) { (void)fleet_.expire(cutoff_ms); }
  /// Our k nearest (live + fed) within radius_m into `out`, and the radius
  /// other shards still matter within (our k-th hit bounds it when we have k).
  result<double> nearby(lat_lng center, double radius_m, std::size_t k, std::vector<neighbor>& out);

  /// The available drivers (read-only: only this class changes the index).
  const spatial_index& available() const noexcept { return index_; }
  /// The actor of a driver we can hand out, or null.
  const caf::actor* actor_of(driver_id d) const;
  bool has_actor(driver_id d) const { return actors_.count(d) != 0; }
  std::size_t max_k() const noexcept { return index_.config().max_k; }

 private:
  void took_position(driver_id d, lat_lng pos, const caf::actor& actor);

  spatial_index index_;
  fleet_index fleet_;  ///< fed drivers: nearby only, never dispatched
  /// Every driver that announced itself here (kept after it leaves the index:
  /// a driver with an app, so a put-back or a probe may still hand it out).
  std::unordered_map<driver_id, caf::actor> actors_;
  position_buffer positions_;  ///< location updates waiting for the next flush
  shard_pricing& pricing_;
  std::vector<position_update> drained_;  ///< scratch of flush()
  std::vector<driver_position> batch_;
};

}  // namespace rideshard::node
