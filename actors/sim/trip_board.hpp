// What simulated riders and drivers share about a trip in flight: when the ride
// was requested and first offered (request→offer latency), and the rider's PIN
// that the driver needs to start. Stands in for the rider telling the driver.
// It also keeps every trip state the node told a client (an acknowledged
// transition) for the audit at the end of a run (ack_audit.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "rideshard/engine/ids.hpp"
#include "rideshard/engine/trip.hpp"
#include "sim/sim_stats.hpp"

namespace rideshard::sim {

/// Thread-safe (one mutex); entries are erased when the rider is done.
class trip_board {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  /// The rider learnt the trip id of a ride_request it sent at `sent`.
  void requested(trip_id t, time_point sent, sim_stats& stats);
  /// A driver received the trip's offer at `at` (only the first counts).
  void offered(trip_id t, time_point at, sim_stats& stats);
  void set_pin(trip_id t, std::string pin);
  std::optional<std::string> pin(trip_id t) const;
  void erase(trip_id t);

  /// A client was told that trip t is in `state` (with `driver` once assigned).
  /// Kept for the whole run, never erased.
  void acknowledged(trip_id t, trip_state state, driver_id driver);
  /// What clients were told, per trip.
  struct acked_trip {
    trip_id trip;
    std::uint8_t states = 0;  ///< bit per trip_state seen
    driver_id driver;         ///< the driver of the last assigned state seen
  };
  std::vector<acked_trip> acknowledged() const;
  /// Each trip's first offer as wall-clock unix milliseconds, in arrival order.
  /// Kept for the whole run, never erased.
  struct first_offer {
    std::int64_t unix_ms = 0;
    trip_id trip;
  };
  std::vector<first_offer> first_offers() const;

 private:
  struct entry {
    std::optional<time_point> sent, offered;
    std::string pin;
  };
  void record(const entry& e, sim_stats& stats);

  mutable std::mutex mu_;
  std::unordered_map<trip_id, entry> trips_;
  std::unordered_map<trip_id, acked_trip> acked_;
  std::vector<first_offer> first_offers_;
};

}  // namespace rideshard::sim
