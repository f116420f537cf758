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

/// The transfers of one trip transition (`before` -> `after`, as committed),
/// for the batch that commits it: the request (`requested`, sequence 0) holds
/// the upfront fare; `completed` captures `final_fare_minor` (the receipt's
/// total) split driver / platform / tax; `cancelled` and `expired` void the hold
/// or take the cancel fee out of it. Only trips with an upfront price
/// (quoted_fare_minor > 0) are charged; other trips and every other step make
/// none (an empty chain). Errors: those of hold_transfer, capture_transfers,
/// cancel_transfers.
[[nodiscard]] result<std::vector<transfer>> trip_transfers(const trip& before, const trip& after,
                                                           std::int64_t final_fare_minor,
                                                           std::int64_t now_ms,
                                                           const money_rules& r);

}  // namespace rideshard
