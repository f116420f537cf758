// Payment card checks before a card reaches the token vault: Luhn, brand from the
// IIN, length per brand, CVC length, expiry not past. Only brand + last 4 leave.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "rideshard/engine/result.hpp"

namespace rideshard {

/// Card networks recognised from the number's issuer identification number.
enum class card_brand : std::uint8_t { visa = 1, mastercard = 2, amex = 3, discover = 4 };

/// "visa", "mastercard", "amex", "discover".
std::string_view to_string(card_brand b) noexcept;

/// What the application may keep about a card: never the number or the CVC.
struct card_summary {
  card_brand brand = card_brand::visa;
  std::string last4;
  int exp_month = 0;  ///< 1..12
  int exp_year = 0;   ///< four digits
};

/// Raw card input as a client sent it. The number may contain spaces or dashes.
struct card_input {
  std::string_view number;
  int exp_month = 0;
  int exp_year = 0;  ///< four digits (2-digit years are refused: ambiguous)
  std::string_view cvc;
};

/// True when the digits pass the Luhn (mod 10) check. Digits only.
bool luhn_valid(std::string_view digits) noexcept;

/// The brand for a digit string by IIN range (Visa 4; Mastercard 51-55 and
/// 2221-2720; Amex 34, 37; Discover 6011, 644-649, 65), or invalid_card.
[[nodiscard]] result<card_brand> brand_of(std::string_view digits);

/// Validates a card at `now_ms` (Unix ms, UTC). A card is valid through the last
/// day of its expiry month. Errors: invalid_card (non-digits, length for the
/// brand, unknown IIN, Luhn, CVC not 3 digits — 4 for Amex), card_expired
/// (month in the past, month outside 1..12, year not four digits or > 20 years out).
/// The error messages never contain the number. Thread-safe.
[[nodiscard]] result<card_summary> validate_card(const card_input& in, std::int64_t now_ms);

/// The digits of a number with spaces and dashes removed; empty when any other
/// character appears.
std::string card_digits(std::string_view number);

}  // namespace rideshard
