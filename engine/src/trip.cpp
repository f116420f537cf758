// The trip state machine (see trip.hpp): one function per source state keeps
// every legal transition in one place and makes every other event an error.
#include "rideshard/engine/trip.hpp"

#include <array>
#include <string>

namespace rideshard {
namespace {

constexpr std::array<std::string_view, 8> state_names{"requested",      "offered",     "accepted",
                                                      "driver_arrived", "in_progress", "completed",
                                                      "cancelled",      "expired"};

error illegal(const trip& t, const trip_event& ev) {
  return {errc::illegal_transition, "cannot " + std::string(to_string(ev.kind)) +
                                        " a trip in state " + std::string(to_string(t.state))};
}

// Checks that the event comes from the driver assigned to the trip.
result<void> from_assigned_driver(const trip& t, const trip_event& ev) {
  if (!ev.driver.valid() || ev.driver != t.driver)
    return error{errc::forbidden,
                 to_string(ev.driver) + " is not the driver of " + to_string(t.id)};
  return {};
}

trip_transition move(trip& t, trip_state to, std::int64_t at_ms) {
  trip_transition tr;
  tr.from = t.state;
  tr.to = to;
  t.state = to;
  ++t.sequence;
  if (is_terminal(to)) t.ended_at_ms = at_ms;
  return tr;
}

result<trip_transition> back_to_requested(trip& t, const trip_event& ev) {
  driver_id released = t.state == trip_state::offered ? t.offered_to : t.driver;
  t.offered_to = {};
  t.driver = {};
  t.offer_deadline_ms = 0;
  t.accepted_at_ms = 0;
  auto tr = move(t, trip_state::requested, ev.at_ms);
  tr.redispatch = true;
  tr.released_driver = released;
  return tr;
}

result<trip_transition> cancel(trip& t, const trip_event& ev, const trip_rules& rules) {
  std::int64_t fee = 0;
  if (ev.by == party::rider) {
    if (t.state == trip_state::in_progress) return illegal(t, ev);
    if (t.state == trip_state::accepted && ev.at_ms - t.accepted_at_ms > rules.free_cancel_ms)
      fee = rules.cancel_fee_minor;
    if (t.state == trip_state::driver_arrived) fee = rules.no_show_fee_minor;
  } else if (ev.by == party::driver) {
    if (t.state == trip_state::requested || t.state == trip_state::offered ||
        t.state == trip_state::in_progress)
      return illegal(t, ev);  // offers are declined, running trips are completed
    if (auto ok = from_assigned_driver(t, ev); !ok) return ok.err();
    // A driver backing out before pickup: the rider gets another driver.
    if (t.state == trip_state::accepted) return back_to_requested(t, ev);
    fee = rules.no_show_fee_minor;  // driver_arrived: the rider did not show up
  }
  driver_id released = t.state == trip_state::offered ? t.offered_to : t.driver;
  t.cancelled_by = ev.by;
  t.cancel_reason = ev.reason;
  t.cancel_fee_minor = fee;
  auto tr = move(t, trip_state::cancelled, ev.at_ms);
  tr.fee_minor = fee;
  tr.released_driver = released;
  return tr;
}

result<trip_transition> on_requested(trip& t, const trip_event& ev, const trip_rules& rules) {
  switch (ev.kind) {
    case trip_event_kind::offer: {
      if (!ev.driver.valid()) return error{errc::unknown_driver, "offer without a driver"};
      t.offered_to = ev.driver;
      t.offer_deadline_ms = ev.at_ms + rules.offer_timeout_ms;
      ++t.offers_made;
      return move(t, trip_state::offered, ev.at_ms);
    }
    case trip_event_kind::expire: {
      if (ev.at_ms < t.requested_at_ms + rules.request_ttl_ms)
        return error{errc::illegal_transition, to_string(t.id) + " has not reached its ttl yet"};
      t.cancelled_by = party::system;
      return move(t, trip_state::expired, ev.at_ms);
    }
    case trip_event_kind::cancel:
      return cancel(t, ev, rules);
    default:
      return illegal(t, ev);
  }
}

result<trip_transition> on_offered(trip& t, const trip_event& ev, const trip_rules& rules) {
  const bool from_offered_driver = ev.driver.valid() && ev.driver == t.offered_to;
  switch (ev.kind) {
    case trip_event_kind::accept:
      if (!from_offered_driver)
        return error{errc::not_offered_to_driver,
                     to_string(t.id) + " is not offered to " + to_string(ev.driver)};
      if (ev.at_ms > t.offer_deadline_ms)
        return error{errc::offer_expired, "the offer for " + to_string(t.id) + " has expired"};
      t.driver = t.offered_to;
      t.offered_to = {};
      t.accepted_at_ms = ev.at_ms;
      return move(t, trip_state::accepted, ev.at_ms);
    case trip_event_kind::decline:
      if (!from_offered_driver)
        return error{errc::not_offered_to_driver,
                     to_string(t.id) + " is not offered to " + to_string(ev.driver)};
      return back_to_requested(t, ev);
    case trip_event_kind::offer_timeout:
      if (ev.at_ms < t.offer_deadline_ms)
        return error{errc::illegal_transition,
                     "the offer for " + to_string(t.id) + " is still open"};
      return back_to_requested(t, ev);
    case trip_event_kind::expire: {
      if (ev.at_ms < t.requested_at_ms + rules.request_ttl_ms)
        return error{errc::illegal_transition, to_string(t.id) + " has not reached its ttl yet"};
      auto released = t.offered_to;
      t.offered_to = {};
      t.cancelled_by = party::system;
      auto tr = move(t, trip_state::expired, ev.at_ms);
      tr.released_driver = released;
      return tr;
    }
    case trip_event_kind::cancel:
      return cancel(t, ev, rules);
    default:
      return illegal(t, ev);
  }
}

result<trip_transition> on_assigned(trip& t, const trip_event& ev, const trip_rules& rules) {
  if (ev.kind == trip_event_kind::cancel) return cancel(t, ev, rules);
  const bool legal = (t.state == trip_state::accepted && ev.kind == trip_event_kind::arrive) ||
                     (t.state == trip_state::driver_arrived && ev.kind == trip_event_kind::start) ||
                     (t.state == trip_state::in_progress && ev.kind == trip_event_kind::complete);
  if (!legal) return illegal(t, ev);
  if (auto ok = from_assigned_driver(t, ev); !ok) return ok.err();
  switch (ev.kind) {
    case trip_event_kind::arrive:
      t.arrived_at_ms = ev.at_ms;
      return move(t, trip_state::driver_arrived, ev.at_ms);
    case trip_event_kind::start:
      if (ev.pin != t.pin)
        return error{errc::wrong_pin, "the PIN does not match " + to_string(t.id)};
      t.started_at_ms = ev.at_ms;
      return move(t, trip_state::in_progress, ev.at_ms);
    default: {
      auto tr = move(t, trip_state::completed, ev.at_ms);
      tr.released_driver = t.driver;
      return tr;
    }
  }
}

}  // namespace

std::string_view to_string(trip_state s) noexcept {
  auto i = static_cast<std::size_t>(s);
  return i < state_names.size() ? state_names[i] : "unknown";
}

std::optional<trip_state> trip_state_from_string(std::string_view name) noexcept {
  for (std::size_t i = 0; i < state_names.size(); ++i)
    if (state_names[i] == name) return static_cast<trip_state>(i);
  return std::nullopt;
}

bool is_terminal(trip_state s) noexcept {
  return s == trip_state::completed || s == trip_state::cancelled || s == trip_state::expired;
}

std::string_view to_string(party p) noexcept {
  switch (p) {
    case party::rider:
      return "rider";
    case party::driver:
      return "driver";
    case party::system:
      return "system";
  }
  return "unknown";
}

std::string_view to_string(trip_event_kind k) noexcept {
  constexpr std::array<std::string_view, 9> names{"offer",    "decline", "offer_timeout",
                                                  "accept",   "arrive",  "start",
                                                  "complete", "cancel",  "expire"};
  auto i = static_cast<std::size_t>(k);
  return i < names.size() ? names[i] : "unknown";
}

error count_wrong_pin(trip& t, const trip_rules& rules) {
  const std::uint32_t limit = rules.max_pin_attempts > 0 ? rules.max_pin_attempts : 1;
  if (++t.pin_failures < limit)
    return {errc::wrong_pin, "the PIN does not match " + to_string(t.id) + " (" +
                                 std::to_string(limit - t.pin_failures) + " tries left)"};
  t.pin.clear();
  t.pin_failures = 0;
  return {errc::pin_locked, std::to_string(limit) + " wrong PINs for " + to_string(t.id) +
                                ": the rider has a new PIN"};
}

result<trip_transition> apply(trip& t, const trip_event& ev, const trip_rules& rules) {
  trip before = t;  // apply() promises t is unchanged on error
  result<trip_transition> r = error{errc::internal, "unreachable"};
  switch (t.state) {
    case trip_state::requested:
      r = on_requested(t, ev, rules);
      break;
    case trip_state::offered:
      r = on_offered(t, ev, rules);
      break;
    case trip_state::accepted:
    case trip_state::driver_arrived:
    case trip_state::in_progress:
      r = on_assigned(t, ev, rules);
      break;
    default:
      r = illegal(t, ev);
      break;
  }
  if (!r) t = std::move(before);
  return r;
}

}  // namespace rideshard
