// The payment service provider (PSP) seam: a manual-capture authorization (a
// hold), capture <= authorized, cancel, refund, retrieve. Every mutating call
// carries an idempotency key derived from the ledger transfer it backs, so a
// retry after a timeout or a crash is a replay at the PSP, never a second charge.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "rideshard/engine/result.hpp"
#include "rideshard/persistence/token_vault.hpp"

namespace rideshard::payments {

/// Where a PaymentIntent stands at the PSP (Stripe's names).
enum class intent_status : std::uint8_t {
  requires_capture = 1,  ///< authorized: a hold waiting for capture or cancel
  succeeded = 2,         ///< captured
  canceled = 3,          ///< the hold was released
  other = 4,             ///< any other state the PSP reports
};
std::string_view to_string(intent_status s) noexcept;

/// A PaymentIntent as the PSP answered it. Amounts in minor units.
struct psp_intent {
  std::string id;  ///< the PSP's id ("pi_...")
  intent_status status = intent_status::other;
  std::string raw_status;  ///< the PSP's own word for the status
  std::int64_t amount = 0;
  std::int64_t amount_capturable = 0;
  std::int64_t amount_received = 0;
};

struct psp_refund {
  std::string id;  ///< "re_..."
  std::int64_t amount = 0;
};

/// A callback (webhook) from the PSP. Only a hint that `intent` changed: it may
/// arrive twice, late, or out of order, so receivers re-read their own state and
/// never act on the payload alone.
struct psp_event {
  std::string id;      ///< the event's id (duplicates repeat it)
  std::string type;    ///< "payment_intent.amount_capturable_updated", ".succeeded", ...
  std::string intent;  ///< the PaymentIntent it is about
};

/// Authorize `amount` on `card` with manual capture.
struct authorize_request {
  std::string idempotency_key;  ///< to_string(hold transfer id): the same for every retry
  std::int64_t amount = 0;      ///< minor units, > 0
  std::string currency = "usd";
  const persistence::vaulted_card* card = nullptr;  ///< revealed from the vault for this call
};

/// A PSP. Implementations are thread-safe; calls block the caller (run them on a
/// worker, never on a gateway I/O thread). Errors of every call:
///   payment_declined      the card was declined (final for that key)
///   psp_unavailable       timeout, 5xx, unreachable: the outcome is UNKNOWN —
///                         retry with the same key to learn it
///   idempotency_conflict  the key was used before with other parameters
///   invalid_argument      the PSP refused the request (e.g. capture above the
///                         capturable amount, cancel of a captured intent)
///   bad_config            the PSP refused our credentials
class psp {
 public:
  virtual ~psp() = default;
  /// "sandbox", "stripe".
  virtual std::string_view name() const noexcept = 0;
  [[nodiscard]] virtual result<psp_intent> authorize(const authorize_request& req) = 0;
  /// Captures `amount` (<= amount_capturable; the rest is released).
  [[nodiscard]] virtual result<psp_intent> capture(std::string_view intent, std::int64_t amount,
                                                   std::string_view idempotency_key) = 0;
  /// Releases an uncaptured hold.
  [[nodiscard]] virtual result<psp_intent> cancel(std::string_view intent,
                                                  std::string_view idempotency_key) = 0;
  /// Refunds `amount` of a captured intent.
  [[nodiscard]] virtual result<psp_refund> refund(std::string_view intent, std::int64_t amount,
                                                  std::string_view idempotency_key) = 0;
  /// The intent as the PSP has it now (no side effects, no key).
  [[nodiscard]] virtual result<psp_intent> retrieve(std::string_view intent) = 0;
};

}  // namespace rideshard::payments
