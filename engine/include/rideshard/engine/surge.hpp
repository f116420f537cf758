// Surge pricing per grid cell: demand (ride requests) vs supply (available
// drivers) over a sliding window of time buckets, EMA-smoothed, capped and
// quantized. Deterministic: every call takes the time as an argument.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "rideshard/engine/geo.hpp"
#include "rideshard/engine/result.hpp"

namespace rideshard {

/// Surge tuning for one region. Region configs load this struct.
///   ratio = requests in window / max(1, available drivers)
///   raw   = 1 + slope * (ratio - threshold_ratio)   when ratio > threshold_ratio and
///           requests >= min_requests, else 1
///   ema   = alpha * raw + (1 - alpha) * ema_prev      (one step per bucket)
///   shown = quantize(min(ema, cap), step)             (nearest step, half-up)
struct surge_config {
  std::int64_t window_ms = 300'000;  ///< demand window (5 min); a multiple of bucket_ms
  std::int64_t bucket_ms = 30'000;   ///< bucket width and EMA step (30 s)
  int cell_level = 14;               ///< geo.hpp grid level (~1.2 km x 0.9 km in NYC)
  double threshold_ratio = 1.0;      ///< requests per driver per window where surge starts
  double slope = 0.5;                ///< multiplier added per unit of ratio above threshold
  std::int32_t min_requests = 3;     ///< fewer requests in the window never surge
  std::int32_t cap_permille = 3000;  ///< maximum multiplier (3.0x)
  std::int32_t step_permille = 100;  ///< quantization step (0.1x)
  double smoothing_alpha = 0.3;      ///< EMA weight of the newest bucket, in (0, 1]
};

/// Checks ranges (see field docs; window/bucket <= 1024 buckets, cap in
/// [1000, 50000], step in [1, 1000]). Errors: bad_config.
[[nodiscard]] result<void> validate(const surge_config& cfg);

/// A cell's current state, for the admin heat map and quotes.
struct cell_surge {
  cell_id cell;
  std::int32_t multiplier_permille = 1000;
  std::int64_t requests_in_window = 0;
  std::int64_t available_drivers = 0;  ///< latest supply sample within the window
};

/// Per-region surge state. Not thread-safe: owned by one matcher (actor).
/// Time must not go backwards by a bucket or more across calls (stale_timestamp);
/// calls within the current bucket may arrive in any order.
class surge_engine {
 public:
  /// Validates cfg. Errors: bad_config.
  [[nodiscard]] static result<surge_engine> create(const surge_config& cfg);

  /// The cell (at cfg.cell_level) that prices position p. Errors: invalid_coordinate.
  [[nodiscard]] result<cell_id> cell_for(lat_lng p) const;

  /// Counts one ride request in `cell` at now_ms.
  /// Errors: invalid_argument (cell not at cfg.cell_level), stale_timestamp.
  [[nodiscard]] result<void> record_request(cell_id cell, std::int64_t now_ms);

  /// Reports the number of available drivers in `cell` at now_ms (a gauge: the
  /// latest sample holds until replaced or until it leaves the window).
  /// Errors: invalid_argument (negative count, wrong level), stale_timestamp.
  [[nodiscard]] result<void> record_supply(cell_id cell, std::int64_t available_drivers,
                                           std::int64_t now_ms);

  /// The multiplier to quote in `cell` now (1000 = 1.0x), a multiple of step_permille
  /// in [1000, cap_permille]. Advances the cell's EMA to now (hence non-const).
  /// Unknown cells are 1000. Errors: invalid_argument (wrong level), stale_timestamp.
  [[nodiscard]] result<std::int32_t> multiplier_permille(cell_id cell, std::int64_t now_ms);

  /// Every tracked cell's state at now_ms, ordered by cell id. Errors: stale_timestamp.
  [[nodiscard]] result<std::vector<cell_surge>> snapshot(std::int64_t now_ms);

  /// Forgets cells with no requests or supply in the window whose multiplier has
  /// decayed to 1.0x; returns how many were dropped. Call periodically (memory bound).
  std::size_t prune(std::int64_t now_ms);

  std::size_t tracked_cells() const noexcept { return cells_.size(); }
  const surge_config& config() const noexcept { return cfg_; }

 private:
  struct bucket {
    std::int64_t index = -1;  ///< now_ms / bucket_ms of this slot's bucket; -1 = empty
    std::int64_t requests = 0;
    std::int64_t supply = -1;  ///< latest supply sample in this bucket; -1 = none
  };
  struct cell_state {
    std::vector<bucket> ring;      ///< window_ms / bucket_ms slots, indexed by index % size
    double ema = 1.0;              ///< smoothed multiplier over completed buckets
    std::int64_t ema_bucket = -1;  ///< last completed bucket folded into ema
  };

  explicit surge_engine(const surge_config& cfg) : cfg_(cfg) {}
  result<cell_state*> touch(cell_id cell, std::int64_t now_ms);
  result<void> check_time(std::int64_t now_ms);
  void advance(cell_state& st, std::int64_t now_bucket) const;
  double raw_at(const cell_state& st, std::int64_t end_bucket) const;
  cell_surge view(cell_id cell, const cell_state& st, std::int64_t now_bucket) const;

  surge_config cfg_;
  std::unordered_map<std::uint64_t, cell_state> cells_;
  std::int64_t clock_bucket_ = -1;  ///< highest bucket seen; time may not go below it
};

}  // namespace rideshard
