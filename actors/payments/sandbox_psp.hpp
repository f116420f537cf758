// sandbox_psp: an in-process PSP for the demo and chaos tests. It keeps intents
// and idempotency keys like Stripe does, declines Stripe's test cards, and
// injects seeded failures: declines, timeouts (applied, answer lost), 5xx (not
// applied), and duplicate or late callbacks. Opened on a journal file it is
// durable like a real PSP: every applied call (its key, parameters, answer and
// the intent it changed) is appended and fdatasync'ed before it answers, and
// replayed on open, so its keys dedupe across a kill -9 of the node.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
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
  std::string key;  ///< the idempotency key of the authorization that created it
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
  /// In memory: keys live as long as the object.
  explicit sandbox_psp(sandbox_faults faults = {});
  /// Durable: replays `journal` (created if missing; a torn last line, left by
  /// a crash before its sync, is dropped) and appends every applied call to it,
  /// synced before the call answers. Keys are kept for the journal's lifetime
  /// (Stripe keeps them at least 24 h). Errors: storage_error (cannot open or
  /// read it), bad_json (a corrupt line before the last).
  [[nodiscard]] static result<std::unique_ptr<sandbox_psp>> open_durable(
      const std::string& journal, sandbox_faults faults = {});
  ~sandbox_psp() override;
  sandbox_psp(const sandbox_psp&) = delete;
  sandbox_psp& operator=(const sandbox_psp&) = delete;

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
  // `intent`: the intent the call is about (empty for an authorization).
  template <class Apply>
  result<keyed_answer*> keyed(std::string_view key, std::string fingerprint,
                              std::string_view intent, Apply apply);
  // Appends one applied call to the journal and syncs it. Caller holds mu_.
  [[nodiscard]] result<void> persist(std::string_view key, const keyed_answer& a,
                                     std::string_view intent);
  [[nodiscard]] result<void> replay_line(const std::string& line);

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
  int journal_fd_ = -1;  ///< -1: in memory
};

}  // namespace rideshard::payments
