// psp: names of the PSP seam's values; an authorization on a vaulted card.
#include "payments/psp.hpp"

#include "payments/detail/card_authorization.hpp"

namespace rideshard::payments {

std::string_view to_string(intent_status s) noexcept {
  switch (s) {
    case intent_status::requires_capture:
      return "requires_capture";
    case intent_status::succeeded:
      return "succeeded";
    case intent_status::canceled:
      return "canceled";
    case intent_status::other:
      break;
  }
  return "other";
}

namespace detail {

card_authorization authorize_card(psp& provider, const persistence::token_vault& vault,
                                  const std::string& token, std::string idempotency_key,
                                  std::int64_t amount, std::string currency) {
  card_authorization out;
  auto card = vault.reveal(token);
  if (!card) {
    out.answer = card.err();
    return out;
  }
  authorize_request req;
  req.idempotency_key = std::move(idempotency_key);
  req.amount = amount;
  req.currency = std::move(currency);
  req.card = &*card;
  out.sent = true;
  out.answer = provider.authorize(req);
  return out;
}

}  // namespace detail

}  // namespace rideshard::payments
