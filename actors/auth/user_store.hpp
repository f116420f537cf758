// In-memory registry of rider and driver accounts behind the HTTP API
// (POST /api/users, login, GET/PUT/DELETE /api/users/{id}).
// Durable when given account_durability hooks (serve writes accounts to its
// RocksDB store before answering, and restores them at start).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/password.hpp"
#include "auth/revocation.hpp"
#include "auth/subject.hpp"
#include "rideshard/engine/result.hpp"

namespace rideshard::auth {

/// One account. `password_hash` is an argon2id string: never send it to clients.
struct user {
  std::string id;  ///< "r-<n>" riders, "d-<n>" drivers, "a-<n>" admins; also the token subject
  role r = role::rider;
  std::string name;
  std::string email;  ///< stored lower-cased; unique across the store
  std::string password_hash;
  std::int64_t created_at_ms = 0;
  bool suspended = false;
};

/// POST /api/users body. Only riders and drivers register themselves; admin
/// accounts are made by create_admin() (`rideshard admin create-user`).
struct registration {
  role r = role::rider;
  std::string name;
  std::string email;
  std::string password;
};

/// PUT /api/users/{id} body: only the fields that are set change.
struct user_update {
  std::optional<std::string> name;
  std::optional<std::string> email;
  std::optional<std::string> password;
  std::optional<bool> suspended;  ///< the HTTP layer should let only admins set this
};

/// Where accounts are made durable. Both hooks are called under the store's
/// mutex after validation and before the change is visible or acknowledged; an
/// error undoes the change and is returned to the caller (storage_error).
struct account_durability {
  std::function<result<void>(const user&)> put;
  std::function<result<void>(const user&)> erase;
};

/// Minimum password length accepted at registration/update.
inline constexpr std::size_t min_password_bytes = 8;

/// The account registry. Thread-safe: every member may be called from any
/// thread; one mutex guards the maps and is never held while hashing, so slow
/// argon2 work on one request does not block others.
///
/// Errors for an id that names no account: unknown_rider for "r-<n>",
/// unknown_driver for "d-<n>", unauthenticated for "a-<n>" (no such admin),
/// invalid_argument for anything else.
class user_store {
 public:
  /// `next_id` yields the numeric part of new ids (e.g. id_generator::next; it
  /// is called under the store's mutex, so it need not be thread-safe; it must
  /// never return 0 or a value already used). `now_ms` gives Unix milliseconds.
  user_store(std::function<std::uint64_t()> next_id, std::function<std::int64_t()> now_ms,
             password_params params = {});

  /// Creates an account. Errors: invalid_argument (role admin, empty/oversized
  /// name, malformed email, password shorter than min_password_bytes or longer
  /// than max_password_bytes); duplicate_id (email already registered);
  /// internal (hashing failed, or the id source repeated an id).
  [[nodiscard]] result<user> register_user(const registration& reg);

  /// Creates an admin account ("a-<n>", role admin; `reg.r` is ignored). Same
  /// validation, hashing and durability as register_user; emails are unique
  /// across every role. Callers must check that the caller is an admin.
  [[nodiscard]] result<user> create_admin(const registration& reg);

  /// The account for `email` if `password` matches. Errors: unauthenticated
  /// with the same message for an unknown email and a wrong password (and the
  /// same argon2 work, so timing does not tell them apart); forbidden if the
  /// password is right but the account is suspended.
  [[nodiscard]] result<user> login(std::string_view email, std::string_view password) const;

  /// The account `id`. Errors: see the class comment.
  [[nodiscard]] result<user> get(std::string_view id) const;

  /// Applies `upd` and returns the updated account. Suspending (suspended =
  /// true) revokes the account's tokens before returning (see set_revocation).
  /// Errors: as get(); the validation errors of register_user; duplicate_id for
  /// a taken email.
  [[nodiscard]] result<user> update(std::string_view id, const user_update& upd);

  /// Deletes the account `id` and revokes its tokens before returning.
  /// Errors: see the class comment.
  [[nodiscard]] result<void> remove(std::string_view id);

  std::size_t size() const;
  /// Makes every later change durable through `hooks` (set once, before use).
  void set_durability(account_durability hooks);
  /// Puts back accounts read from durable storage (start-up). Errors:
  /// duplicate_id (two accounts with one id or email: nothing restored).
  [[nodiscard]] result<void> restore(const std::vector<user>& accounts);
  /// From now on suspension and deletion revoke the subject's tokens in `list`
  /// (issued up to the current second) and then call `on_revoke(subject)` (e.g.
  /// to close its live sessions; called without the store's lock held). Accounts
  /// already suspended (restored at start) are revoked at once. Set after restore().
  void set_revocation(std::shared_ptr<revocation_list> list,
                      std::function<void(const std::string&)> on_revoke = nullptr);

 private:
  [[nodiscard]] static error unknown(std::string_view id);
  [[nodiscard]] result<user> add_account(role r, const registration& reg);
  void revoke(const std::string& subject);

  std::function<std::uint64_t()> next_id_;
  std::function<std::int64_t()> now_ms_;
  password_params params_;
  account_durability durable_;
  std::string dummy_hash_;  ///< verified against on unknown emails (timing)
  mutable std::mutex mu_;
  std::unordered_map<std::string, user> by_id_;               // guarded by mu_
  std::unordered_map<std::string, std::string> id_by_email_;  // guarded by mu_
  std::shared_ptr<revocation_list> revocations_;              // guarded by mu_
  std::function<void(const std::string&)> on_revoke_;         // guarded by mu_
};

/// Lower-cases and checks an email: 3..254 bytes, one '@', non-empty local
/// part <= 64 bytes, a dotted domain, printable ASCII without spaces.
/// Errors: invalid_argument.
[[nodiscard]] result<std::string> normalize_email(std::string_view email);

}  // namespace rideshard::auth
