// HS256 token minting and verification on top of libjwt 1.10 (see jwt.hpp).
#include "auth/jwt.hpp"

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <utility>

#include <jwt.h>
#include <openssl/sha.h>

#include <nlohmann/json.hpp>

namespace rideshard::auth {
namespace {

struct jwt_deleter {
  void operator()(jwt_t* p) const noexcept { jwt_free(p); }
};
using jwt_ptr = std::unique_ptr<jwt_t, jwt_deleter>;

// libjwt 1.10 hands out malloc'd strings (jwt_free_str arrived in 1.12).
struct malloc_deleter {
  void operator()(char* p) const noexcept { std::free(p); }
};
using c_string_ptr = std::unique_ptr<char, malloc_deleter>;

error unauthenticated(std::string message) { return {errc::unauthenticated, std::move(message)}; }

bool is_base64url(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

// Cheap shape check before libjwt sees the string: three non-empty base64url
// segments. Also rules out embedded NULs (libjwt takes a C string) and unsigned
// "alg":"none" tokens, whose signature segment is empty.
bool has_jws_shape(std::string_view token) {
  std::size_t dots = 0;
  std::size_t segment_len = 0;
  for (char c : token) {
    if (c == '.') {
      if (segment_len == 0) return false;
      ++dots;
      segment_len = 0;
    } else if (is_base64url(c)) {
      ++segment_len;
    } else {
      return false;
    }
  }
  return dots == 2 && segment_len > 0;
}

// An integer grant, or nullopt-like false if missing or not a JSON integer.
bool get_int_grant(jwt_t* jwt, const char* name, std::int64_t& out) {
  errno = 0;
  const long v = jwt_get_grant_int(jwt, name);
  if (errno != 0) return false;
  out = static_cast<std::int64_t>(v);
  return true;
}

// base64url without padding (RFC 7515 §2) -> bytes; false on a bad character.
bool base64url_decode(std::string_view in, std::string& out) {
  out.clear();
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = c >= 'A' && c <= 'Z'   ? c - 'A'
            : c >= 'a' && c <= 'z' ? c - 'a' + 26
            : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '-'             ? 62
            : c == '_'             ? 63
                                   : -1;
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return true;
}

// The "kid" of a JWS header segment, or empty if absent/unreadable. Only picks
// the secret: libjwt then verifies the whole token with it.
std::string header_kid(std::string_view token) {
  std::string header;
  if (!base64url_decode(token.substr(0, token.find('.')), header)) return {};
  auto h = nlohmann::json::parse(header, nullptr, false);
  if (!h.is_object()) return {};
  auto it = h.find("kid");
  return it != h.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::string key_id(std::string_view secret) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), digest);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "k";
  for (int i = 0; i < 8; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 0xF]);
  }
  return out;
}

std::int64_t system_unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

token_authority::token_authority(std::string secret, std::string issuer, unix_clock clock,
                                 token_options opts)
    : issuer_(std::move(issuer)), clock_(std::move(clock)), opts_(std::move(opts)) {
  keys_.push_back({key_id(secret), std::move(secret)});
  for (auto& p : opts_.previous_secrets) keys_.push_back({key_id(p), p});
  opts_.previous_secrets.clear();  // kept once, in keys_
}

result<token_authority> token_authority::create(std::string secret, std::string issuer,
                                                unix_clock clock, token_options opts) {
  if (secret.size() < min_secret_bytes)
    return error{errc::bad_config,
                 "JWT secret must be at least " + std::to_string(min_secret_bytes) + " bytes"};
  if (secret.size() > 4096) return error{errc::bad_config, "JWT secret longer than 4096 bytes"};
  if (issuer.empty()) return error{errc::bad_config, "JWT issuer must not be empty"};
  if (!clock) return error{errc::bad_config, "JWT clock must be set"};
  if (opts.leeway_s < 0 || opts.leeway_s > 300)
    return error{errc::bad_config, "JWT leeway must be within 0..300 s"};
  if (opts.max_ttl_s <= 0) return error{errc::bad_config, "JWT max_ttl_s must be positive"};
  if (opts.max_token_bytes < 64) return error{errc::bad_config, "JWT max_token_bytes too small"};
  if (opts.audience.empty()) return error{errc::bad_config, "JWT audience must not be empty"};
  for (const auto& p : opts.previous_secrets) {
    if (p.size() < min_secret_bytes || p.size() > 4096)
      return error{errc::bad_config, "previous JWT secret must be " +
                                         std::to_string(min_secret_bytes) + "..4096 bytes"};
    if (key_id(p) == key_id(secret))
      return error{errc::bad_config, "previous JWT secret equals the current one"};
  }
  return token_authority{std::move(secret), std::move(issuer), std::move(clock), std::move(opts)};
}

result<std::string> token_authority::mint(std::string_view subject, role r,
                                          std::int64_t ttl_s) const {
  if (auto ok = validate_subject(r, subject); !ok) return ok.err();
  if (ttl_s <= 0 || ttl_s > opts_.max_ttl_s)
    return {errc::invalid_argument,
            "token ttl must be within 1.." + std::to_string(opts_.max_ttl_s) + " s"};
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0 || raw == nullptr) return {errc::internal, "jwt_new failed"};
  jwt_ptr jwt(raw);
  const std::int64_t now = clock_();
  const std::string sub(subject);
  const std::string role_name(to_string(r));
  const bool grants_ok = jwt_add_grant(jwt.get(), "sub", sub.c_str()) == 0 &&
                         jwt_add_grant(jwt.get(), "role", role_name.c_str()) == 0 &&
                         jwt_add_grant(jwt.get(), "iss", issuer_.c_str()) == 0 &&
                         jwt_add_grant(jwt.get(), "aud", opts_.audience.c_str()) == 0 &&
                         jwt_add_header(jwt.get(), "kid", keys_[0].kid.c_str()) == 0 &&
                         jwt_add_grant_int(jwt.get(), "iat", static_cast<long>(now)) == 0 &&
                         jwt_add_grant_int(jwt.get(), "exp", static_cast<long>(now + ttl_s)) == 0;
  if (!grants_ok) return {errc::internal, "jwt_add_grant failed"};
  const std::string& secret = keys_[0].secret;
  if (jwt_set_alg(jwt.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(secret.data()),
                  static_cast<int>(secret.size())) != 0)
    return {errc::internal, "jwt_set_alg failed"};
  c_string_ptr encoded(jwt_encode_str(jwt.get()));
  if (!encoded) return {errc::internal, "jwt_encode_str failed"};
  return std::string(encoded.get());
}

result<claims> token_authority::verify(std::string_view token) const {
  if (token.empty()) return unauthenticated("missing token");
  if (token.size() > opts_.max_token_bytes) return unauthenticated("token too long");
  if (!has_jws_shape(token)) return unauthenticated("malformed or unsigned token");
  const std::string kid = header_kid(token);
  if (kid.empty()) return unauthenticated("token has no key id (kid)");
  const key* k = nullptr;
  for (const auto& candidate : keys_)
    if (candidate.kid == kid) k = &candidate;
  if (k == nullptr) return unauthenticated("token key id unknown (rotated out?)");
  const std::string token_z(token);  // libjwt wants a NUL-terminated string
  jwt_t* raw = nullptr;
  // libjwt 1.10 refuses "alg":"none" when a key is given and checks the
  // signature for every HMAC/RSA/EC alg; we still pin the alg below.
  const int rc =
      jwt_decode(&raw, token_z.c_str(), reinterpret_cast<const unsigned char*>(k->secret.data()),
                 static_cast<int>(k->secret.size()));
  jwt_ptr jwt(raw);
  if (rc != 0 || !jwt) return unauthenticated("invalid token (format or signature)");
  if (jwt_get_alg(jwt.get()) != JWT_ALG_HS256) return unauthenticated("token algorithm not HS256");

  claims c;
  const char* iss = jwt_get_grant(jwt.get(), "iss");
  if (iss == nullptr || issuer_ != iss) return unauthenticated("token issuer not accepted");
  const char* aud = jwt_get_grant(jwt.get(), "aud");
  if (aud == nullptr || opts_.audience != aud)
    return unauthenticated("token audience not accepted");
  const char* role_name = jwt_get_grant(jwt.get(), "role");
  if (role_name == nullptr) return unauthenticated("token has no role");
  auto r = role_from_string(role_name);
  if (!r) return unauthenticated("token role unknown");
  const char* sub = jwt_get_grant(jwt.get(), "sub");
  if (sub == nullptr) return unauthenticated("token has no subject");
  if (!validate_subject(*r, sub)) return unauthenticated("token subject does not fit its role");
  if (!get_int_grant(jwt.get(), "iat", c.issued_at_s) ||
      !get_int_grant(jwt.get(), "exp", c.expires_at_s))
    return unauthenticated("token lacks integer iat/exp");
  if (c.expires_at_s <= c.issued_at_s) return unauthenticated("token exp not after iat");

  const std::int64_t now = clock_();
  if (c.issued_at_s > now + opts_.leeway_s) return unauthenticated("token issued in the future");
  // now - leeway, not exp + leeway: exp is the token's and may be near INT64_MAX.
  if (now - opts_.leeway_s > c.expires_at_s) return error{errc::token_expired, "token expired"};
  if (opts_.revocations && opts_.revocations->is_revoked(sub, c.issued_at_s))
    return unauthenticated("token revoked (account suspended or deleted)");
  c.subject = sub;
  c.r = *r;
  c.issuer = iss;
  c.audience = aud;
  c.key_id = kid;
  return c;
}

result<claims> token_authority::verify_bearer(std::string_view header) const {
  constexpr std::string_view scheme = "bearer";
  if (header.empty()) return unauthenticated("missing Authorization header");
  bool is_bearer = header.size() > scheme.size() && header[scheme.size()] == ' ';
  for (std::size_t i = 0; is_bearer && i < scheme.size(); ++i) {
    const char c = header[i];
    is_bearer = (c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) == scheme[i];
  }
  if (!is_bearer) return unauthenticated("Authorization is not a Bearer credential");
  std::string_view token = header.substr(scheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  return verify(token);
}

result<std::vector<std::string>> load_previous_secrets(std::string_view env_var) {
  std::vector<std::string> out;
  const std::string name(env_var);
  const char* v = name.empty() ? nullptr : std::getenv(name.c_str());
  if (v == nullptr || *v == '\0') return out;
  if (std::string_view(v).size() < min_secret_bytes)
    return error{errc::bad_config, "JWT secret from environment variable " + name +
                                       " is shorter than " + std::to_string(min_secret_bytes) +
                                       " bytes"};
  out.emplace_back(v);
  return out;
}

result<std::string> load_jwt_secret(std::string_view env_var, std::string_view config_value) {
  std::string source;
  std::string secret;
  if (!env_var.empty()) {
    const std::string name(env_var);
    if (const char* v = std::getenv(name.c_str()); v != nullptr && *v != '\0') {
      secret = v;
      source = "environment variable " + name;
    }
  }
  if (source.empty() && !config_value.empty()) {
    secret = std::string(config_value);
    source = "config";
  }
  if (source.empty())
    return error{errc::bad_config, "no JWT secret: set " +
                                       (env_var.empty() ? std::string("one in the config")
                                                        : std::string(env_var) + " or the config")};
  if (secret.size() < min_secret_bytes)
    return error{errc::bad_config, "JWT secret from " + source + " is shorter than " +
                                       std::to_string(min_secret_bytes) + " bytes"};
  return secret;
}

}  // namespace rideshard::auth
