// The admin console's browser session: an HttpOnly, SameSite=Strict cookie that
// carries an admin JWT, and the CSRF token derived from it (double submit: the
// page sends it back in X-CSRF-Token on every request that changes anything).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rideshard::auth {

/// The cookie's name. Stable: browsers keep it across node restarts.
inline constexpr std::string_view console_cookie = "rideshard_admin";

/// The CSRF token of a session: 32 hex digits of SHA-256("rideshard-csrf\n" + token).
/// Stateless and bound to the session: only a page that could read the session
/// (the console, told at sign-in) knows it; another site can neither read the
/// HttpOnly cookie nor this value. Pure; thread-safe.
std::string csrf_token_of(std::string_view session_token);

/// Whether `presented` (the X-CSRF-Token header) is the CSRF token of
/// `session_token`. Compares in constant time.
bool csrf_matches(std::string_view session_token, std::string_view presented);

/// The value of cookie `name` in a Cookie header ("a=1; rideshard_admin=eyJ..."),
/// or "" when absent.
std::string cookie_value(std::string_view cookie_header, std::string_view name);

/// A Set-Cookie value for the session: HttpOnly, SameSite=Strict, Path=/,
/// Max-Age=max_age_s (0 clears it), Secure when the node serves TLS.
std::string session_cookie(std::string_view token, std::int64_t max_age_s, bool secure);

}  // namespace rideshard::auth
