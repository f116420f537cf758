// sandbox_psp: an in-process PSP for the demo and chaos tests. It keeps intents
// and idempotency keys like Stripe does, declines Stripe's test cards, and
// injects seeded failures: declines, timeouts (applied, answer lost), 5xx (not
// applied), and duplicate or late callbacks.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "payments/psp.hpp"

namespace rideshard::payments {

/// Failure injection: each call draws once from a generator seeded with `seed`,
/// so one seed and one call sequence always give the same failures.
struct sandbox_faults {
  std::uint64_t seed = 1;
  double server_error = 0;  ///< a 5xx before anything is applied (psp_unavailable)
  double timeout = 0;  ///< applied, but the answer is lost (psp_unavailable; a retry replays it)
  double decline = 0;  ///< a fresh authorization is declined (payment_declined)
  double duplicate_callback = 0;  ///< a callback is delivered twice
  double late_callback = 0;       ///< a callback is held back until the next take_events()
};

/// Card numbers the sandbox always declines (Stripe's test cards).
inline constexpr const char* sandbox_declined_card = "4000000000000002";
inline constexpr const char* sandbox_insufficient_funds_card = "4000000000009995";

/// What the sandbox holds about one intent (for tests and the demo's checks).
struct sandbox_intent {
  psp_intent intent;
  std::int64_t refunded = 0;
  int captures = 0;  ///< captures applied (a replayed key does not count)
  int refunds = 0;   ///< refunds applied
};

/// Calls by outcome since construction.
struct sandbox_stats {
  std::uint64_t authorizations = 0;  ///< applied (not replays)
  std::uint64_t captures = 0;
  std::uint64_t cancels = 0;
  std::uint64_t refunds = 0;
  std::uint64_t declines = 0;
  std::uint64_t replays = 0;  ///< a known key answered from its record
  std::uint64_t conflicts = 0;
  std::uint64_t timeouts = 0;
  std::uint64_t server_errors = 0;
};

/// Thread-safe (one mutex). Keys are kept for the sandbox's lifetime.
class sandbox_psp final : public psp {
 public:
  explicit sandbox_psp(sandbox_faults faults = {});

  std::string_view name() const noexcept override { return "sandbox"; }
  [[nodiscard]] result<psp_intent> authorize(const authorize_request& req) override;
  [[nodiscard]] result<psp_intent> capture(std::string_view intent, std::int64_t amount,
                                           std::string_view idempotency_key) override;
  [[nodiscard]] result<psp_intent> cancel(std::string_view intent,
                                          std::string_view idempotency_key) override;
  [[nodiscard]] result<psp_refund> refund(std::string_view intent, std::int64_t amount,
                                          std::string_view idempotency_key) override;
  [[nodiscard]] result<psp_intent> retrieve(std::string_view intent) override;

  /// Replaces the failure rates (the generator keeps its position unless the seed changes).
  void set_faults(const sandbox_faults& f);
  /// Callbacks since the last call, with the injected duplicates; held-back
  /// (late) ones come out of the following call, after newer events.
  std::vector<psp_event> take_events();

  std::optional<sandbox_intent> find(std::string_view intent) const;
  std::vector<sandbox_intent> intents() const;
  sandbox_stats stats() const;

 private:
  struct keyed_answer {
    std::string fingerprint;  ///< the operation and its parameters
    result<psp_intent> intent{error{errc::internal, "unset"}};
    result<psp_refund> refund{error{errc::internal, "unset"}};
  };
  enum class fault : std::uint8_t { none, server_error, timeout };
  fault draw_fault();
  bool draw(double p);
  void emit(const std::string& type, const std::string& intent);
  // Runs `apply` once per key (replaying its recorded answer after), with the
  // injected faults around it. Caller holds mu_.
  template <class Apply>
  result<keyed_answer*> keyed(std::string_view key, std::string fingerprint, Apply apply);

  mutable std::mutex mu_;
  sandbox_faults faults_;
  std::mt19937_64 rng_;
  std::map<std::string, sandbox_intent, std::less<>> intents_;
  std::map<std::string, keyed_answer, std::less<>> keys_;
  std::vector<psp_event> events_;
  std::vector<psp_event> held_;  ///< late callbacks emitted since the last take_events()
  std::vector<psp_event> due_;   ///< late callbacks the next take_events() delivers
  sandbox_stats stats_;
  std::uint64_t next_id_ = 1;
};

}  // namespace rideshard::payments
