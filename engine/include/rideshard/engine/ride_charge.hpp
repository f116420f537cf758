// A ride's money at the payment provider (PSP): what the ledger committed for
// one trip (its trip-domain transfers, engine/trip_money.hpp) against what the
// PSP has answered so far, and the one call that brings them in line next.
// The same decision runs live (after each committed transition) and in the
// start-up reconciliation after a crash. Pure: callers make the call and record it.
#pragma once

#include <cstdint>
#include <string_view>

#include "rideshard/engine/ids.hpp"
#include "rideshard/engine/ledger.hpp"
#include "rideshard/engine/ride_money.hpp"

namespace rideshard {

/// One trip's money as the ledger has it.
struct ride_ledger {
  std::uint64_t trip = 0;
  rider_id rider;
  std::int64_t held = 0;      ///< the hold (pending); 0: the ride holds nothing
  std::int64_t captured = 0;  ///< the capture posted from the hold (0: none)
  std::int64_t extra = 0;     ///< the extra charge above the hold (0: none)
  std::int64_t fee = 0;       ///< the cancel fee posted from the hold (0: none)
  bool released = false;      ///< the hold was voided (free cancel, expiry)
};

/// Folds `t` into `l` if it is one of trip `l.trip`'s hold / capture / extra
/// charge / release / cancel fee transfers (any trip when l.trip is 0: it is
/// set). Returns whether it did.
bool add_ride_transfer(ride_ledger& l, const transfer& t);

/// How the authorization of the hold ended at the PSP.
enum class ride_auth : std::uint8_t {
  unknown = 0,     ///< not sent yet, or its answer was lost: (re)send with the same key
  authorized = 1,  ///< an intent holds the money
  declined = 2,    ///< the card was declined (final for the key)
  failed = 3,      ///< the PSP refused the request for another reason (final)
  no_method = 4,   ///< the rider has no usable card: the ride is charged in the ledger only
};
std::string_view to_string(ride_auth a) noexcept;

/// How the hold ended at the PSP.
enum class ride_settle : std::uint8_t {
  open = 0,         ///< nothing settled yet
  captured = 1,     ///< the intent was captured (the fare or the cancel fee)
  released = 2,     ///< the intent was cancelled, or there was none to release
  uncollected = 3,  ///< the ledger charged the rider but no intent can be captured: a debt
};
std::string_view to_string(ride_settle s) noexcept;

/// What the PSP has answered for one trip (the durable ride charge record).
struct ride_psp {
  ride_auth auth = ride_auth::unknown;
  ride_settle settle = ride_settle::open;
  bool extra_done = false;  ///< the extra charge was captured (or recorded as uncollected)
  bool request_ended =
      false;  ///< after a refused authorization, the node was asked to end the trip
};

enum class ride_step : std::uint8_t {
  none = 0,           ///< in line: nothing to do until the ledger moves again
  authorize = 1,      ///< authorize `amount`, key = the hold's id (a replay if sent before)
  capture = 2,        ///< capture `amount` of the intent, key = `key`'s transfer id
  cancel = 3,         ///< cancel the intent, key = the release's id
  charge_extra = 4,   ///< authorize and capture `amount` on a new intent, key = the extra's id
  end_request = 5,    ///< the authorization was refused: ask the node to end the trip
  nothing_held = 6,   ///< no intent to release: record the hold as released
  uncollectable = 7,  ///< no intent to capture: record the charge as uncollected
};
std::string_view to_string(ride_step s) noexcept;

struct ride_action {
  ride_step step = ride_step::none;
  std::int64_t amount = 0;
  money_code key = money_code::hold;  ///< which transfer's id the idempotency key is
};

/// The next call for `l` given `p`. In order: authorize an unknown hold (also
/// when the trip already ended — the key finds out whether a crash lost an
/// accepted authorization, which is then cancelled or captured); settle the
/// ended hold (capture the fare or the fee, cancel the release) if authorized,
/// otherwise record it as uncollected / nothing held; end the trip of a refused
/// authorization while its hold is open; charge an extra above the hold after
/// the capture. Never captures a settled hold again.
ride_action next_ride_action(const ride_ledger& l, const ride_psp& p);

}  // namespace rideshard
