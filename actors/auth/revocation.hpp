// Token revocation: a per-subject "not before" table. Suspending or deleting an
// account revokes every token issued to it so far, at once.
#pragma once

#include <cstdint>
#include <shared_mutex>
#include <string>
#include <unordered_map>

namespace rideshard::auth {

/// Subjects whose older tokens are refused. Thread-safe: revoke() and
/// is_revoked() may run concurrently from any thread (readers share a lock).
/// In memory: serve re-revokes suspended accounts at start (see README).
class revocation_list {
 public:
  /// Refuses every token of `subject` issued at or before `at_s` (Unix seconds).
  /// A later call moves the bound forward, never back.
  void revoke(const std::string& subject, std::int64_t at_s);

  /// True if a token of `subject` issued at `issued_at_s` is revoked.
  bool is_revoked(const std::string& subject, std::int64_t issued_at_s) const;

  std::size_t size() const;

 private:
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::int64_t> revoked_up_to_s_;  // guarded by mu_
};

}  // namespace rideshard::auth
