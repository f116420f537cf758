// Payment events for the outbox (docs/events.md, rideshard.payment-events.v1)
// and the card expiry check.
#include <ctime>
#include <nlohmann/json.hpp>

#include "payments/detail/payment_events.hpp"
#include "rideshard/persistence/topics.hpp"

namespace rideshard::payments::detail {

result<void> add_payment_event(persistence::write_batch& b, const payment_record& p,
                               std::string_view event_type, std::string_view psp,
                               std::int64_t now_ms) {
  const std::string event_id = payment_name(p.id) + "-" + std::to_string(p.sequence);
  nlohmann::json j{{"event_id", event_id},
                   {"event_type", event_type},
                   {"schema_version", 1},
                   {"occurred_at_ms", now_ms},
                   {"sequence", p.sequence},
                   {"payment_id", p.id},
                   {"rider_id", p.rider.value},
                   {"driver_id", p.driver.value},
                   {"state", to_string(p.state)},
                   {"amount_minor", p.amount},
                   {"authorized_minor", p.authorized},
                   {"captured_minor", p.captured},
                   {"refunded_minor", p.refunded},
                   {"currency", p.currency},
                   {"psp", psp}};
  if (!p.failure.empty()) j["reason"] = p.failure;
  return b.add_json_event(persistence::payment_events_topic, payment_name(p.id), event_id,
                          "rideshard.payment." + std::string(event_type), now_ms, j.dump());
}

bool expired(const method_record& m, std::int64_t now_ms) {
  const std::time_t t = static_cast<std::time_t>(now_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  const int year = tm.tm_year + 1900, month = tm.tm_mon + 1;
  return year > m.exp_year || (year == m.exp_year && month > m.exp_month);
}

}  // namespace rideshard::payments::detail
