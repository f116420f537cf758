// Settings of one simulator run (`rideshard simulate`): load shape, behaviour
// probabilities and bounds. Plain value; the CLI fills it, run_simulation reads it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "sim/sim_stats.hpp"

namespace rideshard::sim {

/// Everything a run needs besides the region. Defaults are the CLI defaults.
struct sim_options {
  std::string host = "127.0.0.1";  ///< node address (from --url ws://HOST:PORT)
  std::string port = "8080";
  /// Further nodes of a cluster ("HOST:PORT", from --url given a list): client
  /// i dials node i mod n first (host:port is node 0).
  std::vector<std::pair<std::string, std::string>> more_nodes;
  /// >0: a client whose connection drops redials the next node for this many
  /// seconds and says hello with resume (an app after its node died).
  double reconnect_s = 0;
  /// After the run, check every state the node told a client against what the
  /// nodes hold (ack_audit.hpp): the loss count of a failover.
  bool audit = false;
  std::string jwt_secret;              ///< HS256 secret the node accepts
  int drivers = 1000;                  ///< driver connections (one each)
  double riders_per_minute = 120;      ///< rider arrivals at the start hour, wall time
  double duration_s = 60;              ///< wall seconds of load before drain
  double drain_s = 45;                 ///< extra seconds for trips in flight (no new riders)
  double time_scale = 10;              ///< simulated seconds per wall second
  double accept_probability = 0.9;     ///< a driver accepts an offer
  double cancel_probability = 0.05;    ///< a matched rider cancels before pickup
  double update_interval_s = 4;        ///< seconds between a driver's location frames
  int threads = 2;                     ///< io_context threads
  std::uint64_t seed = 42;             ///< all randomness derives from it
  std::uint64_t id_base = 0;           ///< subjects are d-<base+1+i>, r-<base+500001+i>
  int start_hour = 17;                 ///< local hour at start (demand curve)
  double max_trip_m = 2000;            ///< cap on the pickup→drop-off distance
  double area_m = 0;                   ///< >0: confine the city to a square this wide
  int max_riders = 2000;               ///< concurrent rider connections (more are skipped)
  double connect_rate_per_s = 500;     ///< driver connection ramp-up
  std::size_t max_outbox_frames = 64;  ///< per-connection send queue bound
  double rider_delay_s = 0;            ///< no rider arrives before this many wall seconds
  /// Share of riders who add a sandbox test card (POST /api/payments/methods)
  /// before their first quote, so their rides are held and captured at the PSP.
  double card_share = 1;
  /// Called about once a second on the pacing thread with the elapsed wall
  /// seconds and the live counters (bench/load opens its measurement window
  /// here). Must return within milliseconds: it delays client spawning. May be empty.
  std::function<void(double elapsed_s, sim_stats& stats)> on_tick;
};

/// Metres per second a simulated car covers on the wire: a realistic city speed
/// times the time scale, capped below the node's 70 m/s plausibility limit.
inline double wire_speed_mps(double city_speed_mps, double time_scale) {
  const double v = city_speed_mps * time_scale;
  return v < 60.0 ? v : 60.0;
}

}  // namespace rideshard::sim
