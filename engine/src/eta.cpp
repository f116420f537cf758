// straight_line_eta: great-circle distance scaled by a detour factor and divided
// by an average speed. The stand-in until a road router implements eta_model.
#include "rideshard/engine/eta.hpp"

#include <cmath>
#include <string>

namespace rideshard {

result<void> validate(const eta_config& cfg) {
  if (!std::isfinite(cfg.detour_factor) || cfg.detour_factor < 1.0)
    return {errc::bad_config,
            "eta detour_factor must be finite and >= 1, got " + std::to_string(cfg.detour_factor)};
  if (!std::isfinite(cfg.speed_mps) || cfg.speed_mps <= 0.0)
    return {errc::bad_config,
            "eta speed_mps must be finite and > 0, got " + std::to_string(cfg.speed_mps)};
  return {};
}

result<straight_line_eta> straight_line_eta::create(const eta_config& cfg) {
  if (auto r = validate(cfg); !r) return r.err();
  return straight_line_eta{cfg};
}

double straight_line_eta::estimate_s(lat_lng from, lat_lng to) const {
  return distance_m(from, to) * cfg_.detour_factor / cfg_.speed_mps;
}

}  // namespace rideshard
