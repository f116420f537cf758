// Password hashing with argon2id (libargon2): PHC-encoded strings
// "$argon2id$v=19$m=...,t=...,p=...$salt$hash" that carry their own parameters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "rideshard/engine/result.hpp"

namespace rideshard::auth {

/// argon2id cost parameters. The defaults are OWASP's minimum recommendation
/// (Password Storage Cheat Sheet): m = 19 MiB, t = 2, p = 1, 16-byte salt,
/// 32-byte hash — about 20-40 ms per hash on one core here. Tests pass small
/// costs (e.g. m = 64 KiB, t = 1) to stay fast; verification reads the costs
/// back from the encoded string, so changing defaults never breaks old hashes.
struct password_params {
  std::uint32_t t_cost = 2;              ///< passes over memory, >= 1
  std::uint32_t m_cost_kib = 19 * 1024;  ///< memory in KiB, >= 8 * parallelism, <= 1 GiB
  std::uint32_t parallelism = 1;         ///< lanes, 1..16
  std::uint32_t salt_bytes = 16;         ///< random salt length, 8..64
  std::uint32_t hash_bytes = 32;         ///< output length, 16..64
};

/// Passwords longer than this are refused (bounds the work a request can ask for).
inline constexpr std::size_t max_password_bytes = 1024;

/// Hashes `password` with a fresh random salt (getrandom(2), the kernel CSPRNG).
/// Thread-safe; CPU- and memory-heavy: call it off latency-sensitive threads.
/// Errors: invalid_argument (empty, > max_password_bytes, or params out of range);
/// internal (no randomness or argon2 failure).
[[nodiscard]] result<std::string> hash_password(std::string_view password,
                                                const password_params& params = {});

/// True iff `candidate` matches the argon2id `encoded` hash. False for any
/// malformed input (empty/oversized candidate, not an argon2id string, costs above
/// the limits in password_params). Thread-safe; as heavy as hash_password.
bool verify_password(std::string_view encoded, std::string_view candidate);

}  // namespace rideshard::auth
