// The console's session cookie and CSRF token (auth/console_session.hpp).
#include <doctest/doctest.h>

#include <string>

#include "auth/console_session.hpp"

using namespace rideshard::auth;

TEST_CASE("the CSRF token is bound to its session and compared exactly") {
  const std::string a = csrf_token_of("session-a");
  CHECK(a.size() == 32);
  CHECK(a == csrf_token_of("session-a"));
  CHECK(a != csrf_token_of("session-b"));
  CHECK(csrf_matches("session-a", a));
  CHECK_FALSE(csrf_matches("session-b", a));
  CHECK_FALSE(csrf_matches("session-a", a.substr(0, 31)));
  CHECK_FALSE(csrf_matches("session-a", ""));
  CHECK_FALSE(csrf_matches("", csrf_token_of("")));  // no session, no match
}

TEST_CASE("cookie_value finds the session cookie among others") {
  CHECK(cookie_value("rideshard_admin=abc", "rideshard_admin") == "abc");
  CHECK(cookie_value("theme=dark; rideshard_admin=a.b.c; x=1", "rideshard_admin") == "a.b.c");
  CHECK(cookie_value("xrideshard_admin=evil", "rideshard_admin").empty());
  CHECK(cookie_value("", "rideshard_admin").empty());
  CHECK(cookie_value("rideshard_admin", "rideshard_admin").empty());
}

TEST_CASE("the session cookie is HttpOnly, SameSite=Strict, and Secure over TLS") {
  const auto c = session_cookie("tok", 3600, false);
  CHECK(c == "rideshard_admin=tok; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600");
  CHECK(session_cookie("tok", 3600, true).find("; Secure") != std::string::npos);
  CHECK(session_cookie("", 0, false).find("Max-Age=0") != std::string::npos);
}
