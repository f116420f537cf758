// compute_fare(): integer minor-unit arithmetic with half-up rounding per line
// item. Bounds on every input keep each intermediate product inside int64.
#include "rideshard/engine/fare.hpp"

#include <algorithm>
#include <string>

namespace rideshard {
namespace {

constexpr std::int64_t max_amount_minor = 1'000'000'000;  // $10M in cents: a config bug

// Half-up division of a non-negative numerator: round(num / den) with .5 going up.
constexpr std::int64_t div_half_up(std::int64_t num, std::int64_t den) {
  return (num + den / 2) / den;
}

bool is_currency_code(const std::string& c) {
  return c.size() == 3 &&
         std::all_of(c.begin(), c.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; });
}

result<void> check_amount(const char* name, std::int64_t v) {
  if (v < 0 || v > max_amount_minor)
    return {errc::bad_config, std::string("fare ") + name +
                                  " must be in [0, 1e9] minor units, got " + std::to_string(v)};
  return {};
}

}  // namespace

result<void> validate(const fare_schedule& s) {
  if (!is_currency_code(s.currency))
    return {errc::bad_config,
            "fare currency must be an ISO 4217 code like USD, got '" + s.currency + "'"};
  const std::pair<const char*, std::int64_t> amounts[] = {
      {"base_minor", s.base_minor},
      {"per_km_minor", s.per_km_minor},
      {"per_minute_minor", s.per_minute_minor},
      {"minimum_minor", s.minimum_minor},
      {"booking_fee_minor", s.booking_fee_minor},
  };
  for (const auto& [name, v] : amounts)
    if (auto r = check_amount(name, v); !r) return r;
  return {};
}

result<fare_breakdown> compute_fare(const fare_schedule& s, std::int64_t distance_m,
                                    std::int64_t duration_s, std::int32_t surge_permille) {
  if (auto r = validate(s); !r) return r.err();
  if (distance_m < 0 || distance_m > max_fare_distance_m)
    return {errc::invalid_argument,
            "fare distance_m must be in [0, 2e6], got " + std::to_string(distance_m)};
  if (duration_s < 0 || duration_s > max_fare_duration_s)
    return {errc::invalid_argument,
            "fare duration_s must be in [0, 172800], got " + std::to_string(duration_s)};
  if (surge_permille < no_surge_permille || surge_permille > max_surge_permille)
    return {errc::invalid_argument,
            "fare surge_permille must be in [1000, 50000], got " + std::to_string(surge_permille)};

  // Bounds keep every product inside int64 (9.2e18): per_km * distance <= 1e9 * 2e6
  // = 2e15; the floored subtotal is <= ~4.9e12 (1e9 + 2e12 + 2.88e12, or the 1e9
  // minimum), times 5e4 per-mille <= ~2.5e17.
  fare_breakdown f;
  f.currency = s.currency;
  f.surge_permille = surge_permille;
  f.base_minor = s.base_minor;
  f.distance_minor = div_half_up(s.per_km_minor * distance_m, 1000);
  f.time_minor = div_half_up(s.per_minute_minor * duration_s, 60);
  const std::int64_t metered = f.base_minor + f.distance_minor + f.time_minor;
  f.minimum_adjustment_minor = std::max<std::int64_t>(0, s.minimum_minor - metered);
  const std::int64_t floored = metered + f.minimum_adjustment_minor;
  const std::int64_t surged = div_half_up(floored * surge_permille, 1000);
  f.surge_minor = surged - floored;
  f.booking_fee_minor = s.booking_fee_minor;
  f.total_minor = surged + f.booking_fee_minor;
  return f;
}

}  // namespace rideshard
