// stripe_psp: the PSP adapter that speaks Stripe's HTTP API shape — PaymentMethods
// for the vaulted card, PaymentIntents with capture_method=manual (authorize),
// capture (<= authorized), cancel, Refunds — with an Idempotency-Key derived from
// the ledger transfer id on every POST. Tested against stripe-mock.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "payments/psp.hpp"

namespace rideshard::payments {

struct stripe_options {
  std::string host =
      "127.0.0.1";  ///< plain HTTP (stripe-mock); api.stripe.com needs TLS: not built
  std::uint16_t port = 12111;
  std::string secret_key;  ///< "sk_test_..." (sent as a Bearer token; never logged)
  std::chrono::milliseconds timeout{10000};  ///< per call: connect + write + read
};

/// One HTTP call as it went over the wire (no body: it may hold a card number).
struct stripe_call {
  std::string method;           ///< "POST", "GET"
  std::string target;           ///< "/v1/payment_intents/pi_.../capture"
  std::string idempotency_key;  ///< sent (empty on GET)
  std::string echoed_key;       ///< the response's Idempotency-Key header, if any
  int status = 0;               ///< HTTP status; 0 when no answer arrived
};

/// Thread-safe: each call opens its own connection (HTTP/1.1, Connection: close).
class stripe_psp final : public psp {
 public:
  explicit stripe_psp(stripe_options opts);

  std::string_view name() const noexcept override { return "stripe"; }
  /// POST /v1/payment_methods (key "<key>-pm") then POST /v1/payment_intents
  /// (amount, currency, payment_method, capture_method=manual, confirm=true; key "<key>").
  [[nodiscard]] result<psp_intent> authorize(const authorize_request& req) override;
  /// POST /v1/payment_intents/{id}/capture (amount_to_capture).
  [[nodiscard]] result<psp_intent> capture(std::string_view intent, std::int64_t amount,
                                           std::string_view idempotency_key) override;
  /// POST /v1/payment_intents/{id}/cancel.
  [[nodiscard]] result<psp_intent> cancel(std::string_view intent,
                                          std::string_view idempotency_key) override;
  /// POST /v1/refunds (payment_intent, amount).
  [[nodiscard]] result<psp_refund> refund(std::string_view intent, std::int64_t amount,
                                          std::string_view idempotency_key) override;
  /// GET /v1/payment_intents/{id}.
  [[nodiscard]] result<psp_intent> retrieve(std::string_view intent) override;

  /// The last calls (at most 256), oldest first.
  std::vector<stripe_call> calls() const;

  struct response {
    int status = 0;
    std::string body;
  };

 private:
  /// Sends one request; fills `call`. Errors: psp_unavailable (no answer).
  result<response> send(const char* method, std::string target, std::string form,
                        std::string_view key);
  void record(stripe_call c);

  stripe_options opts_;
  mutable std::mutex mu_;
  std::deque<stripe_call> calls_;
};

/// "a=b&c=d" with application/x-www-form-urlencoded escaping.
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace rideshard::payments
