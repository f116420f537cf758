// trip_transfers (see trip_money.hpp).
#include "rideshard/engine/trip_money.hpp"

namespace rideshard {

std::int64_t held_fare_minor(const trip& t) noexcept {
  return t.quoted_fare_minor > 0 ? t.quoted_fare_minor : t.hold_minor;
}

result<std::vector<transfer>> trip_transfers(const trip& before, const trip& after,
                                             std::int64_t final_fare_minor, std::int64_t now_ms,
                                             const money_rules& r) {
  const std::int64_t hold = held_fare_minor(after);
  if (hold <= 0) return std::vector<transfer>{};
  const ride_parties p{money_domain::trip, after.id.value, after.rider, after.driver};
  if (after.state == trip_state::requested && after.sequence == 0) {
    auto t = hold_transfer(p, hold, now_ms, r);
    if (!t) return t.err();
    return std::vector<transfer>{*t};
  }
  if (before.state == after.state || !is_terminal(after.state)) return std::vector<transfer>{};
  if (after.state == trip_state::completed)
    return capture_transfers(p, hold, final_fare_minor, now_ms, r);
  return cancel_transfers(p, hold, after.cancel_fee_minor, now_ms, r);
}

}  // namespace rideshard
