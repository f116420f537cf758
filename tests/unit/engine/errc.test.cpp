// Error codes keep stable names and numbers: they are on the wire and in metrics.
#include <doctest/doctest.h>

#include "rideshard/engine/errc.hpp"
#include "rideshard/engine/ids.hpp"
#include "rideshard/engine/result.hpp"

using namespace rideshard;

TEST_CASE("error code names are stable and round-trip") {
  CHECK(to_string(errc::invalid_coordinate) == "invalid_coordinate");
  CHECK(static_cast<int>(errc::invalid_coordinate) == 1);
  CHECK(to_string(errc::illegal_transition) == "illegal_transition");
  CHECK(static_cast<int>(errc::illegal_transition) == 20);
  for (int i = 0; i <= 200; ++i) {
    auto c = static_cast<errc>(i);
    auto name = to_string(c);
    if (name == "internal" && c != errc::internal) continue;  // not a code
    CHECK(errc_from_string(name) == c);
  }
  CHECK(errc_from_string("no_such_code") == errc::internal);
}

TEST_CASE("result carries a value or an error") {
  result<int> good = 42;
  REQUIRE(good.ok());
  CHECK(*good == 42);
  CHECK(good.code() == errc::ok);
  result<int> bad{errc::invalid_k, "k must be > 0"};
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.code() == errc::invalid_k);
  CHECK(bad.err().message == "k must be > 0");
  result<void> v;
  CHECK(v.ok());
  result<void> ve = error{errc::forbidden, "no"};
  CHECK(ve.code() == errc::forbidden);
}

TEST_CASE("id generator yields unique increasing ids even when the clock stalls or goes back") {
  std::int64_t now = 1'800'000'000'000;
  id_generator gen(5, [&] { return now; });
  std::uint64_t last = 0;
  for (int i = 0; i < 10000; ++i) {  // more than 4096 in one ms: borrows the next ms
    auto id = gen.next();
    CHECK(id > last);
    last = id;
    if (i == 5000) now -= 10;  // clock steps back
  }
  CHECK(to_string(driver_id{42}) == "d-42");
  CHECK(to_string(trip_id{9}) == "t-9");
}
