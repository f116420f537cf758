// Roles and the mapping between a token subject string and typed entity ids:
// subject "r-42" <-> rider_id{42}, "d-7" <-> driver_id{7} (engine/ids.hpp's to_string).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "rideshard/engine/ids.hpp"
#include "rideshard/engine/result.hpp"

namespace rideshard::auth {

/// Who a token speaks for. The names ("rider", "driver", "admin") are stable:
/// they appear in tokens, logs and metrics labels. Never rename; only append.
enum class role : std::uint8_t { rider = 0, driver = 1, admin = 2 };

/// The stable name of a role; "unknown" only for an out-of-range value.
std::string_view to_string(role r) noexcept;

/// Parses a stable role name (exact, lower case). Errors: invalid_argument.
[[nodiscard]] result<role> role_from_string(std::string_view name);

/// The canonical subject of an entity: "r-<n>" / "d-<n>" (same as to_string(id)).
std::string subject_of(rider_id id);
std::string subject_of(driver_id id);

/// Parses a canonical rider subject "r-<n>": n decimal, 1..2^64-1, no sign, no
/// leading zeros (so each id has exactly one subject string). Errors: invalid_argument.
[[nodiscard]] result<rider_id> parse_rider_subject(std::string_view subject);
/// Same for drivers, "d-<n>". Errors: invalid_argument.
[[nodiscard]] result<driver_id> parse_driver_subject(std::string_view subject);

/// Checks that `subject` is well-formed for `r`: riders "r-<n>", drivers "d-<n>",
/// admins any 1..128 printable ASCII characters without spaces (e.g. "admin-ops").
/// Errors: invalid_argument.
[[nodiscard]] result<void> validate_subject(role r, std::string_view subject);

}  // namespace rideshard::auth
