// revocation_list: a shared-locked map subject -> last revoked issue second.
#include "auth/revocation.hpp"

#include <mutex>

namespace rideshard::auth {

void revocation_list::revoke(const std::string& subject, std::int64_t at_s) {
  std::unique_lock<std::shared_mutex> lock{mu_};
  auto [it, fresh] = revoked_up_to_s_.emplace(subject, at_s);
  if (!fresh && it->second < at_s) it->second = at_s;
}

bool revocation_list::is_revoked(const std::string& subject, std::int64_t issued_at_s) const {
  std::shared_lock<std::shared_mutex> lock{mu_};
  auto it = revoked_up_to_s_.find(subject);
  return it != revoked_up_to_s_.end() && issued_at_s <= it->second;
}

std::size_t revocation_list::size() const {
  std::shared_lock<std::shared_mutex> lock{mu_};
  return revoked_up_to_s_.size();
}

}  // namespace rideshard::auth
