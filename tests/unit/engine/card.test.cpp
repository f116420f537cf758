// validate_card(): Luhn, brand by IIN, per-brand length and CVC, expiry through
// the end of the month in UTC; errors never echo the number.
#include <doctest/doctest.h>

#include "rideshard/engine/card.hpp"

using namespace rideshard;

namespace {
constexpr std::int64_t jun_15_2025 = 1749945600000;  // 2025-06-15T00:00:00Z
constexpr std::int64_t jul_1_2025 = 1751328000000;   // 2025-07-01T00:00:00Z
}  // namespace

TEST_CASE("the Luhn check accepts test numbers and catches one-digit typos") {
  CHECK(luhn_valid("4242424242424242"));
  CHECK(luhn_valid("378282246310005"));
  CHECK_FALSE(luhn_valid("4242424242424241"));
  CHECK_FALSE(luhn_valid("4242424242424422"));  // a transposition
  CHECK_FALSE(luhn_valid(""));
  CHECK_FALSE(luhn_valid("42a2"));
}

TEST_CASE("the brand comes from the IIN ranges") {
  CHECK(*brand_of("4242424242424242") == card_brand::visa);
  CHECK(*brand_of("5555555555554444") == card_brand::mastercard);
  CHECK(*brand_of("2223003122003222") == card_brand::mastercard);
  CHECK(*brand_of("2720990000000000") == card_brand::mastercard);
  CHECK(brand_of("2721000000000000").code() == errc::invalid_card);
  CHECK(*brand_of("378282246310005") == card_brand::amex);
  CHECK(*brand_of("6011111111111117") == card_brand::discover);
  CHECK(*brand_of("6445000000000000") == card_brand::discover);
  CHECK(brand_of("9111111111111111").code() == errc::invalid_card);
}

TEST_CASE("a valid card yields only brand, last 4 and expiry") {
  auto c = validate_card({"4242 4242-4242 4242", 12, 2030, "123"}, jun_15_2025);
  REQUIRE(c.ok());
  CHECK(c->brand == card_brand::visa);
  CHECK(c->last4 == "4242");
  CHECK(c->exp_month == 12);
  CHECK(c->exp_year == 2030);
  auto amex = validate_card({"378282246310005", 1, 2027, "1234"}, jun_15_2025);
  REQUIRE(amex.ok());
  CHECK(amex->last4 == "0005");
}

TEST_CASE("bad numbers and CVCs are invalid_card without echoing the number") {
  const char* bad[] = {"4242424242424241", "424242424242", "42424242424242424242", "4242x242",
                       "378282246310005 "};
  for (const char* n : bad) {
    CAPTURE(n);
    auto c = validate_card({n, 12, 2030, n[0] == '3' ? "1234" : "123"}, jun_15_2025);
    if (std::string(n) == "378282246310005 ") {  // trailing space is allowed
      CHECK(c.ok());
      continue;
    }
    REQUIRE_FALSE(c.ok());
    CHECK(c.code() == errc::invalid_card);
    CHECK(c.err().message.find("4242") == std::string::npos);
  }
  CHECK(validate_card({"4242424242424242", 12, 2030, "12"}, jun_15_2025).code() ==
        errc::invalid_card);
  CHECK(validate_card({"4242424242424242", 12, 2030, "1234"}, jun_15_2025).code() ==
        errc::invalid_card);
  CHECK(validate_card({"378282246310005", 12, 2030, "123"}, jun_15_2025).code() ==
        errc::invalid_card);
  CHECK(validate_card({"4242424242424242", 12, 2030, "12a"}, jun_15_2025).code() ==
        errc::invalid_card);
}

TEST_CASE("a card is valid through the last day of its expiry month") {
  CHECK(validate_card({"4242424242424242", 6, 2025, "123"}, jun_15_2025).ok());
  CHECK(validate_card({"4242424242424242", 6, 2025, "123"}, jul_1_2025 - 1).ok());
  CHECK(validate_card({"4242424242424242", 6, 2025, "123"}, jul_1_2025).code() ==
        errc::card_expired);
  CHECK(validate_card({"4242424242424242", 5, 2025, "123"}, jun_15_2025).code() ==
        errc::card_expired);
  CHECK(validate_card({"4242424242424242", 12, 2024, "123"}, jun_15_2025).code() ==
        errc::card_expired);
  CHECK(validate_card({"4242424242424242", 13, 2030, "123"}, jun_15_2025).code() ==
        errc::card_expired);
  CHECK(validate_card({"4242424242424242", 0, 2030, "123"}, jun_15_2025).code() ==
        errc::card_expired);
  CHECK(validate_card({"4242424242424242", 12, 30, "123"}, jun_15_2025).code() ==
        errc::card_expired);
  CHECK(validate_card({"4242424242424242", 12, 2099, "123"}, jun_15_2025).code() ==
        errc::card_expired);
}
