// What a trip's transitions do to the ledger: the ride money plan
// (ride_money.hpp) applied to one committed step of the trip state machine.
#pragma once

#include <cstdint>
#include <vector>

#include "rideshard/engine/ledger.hpp"
#include "rideshard/engine/result.hpp"
#include "rideshard/engine/ride_money.hpp"
#include "rideshard/engine/trip.hpp"

namespace rideshard {

/// What the request held: quoted_fare_minor if > 0, else hold_minor (0: nothing).
std::int64_t held_fare_minor(const trip& t) noexcept;

/// The transfers of one trip transition (`before` -> `after`, as committed),
/// for the batch that commits it: the request (`requested`, sequence 0) holds
/// held_fare_minor() — the quote, or for a ride without one the fare estimate
/// the node set in `hold_minor`; `completed` captures `final_fare_minor` (the
/// receipt's total; above the hold, the rest is an extra charge) split driver /
/// platform / tax; `cancelled` and `expired` void the hold or take the cancel
/// fee out of it. A trip that held nothing, and every other step, makes none
/// (an empty chain). Errors: those of hold_transfer, capture_transfers,
/// cancel_transfers.
[[nodiscard]] result<std::vector<transfer>> trip_transfers(const trip& before, const trip& after,
                                                           std::int64_t final_fare_minor,
                                                           std::int64_t now_ms,
                                                           const money_rules& r);

}  // namespace rideshard
