// A deterministic, in-process city: drivers, riders and trips driven through the
// engine (spatial index, matching, trip state machine, ETA, surge, fares) on a
// simulated clock. Same region + config + seed => same report, bit for bit.
#pragma once

#include <cstdint>
#include <string>

#include "rideshard/engine/region.hpp"
#include "rideshard/engine/result.hpp"

namespace rideshard {

enum class matching_mode : std::uint8_t { sequential, batched };
std::string_view to_string(matching_mode m) noexcept;

struct city_sim_config {
  std::size_t drivers = 3000;
  std::int64_t duration_ms = 20 * 60'000;     ///< simulated time
  int start_hour = 17;                        ///< local hour at t = 0 (demand curve)
  double peak_requests_per_minute = 240;      ///< rate at hourly weight 1.0
  double accept_probability = 0.85;           ///< a driver accepts an offer
  double no_response_probability = 0.03;      ///< a driver ignores an offer (timeout)
  std::int64_t decline_cooldown_ms = 30'000;  ///< a decliner is not offered again this long
  std::int64_t tick_ms = 1000;                ///< simulation step
  std::uint64_t seed = 42;
  matching_mode mode = matching_mode::sequential;
};

/// What happened, for the demo table. Times are simulated seconds.
struct city_sim_report {
  matching_mode mode = matching_mode::sequential;
  std::int64_t requests = 0;
  std::int64_t matched = 0;  ///< a driver accepted
  std::int64_t completed = 0;
  std::int64_t expired = 0;  ///< no driver before the request ttl
  std::int64_t offers = 0;
  double matched_pct = 0;
  double mean_pickup_eta_s = 0;  ///< ETA at acceptance, matched requests
  double p95_pickup_eta_s = 0;
  double mean_wait_s = 0;  ///< request -> driver at pickup, matched requests
  std::int32_t surge_min_permille = 1000;
  std::int32_t surge_max_permille = 1000;
  std::int64_t revenue_minor = 0;  ///< sum of completed fares
  std::string currency;
};

/// Runs the city. Errors: bad_config (invalid config values), or any engine
/// error, which would be a bug and is reported rather than hidden.
[[nodiscard]] result<city_sim_report> run_city_sim(const region& r, const city_sim_config& cfg);

}  // namespace rideshard
