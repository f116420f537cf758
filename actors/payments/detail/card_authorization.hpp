// Private to actors/payments: one authorization on a vaulted card, the card
// revealed for that call only — shared by API payments and rides.
#pragma once

#include <cstdint>
#include <string>

#include "payments/psp.hpp"
#include "rideshard/persistence/token_vault.hpp"

namespace rideshard::payments::detail {

struct card_authorization {
  /// false: the vault could not reveal the card and nothing reached the PSP
  /// (`answer` is the vault's error); true: `answer` is the PSP's.
  bool sent = false;
  result<psp_intent> answer = error{errc::internal, "not attempted"};
};

/// Reveals the card vaulted as `token` and authorizes `amount` in `currency`
/// on it under `idempotency_key`; the number is dropped on return.
card_authorization authorize_card(psp& provider, const persistence::token_vault& vault,
                                  const std::string& token, std::string idempotency_key,
                                  std::int64_t amount, std::string currency);

}  // namespace rideshard::payments::detail
