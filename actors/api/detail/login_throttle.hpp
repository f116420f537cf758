// Private to the API: login throttling. Failed logins are counted per account
// (email) and per client address in fixed windows; past the limit a login is
// refused before any password is checked (429 rate_limited).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "api/http_api.hpp"

namespace rideshard::api::detail {

/// Thread-safe (one mutex); O(1) per call, memory bounded by max_keys.
class login_throttle {
 public:
  explicit login_throttle(login_limits limits) : limits_(limits) {}

  enum class verdict { allowed, account_locked, address_locked };
  /// Whether a login for `email` from `address` may be tried at `now_ms`.
  verdict check(const std::string& email, const std::string& address, std::int64_t now_ms);
  /// A failed login (wrong password or unknown email) counts for both keys.
  void failed(const std::string& email, const std::string& address, std::int64_t now_ms);
  /// A successful login clears the account's count (not the address's).
  void succeeded(const std::string& email);
  /// Milliseconds until `email`/`address` may try again (0: now).
  std::int64_t retry_after_ms(const std::string& email, const std::string& address,
                              std::int64_t now_ms);

 private:
  struct window {
    std::int64_t start_ms = 0;
    std::uint32_t failures = 0;
  };
  using table = std::unordered_map<std::string, window>;
  bool over(const table& t, const std::string& key, std::uint32_t limit, std::int64_t now) const;
  void bump(table& t, const std::string& key, std::int64_t now);
  std::int64_t left(const table& t, const std::string& key, std::uint32_t limit,
                    std::int64_t now) const;

  login_limits limits_;
  std::mutex mu_;
  table by_account_;  // guarded by mu_
  table by_address_;  // guarded by mu_
};

}  // namespace rideshard::api::detail
