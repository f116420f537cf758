// Fuzz target: JWT verification (token_authority::verify and verify_bearer).
// The first byte picks the input's shape: even, the rest is a token or an
// Authorization header as a client sends it; odd, the rest is "<header JSON>\n
// <claims JSON>" signed here with the authority's own secret, so the claim
// checks behind the signature are reached too.
// Properties: never crashes; whatever verifies has the issuer, a subject that
// fits its role, exp after iat, iat not in the future and exp not past.
#include <jwt.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "auth/jwt.hpp"
#include "auth/subject.hpp"
#include "fuzz_check.hpp"

using namespace rideshard;
using rideshard::fuzz::check;

namespace {

constexpr std::int64_t now_s = 1'750'000'000;
constexpr std::int64_t leeway_s = 30;
const std::string secret(48, 's');

const auth::token_authority& authority() {
  static const auth::token_authority a = [] {
    auth::token_options o;
    o.leeway_s = leeway_s;
    auto made = auth::token_authority::create(
        secret, "rideshard", [] { return now_s; }, o);
    check(made.ok(), "the fuzz authority is valid");
    return std::move(made).value();
  }();
  return a;
}

// `header` and `claims` (JSON objects) signed HS256 with the authority's secret;
// empty if libjwt refuses the JSON.
std::string sign(const std::string& header, const std::string& claims) {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0 || raw == nullptr) return {};
  std::unique_ptr<jwt_t, decltype(&jwt_free)> jwt(raw, jwt_free);
  if (!header.empty() && jwt_add_headers_json(jwt.get(), header.c_str()) != 0) return {};
  if (jwt_add_grants_json(jwt.get(), claims.c_str()) != 0) return {};
  if (jwt_set_alg(jwt.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(secret.data()),
                  static_cast<int>(secret.size())) != 0)
    return {};
  std::unique_ptr<char, decltype(&std::free)> s(jwt_encode_str(jwt.get()), std::free);
  return s ? std::string(s.get()) : std::string();
}

void check_claims(const result<auth::claims>& c) {
  if (!c) {
    check(c.code() == errc::unauthenticated || c.code() == errc::token_expired,
          "a refused token is unauthenticated or token_expired");
    return;
  }
  check(c->issuer == "rideshard", "a verified token has our issuer");
  check(auth::validate_subject(c->r, c->subject).ok(), "a verified subject fits its role");
  check(c->expires_at_s > c->issued_at_s, "a verified token's exp is after its iat");
  check(c->issued_at_s <= now_s + leeway_s, "a verified token was not issued in the future");
  check(c->expires_at_s >= now_s - leeway_s, "a verified token has not expired");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) == 0) {
    check_claims(authority().verify(rest));
    check_claims(authority().verify_bearer(rest));
    return 0;
  }
  // NUL bytes end a C string early: cut there, as libjwt would.
  const std::string text(rest.substr(0, rest.find('\0')));
  const auto nl = text.find('\n');
  const std::string header = nl == std::string::npos ? std::string() : text.substr(0, nl);
  const std::string claims = nl == std::string::npos ? text : text.substr(nl + 1);
  const std::string token = sign(header, claims);
  if (token.empty()) return 0;
  check_claims(authority().verify(token));
  check_claims(authority().verify_bearer("Bearer " + token));
  return 0;
}
