// Card checks: Luhn, IIN brand ranges, per-brand lengths, CVC, expiry in UTC.
#include "rideshard/engine/card.hpp"

#include <algorithm>

namespace rideshard {
namespace {

int prefix_value(std::string_view digits, std::size_t n) {
  int v = 0;
  for (std::size_t i = 0; i < n && i < digits.size(); ++i) v = v * 10 + (digits[i] - '0');
  return v;
}

bool length_ok(card_brand b, std::size_t n) {
  switch (b) {
    case card_brand::visa:
      return n == 13 || n == 16 || n == 19;
    case card_brand::mastercard:
      return n == 16;
    case card_brand::amex:
      return n == 15;
    case card_brand::discover:
      return n >= 16 && n <= 19;
  }
  return false;
}

// Civil year and month (1..12) of a Unix day count (Howard Hinnant's algorithm).
void year_month_of(std::int64_t days, int& year, int& month) {
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const std::int64_t doe = days - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  year = static_cast<int>(yoe + era * 400 + (month <= 2 ? 1 : 0));
}

}  // namespace

std::string_view to_string(card_brand b) noexcept {
  switch (b) {
    case card_brand::visa:
      return "visa";
    case card_brand::mastercard:
      return "mastercard";
    case card_brand::amex:
      return "amex";
    case card_brand::discover:
      return "discover";
  }
  return "unknown";
}

std::string card_digits(std::string_view number) {
  std::string out;
  out.reserve(number.size());
  for (char c : number) {
    if (c >= '0' && c <= '9')
      out.push_back(c);
    else if (c != ' ' && c != '-')
      return {};
  }
  return out;
}

bool luhn_valid(std::string_view digits) noexcept {
  if (digits.empty()) return false;
  int sum = 0;
  bool twice = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (*it < '0' || *it > '9') return false;
    int d = *it - '0';
    if (twice) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

result<card_brand> brand_of(std::string_view digits) {
  if (digits.size() < 6) return {errc::invalid_card, "card number too short"};
  const int p1 = prefix_value(digits, 1), p2 = prefix_value(digits, 2);
  const int p3 = prefix_value(digits, 3), p4 = prefix_value(digits, 4);
  if (p1 == 4) return card_brand::visa;
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return card_brand::mastercard;
  if (p2 == 34 || p2 == 37) return card_brand::amex;
  if (p4 == 6011 || (p3 >= 644 && p3 <= 649) || p2 == 65) return card_brand::discover;
  return {errc::invalid_card, "card number is not a supported brand"};
}

result<card_summary> validate_card(const card_input& in, std::int64_t now_ms) {
  const std::string digits = card_digits(in.number);
  if (digits.empty()) return {errc::invalid_card, "card number must be digits"};
  auto brand = brand_of(digits);
  if (!brand) return brand.err();
  if (!length_ok(*brand, digits.size()))
    return {errc::invalid_card, "card number has the wrong length for its brand"};
  if (!luhn_valid(digits)) return {errc::invalid_card, "card number fails the check digit"};
  const std::size_t cvc_len = *brand == card_brand::amex ? 4 : 3;
  if (in.cvc.size() != cvc_len ||
      !std::all_of(in.cvc.begin(), in.cvc.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return {errc::invalid_card, "cvc must be " + std::to_string(cvc_len) + " digits for " +
                                    std::string(to_string(*brand))};
  if (in.exp_month < 1 || in.exp_month > 12) return {errc::card_expired, "exp_month must be 1..12"};
  int year = 0, month = 0;
  const std::int64_t day_ms = 86'400'000;
  year_month_of(now_ms >= 0 ? now_ms / day_ms : (now_ms - day_ms + 1) / day_ms, year, month);
  if (in.exp_year < 1000 || in.exp_year > year + 20)
    return {errc::card_expired, "exp_year must be a four-digit year within 20 years"};
  if (in.exp_year * 12 + in.exp_month < year * 12 + month)
    return {errc::card_expired, "the card has expired"};
  return card_summary{*brand, digits.substr(digits.size() - 4), in.exp_month, in.exp_year};
}

}  // namespace rideshard
