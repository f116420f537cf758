// The fraud review queue for admins: GET /api/admin/fraud/cases[?state=] and
// POST /api/admin/fraud/cases/{id}/resolve (cleared, or confirmed: the flagged
// account is suspended). Resolutions are audited like the console's actions.
// Beside it, rides' money at the PSP: GET /api/admin/payments/rides[?attention=true], paged.
#include "api/detail/api_state.hpp"
#include "payments/fraud_desk.hpp"
#include "payments/ride_charger.hpp"

namespace rideshard::api::detail {

namespace {

payments::fraud_desk* fraud_desk_of(const api_state& st, exchange& ex) {
  if (st.opts.fraud == nullptr)
    ex.fail(error{errc::unavailable, "fraud checks are not configured on this node"});
  return st.opts.fraud;
}

}  // namespace

void get_fraud_cases(const api_state& st, const gateway::http_request& req, std::string_view,
                     exchange& ex) {
  if (!require_admin(st, req, ex)) return;
  auto* desk = fraud_desk_of(st, ex);
  if (desk == nullptr) return;
  std::optional<payments::case_state> only;
  if (auto it = req.query.find("state"); it != req.query.end()) {
    auto s = payments::case_state_from_string(it->second);
    if (!s) return ex.fail(s.err());
    only = *s;
  }
  json out = json::array();
  for (const auto& c : desk->cases(only)) out.push_back(json::parse(payments::case_json(c)));
  ex.reply(200, json{{"cases", std::move(out)}});
}

void post_fraud_resolve(const api_state& st, const gateway::http_request& req, std::string_view id,
                        exchange& ex) {
  auto who = require_admin(st, req, ex);
  if (!who) return;
  auto* desk = fraud_desk_of(st, ex);
  if (desk == nullptr) return;
  if (id.substr(0, 3) != "fc-")
    return ex.fail(error{errc::invalid_argument, "not a fraud case id (fc-<n>)"});
  auto n = parse_prefixed_id(std::string("f") + std::string(id.substr(2)), 'f', "fraud case");
  if (!n) return ex.fail(n.err());
  auto body = parse_object(req.body);
  if (!body) return ex.fail(body.err());
  if (auto ok = only_fields(*body, {"decision", "note"}); !ok) return ex.fail(ok.err());
  auto decision = required_string(*body, "decision");
  if (!decision) return ex.fail(decision.err());
  auto state = payments::case_state_from_string(*decision);
  if (!state) return ex.fail(state.err());
  auto note = optional_string(*body, "note");
  if (!note) return ex.fail(note.err());
  auto c = desk->resolve(*n, *state, who->subject, note->value_or(""));
  if (!c) return ex.fail(c.err());
  // Confirmed fraud: the account is suspended (its tokens revoked, sessions closed).
  if (c->state == payments::case_state::confirmed) {
    auth::user_update upd;
    upd.suspended = true;
    if (auto u = st.users.update(c->subject, upd);
        !u && u.code() != errc::unknown_rider && u.code() != errc::unknown_driver)
      return ex.fail(u.err());
  }
  ex.reply(200, json::parse(payments::case_json(*c)));
}

void get_ride_charges(const api_state& st, const gateway::http_request& req, std::string_view,
                      exchange& ex) {
  if (!require_admin(st, req, ex)) return;
  if (st.opts.rides == nullptr)
    return ex.fail(error{errc::unavailable, "rides are not charged at a PSP on this node"});
  bool attention = false;
  if (auto it = req.query.find("attention"); it != req.query.end()) {
    if (it->second != "true" && it->second != "false")
      return ex.fail(error{errc::invalid_argument, "attention must be true or false"});
    attention = it->second == "true";
  }
  std::size_t limit = 100;
  if (req.query.count("limit")) {
    auto n = query_count(req, "limit");
    if (!n) return ex.fail(n.err());
    if (*n == 0 || *n > 1000)
      return ex.fail(error{errc::invalid_argument, "limit must be 1..1000"});
    limit = static_cast<std::size_t>(*n);
  }
  std::uint64_t after = 0;  // a page: the rides after this trip
  if (auto it = req.query.find("after"); it != req.query.end()) {
    auto t = parse_trip_id(it->second);
    if (!t) return ex.fail(error{errc::invalid_argument, "after must be a trip id (t-...)"});
    after = t->value;
  }
  auto page = st.opts.rides->records(attention, after, limit);
  if (!page) return ex.fail(page.err());
  json out = json::array();
  for (const auto& r : page->rides) out.push_back(json::parse(payments::ride_charge_json(r)));
  ex.reply(200,
           json{{"backlog", st.opts.rides->backlog()},
                {"rides", std::move(out)},
                {"next", page->next != 0 ? json(to_string(trip_id{page->next})) : json(nullptr)}});
}

}  // namespace rideshard::api::detail
