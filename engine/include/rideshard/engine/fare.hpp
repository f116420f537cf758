// Fares in integer minor currency units (cents): a per-region fare_schedule and
// compute_fare() with documented half-up rounding. No floating-point money.
#pragma once

#include <cstdint>
#include <string>

#include "rideshard/engine/result.hpp"

namespace rideshard {

/// Surge as an integer per-mille multiplier: 1000 = 1.0x, 1500 = 1.5x.
inline constexpr std::int32_t no_surge_permille = 1000;
/// Largest surge compute_fare() accepts (50x): keeps every product within int64.
inline constexpr std::int32_t max_surge_permille = 50000;

/// One region's price list. All amounts are minor units of `currency` (e.g. cents).
/// Plain value; region configs load it.
struct fare_schedule {
  std::string currency = "USD";        ///< ISO 4217 code: three upper-case letters
  std::int64_t base_minor = 0;         ///< flag fall
  std::int64_t per_km_minor = 0;       ///< per kilometre driven
  std::int64_t per_minute_minor = 0;   ///< per minute of trip time
  std::int64_t minimum_minor = 0;      ///< floor of the metered subtotal (before surge)
  std::int64_t booking_fee_minor = 0;  ///< flat fee, added after surge, never surged
};

/// Checks the currency code and that every amount is in [0, 10^9] minor units.
/// Errors: bad_config.
[[nodiscard]] result<void> validate(const fare_schedule& s);

/// The itemised fare. total_minor == base + distance + time + minimum_adjustment
/// + surge + booking_fee, exactly.
struct fare_breakdown {
  std::string currency;
  std::int64_t base_minor = 0;
  std::int64_t distance_minor = 0;
  std::int64_t time_minor = 0;
  std::int64_t minimum_adjustment_minor = 0;  ///< raises the metered subtotal to the minimum
  std::int64_t surge_minor = 0;               ///< extra charged because of surge (>= 0)
  std::int64_t booking_fee_minor = 0;
  std::int64_t total_minor = 0;
  std::int32_t surge_permille = no_surge_permille;
};

/// Upper bounds compute_fare() accepts (a trip longer than this is a bug upstream).
inline constexpr std::int64_t max_fare_distance_m = 2'000'000;  // 2,000 km
inline constexpr std::int64_t max_fare_duration_s = 172'800;    // 48 h

/// Prices a trip of `distance_m` metres and `duration_s` seconds:
///   distance = round(per_km_minor * distance_m / 1000)
///   time     = round(per_minute_minor * duration_s / 60)
///   metered  = max(base + distance + time, minimum_minor)     <- minimum BEFORE surge
///   surged   = round(metered * surge_permille / 1000)
///   total    = surged + booking_fee_minor
/// where round() is half-up on the minor unit (all operands are non-negative), each
/// line rounded once, in integer arithmetic. The minimum applies before surge so a
/// surged short trip always costs more than the same trip unsurged.
/// Errors: invalid_argument (negative/too large distance or duration, surge outside
/// [1000, max_surge_permille]); bad_config (schedule fails validate()). Thread-safe.
[[nodiscard]] result<fare_breakdown> compute_fare(const fare_schedule& s, std::int64_t distance_m,
                                                  std::int64_t duration_s,
                                                  std::int32_t surge_permille);

}  // namespace rideshard
