// fleet_view: what the admin console draws — every connected driver's last
// position and state, the active trips and the surge of each cell. Written by
// the actors as they change (like node_stats), read whole once per console
// refresh. Observers only: no actor ever reads it to decide anything.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "rideshard/engine/geo.hpp"
#include "rideshard/engine/ids.hpp"
#include "rideshard/engine/trip.hpp"

namespace rideshard::node {

/// A driver as the console colours it. Stable numbers: the console's legend.
enum class driver_look : std::uint8_t {
  offline = 0,    ///< connected or known, not taking offers
  available = 1,  ///< online, free: in its matcher's index
  offered = 2,    ///< holding an offer
  en_route = 3,   ///< accepted or arrived: on the way to / at the pickup
  on_trip = 4,    ///< in progress: rider on board
};

struct fleet_driver {
  driver_id id;
  lat_lng pos;
  driver_look look = driver_look::offline;
  std::int64_t updated_ms = 0;
};

struct fleet_trip {
  trip_id id;
  rider_id rider;
  driver_id driver;
  trip_state state = trip_state::requested;
  lat_lng pickup;
  lat_lng dropoff;
  std::int64_t requested_at_ms = 0;
};

struct fleet_surge {
  cell_id cell;
  std::int32_t surge_permille = 1000;
  std::int64_t updated_ms = 0;
};

struct fleet_snapshot {
  std::vector<fleet_driver> drivers;
  std::vector<fleet_trip> trips;   ///< non-terminal trips
  std::vector<fleet_surge> surge;  ///< cells whose last multiplier seen differs from 1.0x
};

/// Thread-safe: every method may be called from any thread. Writes lock one of
/// a few stripes (by id) for a map update; snapshot() copies each stripe in turn
/// (so it is consistent per entity, not across entities).
class fleet_view {
 public:
  /// A driver's position and/or state changed.
  void driver(driver_id id, lat_lng pos, driver_look look, std::int64_t now_ms);
  /// The driver's actor stopped (passivated): it leaves the map.
  void driver_gone(driver_id id);
  /// A trip was created or moved; terminal states remove it.
  void trip(const rideshard::trip& t);
  /// The trip's actor stopped.
  void trip_gone(trip_id id);
  /// A matcher read `permille` for surge cell `cell`.
  void surge(cell_id cell, std::int32_t permille, std::int64_t now_ms);

  fleet_snapshot snapshot() const;

 private:
  static constexpr std::size_t stripes = 16;
  struct drivers_stripe {
    mutable std::mutex mu;
    std::unordered_map<std::uint64_t, fleet_driver> map;
  };
  struct trips_stripe {
    mutable std::mutex mu;
    std::unordered_map<std::uint64_t, fleet_trip> map;
  };
  std::array<drivers_stripe, stripes> drivers_;
  std::array<trips_stripe, stripes> trips_;
  mutable std::mutex surge_mu_;
  std::unordered_map<std::uint64_t, fleet_surge> surge_;
};

}  // namespace rideshard::node
