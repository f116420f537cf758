// Private to actors/payments: the payment events' JSON payloads and the card
// expiry check against a Unix time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "payments/records.hpp"
#include "rideshard/persistence/write_batch.hpp"

namespace rideshard::payments::detail {

/// Adds the `event_type` event of `p` (its sequence is p.sequence) to `b` on
/// rideshard.payment-events.v1, key "p-<id>". Pseudonymous ids and amounts only.
[[nodiscard]] result<void> add_payment_event(persistence::write_batch& b, const payment_record& p,
                                             std::string_view event_type, std::string_view psp,
                                             std::int64_t now_ms);

/// Is the card past its expiry month at `now_ms` (UTC)?
bool expired(const method_record& m, std::int64_t now_ms);

}  // namespace rideshard::payments::detail
