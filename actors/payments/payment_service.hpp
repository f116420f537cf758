// payment_service: payment methods (a card is validated and exchanged for a vault
// token at once; only brand + last 4 stay) and payments (authorize = hold,
// capture <= authorized, void, refunds <= captured) that call the PSP with keys
// derived from ledger transfer ids and post the ledger transfers, the payment
// record, the Idempotency-Key answer and the event in one synced batch.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "payments/psp.hpp"
#include "payments/records.hpp"
#include "rideshard/engine/card.hpp"
#include "rideshard/engine/ride_money.hpp"
#include "rideshard/persistence/store.hpp"
#include "rideshard/persistence/token_vault.hpp"

namespace rideshard::payments {

struct payment_options {
  money_rules rules;                          ///< driver / platform / tax split, hold timeout
  std::string currency = "usd";               ///< the only currency accepted
  std::int64_t max_amount_minor = 1'000'000;  ///< largest single payment
  std::size_t max_methods_per_rider = 10;
  /// How long an Idempotency-Key and its answer are kept (at least 24 h).
  std::int64_t idempotency_ttl_ms = 24LL * 3600 * 1000;
  /// How long a request waits for another one working on the same payment
  /// (a concurrent duplicate) before answering unavailable.
  std::int64_t busy_wait_ms = 30'000;
  std::function<std::int64_t()> now_ms;    ///< Unix ms (required)
  std::function<std::uint64_t()> next_id;  ///< unique ids for payments and methods (required)
  /// Metrics: called with a fixed event name ("authorized", "declined",
  /// "failed", "psp_unavailable", "captured", "voided", "refunded",
  /// "method_added", "method_refused", "idempotent_replay", "idempotency_conflict")
  /// and an amount in minor units (0 where none). Optional; any thread.
  std::function<void(std::string_view event, std::int64_t amount)> observe;
  /// The fraud rules' signals (optional; called after the change is committed,
  /// never for a replay): a card was added; a refund was recorded.
  std::function<void(const method_record&)> on_method_added;
  std::function<void(const payment_record&)> on_refunded;
  /// Tests only: called after each PSP answer, before its outcome is committed;
  /// true simulates a crash there (nothing more is written by this call).
  std::function<bool(payment_op op)> crash_after_psp;
};

struct create_request {
  rider_id rider;
  std::uint64_t method = 0;  ///< 0: the rider's newest unexpired method
  driver_id driver;          ///< optional payee
  std::int64_t amount = 0;
  std::string currency;  ///< empty: payment_options::currency
  bool capture = true;   ///< false: leave an authorized hold
};

/// Who asked with which Idempotency-Key for which parameters.
struct idempotency_scope {
  std::string caller;       ///< authenticated subject
  std::string key;          ///< the header's value (1..255 printable ASCII)
  std::string fingerprint;  ///< hash of method, path and canonical body
};

/// A payment call's answer as the first caller got it.
struct payment_answer {
  bool replayed = false;                    ///< answered from the Idempotency-Key's record
  result<std::string> body{std::string()};  ///< the payment's JSON, or the error
};

/// A driver's earnings from the ledger (driver_payable account).
struct earnings {
  driver_id driver;
  std::int64_t earned_minor = 0;    ///< credits posted
  std::int64_t paid_out_minor = 0;  ///< debits posted (payouts: not built yet)
  std::int64_t balance_minor = 0;   ///< earned - paid out
};

/// What reconcile() did.
struct reconcile_report {
  std::size_t in_flight = 0;       ///< payments found with a PSP call in flight
  std::size_t finished = 0;        ///< its call finished (replayed at the PSP) and recorded
  std::size_t still_unknown = 0;   ///< the PSP is unavailable: left for the next pass
  std::size_t failed = 0;          ///< the PSP refused: recorded as failed
  std::size_t expired_voided = 0;  ///< holds past the hold timeout, voided
};

/// Thread-safe. Blocking (PSP calls and synced commits): call it from workers.
/// Ownership: keeps references to the store, vault and PSP (must outlive it).
class payment_service {
 public:
  /// Loads methods, payments and idempotency records from the store.
  /// Errors: bad_config (options), storage_error, bad_json (unreadable record).
  [[nodiscard]] static result<std::unique_ptr<payment_service>> open(
      persistence::store& store, persistence::token_vault& vault, psp& provider,
      payment_options opts);

  // ---- payment methods ----
  /// Validates the card (engine/card.hpp), stores it in the vault, records the
  /// token, brand and last 4. Errors: invalid_card, card_expired (the number is
  /// in no message), rate_limited (too many methods), storage_error.
  [[nodiscard]] result<method_record> add_method(rider_id rider, const card_input& card);
  /// The rider's methods, newest first.
  std::vector<method_record> methods(rider_id rider) const;
  /// Does the rider have a method that has not expired?
  bool has_usable_method(rider_id rider) const;
  /// The rider's newest method that has not expired (what a ride charges), or nullopt.
  std::optional<method_record> default_method(rider_id rider) const;

  // ---- payments ----
  /// Authorizes (and, with capture, captures) under an Idempotency-Key: the same
  /// caller + key + fingerprint replays the first answer (also after a restart,
  /// for idempotency_ttl_ms); another fingerprint is idempotency_conflict; a
  /// concurrent duplicate waits for the first and replays it. Errors (in the
  /// answer or the result): invalid_argument, no_payment_method, card_expired,
  /// payment_declined, psp_unavailable (retry with the same key), storage_error.
  [[nodiscard]] result<payment_answer> create(const create_request& req,
                                              const idempotency_scope& scope);
  /// Captures `amount` (default: all) of an authorized payment; <= authorized.
  /// Errors: unknown_payment, illegal_transition, exceeds_captured (above the hold),
  /// psp_unavailable, storage_error.
  [[nodiscard]] result<payment_record> capture(std::uint64_t id,
                                               std::optional<std::int64_t> amount);
  /// Voids an authorized payment's hold. Errors: as capture.
  [[nodiscard]] result<payment_record> cancel(std::uint64_t id);
  /// Refunds `amount` (default: what is left) of a captured payment; never more
  /// than captured - refunded. Errors: unknown_payment, illegal_transition,
  /// exceeds_captured, invalid_argument, psp_unavailable, storage_error.
  [[nodiscard]] result<payment_record> refund(std::uint64_t id, std::optional<std::int64_t> amount);
  /// refund() under an Idempotency-Key, as create(): the same caller + key +
  /// fingerprint replays the first answer (the refunded payment, or the
  /// refusal), also after a restart; another fingerprint is
  /// idempotency_conflict; a concurrent duplicate waits for the first and
  /// replays it. The key is claimed in the synced batch that puts the refund in
  /// flight, and answered in the batch of its outcome. Errors: as refund(),
  /// idempotency_conflict, invalid_argument (no key).
  [[nodiscard]] result<payment_answer> refund(std::uint64_t id, std::optional<std::int64_t> amount,
                                              const idempotency_scope& scope);
  /// Errors: unknown_payment.
  [[nodiscard]] result<payment_record> get(std::uint64_t id) const;
  earnings earnings_of(driver_id driver) const;
  // ---- personal data (GDPR; personal_data.cpp) ----
  /// Payments naming `rider` as payer, or `driver` as payee, oldest first (the
  /// data export). Exactly one of them valid; otherwise empty.
  std::vector<payment_record> payments_of(rider_id rider, driver_id driver) const;
  /// Erasure: every card of `rider` leaves the vault and its method records go
  /// (one synced batch). Payments and ledger rows stay for legal retention under
  /// the pseudonymous rider id. Returns how many methods went. Errors: storage_error.
  [[nodiscard]] result<std::size_t> forget_methods(rider_id rider);
  /// The only currency payments accept.
  const std::string& currency() const noexcept { return opts_.currency; }

  /// Finishes every payment with a PSP call in flight (after a restart): the
  /// call is sent again with its key (the PSP replays it, so nothing is charged
  /// twice) and its outcome recorded; voids authorized holds older than the hold
  /// timeout. Run before serving.
  reconcile_report reconcile();
  /// A PSP callback: finishes the intent's in-flight call if nobody is working on
  /// it; duplicates, late and unknown callbacks change nothing. Returns whether it did.
  bool on_psp_event(const psp_event& ev);

  ~payment_service();
  payment_service(const payment_service&) = delete;
  payment_service& operator=(const payment_service&) = delete;

 private:
  payment_service(persistence::store& store, persistence::token_vault& vault, psp& provider,
                  payment_options opts);
  [[nodiscard]] result<void> load();
  /// Waits until nobody works on `id`, then marks it busy. Errors: unavailable.
  [[nodiscard]] result<payment_record> acquire(std::uint64_t id);
  void release(std::uint64_t id);
  /// acquire + finish any call in flight + fn + release.
  [[nodiscard]] result<payment_record> with_payment(
      std::uint64_t id, const std::function<result<payment_record>(payment_record)>& fn);
  /// Runs the payment's in-flight PSP call and commits its outcome, until none
  /// is left. Caller holds the payment (acquire).
  [[nodiscard]] result<payment_record> advance(payment_record p);
  [[nodiscard]] result<payment_record> step(const payment_record& p);
  /// Commits `next` with its ledger chain, an event (nullptr: none) and, when
  /// `answer` is set, the payment's pending Idempotency-Key answer: ok -> the
  /// payment as committed, an error -> that error. Returns the committed record.
  /// `claim`: a new Idempotency-Key record written in the same batch.
  [[nodiscard]] result<payment_record> commit(payment_record next, std::vector<transfer> chain,
                                              const char* event, std::optional<result<void>> answer,
                                              const idempotency_record* claim = nullptr);
  /// Starts `op` on an acquired payment and runs it (claiming `claim` with it).
  [[nodiscard]] result<payment_record> start(payment_record p, payment_op op, std::int64_t amount,
                                             const idempotency_record* claim = nullptr);
  /// An Idempotency-Key seen before; called with `lock` held on mu_. Returns the
  /// conflict, or the key's answer (a call a crash or a concurrent duplicate
  /// left in flight is finished first) with `lock` released; nullopt for a new
  /// key, with `lock` still held.
  [[nodiscard]] result<std::optional<payment_answer>> known_key(std::unique_lock<std::mutex>& lock,
                                                                const idempotency_scope& scope,
                                                                std::uint64_t key_id);
  /// The start of a keyed call: checks the scope (invalid_argument without a
  /// key), drops expired keys, locks `lock` (deferred, on mu_) and runs known_key.
  [[nodiscard]] result<std::optional<payment_answer>> open_key(std::unique_lock<std::mutex>& lock,
                                                               const idempotency_scope& scope,
                                                               std::int64_t now);
  /// The answer of a key whose first call finished, replayed.
  std::optional<payment_answer> stored_answer(std::uint64_t key_id) const;
  void note(std::string_view event, std::int64_t amount = 0) const;
  ride_parties parties(const payment_record& p) const;
  /// Drops answered keys older than idempotency_ttl_ms (at most once a minute).
  void expire_idempotency(std::int64_t now);
  std::optional<method_record> method_of(std::uint64_t id) const;

  persistence::store& store_;
  persistence::token_vault& vault_;
  psp& psp_;
  payment_options opts_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::uint64_t, method_record> methods_;
  std::map<std::uint64_t, payment_record> payments_;
  std::map<std::string, std::uint64_t, std::less<>> by_intent_;
  std::map<std::uint64_t, idempotency_record> idem_;
  std::set<std::uint64_t> busy_;
  std::int64_t last_expiry_ms_ = 0;
};

}  // namespace rideshard::payments
