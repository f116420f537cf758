// Endpoints over the dispatch node: GET /api/drivers/nearby, GET /api/trips/{id};
// and the trip endpoints that the WebSocket protocol owns for now (501).
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "api/detail/api_state.hpp"
#include "auth/rbac.hpp"

namespace rideshard::api::detail {

namespace {

// The whole value must parse; errno/ERANGE and non-finite values are refused.
result<double> query_double(const gateway::http_request& req, const char* key) {
  auto it = req.query.find(key);
  if (it == req.query.end() || it->second.empty())
    return error{errc::invalid_argument, std::string(key) + " is required"};
  const char* begin = it->second.c_str();
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(begin, &end);
  if (end == begin || *end != '\0' || errno == ERANGE || !std::isfinite(v))
    return error{errc::invalid_argument, std::string(key) + " must be a finite number"};
  return v;
}

result<std::uint64_t> query_count(const gateway::http_request& req, const char* key) {
  auto it = req.query.find(key);
  if (it == req.query.end() || it->second.empty())
    return error{errc::invalid_argument, std::string(key) + " is required"};
  std::uint64_t v = 0;
  for (char c : it->second) {
    if (c < '0' || c > '9' || v > (std::numeric_limits<std::uint64_t>::max() - 9) / 10)
      return error{errc::invalid_argument, std::string(key) + " must be a non-negative integer"};
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

// "t-<n>": n decimal, 1..2^64-1, no sign, no leading zeros (like auth subjects).
result<trip_id> parse_trip_id(std::string_view s) {
  const error bad{errc::invalid_argument, "not a trip id (t-<n>): " + std::string(s)};
  if (s.size() < 3 || s.size() > 22 || s.substr(0, 2) != "t-" || s[2] == '0') return bad;
  std::uint64_t v = 0;
  for (char c : s.substr(2)) {
    if (c < '0' || c > '9') return bad;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return bad;
    v = v * 10 + digit;
  }
  return trip_id{v};
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

error over_websocket(std::string_view what) {
  return error{errc::unavailable, std::string(what) +
                                      " happens over the WebSocket endpoint /v1/rider "
                                      "(and /v1/driver for drivers); see docs/http-api.md"};
}

}  // namespace

void get_nearby(const api_state& st, const gateway::http_request& req, std::string_view,
                exchange& ex) {
  auto who = authenticate(st, req, ex);
  if (!who) return;
  auto lat = query_double(req, "lat");
  if (!lat) return ex.fail(lat.err());
  auto lon = query_double(req, "lon");
  if (!lon) return ex.fail(lon.err());
  auto radius = query_double(req, "radius_m");
  if (!radius) return ex.fail(radius.err());
  auto k = query_count(req, "k");
  if (!k) return ex.fail(k.err());
  if (auto p = make_lat_lng(*lat, *lon); !p) return ex.fail(p.err());
  if (*radius <= 0) return ex.fail(error{errc::invalid_radius, "radius_m must be > 0"});
  if (*k == 0) return ex.fail(error{errc::invalid_k, "k must be >= 1"});
  // Blocks this thread up to dispatch_options::query_timeout (one matcher round trip).
  auto hits = st.node.nearby(*lat, *lon, *radius, static_cast<std::size_t>(*k));
  if (!hits) return ex.fail(hits.err());
  json drivers = json::array();
  for (const auto& n : *hits)
    drivers.push_back(json{{"id", to_string(n.id)},
                           {"lat", n.pos.lat},
                           {"lng", n.pos.lng},
                           {"distance_m", n.distance_m}});
  ex.reply(200, json{{"drivers", std::move(drivers)}});
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
  const bool owner = who->r == auth::role::rider && who->subject == to_string(s->rider);
  ex.reply(200, trip_json(*s, owner));
}

void post_trips(const api_state& st, const gateway::http_request& req, std::string_view,
                exchange& ex) {
  if (!authenticate(st, req, ex)) return;
  ex.fail(over_websocket("requesting a ride"), 501);
}

void put_trip_status(const api_state& st, const gateway::http_request& req, std::string_view,
                     exchange& ex) {
  if (!authenticate(st, req, ex)) return;
  ex.fail(over_websocket("changing a trip's status (accept, arrive, start, complete, cancel)"),
          501);
}

void post_admin_backup(const api_state& st, const gateway::http_request& req, std::string_view,
                       exchange& ex) {
  auto who = authenticate(st, req, ex);
  if (!who) return;
  if (who->r != auth::role::admin)
    return ex.fail(error{errc::forbidden, "only an admin may take a backup"});
  if (!st.opts.backup)
    return ex.fail(error{errc::unavailable, "this node has no store or no backup directory"});
  // Blocks this I/O thread while RocksDB copies new files (incremental backup).
  auto where = st.opts.backup();
  if (!where) return ex.fail(where.err());
  ex.reply(200, json{{"backup_dir", *where}, {"taken_at", iso8601_utc(st.opts.now_ms())}});
}

void get_trip_history(const api_state& st, const gateway::http_request& req, std::string_view,
                      exchange& ex) {
  if (!authenticate(st, req, ex)) return;
  ex.fail(error{errc::unavailable,
                "trip history needs the persistent store (issue #4); live trips: GET "
                "/api/trips/{id}"},
          501);
}

}  // namespace rideshard::api::detail
