// ride_charger: a ride's money at the PSP. The ledger moves first — the trip
// actor commits the hold / capture / void / fee with the transition, synced
// (engine/trip_money.hpp) — and this follows it off the actors' path: the
// store's commit listener queues the trip, one worker thread makes the PSP call
// engine/ride_charge.hpp's next_ride_action() asks for, with the idempotency
// key `to_string(transfer id)` of the ledger transfer it backs, and commits the
// PSP's answer (a ride_charge record, not synced: the transitions' synced
// commits do not wait for it). A lost answer (timeout, 5xx, a crash) or a
// record a power cut dropped is redone with the same key, so the PSP replays
// it: never charged twice. At start reconcile() queues every trip whose committed ledger
// transfers have no recorded PSP outcome, reading only the ledger's ride-due
// index (rows written with each ride transfer, dropped once it is in line).
// Records are read from the store when a trip is processed or looked up, never
// all at start: open() costs the same with ten rides or ten million. The admin
// list pages through the store, and the rides needing an operator have their
// own index (entity kind ride_charge_attention, written with each record).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "payments/payment_service.hpp"
#include "payments/psp.hpp"
#include "rideshard/engine/ride_charge.hpp"
#include "rideshard/persistence/store.hpp"
#include "rideshard/persistence/token_vault.hpp"

namespace rideshard::payments {

/// What the PSP answered for one trip (entity kind ride_charge, id = trip id).
struct ride_charge_record {
  std::uint64_t trip = 0;
  rider_id rider;
  std::uint64_t method = 0;  ///< the card authorized (0: none)
  std::string intent;        ///< the hold's PaymentIntent ("" until authorized)
  std::string extra_intent;  ///< the extra charge's, if any
  ride_psp psp;              ///< authorization, settlement, extra, request ended
  std::int64_t authorized = 0;
  std::int64_t collected = 0;    ///< captured at the PSP (fare or fee, plus extra)
  std::int64_t uncollected = 0;  ///< charged in the ledger, not collectable at the PSP
  std::uint32_t retries = 0;     ///< unknown outcomes (timeout, 5xx) since the last answer
  std::string last_error;        ///< the PSP's last refusal or failure (never card data)
  std::int64_t updated_ms = 0;
};
std::vector<std::uint8_t> encode(const ride_charge_record& r);
/// Errors: bad_json.
[[nodiscard]] result<ride_charge_record> decode_ride_charge(const std::vector<std::uint8_t>& bytes);
/// The admin view of a record (ids as "t-", "r-", "pm-" names; no card data).
std::string ride_charge_json(const ride_charge_record& r);
/// Needs an operator: a refused authorization, an uncollected charge, or retries.
bool needs_attention(const ride_charge_record& r);

/// Why a refused authorization ends the request (the trip's cancel_reason).
inline constexpr const char* payment_declined_reason = "payment_declined";
inline constexpr const char* payment_failed_reason = "payment_failed";

struct ride_charger_options {
  std::function<std::int64_t()> now_ms;  ///< Unix ms (required)
  std::string currency = "usd";
  /// Ends the request of a trip whose authorization was refused (a cancel by
  /// the system with `reason`, which voids the ledger hold). ok, unknown_trip or
  /// illegal_transition (the trip moved on) count as done; other errors retry.
  /// Set before start(); unset: refused rides go on and their charge is uncollected.
  std::function<result<void>(trip_id, const std::string& reason)> end_request;
  /// Metrics: each step with its outcome ("ok", "declined", "failed",
  /// "unavailable", "no_method") and amount in minor units. Any thread.
  std::function<void(std::string_view step, std::string_view outcome, std::int64_t amount)> observe;
  /// Called with the backlog (trips queued) after it changes. Any thread; quick.
  std::function<void(std::size_t)> on_backlog;
  /// Retry of an unknown outcome: doubles from retry_min up to retry_max.
  std::chrono::milliseconds retry_min{200};
  std::chrono::milliseconds retry_max{std::chrono::seconds(30)};
};

/// One page of the admin list (records(), by trip id).
struct ride_charge_page {
  std::vector<ride_charge_record> rides;
  /// The last trip id of a full page: pass it as `after` for the next page
  /// (0: this page is the last).
  std::uint64_t next = 0;
};

/// What reconcile() found.
struct ride_reconcile_report {
  std::size_t trips = 0;    ///< trips in the ledger's ride-due index (all it read)
  std::size_t pending = 0;  ///< of which some PSP step is missing: queued
};

/// Thread-safe. committed() is cheap (it only queues); PSP calls and record
/// commits run on the worker (start()) or the caller of run_queued().
class ride_charger {
 public:
  /// Reads no ride_charge record (they are read on demand), except once on a
  /// store from before the attention index: then every record is read once to
  /// build it, and a marker row (ride_charge_attention, the largest id) goes with
  /// the index, so later opens skip it. Keeps references (store, vault,
  /// service, PSP must outlive it). Errors: bad_config, storage_error, bad_json.
  [[nodiscard]] static result<std::unique_ptr<ride_charger>> open(persistence::store& store,
                                                                  persistence::token_vault& vault,
                                                                  const payment_service& methods,
                                                                  psp& provider,
                                                                  ride_charger_options opts);
  ~ride_charger();  ///< stops the worker
  ride_charger(const ride_charger&) = delete;
  ride_charger& operator=(const ride_charger&) = delete;

  /// The store's commit listener: queues each trip whose ride money `b` moved.
  void committed(const persistence::write_batch& b);
  /// Queues every trip whose ledger money is not in line with its record
  /// (after a crash: a call made but not recorded, or never made). Reads only
  /// the ledger's ride-due index (persistence::ledger::rides_due), not the whole
  /// ledger; rows of rides found in line are dropped. Errors: storage_error.
  [[nodiscard]] result<ride_reconcile_report> reconcile();
  /// Sets the request-ending hook (before start()).
  void set_end_request(std::function<result<void>(trip_id, const std::string&)> fn);
  /// Starts the worker thread (idempotent).
  void start();
  /// Stops the worker after its current trip; queued trips stay for reconcile().
  void stop();
  /// Runs every queued trip once on the caller's thread, ignoring retry delays
  /// (tests without a worker). Returns how many are still queued (unknown outcomes).
  std::size_t run_queued();

  /// Trips waiting for a PSP call (retries included).
  std::size_t backlog() const;
  /// The trip's record; nullopt when there is none (or it cannot be read).
  std::optional<ride_charge_record> find(trip_id trip) const;
  /// Up to `max` records with trip id > after, by trip id: every record, or
  /// (attention_only) those needs_attention() picks, read through their index.
  /// Reads only the page's rows. Errors: storage_error, bad_json.
  [[nodiscard]] result<ride_charge_page> records(bool attention_only, std::uint64_t after,
                                                 std::size_t max) const;
  /// ride_charge records read from the store since open() (tests: start-up
  /// must not depend on how many rides the store has seen).
  std::uint64_t records_read() const noexcept { return records_read_.load(); }

 private:
  ride_charger(persistence::store& store, persistence::token_vault& vault,
               const payment_service& methods, psp& provider, ride_charger_options opts);
  void work();
  /// Brings one trip in line as far as the PSP answers. Returns false when an
  /// outcome stayed unknown (retry later).
  bool process(std::uint64_t trip);
  /// The trip's ride transfers; `present` (if given) gets the id of each found.
  [[nodiscard]] result<ride_ledger> ledger_of(std::uint64_t trip,
                                              std::vector<transfer_id>* present = nullptr) const;
  /// Makes the call of `a`; updates `r` (not yet committed). Errors: an unknown
  /// outcome (retry with the same key), storage_error.
  [[nodiscard]] result<void> run(const ride_action& a, const ride_ledger& l, ride_charge_record& r);
  [[nodiscard]] result<void> save(ride_charge_record& r);
  /// The trip's record from the store (nullopt: none yet). Errors: storage_error, bad_json.
  [[nodiscard]] result<std::optional<ride_charge_record>> load(std::uint64_t trip) const;
  /// A store from before the attention index gets it (once; see open()).
  [[nodiscard]] result<void> index_attention();
  void note(std::string_view step, std::string_view outcome, std::int64_t amount) const;
  void report_backlog() const;

  persistence::store& store_;
  persistence::token_vault& vault_;
  const payment_service& methods_;
  psp& psp_;
  ride_charger_options opts_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  mutable std::atomic<std::uint64_t> records_read_{0};
  std::map<std::uint64_t, std::int64_t> due_;  ///< trip -> when to try (Unix ms)
  std::map<std::uint64_t, std::chrono::milliseconds> backoff_;
  bool stopping_ = false;
  std::thread worker_;
  std::mutex run_mu_;  ///< one trip processed at a time (worker or run_queued)
};

}  // namespace rideshard::payments
