// argon2id password hashing: round trip, wrong password, input limits, salts.
#include <doctest/doctest.h>

#include "auth/password.hpp"

using namespace rideshard;
using namespace rideshard::auth;

namespace {
// Small costs keep the test fast; production uses the OWASP defaults.
const password_params fast{1, 64, 1, 16, 32};
}  // namespace

TEST_CASE("hash and verify round trip") {
  auto h = hash_password("correct horse battery staple", fast);
  REQUIRE(h.ok());
  CHECK(h->rfind("$argon2id$v=19$m=64,t=1,p=1$", 0) == 0);
  CHECK(h->find('\0') == std::string::npos);
  CHECK(verify_password(*h, "correct horse battery staple"));
  CHECK_FALSE(verify_password(*h, "correct horse battery stapl"));
  CHECK_FALSE(verify_password(*h, "Correct horse battery staple"));
  CHECK_FALSE(verify_password(*h, ""));
}

TEST_CASE("default parameters are OWASP's argon2id minimum") {
  const password_params d;
  CHECK(d.m_cost_kib == 19 * 1024);
  CHECK(d.t_cost == 2);
  CHECK(d.parallelism == 1);
  auto h = hash_password("pw-default-params");
  REQUIRE(h.ok());
  CHECK(h->rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0) == 0);
  CHECK(verify_password(*h, "pw-default-params"));
}

TEST_CASE("each hash gets a fresh salt") {
  auto a = hash_password("same password", fast);
  auto b = hash_password("same password", fast);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(*a != *b);
  CHECK(verify_password(*a, "same password"));
  CHECK(verify_password(*b, "same password"));
}

TEST_CASE("input limits") {
  CHECK(hash_password("", fast).code() == errc::invalid_argument);
  CHECK(hash_password(std::string(1025, 'x'), fast).code() == errc::invalid_argument);
  auto longest = hash_password(std::string(1024, 'x'), fast);
  REQUIRE(longest.ok());
  CHECK(verify_password(*longest, std::string(1024, 'x')));
  CHECK_FALSE(verify_password(*longest, std::string(1025, 'x')));
  // Passwords are bytes: embedded NULs and UTF-8 are fine.
  const std::string nul("a\0b", 3);
  auto h = hash_password(nul, fast);
  REQUIRE(h.ok());
  CHECK(verify_password(*h, nul));
  CHECK_FALSE(verify_password(*h, "a"));
}

TEST_CASE("parameters out of range are refused") {
  CHECK(hash_password("pw", password_params{0, 64, 1, 16, 32}).code() == errc::invalid_argument);
  CHECK(hash_password("pw", password_params{1, 4, 1, 16, 32}).code() == errc::invalid_argument);
  CHECK(hash_password("pw", password_params{1, 64, 0, 16, 32}).code() == errc::invalid_argument);
  CHECK(hash_password("pw", password_params{1, 64, 1, 4, 32}).code() == errc::invalid_argument);
  CHECK(hash_password("pw", password_params{1, 64, 1, 16, 8}).code() == errc::invalid_argument);
}

TEST_CASE("malformed or hostile encoded hashes verify false") {
  CHECK_FALSE(verify_password("", "password"));
  CHECK_FALSE(verify_password("plaintext", "plaintext"));
  CHECK_FALSE(verify_password("$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA", "password"));
  CHECK_FALSE(verify_password("$argon2id$garbage", "password"));
  // A stored string asking for 4 GiB of memory is refused before argon2 runs.
  CHECK_FALSE(verify_password(
      "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA", "password"));
  auto h = hash_password("password", fast);
  REQUIRE(h.ok());
  std::string tampered = *h;
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  CHECK_FALSE(verify_password(tampered, "password"));
}
