// GDPR endpoints: GET /api/users/{id}/export (everything held about a person,
// as JSON) and DELETE /api/users/{id} (erasure: cards out of the vault, the
// account's personal-data key shredded; trips, payments and ledger rows stay
// under the pseudonymous id, the trips' places rounded to a ~1 km grid).
// Rectification is PUT /api/users/{id}.
#include "api/detail/api_state.hpp"
#include "auth/rbac.hpp"
#include "payments/payment_service.hpp"

namespace rideshard::api::detail {

namespace {

// Every place a trip put the person: pickup and dropoff (riders and drivers
// alike) and the driver's last reported position on it.
void add_trip_locations(const schemas::trip_status& s, json& locations) {
  const std::string trip = to_string(s.trip);
  auto place = [&](const char* kind, lat_lng p) {
    json l = point_json(p);
    l["trip"] = trip;
    l["kind"] = kind;
    l["at_ms"] = s.updated_at_ms;
    locations.push_back(std::move(l));
  };
  place("pickup", s.pickup);
  place("dropoff", s.dropoff);
  if (s.driver_position) place("driver_position", *s.driver_position);
}

}  // namespace

void get_user_export(const api_state& st, const gateway::http_request& req, std::string_view id,
                     exchange& ex) {
  auto who = authenticate(st, req, ex);
  if (!who) return;
  if (auto ok = auth::can_manage_user(*who, id); !ok) return ex.fail(ok.err());
  auto u = st.users.get(id);
  if (!u) return ex.fail(u.err());
  json out{{"subject", u->id},
           {"exported_at", iso8601_utc(st.opts.now_ms())},
           {"account", user_json(*u)}};
  // Trips from the trip store (newest first, at most history_max_limit).
  node::history_query q;
  q.limit = node::history_max_limit;
  auto rider = auth::parse_rider_subject(id);
  auto driver = auth::parse_driver_subject(id);
  if (rider) q.rider = *rider;
  if (driver) q.driver = *driver;
  json trips = json::array(), locations = json::array();
  if (rider || driver) {
    auto found = st.node.trip_history(q);
    // An in-memory node keeps no trip store: nothing stored to export.
    if (!found && found.code() != errc::unavailable) return ex.fail(found.err());
    if (!found) found = std::vector<schemas::trip_status>{};
    for (const auto& s : *found) {
      trips.push_back(trip_json(s, false));
      add_trip_locations(s, locations);
    }
    out["trips_truncated"] = found->size() == node::history_max_limit;
  }
  out["trips"] = std::move(trips);
  out["locations"] = std::move(locations);
  json payments = json::array(), methods = json::array();
  if (auto* svc = st.opts.payments; svc != nullptr && (rider || driver)) {
    for (const auto& p :
         svc->payments_of(rider ? *rider : rider_id{}, driver ? *driver : driver_id{}))
      payments.push_back(json::parse(payments::payment_json(p)));
    if (rider)
      for (const auto& m : svc->methods(*rider))
        methods.push_back(json::parse(payments::method_json(m)));
    if (driver) {
      const auto e = svc->earnings_of(*driver);
      out["earnings"] = json{{"currency", svc->currency()},
                             {"earned_minor", e.earned_minor},
                             {"paid_out_minor", e.paid_out_minor},
                             {"balance_minor", e.balance_minor}};
    }
  }
  out["payments"] = std::move(payments);
  out["payment_methods"] = std::move(methods);
  ex.reply(200, out);
}

void delete_user(const api_state& st, const gateway::http_request& req, std::string_view id,
                 exchange& ex) {
  auto who = authenticate(st, req, ex);
  if (!who) return;
  if (auto ok = auth::can_manage_user(*who, id); !ok) return ex.fail(ok.err());
  if (auto u = st.users.get(id); !u) return ex.fail(u.err());
  // The places of their trips first: rounded to a ~1 km grid (refused, with
  // nothing erased yet, while one of the trips has not ended). Idempotent, so a
  // failure after it is simply retried.
  auto rider = auth::parse_rider_subject(id);
  auto driver = auth::parse_driver_subject(id);
  if (rider || driver) {
    node::history_query q;
    if (rider) q.rider = *rider;
    if (driver) q.driver = *driver;
    if (auto places = st.node.coarsen_trip_locations(q);
        !places && places.code() != errc::unavailable)
      return ex.fail(places.err());
  }
  // Then cards (the vault forgets the numbers), then the account: its key is
  // shredded, so its name, email and password hash are unreadable everywhere.
  if (rider && st.opts.payments != nullptr)
    if (auto gone = st.opts.payments->forget_methods(*rider); !gone) return ex.fail(gone.err());
  if (auto ok = st.users.remove(id); !ok) return ex.fail(ok.err());
  ex.reply_empty(204);
}

}  // namespace rideshard::api::detail
