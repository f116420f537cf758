// Console session cookies and their CSRF tokens (see console_session.hpp).
#include "auth/console_session.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

namespace rideshard::auth {

std::string csrf_token_of(std::string_view session_token) {
  std::string input = "rideshard-csrf\n";
  input.append(session_token);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 0xf]);
  }
  return out;
}

bool csrf_matches(std::string_view session_token, std::string_view presented) {
  if (session_token.empty()) return false;
  const std::string want = csrf_token_of(session_token);
  if (presented.size() != want.size()) return false;
  return CRYPTO_memcmp(want.data(), presented.data(), want.size()) == 0;
}

std::string cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const auto semi = header.find(';');
    auto pair = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos || pair.substr(0, eq) != name) continue;
    return std::string(pair.substr(eq + 1));
  }
  return {};
}

std::string session_cookie(std::string_view token, std::int64_t max_age_s, bool secure) {
  std::string out(console_cookie);
  out += '=';
  out += token;
  out += "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age_s);
  if (secure) out += "; Secure";
  return out;
}

}  // namespace rideshard::auth
