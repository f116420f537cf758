// A deterministic, in-process city: drivers, riders and trips driven through the
// engine (spatial index, matching, trip state machine, ETA, surge, fares) on a
// simulated clock. Same region + config + seed => same report, bit for bit.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

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

/// What happened, for the quality table. Times are simulated seconds.
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
  double mean_wait_s = 0;        ///< request -> driver at pickup, matched requests
  double mean_match_wait_s = 0;  ///< request -> a driver accepts, matched requests
  std::int32_t surge_min_permille = 1000;
  std::int32_t surge_max_permille = 1000;
  std::int64_t revenue_minor = 0;  ///< sum of completed fares
  std::string currency;
};

/// Runs the city. Errors: bad_config (invalid config values), or any engine
/// error, which would be a bug and is reported rather than hidden.
[[nodiscard]] result<city_sim_report> run_city_sim(const region& r, const city_sim_config& cfg);

/// Demand levels of the dispatch-quality table: the same seeded city with the
/// request rate scaled to a share of the configured peak rate.
enum class demand_level : std::uint8_t { low, normal, peak };
std::string_view to_string(demand_level l) noexcept;
/// The share of `peak_requests_per_minute` a level runs at: 0.25, 0.5, 1.0.
double demand_share(demand_level l) noexcept;
/// `cfg` with its request rate scaled to `l`; drivers, seed and duration unchanged.
city_sim_config at_demand(city_sim_config cfg, demand_level l) noexcept;

/// One row of the quality table: both matching modes on the same riders.
struct quality_row {
  demand_level level = demand_level::peak;
  double peak_requests_per_minute = 0;  ///< the scaled rate this row ran at
  city_sim_report sequential;
  city_sim_report batched;
  /// Percent by which batched mean pickup ETA is below sequential (negative: above).
  [[nodiscard]] double pickup_eta_gain_pct() const noexcept;
};

/// Runs `cfg` at one demand level in both modes (cfg.mode is ignored).
[[nodiscard]] result<quality_row> run_quality_row(const region& r, const city_sim_config& cfg,
                                                  demand_level l);

/// All three levels, low to peak. Deterministic like run_city_sim.
[[nodiscard]] result<std::vector<quality_row>> run_quality_table(const region& r,
                                                                 const city_sim_config& cfg);

}  // namespace rideshard
