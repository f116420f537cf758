// The trip endpoints over the dispatch node: GET /api/trips/{id}, POST
// /api/trips (request a ride), PUT /api/trips/{id}/status (arrive, start,
// complete, cancel) and GET /api/trips/history (from the trip store).
#include "api/detail/api_state.hpp"
#include "api/ride_gate.hpp"
#include "auth/rbac.hpp"
#include "payments/payment_service.hpp"

namespace rideshard::api::detail {

namespace {

bool is_trip_rider(const auth::claims& who, const schemas::trip_status& s) {
  return who.r == auth::role::rider && who.subject == to_string(s.rider);
}

// {"lat": <number>, "lng": <number>} at `key` (required).
result<lat_lng> point_field(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null())
    return error{errc::missing_field, std::string(key) + " is required"};
  if (!it->is_object())
    return error{errc::invalid_argument, std::string(key) + " must be {\"lat\":..,\"lng\":..}"};
  if (auto ok = only_fields(*it, {"lat", "lng"}); !ok)
    return error{ok.err().code, std::string(key) + ": " + ok.err().message};
  double v[2] = {0, 0};
  const char* names[2] = {"lat", "lng"};
  for (int i = 0; i < 2; ++i) {
    auto f = it->find(names[i]);
    if (f == it->end() || f->is_null())
      return error{errc::missing_field, std::string(key) + "." + names[i] + " is required"};
    if (!f->is_number())
      return error{errc::invalid_argument, std::string(key) + "." + names[i] + " must be a number"};
    v[i] = f->get<double>();
  }
  return make_lat_lng(v[0], v[1]);  // invalid_coordinate outside +-90 / +-180
}

// The body's "status" as the trip event a client may ask for over HTTP.
result<trip_event_kind> requested_event(const std::string& status) {
  if (status == "driver_arrived") return trip_event_kind::arrive;
  if (status == "in_progress") return trip_event_kind::start;
  if (status == "completed") return trip_event_kind::complete;
  if (status == "cancelled") return trip_event_kind::cancel;
  return error{errc::invalid_argument,
               "status must be driver_arrived, in_progress, completed or cancelled"};
}

node::identity node_identity(const auth::claims& who) {
  const auto r = who.r == auth::role::admin    ? schemas::role::admin
                 : who.r == auth::role::driver ? schemas::role::driver
                                               : schemas::role::rider;
  return node::identity{who.subject, r};
}

// Role-level RBAC before the actors check ownership: the caller acts as if the
// trip were theirs (rider actors only cancel their own active trip, driver
// actors only move their assigned trip), so rbac.hpp's rules apply unchanged.
result<void> may_request(const auth::claims& who, trip_event_kind kind) {
  if (who.r == auth::role::admin) {
    if (kind != trip_event_kind::cancel)
      return error{errc::forbidden, "an admin may only cancel a trip"};
    return {};
  }
  if (who.r == auth::role::rider) {
    auto id = auth::parse_rider_subject(who.subject);
    if (!id) return error{errc::forbidden, "malformed rider subject"};
    return auth::can_act_on_trip(who, *id, driver_id{}, kind);
  }
  auto id = auth::parse_driver_subject(who.subject);
  if (!id) return error{errc::forbidden, "malformed driver subject"};
  return auth::can_act_on_trip(who, rider_id{}, *id, kind);
}

}  // namespace

result<trip_id> parse_trip_id(std::string_view s) {
  auto v = parse_prefixed_id(s, 't', "trip");
  if (!v) return v.err();
  return trip_id{*v};
}

json point_json(lat_lng p) { return json{{"lat", p.lat}, {"lng", p.lng}}; }

json trip_json(const schemas::trip_status& s, bool with_pin) {
  json out{{"id", to_string(s.trip)},
           {"state", to_string(s.state)},
           {"rider", to_string(s.rider)},
           {"driver", s.driver.valid() ? json(to_string(s.driver)) : json(nullptr)},
           {"pickup", point_json(s.pickup)},
           {"dropoff", point_json(s.dropoff)},
           {"driver_position", s.driver_position ? point_json(*s.driver_position) : json(nullptr)},
           {"pickup_eta_s", s.pickup_eta_s},
           {"dropoff_eta_s", s.dropoff_eta_s},
           {"updated_at_ms", s.updated_at_ms}};
  // The PIN is the rider's proof at pickup: only the rider may read it.
  if (with_pin && !s.pin.empty()) out["pin"] = s.pin;
  if (s.state == trip_state::cancelled) {
    out["cancelled_by"] = to_string(s.cancelled_by);
    out["cancel_reason"] = s.cancel_reason;
  }
  return out;
}

void get_trip(const api_state& st, const gateway::http_request& req, std::string_view id,
              exchange& ex) {
  auto who = authenticate(st, req, ex);
  if (!who) return;
  auto trip = parse_trip_id(id);
  if (!trip) return ex.fail(trip.err());
  // Blocks this thread up to dispatch_options::query_timeout (one trip actor round trip).
  auto s = st.node.trip_snapshot(*trip);
  if (!s) return ex.fail(s.err());
  if (auto ok = auth::can_view_trip(*who, s->rider, s->driver); !ok) return ex.fail(ok.err());
  ex.reply(200, trip_json(*s, is_trip_rider(*who, *s)));
}

void post_trips(const api_state& st, const gateway::http_request& req, std::string_view,
                exchange& ex) {
  auto who = authenticate(st, req, ex);
  if (!who) return;
  if (who->r != auth::role::rider)
    return ex.fail(error{errc::forbidden, "only riders request rides"});
  auto rider = auth::parse_rider_subject(who->subject);
  if (!rider) return ex.fail(error{errc::forbidden, "malformed rider subject"});
  auto body = parse_object(req.body);
  if (!body) return ex.fail(body.err());
  if (auto ok = only_fields(*body, {"pickup", "dropoff", "quote_id"}); !ok)
    return ex.fail(ok.err());
  schemas::ride_request r;
  auto pickup = point_field(*body, "pickup");
  if (!pickup) return ex.fail(pickup.err());
  auto dropoff = point_field(*body, "dropoff");
  if (!dropoff) return ex.fail(dropoff.err());
  r.pickup = *pickup;
  r.dropoff = *dropoff;
  auto quote = optional_string(*body, "quote_id");
  if (!quote) return ex.fail(quote.err());
  if (*quote) {
    auto q = parse_prefixed_id(**quote, 'q', "quote");
    if (!q) return ex.fail(q.err());
    r.quote = quote_id{*q};
  }
  if (st.opts.require_payment_method) {
    if (st.opts.payments == nullptr)
      return ex.fail(error{errc::unavailable, "payments are not configured on this node"});
    if (!st.opts.payments->has_usable_method(*rider))
      return ex.fail(error{errc::no_payment_method, no_payment_method_message});
  }
  // Blocks this thread up to dispatch_options::query_timeout: the rider actor
  // creates the trip and answers once `requested` is durable.
  auto s = st.node.request_ride(*rider, r);
  if (!s) return ex.fail(s.err());
  ex.reply(201, trip_json(*s, true));
}

void put_trip_status(const api_state& st, const gateway::http_request& req, std::string_view id,
                     exchange& ex) {
  auto who = authenticate(st, req, ex);
  if (!who) return;
  auto trip = parse_trip_id(id);
  if (!trip) return ex.fail(trip.err());
  auto body = parse_object(req.body);
  if (!body) return ex.fail(body.err());
  if (auto ok = only_fields(*body, {"status", "pin", "reason"}); !ok) return ex.fail(ok.err());
  auto status = required_string(*body, "status");
  if (!status) return ex.fail(status.err());
  auto kind = requested_event(*status);
  if (!kind) return ex.fail(kind.err());
  auto pin = optional_string(*body, "pin");
  if (!pin) return ex.fail(pin.err());
  auto reason = optional_string(*body, "reason");
  if (!reason) return ex.fail(reason.err());
  if (*kind == trip_event_kind::start && !*pin)
    return ex.fail(error{errc::missing_field, "pin is required to start a trip"});
  if (reason->value_or("").size() > 256)
    return ex.fail(error{errc::invalid_argument, "reason is longer than 256 bytes"});
  if (auto ok = may_request(*who, *kind); !ok) return ex.fail(ok.err());
  node::trip_change c{*trip, *kind, pin->value_or(""), reason->value_or("")};
  // Blocks up to dispatch_options::query_timeout; answers after the transition is durable.
  auto s = st.node.change_trip(node_identity(*who), c);
  if (!s) return ex.fail(s.err());
  ex.reply(200, trip_json(*s, is_trip_rider(*who, *s)));
}

void get_trip_history(const api_state& st, const gateway::http_request& req, std::string_view,
                      exchange& ex) {
  auto who = authenticate(st, req, ex);
  if (!who) return;
  node::history_query q;
  if (req.query.count("limit")) {
    auto limit = query_count(req, "limit");
    if (!limit) return ex.fail(limit.err());
    if (*limit == 0 || *limit > node::history_max_limit)
      return ex.fail(error{errc::invalid_argument,
                           "limit must be 1.." + std::to_string(node::history_max_limit)});
    q.limit = static_cast<std::size_t>(*limit);
  }
  const auto r = req.query.find("rider");
  const auto d = req.query.find("driver");
  const bool by_rider = r != req.query.end(), by_driver = d != req.query.end();
  if (by_rider && by_driver)
    return ex.fail(error{errc::invalid_argument, "give either rider or driver, not both"});
  // Riders and drivers see their own trips (the parameter, if given, must be
  // themselves); an admin names whose history to read.
  std::string subject = by_rider ? r->second : by_driver ? d->second : std::string();
  if (who->r == auth::role::admin) {
    if (!by_rider && !by_driver)
      return ex.fail(error{errc::missing_field, "an admin must give ?rider= or ?driver="});
  } else {
    const bool wrong_kind =
        (who->r == auth::role::rider && by_driver) || (who->r == auth::role::driver && by_rider);
    if (wrong_kind || (!subject.empty() && subject != who->subject))
      return ex.fail(error{errc::forbidden, who->subject + " may only read their own history"});
    subject = who->subject;
  }
  if (who->r == auth::role::rider || by_rider) {
    auto id = auth::parse_rider_subject(subject);
    if (!id) return ex.fail(id.err());
    q.rider = *id;
  } else {
    auto id = auth::parse_driver_subject(subject);
    if (!id) return ex.fail(id.err());
    q.driver = *id;
  }
  // Blocks this thread while the store is scanned (every trip snapshot: no
  // per-party index yet; see actors/api/README.md).
  auto trips = st.node.trip_history(q);
  if (!trips) return ex.fail(trips.err());
  json out = json::array();
  for (const auto& s : *trips) out.push_back(trip_json(s, is_trip_rider(*who, s)));
  ex.reply(200, json{{"trips", std::move(out)}});
}

}  // namespace rideshard::api::detail
