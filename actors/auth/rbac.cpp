// Role-based access policy (see rbac.hpp).
#include "auth/rbac.hpp"

#include <string>

namespace rideshard::auth {
namespace {

error forbidden(std::string message) { return {errc::forbidden, std::move(message)}; }

// Whether `who` is the rider `owner` / the driver `assigned` (invalid ids never match).
bool is_rider(const claims& who, rider_id owner) {
  if (who.r != role::rider || !owner.valid()) return false;
  auto id = parse_rider_subject(who.subject);
  return id.ok() && *id == owner;
}

bool is_driver(const claims& who, driver_id assigned) {
  if (who.r != role::driver || !assigned.valid()) return false;
  auto id = parse_driver_subject(who.subject);
  return id.ok() && *id == assigned;
}

bool is_driver_action(trip_event_kind k) {
  switch (k) {
    case trip_event_kind::accept:
    case trip_event_kind::decline:
    case trip_event_kind::arrive:
    case trip_event_kind::start:
    case trip_event_kind::complete:
    case trip_event_kind::cancel:
      return true;
    case trip_event_kind::offer:
    case trip_event_kind::offer_timeout:
    case trip_event_kind::expire:
      return false;
  }
  return false;
}

}  // namespace

result<void> can_view_trip(const claims& who, rider_id owner, driver_id assigned) {
  if (who.r == role::admin || is_rider(who, owner) || is_driver(who, assigned)) return {};
  if (who.r == role::rider) return forbidden(who.subject + " may only view their own trips");
  return forbidden(who.subject + " may only view trips assigned to them");
}

result<void> can_act_on_trip(const claims& who, rider_id owner, driver_id assigned,
                             trip_event_kind action) {
  if (who.r == role::admin) return {};
  const std::string act(to_string(action));
  if (who.r == role::rider) {
    if (!is_rider(who, owner)) return forbidden(who.subject + " may only act on their own trips");
    if (action != trip_event_kind::cancel) return forbidden("riders may not " + act + " a trip");
    return {};
  }
  if (!is_driver(who, assigned))
    return forbidden(who.subject + " may only act on trips assigned to them");
  if (!is_driver_action(action)) return forbidden("drivers may not " + act + " a trip");
  return {};
}

result<void> can_manage_user(const claims& who, std::string_view user_subject) {
  if (who.r == role::admin) return {};
  if (!user_subject.empty() && who.subject == user_subject) return {};
  return forbidden(who.subject + " may only manage their own account");
}

result<void> require_role(const claims& who, role required) {
  if (who.r == required || who.r == role::admin) return {};
  return forbidden("this requires role " + std::string(to_string(required)) + ", token has " +
                   std::string(to_string(who.r)));
}

}  // namespace rideshard::auth
