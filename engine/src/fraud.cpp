// Fraud rules (see fraud.hpp): sliding windows of timestamps per key.
#include "rideshard/engine/fraud.hpp"

namespace rideshard {

std::string_view to_string(fraud_rule r) noexcept {
  switch (r) {
    case fraud_rule::too_many_cards:
      return "too_many_cards";
    case fraud_rule::shared_card:
      return "shared_card";
    case fraud_rule::repeated_refunds:
      return "repeated_refunds";
    case fraud_rule::accept_cancel_loop:
      return "accept_cancel_loop";
    case fraud_rule::gps_spoofing:
      return "gps_spoofing";
  }
  return "unknown";
}

fraud_rules::fraud_rules(fraud_limits limits) : limits_(limits) {}

std::uint32_t fraud_rules::count_in_window(std::deque<std::int64_t>& times, std::int64_t at_ms,
                                           std::int64_t window) {
  times.push_back(at_ms);
  while (!times.empty() && times.front() <= at_ms - window) times.pop_front();
  return static_cast<std::uint32_t>(times.size());
}

std::vector<fraud_decision> fraud_rules::card_added(rider_id rider,
                                                    std::string_view card_fingerprint,
                                                    std::int64_t at_ms) {
  const std::string who = to_string(rider);
  std::vector<fraud_decision> out;
  out.push_back(counted(fraud_rule::too_many_cards, who, cards_[who], at_ms, 24LL * 3600 * 1000,
                        limits_.max_cards_per_day));

  fraud_decision shared{fraud_rule::shared_card, false, who, {}, 0, at_ms};
  if (!card_fingerprint.empty()) {
    auto& owners = card_owners_[std::string(card_fingerprint)];
    owners.insert(who);
    shared.count = static_cast<std::uint32_t>(owners.size());
    if (owners.size() > 1) {
      shared.flagged = true;
      for (const auto& o : owners)
        if (o != who) {
          shared.related = o;  // the first other holder (ids sort stably)
          break;
        }
    }
  }
  out.push_back(shared);
  return out;
}

fraud_decision fraud_rules::counted(fraud_rule rule, std::string who,
                                    std::deque<std::int64_t>& times, std::int64_t at_ms,
                                    std::int64_t window, std::uint32_t max) {
  fraud_decision d{rule, false, std::move(who), {}, 0, at_ms};
  d.count = count_in_window(times, at_ms, window);
  d.flagged = d.count > max;
  return d;
}

fraud_decision fraud_rules::refund(rider_id rider, std::int64_t at_ms) {
  const std::string who = to_string(rider);
  return counted(fraud_rule::repeated_refunds, who, refunds_[who], at_ms, limits_.refund_window_ms,
                 limits_.max_refunds);
}

void fraud_rules::trip_accepted(trip_id trip, rider_id rider, driver_id driver,
                                std::int64_t at_ms) {
  accepted_[trip.value] = accepted{rider, driver, at_ms};
}

fraud_decision fraud_rules::trip_cancelled(trip_id trip, std::int64_t at_ms) {
  fraud_decision d{fraud_rule::accept_cancel_loop, false, {}, {}, 0, at_ms};
  auto it = accepted_.find(trip.value);
  if (it == accepted_.end()) return d;  // never accepted: not this rule's business
  const accepted a = it->second;
  accepted_.erase(it);
  d.subject = to_string(a.driver);
  d.related = to_string(a.rider);
  auto& times = cancels_[d.subject + "|" + d.related];
  if (at_ms - a.at_ms > limits_.quick_cancel_ms) {
    // A late cancel: counted for nothing, but still a decision (allowed).
    while (!times.empty() && times.front() <= at_ms - limits_.cancel_window_ms) times.pop_front();
    d.count = static_cast<std::uint32_t>(times.size());
    return d;
  }
  d.count = count_in_window(times, at_ms, limits_.cancel_window_ms);
  d.flagged = d.count > limits_.max_quick_cancels;
  return d;
}

void fraud_rules::trip_ended(trip_id trip) { accepted_.erase(trip.value); }

fraud_decision fraud_rules::impossible_speed(driver_id driver, std::int64_t at_ms) {
  const std::string who = to_string(driver);
  return counted(fraud_rule::gps_spoofing, who, speeds_[who], at_ms, limits_.speed_window_ms,
                 limits_.max_speed_signals);
}

}  // namespace rideshard
