// In-memory account registry (see user_store.hpp).
#include "auth/user_store.hpp"

#include <utility>

namespace rideshard::auth {
namespace {

constexpr std::size_t max_name_bytes = 100;

result<void> validate_name(std::string_view name) {
  if (name.empty()) return {errc::invalid_argument, "name must not be empty"};
  if (name.size() > max_name_bytes)
    return {errc::invalid_argument,
            "name longer than " + std::to_string(max_name_bytes) + " bytes"};
  for (char c : name)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return {errc::invalid_argument, "name contains control characters"};
  return {};
}

result<void> validate_password(std::string_view password) {
  if (password.size() < min_password_bytes)
    return {errc::invalid_argument,
            "password must be at least " + std::to_string(min_password_bytes) + " bytes"};
  if (password.size() > max_password_bytes)
    return {errc::invalid_argument,
            "password longer than " + std::to_string(max_password_bytes) + " bytes"};
  return {};
}

}  // namespace

result<std::string> normalize_email(std::string_view email) {
  const error bad{errc::invalid_argument, "malformed email address"};
  if (email.size() < 3 || email.size() > 254) return bad;
  const std::size_t at = email.find('@');
  if (at == std::string_view::npos || at == 0 || at > 64 ||
      email.find('@', at + 1) != std::string_view::npos)
    return bad;
  const std::string_view domain = email.substr(at + 1);
  const std::size_t dot = domain.find('.');
  if (dot == std::string_view::npos || domain.front() == '.' || domain.back() == '.' ||
      domain.find("..") != std::string_view::npos)
    return bad;
  std::string out;
  out.reserve(email.size());
  for (char c : email) {
    if (c <= ' ' || c > '~') return bad;
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

user_store::user_store(std::function<std::uint64_t()> next_id, std::function<std::int64_t()> now_ms,
                       password_params params)
    : next_id_(std::move(next_id)), now_ms_(std::move(now_ms)), params_(params) {
  // If this fails, dummy_hash_ stays empty and unknown-email logins are just faster.
  if (auto h = hash_password("rideshard-timing-dummy", params_)) dummy_hash_ = std::move(*h);
}

error user_store::unknown(std::string_view id) {
  if (parse_rider_subject(id)) return {errc::unknown_rider, "no rider account " + std::string(id)};
  if (parse_driver_subject(id))
    return {errc::unknown_driver, "no driver account " + std::string(id)};
  if (id.size() > 2 && id.substr(0, 2) == "a-")
    return {errc::unauthenticated, "no admin account " + std::string(id)};
  return {errc::invalid_argument, "not a user id (want r-<n> or d-<n>)"};
}

result<user> user_store::register_user(const registration& reg) {
  if (reg.r == role::admin) return {errc::invalid_argument, "admin accounts cannot be registered"};
  return add_account(reg.r, reg);
}

result<user> user_store::create_admin(const registration& reg) {
  return add_account(role::admin, reg);
}

result<user> user_store::add_account(role r, const registration& reg) {
  if (auto ok = validate_name(reg.name); !ok) return ok.err();
  auto email = normalize_email(reg.email);
  if (!email) return email.err();
  if (auto ok = validate_password(reg.password); !ok) return ok.err();
  const error taken{errc::duplicate_id, "email already registered"};
  {
    std::lock_guard<std::mutex> lock(mu_);  // fail fast before the expensive hash
    if (id_by_email_.count(*email) != 0) return taken;
  }
  auto hash = hash_password(reg.password, params_);
  if (!hash) return hash.err();

  std::lock_guard<std::mutex> lock(mu_);
  if (id_by_email_.count(*email) != 0) return taken;  // lost a race with another register
  const std::uint64_t n = next_id_();
  user u;
  u.id = r == role::rider    ? subject_of(rider_id{n})
         : r == role::driver ? subject_of(driver_id{n})
                             : "a-" + std::to_string(n);
  if (n == 0 || by_id_.count(u.id) != 0)
    return {errc::internal, "id source returned an unusable id"};
  u.r = r;
  u.name = reg.name;
  u.email = *email;
  u.password_hash = std::move(*hash);
  u.created_at_ms = now_ms_();
  if (durable_.put)
    if (auto ok = durable_.put(u); !ok) return ok.err();  // nothing visible yet
  id_by_email_.emplace(u.email, u.id);
  by_id_.emplace(u.id, u);
  return u;
}

result<user> user_store::login(std::string_view email, std::string_view password) const {
  const error refused{errc::unauthenticated, "wrong email or password"};
  std::optional<user> found;
  if (auto norm = normalize_email(email)) {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = id_by_email_.find(*norm); it != id_by_email_.end()) found = by_id_.at(it->second);
  }
  if (!found) {
    (void)verify_password(dummy_hash_, password);  // same work as a real mismatch
    return refused;
  }
  if (!verify_password(found->password_hash, password)) return refused;
  if (found->suspended) return {errc::forbidden, "account suspended"};
  return std::move(*found);
}

result<user> user_store::get(std::string_view id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_id_.find(std::string(id));
  if (it == by_id_.end()) return unknown(id);
  return it->second;
}

result<user> user_store::update(std::string_view id, const user_update& upd) {
  if (upd.name)
    if (auto ok = validate_name(*upd.name); !ok) return ok.err();
  std::optional<std::string> email;
  if (upd.email) {
    auto norm = normalize_email(*upd.email);
    if (!norm) return norm.err();
    email = std::move(*norm);
  }
  std::optional<std::string> hash;
  if (upd.password) {
    if (auto ok = validate_password(*upd.password); !ok) return ok.err();
    auto h = hash_password(*upd.password, params_);  // outside the lock: slow
    if (!h) return h.err();
    hash = std::move(*h);
  }

  std::unique_lock<std::mutex> lock(mu_);
  auto it = by_id_.find(std::string(id));
  if (it == by_id_.end()) return unknown(id);
  user u = it->second;  // a copy: the stored one changes only once durable
  if (email && *email != u.email && id_by_email_.count(*email) != 0)
    return {errc::duplicate_id, "email already registered"};
  const std::string old_email = u.email;
  if (email) u.email = *email;
  if (upd.name) u.name = *upd.name;
  if (hash) u.password_hash = std::move(*hash);
  if (upd.suspended) u.suspended = *upd.suspended;
  if (durable_.put)
    if (auto ok = durable_.put(u); !ok) return ok.err();
  if (u.email != old_email) {
    id_by_email_.erase(old_email);
    id_by_email_.emplace(u.email, u.id);
  }
  it->second = u;
  lock.unlock();
  if (upd.suspended && *upd.suspended) revoke(u.id);
  return u;
}

result<void> user_store::remove(std::string_view id) {
  std::unique_lock<std::mutex> lock(mu_);
  auto it = by_id_.find(std::string(id));
  if (it == by_id_.end()) return unknown(id);
  if (durable_.erase)
    if (auto ok = durable_.erase(it->second); !ok) return ok.err();
  const std::string subject = it->second.id;
  id_by_email_.erase(it->second.email);
  by_id_.erase(it);
  lock.unlock();
  revoke(subject);
  return {};
}

void user_store::set_revocation(std::shared_ptr<revocation_list> list,
                                std::function<void(const std::string&)> on_revoke) {
  std::vector<std::string> suspended;
  {
    std::lock_guard<std::mutex> lock(mu_);
    revocations_ = std::move(list);
    on_revoke_ = std::move(on_revoke);
    for (const auto& [id, u] : by_id_)
      if (u.suspended) suspended.push_back(id);
  }
  for (const auto& id : suspended) revoke(id);  // restored suspended accounts
}

void user_store::revoke(const std::string& subject) {
  std::shared_ptr<revocation_list> list;
  std::function<void(const std::string&)> hook;
  {
    std::lock_guard<std::mutex> lock(mu_);
    list = revocations_;
    hook = on_revoke_;
  }
  if (list) list->revoke(subject, now_ms_() / 1000);
  if (hook) hook(subject);
}

void user_store::set_durability(account_durability hooks) {
  std::lock_guard<std::mutex> lock(mu_);
  durable_ = std::move(hooks);
}

result<void> user_store::restore(const std::vector<user>& accounts) {
  std::unordered_map<std::string, user> ids;
  std::unordered_map<std::string, std::string> emails;
  for (const auto& u : accounts) {
    if (!ids.emplace(u.id, u).second || !emails.emplace(u.email, u.id).second)
      return {errc::duplicate_id, "stored accounts repeat id or email " + u.id};
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [id, u] : ids) {
    if (by_id_.count(id) != 0 || id_by_email_.count(u.email) != 0)
      return {errc::duplicate_id, "account " + id + " already present"};
  }
  for (auto& [id, u] : ids) {
    id_by_email_.emplace(u.email, id);
    by_id_.emplace(id, std::move(u));
  }
  return {};
}

std::size_t user_store::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_id_.size();
}

}  // namespace rideshard::auth
