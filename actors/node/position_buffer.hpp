// position_buffer: the location updates of one shard waiting in its matcher.
// Driver actors send them as messages (driver_avail / driver_unavail); the
// matcher buffers them here (last write wins per driver) and applies the whole
// buffer as ONE spatial_index::upsert_batch before anything that reads its
// index and on a timer (flush_schedule: short while a request waits for a
// driver, long otherwise). Internal to node/; see README "Location batching".
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "node/protocol.hpp"

namespace rideshard::node {

/// The latest state of one driver in a shard's buffer: available at `pos`
/// (`actor` set), or withdrawn (a tombstone: `actor` invalid).
struct position_update {
  driver_id driver;
  lat_lng pos;
  caf::actor actor;
};

/// Owned by one matcher (shard_index); not thread-safe, never shared. Bounded:
/// at most `max_entries` drivers with an available position wait at once; a
/// further driver's position is dropped (counted) and its next frame retries.
/// Withdrawals are never dropped, so "offline" always wins.
class position_buffer {
 public:
  explicit position_buffer(std::size_t max_entries) : max_(max_entries == 0 ? 1 : max_entries) {}
  position_buffer(const position_buffer&) = delete;
  position_buffer& operator=(const position_buffer&) = delete;

  /// What the matcher has to do now (at most one kick per cycle).
  struct deposit_status {
    bool accepted = true;
    bool kick = false;  ///< `urgent` deposit and no kick pending: flush now
  };

  /// Driver `d` is available at `pos`; `urgent` when it was not indexed in this
  /// shard before (a parked request may be waiting for it).
  deposit_status put(driver_id d, lat_lng pos, caf::actor actor, bool urgent);
  /// Driver `d` is no longer available here (overrides any buffered position).
  deposit_status withdraw(driver_id d);

  /// Moves every buffered update into `out` (cleared first; its
  /// capacity is swapped in, so steady state does not allocate).
  void drain(std::vector<position_update>& out);
  bool empty() const noexcept { return items_.empty(); }

  struct counters {
    std::uint64_t deposits = 0;   ///< put + withdraw calls
    std::uint64_t coalesced = 0;  ///< deposits that replaced a buffered one (same driver)
    std::uint64_t dropped = 0;    ///< positions refused because the buffer was full
    std::uint64_t flushes = 0;    ///< non-empty drains
    std::uint64_t drained = 0;    ///< updates handed to the matcher
  };
  counters stats() const;

 private:
  deposit_status store(driver_id d, lat_lng pos, caf::actor actor, bool urgent);

  const std::size_t max_;
  std::vector<position_update> items_;
  std::unordered_map<driver_id, std::size_t> at_;  ///< driver -> index in items_
  std::size_t available_ = 0;                      ///< items_ with an actor
  bool kick_pending_ = false;
  counters counts_;
};

/// When a shard's buffered positions are applied without a read: within
/// `soon` (dispatch_options::location_flush) of a deposit while a request of
/// the shard waits for a driver (a moving driver may reach it), else within
/// `late`. Every read flushes first, so the timer only bounds how long a
/// position can sit unapplied; the long one spares idle shards a timer (a
/// wake-up of CAF's clock thread and of a worker) every `soon`. At most one
/// timer of each kind is armed: a timed flush disarms a kind once its due time
/// has come (timer messages carry no kind). Owned by one matcher; not thread-safe.
class flush_schedule {
 public:
  using clock = std::chrono::steady_clock;

  flush_schedule(clock::duration soon, clock::duration late) : soon_(soon), late_(late) {}

  /// A deposit at `now`; `waiting`: a request of the shard waits for a driver.
  /// Returns the delay of a timed flush the caller must schedule, if any.
  std::optional<clock::duration> on_deposit(clock::time_point now, bool waiting);
  /// A timed flush ran at `now`.
  void on_timed_flush(clock::time_point now);

 private:
  clock::duration soon_;
  clock::duration late_;
  std::optional<clock::time_point> soon_due_;
  std::optional<clock::time_point> late_due_;
};

}  // namespace rideshard::node
