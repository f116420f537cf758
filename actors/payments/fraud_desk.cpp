// fraud_desk (see fraud_desk.hpp): decisions logged and counted, flags opened
// as durable cases with their rideshard.fraud-events.v1 event, admin review.
#include "payments/fraud_desk.hpp"

#include <nlohmann/json.hpp>

#include "rideshard/persistence/topics.hpp"

namespace rideshard::payments {

namespace {

using json = nlohmann::json;

json case_object(const fraud_case& c) {
  json j{{"id", case_name(c.id)},
         {"rule", to_string(c.rule)},
         {"subject", c.subject},
         {"related", c.related.empty() ? json(nullptr) : json(c.related)},
         {"count", c.count},
         {"opened_at_ms", c.opened_ms},
         {"state", to_string(c.state)}};
  if (c.state != case_state::open) {
    j["resolved_by"] = c.resolved_by;
    j["resolved_at_ms"] = c.resolved_ms;
    j["note"] = c.note;
  }
  return j;
}

std::vector<std::uint8_t> encode(const fraud_case& c) {
  json j = case_object(c);
  j["id"] = c.id;
  j["rule"] = static_cast<int>(c.rule);
  j["state"] = static_cast<int>(c.state);
  const auto text = j.dump(-1, ' ', false, json::error_handler_t::replace);
  return {text.begin(), text.end()};
}

result<fraud_case> decode(const std::vector<std::uint8_t>& bytes) {
  auto j = json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return error{errc::bad_json, "unreadable fraud case"};
  try {
    fraud_case c;
    c.id = j.at("id").get<std::uint64_t>();
    c.rule = static_cast<fraud_rule>(j.at("rule").get<int>());
    c.subject = j.at("subject").get<std::string>();
    if (j.at("related").is_string()) c.related = j.at("related").get<std::string>();
    c.count = j.at("count").get<std::uint32_t>();
    c.opened_ms = j.at("opened_at_ms").get<std::int64_t>();
    c.state = static_cast<case_state>(j.at("state").get<int>());
    c.resolved_by = j.value("resolved_by", "");
    c.resolved_ms = j.value("resolved_at_ms", std::int64_t{0});
    c.note = j.value("note", "");
    return c;
  } catch (const json::exception& e) {
    return error{errc::bad_json, std::string("unreadable fraud case: ") + e.what()};
  }
}

}  // namespace

std::string_view to_string(case_state s) noexcept {
  switch (s) {
    case case_state::open:
      return "open";
    case case_state::cleared:
      return "cleared";
    case case_state::confirmed:
      return "confirmed";
  }
  return "unknown";
}

result<case_state> case_state_from_string(std::string_view s) {
  for (auto c : {case_state::open, case_state::cleared, case_state::confirmed})
    if (to_string(c) == s) return c;
  return error{errc::invalid_argument, "state must be open, cleared or confirmed"};
}

std::string case_name(std::uint64_t id) { return "fc-" + std::to_string(id); }

std::string case_json(const fraud_case& c) { return case_object(c).dump(); }

fraud_desk::fraud_desk(persistence::store& store, fraud_options opts)
    : store_(store), opts_(std::move(opts)), rules_(opts_.limits) {}

result<std::unique_ptr<fraud_desk>> fraud_desk::open(persistence::store& store,
                                                     fraud_options opts) {
  if (!opts.now_ms || !opts.next_id)
    return error{errc::bad_config, "fraud: now_ms and next_id are required"};
  std::unique_ptr<fraud_desk> d(new fraud_desk(store, std::move(opts)));
  auto rows = store.load_entities(persistence::entity_kind::fraud_case);
  if (!rows) return rows.err();
  for (const auto& r : *rows) {
    auto c = decode(r.value);
    if (!c) return c.err();
    d->cases_[c->id] = std::move(*c);
  }
  return d;
}

result<void> fraud_desk::write(const fraud_case& c, const char* event_type) {
  persistence::write_batch b;
  b.put_entity(persistence::entity_kind::fraud_case, c.id, 0, encode(c));
  json ev = case_object(c);
  const std::string event_id = case_name(c.id) + "-" + event_type;
  const std::int64_t at = c.state == case_state::open ? c.opened_ms : c.resolved_ms;
  ev["event_id"] = event_id;
  ev["event_type"] = event_type;
  ev["schema_version"] = 1;
  ev["occurred_at_ms"] = at;
  ev["sequence"] = c.state == case_state::open ? 0 : 1;
  ev.erase("note");  // the admin's free text stays in the store
  if (auto ok = b.add_json_event(persistence::fraud_events_topic, c.subject, event_id,
                                 std::string("rideshard.fraud.") + event_type, at,
                                 ev.dump(-1, ' ', false, json::error_handler_t::replace));
      !ok)
    return ok.err();
  if (auto ok = store_.commit(b); !ok) return ok.err();
  return {};
}

void fraud_desk::decide(const fraud_decision& d) {
  if (opts_.observe) opts_.observe(d);
  if (opts_.log) {
    std::string line = "event=fraud_decision rule=" + std::string(to_string(d.rule)) +
                       " decision=" + (d.flagged ? "flag" : "allow") + " subject=" + d.subject +
                       " count=" + std::to_string(d.count);
    if (!d.related.empty()) line += " related=" + d.related;
    opts_.log(line);
  }
  if (!d.flagged) return;
  for (const auto& [id, c] : cases_)
    if (c.state == case_state::open && c.rule == d.rule && c.subject == d.subject) return;
  fraud_case c;
  c.id = opts_.next_id();
  c.rule = d.rule;
  c.subject = d.subject;
  c.related = d.related;
  c.count = d.count;
  c.opened_ms = d.at_ms;
  if (auto ok = write(c, "flagged"); !ok) {
    if (opts_.log)
      opts_.log("event=fraud_case_lost rule=" + std::string(to_string(d.rule)) +
                " subject=" + d.subject + " error=" + ok.err().message);
    return;
  }
  cases_[c.id] = std::move(c);
}

void fraud_desk::card_added(rider_id rider, std::string_view card_fingerprint) {
  std::lock_guard lock(mu_);
  for (const auto& d : rules_.card_added(rider, card_fingerprint, opts_.now_ms())) decide(d);
}

void fraud_desk::refund(rider_id rider) {
  std::lock_guard lock(mu_);
  decide(rules_.refund(rider, opts_.now_ms()));
}

void fraud_desk::impossible_speed(driver_id driver) {
  std::lock_guard lock(mu_);
  decide(rules_.impossible_speed(driver, opts_.now_ms()));
}

void fraud_desk::committed(const persistence::write_batch& batch) {
  for (const auto& ev : batch.events()) {
    if (ev.topic != persistence::trip_events_topic) continue;
    auto j = json::parse(ev.payload, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    const std::string to = j.value("to_state", "");
    if (to != "accepted" && to != "cancelled" && to != "completed" && to != "expired") continue;
    const trip_id trip{j.value("trip_id", std::uint64_t{0})};
    const std::int64_t at = j.value("occurred_at_ms", std::int64_t{0});
    std::lock_guard lock(mu_);
    if (to == "accepted")
      rules_.trip_accepted(trip, rider_id{j.value("rider_id", std::uint64_t{0})},
                           driver_id{j.value("driver_id", std::uint64_t{0})}, at);
    else if (to == "cancelled") {
      auto d = rules_.trip_cancelled(trip, at);
      if (!d.subject.empty()) decide(d);  // only trips a driver had accepted
    } else {
      rules_.trip_ended(trip);
    }
  }
}

std::vector<fraud_case> fraud_desk::cases(std::optional<case_state> only) const {
  std::lock_guard lock(mu_);
  std::vector<fraud_case> out;
  for (auto it = cases_.rbegin(); it != cases_.rend(); ++it)
    if (!only || it->second.state == *only) out.push_back(it->second);
  return out;
}

result<fraud_case> fraud_desk::resolve(std::uint64_t id, case_state decision, const std::string& by,
                                       const std::string& note) {
  if (decision == case_state::open)
    return error{errc::invalid_argument, "a case is resolved as cleared or confirmed"};
  std::lock_guard lock(mu_);
  auto it = cases_.find(id);
  if (it == cases_.end()) return error{errc::invalid_argument, "no such fraud case"};
  if (it->second.state != case_state::open)
    return error{errc::illegal_transition,
                 "the case is already " + std::string(to_string(it->second.state))};
  fraud_case c = it->second;
  c.state = decision;
  c.resolved_by = by;
  c.resolved_ms = opts_.now_ms();
  c.note = note;
  if (auto ok = write(c, to_string(decision) == "cleared" ? "cleared" : "confirmed"); !ok)
    return ok.err();
  it->second = c;
  return c;
}

}  // namespace rideshard::payments
