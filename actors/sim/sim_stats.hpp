// Counters and latency samples shared by every simulated client, the per-second
// progress line and the final report (human summary and JSON).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "rideshard/engine/errc.hpp"

namespace rideshard::sim {

/// Error codes that are an ordinary outcome of racing clients (an accept after
/// the offer moved on, a cancel crossing a state change); everything else a
/// node answers is a protocol error of the simulator and counts as such.
bool expected_race(errc code) noexcept;

/// Live counters. Thread-safe: atomics and one mutex for the sample vectors.
class sim_stats {
 public:
  using counter = std::atomic<std::uint64_t>;

  counter drivers_connected{0}, riders_connected{0};  ///< gauges (open now)
  counter connects{0}, connect_failures{0}, disconnects{0};
  counter reconnects{0}, reconnect_failures{0};  ///< redials after a drop (ws_target)
  counter resumed_trips{0};                      ///< a resumed hello gave the client its trip back
  counter requests_in_doubt{0};  ///< a rider's connection dropped before its trip id came
  counter frames_sent{0}, frames_received{0}, outbox_drops{0};
  counter location_samples{0};
  counter riders_spawned{0}, riders_skipped{0}, quotes{0}, requests{0};
  counter offers{0}, accepts{0}, declines{0};
  counter matched{0}, arrived{0}, started{0}, completed{0};
  counter rider_cancels{0}, cancelled{0}, expired{0}, no_driver{0}, pin_missing{0};
  counter receipts{0};
  counter cards_added{0}, cards_refused{0};   ///< POST /api/payments/methods: 201 / anything else
  std::atomic<std::int64_t> trips_active{0};  ///< matched, rider not yet done (drain waits)

  /// Records an error_reply code (and whether it was a race or a protocol error).
  void error(errc code);
  /// Request→offer latency of one trip, microseconds.
  void offer_latency_us(double us);
  /// Forgets the latency samples so far (a measurement window starts now).
  void clear_latency();
  /// The pickup ETA the node promised a rider at acceptance, seconds.
  void pickup_eta_s(double s);
  /// How long a rider waited from ride_request to `accepted`, wall seconds.
  void match_wait_s(double s);
  /// A quote's surge multiplier, per mille.
  void surge(std::uint32_t per_mille);
  /// From a dropped connection to the next one open (on another node), wall seconds.
  void reconnect_s(double s);

  struct snapshot_t {
    std::vector<double> latency_us;  ///< sorted
    std::vector<double> pickup_eta_s;
    std::vector<double> match_wait_s;  ///< sorted
    std::vector<double> reconnect_s;   ///< sorted
    std::uint32_t surge_min = 0, surge_max = 0;
    std::uint64_t race_errors = 0, protocol_errors = 0;
    std::vector<std::pair<std::string, std::uint64_t>> errors;  ///< by code name
  };
  /// A consistent copy of the samples (sorted latencies), for progress and report.
  snapshot_t snapshot() const;

 private:
  mutable std::mutex mu_;
  std::vector<double> latency_us_;
  std::vector<double> pickup_eta_s_;
  std::vector<double> match_wait_s_;
  std::vector<double> reconnect_s_;
  std::uint32_t surge_min_ = 0, surge_max_ = 0;
  std::array<std::uint64_t, 256> errors_{};
};

/// The q-quantile (0..1) of sorted samples, 0 when empty (nearest rank).
double quantile(const std::vector<double>& sorted, double q);

/// The audit's figures (ack_audit.hpp) as the report carries them.
struct audit_summary {
  std::uint64_t trips = 0, acknowledged_lost = 0, unreachable = 0, double_assignments = 0;
  std::vector<std::string> lost_examples;
};

/// Everything a finished run reports.
struct sim_report {
  double wall_s = 0;
  double load_s = 0;
  int drivers_target = 0;
  std::uint64_t peak_connections = 0;
  sim_stats::snapshot_t samples;
  // Final counter values, by name, in a fixed order.
  std::vector<std::pair<std::string, std::uint64_t>> counters;
  std::uint64_t count(const std::string& name) const;
  /// Set when the run audited what clients were told (sim_options::audit).
  std::optional<audit_summary> audit;
  /// Each trip's first offer: (wall-clock unix ms, trip id), in arrival order.
  std::vector<std::pair<std::int64_t, std::uint64_t>> first_offers;
};

/// Copies the counters of `s` into `r.counters`.
void fill_counters(const sim_stats& s, sim_report& r);

/// One progress line (no newline): connections, rates since the last call, match
/// rate, latency percentiles, pickup ETA, surge range.
std::string progress_line(double elapsed_s, const sim_stats& s, double dt_s,
                          std::uint64_t samples_delta, std::uint64_t requests_delta);

/// The human summary, several lines.
void print_summary(std::FILE* out, const sim_report& r);

/// The JSON result file. Returns false (and says why on stderr) if unwritable.
bool write_json(const std::string& path, const sim_report& r);

}  // namespace rideshard::sim
