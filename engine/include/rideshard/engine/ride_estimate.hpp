// A ride priced before it happens: the road distance and duration a quote
// shows, its fare, how long the quote holds, and pickup ETAs in whole seconds.
// Pure; the matcher and the in-process city call it, nothing else decides it.
#pragma once

#include <cstdint>
#include <optional>

#include "rideshard/engine/eta.hpp"
#include "rideshard/engine/fare.hpp"
#include "rideshard/engine/geo.hpp"

namespace rideshard {

/// How long a quote's price holds (quote.expires_at_ms = now + this).
inline constexpr std::int64_t quote_validity_ms = 5 * 60 * 1000;

/// What a quote promises for a ride from pickup to dropoff.
struct ride_estimate {
  std::uint32_t distance_m = 0;        ///< great-circle distance x the region's detour factor
  std::uint32_t duration_s = 0;        ///< the ETA model's driving time, rounded
  std::optional<fare_breakdown> fare;  ///< empty when compute_fare refuses the inputs
};

/// distance = round(great-circle x detour_factor), duration = round(eta), fare
/// = compute_fare(schedule, distance, duration, surge_permille). Thread-safe.
ride_estimate estimate_ride(const fare_schedule& schedule, const straight_line_eta& eta,
                            lat_lng pickup, lat_lng dropoff, std::int32_t surge_permille);

/// A pickup ETA as shown to riders and drivers: eta.estimate_s(from, to)
/// rounded half away from zero to whole seconds.
std::uint32_t eta_seconds(const eta_model& eta, lat_lng from, lat_lng to);

/// The same rounding for an ETA already computed (e.g. by batch_assign).
std::uint32_t eta_seconds(double eta_s);

}  // namespace rideshard
