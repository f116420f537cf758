// Pickup/trip ETA models: the eta_model interface the matcher ranks drivers by,
// and straight_line_eta (great-circle distance x detour factor / speed).
#pragma once

#include "rideshard/engine/geo.hpp"
#include "rideshard/engine/result.hpp"

namespace rideshard {

/// Estimates driving time between two positions. Implementations must be pure
/// and const-callable from several threads at once (the matcher shares one).
/// A road router replaces straight_line_eta later behind this interface.
class eta_model {
 public:
  virtual ~eta_model() = default;

  /// Seconds to drive from `from` to `to`; both must be valid (validate() them at
  /// the boundary). Returns +infinity when `to` is unreachable from `from`;
  /// callers treat any non-finite value as "no route" and skip the candidate.
  virtual double estimate_s(lat_lng from, lat_lng to) const = 0;
};

/// Parameters of straight_line_eta. Region configs load this struct.
struct eta_config {
  double detour_factor = 1.35;  ///< road distance / great-circle distance, >= 1
  double speed_mps = 8.3;       ///< average urban driving speed (~30 km/h), > 0
};

/// Checks detour_factor >= 1 and 0 < speed_mps, both finite. Errors: bad_config.
[[nodiscard]] result<void> validate(const eta_config& cfg);

/// distance_m(from, to) * detour_factor / speed_mps. Immutable, thread-safe.
class straight_line_eta final : public eta_model {
 public:
  /// Validates cfg (see validate(eta_config)).
  [[nodiscard]] static result<straight_line_eta> create(const eta_config& cfg);

  double estimate_s(lat_lng from, lat_lng to) const override;

  const eta_config& config() const noexcept { return cfg_; }

 private:
  explicit straight_line_eta(const eta_config& cfg) : cfg_(cfg) {}
  eta_config cfg_;
};

}  // namespace rideshard
