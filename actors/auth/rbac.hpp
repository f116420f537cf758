// Role-based access policy: pure functions the node calls before acting on a
// verified token. Admins may do everything; riders touch only their own trips and
// account; drivers only trips assigned (or offered) to them and their own account.
#pragma once

#include <string_view>

#include "auth/jwt.hpp"
#include "auth/subject.hpp"
#include "rideshard/engine/ids.hpp"
#include "rideshard/engine/result.hpp"
#include "rideshard/engine/trip.hpp"

namespace rideshard::auth {

/// May `who` see the trip owned by `owner` with `assigned` as its driver (an
/// invalid driver_id when none)? Admin: yes; the owning rider: yes; the assigned
/// driver: yes; anyone else: forbidden. All functions here are pure and thread-safe.
[[nodiscard]] result<void> can_view_trip(const claims& who, rider_id owner, driver_id assigned);

/// May `who` apply `action` to that trip? Admin: any action. The owning rider:
/// cancel only. The assigned (or offered) driver: accept, decline, arrive, start,
/// complete, cancel. System-only events (offer, offer_timeout, expire): admin only.
/// Errors: forbidden, with a message naming the rule that refused.
[[nodiscard]] result<void> can_act_on_trip(const claims& who, rider_id owner, driver_id assigned,
                                           trip_event_kind action);

/// May `who` read/modify/delete the account `user_subject` ("r-<n>" / "d-<n>")?
/// Admin: yes; the account's own subject: yes; anyone else: forbidden.
[[nodiscard]] result<void> can_manage_user(const claims& who, std::string_view user_subject);

/// Does `who` hold role `required` (admin always passes)? Errors: forbidden.
/// For endpoints tied to a role, e.g. /v1/driver.
[[nodiscard]] result<void> require_role(const claims& who, role required);

}  // namespace rideshard::auth
