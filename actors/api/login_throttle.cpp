// login_throttle: fixed-window failure counters per email and per address.
#include "api/detail/login_throttle.hpp"

#include <algorithm>

namespace rideshard::api::detail {

bool login_throttle::over(const table& t, const std::string& key, std::uint32_t limit,
                          std::int64_t now) const {
  auto it = t.find(key);
  return it != t.end() && now - it->second.start_ms < limits_.window_ms &&
         it->second.failures >= limit;
}

std::int64_t login_throttle::left(const table& t, const std::string& key, std::uint32_t limit,
                                  std::int64_t now) const {
  if (!over(t, key, limit, now)) return 0;
  return t.at(key).start_ms + limits_.window_ms - now;
}

void login_throttle::bump(table& t, const std::string& key, std::int64_t now) {
  auto it = t.find(key);
  if (it == t.end()) {
    if (t.size() >= limits_.max_keys) {  // drop finished windows first
      for (auto i = t.begin(); i != t.end();)
        i = now - i->second.start_ms >= limits_.window_ms ? t.erase(i) : std::next(i);
      if (t.size() >= limits_.max_keys) return;
    }
    it = t.emplace(key, window{now, 0}).first;
  }
  if (now - it->second.start_ms >= limits_.window_ms) it->second = window{now, 0};
  ++it->second.failures;
}

login_throttle::verdict login_throttle::check(const std::string& email, const std::string& address,
                                              std::int64_t now_ms) {
  std::lock_guard<std::mutex> lock{mu_};
  if (over(by_account_, email, limits_.per_account, now_ms)) return verdict::account_locked;
  if (!address.empty() && over(by_address_, address, limits_.per_address, now_ms))
    return verdict::address_locked;
  return verdict::allowed;
}

void login_throttle::failed(const std::string& email, const std::string& address,
                            std::int64_t now_ms) {
  std::lock_guard<std::mutex> lock{mu_};
  bump(by_account_, email, now_ms);
  if (!address.empty()) bump(by_address_, address, now_ms);
}

void login_throttle::succeeded(const std::string& email) {
  std::lock_guard<std::mutex> lock{mu_};
  by_account_.erase(email);
}

std::int64_t login_throttle::retry_after_ms(const std::string& email, const std::string& address,
                                            std::int64_t now_ms) {
  std::lock_guard<std::mutex> lock{mu_};
  return std::max(left(by_account_, email, limits_.per_account, now_ms),
                  address.empty() ? 0 : left(by_address_, address, limits_.per_address, now_ms));
}

}  // namespace rideshard::api::detail
