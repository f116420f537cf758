// argon2id password hashing and verification (see password.hpp).
#include "auth/password.hpp"

#include <cerrno>
#include <vector>

#include <argon2.h>
#include <sys/random.h>

namespace rideshard::auth {
namespace {

constexpr std::uint32_t max_m_cost_kib = 1024 * 1024;  // 1 GiB
constexpr std::uint32_t max_t_cost = 64;
constexpr std::uint32_t max_parallelism = 16;
constexpr std::size_t max_encoded_bytes = 512;

bool params_in_range(const password_params& p) {
  return p.t_cost >= 1 && p.t_cost <= max_t_cost && p.parallelism >= 1 &&
         p.parallelism <= max_parallelism && p.m_cost_kib >= 8 * p.parallelism &&
         p.m_cost_kib <= max_m_cost_kib && p.salt_bytes >= 8 && p.salt_bytes <= 64 &&
         p.hash_bytes >= 16 && p.hash_bytes <= 64;
}

bool fill_random(std::vector<unsigned char>& buf) {
  std::size_t done = 0;
  while (done < buf.size()) {
    const ssize_t n = ::getrandom(buf.data() + done, buf.size() - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads "<key>=<digits>" out of the parameter section of an encoded hash; 0 if absent.
std::uint64_t encoded_param(std::string_view encoded, std::string_view key) {
  const std::string needle = std::string(key) + "=";
  std::size_t pos = encoded.find(needle);
  if (pos == std::string_view::npos) return 0;
  std::uint64_t v = 0;
  for (pos += needle.size(); pos < encoded.size() && encoded[pos] >= '0' && encoded[pos] <= '9';
       ++pos) {
    v = v * 10 + static_cast<std::uint64_t>(encoded[pos] - '0');
    if (v > 0xffffffffULL) return 0xffffffffULL;
  }
  return v;
}

}  // namespace

result<std::string> hash_password(std::string_view password, const password_params& params) {
  if (password.empty()) return {errc::invalid_argument, "password must not be empty"};
  if (password.size() > max_password_bytes)
    return {errc::invalid_argument,
            "password longer than " + std::to_string(max_password_bytes) + " bytes"};
  if (!params_in_range(params)) return {errc::invalid_argument, "argon2 parameters out of range"};
  std::vector<unsigned char> salt(params.salt_bytes);
  if (!fill_random(salt)) return {errc::internal, "no randomness for the password salt"};
  const std::size_t len = argon2_encodedlen(params.t_cost, params.m_cost_kib, params.parallelism,
                                            params.salt_bytes, params.hash_bytes, Argon2_id);
  std::string encoded(len, '\0');
  const int rc = argon2id_hash_encoded(params.t_cost, params.m_cost_kib, params.parallelism,
                                       password.data(), password.size(), salt.data(), salt.size(),
                                       params.hash_bytes, encoded.data(), encoded.size());
  if (rc != ARGON2_OK)
    return {errc::internal, std::string("argon2id: ") + argon2_error_message(rc)};
  // argon2_encodedlen counts the terminator and may overestimate.
  if (const auto nul = encoded.find('\0'); nul != std::string::npos) encoded.resize(nul);
  return encoded;
}

bool verify_password(std::string_view encoded, std::string_view candidate) {
  if (candidate.empty() || candidate.size() > max_password_bytes) return false;
  if (encoded.size() > max_encoded_bytes || encoded.substr(0, 10) != "$argon2id$") return false;
  if (encoded.find('\0') != std::string_view::npos) return false;
  // A stored hash must not be able to ask for unbounded work.
  if (encoded_param(encoded, "m") > max_m_cost_kib || encoded_param(encoded, "t") > max_t_cost ||
      encoded_param(encoded, "p") > max_parallelism)
    return false;
  const std::string encoded_z(encoded);
  return argon2id_verify(encoded_z.c_str(), candidate.data(), candidate.size()) == ARGON2_OK;
}

}  // namespace rideshard::auth
