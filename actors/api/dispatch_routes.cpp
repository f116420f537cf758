// Endpoints over the dispatch node: GET /api/drivers/nearby and POST
// /api/admin/backup (the trip endpoints are in trip_routes.cpp).
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

}  // namespace

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

}  // namespace rideshard::api::detail
