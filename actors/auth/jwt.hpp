// JSON Web Tokens for rideshard clients: HS256 (via libjwt) carrying subject, role,
// iat, exp, iss and aud, with a `kid` header naming the secret that signed them
// (rotation without downtime). token_authority mints and verifies them; nothing
// else in the node parses tokens.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/revocation.hpp"
#include "auth/subject.hpp"
#include "rideshard/engine/result.hpp"

namespace rideshard::auth {

/// The verified content of a token.
struct claims {
  std::string subject;  ///< "r-<n>", "d-<n>" or a free-form admin name
  role r = role::rider;
  std::int64_t issued_at_s = 0;   ///< Unix seconds ("iat")
  std::int64_t expires_at_s = 0;  ///< Unix seconds ("exp")
  std::string issuer;             ///< "iss"
  std::string audience;           ///< "aud"
  std::string key_id;             ///< the "kid" header: which secret signed it
};

/// Tuning of a token_authority. Defaults suit production.
struct token_options {
  std::int64_t leeway_s = 30;            ///< clock skew tolerated on exp and iat, 0..300
  std::int64_t max_ttl_s = 366 * 86400;  ///< mint() refuses longer lifetimes
  std::size_t max_token_bytes = 4096;    ///< verify() refuses longer strings outright
  std::string audience = "rideshard";    ///< "aud" minted and required
  /// Secrets still accepted (each by its kid) but never used to mint: the one
  /// being rotated out. Each >= min_secret_bytes.
  std::vector<std::string> previous_secrets;
  /// Checked on every verify(): tokens of a revoked subject issued at or before
  /// its revocation are refused. Null: no revocation.
  std::shared_ptr<const revocation_list> revocations;
};

/// Unix seconds. Must be safe to call from several threads if verify() is.
using unix_clock = std::function<std::int64_t()>;

/// The system clock as Unix seconds.
std::int64_t system_unix_seconds();

/// The issuer rideshard mints and expects unless configured otherwise.
inline constexpr std::string_view default_issuer = "rideshard";

/// A publicly known secret for local development only (`rideshard token` falls
/// back to it with a warning). A node must never accept it outside dev mode.
inline constexpr std::string_view development_secret =
    "rideshard-DEVELOPMENT-ONLY-secret-do-not-deploy";

/// Minimum secret length for HS256 (RFC 7518 §3.2: key >= hash size).
inline constexpr std::size_t min_secret_bytes = 32;

/// The `kid` of a secret: "k" + the first 16 hex digits of its SHA-256. Every
/// node and `rideshard token` derive the same kid from the same secret, so
/// rotation needs no extra configuration; the digest prefix reveals nothing usable.
std::string key_id(std::string_view secret);

/// Mints and verifies HS256 tokens: mints with the current secret, verifies with
/// the secret its `kid` names (current or previous).
///
/// Thread-safety: immutable after create(); mint() and verify() are const and
/// may run concurrently from any number of threads (each call uses its own libjwt
/// object; libjwt keeps no global mutable state for HS256). The injected clock
/// must itself be thread-safe. Copyable; copies share nothing mutable.
class token_authority {
 public:
  /// `secret` is the current secret (mints and verifies).
  /// Errors: bad_config if a secret is shorter than min_secret_bytes, the
  /// issuer or audience is empty, the clock is empty, or options are out of range.
  [[nodiscard]] static result<token_authority> create(std::string secret, std::string issuer,
                                                      unix_clock clock, token_options opts = {});

  /// A signed token for `subject` with role `r`, valid for `ttl_s` seconds from now.
  /// Errors: invalid_argument (subject malformed for the role, see validate_subject;
  /// ttl_s <= 0 or > max_ttl_s); internal (libjwt failure).
  [[nodiscard]] result<std::string> mint(std::string_view subject, role r,
                                         std::int64_t ttl_s) const;

  /// Verifies the kid (selects the secret), signature, algorithm (HS256 only —
  /// "none" and every other alg are refused), issuer, audience, expiry, claim
  /// shapes and revocation.
  /// Errors: token_expired (now > exp + leeway); unauthenticated for everything
  /// else (malformed, missing or unknown kid, bad signature, wrong alg, wrong
  /// issuer or audience, missing/unknown role, subject not matching the role, iat
  /// in the future, exp <= iat, revoked).
  [[nodiscard]] result<claims> verify(std::string_view token) const;

  /// verify() on an HTTP Authorization header value: "Bearer <token>" (scheme
  /// case-insensitive, RFC 7235). Errors: as verify(); unauthenticated if the
  /// header is empty or not a Bearer credential.
  [[nodiscard]] result<claims> verify_bearer(std::string_view authorization_header) const;

  const std::string& issuer() const noexcept { return issuer_; }

 private:
  token_authority(std::string secret, std::string issuer, unix_clock clock, token_options opts);

  struct key {
    std::string kid;
    std::string secret;
  };
  std::vector<key> keys_;  ///< keys_[0] mints
  std::string issuer_;
  unix_clock clock_;
  token_options opts_;
};

/// The previous secret from the environment variable `env_var` (rotation): none
/// if unset or empty. Errors: bad_config if shorter than min_secret_bytes.
[[nodiscard]] result<std::vector<std::string>> load_previous_secrets(std::string_view env_var);

/// Where the JWT secret comes from, in order: the environment variable named
/// `env_var` (if set and non-empty), else `config_value` (if non-empty).
/// Errors: bad_config if neither is set or the chosen one is shorter than
/// min_secret_bytes (the message names the source, never the secret).
[[nodiscard]] result<std::string> load_jwt_secret(std::string_view env_var,
                                                  std::string_view config_value);

}  // namespace rideshard::auth
