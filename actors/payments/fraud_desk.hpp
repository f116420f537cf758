// fraud_desk: the fraud rules (engine/fraud.hpp) on the live path. Every
// decision is logged (rule, decision, pseudonymous ids, count) and counted;
// a flag opens a review case, written with its rideshard.fraud-events.v1 event
// in one synced batch. Admins list and resolve cases over the API.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rideshard/engine/fraud.hpp"
#include "rideshard/engine/ids.hpp"
#include "rideshard/engine/result.hpp"
#include "rideshard/persistence/store.hpp"
#include "rideshard/persistence/write_batch.hpp"

namespace rideshard::payments {

enum class case_state : std::uint8_t { open = 1, cleared = 2, confirmed = 3 };
std::string_view to_string(case_state s) noexcept;
/// "open" | "cleared" | "confirmed". Errors: invalid_argument.
[[nodiscard]] result<case_state> case_state_from_string(std::string_view s);

/// A flagged account waiting for (or past) an admin's review.
struct fraud_case {
  std::uint64_t id = 0;
  fraud_rule rule = fraud_rule::too_many_cards;
  std::string subject;  ///< pseudonymous id of the flagged account
  std::string related;  ///< the other party, if the rule has one
  std::uint32_t count = 0;
  std::int64_t opened_ms = 0;
  case_state state = case_state::open;
  std::string resolved_by;  ///< the admin's subject
  std::int64_t resolved_ms = 0;
  std::string note;  ///< the admin's note (their words; never shown to the subject)
};
/// "fc-<id>".
std::string case_name(std::uint64_t id);
/// The API's and the event's view of a case (JSON object text).
std::string case_json(const fraud_case& c);

struct fraud_options {
  fraud_limits limits;
  std::function<std::int64_t()> now_ms;    ///< Unix ms (required)
  std::function<std::uint64_t()> next_id;  ///< case ids (required)
  /// Every decision, for metrics (optional; any thread).
  std::function<void(const fraud_decision&)> observe;
  /// One line per decision, no personal data (optional; any thread).
  std::function<void(const std::string&)> log;
};

/// Thread-safe: one mutex around the rules and the queue. A flag commits its
/// case synchronously (a synced write) on the calling thread.
class fraud_desk {
 public:
  /// Loads the stored cases. Errors: bad_config, storage_error.
  [[nodiscard]] static result<std::unique_ptr<fraud_desk>> open(persistence::store& store,
                                                                fraud_options opts);

  // ---- signals ----
  void card_added(rider_id rider, std::string_view card_fingerprint);
  void refund(rider_id rider);
  void impossible_speed(driver_id driver);
  /// The trip events of a committed batch (accepted, cancelled, completed,
  /// expired on rideshard.trip-events.v1); other events are skipped. Meant for
  /// store::set_commit_listener.
  void committed(const persistence::write_batch& batch);

  // ---- the review queue ----
  /// Cases newest first; with `only`, those in that state.
  std::vector<fraud_case> cases(std::optional<case_state> only) const;
  /// Closes an open case as cleared or confirmed. Errors: invalid_argument
  /// (state open), unknown_trip-like not found -> invalid_argument "no such
  /// case", illegal_transition (already resolved), storage_error.
  [[nodiscard]] result<fraud_case> resolve(std::uint64_t id, case_state decision,
                                           const std::string& by, const std::string& note);

 private:
  fraud_desk(persistence::store& store, fraud_options opts);
  /// Logs and counts `d`; opens a case if it is flagged and the subject has no
  /// open case for that rule yet. Caller holds mu_.
  void decide(const fraud_decision& d);
  [[nodiscard]] result<void> write(const fraud_case& c, const char* event_type);

  persistence::store& store_;
  fraud_options opts_;
  mutable std::mutex mu_;
  fraud_rules rules_;                          // guarded by mu_
  std::map<std::uint64_t, fraud_case> cases_;  // guarded by mu_
};

}  // namespace rideshard::payments
