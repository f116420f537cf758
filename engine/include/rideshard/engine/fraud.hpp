// Fraud rules: pure sliding-window checks over what accounts do — cards added,
// refunds, accept-then-cancel loops, cards shared between accounts, impossible
// GPS speeds. No clock, no I/O: every signal carries its time; the caller logs,
// counts, publishes and queues the flags (actors/payments/fraud_desk).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rideshard/engine/ids.hpp"

namespace rideshard {

enum class fraud_rule : std::uint8_t {
  too_many_cards = 1,      ///< cards added by one rider within a day
  shared_card = 2,         ///< one card (by fingerprint) on several accounts: collusion
  repeated_refunds = 3,    ///< refunds to one rider within the window
  accept_cancel_loop = 4,  ///< trips cancelled shortly after a driver accepted, per pair
  gps_spoofing = 5,        ///< positions implying impossible speeds, per driver
};
/// Stable snake_case names ("too_many_cards", ...): metric labels, events, API.
std::string_view to_string(fraud_rule r) noexcept;

/// Thresholds. A rule flags when its count within the window exceeds its max.
struct fraud_limits {
  std::uint32_t max_cards_per_day = 3;
  std::uint32_t max_refunds = 2;
  std::int64_t refund_window_ms = 30LL * 24 * 3600 * 1000;
  std::uint32_t max_quick_cancels = 2;        ///< per rider-driver pair
  std::int64_t quick_cancel_ms = 120'000;     ///< "shortly after accept"
  std::int64_t cancel_window_ms = 3'600'000;  ///< quick cancels counted over this
  std::uint32_t max_speed_signals = 2;
  std::int64_t speed_window_ms = 3'600'000;
};

/// One evaluation of one rule: every signal gets one (logged, counted); only
/// `flagged` ones open a review case. Subjects are pseudonymous ids ("r-7",
/// "d-9"), never names or card data.
struct fraud_decision {
  fraud_rule rule = fraud_rule::too_many_cards;
  bool flagged = false;
  std::string subject;      ///< the account the decision is about
  std::string related;      ///< the other party (shared card, cancel loop), else empty
  std::uint32_t count = 0;  ///< what the rule counted, including this signal
  std::int64_t at_ms = 0;
};

/// The rules' state. Not thread-safe (one owner). Memory: timestamps within the
/// windows only, plus one entry per card fingerprint and per accepted trip not
/// yet ended (bounded by the caller's trip volume; ended trips are dropped).
class fraud_rules {
 public:
  explicit fraud_rules(fraud_limits limits = {});

  /// A rider added a card; `card_fingerprint` identifies the card without being
  /// it (a keyed hash). Two decisions: too_many_cards and shared_card.
  std::vector<fraud_decision> card_added(rider_id rider, std::string_view card_fingerprint,
                                         std::int64_t at_ms);
  /// A refund to `rider`: repeated_refunds.
  fraud_decision refund(rider_id rider, std::int64_t at_ms);
  /// A driver accepted `trip` of `rider` (remembered until the trip ends).
  void trip_accepted(trip_id trip, rider_id rider, driver_id driver, std::int64_t at_ms);
  /// `trip` was cancelled: an accept_cancel_loop decision for its pair if a
  /// driver had accepted it (nullopt-like: flagged false, subject empty, if not).
  fraud_decision trip_cancelled(trip_id trip, std::int64_t at_ms);
  /// `trip` ended otherwise (completed, expired): forgets its acceptance.
  void trip_ended(trip_id trip);
  /// The node refused a driver's position as an impossible jump: gps_spoofing.
  fraud_decision impossible_speed(driver_id driver, std::int64_t at_ms);

 private:
  struct accepted {
    rider_id rider;
    driver_id driver;
    std::int64_t at_ms = 0;
  };
  /// Appends `at_ms` to `times`, drops entries older than `window`, returns the count.
  static std::uint32_t count_in_window(std::deque<std::int64_t>& times, std::int64_t at_ms,
                                       std::int64_t window);
  /// One more signal about `who`: the decision of a rule that counts signals
  /// in a window and flags past `max`.
  static fraud_decision counted(fraud_rule rule, std::string who, std::deque<std::int64_t>& times,
                                std::int64_t at_ms, std::int64_t window, std::uint32_t max);

  fraud_limits limits_;
  std::unordered_map<std::string, std::deque<std::int64_t>> cards_, refunds_, cancels_, speeds_;
  std::map<std::string, std::set<std::string>, std::less<>> card_owners_;
  std::unordered_map<std::uint64_t, accepted> accepted_;
};

}  // namespace rideshard
