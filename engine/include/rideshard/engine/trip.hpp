// The trip state machine: requested -> offered -> accepted -> driver_arrived ->
// in_progress -> completed, with cancelled / expired exits. Pure: the caller
// supplies the time; apply() either returns the transition or a typed error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rideshard/engine/geo.hpp"
#include "rideshard/engine/ids.hpp"
#include "rideshard/engine/result.hpp"

namespace rideshard {

enum class trip_state : std::uint8_t {
  requested = 0,
  offered = 1,
  accepted = 2,
  driver_arrived = 3,
  in_progress = 4,
  completed = 5,
  cancelled = 6,
  expired = 7,
};
std::string_view to_string(trip_state s) noexcept;
std::optional<trip_state> trip_state_from_string(std::string_view name) noexcept;
bool is_terminal(trip_state s) noexcept;

enum class party : std::uint8_t { rider = 0, driver = 1, system = 2 };
std::string_view to_string(party p) noexcept;

/// Rules that decide cancellation fees and offer handling.
struct trip_rules {
  std::int64_t offer_timeout_ms = 15000;  ///< driver must answer an offer within this
  std::int64_t free_cancel_ms = 120000;   ///< rider cancel after accept is free this long
  std::int64_t cancel_fee_minor = 500;    ///< fee (minor currency units) after the grace
  std::int64_t no_show_fee_minor = 500;   ///< rider cancels/no-show after driver_arrived
  std::int64_t request_ttl_ms = 300000;   ///< unmatched requests expire after this
  std::uint32_t max_pin_attempts = 3;     ///< wrong PINs at pickup before the PIN is spent
};

/// Everything the state machine owns about one trip.
struct trip {
  trip_id id;
  rider_id rider;
  driver_id driver;      ///< assigned (accepted) driver; invalid before
  driver_id offered_to;  ///< driver holding the current offer, if offered
  trip_state state = trip_state::requested;
  lat_lng pickup;
  lat_lng dropoff;
  std::string pin;                 ///< 4 digits the rider tells the driver at pickup
  std::uint32_t pin_failures = 0;  ///< wrong PINs against the current `pin` (not stored)
  std::int64_t requested_at_ms = 0;
  std::int64_t offer_deadline_ms = 0;
  std::int64_t accepted_at_ms = 0;
  std::int64_t arrived_at_ms = 0;
  std::int64_t started_at_ms = 0;
  std::int64_t ended_at_ms = 0;
  std::uint32_t offers_made = 0;
  std::uint64_t sequence = 0;  ///< bumped on every transition (event ordering)
  party cancelled_by = party::system;
  std::string cancel_reason;
  std::int64_t cancel_fee_minor = 0;
  // Pricing context, carried so a recovered trip prices its receipt the same way.
  std::int32_t surge_permille = 1000;  ///< surge at the pickup (quote, or first dispatch)
  std::int64_t quoted_fare_minor = 0;  ///< > 0: upfront price the rider accepted
  /// > 0: what was held at request for a ride without a quote (the fare
  /// estimate); the final fare is priced at completion and captured against it.
  std::int64_t hold_minor = 0;
};

enum class trip_event_kind : std::uint8_t {
  offer,          ///< system offers to `driver`
  decline,        ///< the offered driver declines
  offer_timeout,  ///< the offer deadline passed (system)
  accept,         ///< the offered driver accepts
  arrive,         ///< the assigned driver is at pickup
  start,          ///< the assigned driver starts with the rider's `pin`
  complete,       ///< the assigned driver ends the trip
  cancel,         ///< `by` cancels with `reason`
  expire,         ///< no driver found before request_ttl (system)
};
std::string_view to_string(trip_event_kind k) noexcept;

struct trip_event {
  trip_event_kind kind = trip_event_kind::offer;
  std::int64_t at_ms = 0;
  driver_id driver;          ///< offer / decline / accept / arrive / start / complete
  std::string pin;           ///< start
  party by = party::system;  ///< cancel
  std::string reason;        ///< cancel
};

/// What a legal event did, for the caller to act on (events, re-dispatch, fees).
struct trip_transition {
  trip_state from = trip_state::requested;
  trip_state to = trip_state::requested;
  bool redispatch = false;     ///< the trip needs a new driver (decline, timeout, driver cancel)
  driver_id released_driver;   ///< a driver freed by this transition, if any
  std::int64_t fee_minor = 0;  ///< cancellation fee charged to the rider
};

/// Applies `ev` to `t`. On success `t` is updated (state, timestamps, sequence)
/// and the transition is returned; on error `t` is unchanged.
/// Errors: illegal_transition, not_offered_to_driver, offer_expired, wrong_pin,
/// forbidden (an event from a driver not assigned to the trip).
[[nodiscard]] result<trip_transition> apply(trip& t, const trip_event& ev, const trip_rules& rules);

/// Counts a start whose PIN did not match (apply() answered wrong_pin). Below
/// rules.max_pin_attempts the answer is wrong_pin, saying how many tries are left;
/// the last allowed try spends the PIN: `t.pin` is cleared, the count restarts and
/// the answer is pin_locked. The caller then gives the rider a new PIN (randomness
/// is the caller's: the engine draws none).
[[nodiscard]] error count_wrong_pin(trip& t, const trip_rules& rules);

}  // namespace rideshard
