// Tokens for system tests: minted with the secret the test started its node with.
#pragma once

#include <doctest/doctest.h>

#include <string>

#include "auth/jwt.hpp"

namespace rideshard::system_test {

/// A 10-minute token for `sub` in role `r`, signed with `secret`.
inline std::string mint_token(const std::string& secret, const std::string& sub, auth::role r) {
  auto a = auth::token_authority::create(secret, "rideshard", auth::system_unix_seconds);
  REQUIRE(a.ok());
  auto t = a->mint(sub, r, 600);
  REQUIRE(t.ok());
  return *t;
}

}  // namespace rideshard::system_test
