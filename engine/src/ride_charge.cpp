// next_ride_action and the ride ledger view (see ride_charge.hpp).
#include "rideshard/engine/ride_charge.hpp"

#include <array>

namespace rideshard {

bool add_ride_transfer(ride_ledger& l, const transfer& t) {
  const std::uint64_t domain = (t.id.lo >> 16) & 0xffff;
  if (domain != static_cast<std::uint64_t>(money_domain::trip) || (t.id.lo >> 32) != 0)
    return false;
  if (l.trip != 0 && t.id.hi != l.trip) return false;
  switch (static_cast<money_code>(t.id.lo & 0xffff)) {
    case money_code::hold:
      l.held = t.amount;
      l.rider = rider_id{t.debit.owner};
      break;
    case money_code::capture:
      l.captured = t.amount;
      break;
    case money_code::extra_charge:
      l.extra = t.amount;
      break;
    case money_code::release:
      l.released = true;
      break;
    case money_code::cancel_fee:
      l.fee = t.amount;
      break;
    default:
      return false;  // the split lines move no money at the PSP
  }
  l.trip = t.id.hi;
  return true;
}

namespace {

// An enum numbered 0..N-1 by its names, in order; the first name for anything else.
template <class E, std::size_t N>
std::string_view name_of(E e, const std::array<std::string_view, N>& names) {
  const auto i = static_cast<std::size_t>(e);
  return i < N ? names[i] : names[0];
}

constexpr std::array<std::string_view, 5> auth_names{"unknown", "authorized", "declined", "failed",
                                                     "no_method"};
constexpr std::array<std::string_view, 4> settle_names{"open", "captured", "released",
                                                       "uncollected"};
constexpr std::array<std::string_view, 8> step_names{"none",         "authorize",    "capture",
                                                     "cancel",       "charge_extra", "end_request",
                                                     "nothing_held", "uncollectable"};

}  // namespace

std::string_view to_string(ride_auth a) noexcept { return name_of(a, auth_names); }
std::string_view to_string(ride_settle s) noexcept { return name_of(s, settle_names); }
std::string_view to_string(ride_step s) noexcept { return name_of(s, step_names); }

ride_action next_ride_action(const ride_ledger& l, const ride_psp& p) {
  if (l.held <= 0) return {};
  if (p.auth == ride_auth::unknown) return {ride_step::authorize, l.held, money_code::hold};
  const bool ended = l.captured > 0 || l.fee > 0 || l.released;
  const bool authorized = p.auth == ride_auth::authorized;
  if (p.settle == ride_settle::open) {
    if (!ended) {
      const bool refused = p.auth == ride_auth::declined || p.auth == ride_auth::failed;
      if (refused && !p.request_ended) return {ride_step::end_request, 0, money_code::hold};
      return {};  // the ride goes on (ledger-only without a card)
    }
    if (l.captured > 0)
      return authorized ? ride_action{ride_step::capture, l.captured, money_code::capture}
                        : ride_action{ride_step::uncollectable, l.captured, money_code::capture};
    if (l.fee > 0)
      return authorized ? ride_action{ride_step::capture, l.fee, money_code::cancel_fee}
                        : ride_action{ride_step::uncollectable, l.fee, money_code::cancel_fee};
    return authorized ? ride_action{ride_step::cancel, 0, money_code::release}
                      : ride_action{ride_step::nothing_held, 0, money_code::release};
  }
  if (l.extra > 0 && !p.extra_done) {
    if (p.settle == ride_settle::captured)
      return {ride_step::charge_extra, l.extra, money_code::extra_charge};
    return {ride_step::uncollectable, l.extra, money_code::extra_charge};
  }
  return {};
}

}  // namespace rideshard
